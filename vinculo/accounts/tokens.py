"""API bearer tokens: create, revoke, authenticate. Only the SHA-256 of a key is stored; the
clear key exists once, in the return value of ``create_token``."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.models import ApiToken
from vinculo.accounts.permissions import can
from vinculo.core import audit
from vinculo.core.errors import NotFound, ValidationError

KEY_PREFIX = "vin_"
# ``last_used_at`` is written at most this often, so a busy client does not turn every read
# into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def create_token(*, user, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns (token, clear key). Atomic, audited. The clear key
    is not stored anywhere and cannot be shown again."""
    if not getattr(user, "is_active", False):
        raise ValidationError.for_field("user", _("Inactive users cannot have API tokens."))
    name = (name or "").strip()
    if len(name) > 100:
        raise ValidationError.for_field("name", _("Use at most 100 characters."))
    key = generate_key()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: ApiToken._meta.get_field("prefix").max_length],
        key_hash=ApiToken.hash_key(key),
    )
    audit.record(
        actor=user,
        action="create",
        obj=token,
        changes={"name": [None, token.name], "user": [None, user.pk]},
    )
    return token, key


def tokens_for_user(*, user):
    """The user's own tokens, newest first (revoked ones included, to show when they ended)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def revoke_token(*, actor, token_id: int) -> ApiToken:
    """Revoke a token. ``actor`` may revoke their own tokens; an administrator any token;
    ``actor=None`` is the command line. Idempotent: revoking twice keeps the first date.
    Someone else's token looks missing (NotFound)."""
    qs = ApiToken.objects.select_for_update().select_related("user")
    if actor is not None and not can(actor, "tokens.manage_all"):
        qs = qs.filter(user_id=actor.pk)
    try:
        token = qs.get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Token not found.")) from None
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="update",
            obj=token,
            changes={"revoked_at": [None, token.revoked_at]},
        )
    return token


def authenticate_token(key: str):
    """The active user owning the unrevoked token ``key``, or None. Notes the use time, at
    most once per LAST_USED_RESOLUTION (a conditional UPDATE, so concurrent requests write
    at most once)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return token.user
