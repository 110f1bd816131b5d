"""Lead set-up and intake: website lead forms (public capture by a per-form key) and the
administration of scoring rules, assignment rules and web forms. Every change is audited in
its own transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import NotFound, ValidationError
from vinculo.sales import leads
from vinculo.sales.models import AssignmentRule, LeadScoringRule, LeadWebForm

# The hidden field bots fill in and people never see. A filled one is dropped silently (the
# bot is told "thank you" so it learns nothing).
HONEYPOT_FIELD = "website"
# What a visitor types, with the longest value kept (the customer record's column sizes).
CAPTURED_FIELDS = {
    "first_name": 100,
    "last_name": 150,
    "company": 200,
    "email": 254,
    "phone": 40,
    "message": 5000,
}
TRUTHY = {"1", "on", "true", "yes", "y", "si", "sí"}


def web_form_by_key(key: str) -> LeadWebForm:
    """The active form with this key, or NotFound (an unknown and a switched-off key look
    alike, so a key cannot be probed)."""
    form = LeadWebForm.objects.filter(key=str(key or "")[:64], active=True).first()
    if form is None:
        raise NotFound(_("This form does not exist or is switched off."))
    return form


def submit_web_form(
    *, web_form: LeadWebForm, data: Mapping[str, Any], query: Mapping[str, Any] | None = None
) -> leads.CaptureResult | None:
    """Capture a lead posted to a website form. UTM parameters come from the posted data or,
    failing that, the page's query string; the source, campaign, cost and consent wording come
    from the form's set-up. Returns None (and writes nothing) when the honeypot is filled.
    Raises ``ValidationError`` naming each bad field; nothing is written then either. Atomic
    (``capture_lead``), and deduplicated against existing customers by email and phone."""
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return None
    query = query or {}
    utm = {}
    for name in leads.UTM_FIELDS:
        value = str(data.get(name) or query.get(name) or "").strip()
        if value:
            utm[name] = value
    consent = str(data.get("consent") or "").strip().lower() in TRUTHY
    captured = {k: str(data.get(k) or "").strip() for k in CAPTURED_FIELDS}
    too_long = {
        k: [_("Use at most %(n)s characters.") % {"n": n}]
        for k, n in CAPTURED_FIELDS.items()
        if len(captured[k]) > n
    }
    if too_long:
        raise ValidationError(_("Please correct the errors below."), field_errors=too_long)
    return leads.capture_lead(
        actor=None,
        source=web_form.source,
        campaign=web_form.campaign or utm.get("utm_campaign", ""),
        acquisition_cost=web_form.acquisition_cost,
        currency=web_form.currency,
        consent_marketing=consent,
        consent_text=web_form.consent_text if consent else "",
        form_data={
            **captured,
            "consent": consent,
            "web_form": web_form.pk,
            "web_form_name": web_form.name,
            **utm,
        },
        **captured,
        **utm,
    )


# --- administration of rules and forms ------------------------------------------------------

SETTING_MODELS: tuple[type[models.Model], ...] = (LeadScoringRule, AssignmentRule, LeadWebForm)


def _fields(instance: models.Model) -> list[str]:
    return [
        f.name
        for f in instance._meta.concrete_fields
        if f.name not in {"id", "created_at", "updated_at", "last_assigned"}
    ]


@transaction.atomic
def save_lead_setting(*, actor, instance: models.Model, before: dict | None = None):
    """Save a scoring rule, assignment rule or web form (already validated by its form) with
    its audit row. ``before`` is the snapshot taken when the edit form was loaded."""
    if not isinstance(instance, SETTING_MODELS):
        raise TypeError(type(instance).__name__)
    creating = instance.pk is None
    instance.save()
    after = audit.snapshot(instance, _fields(instance))
    audit.record(
        actor=actor,
        action="create" if creating else "update",
        obj=instance,
        changes=audit.diff(before or {}, after),
    )
    return instance


@transaction.atomic
def delete_lead_setting(*, actor, instance: models.Model) -> None:
    """Delete a scoring rule, assignment rule or web form, keeping what it was in the audit
    log. Leads already scored or captured keep their score and source."""
    if not isinstance(instance, SETTING_MODELS):
        raise TypeError(type(instance).__name__)
    before = audit.snapshot(instance, _fields(instance))
    audit.record(
        actor=actor,
        action="delete",
        obj=instance,
        changes={k: [v, None] for k, v in before.items()},
    )
    instance.delete()


def snapshot(instance: models.Model) -> dict:
    return audit.snapshot(instance, _fields(instance)) if instance.pk else {}
