"""``vinculo analytics churn|propensity|forecast|clv-crm``: one JSON run report, refusals with
exit code 2 and nothing written."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.analytics.history import make_history
from vinculo.analytics import warehouse
from vinculo.analytics.models import ModelRun
from vinculo.customers.models import Customer

AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"


def run(*args) -> dict:
    out = io.StringIO()
    call_command("analytics", *args, stdout=out)
    return json.loads(out.getvalue())


def test_models_run_from_the_command_and_dry_run_writes_no_scores(admin):
    make_history(admin, as_of=AS_OF, customers=120)
    warehouse.refresh(as_of=AS_OF)
    report = run("churn", "--as-of", "2026-10-31", "--dry-run")
    assert report["model"] == "churn" and report["as_of"] == "2026-10-31"
    assert report["customers_scored"] == 0 and report["summary"]["customers"] > 50
    assert report["metrics"]["validation"]["auc"] is not None
    assert not Customer.objects.exclude(scores={}).exists()

    report = run("clv-crm", "--as-of", "2026-10-31")
    assert report["model"] == "clv" and report["customers_scored"] > 100
    assert Customer.objects.filter(scores__has_key="clv").count() == report["customers_scored"]

    report = run("forecast", "--as-of", "2026-10-31", "--months", "3")
    assert len(report["summary"]["rows"]) == 3 and report["metrics"]["backtest"]["mape"] >= 0

    report = run("propensity", "--as-of", "2026-10-31", "--recent-days", "45")
    assert report["metrics"]["categories"] == ["Books", "Garden", "Tech"]
    assert Customer.objects.filter(scores__has_key="nbo").count() == report["customers_scored"]


def test_bad_options_exit_with_code_2_and_run_nothing(db):
    with pytest.raises(CommandError) as err:
        call_command("analytics", "churn", "--horizon", "0")
    assert err.value.returncode == 2 and "horizon" in str(err.value)
    with pytest.raises(CommandError, match="not a date"):
        call_command("analytics", "forecast", "--as-of", "31/10/2026")
    with pytest.raises(CommandError) as err:
        call_command("analytics", "clv-crm", "--years", "50")
    assert err.value.returncode == 2
    assert not ModelRun.objects.exists()


def test_missing_warehouse_exits_with_code_2_and_keeps_the_failed_run(db):
    with pytest.raises(CommandError, match="refresh") as err:
        call_command("analytics", "propensity")
    assert err.value.returncode == 2
    assert ModelRun.objects.get().status == "failed"
