"""Journey: a rep types a cart on the price check page and sees it re-priced as they type,
with the price list that priced each line, the coupon applied, and an option clash refused."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from vinculo.sales import catalog, pricelists


def test_price_check_reprices_as_you_type(page, login, rep, admin):
    mug = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="10")
    laptop = catalog.create_product(
        actor=admin, sku="LAPTOP", name="Laptop", price="1000", kind="configurable"
    )
    catalog.add_option(actor=admin, product_id=laptop.pk, code="HDD", name="Hard disk")
    catalog.add_option(actor=admin, product_id=laptop.pk, code="SSD", name="SSD", excludes=["HDD"])
    pricelists.create_price_list(
        actor=admin,
        name="Bulk mugs",
        items=[{"product_id": mug.pk, "min_quantity": 10, "price": "8"}],
    )
    pricelists.create_promotion(actor=admin, name="Ten off", kind="percent", value="10", code="TEN")

    login(rep)
    page.locator("summary", has_text="More").click()
    page.get_by_role("link", name="Price check").click()
    expect(page.get_by_role("heading", name="Price check", level=1)).to_be_visible()

    cart = page.get_by_label("Cart")
    cart.fill("MUG 2")
    # No button press: HTMX re-prices after typing. 2 × 10 + 21 % tax.
    expect(page.get_by_test_id("price-total")).to_have_text(re.compile(r"24\.20 EUR"))
    expect(page.get_by_text("Catalog price")).to_be_visible()

    cart.fill("MUG 12")
    expect(page.get_by_test_id("price-total")).to_have_text(re.compile(r"116\.16 EUR"))
    expect(page.get_by_text("Price list “Bulk mugs” (from 10 units)")).to_be_visible()

    page.get_by_label("Coupon codes").fill("ten")
    expect(page.get_by_text(re.compile("Applied: Ten off"))).to_be_visible()
    expect(page.get_by_test_id("price-total")).to_have_text(re.compile(r"104\.54 EUR"))

    cart.fill("MUG 12\nLAPTOP 1 SSD,HDD")
    expect(page.get_by_role("alert")).to_contain_text(
        "Line 2: “Hard disk” cannot be combined with “SSD”."
    )
