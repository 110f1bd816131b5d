"""Lead services: capture (web form, API, import, manual), duplicate check against existing
customers, assignment rules, transparent scoring, status changes and conversion."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.models import Role
from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.normalize import normalize_email, normalize_phone
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer, CustomerEmail, CustomerPhone
from vinculo.interactions import services as interaction_services
from vinculo.interactions.models import Interaction
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule

OPEN_STATUSES = (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)
# How a capture shows on the timeline: the customer reached out (form, call, event) or a
# colleague recorded it (note).
CAPTURE_KIND = {
    Lead.Source.WEB_FORM: Interaction.Kind.FORM,
    Lead.Source.API: Interaction.Kind.FORM,
    Lead.Source.PHONE: Interaction.Kind.CALL,
    Lead.Source.EVENT: Interaction.Kind.MEETING,
}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


# Rules read once per import instead of once per row (see ``rules_cached``).
_rules_cache: ContextVar[dict | None] = ContextVar("lead_rules_cache", default=None)


@contextlib.contextmanager
def rules_cached() -> Iterator[None]:
    """Within the block, captures read the active assignment and scoring rules and each
    team's members once: an import captures many leads in one go, and a rule changed in the
    meantime applies from the next import (and the nightly re-scoring). Round-robin turns
    are still read and taken row by row, under a row lock."""
    token = _rules_cache.set({})
    try:
        yield
    finally:
        _rules_cache.reset(token)


def _cached(key, load: Callable[[], list]) -> list:
    cache = _rules_cache.get()
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]


@dataclass
class CaptureResult:
    lead: Lead
    customer: Customer
    matched_existing: bool  # the lead was attached to a customer that already existed


def _find_existing_customer(email: str, phone: str) -> Customer | None:
    """The same normalised email or phone on any channel row of a live customer."""
    live = Q(customer__merged_into__isnull=True)
    if email:
        row = CustomerEmail.objects.filter(live, email=email).select_related("customer").first()
        if row:
            return row.customer
    if phone:
        row = CustomerPhone.objects.filter(live, number=phone).select_related("customer").first()
        if row:
            return row.customer
    return None


def _clean_capture(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    for key, fn in (("email", normalize_email), ("phone", normalize_phone)):
        if out.get(key):
            try:
                out[key] = fn(out[key], field=key)
            except ValidationError as exc:
                errors.update(exc.field_errors)
        else:
            out[key] = ""
    if not out["email"] and not out["phone"]:
        errors["email"] = [_("Give an email address or a phone number.")]
    if not (out.get("first_name") or out.get("last_name") or out.get("company")):
        errors["last_name"] = [_("Enter a name or a company.")]
    try:
        cost = Decimal(str(out.get("acquisition_cost") or "0").replace(",", "."))
        if not cost.is_finite() or cost < 0:
            raise InvalidOperation
        out["acquisition_cost"] = cost.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors["acquisition_cost"] = [_("Enter a cost of zero or more.")]
    if out.get("source", Lead.Source.MANUAL) not in Lead.Source.values:
        errors["source"] = [_("Unknown lead source.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    return out


@transaction.atomic
def capture_lead(
    *,
    actor,
    source: str = Lead.Source.MANUAL,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    email: str = "",
    phone: str = "",
    message: str = "",
    campaign: str = "",
    acquisition_cost: Decimal | str | int = 0,
    currency: str = "EUR",
    consent_marketing: bool = False,
    consent_text: str = "",
    country: str = "",
    region: str = "",
    city: str = "",
    form_data: dict | None = None,
    **utm: str,
) -> CaptureResult:
    """Capture a lead: validate, attach it to the existing customer with the same email or
    phone (or create the customer in stage "lead", with its organization), assign an owner by
    the assignment rules, score it, and put the capture on the customer's timeline. Atomic."""
    unknown = set(utm) - set(UTM_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    data = _clean_capture(
        dict(
            source=source,
            first_name=first_name,
            last_name=last_name,
            company=company,
            email=email,
            phone=phone,
            acquisition_cost=acquisition_cost,
        )
    )
    lead = Lead(
        source=data["source"],
        campaign=(campaign or "").strip()[:150],
        acquisition_cost=data["acquisition_cost"],
        currency=(currency or "EUR").upper(),
        consent_marketing=bool(consent_marketing),
        consent_text=(consent_text or "")[:500],
        message=(message or "").strip(),
        form_data=form_data or {},
        **{k: (v or "").strip()[:150] for k, v in utm.items()},
    )
    kind = CAPTURE_KIND.get(lead.source, Interaction.Kind.NOTE)
    now = timezone.now()
    customer = _find_existing_customer(data["email"], data["phone"])
    matched = customer is not None
    if customer is None:
        # A new customer is created with the owner the rules choose (one write, not a
        # create and then an update) and has no interactions yet but the capture.
        owner = _choose_owner(
            region=(region or "").strip(),
            country=(country or "").strip(),
            source=lead.source,
            campaign=lead.campaign,
            fallback=actor,
        )
        organization_id = None
        if data["company"] and (data["first_name"] or data["last_name"]):
            org = Customer.objects.filter(
                kind="organization", name__iexact=data["company"], merged_into__isnull=True
            ).first()
            org = org or customer_services.create_customer(
                actor=actor,
                kind="organization",
                name=data["company"],
                stage="lead",
                source=source,
                country=country,
                region=region,
                city=city,
            )
            organization_id = org.pk
        is_org = not (data["first_name"] or data["last_name"])
        customer = customer_services.create_customer(
            actor=actor,
            kind="organization" if is_org else "person",
            first_name=data["first_name"],
            last_name=data["last_name"],
            name=data["company"] if is_org else "",
            organization_id=organization_id,
            emails=[data["email"]] if data["email"] else [],
            phones=[data["phone"]] if data["phone"] else [],
            stage=Customer.Stage.LEAD,
            source=source,
            country=country,
            region=region,
            city=city,
            owner_id=owner.user.pk if owner else None,
            team_id=owner.team_id if owner else None,
        )
        lead.customer = customer
        if owner:
            lead.owner, lead.team_id = owner.user, owner.team_id
        counts: dict[str, int] = dict.fromkeys(ENGAGEMENT_COUNTS, 0)
    else:
        lead.customer = customer
        assign_lead(lead=lead, fallback=actor, save=False)
        counts = _engagement_counts(customer.pk, now)
    # The capture itself counts as engagement, as it will once on the timeline (a note is
    # internal, never inbound).
    if kind != Interaction.Kind.NOTE:
        counts["inbound"] += 1
    if str(kind) in counts:
        counts[str(kind)] += 1
    _apply_score(lead, counts, now)
    lead.save()
    interaction_services.log_interaction(
        actor=actor,
        customer_id=customer.pk,
        kind=kind,
        direction=Interaction.Direction.INBOUND,
        related=lead,
        subject=_("New lead from %(source)s") % {"source": lead.get_source_display()}
        + (f" — {lead.campaign}" if lead.campaign else ""),
        body=lead.message or _("(no message)"),
    )
    audit.record(
        actor=actor,
        action="create",
        obj=lead,
        customer_id=customer.pk,
        changes={"source": [None, lead.source], "owner": [None, lead.owner_id]},
        payload={"matched_existing": matched},
    )
    return CaptureResult(lead=lead, customer=customer, matched_existing=matched)


# --- assignment -------------------------------------------------------------------------------


@dataclass
class _Owner:
    user: Any
    team_id: int | None


def assign_lead(*, lead: Lead, fallback=None, save: bool = True) -> None:
    """Apply the first matching assignment rule: territory (customer's region or country),
    source (lead source or campaign), or round-robin. Within the rule's team, active reps and
    managers take turns. A customer that already has an owner keeps them. When no rule
    matches, the lead goes to ``fallback`` (the user who captured it by hand or through the
    API), so nobody captures a lead they then cannot see; a web form lead stays unassigned
    for the managers to triage. The customer gets the lead's new owner; the lead itself is
    saved unless ``save`` is False (the caller saves it)."""
    customer = lead.customer
    if customer.owner_id:
        lead.owner_id, lead.team_id = customer.owner_id, customer.team_id
        if save:
            lead.save(update_fields=["owner", "team", "updated_at"])
        return
    owner = _choose_owner(
        region=customer.region,
        country=customer.country,
        source=lead.source,
        campaign=lead.campaign,
        fallback=fallback,
    )
    if owner is None:
        return
    lead.owner, lead.team_id = owner.user, owner.team_id
    if save:
        lead.save(update_fields=["owner", "team", "updated_at"])
    lead.customer = customer_services.update_customer(
        actor=None,
        customer_id=customer.pk,
        expected_version=None,
        owner_id=owner.user.pk,
        team_id=owner.team_id,
    )


def _choose_owner(*, region: str, country: str, source: str, campaign: str, fallback):
    """Who a lead with these values goes to by the rules (a round-robin turn is taken), or
    to ``fallback`` when no rule matches; None for nobody."""
    rules = _cached("assignment", lambda: list(AssignmentRule.objects.filter(active=True)))
    for rule in rules:
        if not _rule_matches(rule, region=region, country=country, source=source,
                             campaign=campaign):  # fmt: skip
            continue
        user = _next_in_team(rule)
        if user is not None:
            return _Owner(user, rule.team_id)
    if getattr(fallback, "is_authenticated", False) and fallback.is_active:
        return _Owner(fallback, fallback.team_id)
    return None


def _rule_matches(rule: AssignmentRule, *, region: str, country: str, source: str,
                  campaign: str) -> bool:  # fmt: skip
    value = rule.match_value.strip().lower()
    if rule.kind == AssignmentRule.Kind.ROUND_ROBIN:
        return True
    if rule.kind == AssignmentRule.Kind.TERRITORY:
        return value in {region.lower(), country.lower()} - {""}
    if rule.kind == AssignmentRule.Kind.SOURCE:
        return value in {source.lower(), campaign.lower()} - {""}
    return False


def _next_in_team(rule: AssignmentRule):
    """Round-robin: the member after the one assigned last (by id), wrapping around."""
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = _cached(
        ("members", rule.team_id),
        lambda: list(
            get_user_model()
            .objects.filter(
                team_id=rule.team_id,
                is_active=True,
                role__in=[Role.SALES_REP, Role.SALES_MANAGER],
            )
            .order_by("pk")
        ),
    )
    if not members:
        return None
    after = [m for m in members if rule.last_assigned_id and m.pk > rule.last_assigned_id]
    user = after[0] if after else members[0]
    rule.last_assigned = user
    rule.save(update_fields=["last_assigned"])
    return user


# --- scoring --------------------------------------------------------------------------------

# Engagement points: (label, kinds, inbound only, points each, cap) over the last 30 days.
ENGAGEMENT = [
    (_("inbound contact"), None, True, 10, 30),
    (_("web visit"), {Interaction.Kind.WEB_VISIT}, False, 3, 15),
    (_("form submitted"), {Interaction.Kind.FORM}, False, 10, 20),
    (_("meeting"), {Interaction.Kind.MEETING}, False, 15, 30),
]
ENGAGEMENT_WINDOW_DAYS = 30


def _field_value(lead: Lead, field: str):
    if field.startswith("lead."):
        return getattr(lead, field[5:], None)
    if field.startswith("attributes."):
        return lead.customer.attributes.get(field[11:])
    return getattr(lead.customer, field, None)


def rule_matches(rule: LeadScoringRule, value) -> bool:
    op, target = rule.operator, rule.value
    ops = LeadScoringRule.Operator
    if op == ops.PRESENT:
        return value not in (None, "", [], {})
    if value in (None, ""):
        return False
    if isinstance(value, list):  # multi-choice custom fields: any element
        return any(rule_matches(rule, v) for v in value)
    text = str(value).strip().lower()
    if op == ops.EQUALS:
        return text == str(target).strip().lower()
    if op == ops.NOT_EQUALS:
        return text != str(target).strip().lower()
    if op == ops.IN:
        items = target if isinstance(target, list) else str(target).split(",")
        return text in {str(i).strip().lower() for i in items}
    if op == ops.CONTAINS:
        return str(target).strip().lower() in text
    try:
        number, limit = Decimal(str(value)), Decimal(str(target))
    except InvalidOperation:
        return False
    return number >= limit if op == ops.GTE else number <= limit


def score_lead(*, lead: Lead, now: dt.datetime | None = None) -> Lead:
    """Score = fit (admin rules on the customer's attributes and the lead) + engagement
    (recent interactions). The reasons, each with its points, are stored next to the score."""
    now = now or timezone.now()
    _apply_score(lead, _engagement_counts(lead.customer_id, now), now)
    lead.save(
        update_fields=[
            "score",
            "score_fit",
            "score_engagement",
            "score_reasons",
            "scored_at",
            "updated_at",
        ]
    )
    return lead


# The engagement counts: inbound interactions, then the interaction kinds of ENGAGEMENT.
ENGAGEMENT_COUNTS: tuple[str, ...] = ("inbound", "web_visit", "form", "meeting")


def _engagement_counts(customer_id: int, now: dt.datetime) -> dict[str, int]:
    """The customer's interactions of the engagement window: inbound ones and per kind."""
    since = now - dt.timedelta(days=ENGAGEMENT_WINDOW_DAYS)
    recent = Interaction.objects.filter(customer_id=customer_id, occurred_at__gte=since)
    return recent.aggregate(
        inbound=Count("id", filter=Q(direction=Interaction.Direction.INBOUND)),
        **{k: Count("id", filter=Q(kind=k)) for k in ENGAGEMENT_COUNTS[1:]},
    )


def _apply_score(lead: Lead, counts: dict[str, int], now: dt.datetime) -> None:
    """Set the score fields (not saved) from the fit rules and the engagement ``counts``."""
    reasons: list[dict] = []
    fit = 0
    for rule in _cached("scoring", lambda: list(LeadScoringRule.objects.filter(active=True))):
        if rule_matches(rule, _field_value(lead, rule.field)):
            fit += rule.points
            reasons.append({"label": rule.label, "points": rule.points, "kind": "fit"})
    engagement = 0
    for label, kinds, _inbound, each, cap in ENGAGEMENT:
        n = counts["inbound"] if kinds is None else counts[next(iter(kinds))]
        if n:
            points = min(n * each, cap)
            engagement += points
            reasons.append({"label": f"{n} × {label}", "points": points, "kind": "engagement"})
    lead.score_fit, lead.score_engagement = fit, engagement
    lead.score, lead.score_reasons, lead.scored_at = fit + engagement, reasons, now


def rescore_open_leads(*, batch: int = 1000) -> int:
    """Re-score every open lead (engagement decays with time); returns how many."""
    n = 0
    qs = Lead.objects.filter(status__in=OPEN_STATUSES).select_related("customer")
    for lead in qs.iterator(chunk_size=batch):
        score_lead(lead=lead)
        n += 1
    return n


# --- status and conversion -------------------------------------------------------------------


@transaction.atomic
def set_lead_status(
    *, actor, lead_id: int, status: str, reason: str = "", expected_version: int | None = None
) -> Lead:
    """Move a lead to contacted/qualified/disqualified (a reason is required to disqualify).
    Converted leads are final; conversion goes through ``convert_lead``."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if expected_version is not None and int(expected_version) != lead.version:
        raise Conflict(_("This lead was changed by someone else. Reload and try again."))
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError.for_field("status", _("A converted lead cannot change status."))
    if status not in {
        Lead.Status.NEW,
        Lead.Status.CONTACTED,
        Lead.Status.QUALIFIED,
        Lead.Status.DISQUALIFIED,
    }:
        raise ValidationError.for_field("status", _("Choose a status."))
    if status == Lead.Status.DISQUALIFIED and not reason.strip():
        raise ValidationError.for_field("reason", _("Say why the lead is disqualified."))
    before = lead.status
    lead.status = status
    lead.disqualified_reason = reason.strip()[:255] if status == Lead.Status.DISQUALIFIED else ""
    lead.version += 1
    lead.save()
    audit.record(
        actor=actor,
        action="update",
        obj=lead,
        customer_id=lead.customer_id,
        changes={"status": [before, status]},
    )
    return lead


@transaction.atomic
def convert_lead(
    *,
    actor,
    lead_id: int,
    opportunity_name: str = "",
    amount: Decimal | None = None,
    expected_close_date: dt.date | None = None,
    pipeline_id: int | None = None,
    expected_version: int | None = None,
):
    """Convert an open lead: the customer moves to lifecycle stage "opportunity" and gets an
    opportunity in the first stage of the pipeline (the default one unless named). The lead
    keeps its history and points at the opportunity. A stale ``expected_version`` is refused
    with Conflict. Returns the opportunity."""
    from vinculo.sales import pipelines

    lead = Lead.objects.select_for_update().select_related("customer").get(pk=lead_id)
    if expected_version is not None and int(expected_version) != lead.version:
        raise Conflict(_("This lead was changed by someone else. Reload and try again."))
    if lead.status not in OPEN_STATUSES:
        raise ValidationError.for_field("status", _("Only an open lead can be converted."))
    opportunity = pipelines.create_opportunity(
        actor=actor,
        customer_id=lead.customer_id,
        name=(opportunity_name or "").strip() or str(lead.customer),
        pipeline_id=pipeline_id,
        owner_id=lead.owner_id or getattr(actor, "pk", None),
        amount=amount,
        expected_close_date=expected_close_date,
        source=lead.get_source_display(),
    )
    if lead.customer.stage in (Customer.Stage.SUBSCRIBER, Customer.Stage.LEAD):
        customer_services.update_customer(
            actor=actor,
            customer_id=lead.customer_id,
            expected_version=None,
            stage=Customer.Stage.OPPORTUNITY,
        )
    lead.status, lead.converted_at, lead.opportunity = (
        Lead.Status.CONVERTED,
        timezone.now(),
        opportunity,
    )
    lead.version += 1
    lead.save()
    audit.record(
        actor=actor,
        action="update",
        obj=lead,
        customer_id=lead.customer_id,
        changes={"status": ["open", Lead.Status.CONVERTED], "opportunity": [None, opportunity.pk]},
    )
    return opportunity
