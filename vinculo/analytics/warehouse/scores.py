"""Model scores inside the warehouse, so the customer 360 mart carries them.

Each model's per-customer results are kept as ``score_<model>`` (customer_id, value JSON),
replaced on every run, and the mart's score columns are filled from them: after a model run
(``store``) and after every refresh's mart rebuild (``apply_to_mart``), so a refresh never
blanks them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import duckdb

# Mart column <- (score table, JSON path, SQL type).
MART_COLUMNS: dict[str, tuple[str, str, str]] = {
    "rfm_segment": ("rfm", "$.segment", "VARCHAR"),
    "rfm_score": ("rfm", "$.score", "INTEGER"),
    "clv": ("clv", "$.clv", "DECIMAL(14,2)"),
    "churn_risk": ("churn", "$.p", "DOUBLE"),
    "propensity": ("nbo", "$.propensity", "DOUBLE"),
    "cluster": ("clusters", "$.description", "VARCHAR"),
    "preferred_channel": ("channel", "$.channel", "VARCHAR"),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _table(model: str) -> str:
    if not _NAME.match(model):
        raise ValueError(f"bad score name {model!r}")
    return f"score_{model}"


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchone()[0]
    )


def store(con: duckdb.DuckDBPyConnection, model: str, scores: Mapping[int, Any]) -> None:
    """Replace ``score_<model>`` with these results and update the mart's columns."""
    import pandas as pd

    table = _table(model)
    frame = pd.DataFrame(
        {
            "customer_id": [int(k) for k in scores],
            "value": [json.dumps(v, default=str) for v in scores.values()],
        }
    )
    con.register("incoming_scores", frame)
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS "
        "SELECT CAST(customer_id AS BIGINT) AS customer_id, CAST(value AS JSON) AS value "
        "FROM incoming_scores"
    )
    con.unregister("incoming_scores")
    apply_to_mart(con)


def apply_to_mart(con: duckdb.DuckDBPyConnection) -> None:
    """Fill mart_customer_360's score columns from the score tables that exist."""
    if not _exists(con, "mart_customer_360"):
        return
    for column, (model, path, sql_type) in MART_COLUMNS.items():
        table = _table(model)
        if not _exists(con, table):
            continue
        con.execute(
            f"UPDATE mart_customer_360 AS m SET {column} = "
            f"TRY_CAST(json_extract_string(s.value, '{path}') AS {sql_type}) "
            f"FROM {table} AS s WHERE s.customer_id = m.customer_id"
        )
