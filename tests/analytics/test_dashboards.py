"""The analytics dashboards: who may open them, what they draw, CSV exports, drill-down,
the explanation shown before the warehouse is built, and constant query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.analytics.dashboard_data import build_shop, more_buyers
from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.analytics.models import ModelRun
from vinculo.customers.services import write_scores

PAGES = [
    "/analytics/",
    "/analytics/sales/",
    "/analytics/service/",
    "/analytics/marketing/",
    "/analytics/customer-value/",
]
CHART = 'class="plotly-graph-div"'


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    return settings.VINCULO_WAREHOUSE_PATH


@pytest.fixture
def shop(admin, rep):
    data = build_shop(admin, rep)
    warehouse.refresh()
    return data


def rows_of(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def record_run(model: str, summary: dict | None = None) -> ModelRun:
    last = ModelRun.objects.filter(model=model).count()
    return ModelRun.objects.create(
        model=model, version=last + 1, status=ModelRun.Status.DONE, summary=summary or {}
    )


@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "marketer"])
def test_every_dashboard_draws_a_chart_for_users_with_analytics_view(
    request, role, shop, client_for
):
    client = client_for(request.getfixturevalue(role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert CHART in response.content.decode(), url
        assert b"vendor/plotly.min.js" in response.content  # served locally, no CDN
        assert b"cdn.plot.ly" not in response.content


def test_nav_shows_analytics_only_with_the_capability(shop, client_for, analyst, rep):
    assert b'href="/analytics/"' in client_for(analyst).get("/analytics/service/").content
    assert b'href="/analytics/"' not in client_for(rep).get("/customers/").content


@pytest.mark.parametrize("user", ["rep", "agent"])
def test_reps_and_agents_are_refused_every_dashboard_and_export(request, user, shop, client_for):
    client = client_for(request.getfixturevalue(user))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert CHART not in response.content.decode()
        assert client.get(url + "?format=csv").status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client, shop):
    response = client.get("/analytics/sales/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_executive_kpis_add_up_to_the_warehouse(shop, client_for, manager):
    response = client_for(manager).get("/analytics/")
    kpis = dict(response.context["d"].kpis)
    assert kpis["Customers"] == 4  # Ana, Ben and the two leads' customers
    assert kpis["Active (bought in the last 12 months)"] == 2
    assert str(kpis["Revenue"]) == "160.00"  # phone 100 + 2 cases 20, lamp 40
    assert str(kpis["Margin"]) == "71.00"
    # The pipeline forecast counts the open opportunity the manager may see.
    assert b"Statistical revenue forecast" in response.content  # no forecast run yet
    assert "vinculo analytics forecast" in response.content.decode()


def test_executive_draws_the_statsmodels_forecast_with_its_interval(shop, client_for, manager):
    record_run(
        "forecast",
        {
            "forecast": [
                {"month": "2031-01-01", "mean": 150.0, "lower": 90.0, "upper": 210.0},
                {"month": "2031-02-01", "mean": 170.0, "lower": 95.0, "upper": 240.0},
            ]
        },
    )
    html = client_for(manager).get("/analytics/").content.decode()
    assert "Forecast interval" in html and "2031-02" in html
    assert "vinculo analytics forecast" not in html


def test_pipeline_forecast_sits_beside_the_statistical_forecast(shop, client_for, manager):
    this_month = timezone.localdate().replace(day=1).isoformat()
    record_run(
        "forecast",
        {"forecast": [{"month": this_month, "mean": 500.0, "lower": 300.0, "upper": 700.0}]},
    )
    response = client_for(manager).get("/analytics/?format=csv&table=pipeline")
    first = rows_of(response)[0]
    assert first["month"] == this_month
    assert (first["forecast"], first["forecast_lower"], first["forecast_upper"]) == (
        "500.0",
        "300.0",
        "700.0",
    )


def test_csv_export_has_the_header_and_one_row_per_table_row(shop, client_for, manager):
    client = client_for(manager)
    rows = rows_of(client.get("/analytics/sales/?format=csv&table=drill"))
    assert [(r["label"], r["revenue"], r["margin"]) for r in rows] == [
        ("Tech", "120.00", "56.00"),
        ("Home", "40.00", "15.00"),
    ]
    response = client.get("/analytics/marketing/?format=csv&table=leads")
    assert response.content.decode().splitlines()[0] == (
        "source,campaign,leads,converted,conversion_pct,cost,cost_per_lead"
    )
    leads = {r["source"]: r for r in rows_of(response)}
    assert leads["web_form"]["campaign"] == "spring" and leads["web_form"]["cost"] == "12.50"
    assert leads["event"]["cost_per_lead"] == "30.00"
    channels = {r["channel"]: r for r in rows_of(client.get("/analytics/service/?format=csv"))}
    assert channels["phone"]["interactions"] == "2" and channels["email"]["interactions"] == "1"


def test_csv_export_of_an_unknown_table_names_the_choices(shop, client_for, manager):
    response = client_for(manager).get("/analytics/sales/?format=csv&table=nope")
    assert response.status_code == 400
    assert "'nope'" in response.content.decode() and "drill" in response.content.decode()


def test_drill_down_goes_from_category_to_product_and_breadcrumbs_roll_up(
    shop, client_for, manager
):
    client = client_for(manager)
    top = client.get("/analytics/sales/")
    labels = [r["label"] for r in top.context["d"].tables["drill"].rows]
    assert labels == ["Tech", "Home"]
    assert "?category_l1=Tech" in top.content.decode()  # each row links one level down
    tech = client.get("/analytics/sales/?category_l1=Tech")
    assert [r["label"] for r in tech.context["d"].tables["drill"].rows] == ["Phones"]
    assert tech.context["drill"].level.key == "category_l2"
    smart = client.get("/analytics/sales/?category_l1=Tech&category_l2=Phones")
    assert [r["label"] for r in smart.context["d"].tables["drill"].rows] == ["Smart", "—"]
    product = client.get(
        "/analytics/sales/?category_l1=Tech&category_l2=Phones&category_l3=Smart&format=csv"
        "&table=drill"
    )
    assert [(r["label"], r["units"]) for r in rows_of(product)] == [("Phone", "1")]
    crumbs = smart.context["crumbs"]
    assert [label for label, _url in crumbs] == ["All", "Tech", "Phones"]
    assert crumbs[1][1] == "?category_l1=Tech"  # back up one level
    assert crumbs[0][1] == "?"


def test_drill_down_by_region_and_by_team(shop, client_for, manager, rep):
    client = client_for(manager)
    regions = client.get("/analytics/sales/?dim=region&format=csv&table=drill")
    assert {r["label"] for r in rows_of(regions)} == {"Madrid", "Cataluña"}
    cities = client.get("/analytics/sales/?dim=region&region=Cataluña&format=csv&table=drill")
    assert [(r["label"], r["revenue"]) for r in rows_of(cities)] == [("Barcelona", "40.00")]
    teams = client.get("/analytics/sales/?dim=team&format=csv&table=drill")
    by_team = {r["label"]: r["revenue"] for r in rows_of(teams)}
    assert by_team[rep.team.name] == "120.00"  # Ana is rep's customer; Ben has no owner
    reps = client.get(f"/analytics/sales/?dim=team&team={rep.team.name}&format=csv&table=drill")
    assert [r["label"] for r in rows_of(reps)] == [rep.get_full_name() or rep.username]


def test_sales_funnel_and_win_rate_come_from_stage_history(shop, client_for, manager):
    response = client_for(manager).get("/analytics/sales/")
    d = response.context["d"]
    funnel = d.tables["funnel"].rows
    assert funnel[0]["opportunities"] == 2  # both entered the first stage
    assert funnel[-1]["opportunities"] == 1  # one was won
    assert dict(d.kpis)["Win rate"] == "100.0%"


def test_customer_value_without_model_runs_says_which_command_fills_each_panel(
    shop, client_for, manager
):
    html = client_for(manager).get("/analytics/customer-value/").content.decode()
    for model in ("churn", "clv", "rfm", "clusters"):
        assert f"Run “vinculo analytics {model}” to see this." in html
    assert 'id="chart-rfm"' in html and 'id="chart-cohorts"' in html


def test_cohort_retention_is_computed_per_first_order_month(shop, client_for, manager):
    rows = rows_of(client_for(manager).get("/analytics/customer-value/?format=csv&table=cohorts"))
    assert [(r["age"], r["customers"], r["size"], r["retention_pct"]) for r in rows] == [
        ("0", "2", "2", "100.0")
    ]


def test_rfm_grid_without_a_run_keeps_tied_customers_in_one_cell(shop, client_for, manager):
    # Ana and Ben bought once, today: same recency, same frequency, so the same cell.
    response = client_for(manager).get("/analytics/customer-value/?format=csv&table=rfm")
    assert [(r["r"], r["f"], r["customers"], r["monetary"]) for r in rows_of(response)] == [
        ("1", "1", "2", "80.00")
    ]


def test_churn_list_shows_only_customers_the_user_may_see(
    shop, client_for, manager, rep_b, marketer
):
    ana, ben = shop["ana"], shop["ben"]
    hidden = CustomerFactory(name="Hidden", owner=rep_b, team=rep_b.team)
    record_run("churn")
    reasons = [{"feature": "recency_days", "value": 200, "effect": 0.3}]
    write_scores(
        model="churn",
        scores={
            ana.pk: {"p": 0.4, "band": "medium", "reasons": reasons},
            ben.pk: {"p": 0.2, "band": "low", "reasons": []},
            hidden.pk: {"p": 0.9, "band": "high", "reasons": []},
        },
    )
    everyone = rows_of(
        client_for(marketer).get("/analytics/customer-value/?format=csv&table=churn")
    )
    assert [r["name"] for r in everyone] == ["Hidden", "Ana", "Ben"]  # highest risk first
    assert everyone[1]["reasons"] == "recency_days = 200" and everyone[1]["risk_pct"] == "40.0"
    mine = rows_of(client_for(manager).get("/analytics/customer-value/?format=csv&table=churn"))
    assert "Hidden" not in [r["name"] for r in mine]


def test_model_runs_fill_rfm_clusters_and_clv_panels(shop, client_for, analyst):
    ana, ben = shop["ana"], shop["ben"]
    record_run(
        "rfm",
        {"segments": {"champions": {"label": "Champions", "customers": 1, "revenue": 120.0}}},
    )
    write_scores(
        model="rfm",
        scores={
            ana.pk: {"r": 5, "f": 4, "monetary": 120.0, "segment": "champions"},
            ben.pk: {"r": 5, "f": 4, "monetary": 40.0, "segment": "champions"},
        },
    )
    record_run(
        "clusters",
        {
            "clusters": [
                {
                    "cluster": 0,
                    "customers": 2,
                    "description": "Mostly by phone",
                    "traits": [{"feature": "channel:phone", "text": "mostly by phone"}],
                }
            ]
        },
    )
    record_run("clv")
    write_scores(model="clv", scores={ana.pk: {"clv": 310.5}, ben.pk: 80})
    client = client_for(analyst)
    response = client.get("/analytics/customer-value/")
    d = response.context["d"]
    assert d.series["rfm"] == [{"r": 5, "f": 4, "customers": 2, "monetary": pytest.approx(80)}]
    assert sorted(d.series["clv"]) == [80.0, 310.5]
    assert 'id="chart-clv"' in response.content.decode()
    clusters = rows_of(client.get("/analytics/customer-value/?format=csv&table=clusters"))
    assert clusters[0]["description"] == "Mostly by phone"
    assert clusters[0]["traits"] == "mostly by phone"
    segments = rows_of(client.get("/analytics/customer-value/?format=csv&table=segments"))
    assert segments == [
        {"code": "champions", "label": "Champions", "customers": "1", "revenue": "120.0"}
    ]


def test_profitability_run_ranks_segments_and_clusters(shop, client_for, analyst):
    client = client_for(analyst)
    # Before the run: margin by lifecycle stage and source, from the warehouse.
    before = rows_of(client.get("/analytics/customer-value/?format=csv&table=profitability"))
    assert before[0]["lifecycle_stage"] and before[0]["margin"] == "71.00"
    record_run(
        "profitability",
        {
            "note": "Service cost is 15 per case.",
            "by_rfm_segment": [{"rank": 1, "label": "Champions", "net_contribution": 60.0}],
            "by_cluster": [{"rank": 1, "label": "Cluster 0", "net_contribution": 70.0}],
        },
    )
    html = client.get("/analytics/customer-value/").content.decode()
    assert "Service cost is 15 per case." in html
    ranked = rows_of(client.get("/analytics/customer-value/?format=csv&table=profitability"))
    assert ranked == [{"rank": "1", "label": "Champions", "net_contribution": "60.0"}]
    clusters = client.get("/analytics/customer-value/?format=csv&table=profitable_clusters")
    assert rows_of(clusters)[0]["label"] == "Cluster 0"


def test_marketing_shows_basket_rules_from_the_last_basket_run(shop, client_for, marketer):
    client = client_for(marketer)
    assert "vinculo analytics basket" in client.get("/analytics/marketing/").content.decode()
    record_run(
        "basket",
        {"rules": [{"antecedent": ["Phone"], "consequent": "Case", "confidence": 0.8}]},
    )
    rules = rows_of(client.get("/analytics/marketing/?format=csv&table=rules"))
    assert rules == [{"antecedent": "Phone", "consequent": "Case", "confidence": "0.8"}]


def test_service_page_says_cases_come_later_and_counts_interactions(shop, client_for, manager):
    response = client_for(manager).get("/analytics/service/")
    assert b"arrive with the service module" in response.content
    totals = {
        r["channel"]: r["interactions"] for r in response.context["d"].tables["channels"].rows
    }
    # Two calls, one email, and the captures of the web form and event leads.
    assert totals == {"phone": 2, "email": 1, "web": 1, "in_person": 1}


@pytest.mark.parametrize("url", PAGES)
def test_missing_warehouse_page_explains_the_refresh_command(url, db, client_for, manager):
    response = client_for(manager).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "vinculo warehouse refresh" in html and CHART not in html
    assert "Refresh the warehouse now" not in html  # only administrators get the button


def test_empty_warehouse_page_explains_the_refresh_command(db, client_for, manager):
    warehouse.refresh()  # built, but the database has no customers
    html = client_for(manager).get("/analytics/customer-value/").content.decode()
    assert "The warehouse has no data yet." in html and "vinculo warehouse refresh" in html


def test_warehouse_from_an_older_version_asks_for_a_full_rebuild(
    db, warehouse_file, client_for, manager
):
    import duckdb

    with duckdb.connect(str(warehouse_file)) as con:  # a customer mart, but no facts
        con.execute("CREATE TABLE mart_customer_360 AS SELECT 1 AS customer_id")
    response = client_for(manager).get("/analytics/service/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "rebuild it in full" in html and "--full" in html and CHART not in html


def test_admin_button_queues_a_refresh_and_others_cannot(db_tasks, client_for, admin, manager):
    html = client_for(admin).get("/analytics/").content.decode()
    assert "Refresh the warehouse now" in html
    assert client_for(manager).post("/analytics/refresh/").status_code == 403
    assert DBTaskResult.objects.count() == 0
    response = client_for(admin).post("/analytics/refresh/")
    assert response.status_code == 302
    assert DBTaskResult.objects.get().task_path.endswith("refresh_warehouse_task")
    assert "queued" in str(next(iter(get_messages(response.wsgi_request))))


def _score_churn(customers):
    write_scores(model="churn", scores={c.pk: {"p": 0.5, "reasons": []} for c in customers})


@pytest.mark.parametrize("url", PAGES)
def test_query_count_does_not_grow_with_rows(url, admin, rep, client_for, manager):
    data = build_shop(admin, rep)
    record_run("churn")
    _score_churn(data["customers"])
    warehouse.refresh()
    client = client_for(manager)
    client.get(url)  # the session and the caches are warm from here on
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _score_churn(more_buyers(admin, 40))
    warehouse.refresh()
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert CHART in response.content.decode()
    assert len(many) == len(few) <= 12
