"""The whole sales journey in one browser session: a visitor leaves their details on the
website form; the lead lands scored in the rep's queue with its reasons; the rep qualifies and
converts it, drags the opportunity across the board, wins it, makes the quote with a coupon
and confirms the order (stock reserved)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from vinculo.sales import catalog, pipelines
from vinculo.sales.models import (
    AssignmentRule,
    Lead,
    LeadScoringRule,
    LeadWebForm,
    Opportunity,
    Order,
    Promotion,
)


def test_web_lead_to_confirmed_order(page, login, rep, admin):
    pipelines.ensure_default_pipeline()
    AssignmentRule.objects.create(name="Everyone", kind="round_robin", team=rep.team)
    LeadScoringRule.objects.create(
        label="Spring campaign", field="lead.campaign", operator="eq", value="Spring", points=25
    )
    web_form = LeadWebForm.objects.create(
        name="Contact us", campaign="Spring", consent_text="Send me offers"
    )
    lamp = catalog.create_product(
        actor=admin, sku="LAMP", name="Desk lamp", price="50", stock_on_hand=10
    )
    Promotion.objects.create(name="Spring ten", code="SPRING10", kind="percent", value="10")

    # 1. The visitor, not signed in.
    page.goto(f"/forms/lead/{web_form.key}/?utm_source=newsletter")
    page.get_by_label("First name").fill("Inés")
    page.get_by_label("Last name").fill("Navarro")
    page.get_by_label("Email").fill("ines@navarro.es")
    page.get_by_label("Send me offers").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    lead = Lead.objects.get(customer__email="ines@navarro.es")
    assert lead.owner_id == rep.pk  # the round-robin rule gave it to the rep

    # 2. The rep's queue shows it scored, with the reason.
    login(rep)
    page.goto("/sales/leads/queue/")
    item = page.get_by_test_id("queue-item").filter(has_text="Inés Navarro")
    expect(item).to_contain_text("Spring campaign: +25")
    item.get_by_role("button", name="Qualify", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("qualified")
    page.get_by_test_id("queue-item").filter(has_text="Inés Navarro").get_by_role(
        "button", name="Convert"
    ).click()
    page.get_by_label("Amount").fill("500")
    page.get_by_role("button", name="Convert").click()
    expect(page).to_have_url(re.compile(r"/sales/opportunities/\d+/$"))
    opp = Opportunity.objects.get(customer__email="ines@navarro.es")
    assert opp.stage.name == "Qualification"

    # 3. Drag the card to "Proposal" on the board, then win it.
    page.goto("/sales/pipeline/")
    card = page.locator(f"#opp-card-{opp.pk}")
    card.drag_to(page.get_by_test_id("column-proposal"))
    expect(page.get_by_test_id("column-proposal").locator(f"#opp-card-{opp.pk}")).to_be_visible()
    opp.refresh_from_db()
    assert opp.stage.name == "Proposal"
    page.goto(f"/sales/opportunities/{opp.pk}/")
    page.get_by_role("button", name="Mark as won").click()
    opp.refresh_from_db()
    assert opp.status == "won"

    # 4. Quote with two lamps and the coupon (re-priced as typed), accepted into an order.
    page.goto(f"/sales/opportunities/{opp.pk}/")
    page.get_by_role("button", name="Create quote").click()
    page.locator("input[name$='sku']").first.fill("LAMP")
    page.locator("input[name$='quantity']").first.fill("2")
    page.get_by_label("Coupon codes").fill("spring10")
    page.get_by_label("Coupon codes").blur()
    # (100 − 10) + 21 % VAT = 108.90
    expect(page.get_by_test_id("total")).to_have_text(re.compile(r"108\.90 EUR"))
    expect(page.get_by_text(re.compile("Spring ten .*applied"))).to_be_visible()
    page.get_by_role("button", name="Create quote").click()
    page.get_by_role("button", name="Accept → order").click()
    page.get_by_role("button", name="Yes, create the order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Draft")

    # 5. Confirm the order: stock is reserved.
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Confirmed")
    order = Order.objects.get(customer=opp.customer)
    assert (order.status, str(order.total)) == ("confirmed", "108.90")
    lamp.refresh_from_db()
    assert lamp.stock_reserved == 2
