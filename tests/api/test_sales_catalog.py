"""The catalog over the API: products (variants, options, bundles), categories, price lists
and promotions. Everyone reads; only the ``catalog.manage`` capability writes."""

from __future__ import annotations

import pytest

from tests.api.sales_data import make_catalog
from vinculo.core.models import AuditEntry
from vinculo.sales.models import PriceList, Product, Promotion, PromotionCode


@pytest.fixture
def products(admin):
    return make_catalog(admin)


def test_rep_reads_the_catalog_but_cannot_change_it(api_for, rep, products):
    api = api_for(rep)
    assert api.get(f"products/{products['sofa'].pk}").json()["sku"] == "SOFA"
    response = api.post("products", {"sku": "CHAIR", "name": "Chair", "price": "80"})
    assert response.status_code == 403
    sofa = products["sofa"]
    response = api.patch(f"products/{sofa.pk}", {"version": sofa.version, "price": "1"})
    assert response.status_code == 403
    assert api.post("categories", {"name": "Garden"}).status_code == 403
    assert api.post("promotions", {"name": "X", "kind": "percent", "value": 5}).status_code == 403
    assert api.post("price-lists", {"name": "X"}).status_code == 403
    assert not Product.objects.filter(sku="CHAIR").exists()
    sofa.refresh_from_db()
    assert str(sofa.price) == "499.90"


