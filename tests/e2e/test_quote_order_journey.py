"""Journey: from an opportunity, a rep makes a quote, sees it re-priced with the coupon as they
type, accepts it into an order, is told the stock is short when confirming, and cancels."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.customers.factories import CustomerFactory
from vinculo.sales import catalog, pipelines
from vinculo.sales.models import Promotion
from vinculo.sales.pricing import CartLine


def test_quote_to_order_journey(page, login, rep, admin):
    chair = catalog.create_product(
        actor=admin, sku="CHAIR", name="Office chair", price="100", stock_on_hand=1
    )
    Promotion.objects.create(name="Ten off", code="TEN", kind="percent", value="10")
    customer = CustomerFactory(name="Marta Vidal", owner=rep, team=rep.team)
    pipelines.ensure_default_pipeline()
    opp = pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name="Chairs")
    pipelines.set_opportunity_lines(
        actor=rep, opportunity_id=opp.pk, lines=[CartLine(chair.pk, 2)], expected_version=None
    )

    login(rep)
    page.goto(f"/sales/opportunities/{opp.pk}/")
    page.get_by_role("button", name="Create quote").click()
    expect(page.get_by_role("heading", name="New quote for Marta Vidal")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"242\.00 EUR"))

    page.get_by_label("Coupon codes").fill("ten")
    page.get_by_label("Coupon codes").blur()
    # No button press: HTMX re-prices on change. (200 − 20) × 1.21
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"217\.80 EUR"))
    expect(page.get_by_text(re.compile("Ten off .*applied"))).to_be_visible()

    page.get_by_role("button", name="Create quote").click()
    expect(page.get_by_test_id("quote-status")).to_have_text("Draft")
    expect(page.get_by_test_id("discount-total")).to_contain_text("20.00")

    page.get_by_role("button", name="Accept → order").click()
    page.get_by_role("button", name="Yes, create the order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Draft")

    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("order-error")).to_contain_text(
        "Office chair: 2 wanted, 1 available"
    )
    expect(page.get_by_test_id("order-status")).to_have_text("Draft")

    page.get_by_role("button", name="Cancel order…").click()
    page.get_by_role("button", name="Yes: Cancel order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled")
