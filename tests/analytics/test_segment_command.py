"""vinculo analytics rfm|clusters|...|all and the nightly task, end to end."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics.models import ModelRun
from vinculo.analytics.tasks import run_segmentation_models_task
from vinculo.customers.models import Customer


@pytest.fixture
def history(products, rep):
    people = []
    for i in range(12):
        c = customer(name=f"C{i}", owner=rep)
        for k in range(1 + i % 4):
            buy(c, products[("Garden", "Tech", "Books")[(i + k) % 3]], 400 - 60 * k - i)
        contact(c, 5 + i, channel="phone" if i % 2 else "email", user=rep)
        people.append(c)
    return people


def test_all_refreshes_then_runs_every_model_with_progress(history):
    out = io.StringIO()
    # Twelve customers are too few for the predictive models: they are refused, the others run,
    # and the command ends saying which failed (non-zero exit for cron to notice).
    with pytest.raises(CommandError, match="churn, propensity, forecast, clv"):
        call_command("analytics", "all", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 13 and lines[0].startswith("[1/13] warehouse: full refresh")
    assert lines[1].startswith("[2/13] rfm: run 1, 12 customers scored")
    assert lines[7].startswith("[8/13] adoption: run 1")
    assert lines[8].startswith("[9/13] basket: run 1")  # rules and cross-sell lists
    # Then the predictive models, each run recorded (done, or refused on so little history).
    assert [line.split(":")[0] for line in lines[9:]] == [
        "[10/13] churn",
        "[11/13] propensity",
        "[12/13] forecast",
        "[13/13] clv",
    ]
    assert set(ModelRun.objects.filter(status="done").values_list("model", flat=True)) >= {
        "rfm",
        "clusters",
        "profitability",
        "channels",
        "habits",
        "sequences",
        "adoption",
        "basket",
    }
    assert "failed" in lines[9]
    assert set(ModelRun.objects.filter(status="failed").values_list("model", flat=True)) == {
        "churn",
        "propensity",
        "forecast",
        "clv",
    }
    scores = Customer.objects.get(pk=history[3].pk).scores  # four orders
    assert {"rfm", "clusters", "profitability", "channel", "next_purchase"} <= set(scores)


def test_one_model_prints_its_run_and_dry_run_writes_no_scores(history):
    refresh()
    out = io.StringIO()
    call_command("analytics", "rfm", "--dry-run", stdout=out)
    report = json.loads(out.getvalue())
    assert report["model"] == "rfm" and report["metrics"]["customers_scored"] == 12
    assert report["customers_scored"] == 0
    assert "rfm" not in Customer.objects.get(pk=history[0].pk).scores


def test_bad_option_and_missing_warehouse_stop_with_a_message(db):
    with pytest.raises(CommandError, match="min-support"):
        call_command("analytics", "sequences", "--min-support", "1.5")
    with pytest.raises(CommandError, match="refresh") as exc:
        call_command("analytics", "rfm")
    assert exc.value.returncode == 2
    assert not ModelRun.objects.filter(status="done").exists()


def test_nightly_task_runs_every_model_and_reports_a_failure_without_stopping(products, db):
    buy(customer(name="Only one"), products["Books"], 3)  # no repeat purchase: no sequences
    result = run_segmentation_models_task.enqueue()
    value = result.return_value
    assert value["rfm"]["status"] == "done" and value["adoption"]["status"] == "done"
    assert value["sequences"]["status"] == "failed"
    assert "No repeat purchases" in value["sequences"]["error"]
    assert ModelRun.objects.get(model="sequences").status == "failed"


REFUSED_WITHOUT_DATA = {
    "rfm": "No orders",
    "clusters": "No orders",
    "channels": "No interactions or orders",
    "sequences": "No repeat purchases",
}


@pytest.mark.parametrize(
    "model", ["rfm", "clusters", "profitability", "channels", "habits", "sequences", "adoption"]
)
def test_a_warehouse_without_orders_is_refused_clearly_or_reported_empty(model, rep):
    window_shopper = customer(name="Window shopper", owner=rep)
    refresh()
    out = io.StringIO()
    if model in REFUSED_WITHOUT_DATA:
        with pytest.raises(CommandError, match=REFUSED_WITHOUT_DATA[model]):
            call_command("analytics", model, stdout=out)
        assert ModelRun.objects.get(model=model).status == "failed"
        assert Customer.objects.get(pk=window_shopper.pk).scores == {}
    else:
        call_command("analytics", model, stdout=out)
        assert json.loads(out.getvalue())["model"] == model


def test_scores_reach_the_customer_360_mart_and_survive_a_refresh(history):
    from vinculo.analytics import warehouse

    refresh()
    call_command("analytics", "rfm", stdout=io.StringIO())
    call_command("analytics", "channels", stdout=io.StringIO())
    someone = Customer.objects.get(pk=history[3].pk)

    def mart_row():
        return warehouse.query(
            "SELECT rfm_segment, rfm_score, preferred_channel FROM mart_customer_360 "
            "WHERE customer_id = ?",
            [someone.pk],
        )[0]

    expected = {
        "rfm_segment": someone.scores["rfm"]["segment"],
        "rfm_score": int(someone.scores["rfm"]["score"]),
        "preferred_channel": someone.scores["channel"]["channel"],
    }
    assert mart_row() == expected
    warehouse.refresh()  # rebuilding the marts keeps the models' last results
    assert mart_row() == expected
