"""``/leads``: list (keyset-paginated, the lead list's filters), read with the score and its
reasons, capture through ``capture_lead`` (UTM, consent, cost), status changes (a reason to
disqualify) and conversion into an opportunity.

Visibility is the lead list's (``selectors_leads``): a lead you may not see answers 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from vinculo.core.errors import NotFound, ValidationError
from vinculo.sales import leads
from vinculo.sales.api_common import ERRORS
from vinculo.sales.api_opportunities import OpportunityOut, opportunity_detail
from vinculo.sales.models import Lead
from vinculo.sales.selectors_leads import LeadFilters, filter_leads, lead_for_user, visible_leads

router = Router(tags=["leads"])

SORTS: dict[str, tuple[tuple[tuple[str, str], ...], bool]] = {
    "-score": ((("score", "int"), ("id", "int")), True),
    "score": ((("score", "int"), ("id", "int")), False),
    "-created": ((("id", "int"),), True),  # ids grow with creation time
    "created": ((("id", "int"),), False),
}


# --- schemas ----------------------------------------------------------------------------------


class ScoreReasonOut(Schema):
    label: str
    points: int
    kind: str = Field("", description="`fit` (a scoring rule) or `engagement` (recent activity)")


class LeadListItem(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    status: str
    source: str
    campaign: str
    score: int
    owner_id: int | None
    team_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class LeadOut(LeadListItem):
    disqualified_reason: str
    acquisition_cost: Decimal
    currency: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    consent_marketing: bool
    consent_text: str
    message: str
    score_fit: int
    score_engagement: int
    score_reasons: list[ScoreReasonOut]
    scored_at: dt.datetime | None
    converted_at: dt.datetime | None
    opportunity_id: int | None


class LeadCapturedOut(LeadOut):
    matched_existing: bool = Field(
        False, description="The lead joined a customer that already had this email or phone"
    )


class LeadAcceptedOut(Schema):
    id: int
    detail: str


class LeadPage(Schema):
    items: list[LeadListItem]
    next_cursor: str | None = None


class LeadListQuery(Schema):
    q: str = Field("", description="Search the customer's name, email, phone; or the campaign")
    status: str = Field("", description="A status, or `open` (new, contacted, qualified)")
    source: str = ""
    owner: str = Field("", description="`me` or a user id")
    campaign: str = ""
    sort: str = Field("-score", description=", ".join(SORTS))
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class LeadCaptureIn(Schema):
    source: str = Lead.Source.API
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = Field("", description="Normalised to E.164")
    message: str = ""
    campaign: str = ""
    acquisition_cost: Decimal = Field(Decimal("0"), description="What this lead cost")
    currency: str = "EUR"
    consent_marketing: bool = False
    consent_text: str = Field("", description="The consent wording the person agreed to")
    country: str = ""
    region: str = ""
    city: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_term: str = ""
    utm_content: str = ""


class LeadPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale one answers 409")
    status: str = Field(..., description="new, contacted, qualified or disqualified")
    reason: str = Field("", description="Required to disqualify")


class LeadConvertIn(Schema):
    version: int | None = Field(None, description="The version you read (409 when stale)")
    opportunity_name: str = Field("", description="Defaults to the customer's name")
    amount: Decimal | None = None
    expected_close_date: dt.date | None = None
    pipeline_id: int | None = Field(None, description="Defaults to the default pipeline")


class LeadConvertedOut(Schema):
    lead: LeadOut
    opportunity: OpportunityOut


# --- endpoints --------------------------------------------------------------------------------


def _owner_id(user, owner: str) -> int | None:
    if owner == "me":
        return user.pk
    if owner and not owner.isdigit():
        raise ValidationError.for_field("owner", _("Use “me” or a user id."))
    return int(owner) if owner else None


@router.get("", response={200: LeadPage, **ERRORS}, summary="List leads")
def list_leads(request, query: Query[LeadListQuery]):
    """Leads you may see, best score first by default. Keyset-paginated."""
    require(request.auth, "customers.view")
    if query.sort not in SORTS:
        raise ValidationError.for_field(
            "sort", _("Sort by one of: %(s)s.") % {"s": ", ".join(SORTS)}
        )
    if query.status and query.status != "open" and query.status not in Lead.Status.values:
        raise ValidationError.for_field("status", _("Unknown lead status."))
    if query.source and query.source not in Lead.Source.values:
        raise ValidationError.for_field("source", _("Unknown lead source."))
    filters = LeadFilters(
        q=query.q.strip(),
        status=query.status,
        source=query.source,
        owner_id=_owner_id(request.auth, query.owner),
        campaign=query.campaign,
    )
    qs = filter_leads(visible_leads(request.auth), filters).select_related("customer")
    order, descending = SORTS[query.sort]
    rows, next_cursor = keyset_page(
        qs,
        key=f"leads:{query.sort}",
        order=order,
        descending=descending,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{lead_id}", response={200: LeadOut, **ERRORS}, summary="One lead")
def get_lead(request, lead_id: int):
    """The lead with its score split into fit and engagement, and the reasons for each point."""
    lead = lead_for_user(user=request.auth, pk=lead_id)
    require(request.auth, "customers.view")
    return lead


@router.post(
    "",
    response={201: LeadCapturedOut, 202: LeadAcceptedOut, **ERRORS},
    summary="Capture a lead",
)
def capture_lead(request, payload: LeadCaptureIn):
    """Capture a lead as a web form would: it joins the customer with the same email or
    phone (or creates one in stage “lead”), is assigned by the assignment rules, scored, and
    noted on the customer's timeline. Answers 202 without the lead when the assignment rules
    gave it to someone whose leads you may not see."""
    require(request.auth, "customers.create")
    result = leads.capture_lead(actor=request.auth, form_data={"api": True}, **payload.dict())
    try:
        lead = lead_for_user(user=request.auth, pk=result.lead.pk)
    except NotFound:
        detail = _("Lead captured and assigned to someone whose leads you cannot see.")
        return Status(202, {"id": result.lead.pk, "detail": detail})
    lead.matched_existing = result.matched_existing
    return Status(201, lead)


@router.patch("/{lead_id}", response={200: LeadOut, **ERRORS}, summary="Change the status")
def update_lead(request, lead_id: int, payload: LeadPatchIn):
    """Mark a lead contacted, qualified or disqualified (with a `reason`), or back to new.
    `version` must be the one you read: if the lead changed since, nothing is written (409)."""
    lead = lead_for_user(user=request.auth, pk=lead_id)
    require(request.auth, "customers.edit")
    leads.set_lead_status(
        actor=request.auth,
        lead_id=lead.pk,
        status=payload.status,
        reason=payload.reason,
        expected_version=payload.version,
    )
    return lead_for_user(user=request.auth, pk=lead.pk)


@router.post("/{lead_id}/convert", response={201: LeadConvertedOut, **ERRORS}, summary="Convert")
def convert_lead(request, lead_id: int, payload: LeadConvertIn):
    """Convert an open lead: its customer moves on to stage “opportunity” and gets an
    opportunity in the first stage of the pipeline; the lead keeps its history."""
    lead = lead_for_user(user=request.auth, pk=lead_id)
    require(request.auth, "customers.edit")
    opportunity = leads.convert_lead(
        actor=request.auth,
        lead_id=lead.pk,
        opportunity_name=payload.opportunity_name,
        amount=payload.amount,
        expected_close_date=payload.expected_close_date,
        pipeline_id=payload.pipeline_id,
        expected_version=payload.version,
    )
    return Status(
        201,
        {
            "lead": lead_for_user(user=request.auth, pk=lead.pk),
            "opportunity": opportunity_detail(request.auth, opportunity.pk),
        },
    )
