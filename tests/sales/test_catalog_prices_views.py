"""Price list, promotion and price check pages at /sales/catalog/: forms with their
validation, quantity breaks (ambiguous ones refused), promotion states and usage, coupon
code batches, and the price check explaining the pricing engine's answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.customers.models import Tag
from vinculo.sales import catalog, pricelists, promotions
from vinculo.sales.models import (
    Order,
    PriceList,
    PriceListItem,
    Promotion,
    PromotionCode,
    PromotionRedemption,
)
from vinculo.sales.pricing import CartLine, price_cart

BASE = "/sales/catalog/"
CHECK = f"{BASE}price-check/"


@pytest.fixture
def products(admin):
    mug = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="10")
    laptop = catalog.create_product(
        actor=admin, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    catalog.add_option(actor=admin, product_id=laptop.pk, code="HDD", name="Hard disk")
    catalog.add_option(
        actor=admin,
        product_id=laptop.pk,
        code="SSD",
        name="Solid-state disk",
        price_delta="80",
        excludes=["HDD"],
    )
    return {"mug": mug, "laptop": laptop}


def list_form(**overrides):
    data = {"name": "Wholesale", "currency": "EUR", "priority": "1", "active": "on"}
    data.update(overrides)
    return data


# --- price lists ------------------------------------------------------------------------------


def test_create_price_list_then_add_breaks(client_for, manager, products):
    Tag.objects.create(name="wholesale")
    client = client_for(manager)
    resp = client.post(
        f"{BASE}price-lists/new/",
        list_form(customer_tag="wholesale", channel="phone", valid_from="2026-01-01T00:00"),
    )
    price_list = PriceList.objects.get(name="Wholesale")
    assert resp.status_code == 302 and resp.url == f"{BASE}price-lists/{price_list.pk}/"
    assert price_list.customer_tag.name == "wholesale" and price_list.channel == "phone"
    assert timezone.localtime(price_list.valid_from).date() == dt.date(2026, 1, 1)
    items = f"{BASE}price-lists/{price_list.pk}/items/new/"
    assert client.post(items, {"sku": "mug", "min_quantity": 1, "price": "9"}).status_code == 302
    assert client.post(items, {"sku": "MUG", "min_quantity": 10, "price": "8"}).status_code == 302
    html = client.get(f"{BASE}price-lists/{price_list.pk}/").content.decode()
    assert html.index("9.00 EUR") < html.index("8.00 EUR")  # breaks in ascending quantity
    assert 'rowspan="2"' in html  # one product, two breaks


def test_price_list_form_errors_name_their_fields(client_for, manager):
    resp = client_for(manager).post(
        f"{BASE}price-lists/new/",
        list_form(
            currency="euro",
            customer_tag="",
            valid_from="2026-02-01T00:00",
            valid_to="2026-01-01T00:00",
        ),
    )
    assert resp.status_code == 422
    errors = resp.context["form"].errors
    assert errors["currency"] == ["Use a three-letter currency code (EUR, USD, MXN...)."]
    assert errors["valid_to"] == ["The end must be after the start."]
    assert not PriceList.objects.exists()


def test_overlapping_quantity_break_is_refused_with_a_clear_message(
    client_for, manager, admin, products
):
    price_list = pricelists.create_price_list(
        actor=admin,
        name="Retail",
        items=[{"product_id": products["mug"].pk, "min_quantity": 10, "price": "8"}],
    )
    client = client_for(manager)
    resp = client.post(
        f"{BASE}price-lists/{price_list.pk}/items/new/",
        {"sku": "MUG", "min_quantity": 10, "price": "7"},
    )
    assert resp.status_code == 422
    assert resp.context["form"].errors["min_quantity"] == [
        "“MUG” already has a price from 10 units in this list; change that price instead."
    ]
    assert list(price_list.items.values_list("price", flat=True)) == [Decimal("8.00")]
    # Editing the same break keeps it; moving another break onto it is refused too.
    other = PriceListItem.objects.create(
        price_list=price_list, product=products["mug"], min_quantity=20, price="6"
    )
    edit = f"{BASE}price-lists/{price_list.pk}/items/{other.pk}/edit/"
    resp = client.post(edit, {"sku": "MUG", "min_quantity": 10, "price": "6"})
    assert resp.status_code == 422
    assert client.post(edit, {"sku": "MUG", "min_quantity": 20, "price": "5.5"}).status_code == 302
    other.refresh_from_db()
    assert other.price == Decimal("5.50")


def test_price_item_unknown_sku_and_bad_price(client_for, manager, admin, products):
    price_list = pricelists.create_price_list(actor=admin, name="Retail")
    resp = client_for(manager).post(
        f"{BASE}price-lists/{price_list.pk}/items/new/",
        {"sku": "NOPE", "min_quantity": 0, "price": "-1"},
    )
    assert resp.status_code == 422
    errors = resp.context["form"].errors
    assert errors["sku"] == ["There is no product with SKU NOPE."]
    assert not price_list.items.exists()


def test_remove_price_item_and_audit(client_for, manager, admin, products):
    price_list = pricelists.create_price_list(
        actor=admin,
        name="Retail",
        items=[{"product_id": products["mug"].pk, "min_quantity": 1, "price": "8"}],
    )
    item = price_list.items.get()
    resp = client_for(manager).post(f"{BASE}price-lists/{price_list.pk}/items/{item.pk}/remove/")
    assert resp.status_code == 302
    assert not price_list.items.exists()
    assert AuditEntry.objects.filter(object_id=price_list.pk, action="update").exists()


def test_rep_reads_price_lists_but_cannot_change_them(client_for, rep, admin, products):
    price_list = pricelists.create_price_list(
        actor=admin,
        name="Retail",
        items=[{"product_id": products["mug"].pk, "min_quantity": 1, "price": "8"}],
    )
    item = price_list.items.get()
    client = client_for(rep)
    html = client.get(f"{BASE}price-lists/{price_list.pk}/").content.decode()
    assert "8.00 EUR" in html and "Add a price" not in html
    for url in (
        f"{BASE}price-lists/new/",
        f"{BASE}price-lists/{price_list.pk}/edit/",
        f"{BASE}price-lists/{price_list.pk}/items/new/",
    ):
        assert (
            client.post(
                url, {"name": "X", "sku": "MUG", "min_quantity": 2, "price": "1"}
            ).status_code
            == 403
        )
    assert (
        client.post(f"{BASE}price-lists/{price_list.pk}/items/{item.pk}/remove/").status_code == 403
    )
    assert price_list.items.count() == 1 and PriceList.objects.count() == 1


def test_price_list_page_query_count_does_not_grow(
    client_for, rep, admin, products, django_assert_max_num_queries
):
    client = client_for(rep)
    tag = Tag.objects.create(name="vip")
    for i in range(3):
        pricelists.create_price_list(actor=admin, name=f"L{i}", customer_tag=tag.name)
    with django_assert_max_num_queries(7):
        assert client.get(f"{BASE}price-lists/").status_code == 200
    for i in range(3, 30):
        pricelists.create_price_list(
            actor=admin,
            name=f"L{i}",
            customer_tag=tag.name,
            items=[{"product_id": products["mug"].pk, "min_quantity": 1, "price": "8"}],
        )
    with django_assert_max_num_queries(7):
        resp = client.get(f"{BASE}price-lists/")
    assert len(resp.context["page"].object_list) == 25


# --- promotions -------------------------------------------------------------------------------


def promo_form(**overrides):
    data = {
        "name": "Spring",
        "kind": "percent",
        "value": "10",
        "stackable": "on",
        "active": "on",
        "priority": "0",
    }
    data.update(overrides)
    return data


def test_create_promotion_with_conditions(client_for, manager, products):
    client = client_for(manager)
    resp = client.post(
        f"{BASE}promotions/new/",
        promo_form(
            code="spring10",
            skus="mug, LAPTOP",
            min_amount="20",
            max_uses_total="100",
            max_uses_per_customer="1",
            valid_to="2030-01-01T00:00",
        ),
    )
    promo = Promotion.objects.get()
    assert resp.status_code == 302 and resp.url == f"{BASE}promotions/{promo.pk}/"
    assert promo.code == "SPRING10" and promo.min_amount == Decimal("20.00")
    assert sorted(p.sku for p in promo.products.all()) == ["LAPTOP", "MUG"]
    assert promo.max_uses_per_customer == 1
    html = client.get(resp.url).content.decode()
    assert "10 % off" in html and "Minimum 20.00 of qualifying products." in html


def test_promotion_errors_name_their_fields(client_for, manager, products):
    resp = client_for(manager).post(
        f"{BASE}promotions/new/",
        promo_form(value="150", skus="MUG, NOPE", code="x"),
    )
    assert resp.status_code == 422
    errors = resp.context["form"].errors
    assert errors["skus"] == ["No product has SKU NOPE."]
    assert not Promotion.objects.exists()
    resp = client_for(manager).post(
        f"{BASE}promotions/new/", promo_form(value="150", code="x", max_uses_total="0")
    )
    errors = resp.context["form"].errors
    assert errors["value"] == ["The percentage must be between 0 and 100."]
    assert "code" in errors and "max_uses_total" in errors
    assert not Promotion.objects.exists()


def test_edit_promotion(client_for, manager, admin, products):
    promo = pricelists.create_promotion(actor=admin, name="Spring", kind="percent", value="10")
    client = client_for(manager)
    resp = client.post(
        f"{BASE}promotions/{promo.pk}/edit/",
        promo_form(name="Spring sale", kind="amount", value="5", stackable=""),
    )
    assert resp.status_code == 302
    promo.refresh_from_db()
    assert (promo.name, promo.kind, promo.value, promo.stackable) == (
        "Spring sale",
        "amount",
        Decimal("5.00"),
        False,
    )
    assert AuditEntry.objects.filter(object_id=promo.pk, action="update").exists()


def test_promotion_list_by_state_with_usage(client_for, rep, admin, products):
    now = timezone.now()
    day = dt.timedelta(days=1)
    live = pricelists.create_promotion(actor=admin, name="Live", kind="percent", value="5")
    pricelists.create_promotion(
        actor=admin, name="Later", kind="percent", value="5", valid_from=now + day
    )
    pricelists.create_promotion(
        actor=admin,
        name="Gone",
        kind="percent",
        value="5",
        valid_from=now - 3 * day,
        valid_to=now - day,
    )
    customer = CustomerFactory()
    for n in range(2):
        order = Order.objects.create(number=f"O{n}", customer=customer, channel="web")
        PromotionRedemption.objects.create(promotion=live, customer=customer, order=order)
    client = client_for(rep)

    def names(state):
        resp = client.get(f"{BASE}promotions/", {"state": state})
        return [p.name for p, _st in resp.context["rows"]]

    assert names("active") == ["Live"]
    assert names("scheduled") == ["Later"]
    assert names("expired") == ["Gone"]
    resp = client.get(f"{BASE}promotions/")
    assert {p.name: p.uses for p, _st in resp.context["rows"]} == {"Live": 2, "Later": 0, "Gone": 0}
    html = resp.content.decode()
    assert "Always" in html and "From " in html  # validity in words, not "… – …"


def test_promotion_list_query_count_does_not_grow(
    client_for, rep, admin, django_assert_max_num_queries
):
    client = client_for(rep)
    pricelists.create_promotion(actor=admin, name="P0", kind="percent", value="5")
    with django_assert_max_num_queries(7):
        assert client.get(f"{BASE}promotions/").status_code == 200
    for i in range(1, 30):
        promo = pricelists.create_promotion(actor=admin, name=f"P{i}", kind="percent", value="5")
        PromotionCode.objects.create(promotion=promo, code=f"CODE{i}")
    with django_assert_max_num_queries(7):
        resp = client.get(f"{BASE}promotions/")
    assert len(resp.context["rows"]) == 25


def test_generate_unique_coupon_codes(client_for, manager, admin):
    promo = pricelists.create_promotion(actor=admin, name="Mailing", kind="amount", value="5")
    client = client_for(manager)
    url = f"{BASE}promotions/{promo.pk}/codes/"
    assert client.post(url, {"count": 200, "prefix": "spr-", "length": 6}).status_code == 302
    assert client.post(url, {"count": 200, "prefix": "SPR-", "length": 6}).status_code == 302
    codes = list(PromotionCode.objects.filter(promotion=promo).values_list("code", flat=True))
    assert len(codes) == 400 and len(set(codes)) == 400
    assert all(c.startswith("SPR-") and len(c) == 10 for c in codes)
    html = client.get(f"{BASE}promotions/{promo.pk}/").content.decode()
    assert "400 codes unlock this promotion" in html
    csv_body = client.get(f"{BASE}promotions/{promo.pk}/codes.csv").content.decode()
    assert len(csv_body.strip().splitlines()) == 401
    # A bad batch names its field and adds nothing.
    resp = client.post(url, {"count": 100000, "prefix": "", "length": 8})
    assert resp.status_code == 422
    assert "count" in resp.context["batch_form"].errors
    assert PromotionCode.objects.count() == 400


def test_generated_code_unlocks_the_promotion_once(admin, products):
    promo = pricelists.create_promotion(actor=admin, name="Mailing", kind="amount", value="5")
    a, b = promotions.generate_coupon_codes(actor=admin, promotion_id=promo.pk, count=2)
    cart = [CartLine(products["mug"].pk, 2)]
    # Without a code the promotion is not automatic.
    assert price_cart(lines=cart).discount_total == Decimal("0.00")
    result = price_cart(lines=cart, coupon_codes=[a.code.lower(), b.code])
    assert result.discount_total == Decimal("5.00")
    refused = [p for p in result.promotions if not p.applied]
    assert [p.reason for p in refused] == ["Another code of this promotion is already in the cart."]


def test_rep_cannot_generate_codes(client_for, rep, admin):
    promo = pricelists.create_promotion(actor=admin, name="Mailing", kind="amount", value="5")
    client = client_for(rep)
    assert (
        client.post(f"{BASE}promotions/{promo.pk}/codes/", {"count": 5, "length": 8}).status_code
        == 403
    )
    assert client.get(f"{BASE}promotions/{promo.pk}/edit/").status_code == 403
    assert not PromotionCode.objects.exists()


# --- price check ------------------------------------------------------------------------------


def test_price_check_explains_each_line_and_promotion(client_for, rep, admin, products):
    pricelists.create_price_list(
        actor=admin,
        name="Bulk mugs",
        items=[{"product_id": products["mug"].pk, "min_quantity": 10, "price": "8"}],
    )
    pricelists.create_promotion(actor=admin, name="Ten off", kind="percent", value="10", code="TEN")
    pricelists.create_promotion(
        actor=admin, name="Big spenders", kind="amount", value="50", min_amount="5000"
    )
    resp = client_for(rep).post(
        CHECK,
        {
            "lines": "mug 12\nLAPTOP 1 ssd",
            "coupons": "ten, NOPE",
            "channel": "web",
            "currency": "EUR",
        },
    )
    assert resp.status_code == 200
    result = resp.context["result"]
    assert [(ln.sku, ln.unit_price) for ln in result.lines] == [
        ("MUG", Decimal("8.00")),
        ("LAPTOP", Decimal("1080.00")),
    ]
    html = resp.content.decode()
    assert "Price list “Bulk mugs” (from 10 units)" in html
    assert "Catalog price" in html
    assert "Applied: Ten off" in html
    assert "Not applied: Big spenders — Needs a minimum of 5000.00 EUR" in html
    assert "Unknown coupon code “NOPE”." in html
    # 96 + 1080 = 1176, -10 % = 1058.40, +21 % tax = 1280.66
    assert result.total == Decimal("1280.66")
    assert 'data-testid="price-total">1,280.66 EUR' in html


def test_price_check_refuses_excluded_options_with_the_rule(client_for, rep, products):
    resp = client_for(rep).post(
        CHECK, {"lines": "MUG 1\nLAPTOP 1 SSD,HDD", "channel": "web", "currency": "EUR"}
    )
    assert resp.status_code == 200
    assert resp.context["result"] is None
    assert resp.context["errors"] == [
        "Line 2: “Hard disk” cannot be combined with “Solid-state disk”."
    ]
    assert "“Hard disk” cannot be combined with “Solid-state disk”." in resp.content.decode()


def test_price_check_htmx_returns_only_the_result(client_for, rep, products):
    resp = client_for(rep).post(
        CHECK,
        {"lines": "MUG 3\nGHOST 1\nMUG many", "channel": "web", "currency": "EUR"},
        HTTP_HX_REQUEST="true",
    )
    html = resp.content.decode()
    assert "<html" not in html and 'id="result-title"' in html
    assert "Line 2: there is no product with SKU GHOST." in html
    assert "Line 3: the quantity must be a whole number." in html


def test_price_check_with_a_customer_uses_their_segment_and_hides_others(
    client_for, rep, rep_b, admin, products
):
    tag = Tag.objects.create(name="vip")
    pricelists.create_price_list(
        actor=admin,
        name="VIP",
        customer_tag="vip",
        items=[{"product_id": products["mug"].pk, "min_quantity": 1, "price": "7"}],
    )
    mine = CustomerFactory(owner=rep, team=rep.team)
    mine.tags.add(tag)
    client = client_for(rep)
    data = {"lines": "MUG 1", "channel": "web", "currency": "EUR"}
    assert client.post(CHECK, data).context["result"].lines[0].unit_price == Decimal("10.00")
    resp = client.post(CHECK, {**data, "customer": mine.pk})
    assert resp.context["result"].lines[0].unit_price == Decimal("7.00")
    hidden = CustomerFactory(owner=rep_b, team=rep_b.team)
    resp = client.post(CHECK, {**data, "customer": hidden.pk})
    assert resp.context["result"] is None
    assert "No customer you can see has this number." in resp.content.decode()


def test_price_check_link_from_a_product_prices_it(client_for, rep, products):
    # The product page links here with the SKU only; channel and currency default.
    resp = client_for(rep).get(CHECK, {"lines": "MUG 1"})
    assert resp.context["result"].total == Decimal("12.10")


def test_absurd_break_and_price_are_refused_not_a_crash(client_for, manager, admin, products):
    price_list = pricelists.create_price_list(actor=admin, name="Retail")
    resp = client_for(manager).post(
        f"{BASE}price-lists/{price_list.pk}/items/new/",
        {"sku": "MUG", "min_quantity": 10**12, "price": "1e13"},
    )
    assert resp.status_code == 422
    assert set(resp.context["form"].errors) == {"min_quantity"}
    resp = client_for(manager).post(
        f"{BASE}price-lists/{price_list.pk}/items/new/",
        {"sku": "MUG", "min_quantity": 5, "price": "1e13"},
    )
    assert resp.context["form"].errors["price"] == ["This amount is too large."]
    assert not price_list.items.exists()


def test_price_list_detail_query_count_does_not_grow_with_items(
    client_for, rep, admin, django_assert_max_num_queries
):
    mugs = [
        catalog.create_product(actor=admin, sku=f"MUG{i}", name=f"Mug {i}", price="10")
        for i in range(12)
    ]
    price_list = pricelists.create_price_list(
        actor=admin,
        name="Retail",
        items=[{"product_id": mugs[0].pk, "min_quantity": 1, "price": "9"}],
    )
    client = client_for(rep)
    url = f"{BASE}price-lists/{price_list.pk}/"
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200
    for mug in mugs[1:]:
        for qty in (1, 10, 50):
            PriceListItem.objects.create(
                price_list=price_list, product=mug, min_quantity=qty, price="8"
            )
    with django_assert_max_num_queries(6):
        resp = client.get(url)
    assert len(resp.context["groups"]) == 12
