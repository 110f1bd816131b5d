"""``POST /api/v1/pricing/quote``: the pricing engine's answer, line by line and promotion by
promotion, checked against prices worked out by hand."""

from __future__ import annotations

import pytest

from tests.api.sales_data import customer_of, make_catalog
from vinculo.customers.models import Tag
from vinculo.sales.models import Promotion, PromotionRedemption


@pytest.fixture
def products(admin):
    return make_catalog(admin)


@pytest.fixture
def coupons(db):
    vip = Tag.objects.create(name="VIP")
    Promotion.objects.create(name="Bienvenida", code="HOLA", kind="percent", value="10")
    Promotion.objects.create(
        name="Solo VIP", code="VIP20", kind="percent", value="20", customer_tag=vip
    )


def test_quote_prices_each_line_by_its_rule_and_explains_promotions(
    api_for, rep, products, coupons
):
    customer = customer_of(rep)
    response = api_for(rep).post(
        "pricing/quote",
        {
            "customer_id": customer.pk,
            "currency": "EUR",
            "channel": "web",
            "lines": [
                {"sku": "sofa", "quantity": 5},
                {"product_id": products["lamp"].pk, "quantity": 2},
            ],
            "coupon_codes": ["hola", "VIP20", "NOPE"],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    sofa, lamp = body["lines"]
    # 5 × 450.00 from the price list's break at 5 units; the lamp at its catalog price.
    assert (sofa["sku"], sofa["unit_price"], sofa["subtotal"]) == ("SOFA", "450.00", "2250.00")
    assert sofa["price_rule"] == "Price list “Volume” (from 5 units)"
    assert (lamp["unit_price"], lamp["subtotal"], lamp["price_rule"]) == (
        "40.00",
        "80.00",
        "Catalog price",
    )
    # 10 % off each line: 225.00 and 8.00; tax 21 % on what is left: 425.25 and 15.12.
    assert (sofa["discount"], sofa["tax"], sofa["total"]) == ("225.00", "425.25", "2450.25")
    assert (lamp["discount"], lamp["tax"], lamp["total"]) == ("8.00", "15.12", "87.12")
    hola = Promotion.objects.get(code="HOLA")
    assert sofa["promotions"] == [
        {"promotion_id": hola.pk, "name": "Bienvenida", "amount": "225.00"}
    ]
    outcomes = {p["code"]: p for p in body["promotions"]}
    assert outcomes["HOLA"]["applied"] is True and outcomes["HOLA"]["amount"] == "233.00"
    assert outcomes["VIP20"]["applied"] is False
    assert outcomes["VIP20"]["reason"] == "Only for customers in the segment “VIP”."
    assert outcomes["NOPE"]["applied"] is False
    assert outcomes["NOPE"]["reason"] == "Unknown coupon code “NOPE”."
    assert (body["subtotal"], body["discount_total"], body["tax_total"], body["total"]) == (
        "2330.00",
        "233.00",
        "440.37",
        "2537.37",
    )
    # Pricing writes nothing: no redemption is recorded for a price check.
    assert not PromotionRedemption.objects.exists()


def test_quote_without_customer_uses_catalog_prices_below_the_break(api_for, rep, products):
    response = api_for(rep).post("pricing/quote", {"lines": [{"sku": "SOFA", "quantity": 2}]})
    assert response.status_code == 200
    body = response.json()
    assert body["lines"][0]["price_rule"] == "Catalog price"
    # 999.80 + 21 % tax (209.958 → 209.96)
    assert (body["subtotal"], body["tax_total"], body["total"]) == ("999.80", "209.96", "1209.76")


def test_segment_coupon_applies_to_a_customer_in_the_segment(api_for, rep, products, coupons):
    customer = customer_of(rep, tags=["VIP"])
    body = (
        api_for(rep)
        .post(
            "pricing/quote",
            {
                "customer_id": customer.pk,
                "lines": [{"sku": "LAMP", "quantity": 1}],
                "coupon_codes": ["VIP20"],
            },
        )
        .json()
    )
    assert body["promotions"] == [
        {
            "promotion_id": Promotion.objects.get(code="VIP20").pk,
            "name": "Solo VIP",
            "code": "VIP20",
            "applied": True,
            "amount": "8.00",
            "reason": "",
        }
    ]
    assert body["total"] == "38.72"  # (40 - 8) × 1.21


def test_unknown_sku_and_bad_quantity_are_named_by_line(api_for, rep, products):
    api = api_for(rep)
    response = api.post(
        "pricing/quote",
        {"lines": [{"sku": "SOFA", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"lines[1].sku": ["There is no product with SKU NOPE."]}
    response = api.post("pricing/quote", {"lines": [{"sku": "SOFA", "quantity": 0}]})
    assert response.status_code == 422
    assert "lines[0].quantity" in response.json()["errors"]
    response = api.post("pricing/quote", {"lines": [{"sku": "SOFA", "quantity": "many"}]})
    assert response.status_code == 422
    assert "lines.0.quantity" in response.json()["errors"]
    response = api.post("pricing/quote", {"lines": [], "channel": "fax"})
    assert response.status_code == 422
    assert "channel" in response.json()["errors"]


def test_quote_for_a_customer_you_cannot_see_is_404(api_for, rep, rep_b, products):
    hidden = customer_of(rep_b)
    response = api_for(rep).post(
        "pricing/quote", {"customer_id": hidden.pk, "lines": [{"sku": "SOFA"}]}
    )
    assert response.status_code == 404


def test_quote_needs_authentication(client, products):
    response = client.post(
        "/api/v1/pricing/quote", {"lines": [{"sku": "SOFA"}]}, content_type="application/json"
    )
    assert response.status_code == 401
