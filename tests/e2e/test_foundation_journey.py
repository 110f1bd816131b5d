"""The foundation journey a new user takes on day one, in a real browser: sign in, find a
customer from the header search, log a call with a follow-up using only the keyboard, see it
on the 360° timeline, and switch the interface to Spanish."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.customers.factories import CustomerFactory
from vinculo.interactions.models import Interaction, Task


def test_search_open_360_quick_log_call_and_switch_to_spanish(page, login, rep):
    customer = CustomerFactory(name="Valentina Okafor", owner=rep, team=rep.team)
    CustomerFactory(name="Someone Else", owner=rep, team=rep.team)
    login(rep)

    # "/" focuses the header search; results appear as you type; ↓ + Enter opens the 360° page.
    page.keyboard.press("/")
    search = page.get_by_role("combobox", name="Search customers")
    expect(search).to_be_focused()
    search.press_sequentially("okaf", delay=30)
    option = page.get_by_role("option", name=re.compile("Valentina Okafor"))
    expect(option).to_be_visible()
    expect(page.get_by_role("option", name=re.compile("Someone Else"))).to_have_count(0)
    search.press("ArrowDown")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Valentina Okafor")

    # Quick log, keyboard only: focus the type, "c" = call, Tab to the outcome, type the
    # subject, "1" = follow up tomorrow, Enter saves.
    form = page.locator(f"#quick-log-panel-{customer.pk}")
    form.locator("input[name=kind]:checked").focus()
    page.keyboard.press("c")
    expect(form.get_by_label("Call")).to_be_checked()
    form.get_by_label("Outcome").select_option(label="Interested")
    form.get_by_label("Subject").fill("Asked for a demo of the premium plan")
    form.get_by_label("Subject").press("Tab")
    form.locator("input[name=follow_up]:checked").focus()
    page.keyboard.press("1")
    expect(form.get_by_label("Tomorrow")).to_be_checked()
    page.keyboard.press("Enter")

    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Asked for a demo of the premium plan")
    expect(page.get_by_role("status").filter(has_text=re.compile("logged", re.I))).to_be_visible()
    # When it happened reads relative to now, in the page's language (app.js, Intl).
    when = timeline.locator("time[data-relative]").first
    expect(when).to_have_text(re.compile(r"^(now|\d+ seconds? ago)$"))
    call = Interaction.objects.get(customer=customer)
    assert (call.kind, call.outcome, call.user_id) == ("call", "interested", rep.pk)
    assert Task.objects.filter(customer=customer, assignee=rep, done_at__isnull=True).count() == 1

    # Switch the interface to Spanish: the page reloads in Spanish and stays so.
    page.get_by_test_id("language-switch").select_option("es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Registrar una interacción")).to_be_visible()
    expect(page.locator("#timeline time[data-relative]").first).to_have_text(
        re.compile(r"^(ahora|hace \d+ segundos?|hace \d+ minutos?)$")
    )
    page.goto("/my-day/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
