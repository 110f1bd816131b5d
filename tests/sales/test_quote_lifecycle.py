"""A quote's life after it is made: reject with a reason, expire past its date (the nightly
job), edit a draft re-priced by the engine with optimistic locking, revise into a new draft."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, quote_changes, quotes
from vinculo.sales.models import Order, Promotion, Quote
from vinculo.sales.pricing import CartLine

TODAY = dt.date.today


@pytest.fixture
def product(admin):
    return catalog.create_product(
        actor=admin, sku="SOFA", name="Sofa", price="100.00", stock_on_hand=10
    )


@pytest.fixture
def lamp(admin):
    return catalog.create_product(
        actor=admin, sku="LAMP", name="Lamp", price="40.00", stock_on_hand=10
    )


def make(rep, customer, product, qty=1, status=None, **kwargs) -> Quote:
    quote = quotes.create_quote(
        actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, qty)], **kwargs
    )
    if status:
        Quote.objects.filter(pk=quote.pk).update(status=status)
        quote.refresh_from_db()
    return quote


def notes_of(customer) -> list[str]:
    return list(
        Interaction.objects.filter(customer=customer, kind="note")
        .order_by("id")
        .values_list("subject", flat=True)
    )


def past(quote: Quote, days: int = 1) -> None:
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(days))
    quote.refresh_from_db()


# --- reject -------------------------------------------------------------------------------------


def test_reject_records_the_reason_on_the_quote_audit_and_timeline(rep, customer, product):
    quote = make(rep, customer, product, status="sent")
    rejected = quote_changes.reject_quote(
        actor=rep, quote_id=quote.pk, reason="Too expensive", expected_version=quote.version
    )
    assert (rejected.status, rejected.rejection_reason) == ("rejected", "Too expensive")
    assert rejected.rejected_at is not None and rejected.version == quote.version + 1
    assert notes_of(customer)[-1] == f"Quote {quote.number} rejected: Too expensive"
    entry = AuditEntry.objects.filter(object_id=quote.pk, object_type="sales.quote").first()
    assert entry.changes["status"] == ["sent", "rejected"]
    # idempotent: a second rejection changes nothing and notes nothing
    again = quote_changes.reject_quote(actor=rep, quote_id=quote.pk, reason="Other")
    assert again.rejection_reason == "Too expensive" and again.version == rejected.version
    assert len(notes_of(customer)) == 2


@pytest.mark.parametrize(
    ("status", "reason", "field", "message"),
    [
        ("sent", "   ", "reason", "Say why the customer rejected the quote."),
        ("sent", "x" * 501, "reason", "Keep the reason under 500 characters."),
        ("draft", "No", "status", "Only a sent quote can be rejected; this one was never sent."),
        ("accepted", "No", "status", "This quote was accepted and became an order"),
        ("expired", "No", "status", "This quote already expired"),
    ],
)
def test_reject_refusals_name_the_field_and_change_nothing(
    rep, customer, product, status, reason, field, message
):
    quote = make(rep, customer, product, status=status)
    with pytest.raises(ValidationError) as exc:
        quote_changes.reject_quote(actor=rep, quote_id=quote.pk, reason=reason)
    assert message in exc.value.field_errors[field][0]
    fresh = Quote.objects.get(pk=quote.pk)
    assert (fresh.status, fresh.rejection_reason, fresh.version) == (status, "", quote.version)
    assert not any("rejected" in s for s in notes_of(customer))


def test_reject_with_a_stale_version_is_a_conflict(rep, customer, product):
    quote = make(rep, customer, product, status="sent")
    with pytest.raises(Conflict):
        quote_changes.reject_quote(
            actor=rep, quote_id=quote.pk, reason="No", expected_version=quote.version - 1 or 99
        )
    assert Quote.objects.get(pk=quote.pk).status == "sent"


# --- expire -------------------------------------------------------------------------------------


def test_expiry_marks_open_quotes_past_their_date_once(rep, customer, product):
    draft_old = make(rep, customer, product)
    sent_old = make(rep, customer, product, status="sent")
    for q in (draft_old, sent_old):
        past(q)
    due_today = make(rep, customer, product, status="sent")
    Quote.objects.filter(pk=due_today.pk).update(valid_until=timezone.localdate())
    accepted_old = make(rep, customer, product)
    quotes.accept_quote(actor=rep, quote_id=accepted_old.pk)
    past(accepted_old)
    rejected_old = make(rep, customer, product, status="rejected")
    past(rejected_old)

    assert quote_changes.expire_quotes() == 2
    status = dict(Quote.objects.values_list("pk", "status"))
    assert status[draft_old.pk] == status[sent_old.pk] == "expired"
    assert status[due_today.pk] == "sent"  # valid through its whole last day
    assert status[accepted_old.pk] == "accepted" and status[rejected_old.pk] == "rejected"
    assert sum("expired" in s for s in notes_of(customer)) == 2
    assert quote_changes.expire_quotes() == 0  # a second run does nothing
    assert sum("expired" in s for s in notes_of(customer)) == 2


def test_expire_command_runs_the_service_or_queues_the_task(rep, customer, product, db_tasks):
    from django_tasks_db.models import DBTaskResult

    quote = make(rep, customer, product)
    past(quote)
    call_command("expire_quotes", "--background")
    assert DBTaskResult.objects.filter(task_path__endswith="expire_quotes_task").count() == 1
    assert Quote.objects.get(pk=quote.pk).status == "draft"  # queued, not done here
    call_command("expire_quotes")
    assert Quote.objects.get(pk=quote.pk).status == "expired"


@pytest.mark.parametrize("marked", [False, True], ids=["past-date", "marked-expired"])
def test_an_expired_quote_cannot_be_accepted_or_sent(
    rep, customer, product, smtp_sink, django_capture_on_commit_callbacks, marked
):
    quote = make(rep, customer, product, status="sent")
    past(quote, days=3)
    if marked:
        quote_changes.expire_quotes()
    with pytest.raises(ValidationError) as exc:
        quotes.accept_quote(actor=rep, quote_id=quote.pk)
    assert "This quote expired on" in exc.value.field_errors["valid_until"][0]
    assert not Order.objects.exists()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        quotes.send_quote(actor=rep, quote_id=quote.pk)
    assert smtp_sink.messages == []


def test_a_rejected_quote_cannot_be_accepted(rep, customer, product):
    quote = make(rep, customer, product, status="rejected")
    with pytest.raises(ValidationError) as exc:
        quotes.accept_quote(actor=rep, quote_id=quote.pk)
    assert "rejected" in exc.value.field_errors["status"][0]
    assert not Order.objects.exists()


# --- edit ---------------------------------------------------------------------------------------


def test_edit_draft_reprices_lines_and_coupons_through_the_engine(rep, customer, product, lamp):
    Promotion.objects.create(name="Welcome", code="HELLO", kind="percent", value="10")
    quote = make(rep, customer, product, notes="Old note")
    assert str(quote.total) == "121.00"
    until = timezone.localdate() + dt.timedelta(days=10)
    edited = quote_changes.update_quote(
        actor=rep,
        quote_id=quote.pk,
        expected_version=quote.version,
        lines=[CartLine(product.pk, 2), CartLine(lamp.pk, 1)],
        coupon_codes=[" hello "],
        valid_until=until,
        notes="  New note ",
    )
    assert [(ln.sku, ln.quantity) for ln in edited.lines.all()] == [("SOFA", 2), ("LAMP", 1)]
    assert str(edited.discount_total) == "24.00"  # 10 % of 240
    assert str(edited.total) == "261.36"  # 216 × 1.21
    assert (edited.coupon_codes, edited.valid_until, edited.notes) == (["HELLO"], until, "New note")
    assert edited.version == quote.version + 1
    entry = AuditEntry.objects.filter(object_id=quote.pk, action="update").get()
    assert entry.changes["total"] == ["121.00", "261.36"]
    assert entry.changes["lines"][1] == [["SOFA", 2, []], ["LAMP", 1, []]]


def test_edit_with_a_stale_version_is_a_conflict_and_keeps_the_quote(rep, customer, product):
    quote = make(rep, customer, product)
    quote_changes.update_quote(
        actor=rep, quote_id=quote.pk, expected_version=quote.version, notes="Theirs"
    )
    with pytest.raises(Conflict) as exc:
        quote_changes.update_quote(
            actor=rep,
            quote_id=quote.pk,
            expected_version=quote.version,
            lines=[CartLine(product.pk, 5)],
        )
    assert "changed by someone else" in exc.value.message
    fresh = Quote.objects.get(pk=quote.pk)
    assert fresh.notes == "Theirs" and fresh.lines.get().quantity == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": []}, "lines"),
        ({"valid_until": TODAY() - dt.timedelta(days=1)}, "valid_until"),
        ({"valid_until": TODAY() + dt.timedelta(days=400)}, "valid_until"),
        ({"shipping": "-5"}, "shipping"),
        ({"shipping": "lots"}, "shipping"),
        ({"lines": [CartLine(0, 1)]}, "lines[0].product_id"),
    ],
)
def test_edit_refusals_name_the_field_and_roll_back(rep, customer, product, changes, field):
    quote = make(rep, customer, product)
    with pytest.raises(ValidationError) as exc:
        quote_changes.update_quote(
            actor=rep, quote_id=quote.pk, expected_version=quote.version, notes="x", **changes
        )
    assert field in exc.value.field_errors
    fresh = Quote.objects.get(pk=quote.pk)
    assert (fresh.version, fresh.notes, fresh.total) == (quote.version, "", quote.total)
    assert fresh.lines.count() == 1


@pytest.mark.parametrize("status", ["sent", "rejected", "expired", "accepted"])
def test_only_a_draft_can_be_edited(rep, customer, product, status):
    quote = make(rep, customer, product, status=status)
    with pytest.raises(ValidationError) as exc:
        quote_changes.update_quote(
            actor=rep, quote_id=quote.pk, expected_version=None, notes="changed"
        )
    assert "Only a draft quote can be edited" in exc.value.field_errors["status"][0]
    assert Quote.objects.get(pk=quote.pk).notes == ""


# --- revise -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["sent", "rejected", "expired"])
def test_revise_copies_into_a_new_draft_at_todays_prices(rep, customer, product, status):
    Promotion.objects.create(name="Welcome", code="HELLO", kind="percent", value="10")
    quote = make(
        rep, customer, product, qty=2, coupon_codes=["HELLO"], notes="Terms", status=status
    )
    product.price = "110.00"
    product.save()
    revision = quote_changes.revise_quote(actor=rep, quote_id=quote.pk)
    assert revision.pk != quote.pk and revision.number != quote.number
    assert (revision.status, revision.revises_id) == ("draft", quote.pk)
    assert (revision.coupon_codes, revision.notes) == (["HELLO"], "Terms")
    assert revision.lines.get().quantity == 2
    assert str(revision.total) == "239.58"  # (220 - 22) × 1.21: today's price
    assert revision.valid_until == timezone.localdate() + dt.timedelta(days=30)
    original = Quote.objects.get(pk=quote.pk)
    assert (original.status, original.total) == (status, quote.total)  # history kept
    assert f"Quote {revision.number} made, revising {quote.number}" in notes_of(customer)[-1]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("draft", "A draft can be edited directly"),
        ("accepted", "it cannot be revised"),
    ],
)
def test_drafts_and_accepted_quotes_are_not_revised(rep, customer, product, status, message):
    quote = make(rep, customer, product, status=status)
    with pytest.raises(ValidationError) as exc:
        quote_changes.revise_quote(actor=rep, quote_id=quote.pk)
    assert message in exc.value.field_errors["status"][0]
    assert Quote.objects.count() == 1


def test_a_revised_sent_quote_cannot_be_accepted_or_sent_again(
    rep, customer, product, smtp_sink, django_capture_on_commit_callbacks
):
    quote = make(rep, customer, product, status="sent")
    first = quote_changes.revise_quote(actor=rep, quote_id=quote.pk)
    Quote.objects.filter(pk=first.pk).update(status="sent")
    newest = quote_changes.revise_quote(actor=rep, quote_id=first.pk)  # revised again
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        quotes.accept_quote(actor=rep, quote_id=quote.pk)
    assert exc.value.field_errors["status"] == [
        f"Quote {newest.number} replaces this one; accept that one instead."
    ]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        quotes.send_quote(actor=rep, quote_id=first.pk)
    assert exc.value.field_errors["status"] == [
        f"Quote {newest.number} replaces this one; send that one instead."
    ]
    assert smtp_sink.messages == [] and not Order.objects.exists()
    assert AuditEntry.objects.count() == audits
    assert set(Quote.objects.values_list("status", flat=True)) == {"sent", "draft"}
    # The revision itself is the one the customer accepts.
    order = quotes.accept_quote(actor=rep, quote_id=newest.pk)
    assert order.total == newest.total
