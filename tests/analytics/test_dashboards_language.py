"""Dashboard tables and charts in the reader's language: codes stored in the warehouse
(channels, lead sources, lifecycle stages, churn bands) and the columns of model runs are
shown by their label; the CSV exports keep the codes and keys."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.analytics.dashboard_data import build_shop
from tests.analytics.test_dashboards import record_run
from vinculo.analytics import warehouse
from vinculo.customers.services import write_scores


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


@pytest.fixture
def shop(admin, rep):
    data = build_shop(admin, rep)
    warehouse.refresh()
    return data


def _spanish(user, client_for):
    user.language = "es"
    user.save(update_fields=["language"])
    return client_for(user)


def _cells(html: str, slug: str) -> list[str]:
    """The header and body cells of one dashboard table, as text."""
    section = html[html.index(f'data-testid="table-{slug}"') :]
    section = section[: section.index("</table>")]
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", section)
    ]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_service_channels_are_shown_in_spanish_and_exported_as_codes(shop, client_for, manager):
    client = _spanish(manager, client_for)
    html = client.get("/analytics/service/").content.decode()
    cells = _cells(html, "channels")
    assert cells[:4] == ["Canal", "Interacciones", "Entrante", "Saliente"]
    assert "Teléfono" in cells and "En persona" in cells
    assert "phone" not in cells and "in_person" not in cells
    chart = html[html.index('id="chart-channels"') :]
    assert '"name":"En persona"' in chart and '"name":"in_person"' not in chart
    exported = _csv(client.get("/analytics/service/?format=csv&table=channels"))
    assert exported[0][0] == "channel"
    assert {"phone", "in_person"} <= {r[0] for r in exported[1:]}


def test_lead_sources_and_stages_are_shown_in_spanish(shop, client_for, marketer):
    client = _spanish(marketer, client_for)
    leads = _cells(client.get("/analytics/marketing/").content.decode(), "leads")
    assert "Formulario web" in leads and "Evento" in leads and "web_form" not in leads
    value = _cells(client.get("/analytics/customer-value/").content.decode(), "profitability")
    assert "Cliente" in value and "customer" not in value
    exported = _csv(client.get("/analytics/marketing/?format=csv&table=leads"))
    assert "web_form" in {r[0] for r in exported[1:]}


def test_model_run_columns_have_named_headers_in_spanish(shop, client_for, analyst):
    record_run(
        "rfm",
        {"segments": {"champions": {"label": "Champions", "customers": 1, "revenue": 120.0}}},
    )
    client = _spanish(analyst, client_for)
    cells = _cells(client.get("/analytics/customer-value/").content.decode(), "segments")
    assert cells[:4] == ["Código", "Nombre", "Clientes", "Ingresos"]
    exported = _csv(client.get("/analytics/customer-value/?format=csv&table=segments"))
    assert exported[0] == ["code", "label", "customers", "revenue"]


def test_basket_rule_columns_say_what_they_mean_in_a_fixed_order(shop, client_for, marketer):
    """Same order on SQLite and PostgreSQL (whose jsonb reorders keys, shortest first)."""
    record_run(
        "basket",
        {"rules": [{"antecedent": ["Phone"], "consequent": "Case", "lift": 2.0, "extra_x": 1}]},
    )
    cells = _cells(client_for(marketer).get("/analytics/marketing/").content.decode(), "rules")
    assert cells[:4] == ["If bought", "Also bought", "Lift", "Extra x"]  # unknown key: as is


def test_churn_band_is_a_word_not_a_code(shop, client_for, manager):
    record_run("churn")
    write_scores(model="churn", scores={shop["ana"].pk: {"p": 0.9, "band": "high", "reasons": []}})
    cells = _cells(client_for(manager).get("/analytics/customer-value/").content.decode(), "churn")
    assert "High" in cells and "high" not in cells


def _kpis(html: str) -> dict[str, str]:
    pairs = re.findall(r'<p class="kpi-value">(.*?)</p><p class="kpi-label">(.*?)</p>', html)
    return {label: value for value, label in pairs}


@pytest.mark.parametrize(
    ("language", "win_rate", "risk", "number", "mix"),
    [
        # Django's Spanish format groups thousands with a non-breaking space.
        ("es", "100,0\u00a0%", "90,5\u00a0%", "1\u00a0234,5", "web: 0,25"),
        ("en", "100.0%", "90.5%", "1,234.5", "web: 0.25"),
    ],
)
def test_percentages_and_figures_are_written_in_the_readers_language(
    shop, client_for, manager, language, win_rate, risk, number, mix
):
    manager.language = language
    manager.save(update_fields=["language"])
    client = client_for(manager)
    record_run("churn")
    scores = {"p": 0.905, "band": "high", "reasons": [{"feature": "recency_days", "value": 1234.5}]}
    write_scores(model="churn", scores={shop["ana"].pk: scores})
    traits = [{"feature": "spend", "text": 1234.5}]
    record_run("clusters", {"clusters": [{"cluster": 1, "traits": traits, "mix": {"web": 0.25}}]})

    sales = client.get("/analytics/sales/").content.decode()
    assert _kpis(sales)["Tasa de éxito" if language == "es" else "Win rate"] == win_rate
    value = client.get("/analytics/customer-value/").content.decode()
    assert win_rate in _cells(value, "cohorts")  # 100 % of each cohort bought in month 0
    churn = _cells(value, "churn")
    assert risk in churn and f"recency_days = {number}" in churn
    # Chart ticks and hover values use the same marks.
    separators = re.findall(r'"separators":"(.*?)"', value)
    assert separators and set(separators) == {",\\u00a0" if language == "es" else ".,"}

    clusters = _cells(value, "clusters")
    assert number in clusters and mix in clusters

    # The CSV exports stay machine-readable whatever the reader's language.
    exported = _csv(client.get("/analytics/customer-value/?format=csv&table=churn"))
    row = dict(zip(exported[0], exported[1], strict=True))
    assert row["risk_pct"] == "90.5" and row["reasons"] == "recency_days = 1234.5"
    cohorts = _csv(client.get("/analytics/customer-value/?format=csv&table=cohorts"))
    assert cohorts[1][-1] == "100.0"
    run = _csv(client.get("/analytics/customer-value/?format=csv&table=clusters"))
    assert dict(zip(run[0], run[1], strict=True)) == {
        "cluster": "1",
        "traits": "1234.5",
        "mix": "web: 0.25",
    }
