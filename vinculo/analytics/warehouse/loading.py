"""Appending extracted chunks to DuckDB. Measured (bench/bench_warehouse.py, and a 200k-row
micro-benchmark): ``executemany`` ≈ 500 rows/s, CSV files ≈ 120k rows/s, a pandas
DataFrame registered and inserted with one ``INSERT … SELECT`` ≈ 350k rows/s, Parquet
chunk files written by DuckDB from the same frames ≈ 400k rows/s. Extraction from the
operational database is the slower side either way, so the default is the frame loader
(no temporary files); ``parquet`` is kept for the bench and for very large backfills.
pyarrow is not installed, so the Arrow path is not available."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from vinculo.analytics.warehouse.sources import Source, select_sql

LOADERS = ("pandas", "parquet", "executemany")


def frame(source: Source, rows: Sequence[tuple]) -> pd.DataFrame:
    """A chunk of raw driver rows as a DataFrame DuckDB can scan without guessing: decimals
    as text (cast back to DECIMAL exactly; SQLite hands out floats like 48.4, PostgreSQL
    Decimals), timestamps as UTC (SQLite: ISO text in UTC; PostgreSQL: aware datetimes)."""
    cols = source.extracted
    df = pd.DataFrame.from_records(list(rows), columns=[c.name for c in cols])
    for c in cols:
        if c.type.startswith("DECIMAL"):
            # SQLite gives floats (already a numeric column: DuckDB rounds them to the
            # DECIMAL exactly); PostgreSQL gives Decimals, passed as text to stay exact.
            if df[c.name].dtype == object:
                df[c.name] = pd.Series(
                    [None if v is None else str(v) for v in df[c.name]], dtype=object
                )
        elif c.type == "TIMESTAMP":
            df[c.name] = pd.to_datetime(df[c.name], utc=True, format="ISO8601")
        elif c.type in {"VARCHAR", "DATE"}:
            df[c.name] = df[c.name].astype(object)
        if df[c.name].dtype == object and _is_json(df[c.name]):
            # JSON fields: PostgreSQL's driver hands out dicts/lists, SQLite the text.
            df[c.name] = pd.Series(
                [None if v is None else json.dumps(v, sort_keys=True) for v in df[c.name]],
                dtype=object,
            )
    return df


def _is_json(column: pd.Series) -> bool:
    first = column.first_valid_index()
    return first is not None and isinstance(column[first], dict | list)


class Loader:
    """Receives chunks of one source; ``replace`` deletes rows with the same keys first."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, *, replace: bool):
        self.con, self.source, self.replace = con, source, replace
        self._select = select_sql(source)

    def add(self, df: pd.DataFrame) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        return None


def scan(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, sql: str) -> None:
    """Run ``sql`` with the frame readable as ``_chunk``.

    Not ``con.register()``: a registered frame is a temporary view that keeps the frame (and
    every Python string in it) alive until the transaction ends, even after ``unregister()``
    (duckdb-python issue #469). A refresh is one transaction, so at 1M customers every chunk
    stayed in memory: 23 GB. A relation over the frame is released when the statement ends."""
    con.from_df(df).query("_chunk", sql)


class FrameLoader(Loader):
    def add(self, df: pd.DataFrame) -> None:
        s = self.source
        if self.replace:
            scan(
                self.con,
                df,
                f'DELETE FROM {s.table} WHERE "{s.key}" IN '
                f'(SELECT CAST("{s.key}" AS {_key_type(s)}) FROM _chunk)',
            )
        scan(self.con, df, f"INSERT INTO {s.table} SELECT {self._select} FROM _chunk")


class ParquetLoader(Loader):
    """Chunks go to Parquet files first, then one set-based delete + insert."""

    def __init__(self, con, source, *, replace):
        super().__init__(con, source, replace=replace)
        self.dir = Path(tempfile.mkdtemp(prefix=f"vinculo-wh-{source.name}-"))
        self.n = 0

    def add(self, df: pd.DataFrame) -> None:
        target = self.dir / f"part-{self.n:06d}.parquet"
        scan(
            self.con, df, f"COPY (SELECT {self._select} FROM _chunk) TO '{target}' (FORMAT parquet)"
        )
        self.n += 1

    def finish(self) -> None:
        s = self.source
        try:
            if not self.n:
                return
            files = f"'{self.dir}/*.parquet'"
            if self.replace:
                self.con.execute(
                    f'DELETE FROM {s.table} WHERE "{s.key}" IN '
                    f'(SELECT "{s.key}" FROM read_parquet({files}))'
                )
            self.con.execute(f"INSERT INTO {s.table} SELECT * FROM read_parquet({files})")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ExecuteManyLoader(Loader):
    """Row by row through ``executemany``: the slow baseline the bench compares against."""

    def add(self, df: pd.DataFrame) -> None:
        s = self.source
        staging = f"_stage_{s.name}"
        cols = ", ".join(f'"{c.name}" VARCHAR' for c in s.extracted)
        self.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({cols})")
        self.con.execute(f"DELETE FROM {staging}")
        rows = [
            tuple(None if pd.isna(v) else str(v) for v in row)
            for row in df.itertuples(index=False, name=None)
        ]
        marks = ", ".join("?" for _ in s.extracted)
        self.con.executemany(f"INSERT INTO {staging} VALUES ({marks})", rows)
        if self.replace:
            self.con.execute(
                f'DELETE FROM {s.table} WHERE "{s.key}" IN '
                f'(SELECT CAST("{s.key}" AS {_key_type(s)}) FROM {staging})'
            )
        self.con.execute(f"INSERT INTO {s.table} SELECT {self._select} FROM {staging}")


def _key_type(source: Source) -> str:
    return next(c.type for c in source.columns if c.name == source.key)


def make_loader(name: str, con, source: Source, *, replace: bool) -> Loader:
    cls = {"pandas": FrameLoader, "parquet": ParquetLoader, "executemany": ExecuteManyLoader}[name]
    return cls(con, source, replace=replace)
