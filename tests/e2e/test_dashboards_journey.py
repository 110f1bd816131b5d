"""Journey: a manager opens Analytics from the main menu, sees each dashboard draw its
Plotly charts (served from static/vendor, no CDN), drills revenue down one category level
and rolls back up with the breadcrumb."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.analytics.dashboard_data import build_shop
from vinculo.analytics import warehouse

LOAD_MS = 60_000


@pytest.fixture
def small_warehouse(settings, tmp_path, admin, rep):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    build_shop(admin, rep)
    warehouse.refresh()


def chart_drawn(page, div_id: str) -> None:
    # Parsing Plotly's 4.8 MB bundle takes a few seconds in a headless browser on a busy box.
    page.wait_for_load_state("load", timeout=LOAD_MS)
    chart = page.locator(f"#{div_id}.js-plotly-plot")
    expect(chart).to_be_visible()
    expect(chart.locator("svg.main-svg").first).to_be_attached()


def test_manager_opens_every_dashboard_and_drills_down(page, login, manager, small_warehouse):
    cdn_requests = []
    page.on("request", lambda r: cdn_requests.append(r.url) if "cdn" in r.url else None)
    login(manager)
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_load_state("load", timeout=LOAD_MS)
    expect(page.get_by_role("heading", name="Executive dashboard", level=1)).to_be_visible()
    chart_drawn(page, "chart-revenue")
    chart_drawn(page, "chart-pipeline")

    tabs = page.get_by_role("navigation", name="Dashboards")
    for name, chart in [
        ("Service", "chart-channels"),
        ("Marketing", "chart-leads"),
        ("Customer value", "chart-rfm"),
        ("Sales", "chart-drill"),
    ]:
        tabs.get_by_role("link", name=name).click()
        chart_drawn(page, chart)
    chart_drawn(page, "chart-funnel")

    drill = page.get_by_test_id("table-drill")
    expect(drill.get_by_role("columnheader").first).to_have_text("Category")
    drill.get_by_role("link", name="Tech").click()
    expect(page).to_have_url(re.compile(r"category_l1=Tech"))
    drill = page.get_by_test_id("table-drill")
    expect(drill.get_by_role("columnheader").first).to_have_text("Subcategory")
    expect(drill.get_by_role("rowheader", name="Phones")).to_be_visible()
    chart_drawn(page, "chart-drill")
    crumbs = page.get_by_test_id("breadcrumbs")
    expect(crumbs).to_contain_text("Tech")
    crumbs.get_by_role("link", name="All").click()
    expect(page.get_by_test_id("table-drill").get_by_role("rowheader", name="Home")).to_be_visible()
    assert cdn_requests == []
