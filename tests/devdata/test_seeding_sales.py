"""The seeded sales history: catalog, price lists, coupons, leads, opportunities and a
multi-year order history with the signal analytics needs (repeat purchases, seasonality,
baskets), consistent totals and stock, the same for the same seed."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum
from django.utils import timezone

from vinculo.customers.models import Customer
from vinculo.devdata import seeding, seeding_catalog
from vinculo.interactions.models import Interaction
from vinculo.sales.models import (
    BundleItem,
    Category,
    Lead,
    Opportunity,
    Order,
    OrderLine,
    OrderStatusChange,
    PriceList,
    PriceListItem,
    Product,
    ProductOption,
    Promotion,
    PromotionRedemption,
    StageHistory,
)
from vinculo.sales.orders import TRANSITIONS
from vinculo.sales.pricing import money

pytestmark = pytest.mark.django_db

ANCHOR = timezone.make_aware(dt.datetime(2026, 6, 1, 18, 0))
N = 300


@pytest.fixture
def seeded():
    return seeding.seed(customers=N, seed=11, anchor=ANCHOR)


def test_catalog_has_a_three_level_tree_products_price_lists_and_coupons(seeded):
    assert 40 <= Category.objects.count() <= 70
    assert Category.objects.filter(parent__parent__isnull=False).count() >= 30  # third level
    products = Product.objects.filter(sku__startswith=seeding_catalog.SKU_PREFIX)
    assert 500 <= products.count() <= 2100
    assert seeded.sales.products == products.count()
    kinds = Counter(products.values_list("kind", flat=True))
    assert kinds["variant"] > kinds["template"] > 0
    assert kinds["configurable"] > 0 and kinds["bundle"] > 0
    assert BundleItem.objects.count() >= 2 * kinds["bundle"]
    assert ProductOption.objects.filter(requires__isnull=False).exists()
    assert ProductOption.objects.filter(excludes__isnull=False).exists()
    # Every product makes money: the cost is below the price (a margin for analytics).
    for price, cost in products.values_list("price", "cost"):
        assert 0 < cost < price
    lists = {pl.name: pl for pl in PriceList.objects.all()}
    assert lists["Tarifa USD"].currency == "USD"
    assert lists["Clientes VIP"].customer_tag.name == "vip"
    assert lists["Tienda online"].channel == "web"
    breaks = PriceListItem.objects.filter(price_list=lists["Mayorista B2B"], min_quantity__gt=1)
    assert breaks.filter(min_quantity=10).exists() and breaks.filter(min_quantity=50).exists()
    assert Promotion.objects.filter(code="BIENVENIDA10", first_order_only=True).exists()
    assert Promotion.objects.filter(code__startswith="BLACKFRIDAY", valid_from__isnull=False)


def test_about_ten_order_lines_per_customer(seeded):
    lines = OrderLine.objects.count()
    assert 7 * N <= lines <= 13 * N
    assert seeded.sales.order_lines == lines
    assert seeded.sales.orders == Order.objects.count() > N
    # Only customers who buy have orders (lifecycle stage customer, inactive or lost).
    stages = set(Order.objects.values_list("customer__stage", flat=True).distinct())
    assert stages <= {"customer", "inactive", "lost"}
    # Mostly delivered, some cancelled and returned.
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert statuses["delivered"] > 0.7 * sum(statuses.values())
    assert statuses["cancelled"] > 0 and statuses["returned"] > 0
    # Orders span the years of history, none in the future.
    span = Order.objects.aggregate(first=Max("ordered_at"))
    assert span["first"] <= ANCHOR
    years = {d.year for d in Order.objects.dates("ordered_at", "year")}
    assert len(years) >= 3


def test_repeat_purchases_exist(seeded):
    per_customer = Counter(Order.objects.values_list("customer_id", flat=True))
    repeat = sum(1 for n in per_customer.values() if n >= 2)
    assert repeat / len(per_customer) > 0.5
    assert max(per_customer.values()) >= 10  # heavy buyers too (Gamma-distributed rates)


def test_december_is_the_busiest_month(seeded):
    by_month = Counter(d.month for d in Order.objects.values_list("ordered_at", flat=True))
    total = sum(by_month.values())
    assert by_month[12] / total > 1.3 / 12
    assert by_month[12] > by_month[11] and by_month[12] > by_month[1]


def test_every_order_total_equals_its_lines(seeded):
    lines = defaultdict(list)
    for ln in OrderLine.objects.all():
        lines[ln.order_id].append(ln)
    for order in Order.objects.all():
        own = lines[order.pk]
        assert own, order.number
        assert order.subtotal == sum(ln.unit_price * ln.quantity for ln in own)
        assert order.discount_total == sum(ln.discount for ln in own)
        assert order.tax_total == sum(ln.tax for ln in own)
        assert order.total == sum(ln.total for ln in own) + order.shipping
        for ln in own:
            base = ln.unit_price * ln.quantity - ln.discount
            assert ln.total == base + ln.tax
            assert ln.tax == money(base * ln.tax_rate / 100)  # as the pricing engine rounds
            if ln.bundle_line_id:
                assert ln.unit_price == 0 and ln.unit_cost > 0


def test_status_history_follows_the_allowed_transitions(seeded):
    history = defaultdict(list)
    for change in OrderStatusChange.objects.order_by("changed_at", "id"):
        history[change.order_id].append(change)
    for order in Order.objects.all():
        steps = history[order.pk]
        assert steps[0].from_status == "" and steps[0].to_status == "draft"
        assert steps[0].changed_at == order.ordered_at == order.created_at
        for a, b in itertools.pairwise(steps):
            assert b.from_status == a.to_status
            assert b.to_status in TRANSITIONS[a.to_status]
        assert steps[-1].to_status == order.status
        assert order.updated_at == steps[-1].changed_at <= ANCHOR
        assert order.version == len(steps)


def test_coupons_are_redeemed_on_confirmed_orders(seeded):
    redeemed = PromotionRedemption.objects.select_related("order", "promotion")
    assert redeemed.exists()
    for r in redeemed:
        assert r.promotion.code in r.order.coupon_codes
        assert r.order.status not in ("draft", "cancelled")
        if r.promotion.kind == "percent":
            assert r.amount == r.order.discount_total > 0
    codes = {c for cs in Order.objects.values_list("coupon_codes", flat=True) for c in cs}
    assert "BIENVENIDA10" in codes and any(c.startswith("BLACKFRIDAY") for c in codes)


def test_stock_is_never_negative_and_open_orders_reserve_it(seeded):
    products = Product.objects.filter(sku__startswith=seeding_catalog.SKU_PREFIX)
    for on_hand, reserved in products.values_list("stock_on_hand", "stock_reserved"):
        assert on_hand >= reserved >= 0
    open_units = (
        OrderLine.objects.filter(order__status__in=["confirmed", "paid"], product__track_stock=True)
        .exclude(components__isnull=False)
        .aggregate(n=Sum("quantity"))["n"]
        or 0
    )
    assert products.aggregate(n=Sum("stock_reserved"))["n"] == open_units


def test_some_customers_move_to_digital_channels(seeded):
    """Habit change: for some repeat buyers the web/portal share of the later half of their
    orders is much higher than in the first half."""
    channels = defaultdict(list)
    for customer_id, channel in Order.objects.order_by("ordered_at", "id").values_list(
        "customer_id", "channel"
    ):
        channels[customer_id].append(channel in ("web", "portal"))
    movers = 0
    for seq in channels.values():
        if len(seq) >= 6:
            half = len(seq) // 2
            early, late = sum(seq[:half]) / half, sum(seq[half:]) / (len(seq) - half)
            movers += late - early >= 0.5
    assert movers >= 3
    mix = Counter(Order.objects.values_list("channel", flat=True))
    assert set(mix) == {"web", "phone", "store", "rep", "portal"}


def test_complementary_products_are_bought_together(seeded):
    """Market-basket rules exist: phones and cases, bikes and helmets... co-occur far more
    often than their categories' frequencies alone would give (lift well above 1)."""
    baskets = defaultdict(set)
    for order_id, leaf in OrderLine.objects.filter(bundle_line__isnull=True).values_list(
        "order_id", "product__category__name"
    ):
        baskets[order_id].add(leaf)
    n = len(baskets)
    single = Counter(leaf for b in baskets.values() for leaf in b)
    best = 0.0
    for leaf, partners in seeding_catalog.COMPLEMENTS.items():
        for partner in partners:
            both = sum(1 for b in baskets.values() if leaf in b and partner in b)
            if both >= 5:
                best = max(best, both * n / (single[leaf] * single[partner]))
    assert best > 3


