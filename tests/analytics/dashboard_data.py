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
        # The order's owner is whoever takes it: Ana's rep takes hers.
        seller = rep if customer.owner_id == rep.pk else admin
        order = orders.create_order(actor=seller, customer_id=customer.pk, lines=lines)
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


def more_buyers(admin, n: int) -> list:
    """``n`` more customers, each with a confirmed order of the shop's phone and lamp."""
    from vinculo.sales.models import Product

    phone, lamp = Product.objects.get(sku="PH"), Product.objects.get(sku="LA")
    people = []
    for i in range(n):
        customer = CustomerFactory(name=f"Buyer {i}", region=f"R{i % 7}", city=f"C{i % 11}")
        order = orders.create_order(
            actor=admin,
            customer_id=customer.pk,
            lines=[CartLine(phone.pk, 1), CartLine(lamp.pk, 1 + i % 3)],
        )
        orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
        people.append(customer)
    return people
