"""The DuckDB warehouse: full and incremental refresh, deletes, bundles, marts that add up
to the operational figures. Runs on SQLite and PostgreSQL like the rest of the suite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.core.errors import NotFound
from vinculo.interactions import services as interactions
from vinculo.sales import catalog, orders, pipelines
from vinculo.sales.models import Order, OrderLine
from vinculo.sales.pricing import CartLine

AS_OF = dt.date(2030, 1, 15)
D = Decimal


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    return settings.VINCULO_WAREHOUSE_PATH


@pytest.fixture
def shop(admin):
    tech = catalog.create_category(actor=admin, name="Tech")
    phones = catalog.create_category(actor=admin, name="Phones", parent_id=tech.pk)
    smart = catalog.create_category(actor=admin, name="Smart", parent_id=phones.pk)
    phone = catalog.create_product(
        actor=admin,
        sku="PH",
        name="Phone",
        price="100",
        cost="60",
        stock_on_hand=50,
        category_id=smart.pk,
    )
    case = catalog.create_product(
        actor=admin,
        sku="CA",
        name="Case",
        price="10",
        cost="2",
        stock_on_hand=500,
        category_id=phones.pk,
    )
    kit = catalog.create_product(
        actor=admin,
        sku="KIT",
        name="Starter kit",
        price="105",
        kind="bundle",
        category_id=tech.pk,
    )
    catalog.set_bundle_items(actor=admin, bundle_id=kit.pk, items=[(phone.pk, 1), (case.pk, 2)])
    return phone, case, kit


def place(admin, customer, lines, *, status="confirmed", channel="web"):
    order = orders.create_order(actor=admin, customer_id=customer.pk, lines=lines, channel=channel)
    path = {
        "draft": [],
        "confirmed": ["confirmed"],
        "paid": ["confirmed", "paid"],
        "cancelled": ["cancelled"],
    }[status]
    for s in path:
        orders.set_order_status(actor=admin, order_id=order.pk, status=s)
    return order


@pytest.fixture
def dataset(admin, rep, shop):
    phone, case, kit = shop
    ana = CustomerFactory(name="Ana", owner=rep, region="Madrid", city="Madrid", country="ES")
    ben = CustomerFactory(name="Ben", region="Cataluña", city="Barcelona", country="ES")
    CustomerFactory(name="Nobody")
    o1 = place(admin, ana, [CartLine(phone.pk, 2), CartLine(case.pk, 1)])
    o2 = place(admin, ana, [CartLine(kit.pk, 1)], status="paid", channel="phone")
    o3 = place(admin, ben, [CartLine(case.pk, 3)])
    place(admin, ben, [CartLine(phone.pk, 1)], status="draft")  # no revenue
    place(admin, ben, [CartLine(phone.pk, 5)], status="cancelled")  # no revenue
    for channel, kind in [("phone", "call"), ("phone", "call"), ("email", "email")]:
        interactions.log_interaction(
            actor=rep, customer_id=ana.pk, kind=kind, channel=channel, subject="hello"
        )
    pipelines.create_opportunity(actor=rep, customer_id=ana.pk, name="Fleet", amount="900")
    return {"ana": ana, "ben": ben, "orders": (o1, o2, o3)}


def c360(customer_id):
    rows = warehouse.query("SELECT * FROM mart_customer_360 WHERE customer_id = ?", [customer_id])
    return rows[0] if rows else None


def snapshot_marts():
    return {
        t: warehouse.query(f"SELECT * FROM {t} ORDER BY ALL")
        for t in ("mart_customer_360", "mart_sales", "mart_marketing_leads", "fact_sales")
    }


def operational_revenue(**filters):
    qs = OrderLine.objects.filter(
        order__status__in=["confirmed", "paid", "shipped", "delivered"], **filters
    )
    return qs.aggregate(r=Sum(F("total") - F("tax")))["r"] or D("0")


def test_query_before_any_refresh_says_to_build_the_warehouse(db):
    with pytest.raises(NotFound, match="refresh"):
        warehouse.query("SELECT 1")


@pytest.mark.django_db(transaction=False)
def test_mart_totals_equal_operational_totals(dataset):
    result = warehouse.refresh(as_of=AS_OF)
    assert result.mode == "full"
    ana, ben = dataset["ana"], dataset["ben"]
    a = c360(ana.pk)
    # 2×100 + 10 on the first order, 105 for the kit: revenue without tax.
    assert a["revenue"] == D("315.00") == operational_revenue(order__customer=ana)
    assert a["orders"] == 2 and a["frequency"] == 2 and a["monetary"] == D("315.00")
    assert a["avg_order_value"] == D("157.50")
    # Costs: 2×60 + 2 on the first order; the kit costs its components 60 + 2×2, once.
    assert a["cost"] == D("186.00") and a["margin"] == D("129.00")
    assert a["units"] == 4  # phones 2, case 1, kit 1 (its components are not extra units)
    assert (a["interactions"], a["interactions_phone"], a["interactions_email"]) == (3, 2, 1)
    assert a["preferred_channel"] == "phone"
    assert a["open_opportunities"] == 1 and a["open_pipeline_amount"] == D("900.00")
    assert a["recency_days"] == (AS_OF - timezone.localdate()).days
    assert a["owner_name"] and a["last_contact_at"] is not None
    b = c360(ben.pk)
    assert b["orders"] == 1 and b["revenue"] == D("30.00")  # draft and cancelled bring none
    assert c360(CustomerFactory._meta.model.objects.get(name="Nobody").pk)["orders"] == 0
    (total,) = warehouse.query("SELECT sum(revenue) AS r FROM mart_sales")
    assert total["r"] == operational_revenue() == D("345.00")
    by_cat = {
        r["category_l1"]: r["revenue"]
        for r in warehouse.query(
            "SELECT category_l1, sum(revenue) AS revenue FROM mart_sales GROUP BY 1"
        )
    }
    assert by_cat == {"Tech": D("345.00")}
    (p,) = warehouse.query("SELECT * FROM dim_product WHERE sku = 'PH'")
    assert (p["category_l1"], p["category_l2"], p["category_l3"]) == ("Tech", "Phones", "Smart")


def test_refresh_twice_gives_identical_marts(dataset):
    warehouse.refresh(as_of=AS_OF)
    first = snapshot_marts()
    again = warehouse.refresh(as_of=AS_OF)
    assert again.mode == "incremental" and again.deleted == 0
    assert snapshot_marts() == first
    warehouse.refresh(as_of=AS_OF, full=True)
    assert snapshot_marts() == first


def test_incremental_refresh_follows_changed_and_deleted_rows(admin, rep, dataset):
    ana, ben = dataset["ana"], dataset["ben"]
    o1, _o2, o3 = dataset["orders"]
    warehouse.refresh(as_of=AS_OF)
    assert c360(ana.pk)["revenue"] == D("315.00")
    # A line changes (a service saves the order with it, which moves the watermark)...
    line = o1.lines.get(sku="CA")
    OrderLine.objects.filter(pk=line.pk).update(quantity=4, total=D("48.40"), tax=D("8.40"))
    Order.objects.get(pk=o1.pk).save()
    # ...an order is cancelled, an interaction deleted, an order deleted outright.
    orders.set_order_status(actor=admin, order_id=o3.pk, status="cancelled")
    victim = ana.interactions.filter(channel="email").get()
    interactions.delete_interaction(actor=rep, interaction_id=victim.pk)
    draft = Order.objects.filter(customer=ben, status="draft").get()
    draft.delete()
    result = warehouse.refresh(as_of=AS_OF)
    assert result.mode == "incremental"
    stats = {s.source: s for s in result.sources}
    assert stats["orders"].extracted < Order.objects.count() + 1
    assert stats["interactions"].deleted == 1 and stats["orders"].deleted == 1
    assert stats["order_lines"].deleted == 1
    a = c360(ana.pk)
    assert a["revenue"] == D("345.00") == operational_revenue(order__customer=ana)
    assert (a["interactions"], a["interactions_email"]) == (2, 0)
    assert c360(ben.pk)["orders"] == 0 and c360(ben.pk)["revenue"] == D("0.00")
    assert warehouse.query("SELECT count(*) AS n FROM fact_order")[0]["n"] == Order.objects.count()
    (total,) = warehouse.query("SELECT sum(revenue) AS r FROM mart_sales")
    assert total["r"] == operational_revenue()


def test_incremental_refresh_reads_only_what_changed(dataset):
    warehouse.refresh(as_of=AS_OF)
    result = warehouse.refresh(as_of=AS_OF)
    # Only the overlap window is re-read; nothing new was written, so nothing moves.
    assert result.mode == "incremental"
    (before,) = warehouse.query("SELECT count(*) AS n FROM fact_order_line")
    assert before["n"] == OrderLine.objects.count()


def test_merged_customer_leaves_the_360_and_its_orders_follow_the_survivor(admin, dataset):
    from vinculo.customers.merging import merge_customers

    ana, ben = dataset["ana"], dataset["ben"]
    warehouse.refresh(as_of=AS_OF)
    merge_customers(actor=admin, survivor_id=ana.pk, loser_id=ben.pk)
    warehouse.refresh(as_of=AS_OF)
    assert c360(ben.pk) is None
    a = c360(ana.pk)
    assert a["orders"] == 3 and a["revenue"] == operational_revenue(order__customer=ana)


def test_failed_refresh_leaves_the_previous_warehouse(dataset, monkeypatch):
    from vinculo.analytics.warehouse import marts

    warehouse.refresh(as_of=AS_OF)
    before = snapshot_marts()
    Order.objects.filter(status="confirmed").update(status="delivered", updated_at=timezone.now())

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(marts, "_sales", boom)
    with pytest.raises(RuntimeError):
        warehouse.refresh(as_of=AS_OF)
    assert snapshot_marts() == before
    monkeypatch.undo()
    warehouse.refresh(as_of=AS_OF)  # the watermark did not move: the change is picked up
    assert (
        warehouse.query("SELECT count(*) AS n FROM fact_order WHERE status = 'delivered'")[0]["n"]
        == 2
    )


def test_won_opportunity_closes_its_stage_stay_and_leaves_the_open_pipeline(rep, dataset):
    ana = dataset["ana"]
    warehouse.refresh(as_of=AS_OF)
    opp = ana.opportunities.get()
    (stay,) = warehouse.query("SELECT * FROM fact_stage_history WHERE opportunity_id = ?", [opp.pk])
    assert stay["left_at"] is None
    pipelines.win_opportunity(actor=rep, opportunity_id=opp.pk)
    warehouse.refresh(as_of=AS_OF)
    stays = warehouse.query(
        "SELECT stage_name, left_at, is_won FROM fact_stage_history "
        "WHERE opportunity_id = ? ORDER BY entered_at, stage_history_id",
        [opp.pk],
    )
    assert len(stays) == 2 and stays[0]["left_at"] is not None and stays[1]["is_won"]
    a = c360(ana.pk)
    assert (a["open_opportunities"], a["won_opportunities"]) == (0, 1)
    assert a["open_pipeline_amount"] == D("0.00")


def test_deleted_customer_leaves_the_warehouse(admin, db):
    from vinculo.customers.services import delete_customer

    gone, kept = CustomerFactory(name="Gone"), CustomerFactory(name="Kept")
    interactions.log_interaction(actor=admin, customer_id=gone.pk, kind="call", subject="hi")
    warehouse.refresh(as_of=AS_OF)
    delete_customer(actor=admin, customer_id=gone.pk)
    result = warehouse.refresh(as_of=AS_OF)
    assert {s.source: s.deleted for s in result.sources}["customers"] == 1
    assert c360(gone.pk) is None and c360(kept.pk) is not None
    assert warehouse.query(
        "SELECT count(*) AS n FROM fact_interaction WHERE customer_id = ?", [gone.pk]
    ) == [{"n": 0}]


def test_empty_database_gives_empty_marts(db):
    result = warehouse.refresh(as_of=AS_OF)
    assert result.mart_rows["mart_customer_360"] == 0 and result.mart_rows["mart_sales"] == 0
    assert warehouse.query("SELECT count(*) AS n FROM dim_date") == [{"n": 1}]


def test_a_delete_balanced_by_an_insert_is_still_found(rep, dataset):
    ana = dataset["ana"]
    warehouse.refresh(as_of=AS_OF)
    victim = ana.interactions.filter(channel="email").get()
    interactions.delete_interaction(actor=rep, interaction_id=victim.pk)
    interactions.log_interaction(
        actor=rep, customer_id=ana.pk, kind="sms", channel="sms", subject="new"
    )
    result = warehouse.refresh(as_of=AS_OF)
    assert {s.source: s.deleted for s in result.sources}["interactions"] == 1
    a = c360(ana.pk)
    assert (a["interactions"], a["interactions_email"], a["interactions_sms"]) == (3, 0, 1)
