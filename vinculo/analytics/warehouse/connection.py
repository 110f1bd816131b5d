"""Opening the DuckDB warehouse file, and the read helper for models and dashboards.

DuckDB lets one process write a file at a time, and a writer locks readers out. So a refresh
never writes the file readers use: ``writer()`` copies it, the refresh works on the copy, and
the copy replaces the file atomically (``os.replace``) once committed. Dashboards keep reading
the previous version meanwhile; a failed refresh just drops its copy. A lock file keeps a
second refresh out (``Conflict``: "already running")."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.utils.translation import gettext as _

from vinculo.core.errors import Conflict, NotFound

BUSY_RETRIES = 10
BUSY_WAIT_SECONDS = 0.2


def warehouse_path() -> Path:
    return Path(getattr(settings, "VINCULO_WAREHOUSE_PATH", settings.VAR_DIR / "warehouse.duckdb"))


def temp_directory() -> Path:
    """Where DuckDB spills what does not fit in its memory limit (next to the file)."""
    path = warehouse_path()
    return path.with_name(path.name + ".tmp")


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # Timestamps are stored as UTC without a zone; business dates are computed in the
    # project's TIME_ZONE explicitly, so nothing depends on the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # the command draws its own
    # DuckDB would take up to 80 % of the RAM; capped, the marts' joins and aggregates and
    # the refresh's uncommitted rows spill to disk instead. preserve_insertion_order stays
    # on: the marts are written ORDER BY their key and readers may rely on that order.
    con.execute(f"SET memory_limit = '{_setting('VINCULO_WAREHOUSE_MEMORY_LIMIT', '2GB')}'")
    con.execute(f"SET temp_directory = '{str(temp_directory()).replace(chr(39), chr(39) * 2)}'")
    threads = _setting("VINCULO_WAREHOUSE_THREADS", None)
    if threads:
        con.execute(f"SET threads = {int(threads)}")


def _setting(name: str, default):
    return getattr(settings, name, default) or default


@contextlib.contextmanager
def connect(*, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file, closed on exit. Read-only connections need the
    file to exist (raise ``NotFound`` otherwise); a busy file raises ``Conflict``."""
    path = warehouse_path()
    if read_only and not path.exists():
        raise NotFound(
            _("The warehouse has not been built yet. Run “vinculo warehouse refresh” first.")
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    con = None
    for attempt in range(BUSY_RETRIES):
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:  # the file is locked by a writer in another process
            if attempt == BUSY_RETRIES - 1:
                raise Conflict(
                    _("The warehouse is being refreshed right now. Try again in a moment.")
                ) from exc
            time.sleep(BUSY_WAIT_SECONDS * (attempt + 1))
    assert con is not None
    try:
        _configure(con)
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writer() -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a working copy of the warehouse, swapped in on a clean
    exit (after the caller's COMMIT) and discarded on an exception. One at a time."""
    path = warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _refresh_lock(path):
        work = path.with_name(path.name + ".refresh")
        for leftover in (work, _wal(work)):
            leftover.unlink(missing_ok=True)
        if path.exists():
            shutil.copy2(path, work)
            if _wal(path).exists():  # a writer died before its checkpoint: keep its commits
                shutil.copy2(_wal(path), _wal(work))
        try:
            con = duckdb.connect(str(work))
            try:
                _configure(con)
                yield con
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(work, path)
            _wal(path).unlink(missing_ok=True)
        finally:
            for leftover in (work, _wal(work)):
                leftover.unlink(missing_ok=True)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@contextlib.contextmanager
def _refresh_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, DuckDB's own file lock remains
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                _("A warehouse refresh is already running. Try again when it has finished.")
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def query(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run a read-only query on the warehouse and return its rows as dicts.

    ``params`` are bound (``?`` or ``$name`` placeholders), never formatted into the SQL.
    The connection is read-only, so a query cannot change the warehouse."""
    with connect(read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def query_frame(sql: str, params: Sequence[Any] | dict[str, Any] | None = None):
    """Like :func:`query`, as a pandas DataFrame (for models: scikit-learn, statsmodels)."""
    with connect(read_only=True) as con:
        return con.execute(sql, params or []).df()
