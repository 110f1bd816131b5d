"""Pipeline and opportunity services: create, price from product lines, move between stages
with a stage history, win, lose, reopen and edit (optimistic locking). Every change is audited
and stage changes, wins and losses are written to the customer's timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.process_cache import ProcessCache
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions.services import log_interaction
from vinculo.sales.models import Opportunity, OpportunityLine, Pipeline, Stage, StageHistory
from vinculo.sales.pricing import CartLine, price_cart

S = Opportunity.Status
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES: list[tuple[str, int, bool, bool]] = [
    ("Qualification", 10, False, False),
    ("Needs analysis", 25, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
]
# Lifecycle stages a win promotes to "customer" (never demotes anything else).
PROMOTED_ON_WIN = {Customer.Stage.LEAD, Customer.Stage.OPPORTUNITY, Customer.Stage.SUBSCRIBER}
AUDITED = (
    "name",
    "stage",
    "status",
    "owner",
    "team",
    "amount",
    "currency",
    "amount_from_lines",
    "expected_close_date",
    "next_step",
    "source",
    "lost_reason",
    "closed_at",
)
EDITABLE = ("name", "amount", "currency", "expected_close_date", "next_step", "source", "owner_id")


# --- pipelines ------------------------------------------------------------------------------


@transaction.atomic
def ensure_default_pipeline() -> Pipeline:
    """The "Sales" pipeline with its six standard stages. Idempotent: creates what is missing
    and changes nothing that exists."""
    pipeline, created = Pipeline.objects.get_or_create(
        name=DEFAULT_PIPELINE,
        defaults={"is_default": not Pipeline.objects.filter(is_default=True).exists()},
    )
    if created or not pipeline.stages.exists():
        for pos, (name, prob, won, lost) in enumerate(DEFAULT_STAGES):
            Stage.objects.get_or_create(
                pipeline=pipeline,
                name=name,
                defaults={"position": pos, "probability": prob, "is_won": won, "is_lost": lost},
            )
    return pipeline


def default_pipeline() -> Pipeline:
    return Pipeline.objects.filter(is_default=True).first() or ensure_default_pipeline()


@dataclass(frozen=True)
class PipelinesShown:
    """The pipelines in board order, each with its stages prefetched (``stages.all()`` reads
    no table)."""

    pipelines: list[Pipeline]

    def find(self, pipeline_id: int | None) -> Pipeline | None:
        return next((p for p in self.pipelines if p.pk == pipeline_id), None)

    def pipeline(self, pipeline_id: int | None) -> Pipeline | None:
        """The pipeline with this id, else the default one (None: none is marked default)."""
        return self.find(pipeline_id) or next((p for p in self.pipelines if p.is_default), None)


def _load_shown() -> PipelinesShown:
    return PipelinesShown(list(Pipeline.objects.prefetch_related("stages")))


_shown = ProcessCache("pipelines_shown", _load_shown, models=(Pipeline, Stage))


def pipelines_shown() -> PipelinesShown:
    """Pipelines and stages for the board and its filters, kept per process for a few seconds
    (core.process_cache; a change in the process shows at once). Read-only objects shared
    between requests: moves and edits read the tables."""
    return _shown.get()


@transaction.atomic
def create_pipeline(*, actor, name: str, stages: Sequence[tuple[str, int]]) -> Pipeline:
    """Create a pipeline with the given open stages (name, probability %) in order, followed
    by a "Won" and a "Lost" stage unless the list already names them. Atomic and audited."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("Give the pipeline a name.")]
    elif Pipeline.objects.filter(name__iexact=name).exists():
        errors["name"] = [_("A pipeline with this name already exists.")]
    cleaned: list[tuple[str, int]] = []
    for i, (stage_name, prob) in enumerate(stages):
        stage_name = (stage_name or "").strip()
        try:
            prob = int(prob)
        except (TypeError, ValueError):
            prob = -1
        if not stage_name:
            errors[f"stages[{i}].name"] = [_("Give the stage a name.")]
        if not 0 <= prob <= 100:
            errors[f"stages[{i}].probability"] = [_("Probability must be between 0 and 100.")]
        cleaned.append((stage_name, prob))
    names = [n.lower() for n, _p in cleaned]
    if not cleaned:
        errors["stages"] = [_("Add at least one stage.")]
    elif len(set(names)) != len(names):
        errors["stages"] = [_("Stage names must be different.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    pipeline = Pipeline.objects.create(
        name=name,
        is_default=not Pipeline.objects.filter(is_default=True).exists(),
        position=(Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1,
    )
    rows = []
    for pos, (stage_name, prob) in enumerate(cleaned):
        low = stage_name.lower()
        rows.append(
            Stage(
                pipeline=pipeline,
                name=stage_name,
                position=pos,
                probability=prob,
                is_won=low == "won",
                is_lost=low == "lost",
            )
        )
    if "won" not in names:
        rows.append(
            Stage(pipeline=pipeline, name="Won", position=len(rows), probability=100, is_won=True)
        )
    if "lost" not in names:
        rows.append(
            Stage(pipeline=pipeline, name="Lost", position=len(rows), probability=0, is_lost=True)
        )
    Stage.objects.bulk_create(rows)
    audit.record(
        actor=actor,
        action="create",
        obj=pipeline,
        changes={"name": [None, name], "stages": [None, [r.name for r in rows]]},
    )
    return pipeline


# --- opportunities --------------------------------------------------------------------------


def _price_lines(lines: Sequence[CartLine], customer_id: int, currency: str) -> Decimal:
    """The amount of an opportunity priced from lines: subtotal minus discounts (tax-free)."""
    result = price_cart(lines=lines, customer_id=customer_id, channel="rep", currency=currency)
    return result.subtotal - result.discount_total


def _write_lines(opp: Opportunity, lines: Sequence[CartLine]) -> None:
    OpportunityLine.objects.filter(opportunity=opp).delete()
    OpportunityLine.objects.bulk_create(
        OpportunityLine(
            opportunity=opp,
            product_id=ln.product_id,
            quantity=ln.quantity,
            option_codes=list(ln.option_codes),
        )
        for ln in lines
    )


def _parse_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError.for_field("amount", _("The amount must be a number.")) from None
    if amount < 0:
        raise ValidationError.for_field("amount", _("The amount cannot be negative."))
    return amount


def _owner(owner_id: int | None, actor):
    if owner_id is None:
        return actor if getattr(actor, "is_authenticated", False) else None
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationError.for_field("owner_id", _("Choose an active user as owner."))
    return owner


def _column(stage: Stage):
    """The opportunities an open stage's board column orders by position: read through the
    opp_column index, so the first and last of a 50k-row column are one index seek away."""
    return Opportunity.objects.filter(pipeline_id=stage.pipeline_id, stage=stage, status=S.OPEN)


def _next_position(stage: Stage) -> int:
    top = _column(stage).order_by("-position").values_list("position", flat=True).first()
    return 0 if top is None else top + 1


@transaction.atomic
def create_opportunity(
    *,
    actor,
    customer_id: int,
    name: str,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    owner_id: int | None = None,
    amount: Decimal | str | int | None = None,
    currency: str = "EUR",
    expected_close_date: dt.date | None = None,
    next_step: str = "",
    source: str = "",
    lines: Sequence[CartLine] | None = None,
) -> Opportunity:
    """Open an opportunity for a customer in an open stage (the pipeline's first by default)
    and start its stage history. With ``lines`` the amount is priced by the pricing engine
    (subtotal minus discounts). Atomic and audited."""
    customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
    if customer is None:
        raise ValidationError.for_field("customer_id", _("Choose an existing customer."))
    name = (name or "").strip()
    if not name:
        raise ValidationError.for_field("name", _("Give the opportunity a name."))
    pipeline = (
        Pipeline.objects.filter(pk=pipeline_id).first() if pipeline_id else default_pipeline()
    )
    if pipeline is None:
        raise ValidationError.for_field("pipeline_id", _("Choose a pipeline."))
    open_stages = pipeline.stages.filter(is_won=False, is_lost=False).order_by("position", "id")
    stage = open_stages.filter(pk=stage_id).first() if stage_id else open_stages.first()
    if stage is None:
        raise ValidationError.for_field(
            "stage_id", _("Choose an open stage of the pipeline %(p)s.") % {"p": pipeline.name}
        )
    owner = _owner(owner_id, actor)
    currency = (currency or "EUR").upper()
    opp = Opportunity(
        name=name[:200],
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        owner=owner,
        team_id=getattr(owner, "team_id", None),
        currency=currency,
        expected_close_date=expected_close_date,
        next_step=(next_step or "").strip()[:255],
        source=(source or "").strip()[:100],
        position=_next_position(stage),
    )
    if lines:
        opp.amount = _price_lines(lines, customer.pk, currency)
        opp.amount_from_lines = True
    elif amount not in (None, ""):
        opp.amount = _parse_amount(amount)
    opp.save()
    if lines:
        _write_lines(opp, lines)
    StageHistory.objects.create(
        opportunity=opp, stage=stage, entered_at=timezone.now(), user=_user(actor)
    )
    audit.record(
        actor=actor,
        action="create",
        obj=opp,
        customer_id=customer.pk,
        changes={k: [None, v] for k, v in audit.snapshot(opp, AUDITED).items() if v},
    )
    return opp


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _lock(opportunity_id: int, expected_version: int | None) -> Opportunity:
    """Lock the customer, then the opportunity (the fixed order: customer before children)
    and check the caller's version."""
    customer_id = (
        Opportunity.objects.filter(pk=opportunity_id).values_list("customer_id", flat=True).first()
    )
    if customer_id is None:
        raise NotFound(_("Opportunity not found."))
    customer_services.lock_customer(customer_id=customer_id, expected_version=None)
    opp = (
        Opportunity.objects.select_for_update()
        .select_related("stage", "pipeline", "customer")
        .get(pk=opportunity_id)
    )
    if expected_version not in (None, "") and int(expected_version) != opp.version:
        raise Conflict(
            _(
                "This opportunity was changed by someone else since you opened it "
                "(version %(theirs)s, yours %(yours)s). Reload and try again."
            )
            % {"theirs": opp.version, "yours": expected_version}
        )
    return opp


@transaction.atomic
def set_opportunity_lines(
    *,
    actor,
    opportunity_id: int,
    lines: Sequence[CartLine],
    expected_version: int | None = None,
) -> Opportunity:
    """Replace the product lines and re-price the amount through the pricing engine. With no
    lines the amount stays as it is and is typed by hand again. Atomic and audited."""
    opp = _lock(opportunity_id, expected_version)
    before = audit.snapshot(opp, AUDITED)
    if lines:
        opp.amount = _price_lines(lines, opp.customer_id, opp.currency)
        opp.amount_from_lines = True
    else:
        opp.amount_from_lines = False
    _write_lines(opp, lines)
    opp.version += 1
    opp.save()
    audit.record(
        actor=actor,
        action="update",
        obj=opp,
        customer_id=opp.customer_id,
        changes=audit.diff(before, audit.snapshot(opp, AUDITED)),
        payload={"lines": [[ln.product_id, ln.quantity, list(ln.option_codes)] for ln in lines]},
    )
    return opp


@transaction.atomic
def update_opportunity(
    *, actor, opportunity_id: int, expected_version: int | None, **changes: Any
) -> Opportunity:
    """Change an opportunity's fields (not its stage: see ``move_opportunity``). Refuses a
    stale ``expected_version`` with Conflict. Typing an amount stops pricing it from lines.
    Atomic and audited (field, before, after)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    opp = _lock(opportunity_id, expected_version)
    before = audit.snapshot(opp, AUDITED)
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise ValidationError.for_field("name", _("Give the opportunity a name."))
        opp.name = name[:200]
    if "amount" in changes:
        amount = _parse_amount(changes["amount"] if changes["amount"] not in (None, "") else 0)
        if amount != opp.amount:
            opp.amount = amount
            opp.amount_from_lines = False
    if "currency" in changes:
        opp.currency = (changes["currency"] or "EUR").upper()[:3]
    if "expected_close_date" in changes:
        opp.expected_close_date = changes["expected_close_date"]
    for key in ("next_step", "source"):
        if key in changes:
            limit = 255 if key == "next_step" else 100
            setattr(opp, key, (changes[key] or "").strip()[:limit])
    if "owner_id" in changes and changes["owner_id"] != opp.owner_id:
        owner = _owner(changes["owner_id"], None) if changes["owner_id"] else None
        opp.owner = owner
        opp.team_id = getattr(owner, "team_id", None)
    after = audit.snapshot(opp, AUDITED)
    delta = audit.diff(before, after)
    if not delta:
        return opp
    opp.version += 1
    opp.save()
    audit.record(actor=actor, action="update", obj=opp, customer_id=opp.customer_id, changes=delta)
    return opp


def _reorder(opp: Opportunity, position: int | None) -> None:
    """Put ``opp`` at ``position`` (0-based) in its open column; the others keep their order.
    Only the cards above the drop point move (up, below the card it lands on), so a drop on
    a board showing the first cards writes a few rows, however long the column. Positions
    are cosmetic, so they do not bump the others' versions. Won and lost columns are shown by
    closing date: a position there means nothing."""
    if position is None or opp.stage.is_won or opp.stage.is_lost:
        return
    position = max(0, int(position))
    above = list(
        _column(opp.stage)
        .exclude(pk=opp.pk)
        .order_by("position", "-amount", "id")
        .only("pk", "position")[: position + 1]
    )
    if len(above) <= position:  # dropped after the last card
        opp.position = above[-1].position + 1 if above else 0
        return
    below = above.pop()  # the card ``opp`` lands on top of
    opp.position = below.position - 1
    changed = []
    for i, row in enumerate(reversed(above), start=1):
        if row.position != opp.position - i:
            row.position = opp.position - i
            changed.append(row)
    Opportunity.objects.bulk_update(changed, ["position"])


@transaction.atomic
def move_opportunity(
    *,
    actor,
    opportunity_id: int,
    stage_id: int,
    position: int | None = None,
    expected_version: int | None = None,
    lost_reason: str = "",
) -> Opportunity:
    """Move an opportunity to another stage of its pipeline (and/or reorder it in its column).
    Closes the current stage-history row and opens a new one; a won stage wins it, a lost
    stage loses it (and needs ``lost_reason``), an open stage reopens a closed one. Stale
    ``expected_version`` → Conflict. Atomic, audited, noted on the customer's timeline."""
    opp = _lock(opportunity_id, expected_version)
    stage = Stage.objects.filter(pk=stage_id, pipeline_id=opp.pipeline_id).first()
    if stage is None:
        raise ValidationError.for_field(
            "stage", _("Choose a stage of the pipeline %(p)s.") % {"p": opp.pipeline.name}
        )
    if stage.pk == opp.stage_id:
        if position is not None:
            _reorder(opp, position)
            opp.version += 1
            opp.save(update_fields=["position", "version", "updated_at"])
        return opp
    lost_reason = (lost_reason or "").strip()
    if stage.is_lost and not lost_reason:
        raise ValidationError.for_field("lost_reason", _("Say why the opportunity was lost."))
    before = audit.snapshot(opp, AUDITED)
    old_stage = opp.stage
    now = timezone.now()
    StageHistory.objects.filter(opportunity=opp, left_at__isnull=True).update(left_at=now)
    StageHistory.objects.create(opportunity=opp, stage=stage, entered_at=now, user=_user(actor))
    opp.stage = stage
    if stage.is_won:
        opp.status, opp.closed_at, opp.lost_reason = S.WON, now, ""
    elif stage.is_lost:
        opp.status, opp.closed_at, opp.lost_reason = S.LOST, now, lost_reason[:255]
    else:
        opp.status, opp.closed_at, opp.lost_reason = S.OPEN, None, ""
    if not (stage.is_won or stage.is_lost):
        opp.position = _next_position(stage)
    _reorder(opp, position)
    opp.version += 1
    opp.save()
    audit.record(
        actor=actor,
        action="update",
        obj=opp,
        customer_id=opp.customer_id,
        changes=audit.diff(before, audit.snapshot(opp, AUDITED)),
    )
    _note(actor, opp, old_stage, stage, lost_reason)
    if stage.is_won:
        _promote_customer(actor, opp.customer_id)
    return opp


def _note(actor, opp: Opportunity, old: Stage, new: Stage, reason: str) -> None:
    if new.is_won:
        subject = _("Opportunity %(name)s won") % {"name": opp.name}
    elif new.is_lost:
        subject = _("Opportunity %(name)s lost") % {"name": opp.name}
    else:
        subject = _("Opportunity %(name)s moved to %(stage)s") % {
            "name": opp.name,
            "stage": new.name,
        }
    body = _("From %(old)s to %(new)s.") % {"old": old.name, "new": new.name}
    if reason:
        body += " " + _("Reason: %(reason)s") % {"reason": reason}
    log_interaction(
        actor=actor,
        customer_id=opp.customer_id,
        kind="note",
        subject=subject[:255],
        body=body,
        related=opp,
    )


def _promote_customer(actor, customer_id: int) -> None:
    stage = Customer.objects.filter(pk=customer_id).values_list("stage", flat=True).first()
    if stage in PROMOTED_ON_WIN:
        customer_services.update_customer(
            actor=actor,
            customer_id=customer_id,
            expected_version=None,
            stage=Customer.Stage.CUSTOMER,
        )


def _closing_stage(opportunity_id: int, *, won: bool) -> Stage:
    pipeline_id = (
        Opportunity.objects.filter(pk=opportunity_id).values_list("pipeline_id", flat=True).first()
    )
    flag = {"is_won": True} if won else {"is_lost": True}
    stage = Stage.objects.filter(pipeline_id=pipeline_id, **flag).order_by("position").first()
    if stage is None:
        raise ValidationError.for_field(
            "stage",
            _("This pipeline has no won stage.") if won else _("This pipeline has no lost stage."),
        )
    return stage


def win_opportunity(
    *, actor, opportunity_id: int, expected_version: int | None = None
) -> Opportunity:
    """Move the opportunity to its pipeline's won stage (see ``move_opportunity``)."""
    stage = _closing_stage(opportunity_id, won=True)
    return move_opportunity(
        actor=actor,
        opportunity_id=opportunity_id,
        stage_id=stage.pk,
        expected_version=expected_version,
    )


def lose_opportunity(
    *, actor, opportunity_id: int, reason: str, expected_version: int | None = None
) -> Opportunity:
    """Move the opportunity to its pipeline's lost stage; ``reason`` is required
    (ValidationError naming ``lost_reason``)."""
    if not (reason or "").strip():
        raise ValidationError.for_field("lost_reason", _("Say why the opportunity was lost."))
    stage = _closing_stage(opportunity_id, won=False)
    return move_opportunity(
        actor=actor,
        opportunity_id=opportunity_id,
        stage_id=stage.pk,
        expected_version=expected_version,
        lost_reason=reason,
    )