def test_leads_and_opportunities_with_history(seeded):
    leads = Lead.objects.all()
    assert leads.count() == seeded.sales.leads
    assert set(leads.values_list("customer__stage", flat=True)) >= {"lead", "customer"}
    assert len(set(leads.values_list("source", flat=True))) >= 5
    assert leads.exclude(campaign="").exists() and leads.exclude(utm_source="").exists()
    assert leads.filter(acquisition_cost__gt=0).exists()
    assert {"new", "converted", "disqualified"} <= set(leads.values_list("status", flat=True))
    for lead in leads.filter(status="converted"):
        assert lead.opportunity_id and lead.converted_at
    # Each lead's capture is on the customer's timeline, related to the lead.
    captured = Interaction.objects.filter(related_type__model="lead")
    assert captured.count() == leads.count()
    opps = Opportunity.objects.all()
    assert {"open", "won", "lost"} <= set(opps.values_list("status", flat=True))
    assert not opps.filter(status="lost", lost_reason="").exists()
    assert not opps.exclude(status="open").filter(closed_at__isnull=True).exists()
    for opp in opps.annotate(n=Count("stage_history")):
        stays = list(opp.stage_history.all())
        assert len(stays) == opp.n == opp.version >= 1
        assert stays[-1].stage_id == opp.stage_id and stays[-1].left_at is None
        assert all(s.left_at == t.entered_at for s, t in itertools.pairwise(stays))
    assert StageHistory.objects.count() == seeded.sales.stage_history
    # last_contact_at follows the newest interaction, as the services keep it.
    for c in Customer.objects.annotate(newest=Max("interactions__occurred_at")):
        assert c.last_contact_at == c.newest


