"""Small known datasets for the segmentation models: orders and interactions written with
the dates a test needs, then the warehouse refreshed as of a fixed day. Test modules import the
``*_fixture`` functions so pytest finds them."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog
from vinculo.sales.models import Order, OrderLine

AS_OF = dt.date(2030, 6, 30)
_numbers = itertools.count(1)


def at(days_ago: float, hour: int = 12) -> dt.datetime:
    day = dt.datetime.combine(AS_OF, dt.time(hour), tzinfo=dt.UTC)
    return day - dt.timedelta(days=days_ago)


@pytest.fixture(name="warehouse_file", autouse=True)
def warehouse_file_fixture(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    return settings.VINCULO_WAREHOUSE_PATH


@pytest.fixture(name="products")
def products_fixture(admin):
    """One product per category: Garden (margin 50%), Tech (margin 10%), Books (margin 30%)."""
    made = {}
    for name, price, cost in [
        ("Garden", "100", "50"),
        ("Tech", "100", "90"),
        ("Books", "20", "14"),
    ]:
        cat = catalog.create_category(actor=admin, name=name)
        made[name] = catalog.create_product(
            actor=admin,
            sku=name[:3].upper(),
            name=name,
            price=price,
            cost=cost,
            stock_on_hand=10_000,
            category_id=cat.pk,
        )
    return made


def buy(
    customer, product, days_ago: float, *, qty: int = 1, channel: str = "web", status="delivered"
):
    """An order of ``qty`` × ``product`` (or one line of ``qty`` × each of a list of
    products) placed ``days_ago`` days before AS_OF (no tax)."""
    products = product if isinstance(product, list | tuple) else [product]
    amount = sum(p.price * qty for p in products)
    order = Order.objects.create(
        number=f"T{next(_numbers):06d}",
        customer=customer,
        channel=channel,
        status=status,
        subtotal=amount,
        total=amount,
        ordered_at=at(days_ago),
    )
    for p in products:
        OrderLine.objects.create(
            order=order,
            product=p,
            sku=p.sku,
            name=p.name,
            quantity=qty,
            unit_price=p.price,
            unit_cost=p.cost,
            total=p.price * qty,
        )
    return order


def contact(customer, days_ago: float, *, channel="phone", direction="out", user=None, hour=12):
    return Interaction.objects.create(
        customer=customer,
        kind="call" if channel == "phone" else "email",
        channel=channel,
        direction=direction,
        occurred_at=at(days_ago, hour),
        user=user,
        subject="t",
    )


def customer(**kw):
    return CustomerFactory(**kw)


def refresh():
    return warehouse.refresh(as_of=AS_OF, full=True)


D = Decimal
