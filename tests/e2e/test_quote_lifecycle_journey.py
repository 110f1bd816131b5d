"""Journey: the customer turns a sent quote down; the rep records why, revises it into a new
draft, changes a quantity (re-priced as they type) and saves it, linked to the old one."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.customers.factories import CustomerFactory
from vinculo.sales import catalog, quotes
from vinculo.sales.models import Quote
from vinculo.sales.pricing import CartLine


def test_reject_revise_and_edit_a_quote(page, login, rep, admin):
    chair = catalog.create_product(
        actor=admin, sku="CHAIR", name="Office chair", price="100", stock_on_hand=10
    )
    customer = CustomerFactory(name="Marta Vidal", owner=rep, team=rep.team)
    quote = quotes.create_quote(actor=rep, customer_id=customer.pk, lines=[CartLine(chair.pk, 2)])
    Quote.objects.filter(pk=quote.pk).update(status="sent")

    login(rep)
    page.goto(f"/sales/quotes/{quote.pk}/")
    expect(page.get_by_test_id("quote-status")).to_have_text("Sent")
    page.get_by_role("button", name="Customer rejected it").click()
    page.get_by_label("Why did the customer reject it?").fill("Found it cheaper elsewhere")
    page.get_by_role("button", name="Yes, mark it rejected").click()
    expect(page.get_by_test_id("quote-status")).to_have_text("Rejected")
    expect(page.get_by_test_id("rejection")).to_contain_text("Found it cheaper elsewhere")

    page.get_by_role("button", name="Revise (new draft)").click()
    expect(
        page.get_by_role("heading", name=re.compile("Edit quote .* for Marta Vidal"))
    ).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"242\.00 EUR"))
    page.get_by_label("Line 1: Quantity").fill("3")
    page.get_by_label("Line 1: Quantity").blur()
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"363\.00 EUR"))  # live
    page.get_by_role("button", name="Save quote").click()

    expect(page.get_by_test_id("quote-status")).to_have_text("Draft")
    expect(page.get_by_test_id("total")).to_contain_text("363.00")
    page.get_by_role("link", name=quote.number).click()
    expect(page.get_by_test_id("quote-status")).to_have_text("Rejected")
    expect(page.get_by_test_id("revisions")).to_contain_text("Draft")
