"""The warehouse from the outside: the command, the task, the read helper's guarantees."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.analytics import test_warehouse as base
from tests.customers.factories import CustomerFactory
from vinculo.analytics import warehouse
from vinculo.analytics.tasks import refresh_warehouse_task
from vinculo.analytics.warehouse import connection as wh_connection
from vinculo.core.errors import Conflict
from vinculo.sales.pricing import CartLine

AS_OF = base.AS_OF
# The small known dataset of the warehouse tests (fixtures shared by name).
shop = base.shop
dataset = base.dataset


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    return settings.VINCULO_WAREHOUSE_PATH


def test_command_refreshes_and_reports_rows_per_source(dataset, capsys, warehouse_file):
    call_command("warehouse", "refresh", "--quiet", "--as-of", "2030-01-15")
    out = capsys.readouterr().out
    assert "Warehouse full refresh" in out and "order_lines" in out and "rows/s" in out
    assert warehouse_file.exists()
    call_command("warehouse", "refresh", "--quiet")
    assert "Warehouse incremental refresh" in capsys.readouterr().out
    call_command("warehouse", "status")
    status = capsys.readouterr().out
    assert "fact_order_line" in status and "dim_customer" in status


def test_command_refuses_a_bad_date_and_builds_nothing(db, warehouse_file):
    with pytest.raises(CommandError, match="--as-of"):
        call_command("warehouse", "refresh", "--quiet", "--as-of", "31/01/2030")
    assert not warehouse_file.exists()


def test_status_before_any_refresh_says_what_to_run(db):
    with pytest.raises(CommandError, match="warehouse refresh"):
        call_command("warehouse", "status")


def test_refresh_task_builds_the_warehouse(dataset):
    result = refresh_warehouse_task.enqueue(full=True)
    assert result.return_value["mode"] == "full"
    assert result.return_value["marts"]["mart_customer_360"] == 3
    assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360")[0]["n"] == 3


def test_query_binds_parameters_and_cannot_write(dataset):
    warehouse.refresh(as_of=AS_OF)
    rows = warehouse.query("SELECT name FROM mart_customer_360 WHERE name = ?", ["Ana"])
    assert rows == [{"name": "Ana"}]
    assert warehouse.query("SELECT name FROM mart_customer_360 WHERE name = ?", ["x' OR 1=1"]) == []
    with pytest.raises(duckdb.Error):
        warehouse.query("DELETE FROM mart_customer_360")
    assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360")[0]["n"] == 3
    frame = warehouse.query_frame("SELECT customer_id, revenue FROM mart_customer_360")
    assert list(frame.columns) == ["customer_id", "revenue"] and len(frame) == 3


def test_reader_gets_try_again_if_another_process_locks_the_file(
    dataset, warehouse_file, monkeypatch
):
    warehouse.refresh(as_of=AS_OF)
    monkeypatch.setattr(wh_connection, "BUSY_RETRIES", 2)
    monkeypatch.setattr(wh_connection, "BUSY_WAIT_SECONDS", 0.05)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(warehouse_file)!r})
                print("locked", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(Conflict, match="being refreshed"):
            warehouse.query("SELECT count(*) FROM mart_customer_360")
    finally:
        holder.communicate("done\n", timeout=30)
    assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360")[0]["n"] == 3


def test_extraction_queries_do_not_grow_with_rows(admin, dataset, shop):
    phone, _case, _kit = shop

    def queries_for_full_refresh() -> int:
        with CaptureQueriesContext(connection) as ctx:
            warehouse.refresh(full=True, as_of=AS_OF)
        return len(ctx.captured_queries)

    few = queries_for_full_refresh()
    for _ in range(15):
        base.place(admin, CustomerFactory(), [CartLine(phone.pk, 1)])
    assert queries_for_full_refresh() == few


def test_background_refresh_is_queued_for_the_worker_not_run(db, db_tasks, warehouse_file, capsys):
    from django_tasks_db.models import DBTaskResult

    call_command("warehouse", "refresh", "--background", "--full")
    assert "queued" in capsys.readouterr().out
    queued = DBTaskResult.objects.get()
    assert queued.task_path.endswith("refresh_warehouse_task") and queued.args_kwargs == {
        "args": [],
        "kwargs": {"full": True},
    }
    assert not warehouse_file.exists()


def test_command_refuses_a_chunk_size_below_one(db, warehouse_file):
    with pytest.raises(CommandError, match="--chunk-size"):
        call_command("warehouse", "refresh", "--quiet", "--chunk-size", "0")
    assert not warehouse_file.exists()


def test_readers_see_the_previous_warehouse_while_a_refresh_runs(admin, dataset):
    from vinculo.analytics.warehouse.connection import writer

    warehouse.refresh(as_of=AS_OF)
    with writer() as con:  # a refresh in progress, half-way through its writes
        con.execute("DELETE FROM mart_customer_360")
        assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360") == [{"n": 3}]
        with pytest.raises(Conflict, match="already running"):
            warehouse.refresh(as_of=AS_OF)
    # Swapped in when the refresh finished.
    assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360") == [{"n": 0}]


def test_a_failed_refresh_leaves_the_file_readers_use(admin, dataset):
    from vinculo.analytics.warehouse.connection import writer

    warehouse.refresh(as_of=AS_OF)
    with pytest.raises(RuntimeError), writer() as con:
        con.execute("DELETE FROM mart_customer_360")
        raise RuntimeError("killed half-way")
    assert warehouse.query("SELECT count(*) AS n FROM mart_customer_360") == [{"n": 3}]
    assert sorted(p.name for p in warehouse.warehouse_path().parent.iterdir()) == [
        "warehouse.duckdb",
        "warehouse.duckdb.lock",
    ]
