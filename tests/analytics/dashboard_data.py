"""A small shop for the dashboard tests: categories three levels deep, orders in two regions,
a won and an open opportunity, leads from two sources and a few interactions."""

from __future__ import annotations

from tests.customers.factories import CustomerFactory
from vinculo.interactions import services as interactions
from vinculo.sales import catalog, leads, orders, pipelines
from vinculo.sales.pricing import CartLine


def build_shop(admin, rep, *, extra_customers: int = 0) -> dict:
    tech = catalog.create_category(actor=admin, name="Tech")
    phones = catalog.create_category(actor=admin, name="Phones", parent_id=tech.pk)
    smart = catalog.create_category(actor=admin, name="Smart", parent_id=phones.pk)
    home = catalog.create_category(actor=admin, name="Home")
    phone = catalog.create_product(
        actor=admin,
        sku="PH",
        name="Phone",
        price="100",
        cost="60",
        stock_on_hand=500,
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
    lamp = catalog.create_product(
        actor=admin,
        sku="LA",
        name="Lamp",
        price="40",
        cost="25",
        stock_on_hand=500,
        category_id=home.pk,
    )
    ana = CustomerFactory(name="Ana", owner=rep, region="Madrid", city="Madrid", country="ES")
    ben = CustomerFactory(name="Ben", region="Cataluña", city="Barcelona", country="ES")
    people = [ana, ben]
    for i in range(extra_customers):
        people.append(
            CustomerFactory(name=f"Extra {i}", region="Madrid", city="Alcalá", country="ES")
        )
    for i, customer in enumerate(people):
        lines = (
            [CartLine(phone.pk, 1), CartLine(case.pk, 2)] if i % 2 == 0 else [CartLine(lamp.pk, 1)]
        )
        order = orders.create_order(actor=admin, customer_id=customer.pk, lines=lines)
        orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
        interactions.log_interaction(
            actor=rep, customer_id=customer.pk, kind="call", channel="phone", subject="hi"
        )
    interactions.log_interaction(
        actor=rep, customer_id=ana.pk, kind="email", channel="email", subject="offer"
    )
    won = pipelines.create_opportunity(actor=rep, customer_id=ana.pk, name="Fleet", amount="900")
    pipelines.win_opportunity(actor=rep, opportunity_id=won.pk)
    pipelines.create_opportunity(actor=rep, customer_id=ben.pk, name="Desk", amount="300")
    leads.capture_lead(
        actor=admin,
        source="web_form",
        first_name="Lia",
        email="lia@example.com",
        campaign="spring",
        acquisition_cost="12.50",
    )
    leads.capture_lead(
        actor=admin,
        source="event",
        first_name="Max",
        email="max@example.com",
        acquisition_cost="30",
    )
    return {"ana": ana, "ben": ben, "customers": people}
