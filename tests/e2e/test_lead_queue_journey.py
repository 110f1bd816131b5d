"""A visitor fills in the website form; the rep works "My queue" from the keyboard: marks the
hottest lead contacted, disqualifies another with a reason and converts the third."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.customers.factories import CustomerFactory
from vinculo.sales import pipelines
from vinculo.sales.models import Lead, LeadWebForm, Opportunity


def _lead(rep, name, score):
    customer = CustomerFactory(owner=rep, team=rep.team, name=name)
    return Lead.objects.create(
        customer=customer,
        owner=rep,
        team=rep.team,
        score=score,
        score_fit=score,
        score_reasons=[{"label": "Spain", "points": score, "kind": "fit"}],
    )


def test_website_form_then_keyboard_queue(page, login, rep):
    pipelines.ensure_default_pipeline()
    web_form = LeadWebForm.objects.create(name="Contact", consent_text="Send me offers")
    page.goto(f"/forms/lead/{web_form.key}/?utm_source=google")
    page.get_by_label("First name").fill("Vera")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#lf-email-error")).to_be_visible()
    page.get_by_label("Email").fill("vera@example.es")
    page.get_by_label("Send me offers").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you")
    captured = Lead.objects.get(customer__email="vera@example.es")
    assert captured.consent_marketing and captured.utm_source == "google"

    hot, warm = _lead(rep, "Hot Lead", 30), _lead(rep, "Warm Lead", 20)
    cold = _lead(rep, "Cold Lead", 10)
    login(rep)
    page.goto("/sales/leads/queue/")
    items = page.get_by_test_id("queue-item")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Hot Lead")
    expect(items.first).to_contain_text("Spain: +30")

    # j focuses the first lead, c marks it contacted.
    page.locator("body").press("j")
    expect(items.first).to_be_focused()
    page.keyboard.press("c")
    expect(page.get_by_role("status").first).to_contain_text("Hot Lead is now contacted")
    hot.refresh_from_db()
    assert hot.status == "contacted"

    # Disqualify the second: d jumps to its reason box; the reason is required.
    page.locator("body").press("j")
    page.keyboard.press("j")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("d")
    reason = items.nth(1).get_by_placeholder("Reason to disqualify")
    expect(reason).to_be_focused()
    reason.fill("No budget")
    reason.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Warm Lead is now disqualified")
    expect(items).to_have_count(2)
    warm.refresh_from_db()
    assert (warm.status, warm.disqualified_reason) == ("disqualified", "No budget")

    # Convert the cold one through the confirm step.
    page.get_by_test_id("queue-item").filter(has_text="Cold Lead").get_by_role(
        "button", name="Convert"
    ).click()
    page.get_by_label("Amount").fill("900")
    page.get_by_role("button", name="Convert").click()
    expect(page).to_have_url(re.compile(r"/sales/opportunities/\d+/$"))
    cold.refresh_from_db()
    assert cold.status == "converted"
    assert Opportunity.objects.get().amount == 900
