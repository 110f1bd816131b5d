"""Journey: a user switches the UI to Spanish from the header; the choice follows them."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_header_switch_turns_the_ui_spanish_and_it_survives_a_new_browser(
    page, login, rep, browser, live_server
):
    login(rep)
    expect(page.get_by_role("link", name="Customers", exact=True)).to_be_visible()
    with page.expect_navigation():
        page.get_by_test_id("language-switch").select_option("es")
    expect(page).to_have_url(re.compile(r"/my-day/$"))  # back where the user was
    expect(page.get_by_role("link", name="Clientes", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Cerrar sesión"))).to_be_visible()
    rep.refresh_from_db()
    assert rep.language == "es"

    # Another browser (an English one, no language cookie): the saved choice wins after login.
    other = browser.new_context(base_url=live_server.url, locale="en-US")
    try:
        p2 = other.new_page()
        p2.goto("/accounts/login/")
        p2.get_by_label("Username").fill(rep.username)
        p2.get_by_label("Password").fill("pass-1234")
        p2.get_by_role("button", name="Log in").click()
        expect(p2.get_by_role("link", name="Mi día", exact=True)).to_be_visible()
        expect(p2.locator("html")).to_have_attribute("lang", "es")
    finally:
        other.close()


def test_login_page_offers_the_language_before_signing_in(page):
    page.goto("/accounts/login/")
    with page.expect_navigation():
        page.get_by_test_id("language-switch").select_option("es")
    expect(page.get_by_label("Nombre de usuario")).to_be_visible()
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()
