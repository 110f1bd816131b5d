"""``/opportunities`` (list, read with the stage history and product lines, create, update
with optimistic locking including a stage move, win, lose) and ``/pipelines`` (the stage
ids to move to). An opportunity is visible when its customer is, or when you own it; a
hidden one answers 404 like a missing one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from vinculo.core.errors import ValidationError
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import pipelines as services
from vinculo.sales import selectors
from vinculo.sales.api_common import ERRORS, CartLineIn, cart_lines, renamed
from vinculo.sales.models import Opportunity, OpportunityLine, StageHistory

router = Router(tags=["opportunities"])
pipelines_router = Router(tags=["opportunities"])

SORTS: dict[str, tuple[tuple[tuple[str, str], ...], bool]] = {
    "-created": ((("id", "int"),), True),
    "created": ((("id", "int"),), False),
    "name": ((("name", "str"), ("id", "int")), False),
    "-name": ((("name", "str"), ("id", "int")), True),
}


# --- schemas ----------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    is_won: bool
    is_lost: bool


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]


class StageHistoryOut(Schema):
    stage_id: int
    stage_name: str = Field(..., alias="stage.name")
    entered_at: dt.datetime
    left_at: dt.datetime | None
    user_id: int | None


class OpportunityLineOut(Schema):
    product_id: int
    sku: str = Field(..., alias="product.sku")
    name: str = Field(..., alias="product.name")
    quantity: int
    option_codes: list[str]


class OpportunityListItem(Schema):
    id: int
    name: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    pipeline_id: int
    stage_id: int
    stage_name: str = Field(..., alias="stage.name")
    status: str
    owner_id: int | None
    team_id: int | None
    amount: Decimal
    currency: str
    amount_from_lines: bool
    expected_close_date: dt.date | None
    next_step: str
    source: str
    lost_reason: str
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class OpportunityOut(OpportunityListItem):
    lines: list[OpportunityLineOut]
    stage_history: list[StageHistoryOut]


class OpportunityPage(Schema):
    items: list[OpportunityListItem]
    next_cursor: str | None = None


class OpportunityListQuery(Schema):
    q: str = Field("", description="Search the opportunity's name")
    pipeline: int | None = None
    stage: int | None = None
    owner: str = Field("", description="`me` or a user id")
    status: str = Field("", description="open, won or lost")
    customer: int | None = None
    sort: str = Field("-created", description=", ".join(SORTS))
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class OpportunityIn(Schema):
    customer_id: int
    name: str
    pipeline_id: int | None = Field(None, description="Defaults to the default pipeline")
    stage_id: int | None = Field(None, description="An open stage; defaults to the first")
    owner_id: int | None = Field(None, description="Defaults to you")
    amount: Decimal | None = Field(None, description="Ignored when `lines` are given")
    currency: str = "EUR"
    expected_close_date: dt.date | None = None
    next_step: str = ""
    source: str = ""
    lines: list[CartLineIn] = Field([], description="Products; the amount is priced from them")


class OpportunityPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale one answers 409")
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: dt.date | None = None
    next_step: str | None = None
    source: str | None = None
    owner_id: int | None = None
    stage_id: int | None = Field(None, description="Move to this stage of the pipeline")
    position: int | None = Field(None, description="Place in the stage's column (0 = top)")
    lost_reason: str = Field("", description="Required when moving to a lost stage")
    lines: list[CartLineIn] | None = Field(None, description="Replaces the product lines")


class WinIn(Schema):
    version: int | None = Field(None, description="The version you read (409 when stale)")


class LoseIn(Schema):
    version: int | None = Field(None, description="The version you read (409 when stale)")
    lost_reason: str = Field(..., description="Why it was lost")


# --- helpers ----------------------------------------------------------------------------------


def opportunity_detail(user, pk: int) -> Opportunity:
    """One visible opportunity with its lines and stage history (three queries)."""
    opp = selectors.opportunity_for_user(user=user, pk=pk)
    prefetch_related_objects(
        [opp],
        Prefetch("lines", queryset=OpportunityLine.objects.select_related("product")),
        Prefetch("stage_history", queryset=StageHistory.objects.select_related("stage")),
    )
    return opp


def _owner_id(user, owner: str) -> int | None:
    if owner == "me":
        return user.pk
    if owner and not owner.isdigit():
        raise ValidationError.for_field("owner", _("Use “me” or a user id."))
    return int(owner) if owner else None


# --- endpoints --------------------------------------------------------------------------------


@pipelines_router.get("", response={200: list[PipelineOut], **ERRORS}, summary="Pipelines")
def list_pipelines(request):
    """Every pipeline with its stages in order (the default pipeline first)."""
    require(request.auth, "customers.view")
    return selectors.pipelines()


@router.get("", response={200: OpportunityPage, **ERRORS}, summary="List opportunities")
def list_opportunities(request, query: Query[OpportunityListQuery]):
    """Opportunities you may see, newest first by default. Keyset-paginated."""
    require(request.auth, "customers.view")
    if query.sort not in SORTS:
        raise ValidationError.for_field(
            "sort", _("Sort by one of: %(s)s.") % {"s": ", ".join(SORTS)}
        )
    if query.status and query.status not in Opportunity.Status.values:
        raise ValidationError.for_field("status", _("Use open, won or lost."))
    qs = selectors.visible_opportunities(request.auth).select_related("customer", "stage")
    owner_id = _owner_id(request.auth, query.owner)
    for field, value in (
        ("pipeline_id", query.pipeline),
        ("stage_id", query.stage),
        ("owner_id", owner_id),
        ("status", query.status),
        ("customer_id", query.customer),
    ):
        if value:
            qs = qs.filter(**{field: value})
    if query.q.strip():
        qs = qs.filter(name__icontains=query.q.strip())
    order, descending = SORTS[query.sort]
    rows, next_cursor = keyset_page(
        qs,
        key=f"opportunities:{query.sort}",
        order=order,
        descending=descending,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="One")
def get_opportunity(request, opportunity_id: int):
    """The opportunity with its product lines and every stay in a stage (entered, left)."""
    opp = opportunity_detail(request.auth, opportunity_id)
    require(request.auth, "customers.view")
    return opp


@router.post("", response={201: OpportunityOut, **ERRORS}, summary="Create an opportunity")
def create_opportunity(request, payload: OpportunityIn):
    """Open an opportunity for a customer you may see. With `lines` the amount is priced by
    the pricing engine (subtotal minus discounts, before tax)."""
    customer = customer_for_user(user=request.auth, pk=payload.customer_id)
    require(request.auth, "customers.edit")
    data = payload.dict()
    lines = cart_lines(payload.lines)
    data.pop("lines")
    data["customer_id"] = customer.pk
    opp = services.create_opportunity(actor=request.auth, lines=lines or None, **data)
    return Status(201, opportunity_detail(request.auth, opp.pk))


@router.patch("/{opportunity_id}", response={200: OpportunityOut, **ERRORS}, summary="Update")
def update_opportunity(request, opportunity_id: int, payload: OpportunityPatchIn):
    """Change the fields you send, replace the product lines, and/or move to `stage_id`
    (a lost stage needs `lost_reason`). All or nothing: `version` must be the one you read,
    else nothing is written and the answer is 409."""
    opp = selectors.opportunity_for_user(user=request.auth, pk=opportunity_id)
    require(request.auth, "customers.edit")
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    stage_id, position = changes.pop("stage_id", None), changes.pop("position", None)
    lost_reason = changes.pop("lost_reason", "")
    lines = changes.pop("lines", None)
    with transaction.atomic():
        if changes:
            opp = services.update_opportunity(
                actor=request.auth, opportunity_id=opp.pk, expected_version=version, **changes
            )
            version = opp.version
        if lines is not None:
            opp = services.set_opportunity_lines(
                actor=request.auth,
                opportunity_id=opp.pk,
                lines=cart_lines(payload.lines or []),
                expected_version=version,
            )
            version = opp.version
        if stage_id is not None or position is not None:
            try:
                services.move_opportunity(
                    actor=request.auth,
                    opportunity_id=opp.pk,
                    stage_id=stage_id or opp.stage_id,
                    position=position,
                    expected_version=version,
                    lost_reason=lost_reason,
                )
            except ValidationError as exc:
                raise renamed(exc, {"stage": "stage_id"}) from None
        elif not changes and lines is None:
            # Nothing to change: still refuse a stale version, like every other write.
            services.update_opportunity(
                actor=request.auth, opportunity_id=opp.pk, expected_version=version
            )
    return opportunity_detail(request.auth, opp.pk)


@router.post("/{opportunity_id}/win", response={200: OpportunityOut, **ERRORS}, summary="Win")
def win_opportunity(request, opportunity_id: int, payload: WinIn):
    """Move to the pipeline's won stage; the customer becomes a customer (lifecycle)."""
    opp = selectors.opportunity_for_user(user=request.auth, pk=opportunity_id)
    require(request.auth, "customers.edit")
    services.win_opportunity(
        actor=request.auth, opportunity_id=opp.pk, expected_version=payload.version
    )
    return opportunity_detail(request.auth, opp.pk)


@router.post("/{opportunity_id}/lose", response={200: OpportunityOut, **ERRORS}, summary="Lose")
def lose_opportunity(request, opportunity_id: int, payload: LoseIn):
    """Move to the pipeline's lost stage, saying why (`lost_reason`, required)."""
    opp = selectors.opportunity_for_user(user=request.auth, pk=opportunity_id)
    require(request.auth, "customers.edit")
    services.lose_opportunity(
        actor=request.auth,
        opportunity_id=opp.pk,
        reason=payload.lost_reason,
        expected_version=payload.version,
    )
    return opportunity_detail(request.auth, opp.pk)
