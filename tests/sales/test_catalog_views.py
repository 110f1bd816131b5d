"""Catalog pages at /sales/catalog/: product list (tree roll-up, search, filters, sort,
pagination, margin), product detail, create/edit with field errors, variants with preview,
options and their rules, bundles, deactivation, categories, and who may change what."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vinculo.core.models import AuditEntry
from vinculo.sales import catalog
from vinculo.sales.models import Category, Product, ProductOption

BASE = "/sales/catalog/"


@pytest.fixture
def tree(admin):
    electronics = catalog.create_category(actor=admin, name="Electronics")
    phones = catalog.create_category(actor=admin, name="Phones", parent_id=electronics.pk)
    books = catalog.create_category(actor=admin, name="Books")
    return {"electronics": electronics, "phones": phones, "books": books}


def make_products(admin, n, *, prefix="P", category=None, **kwargs):
    return [
        catalog.create_product(
            actor=admin,
            sku=f"{prefix}{i:03}",
            name=f"Product {prefix}{i:03}",
            price=kwargs.get("price", "10"),
            cost=kwargs.get("cost", "4"),
            category_id=category.pk if category else None,
        )
        for i in range(n)
    ]


def skus(resp) -> list[str]:
    return [p.sku for p in resp.context["page"].object_list]


# --- list -------------------------------------------------------------------------------------


def test_empty_catalog_says_so_and_offers_to_add_to_a_manager(client_for, manager, rep):
    resp = client_for(manager).get(BASE)
    html = resp.content.decode()
    assert "The catalog is empty." in html
    assert "Add the first product" in html
    html = client_for(rep).get(BASE).content.decode()
    assert "The catalog is empty." in html
    assert "Add the first product" not in html and "New product" not in html


def test_parent_category_shows_its_subcategories_products(client_for, rep, admin, tree):
    (phone,) = make_products(admin, 1, prefix="PH", category=tree["phones"])
    (cable,) = make_products(admin, 1, prefix="CA", category=tree["electronics"])
    make_products(admin, 1, prefix="BK", category=tree["books"])
    client = client_for(rep)
    assert sorted(skus(client.get(BASE, {"category": tree["electronics"].pk}))) == [
        cable.sku,
        phone.sku,
    ]
    assert skus(client.get(BASE, {"category": tree["phones"].pk})) == [phone.sku]
    # The tree counts roll up too: Electronics (2) includes the phone.
    html = client.get(BASE).content.decode()
    assert 'Electronics</a> <small class="muted">(2)</small>' in html


def test_tree_counts_follow_products_added_and_moved_between_pages(client_for, rep, admin, tree):
    """The side panel's tree is kept per process (core.process_cache); a product saved in
    the process shows in the counts on the next page."""
    client = client_for(rep)
    make_products(admin, 1, prefix="PH", category=tree["phones"])
    assert 'Books</a> <small class="muted">(0)</small>' in client.get(BASE).content.decode()
    (book,) = make_products(admin, 1, prefix="BK", category=tree["books"])
    html = client.get(BASE).content.decode()
    assert 'Books</a> <small class="muted">(1)</small>' in html
    assert 'Electronics</a> <small class="muted">(1)</small>' in html
    book.category = tree["phones"]
    book.save(update_fields=["category"])
    html = client.get(BASE).content.decode()
    assert 'Books</a> <small class="muted">(0)</small>' in html
    assert 'Electronics</a> <small class="muted">(2)</small>' in html

    # The current category is marked on this page only, not on the shared tree.
    def current(params):
        html = client.get(BASE, params).content.decode()
        panel = html.split('<ul class="category-tree">', 1)[1].split("</ul>", 1)[0]
        return [li for li in panel.split("<li") if 'aria-current="true"' in li]

    (marked,) = current({"category": tree["books"].pk})
    assert ">Books</a>" in marked
    (marked,) = current({})
    assert ">All products</a>" in marked


def test_search_by_sku_or_name_finds_variants_too(client_for, rep, admin):
    shirt = catalog.create_product(actor=admin, sku="SHIRT", name="Shirt", price="20")
    catalog.generate_variants(actor=admin, template_id=shirt.pk, attributes={"Size": ["S", "M"]})
    make_products(admin, 2, prefix="MUG")
    client = client_for(rep)
    # Without a search, variants stay under their template.
    assert sorted(skus(client.get(BASE))) == ["MUG000", "MUG001", "SHIRT"]
    assert sorted(skus(client.get(BASE, {"q": "shirt-m"}))) == ["SHIRT-M"]
    assert sorted(skus(client.get(BASE, {"q": "Shirt"}))) == ["SHIRT", "SHIRT-M", "SHIRT-S"]


def test_active_filter_and_no_longer_sold_badge(client_for, rep, admin):
    on, off = make_products(admin, 2)
    catalog.update_product(actor=admin, product_id=off.pk, expected_version=None, active=False)
    client = client_for(rep)
    assert skus(client.get(BASE)) == [on.sku]
    assert skus(client.get(BASE, {"active": "no"})) == [off.sku]
    resp = client.get(BASE, {"active": "all"})
    assert sorted(skus(resp)) == [on.sku, off.sku]
    assert "No longer sold" in resp.content.decode()


def test_sort_by_margin_and_margin_column(client_for, rep, admin):
    catalog.create_product(actor=admin, sku="LOW", name="Low", price="100", cost="90")
    catalog.create_product(actor=admin, sku="HIGH", name="High", price="100", cost="20")
    catalog.create_product(actor=admin, sku="LOSS", name="Loss", price="10", cost="15")
    client = client_for(rep)
    assert skus(client.get(BASE, {"sort": "-margin"})) == ["HIGH", "LOW", "LOSS"]
    assert skus(client.get(BASE, {"sort": "margin"})) == ["LOSS", "LOW", "HIGH"]
    html = client.get(BASE, {"sort": "-margin"}).content.decode()
    assert "80.00 <small>(80.0 %)</small>" in html
    assert 'class="num negative"' in html  # the loss-maker stands out


def test_pagination_keeps_filters(client_for, rep, admin, tree):
    make_products(admin, 30, category=tree["books"])
    client = client_for(rep)
    resp = client.get(BASE, {"category": tree["books"].pk, "sort": "-sku"})
    assert len(resp.context["page"].object_list) == 25
    html = resp.content.decode()
    assert f"category={tree['books'].pk}&amp;sort=-sku&amp;page=2" in html
    page2 = client.get(BASE, {"category": tree["books"].pk, "sort": "-sku", "page": 2})
    assert skus(page2) == ["P004", "P003", "P002", "P001", "P000"]


def test_list_query_count_does_not_grow_with_products(
    client_for, rep, admin, tree, django_assert_max_num_queries
):
    client = client_for(rep)
    make_products(admin, 3, prefix="A", category=tree["phones"])
    with django_assert_max_num_queries(9):
        assert client.get(BASE).status_code == 200
    make_products(admin, 40, prefix="B", category=tree["books"])
    for i in range(5):
        catalog.create_category(actor=admin, name=f"Extra {i}", parent_id=tree["books"].pk)
    with django_assert_max_num_queries(9):
        resp = client.get(BASE)
    assert len(resp.context["page"].object_list) == 25


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_prices_margin_stock_variants(client_for, rep, admin):
    shirt = catalog.create_product(
        actor=admin, sku="SHIRT", name="Shirt", price="20", cost="5", stock_on_hand=7
    )
    Product.objects.filter(pk=shirt.pk).update(stock_reserved=2)
    catalog.generate_variants(
        actor=admin,
        template_id=shirt.pk,
        attributes={"Size": ["M", "XL"]},
        price_deltas={"Size": {"XL": 2}},
    )
    html = client_for(rep).get(f"{BASE}products/{shirt.pk}/").content.decode()
    assert "15.00 EUR (75.0 %)" in html  # margin and margin %
    assert "<dt>Reserved</dt><dd>2</dd>" in html
    assert "<dt>Available</dt><dd>5</dd>" in html
    assert "SHIRT-XL" in html and "22.00 EUR" in html
    assert "Size: M, XL" in html


def test_detail_lists_options_with_their_rules_and_bundle_components(client_for, rep, admin):
    laptop = catalog.create_product(
        actor=admin, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    catalog.add_option(actor=admin, product_id=laptop.pk, code="HDD", name="Hard disk")
    catalog.add_option(
        actor=admin,
        product_id=laptop.pk,
        code="SSD",
        name="SSD",
        price_delta="80",
        excludes=["HDD"],
    )
    catalog.add_option(
        actor=admin, product_id=laptop.pk, code="RAID", name="RAID", requires=["SSD"], group="X"
    )
    html = client_for(rep).get(f"{BASE}products/{laptop.pk}/").content.decode()
    assert "+80.00" in html
    assert "Cannot be combined with: Hard disk (HDD)" in html
    assert "Requires: SSD (SSD)" in html

    kit = catalog.create_product(actor=admin, sku="KIT", name="Kit", price="50", kind="bundle")
    mug = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="5")
    catalog.set_bundle_items(actor=admin, bundle_id=kit.pk, items=[(mug.pk, 2)])
    resp = client_for(rep).get(f"{BASE}products/{kit.pk}/")
    assert [(b.component.sku, b.quantity) for b in resp.context["bundle_items"]] == [("MUG", 2)]


def test_missing_product_is_404(client_for, rep):
    assert client_for(rep).get(f"{BASE}products/999/").status_code == 404


# --- create and edit --------------------------------------------------------------------------


def test_create_product_with_errors_names_each_field_and_writes_nothing(client_for, manager):
    catalog.create_product(actor=manager, sku="TAKEN", name="Taken", price="1")
    resp = client_for(manager).post(
        f"{BASE}products/new/",
        {
            "sku": "taken",
            "name": "",
            "kind": "simple",
            "price": "abc",
            "cost": "-3",
            "tax_rate": "21",
            "currency": "EURO",
        },
    )
    assert resp.status_code == 422
    errors = resp.context["form"].errors
    assert "name" in errors
    assert errors["sku"] == ["Another product already has SKU “TAKEN”."]
    assert errors["price"] == ["Enter an amount."]
    assert errors["cost"] == ["Cannot be negative."]
    assert "currency" in errors
    html = resp.content.decode()
    assert 'id="id_price_error"' in html
    assert Product.objects.count() == 1


def test_create_product_then_detail(client_for, manager, tree):
    resp = client_for(manager).post(
        f"{BASE}products/new/",
        {
            "sku": "ph-1",
            "name": "Phone One",
            "kind": "simple",
            "category": tree["phones"].pk,
            "price": "199,90",
            "cost": "120",
            "tax_rate": "21",
            "currency": "eur",
            "stock_on_hand": "4",
        },
    )
    product = Product.objects.get(sku="PH-1")
    assert resp.status_code == 302 and resp.url == f"{BASE}products/{product.pk}/"
    assert product.price == Decimal("199.90") and product.currency == "EUR"
    assert product.category == tree["phones"] and product.stock_on_hand == 4
    assert AuditEntry.objects.filter(object_id=product.pk, action="create").exists()


def test_edit_product_and_stale_version_is_refused(client_for, manager, admin):
    product = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="5")
    client = client_for(manager)
    form = {
        "sku": "MUG",
        "name": "Big mug",
        "price": "6",
        "cost": "1",
        "tax_rate": "21",
        "currency": "EUR",
        "track_stock": "on",
        "version": product.version,
    }
    assert client.post(f"{BASE}products/{product.pk}/edit/", form).status_code == 302
    product.refresh_from_db()
    assert product.name == "Big mug" and product.price == Decimal("6.00")
    resp = client.post(f"{BASE}products/{product.pk}/edit/", {**form, "name": "Stale"})
    assert resp.status_code == 409
    assert "changed by someone else" in resp.content.decode()
    product.refresh_from_db()
    assert product.name == "Big mug"


@pytest.mark.parametrize(
    "path",
    [
        "products/new/",
        "products/{pk}/edit/",
        "products/{pk}/active/",
        "products/{pk}/variants/",
        "products/{pk}/options/new/",
        "products/{pk}/bundle/",
        "categories/{cat}/edit/",
    ],
)
def test_rep_without_catalog_capability_gets_403(client_for, rep, admin, tree, path):
    product = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="5")
    url = BASE + path.format(pk=product.pk, cat=tree["books"].pk)
    client = client_for(rep)
    assert client.get(url).status_code == 403
    resp = client.post(url, {"sku": "X", "name": "Hacked", "price": "1", "active": ""})
    assert resp.status_code == 403
    product.refresh_from_db()
    assert product.name == "Mug" and product.active
    assert not Product.objects.filter(sku="X").exists()


def test_deactivate_asks_for_confirmation_then_keeps_the_product(client_for, manager, admin):
    product = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="5")
    client = client_for(manager)
    page = client.get(f"{BASE}products/{product.pk}/active/")
    assert "Stop selling “Mug”?" in page.content.decode()
    product.refresh_from_db()
    assert product.active  # a GET changes nothing
    resp = client.post(f"{BASE}products/{product.pk}/active/", {"version": product.version})
    assert resp.status_code == 302
    product.refresh_from_db()
    assert not product.active
    assert Product.objects.filter(pk=product.pk).exists()
    client.post(f"{BASE}products/{product.pk}/active/", {"version": product.version})
    product.refresh_from_db()
    assert product.active


# --- variants, options, bundles ---------------------------------------------------------------


def test_variants_preview_then_create(client_for, manager, admin):
    shirt = catalog.create_product(actor=admin, sku="TEE", name="Tee", price="10")
    client = client_for(manager)
    url = f"{BASE}products/{shirt.pk}/variants/"
    attributes = "Size: S, M, L+2\nColour: red, blue"
    resp = client.post(url, {"attributes": attributes})
    assert resp.status_code == 200
    preview = resp.context["preview"]
    assert len(preview) == 6
    assert {"sku": "TEE-L-BLUE", "price": Decimal("12.00")}.items() <= preview[-1].items()
    assert "Create 6 variants" in resp.content.decode()
    assert not shirt.variants.exists()  # the preview writes nothing

    resp = client.post(url, {"attributes": attributes, "confirm": "1"})
    assert resp.status_code == 302
    variants = {v.sku: v.price for v in shirt.variants.all()}
    assert len(variants) == 6
    assert variants["TEE-S-RED"] == Decimal("10.00") and variants["TEE-L-RED"] == Decimal("12.00")

    # A new value adds only the missing combinations; the preview says which exist.
    resp = client.post(url, {"attributes": "Size: S, M, L+2, XL\nColour: red, blue"})
    assert resp.context["new_count"] == 2


def test_variants_bad_attribute_line_is_named(client_for, manager, admin):
    shirt = catalog.create_product(actor=admin, sku="TEE", name="Tee", price="10")
    resp = client_for(manager).post(
        f"{BASE}products/{shirt.pk}/variants/", {"attributes": "Size: S\nColour red"}
    )
    assert resp.status_code == 422
    assert resp.context["form"].errors["attributes"] == [
        "Line 2: write the attribute, a colon and its values (Size: S, M, L)."
    ]


def test_add_option_with_rules_and_validation(client_for, manager, admin):
    laptop = catalog.create_product(
        actor=admin, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    catalog.add_option(actor=admin, product_id=laptop.pk, code="HDD", name="Hard disk")
    client = client_for(manager)
    url = f"{BASE}products/{laptop.pk}/options/new/"
    resp = client.post(
        url,
        {"code": "ssd", "name": "SSD", "price_delta": "80", "excludes": ["HDD"], "group": "Disk"},
    )
    assert resp.status_code == 302
    ssd = ProductOption.objects.get(product=laptop, code="SSD")
    assert ssd.price_delta == Decimal("80.00")
    assert [o.code for o in ssd.excludes.all()] == ["HDD"]
    resp = client.post(url, {"code": "SSD", "name": "Again", "price_delta": "0"})
    assert resp.status_code == 422
    assert resp.context["form"].errors["code"] == ["This product already has option “SSD”."]
    resp = client.post(url, {"code": "X", "name": "X", "price_delta": "lots"})
    assert resp.context["form"].errors["price_delta"] == ["Enter an amount."]
    assert laptop.options.count() == 2


def test_set_bundle_items_names_bad_lines(client_for, manager, admin):
    kit = catalog.create_product(actor=admin, sku="KIT", name="Kit", price="50", kind="bundle")
    catalog.create_product(actor=admin, sku="MUG", name="Mug", price="5")
    client = client_for(manager)
    url = f"{BASE}products/{kit.pk}/bundle/"
    resp = client.post(url, {"items": "MUG 2\nNOPE 1"})
    assert resp.status_code == 422
    assert resp.context["form"].errors["items"] == ["Line 2: there is no product with SKU NOPE."]
    resp = client.post(url, {"items": "KIT 1"})
    assert resp.context["form"].errors["items"] == ["“Kit” cannot be a component."]
    assert not kit.bundle_items.exists()
    assert client.post(url, {"items": "mug 2"}).status_code == 302
    assert [(b.component.sku, b.quantity) for b in kit.bundle_items.all()] == [("MUG", 2)]


# --- categories -------------------------------------------------------------------------------


def test_category_tree_create_rename_and_move(client_for, manager, tree, admin):
    (phone,) = make_products(admin, 1, category=tree["phones"])
    client = client_for(manager)
    url = f"{BASE}categories/"
    resp = client.post(url, {"name": "Tablets", "parent": tree["electronics"].pk})
    assert resp.status_code == 302
    assert Category.objects.filter(path="Electronics/Tablets").exists()
    resp = client.post(url, {"name": "Tablets", "parent": tree["electronics"].pk})
    assert resp.status_code == 422
    assert resp.context["form"].errors["name"] == ["This category already exists here."]

    # Rename the parent: every path below follows.
    edit = f"{BASE}categories/{tree['electronics'].pk}/edit/"
    assert client.post(edit, {"name": "Gadgets", "parent": ""}).status_code == 302
    assert set(Category.objects.values_list("path", flat=True)) == {
        "Gadgets",
        "Gadgets/Phones",
        "Gadgets/Tablets",
        "Books",
    }
    # Move Phones under Books: its product rolls up to Books now.
    move = f"{BASE}categories/{tree['phones'].pk}/edit/"
    assert client.post(move, {"name": "Phones", "parent": tree["books"].pk}).status_code == 302
    resp = client.get(BASE, {"category": tree["books"].pk})
    assert skus(resp) == [phone.sku]
    # A category cannot go under its own child.
    resp = client.post(edit, {"name": "Gadgets", "parent": Category.objects.get(name="Tablets").pk})
    assert resp.status_code == 422
    assert "parent" in resp.context["form"].errors
    assert Category.objects.get(pk=tree["electronics"].pk).path == "Gadgets"


def test_rep_sees_tree_but_cannot_add_a_category(client_for, rep, tree):
    client = client_for(rep)
    html = client.get(f"{BASE}categories/").content.decode()
    assert "Electronics" in html and "New category" not in html
    assert client.post(f"{BASE}categories/", {"name": "Sneaky"}).status_code == 403
    assert not Category.objects.filter(name="Sneaky").exists()


def test_absurd_numbers_are_refused_on_their_field_not_a_crash(client_for, manager):
    resp = client_for(manager).post(
        f"{BASE}products/new/",
        {
            "sku": "BIG",
            "name": "Big",
            "kind": "simple",
            "price": "1e30",
            "cost": "99999999999999",
            "tax_rate": "5000",
            "currency": "EUR",
        },
    )
    assert resp.status_code == 422
    errors = resp.context["form"].errors
    assert set(errors) == {"price", "cost", "tax_rate"}
    assert errors["price"] == ["This amount is too large."]
    resp = client_for(manager).post(
        f"{BASE}products/new/",
        {"sku": "BIG", "name": "Big", "kind": "simple", "price": "1", "stock_on_hand": "9" * 14},
    )
    assert set(resp.context["form"].errors) == {"stock_on_hand"}
    assert not Product.objects.exists()


def test_variants_refused_for_a_configurable_product_with_the_reason(client_for, manager, admin):
    laptop = catalog.create_product(
        actor=admin, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    resp = client_for(manager).post(
        f"{BASE}products/{laptop.pk}/variants/", {"attributes": "Size: S", "confirm": "1"}
    )
    assert resp.status_code == 422
    assert resp.context["form"].errors["attributes"] == ["Only a simple product can get variants."]
    assert not laptop.variants.exists()
