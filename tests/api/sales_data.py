"""Known catalog data for the sales API tests: prices chosen so totals can be checked by
hand (tax 21 %, rounded half-up to the cent)."""

from __future__ import annotations

from vinculo.customers import services as customer_services
from vinculo.sales import catalog
from vinculo.sales.models import PriceList, PriceListItem


def make_catalog(admin) -> dict:
    """SOFA 499.90, LAMP 40.00 (catalog prices, EUR) and a price list “Volume” that sells
    SOFA at 450.00 from 5 units."""
    furniture = catalog.create_category(actor=admin, name="Furniture")
    lighting = catalog.create_category(actor=admin, name="Lighting", parent_id=furniture.pk)
    sofa = catalog.create_product(
        actor=admin,
        sku="SOFA",
        name="Sofa",
        price="499.90",
        cost="300",
        stock_on_hand=10,
        category_id=furniture.pk,
    )
    lamp = catalog.create_product(
        actor=admin,
        sku="LAMP",
        name="Lamp",
        price="40.00",
        cost="15",
        stock_on_hand=50,
        category_id=lighting.pk,
    )
    volume = PriceList.objects.create(name="Volume", currency="EUR")
    PriceListItem.objects.create(price_list=volume, product=sofa, min_quantity=5, price="450.00")
    return {"sofa": sofa, "lamp": lamp, "furniture": furniture, "lighting": lighting}


def customer_of(user, **extra):
    """A customer owned by ``user`` (in their team), with an email address."""
    return customer_services.create_customer(
        actor=user,
        first_name=extra.pop("first_name", "Íñigo"),
        last_name=extra.pop("last_name", "Peña"),
        emails=extra.pop("emails", [f"client-of-{user.username}@example.es"]),
        owner_id=user.pk,
        team_id=user.team_id,
        **extra,
    )
