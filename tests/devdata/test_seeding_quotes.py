"""Seeded quotes and quotas: quotes on late-stage, won and lost opportunities priced as the
pricing engine prices them (won ones accepted into their order), and monthly quotas per rep
so the forecast shows attainment on demo data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from vinculo.accounts.models import User
from vinculo.devdata import seeding
from vinculo.interactions.models import Interaction
from vinculo.sales import quotes
from vinculo.sales.forecast import add_months, forecast
from vinculo.sales.models import (
    Opportunity,
    OpportunityLine,
    Order,
    Promotion,
    PromotionRedemption,
    Quota,
    Quote,
    QuoteLine,
)
from vinculo.sales.pricing import CartLine, money, price_cart

pytestmark = pytest.mark.django_db

ANCHOR = timezone.make_aware(dt.datetime(2026, 6, 1, 18, 0))
N = 200
REPS = ("rep", "rep2", "manager")


@pytest.fixture
def seeded():
    return seeding.seed(customers=N, seed=1, anchor=ANCHOR)


def test_quotes_of_every_status_on_late_stage_won_and_lost_opportunities(seeded):
    qs = Quote.objects.select_related("opportunity")
    assert qs.count() == seeded.sales.quotes > 0
    assert QuoteLine.objects.count() == seeded.sales.quote_lines
    statuses = Counter(qs.values_list("status", flat=True))
    assert set(statuses) == {"draft", "sent", "accepted", "rejected", "expired"}
    by_outcome = {
        ("won", "accepted"), ("lost", "rejected"), ("lost", "expired"), ("open", "sent"),
        ("open", "draft"), ("open", "expired"),
    }  # fmt: skip
    for q in qs:
        assert (q.opportunity.status, q.status) in by_outcome
        assert q.customer_id == q.opportunity.customer_id and q.channel == "rep"
        assert q.created_at <= ANCHOR and q.valid_until > q.created_at.date()
        assert (q.sent_at is None) == (q.status == "draft")
        if q.status == "rejected":
            assert q.rejected_at == q.opportunity.closed_at
            assert q.rejection_reason == q.opportunity.lost_reason
        if q.status == "expired":
            assert q.valid_until < (q.opportunity.closed_at or ANCHOR).date()
    # Most won deals were quoted; an opportunity that never reached Proposal was not.
    won = Opportunity.objects.filter(status="won").count()
    assert statuses["accepted"] >= 0.7 * won
    early = Opportunity.objects.filter(
        pipeline__name="Sales", stage__name__in=["Qualification", "Needs analysis"]
    )
    assert early.exists() and not Quote.objects.filter(opportunity__in=early).exists()


def test_quote_totals_add_up_and_the_opportunity_takes_its_lines(seeded):
    for q in Quote.objects.prefetch_related("lines"):
        lines = list(q.lines.all())
        assert lines
        for ln in lines:
            assert ln.total == ln.unit_price * ln.quantity - ln.discount + ln.tax
            assert ln.tax == money((ln.unit_price * ln.quantity - ln.discount) * ln.tax_rate / 100)
        assert q.subtotal == sum(ln.unit_price * ln.quantity for ln in lines)
        assert q.tax_total == sum(ln.tax for ln in lines)
        assert q.total == q.subtotal - q.discount_total + q.tax_total + q.shipping
        assert q.total == sum(ln.total for ln in lines)
        opp = q.opportunity
        assert opp.amount == q.subtotal - q.discount_total and opp.amount_from_lines
        assert sorted(
            OpportunityLine.objects.filter(opportunity=opp).values_list("product_id", "quantity")
        ) == sorted((ln.product_id, ln.quantity) for ln in lines)


def test_quote_lines_carry_the_pricing_engines_prices_and_rules(seeded):
    checked = 0
    for q in Quote.objects.prefetch_related("lines")[:40]:
        cart = [
            CartLine(ln.product_id, ln.quantity, tuple(ln.option_codes)) for ln in q.lines.all()
        ]
        result = price_cart(lines=cart, customer_id=q.customer_id, channel="rep",
                            currency=q.currency, coupon_codes=q.coupon_codes,
                            at=q.created_at, exclude_order_id=q.order_id)  # fmt: skip
        assert result.total == q.total
        for priced, ln in zip(result.lines, q.lines.all(), strict=True):
            assert (priced.unit_price, priced.discount, priced.tax, priced.price_rule) == (
                ln.unit_price, ln.discount, ln.tax, ln.price_rule
            )  # fmt: skip
            checked += 1
    assert checked >= 40


def test_won_deals_have_an_accepted_quote_with_its_order(seeded):
    accepted = Quote.objects.filter(status="accepted").select_related("order", "opportunity")
    assert accepted.exists()
    for q in accepted:
        order = q.order
        assert order is not None and order.external_reference == f"quote:{q.number}"
        assert order.customer_id == q.customer_id and order.channel == "rep"
        assert order.total == q.total and order.subtotal == q.subtotal
        assert q.accepted_at == q.opportunity.closed_at == order.ordered_at
        top = order.lines.filter(bundle_line__isnull=True)
        assert sorted(top.values_list("product_id", "quantity", "unit_price")) == sorted(
            q.lines.values_list("product_id", "quantity", "unit_price")
        )
    assert not Quote.objects.exclude(status="accepted").filter(order__isnull=False).exists()
    # The timeline has what the services log: made, sent (email) and accepted.
    q = accepted.first()
    logged = Interaction.objects.filter(related_type__model="quote", related_id=q.pk)
    assert sorted(logged.values_list("kind", flat=True)) == ["email", "note", "note"]
    assert logged.filter(subject__contains=q.order.number).exists()


def test_some_quotes_carry_a_campaign_coupon_priced_as_the_engine_and_kept_by_the_order(
    seeded,
):
    with_coupon = list(Quote.objects.exclude(coupon_codes=[]).prefetch_related("lines"))
    assert with_coupon and len(with_coupon) < Quote.objects.count()
    accepted = 0
    for q in with_coupon:
        [code] = q.coupon_codes
        promo = Promotion.objects.get(code=code)
        assert promo.kind == "percent" and promo.valid_from <= q.created_at < promo.valid_to
        cart = [
            CartLine(ln.product_id, ln.quantity, tuple(ln.option_codes)) for ln in q.lines.all()
        ]
        # Priced as the engine prices it on the day it was made (before any order of it),
        # the coupon applied to every line.
        result = price_cart(lines=cart, customer_id=q.customer_id, channel="rep",
                            currency=q.currency, coupon_codes=[code], at=q.created_at,
                            exclude_order_id=q.order_id)  # fmt: skip
        assert [p.applied for p in result.promotions] == [True]
        assert (result.discount_total, result.total) == (q.discount_total, q.total)
        assert q.discount_total == sum(ln.discount for ln in q.lines.all()) > 0
        assert q.pricing["promotions"][0]["name"] == promo.name  # the quote page names it
        assert q.opportunity.amount == q.subtotal - q.discount_total
        if q.status != "accepted":
            continue
        accepted += 1
        order = q.order
        # accept_quote re-prices on the day it was accepted: the coupon still held.
        at_accept = price_cart(lines=cart, customer_id=q.customer_id, channel="rep",
                               currency=q.currency, coupon_codes=[code], at=q.accepted_at,
                               exclude_order_id=order.pk)  # fmt: skip
        assert at_accept.total == q.total == order.total
        assert (order.coupon_codes, order.discount_total) == ([code], q.discount_total)
        top = order.lines.filter(bundle_line__isnull=True)
        assert sorted(top.values_list("product_id", "discount")) == sorted(
            q.lines.values_list("product_id", "discount")
        )
        redeemed = PromotionRedemption.objects.filter(order=order, promotion=promo)
        assert redeemed.exists() == (order.status not in ("draft", "cancelled"))
    assert accepted
    # A once-per-customer code (the summer one) is never redeemed twice by one customer.
    once = PromotionRedemption.objects.filter(promotion__max_uses_per_customer=1)
    per_customer = Counter(once.values_list("promotion_id", "customer_id"))
    assert per_customer and max(per_customer.values()) == 1


def test_a_seeded_sent_quote_can_be_accepted_at_the_quoted_total(seeded):
    """The real service re-prices the quote's lines and refuses any difference."""
    q = Quote.objects.filter(status="sent").first()
    Quote.objects.filter(pk=q.pk).update(valid_until=timezone.localdate())
    rep = User.objects.get(username="rep")
    order = quotes.accept_quote(actor=rep, quote_id=q.pk)
    assert order.total == q.total and Quote.objects.get(pk=q.pk).status == "accepted"


