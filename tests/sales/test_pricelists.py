"""Services behind the catalog API: update_product, create_price_list, create_promotion."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.sales import catalog, pricelists
from vinculo.sales.models import PriceList, Product, Promotion
from vinculo.sales.pricing import CartLine, price_cart


@pytest.fixture
def sofa(admin):
    return catalog.create_product(actor=admin, sku="SOFA", name="Sofa", price="499.90")


def test_update_product_writes_nothing_when_a_field_is_invalid(admin, sofa):
    with pytest.raises(ValidationError) as exc:
        catalog.update_product(
            actor=admin,
            product_id=sofa.pk,
            expected_version=sofa.version,
            name="New name",
            price="-5",
            currency="euros",
        )
    assert set(exc.value.field_errors) == {"price", "currency"}
    sofa.refresh_from_db()
    assert (sofa.name, str(sofa.price), sofa.version) == ("Sofa", "499.90", 1)


def test_update_product_refuses_a_stale_version_and_skips_no_op_changes(admin, sofa):
    same = catalog.update_product(
        actor=admin, product_id=sofa.pk, expected_version=1, price="499.90"
    )
    assert same.version == 1
    assert not AuditEntry.objects.filter(object_type="sales.product", action="update").exists()
    catalog.update_product(actor=admin, product_id=sofa.pk, expected_version=1, active=False)
    with pytest.raises(Conflict):
        catalog.update_product(actor=admin, product_id=sofa.pk, expected_version=1, name="X")
    with pytest.raises(ValidationError):
        catalog.update_product(actor=admin, product_id=sofa.pk, expected_version=2, kind="bundle")


def test_price_list_is_all_or_nothing_and_prices_the_cart(admin, sofa):
    with pytest.raises(ValidationError) as exc:
        pricelists.create_price_list(
            actor=admin,
            name="Bad",
            currency="EUR",
            channel="telepathy",
            customer_tag="nobody",
            valid_from=timezone.now(),
            valid_to=timezone.now() - dt.timedelta(days=1),
            items=[{"product_id": sofa.pk, "price": "x"}, {"product_id": 999999, "price": 1}],
        )
    assert set(exc.value.field_errors) == {
        "channel",
        "customer_tag",
        "valid_to",
        "items[0].price",
        "items[1].product_id",
    }
    assert not PriceList.objects.exists()
    pricelists.create_price_list(
        actor=admin, name="Web", channel="web", items=[{"product_id": sofa.pk, "price": "450"}]
    )
    web = price_cart(lines=[CartLine(sofa.pk, 1)], channel="web")
    phone = price_cart(lines=[CartLine(sofa.pk, 1)], channel="phone")
    assert (web.lines[0].unit_price, web.lines[0].price_rule) == (450, "Price list “Web”")
    assert phone.lines[0].price_rule == "Catalog price"


def test_promotion_shape_is_checked_before_it_reaches_the_engine(admin, sofa):
    with pytest.raises(ValidationError) as exc:
        pricelists.create_promotion(actor=admin, name="2x1", kind="buy_x_get_y")
    assert set(exc.value.field_errors) == {"buy_quantity", "get_quantity"}
    with pytest.raises(ValidationError) as exc:
        pricelists.create_promotion(actor=admin, name="X", kind="amount", value=0, code="a b")
    assert set(exc.value.field_errors) == {"value", "code"}
    assert not Promotion.objects.exists()
    promo = pricelists.create_promotion(
        actor=admin, name="Ten off", kind="amount", value="10", code="ten", product_ids=[sofa.pk]
    )
    result = price_cart(lines=[CartLine(sofa.pk, 1)], coupon_codes=["TEN"])
    assert [(p.promotion_id, p.applied, p.amount) for p in result.promotions] == [
        (promo.pk, True, 10)
    ]
    assert Product.objects.count() == 1
