"""Table-driven tests of the one pricing engine: price rules, configuration rules, every
promotion kind, refusals with their reasons, stacking and rounding."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Tag
from vinculo.sales import catalog
from vinculo.sales.models import (
    Order,
    PriceList,
    PriceListItem,
    Product,
    Promotion,
    PromotionRedemption,
)
from vinculo.sales.pricing import CartLine, price_cart


@pytest.fixture
def cat(db, admin):
    now = timezone.now()
    a = admin
    electronics = catalog.create_category(actor=a, name="Electronics")
    phones = catalog.create_category(actor=a, name="Phones", parent_id=electronics.pk)
    books = catalog.create_category(actor=a, name="Books")
    phone = catalog.create_product(
        actor=a, sku="phone", name="Phone", price="100", category_id=phones.pk
    )
    case = catalog.create_product(
        actor=a, sku="CASE", name="Case", price="10.00", category_id=electronics.pk
    )
    book = catalog.create_product(
        actor=a, sku="BOOK", name="Novel", price="9.99", tax_rate="4", category_id=books.pk
    )
    old = catalog.create_product(actor=a, sku="OLD", name="Old phone", price="50")
    Product.objects.filter(pk=old.pk).update(active=False)
    shirt = catalog.create_product(actor=a, sku="SHIRT", name="Shirt", price="20")
    variants = catalog.generate_variants(
        actor=a,
        template_id=shirt.pk,
        attributes={"size": ["M", "XL"]},
        price_deltas={"size": {"XL": 2}},
    )
    laptop = catalog.create_product(
        actor=a, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    catalog.add_option(
        actor=a, product_id=laptop.pk, code="8GB", name="8 GB", group="Memory", required_group=True
    )
    catalog.add_option(
        actor=a,
        product_id=laptop.pk,
        code="16GB",
        name="16 GB",
        group="Memory",
        price_delta="150",
        required_group=True,
    )
    catalog.add_option(
        actor=a,
        product_id=laptop.pk,
        code="RTX",
        name="RTX 4060",
        group="Graphics",
        price_delta="300",
        requires=["16GB"],
    )
    catalog.add_option(
        actor=a,
        product_id=laptop.pk,
        code="ECO",
        name="Eco battery",
        group="Battery",
        excludes=["RTX"],
    )
    wholesale = Tag.objects.create(name="wholesale")
    vip = Tag.objects.create(name="vip")
    wl = PriceList.objects.create(name="Wholesale", customer_tag=wholesale, priority=10)
    PriceListItem.objects.create(price_list=wl, product=phone, min_quantity=1, price="90")
    PriceListItem.objects.create(price_list=wl, product=phone, min_quantity=10, price="80")
    web = PriceList.objects.create(name="Web prices", channel="web", priority=5)
    PriceListItem.objects.create(price_list=web, product=case, price="9.50")
    later = PriceList.objects.create(
        name="Next year", valid_from=now + dt.timedelta(days=30), priority=99
    )
    PriceListItem.objects.create(price_list=later, product=phone, price="1")
    usd = PriceList.objects.create(name="US", currency="USD")
    PriceListItem.objects.create(price_list=usd, product=phone, price="110")

    def promo(**kw):
        products = kw.pop("products", [])
        p = Promotion.objects.create(**kw)
        p.products.set(products)
        return p

    promo(name="Summer 15 off", kind="amount", value="15", min_amount="200")
    promo(name="3 for 2 cases", kind="buy_x_get_y", buy_quantity=2, get_quantity=1, products=[case])
    promo(name="VIP 5%", kind="percent", value="5", customer_tag=vip)
    promo(name="Welcome", code="WELCOME10", kind="percent", value="10", first_order_only=True)
    promo(name="Free shipping", code="FREESHIP", kind="free_shipping")
    promo(
        name="Old coupon",
        code="OLD",
        kind="percent",
        value="50",
        valid_to=now - dt.timedelta(days=1),
    )
    promo(
        name="Spring",
        code="SPRING",
        kind="percent",
        value="50",
        valid_from=now + dt.timedelta(days=10),
    )
    limited = promo(name="Only one", code="LIMIT1", kind="amount", value="5", max_uses_total=1)
    once = promo(name="Once each", code="ONCE", kind="amount", value="5", max_uses_per_customer=1)
    promo(
        name="Exclusive 20", code="EXCL", kind="percent", value="20", stackable=False, priority=100
    )
    promo(name="Phones 10%", code="PHONES", kind="percent", value="10")
    Promotion.objects.get(code="PHONES").categories.set([phones])

    returning = CustomerFactory()
    past = Order.objects.create(
        number="O-1", customer=returning, channel="web", status="delivered", ordered_at=now
    )
    PromotionRedemption.objects.create(promotion=limited, customer=returning, order=past)
    PromotionRedemption.objects.create(promotion=once, customer=returning, order=past)
    wholesale_customer = CustomerFactory()
    wholesale_customer.tags.add(wholesale)
    vip_customer = CustomerFactory()
    vip_customer.tags.add(vip)
    return SimpleNamespace(
        phone=phone,
        case=case,
        book=book,
        old=old,
        shirt=shirt,
        shirt_m=next(v for v in variants if v.variant_values["size"] == "M"),
        shirt_xl=next(v for v in variants if v.variant_values["size"] == "XL"),
        laptop=laptop,
        new=CustomerFactory(),
        returning=returning,
        wholesale=wholesale_customer,
        vip=vip_customer,
    )


def outcome(result, name):
    return next(p for p in result.promotions if p.name == name)


# (id, lines as (product attr, qty, options), kwargs, expected subtotal, discount, tax, total,
#  expected unit price of line 0, its rule prefix)
CASES = [
    (
        "catalog price",
        [("phone", 1, ())],
        {},
        "100.00",
        "0.00",
        "21.00",
        "121.00",
        "100.00",
        "Catalog price",
    ),
    (
        "web channel list + 3 for 2",
        [("case", 3, ())],
        {},
        "28.50",
        "9.50",
        "3.99",
        "22.99",
        "9.50",
        "Price list “Web prices”",
    ),
    (
        "phone channel: catalog + 3 for 2",
        [("case", 3, ())],
        {"channel": "phone"},
        "30.00",
        "10.00",
        "4.20",
        "24.20",
        "10.00",
        "Catalog price",
    ),
    (
        "wholesale 9 units",
        [("phone", 9, ())],
        {"customer": "wholesale"},
        "810.00",
        "15.00",
        "166.95",
        "961.95",
        "90.00",
        "Price list “Wholesale”",
    ),
    (
        "wholesale break at 10",
        [("phone", 10, ())],
        {"customer": "wholesale"},
        "800.00",
        "15.00",
        "164.85",
        "949.85",
        "80.00",
        "Price list “Wholesale” (from 10 units)",
    ),
    (
        "amount then welcome percent, half-up tax",
        [("phone", 2, ())],
        {"customer": "new", "coupons": ["welcome10"]},
        "200.00",
        "33.50",
        "34.97",
        "201.47",
        "100.00",
        "Catalog price",
    ),
    (
        "exclusive coupon blocks the automatic one",
        [("phone", 2, ())],
        {"coupons": ["EXCL"]},
        "200.00",
        "40.00",
        "33.60",
        "193.60",
        "100.00",
        "Catalog price",
    ),
    (
        "free shipping",
        [("phone", 1, ())],
        {"coupons": ["FREESHIP"], "shipping": "4.95"},
        "100.00",
        "0.00",
        "21.00",
        "121.00",
        "100.00",
        "Catalog price",
    ),
    (
        "shipping charged",
        [("phone", 1, ())],
        {"shipping": "4.95"},
        "100.00",
        "0.00",
        "21.00",
        "125.95",
        "100.00",
        "Catalog price",
    ),
    (
        "reduced tax rate rounding",
        [("book", 3, ())],
        {},
        "29.97",
        "0.00",
        "1.20",
        "31.17",
        "9.99",
        "Catalog price",
    ),
    (
        "fixed amount spread over lines adds up",
        [("phone", 1, ()), ("book", 11, ())],
        {},
        "209.89",
        "15.00",
        "23.58",
        "218.47",
        "100.00",
        "Catalog price",
    ),
    (
        "variant with price delta",
        [("shirt_xl", 2, ())],
        {},
        "44.00",
        "0.00",
        "9.24",
        "53.24",
        "22.00",
        "Catalog price",
    ),
    (
        "configured laptop",
        [("laptop", 1, ("16GB", "RTX"))],
        {},
        "1450.00",
        "15.00",
        "301.35",
        "1736.35",
        "1450.00",
        "Catalog price",
    ),
    (
        "category promotion includes sub-categories",
        [("phone", 1, ()), ("case", 1, ())],
        {"coupons": ["PHONES"], "channel": "store"},
        "110.00",
        "10.00",
        "21.00",
        "121.00",
        "100.00",
        "Catalog price",
    ),
    (
        "segment-only automatic promotion",
        [("phone", 1, ())],
        {"customer": "vip"},
        "100.00",
        "5.00",
        "19.95",
        "114.95",
        "100.00",
        "Catalog price",
    ),
    (
        "another currency uses its price list",
        [("phone", 1, ())],
        {"currency": "usd"},
        "110.00",
        "0.00",
        "23.10",
        "133.10",
        "110.00",
        "Price list “US”",
    ),
]


@pytest.mark.parametrize(
    "lines,kw,subtotal,discount,tax,total,unit,rule",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_price_cart(cat, lines, kw, subtotal, discount, tax, total, unit, rule):
    kw = dict(kw)
    customer = kw.pop("customer", None)
    coupons = kw.pop("coupons", [])
    result = price_cart(
        lines=[CartLine(getattr(cat, p).pk, q, opts) for p, q, opts in lines],
        customer_id=getattr(cat, customer).pk if customer else None,
        coupon_codes=coupons,
        **kw,
    )
    assert (
        str(result.subtotal),
        str(result.discount_total),
        str(result.tax_total),
        str(result.total),
    ) == (subtotal, discount, tax, total)
    assert str(result.lines[0].unit_price) == unit
    assert result.lines[0].price_rule == rule
    # Every line's parts add up, and line discounts add up to the promotions applied.
    assert sum(p.amount for p in result.applied) == result.discount_total + result.shipping_discount


REFUSALS = [
    ("unknown coupon", {"coupons": ["NOPE"]}, "NOPE", "Unknown coupon code “NOPE”."),
    ("expired", {"coupons": ["OLD"]}, "Old coupon", "Expired on"),
    ("not yet valid", {"coupons": ["SPRING"]}, "Spring", "Not valid until"),
    ("used up", {"coupons": ["LIMIT1"]}, "Only one", "This promotion has been used up."),
    (
        "per customer limit",
        {"coupons": ["ONCE"], "customer": "returning"},
        "Once each",
        "This customer has already used it the maximum number of times.",
    ),
    (
        "per customer limit needs a customer",
        {"coupons": ["ONCE"]},
        "Once each",
        "Only for a known customer.",
    ),
    (
        "first order only",
        {"coupons": ["WELCOME10"], "customer": "returning"},
        "Welcome",
        "Only on a customer's first order.",
    ),
    ("segment", {}, "VIP 5%", "Only for customers in the segment “vip”."),
    ("minimum amount", {}, "Summer 15 off", "Needs a minimum of"),
    ("no qualifying product", {}, "3 for 2 cases", "No product in the cart qualifies."),
    (
        "not combinable",
        {"coupons": ["EXCL"], "qty": 2},
        "Summer 15 off",
        "Cannot be combined with “Exclusive 20”.",
    ),
]


@pytest.mark.parametrize("kw,name,reason", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_promotion_refused_with_reason(cat, kw, name, reason):
    kw = dict(kw)
    customer = kw.pop("customer", None)
    result = price_cart(
        lines=[CartLine(cat.phone.pk, kw.pop("qty", 1))],
        customer_id=getattr(cat, customer).pk if customer else None,
        coupon_codes=kw.pop("coupons", []),
    )
    refused = outcome(result, name)
    assert not refused.applied
    assert refused.reason.startswith(reason)
    assert refused.amount == 0


def test_buy_x_get_y_needs_a_full_group(cat):
    result = price_cart(lines=[CartLine(cat.case.pk, 2)])
    promo = outcome(result, "3 for 2 cases")
    assert not promo.applied and promo.reason == "Buy 3 to get 1 free."
    assert result.discount_total == 0


LINE_ERRORS = [
    ("template is not sellable", [("shirt", 1, ())], "lines[0].product_id", "has variants"),
    ("inactive", [("old", 1, ())], "lines[0].product_id", "is no longer sold"),
    ("zero quantity", [("phone", 0, ())], "lines[0].quantity", "Quantity must be"),
    (
        "requires",
        [("laptop", 1, ("8GB", "RTX"))],
        "lines[0].options",
        "“RTX 4060” requires “16 GB”.",
    ),
    ("required group", [("laptop", 1, ())], "lines[0].options", "Choose a Memory."),
    (
        "exclusive group",
        [("laptop", 1, ("8GB", "16GB"))],
        "lines[0].options",
        "Choose only one Memory.",
    ),
    (
        "excludes",
        [("laptop", 1, ("16GB", "RTX", "ECO"))],
        "lines[0].options",
        "cannot be combined with",
    ),
    ("options on a simple product", [("phone", 1, ("RTX",))], "lines[0].options", "has no options"),
    (
        "second line named",
        [("phone", 1, ()), ("phone", -2, ())],
        "lines[1].quantity",
        "Quantity must be",
    ),
]


@pytest.mark.parametrize(
    "lines,field,message", [e[1:] for e in LINE_ERRORS], ids=[e[0] for e in LINE_ERRORS]
)
def test_invalid_lines_are_named(cat, lines, field, message):
    with pytest.raises(ValidationError) as exc:
        price_cart(lines=[CartLine(getattr(cat, p).pk, q, o) for p, q, o in lines])
    assert field in exc.value.field_errors
    assert any(message in m for m in exc.value.field_errors[field])


def test_unknown_product_and_missing_currency_price(cat):
    with pytest.raises(ValidationError) as exc:
        price_cart(lines=[CartLine(999_999, 1), CartLine(cat.book.pk, 1)], currency="USD")
    assert "lines[0].product_id" in exc.value.field_errors
    assert exc.value.field_errors["lines[1].product_id"] == ["“Novel” has no price in USD."]


def test_pricing_writes_nothing(cat):
    before = PromotionRedemption.objects.count()
    price_cart(
        lines=[CartLine(cat.phone.pk, 2)], coupon_codes=["WELCOME10"], customer_id=cat.new.pk
    )
    assert PromotionRedemption.objects.count() == before


def test_as_dict_is_json_ready(cat):
    import json

    result = price_cart(lines=[CartLine(cat.phone.pk, 1)], coupon_codes=["NOPE"])
    data = json.loads(json.dumps(result.as_dict()))
    assert data["total"] == "121.00"
    assert data["lines"][0]["price_rule"] == "Catalog price"
    assert {p["name"]: p["applied"] for p in data["promotions"]}["NOPE"] is False


def test_variants_generation_is_idempotent(cat, admin):
    again = catalog.generate_variants(
        actor=admin, template_id=cat.shirt.pk, attributes={"size": ["M", "XL", "S"]}
    )
    assert [v.sku for v in again] == ["SHIRT-S"]
    assert cat.shirt.variants.count() == 3
    assert D(cat.shirt_xl.price) == D("22.00")
