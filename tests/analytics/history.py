"""A synthetic order history with known signal, written to the test database in bulk, for
the predictive models' tests (churn, propensity, forecast, CLV on CRM orders).

Each customer buys at a steady rate of their own until a dropout day (or never drops out);
each order is one line in the customer's favourite category with probability ``loyalty``,
otherwise in another category. So "orders stopped" and "favourite category" are known."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.sales import catalog
from vinculo.sales.models import Order, OrderLine

CATEGORIES = ("Garden", "Books", "Tech")
PRICES = {"Garden": (Decimal("40"), Decimal("25")), "Books": (Decimal("20"), Decimal("12"))}
PRICES["Tech"] = (Decimal("200"), Decimal("120"))


@dataclass
class Buyer:
    customer_id: int
    favourite: str
    dropout: dt.date | None
    days: list[dt.date] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def make_products(admin) -> dict[str, list]:
    """Two products per top-level category (one nested a level down)."""
    products = {}
    for name in CATEGORIES:
        top = catalog.create_category(actor=admin, name=name)
        sub = catalog.create_category(actor=admin, name=f"{name} extra", parent_id=top.pk)
        price, cost = PRICES[name]
        products[name] = [
            catalog.create_product(
                actor=admin,
                sku=f"{name[:3].upper()}-{i}",
                name=f"{name} item {i}",
                price=str(price * (i + 1)),
                cost=str(cost * (i + 1)),
                category_id=(top if i == 0 else sub).pk,
            )
            for i in range(2)
        ]
    return products


def write_orders(products, plan: list[tuple[int, dt.date, str, int]]) -> None:
    """plan: (customer_id, day, category, product index) -> one delivered order each."""
    orders, lines = [], []
    start = Order.objects.count()
    for n, (cid, day, category, index) in enumerate(plan):
        product = products[category][index]
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(12)), dt.UTC)
        orders.append(
            Order(
                number=f"SYN-{start + n}",
                customer_id=cid,
                channel="web",
                status="delivered",
                subtotal=product.price,
                total=product.price,
                ordered_at=at,
            )
        )
    Order.objects.bulk_create(orders, batch_size=500)
    for order, (_cid, _day, category, index) in zip(orders, plan, strict=True):
        product = products[category][index]
        lines.append(
            OrderLine(
                order=order,
                product=product,
                sku=product.sku,
                name=product.name,
                quantity=1,
                unit_price=product.price,
                unit_cost=product.cost,
                total=product.price,
            )
        )
    OrderLine.objects.bulk_create(lines, batch_size=500)


def make_history(
    admin,
    *,
    as_of: dt.date,
    customers: int = 300,
    years: float = 2.5,
    dropout_share: float = 0.5,
    loyalty: float = 0.8,
    seed: int = 7,
) -> list[Buyer]:
    rnd = random.Random(seed)
    products = make_products(admin)
    people = CustomerFactory.create_batch(customers)
    first_day = as_of - dt.timedelta(days=int(years * 365))
    buyers, plan = [], []
    for person in people:
        favourite = rnd.choice(CATEGORIES)
        start = first_day + dt.timedelta(
            days=rnd.randint(0, min(200, (as_of - first_day).days // 2))
        )
        end = as_of
        dropout = None
        if rnd.random() < dropout_share:
            dropout = start + dt.timedelta(days=rnd.randint(30, max(31, (as_of - start).days)))
            end = dropout
        gap = rnd.uniform(15, 45)  # mean days between orders
        buyer = Buyer(person.pk, favourite, dropout)
        day = start + dt.timedelta(days=int(rnd.expovariate(1 / gap)))
        while day <= end:
            others = [c for c in CATEGORIES if c != favourite]
            category = favourite if rnd.random() < loyalty else rnd.choice(others)
            buyer.days.append(day)
            buyer.categories.append(category)
            plan.append((person.pk, day, category, rnd.randint(0, 1)))
            day += dt.timedelta(days=max(1, int(rnd.expovariate(1 / gap))))
        buyers.append(buyer)
    write_orders(products, plan)
    return buyers