def test_manager_creates_a_product_and_errors_name_the_field(api_for, manager, products):
    api = api_for(manager)
    response = api.post(
        "products",
        {
            "sku": "chair-1",
            "name": "Chair",
            "price": "80.00",
            "cost": "30",
            "category_id": products["furniture"].pk,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sku"], body["price"], body["category_path"]) == ("CHAIR-1", "80.00", "Furniture")
    response = api.post("products", {"sku": "SOFA", "name": "", "price": "-1", "currency": "euro"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["sku"] == ["Another product already has SKU “SOFA”."]
    assert set(errors) == {"sku", "name", "price", "currency"}
    response = api.post("products", {"sku": "X", "name": "X", "price": "free"})
    assert response.status_code == 422 and "price" in response.json()["errors"]
    assert Product.objects.count() == 3


def test_update_uses_the_version_and_is_audited(api_for, manager, products):
    sofa = products["sofa"]
    api = api_for(manager)
    response = api.patch(
        f"products/{sofa.pk}", {"version": sofa.version, "price": "459.00", "active": False}
    )
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["active"]) == ("459.00", False)
    stale = api.patch(f"products/{sofa.pk}", {"version": sofa.version, "price": "1.00"})
    assert stale.status_code == 409
    sofa.refresh_from_db()
    assert str(sofa.price) == "459.00"
    entry = AuditEntry.objects.get(object_type="sales.product", object_id=sofa.pk, action="update")
    assert entry.changes["price"] == ["499.90", "459.00"]
    bad = api.patch(f"products/{sofa.pk}", {"version": sofa.version, "sku": "LAMP"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"sku": ["Another product already has SKU “LAMP”."]}


def test_variants_options_and_bundle_items_show_on_the_product(api_for, manager, products):
    api = api_for(manager)
    shirt = api.post("products", {"sku": "SHIRT", "name": "Shirt", "price": "20"}).json()
    response = api.post(
        f"products/{shirt['id']}/variants",
        {"attributes": {"size": ["S", "L"]}, "price_deltas": {"size": {"L": "2.50"}}},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "template"
    assert body["attributes"] == [{"name": "size", "values": ["S", "L"]}]
    assert [(v["sku"], v["price"]) for v in body["variants"]] == [
        ("SHIRT-L", "22.50"),
        ("SHIRT-S", "20.00"),
    ]
    pc = api.post(
        "products", {"sku": "PC", "name": "PC", "price": "900", "kind": "configurable"}
    ).json()
    api.post(f"products/{pc['id']}/options", {"code": "ssd", "name": "SSD", "price_delta": "50"})
    response = api.post(
        f"products/{pc['id']}/options",
        {"code": "hdd", "name": "HDD", "excludes": ["SSD"], "group": "disk"},
    )
    assert response.status_code == 201
    options = {o["code"]: o for o in response.json()["options"]}
    assert options["HDD"]["excludes"] == ["SSD"] and options["SSD"]["price_delta"] == "50.00"
    bad = api.post(f"products/{pc['id']}/options", {"code": "x", "name": "X", "requires": ["Z"]})
    assert bad.status_code == 422 and bad.json()["errors"] == {
        "requires": ["Unknown option(s): Z."]
    }
    kit = api.post("products", {"sku": "KIT", "name": "Kit", "price": "500", "kind": "bundle"})
    response = api.put(
        f"products/{kit.json()['id']}/bundle-items",
        {
            "items": [
                {"component_id": products["sofa"].pk, "quantity": 1},
                {"component_id": products["lamp"].pk, "quantity": 2},
            ]
        },
    )
    assert response.status_code == 200
    assert [(i["sku"], i["quantity"]) for i in response.json()["bundle_items"]] == [
        ("SOFA", 1),
        ("LAMP", 2),
    ]


def test_product_list_filters_by_category_subtree_search_and_active(api_for, rep, products):
    Product.objects.filter(pk=products["lamp"].pk).update(active=False)
    api = api_for(rep)

    def skus(**params):
        return [r["sku"] for r in api.get("products", **params).json()["items"]]

    assert skus() == ["LAMP", "SOFA"]
    assert skus(category=products["furniture"].pk) == ["LAMP", "SOFA"]  # Lighting is inside
    assert skus(category=products["lighting"].pk) == ["LAMP"]
    assert skus(q="sof") == ["SOFA"]
    assert skus(active="true") == ["SOFA"]
    assert skus(sort="-sku") == ["SOFA", "LAMP"]
    response = api.get("products", category=999999)
    assert response.status_code == 422 and "category" in response.json()["errors"]
    assert api.get("products/999999").status_code == 404


def test_categories_nest_by_path(api_for, manager, products):
    api = api_for(manager)
    response = api.post("categories", {"name": "Lamps", "parent_id": products["lighting"].pk})
    assert response.status_code == 201
    assert response.json()["path"] == "Furniture/Lighting/Lamps"
    assert [c["path"] for c in api.get("categories").json()["items"]] == [
        "Furniture",
        "Furniture/Lighting",
        "Furniture/Lighting/Lamps",
    ]
    dup = api.post("categories", {"name": "Lamps", "parent_id": products["lighting"].pk})
    assert dup.status_code == 422 and "name" in dup.json()["errors"]


def test_price_list_with_breaks_and_an_ambiguous_break_refused(api_for, manager, products):
    from vinculo.customers.models import Tag

    Tag.objects.create(name="Wholesale")
    api = api_for(manager)
    sofa = products["sofa"].pk
    response = api.post(
        "price-lists",
        {
            "name": "Wholesale 2027",
            "customer_tag": "wholesale",
            "channel": "rep",
            "priority": 10,
            "valid_from": "2027-01-01T00:00:00Z",
            "items": [
                {"product_id": sofa, "price": "420.00"},
                {"product_id": sofa, "min_quantity": 10, "price": "400.00"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer_tag"] == "Wholesale" and body["channel"] == "rep"
    assert [(i["sku"], i["min_quantity"], i["price"]) for i in body["items"]] == [
        ("SOFA", 1, "420.00"),
        ("SOFA", 10, "400.00"),
    ]
    assert api.get(f"price-lists/{body['id']}").json() == body
    response = api.post(
        "price-lists",
        {
            "name": "Broken",
            "items": [
                {"product_id": sofa, "min_quantity": 5, "price": "1"},
                {"product_id": sofa, "min_quantity": 5, "price": "2"},
            ],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "items[1].min_quantity": ["“SOFA” already has a price from 5 units in this list."]
    }
    assert not PriceList.objects.filter(name="Broken").exists()


def test_promotion_with_a_coupon_code(api_for, manager, rep, products):
    api = api_for(manager)
    response = api.post(
        "promotions",
        {
            "name": "Lamps 2x1",
            "kind": "buy_x_get_y",
            "buy_quantity": 1,
            "get_quantity": 1,
            "code": "lamp2x1",
            "product_ids": [products["lamp"].pk],
            "max_uses_per_customer": 1,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["uses"], body["product_ids"]) == (
        "LAMP2X1",
        0,
        [products["lamp"].pk],
    )
    taken = api.post(
        "promotions", {"name": "Again", "kind": "percent", "value": 5, "code": "Lamp2x1"}
    )
    assert taken.status_code == 422
    assert taken.json()["errors"] == {"code": ["The coupon code “LAMP2X1” is taken."]}
    bad = api.post("promotions", {"name": "Too much", "kind": "percent", "value": 150})
    assert bad.json()["errors"] == {"value": ["The percentage must be between 0 and 100."]}
    assert Promotion.objects.count() == 1
    promotion = Promotion.objects.get(pk=body["id"])
    for code in ("LAMP-A1", "LAMP-B2"):
        PromotionCode.objects.create(promotion=promotion, code=code)
    for code in ("lamp2x1", "lamp-b2"):
        found = api_for(rep).get("promotions", code=code).json()["items"]
        assert [(p["id"], p["generated_codes"]) for p in found] == [(body["id"], 2)]


def test_catalog_lists_query_count_does_not_grow(
    api_for, rep, admin, products, django_assert_max_num_queries
):
    api = api_for(rep)
    for i in range(3):
        PriceList.objects.create(name=f"L{i}")
        Promotion.objects.create(name=f"P{i}", kind="percent", value=5)
    for path in ("products", "price-lists", "promotions"):
        with django_assert_max_num_queries(5):
            api.get(path)
    for i in range(20):
        Product.objects.create(sku=f"P{i}", name=f"P{i}", price=1, category=products["lighting"])
        PriceList.objects.create(name=f"M{i}")
        Promotion.objects.create(name=f"Q{i}", kind="percent", value=5)
    for path, n in (("products", 22), ("price-lists", 24), ("promotions", 23)):
        with django_assert_max_num_queries(5):
            assert len(api.get(path).json()["items"]) == n
