"""Take the README's screenshots from a running demo (`make demo`), in Debian's Chromium.

    .venv/bin/python docs/screenshots/take.py [http://127.0.0.1:8000] [name ...]

Signs in as the demo users and saves one PNG per page next to this file. Pages that do not
exist in this build are skipped with a message, so the script works at every commit."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
ARGV = sys.argv[1:]
BASE = ARGV.pop(0) if ARGV and ARGV[0].startswith("http") else "http://127.0.0.1:8000"
ONLY = set(ARGV)  # names of the shots to take again; none: all of them
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# (file, user, path or callable(page) that navigates, language)
SHOTS = [
    ("my-day", "rep", "/my-day/", "en"),
    ("customers", "rep", "/customers/", "en"),
    ("customer-360", "rep", "first-customer", "en"),
    ("pipeline-board", "manager", "/sales/pipeline/", "en"),
    ("forecast", "manager", "/sales/forecast/", "en"),
    ("lead-queue", "rep", "/sales/leads/queue/", "en"),
    ("products", "manager", "/sales/catalog/", "en"),
    ("orders", "manager", "/sales/orders/", "en"),
    ("quotes", "manager", "/sales/quotes/", "en"),
    # A sent quote: accept, reject with a reason, or revise into a new draft.
    ("quote-detail", "manager", "first-sent-quote", "en"),
    ("price-check", "manager", "/sales/catalog/price-check/", "en"),
    ("duplicates", "admin", "/customers/duplicates/", "en"),
    ("dashboard-executive", "analyst", "/analytics/", "en"),
    ("dashboard-customer-value", "analyst", "/analytics/customer-value/", "en"),
    ("dashboard-sales", "manager", "/analytics/sales/?dim=category", "en"),
    ("customers-es", "rep", "/customers/", "es"),
]


def login(page, username: str, language: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{BASE}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("vinculo-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    switch = page.get_by_test_id("language-switch")
    if switch.input_value() != language:
        with page.expect_navigation():
            switch.select_option(language)
    page.wait_for_load_state("networkidle")


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        shots = [s for s in SHOTS if not ONLY or s[0] in ONLY]
        for name, user, path, language in shots:
            login(page, user, language)
            if path == "first-customer":
                page.goto(f"{BASE}/customers/")
                page.locator("main table tbody a").first.click()
            elif path == "first-sent-quote":
                page.goto(f"{BASE}/sales/quotes/?status=sent")
                page.locator("main table tbody a").first.click()
            else:
                response = page.goto(f"{BASE}{path}")
                if response is None or response.status >= 400:
                    print(f"skip {name}: {path} answered {response and response.status}")
                    continue
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(HERE / f"{name}.png"))
            print(f"saved {name}.png")
        # Restore the demo users' language.
        for user in {s[1] for s in shots}:
            login(page, user, "en")
        browser.close()


if __name__ == "__main__":
    main()