def test_quotas_per_rep_and_month_so_the_forecast_shows_attainment(seeded):
    reps = list(User.objects.filter(username__in=REPS))
    anchor_month = ANCHOR.date().replace(day=1)
    assert Quota.objects.count() == seeded.sales.quotas > 0
    assert set(Quota.objects.values_list("user_id", flat=True)) == {u.pk for u in reps}
    last = add_months(anchor_month, 3)
    for u in reps:
        months = list(Quota.objects.filter(user=u).values_list("month", flat=True))
        assert max(months) == last and all(m.day == 1 for m in months)
        assert len(months) == len(set(months)) >= 24  # the seeded history, month by month
    assert not Quota.objects.filter(amount__lte=0).exists()
    manager = User.objects.get(username="manager")
    start = add_months(anchor_month, -12)
    fc = forecast(user=manager, start=start, months=12, group_by="owner")
    with_quota = [r for r in fc.rows if r.key in {u.pk for u in reps} and r.quota]
    assert with_quota
    attained = [r.attainment for r in with_quota if r.won_amount]
    assert attained and all(a > 0 for a in attained)
    # Quotas follow what reps win: over the year, attainment is near 100 %.
    won = sum(r.won_amount for r in with_quota)
    quota = sum(r.quota for r in with_quota)
    assert Decimal("0.6") < won / quota < Decimal("1.4")


def test_existing_quotas_are_kept_and_the_same_seed_gives_the_same_quotes():
    rep = seeding.ensure_demo_staff().users["rep"]
    month = ANCHOR.date().replace(day=1)
    Quota.objects.create(user=rep, month=month, amount=Decimal("1234.00"))

    def snapshot():
        return sorted(Quote.objects.values_list("number", "status", "total", "valid_until"))

    seeding.seed(customers=120, seed=21, anchor=ANCHOR)
    assert Quota.objects.get(user=rep, month=month).amount == Decimal("1234.00")
    first = snapshot()
    assert first
    quotas = sorted(Quota.objects.values_list("user_id", "month", "amount"))
    seeding.reset_seeded()
    assert not Quote.objects.exists() and not QuoteLine.objects.exists()
    assert not Order.objects.exists() and not OpportunityLine.objects.exists()
    seeding.seed(customers=120, seed=21, anchor=ANCHOR)
    assert snapshot() == first
    assert sorted(Quota.objects.values_list("user_id", "month", "amount")) == quotas
    assert Quote.objects.aggregate(t=Sum("total"))["t"] > 0