def test_same_seed_same_orders_and_reset_removes_them():
    def snapshot():
        return sorted(
            Order.objects.values_list(
                "number", "customer__external_id", "status", "channel", "total", "ordered_at"
            )
        ), sorted(OrderLine.objects.values_list("order__number", "sku", "quantity", "total"))

    seeding.seed(customers=120, seed=21, anchor=ANCHOR)
    first = snapshot()
    assert first[0]
    assert seeding.reset_seeded() == 120
    assert not Order.objects.exists() and not Lead.objects.exists()
    assert not Opportunity.objects.exists()
    assert not Product.objects.exists()  # nothing else used the seeded catalog
    seeding.seed(customers=120, seed=21, anchor=ANCHOR)
    assert snapshot() == first
    seeding.reset_seeded()
    seeding.seed(customers=120, seed=22, anchor=ANCHOR)
    assert snapshot() != first


def test_lines_per_customer_zero_seeds_customers_only():
    stats = seeding.seed(customers=30, seed=3, anchor=ANCHOR, lines_per_customer=0)
    assert stats.customers == 30 and stats.sales.rows == 0
    assert not Order.objects.exists() and not Product.objects.exists()


def test_seed_command_reports_orders_and_demo_stays_idempotent():
    out = StringIO()
    call_command("seed", customers=40, seed=4, quiet=True, stdout=out)
    assert "orders with" in out.getvalue()
    orders, products = Order.objects.count(), Product.objects.count()
    assert orders > 0
    call_command("demo", customers=40, stdout=StringIO())
    call_command("demo", customers=40, stdout=StringIO())
    assert (Order.objects.count(), Product.objects.count()) == (orders, products)


def test_negative_lines_per_customer_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="lines-per-customer"):
        call_command("seed", customers=10, lines_per_customer=-1, stdout=StringIO())
    assert not Customer.objects.exists()


def test_reset_keeps_the_catalog_while_other_orders_use_it():
    seeding.seed(customers=30, seed=5, anchor=ANCHOR)
    product = Product.objects.filter(sku__startswith="SD-", kind="simple").first()
    mine = Customer.objects.create(name="Cliente propio", kind="person")
    order = Order.objects.create(number="SO-OWN-1", customer=mine, channel="web")
    OrderLine.objects.create(
        order=order, product=product, sku=product.sku, name=product.name, quantity=1,
        unit_price=product.price,
    )  # fmt: skip
    assert seeding.reset_seeded() == 30
    assert list(Order.objects.all()) == [order]  # seeded orders gone, the own one kept
    assert Product.objects.filter(pk=product.pk).exists()
    assert PriceList.objects.filter(name="Tarifa USD").exists()
    assert Customer.objects.get() == mine


@pytest.mark.django_db(transaction=True)
def test_generating_in_a_child_process_writes_the_same_rows(monkeypatch):
    """Large seeds generate in a forked process while the parent writes: same data."""

    def snapshot():
        return (
            sorted(Customer.objects.values_list("external_id", "name", "last_contact_at")),
            sorted(Order.objects.values_list("number", "status", "total", "updated_at")),
            sorted(OrderLine.objects.values_list("order__number", "sku", "quantity", "total")),
            sorted(Product.objects.values_list("sku", "stock_on_hand", "stock_reserved")),
            sorted(Lead.objects.values_list("customer__external_id", "status", "source")),
        )

    used = []
    real_ahead = seeding._ahead
    monkeypatch.setattr(seeding, "_ahead", lambda *a: used.append(1) or real_ahead(*a))
    monkeypatch.setattr(seeding, "AHEAD_FROM", 1)
    ahead = seeding.seed(customers=60, seed=9, anchor=ANCHOR, batch=25)
    assert used  # the child process did the generating
    forked = snapshot()
    assert forked[1] and ahead.sales.orders == len(forked[1])
    seeding.reset_seeded()
    monkeypatch.setattr(seeding, "AHEAD_FROM", 10**9)
    seeding.seed(customers=60, seed=9, anchor=ANCHOR, batch=25)
    assert snapshot() == forked
