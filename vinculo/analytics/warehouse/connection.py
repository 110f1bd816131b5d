"""Opening the DuckDB warehouse file, and the read helper for models and dashboards.

DuckDB lets one process write a file at a time; readers open it read-only and briefly.
While a refresh holds the file, a reader waits a little and then gets a ``Conflict``
("try again") instead of an engine error."""

from __future__ import annotations

import contextlib
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


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # Timestamps are stored as UTC without a zone; business dates are computed in the
    # project's TIME_ZONE explicitly, so nothing depends on the machine's zone.
    con.execute("SET TimeZone = 'UTC'")


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
