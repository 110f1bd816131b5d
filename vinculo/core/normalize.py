"""Normalisation of contact data: emails (email-validator) and phones to E.164 (phonenumbers)."""

from __future__ import annotations

import unicodedata

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from vinculo.core.errors import ValidationError


def normalize_email(value: str, *, field: str = "email") -> str:
    """Return the normalised address (domain lower-cased) or raise ValidationError naming
    ``field``. No DNS look-up: the CRM must work offline and on slow networks."""
    value = (value or "").strip()
    if not value:
        raise ValidationError.for_field(field, _("Enter an email address."))
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError.for_field(
            field,
            _("“%(value)s” is not a valid email address: %(reason)s")
            % {"value": value, "reason": str(exc)},
        ) from exc
    return info.normalized.lower()


def normalize_phone(value: str, *, region: str | None = None, field: str = "phone") -> str:
    """Return the number in E.164 (+34600111222) or raise ValidationError naming ``field``.
    Numbers without a country prefix are read in ``region`` (default VINCULO_DEFAULT_REGION)."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError.for_field(field, _("Enter a phone number."))
    try:
        number = phonenumbers.parse(raw, region or settings.VINCULO_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError.for_field(
            field, _("“%(value)s” is not a phone number.") % {"value": raw}
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError.for_field(
            field, _("“%(value)s” is not a possible phone number.") % {"value": raw}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str) -> str:
    """Lower-case and strip accents: "José Núñez" -> "jose nunez" (for search and matching)."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()
