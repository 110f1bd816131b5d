"""The warehouse refresh's memory: chunks are not kept until the refresh commits, and DuckDB
runs under the configured memory limit and threads (a full refresh at 1M customers took
23 GB before both)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref

import pytest
from django.test import override_settings

from vinculo.analytics import warehouse
from vinculo.analytics.warehouse.connection import connect, writer
from vinculo.analytics.warehouse.etl import _create_tables, _ensure_meta
from vinculo.analytics.warehouse.loading import FrameLoader, frame
from vinculo.analytics.warehouse.sources import REGISTRY


@pytest.fixture(autouse=True)
def warehouse_file(settings, tmp_path):
    settings.VINCULO_WAREHOUSE_PATH = tmp_path / "warehouse.duckdb"
    return settings.VINCULO_WAREHOUSE_PATH


def _team_rows(start: int, n: int) -> list[tuple]:
    return [(i, f"Team number {i}", "North", None) for i in range(start, start + n)]


@pytest.mark.parametrize("replace", [False, True], ids=["full", "incremental"])
def test_loaded_chunks_are_released_before_the_refresh_commits(db, replace):
    teams = REGISTRY["teams"]
    with writer() as con:
        _ensure_meta(con)
        _create_tables(con, drop=True)
        con.execute("BEGIN TRANSACTION")
        loader = FrameLoader(con, teams, replace=replace)
        alive = []
        for start in (1, 101, 201):
            chunk = frame(teams, _team_rows(start, 100))
            loader.add(chunk)
            alive.append(weakref.ref(chunk))
            del chunk
        gc.collect()
        # Still inside the refresh's transaction: no chunk may be held until COMMIT.
        assert [ref() is None for ref in alive] == [True, True, True]
        con.execute("COMMIT")
        loaded = con.execute("SELECT count(*), max(team_id) FROM dim_team").fetchone()
        assert loaded == (300, 300)
        assert con.execute("SELECT name FROM dim_team WHERE team_id = 300").fetchone() == (
            "Team number 300",
        )


@override_settings(VINCULO_WAREHOUSE_MEMORY_LIMIT="300MB", VINCULO_WAREHOUSE_THREADS=1)
def test_refresh_and_readers_run_under_the_configured_memory_limit(db, warehouse_file):
    with writer() as con:
        during_refresh = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('temp_directory')"
        ).fetchone()
    assert during_refresh == ("286.1 MiB", 1, f"{warehouse_file}.tmp")
    warehouse.refresh()
    with connect(read_only=True) as con:
        reading = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    assert reading == ("286.1 MiB", 1)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("VINCULO_WAREHOUSE_MEMORY_LIMIT", "lots"), ("VINCULO_WAREHOUSE_THREADS", "0")],
)
def test_a_bad_warehouse_setting_stops_startup_naming_the_variable(tmp_path, variable, value):
    env = {**os.environ, "VINCULO_VAR_DIR": str(tmp_path), variable: value}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", "import vinculo.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"{variable} must be" in done.stderr
    assert repr(value) in done.stderr
