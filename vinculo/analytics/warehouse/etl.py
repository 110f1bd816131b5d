"""The incremental ETL: operational database → DuckDB star schema → marts.

One refresh is one DuckDB transaction: facts, watermarks and marts change together or not
at all, so a failed run leaves the previous warehouse intact and the next run starts from
the previous watermarks. Extraction goes through the Django ORM (the same code on SQLite
and PostgreSQL; ``iterator(chunk_size=…)`` streams with a server-side cursor on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import duckdb
import pandas as pd
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Max, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from vinculo.analytics.warehouse import marts
from vinculo.analytics.warehouse.connection import writer
from vinculo.analytics.warehouse.loading import frame, make_loader, scan
from vinculo.analytics.warehouse.sources import REGISTRY, Source, columns_sql

# Rows whose updated_at is a little older than the watermark are read again: a transaction
# that committed after the last refresh may carry an earlier timestamp (auto_now is set at
# save, not at commit). Re-reading is harmless (rows are replaced by key).
OVERLAP = dt.timedelta(minutes=5)
DEFAULT_CHUNK = 10_000
KEY_CHUNK = 100_000  # keys streamed per batch when looking for hard deletes
SCHEMA_VERSION_KEY = "schema_fingerprint"

Progress = Callable[[str, int, int | None], None]


@dataclass
class SourceStats:
    source: str
    table: str
    mode: str  # "full", "incremental" or "reload"
    extracted: int = 0
    deleted: int = 0
    seconds: float = 0.0


@dataclass
class RefreshResult:
    mode: str
    as_of: dt.date
    sources: list[SourceStats] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def extracted(self) -> int:
        return sum(s.extracted for s in self.sources)

    @property
    def deleted(self) -> int:
        return sum(s.deleted for s in self.sources)


def _fingerprint() -> str:
    ddl = "\n".join(f"{s.table}({columns_sql(s)})" for s in REGISTRY.values())
    return hashlib.sha256((ddl + marts.VERSION).encode()).hexdigest()[:16]


def _ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta_watermark (source VARCHAR PRIMARY KEY, "
        "table_name VARCHAR, watermark TIMESTAMP, rows_total BIGINT, last_mode VARCHAR, "
        "last_extracted BIGINT, last_deleted BIGINT, last_seconds DOUBLE, refreshed_at TIMESTAMP)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta_refresh (started_at TIMESTAMP, finished_at TIMESTAMP, "
        "mode VARCHAR, as_of DATE, extracted BIGINT, deleted BIGINT, seconds DOUBLE)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS meta_info (key VARCHAR PRIMARY KEY, value VARCHAR)")


def _create_tables(con: duckdb.DuckDBPyConnection, *, drop: bool) -> None:
    for s in REGISTRY.values():
        if drop:
            con.execute(f"DROP TABLE IF EXISTS {s.table}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {s.table} ({columns_sql(s)})")
    if drop:
        con.execute("DELETE FROM meta_watermark")


def _utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_aware(value):
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _watermark(con, source: Source) -> dt.datetime | None:
    row = con.execute(
        "SELECT watermark FROM meta_watermark WHERE source = ?", [source.name]
    ).fetchall()
    if not row or row[0][0] is None:
        return None
    return row[0][0].replace(tzinfo=dt.UTC)


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def _stream(qs: QuerySet, source: Source, size: int) -> Iterator[list[tuple]]:
    """The source's columns of ``qs`` in chunks, raw from the driver.

    The SQL is the ORM's (so SQLite and PostgreSQL get their own dialect), but rows skip
    Django's per-value converters, and timestamps come as ISO text (``CAST(… AS text)``):
    parsing datetimes one by one in Python (Django's and psycopg's loaders) took most of the
    extraction time; the loader parses whole columns at once instead. PostgreSQL gets a
    server-side cursor (``chunked_cursor``), so memory stays at one chunk."""
    fields = [
        Cast(c.orm_path, output_field=TextField()) if c.type == "TIMESTAMP" else c.orm_path
        for c in source.extracted
    ]
    try:
        sql, params = qs.order_by().values_list(*fields).query.sql_with_params()
    except EmptyResultSet:
        return
    with connections[qs.db].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield batch


def _load_source(
    con, source: Source, *, full: bool, chunk_size: int, loader: str, progress: Progress | None
) -> SourceStats:
    started = time.perf_counter()
    previous = None if full else _watermark(con, source)
    upto = None
    if source.rows is not None or not source.incremental:
        mode = "reload"
        con.execute(f"DELETE FROM {source.table}")
        if source.rows is not None:
            rows: Iterable[tuple] = source.rows()
            total = None
        else:
            qs = source.queryset()
            total = qs.count()
            rows = (r for b in _stream(qs, source, chunk_size) for r in b)
    else:
        base = source.queryset()
        upto = base.aggregate(m=Max(source.watermark))["m"]
        mode = "incremental" if previous is not None else "full"
        qs = base.filter(**{f"{source.watermark}__lte": upto}) if upto else base.none()
        if previous is not None:
            qs = qs.filter(**{f"{source.watermark}__gt": previous - OVERLAP})
        total = qs.count()
        rows = (r for b in _stream(qs, source, chunk_size) for r in b)
    stats = SourceStats(source=source.name, table=source.table, mode=mode)
    sink = make_loader(loader, con, source, replace=mode == "incremental")
    if progress:
        progress(source.name, 0, total)
    for batch in _batches(rows, chunk_size):
        sink.add(frame(source, batch))
        stats.extracted += len(batch)
        if progress:
            progress(source.name, stats.extracted, total)
    sink.finish()
    if mode == "incremental" and source.hard_deletes:
        stats.deleted = _delete_missing(con, source, chunk_size, upto)
    new_mark = _utc_naive(upto) or (_utc_naive(previous) if previous else None)
    stats.seconds = time.perf_counter() - started
    ((rows_total,),) = con.execute(f"SELECT count(*) FROM {source.table}").fetchall()
    con.execute(
        "INSERT OR REPLACE INTO meta_watermark VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source.name,
            source.table,
            new_mark,
            rows_total,
            mode,
            stats.extracted,
            stats.deleted,
            stats.seconds,
            _utc_naive(timezone.now()),
        ],
    )
    return stats


def _delete_missing(con, source: Source, chunk_size: int, upto: dt.datetime | None) -> int:
    """Hard deletes: drop warehouse rows whose key no longer exists in the source table.

    First a count: after this refresh's load the warehouse holds every source row up to
    the watermark, so if it holds no more rows than the source has, none was deleted and
    the key scan is skipped (most refreshes). Otherwise the keys are streamed (one integer
    column) and DuckDB does a hash anti-join."""
    base = source.queryset()
    expected = base.filter(**{f"{source.watermark}__lte": upto}).count() if upto else 0
    ((have,),) = con.execute(f"SELECT count(*) FROM {source.table}").fetchall()
    if have <= expected:
        return 0
    keys = base.values_list(source.key_path, flat=True)
    size = max(chunk_size, KEY_CHUNK)
    # The keys go to a DuckDB temporary table a chunk at a time (DuckDB can spill it), not
    # into one Python list: 10M order lines would be 10M Python ints at once.
    con.execute("CREATE OR REPLACE TEMP TABLE _keys (k BIGINT)")
    try:
        for batch in _batches(keys.iterator(chunk_size=size), size):
            ids = pd.DataFrame({"k": pd.array(batch, dtype="Int64")})
            scan(con, ids, "INSERT INTO _keys SELECT k FROM _chunk")
        ((n,),) = con.execute(
            f'SELECT count(*) FROM {source.table} t ANTI JOIN _keys k ON t."{source.key}" = k.k'
        ).fetchall()
        if n:
            con.execute(
                f'DELETE FROM {source.table} WHERE "{source.key}" IN '
                f'(SELECT t."{source.key}" FROM {source.table} t '
                f'ANTI JOIN _keys k ON t."{source.key}" = k.k)'
            )
    finally:
        con.execute("DROP TABLE IF EXISTS _keys")
    return int(n)


def refresh(
    *,
    full: bool = False,
    as_of: dt.date | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    loader: str = "pandas",
    progress: Progress | None = None,
) -> RefreshResult:
    """Bring the warehouse up to date with the operational database and rebuild the marts.

    Incremental by default (rows changed since each source's watermark, hard deletes found
    by key); ``full`` rebuilds every table. Atomic (one DuckDB transaction on a copy that
    replaces the file when done, so readers are never blocked) and idempotent: running it
    again with nothing changed leaves identical facts and marts. One refresh at a time
    (``Conflict`` otherwise). ``as_of`` is the
    day recency and tenure are counted to (default: today in TIME_ZONE)."""
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    started_at = _utc_naive(timezone.now())
    with writer() as con:
        _ensure_meta(con)
        row = con.execute(
            "SELECT value FROM meta_info WHERE key = ?", [SCHEMA_VERSION_KEY]
        ).fetchall()
        fingerprint = _fingerprint()
        if not row or row[0][0] != fingerprint:
            full = True  # a new or changed schema: rebuild everything once
        con.execute("BEGIN TRANSACTION")
        try:
            _create_tables(con, drop=full)
            result = RefreshResult(mode="full" if full else "incremental", as_of=as_of)
            for source in REGISTRY.values():
                result.sources.append(
                    _load_source(
                        con,
                        source,
                        full=full,
                        chunk_size=chunk_size,
                        loader=loader,
                        progress=progress,
                    )
                )
            if progress:
                progress("marts", 0, None)
            result.mart_rows = marts.build(con, as_of=as_of, time_zone=settings.TIME_ZONE)
            result.seconds = time.perf_counter() - started
            con.execute(
                "INSERT OR REPLACE INTO meta_info VALUES (?, ?)", [SCHEMA_VERSION_KEY, fingerprint]
            )
            con.execute(
                "INSERT INTO meta_refresh VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    started_at,
                    _utc_naive(timezone.now()),
                    result.mode,
                    as_of,
                    result.extracted,
                    result.deleted,
                    result.seconds,
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return result


def status() -> list[dict]:
    """Each source's watermark and row count, and the last refresh (for the command)."""
    from vinculo.analytics.warehouse.connection import query

    return query("SELECT * FROM meta_watermark ORDER BY source")
