"""Pipeline and opportunity services: stage history, won/lost rules, versions, pricing from
lines, the customer's lifecycle stage and timeline."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, pipelines
from vinculo.sales.models import Opportunity, Pipeline, Promotion, Stage, StageHistory
from vinculo.sales.pricing import CartLine


@pytest.fixture
def sales(db):
    return pipelines.ensure_default_pipeline()


def stage(pipeline, name):
    return Stage.objects.get(pipeline=pipeline, name=name)


@pytest.fixture
def opp(rep, sales):
    customer = CustomerFactory(stage="lead", owner=rep, team=rep.team)
    return pipelines.create_opportunity(
        actor=rep, customer_id=customer.pk, name="Fleet deal", amount="1000"
    )


def test_default_pipeline_is_idempotent_with_six_stages(db):
    first = pipelines.ensure_default_pipeline()
    again = pipelines.ensure_default_pipeline()
    assert first.pk == again.pk and Pipeline.objects.count() == 1
    rows = list(first.stages.values_list("name", "probability", "is_won", "is_lost"))
    assert rows == [
        ("Qualification", 10, False, False),
        ("Needs analysis", 25, False, False),
        ("Proposal", 50, False, False),
        ("Negotiation", 75, False, False),
        ("Won", 100, True, False),
        ("Lost", 0, False, True),
    ]


def test_create_pipeline_appends_won_and_lost(admin, sales):
    p = pipelines.create_pipeline(actor=admin, name="Renewals", stages=[("Contacted", 20)])
    assert list(p.stages.values_list("name", "is_won", "is_lost")) == [
        ("Contacted", False, False),
        ("Won", True, False),
        ("Lost", False, True),
    ]
    with pytest.raises(ValidationError) as exc:
        pipelines.create_pipeline(actor=admin, name="renewals", stages=[("A", 120)])
    assert {"name", "stages[0].probability"} <= set(exc.value.field_errors)


def test_create_opens_first_stage_and_its_history(rep, opp, sales):
    assert opp.stage == stage(sales, "Qualification") and opp.status == "open"
    assert opp.owner == rep and opp.team == rep.team and opp.amount == Decimal("1000.00")
    rows = list(StageHistory.objects.filter(opportunity=opp).values_list("stage__name", "left_at"))
    assert rows == [("Qualification", None)]
    assert AuditEntry.objects.filter(object_type="sales.opportunity", action="create").exists()


def test_move_closes_history_row_and_notes_timeline(rep, opp, sales):
    proposal = stage(sales, "Proposal")
    moved = pipelines.move_opportunity(
        actor=rep, opportunity_id=opp.pk, stage_id=proposal.pk, expected_version=opp.version
    )
    assert moved.stage == proposal and moved.version == opp.version + 1
    history = list(StageHistory.objects.filter(opportunity=opp))
    assert [h.stage.name for h in history] == ["Qualification", "Proposal"]
    assert history[0].left_at == history[1].entered_at and history[1].left_at is None
    assert history[1].user == rep
    note = Interaction.objects.get(customer=opp.customer, kind="note")
    assert note.subject == "Opportunity Fleet deal moved to Proposal"
    assert note.related_id == opp.pk
    entry = AuditEntry.objects.filter(object_id=opp.pk, action="update").latest("id")
    assert entry.changes["stage"] == [stage(sales, "Qualification").pk, proposal.pk]
    assert entry.customer_id == opp.customer_id


def test_stale_version_is_refused_and_nothing_changes(rep, opp, sales):
    pipelines.update_opportunity(
        actor=rep, opportunity_id=opp.pk, expected_version=opp.version, next_step="Call"
    )
    with pytest.raises(Conflict):
        pipelines.move_opportunity(
            actor=rep,
            opportunity_id=opp.pk,
            stage_id=stage(sales, "Proposal").pk,
            expected_version=opp.version,
        )
    with pytest.raises(Conflict):
        pipelines.update_opportunity(
            actor=rep, opportunity_id=opp.pk, expected_version=opp.version, name="X"
        )
    opp.refresh_from_db()
    assert opp.stage.name == "Qualification" and opp.name == "Fleet deal"
    assert StageHistory.objects.filter(opportunity=opp).count() == 1


def test_win_closes_and_promotes_customer(rep, opp):
    won = pipelines.win_opportunity(actor=rep, opportunity_id=opp.pk)
    assert won.status == "won" and won.closed_at is not None and won.stage.is_won
    opp.customer.refresh_from_db()
    assert opp.customer.stage == "customer"
    assert Interaction.objects.filter(
        customer=opp.customer, subject="Opportunity Fleet deal won"
    ).exists()


def test_win_does_not_change_other_lifecycle_stages(rep, sales):
    customer = CustomerFactory(stage="customer", owner=rep)
    o = pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name="Upsell")
    version = customer.version
    pipelines.win_opportunity(actor=rep, opportunity_id=o.pk)
    customer.refresh_from_db()
    assert customer.version == version


def test_lost_needs_a_reason(rep, opp, sales):
    with pytest.raises(ValidationError) as exc:
        pipelines.lose_opportunity(actor=rep, opportunity_id=opp.pk, reason="  ")
    assert "lost_reason" in exc.value.field_errors
    with pytest.raises(ValidationError) as exc:
        pipelines.move_opportunity(
            actor=rep, opportunity_id=opp.pk, stage_id=stage(sales, "Lost").pk
        )
    assert "lost_reason" in exc.value.field_errors
    opp.refresh_from_db()
    assert opp.status == "open" and StageHistory.objects.filter(opportunity=opp).count() == 1
    lost = pipelines.lose_opportunity(actor=rep, opportunity_id=opp.pk, reason="Too expensive")
    assert (lost.status, lost.lost_reason, lost.stage.name) == ("lost", "Too expensive", "Lost")
    assert lost.closed_at is not None
    opp.customer.refresh_from_db()
    assert opp.customer.stage == "lead"


def test_reopen_from_lost(rep, opp, sales):
    pipelines.lose_opportunity(actor=rep, opportunity_id=opp.pk, reason="Budget")
    reopened = pipelines.move_opportunity(
        actor=rep, opportunity_id=opp.pk, stage_id=stage(sales, "Negotiation").pk
    )
    assert (reopened.status, reopened.closed_at, reopened.lost_reason) == ("open", None, "")
    assert StageHistory.objects.filter(opportunity=opp).count() == 3


def test_stage_of_another_pipeline_is_refused(admin, rep, opp):
    other = pipelines.create_pipeline(actor=admin, name="Other", stages=[("Start", 10)])
    with pytest.raises(ValidationError) as exc:
        pipelines.move_opportunity(
            actor=rep, opportunity_id=opp.pk, stage_id=other.stages.first().pk
        )
    assert "stage" in exc.value.field_errors


def test_amount_from_lines_is_priced_by_the_engine(admin, rep, sales):
    phone = catalog.create_product(actor=admin, sku="PH", name="Phone", price="100")
    case = catalog.create_product(actor=admin, sku="CA", name="Case", price="10")
    Promotion.objects.create(name="Ten off", kind="percent", value=Decimal("10"))
    customer = CustomerFactory(owner=rep)
    o = pipelines.create_opportunity(
        actor=rep,
        customer_id=customer.pk,
        name="Phones",
        lines=[CartLine(phone.pk, 3), CartLine(case.pk, 2)],
    )
    # 320 subtotal - 10% = 288, before tax.
    assert o.amount == Decimal("288.00") and o.amount_from_lines
    assert list(o.lines.values_list("product__sku", "quantity")) == [("PH", 3), ("CA", 2)]
    o = pipelines.set_opportunity_lines(
        actor=rep, opportunity_id=o.pk, lines=[CartLine(phone.pk, 1)], expected_version=o.version
    )
    assert o.amount == Decimal("90.00") and o.lines.count() == 1
    o = pipelines.update_opportunity(
        actor=rep, opportunity_id=o.pk, expected_version=o.version, amount="500"
    )
    assert o.amount == Decimal("500.00") and not o.amount_from_lines


def test_reorder_within_column(rep, sales):
    customer = CustomerFactory(owner=rep)
    a, _b, c = (
        pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name=n) for n in "ABC"
    )
    pipelines.move_opportunity(actor=rep, opportunity_id=c.pk, stage_id=c.stage_id, position=0)
    names = list(
        Opportunity.objects.filter(stage=a.stage).order_by("position").values_list("name", flat=1)
    )
    assert names == ["C", "A", "B"]


def test_reorder_moves_only_the_cards_above_the_drop(rep, sales):
    customer = CustomerFactory(owner=rep)
    opps = [
        pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name=n) for n in "ABCDEF"
    ]
    before = dict(Opportunity.objects.values_list("name", "position"))
    pipelines.move_opportunity(
        actor=rep, opportunity_id=opps[5].pk, stage_id=opps[5].stage_id, position=2
    )

    def order():
        return list(
            Opportunity.objects.filter(stage=opps[0].stage)
            .order_by("position", "-amount", "id")
            .values_list("name", flat=True)
        )

    assert order() == list("ABFCDE")
    after = dict(Opportunity.objects.values_list("name", "position"))
    assert [n for n in "CDE" if after[n] != before[n]] == []  # below the drop: untouched
    # Dropped past the end, and into a won column (shown by closing date: no reordering).
    pipelines.move_opportunity(
        actor=rep, opportunity_id=opps[0].pk, stage_id=opps[0].stage_id, position=99
    )
    assert order() == list("BFCDEA")
    won = Stage.objects.get(pipeline=sales, is_won=True)
    pipelines.move_opportunity(actor=rep, opportunity_id=opps[1].pk, stage_id=won.pk, position=0)
    assert order() == list("FCDEA")
