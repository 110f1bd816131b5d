"""What the segmentation models (rfm, clusters, profitability, channels, habits, sequences,
adoption) share: the warehouse's as-of date, the buyers' frame read from the customer 360
mart, and writing per-customer results back in one call.

Models read the warehouse only (DESIGN.md: the same code runs on a laptop and a cluster) and
write back only through ``customers.services.write_scores``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from vinculo.analytics import warehouse
from vinculo.core.errors import ValidationError


def as_of() -> dt.date:
    """The date the warehouse's marts were computed for (its last refresh)."""
    rows = warehouse.query("SELECT max(as_of) AS as_of FROM mart_customer_360")
    value = rows[0]["as_of"] if rows else None
    return value or dt.date.today()


def customers_frame(columns: str = "*") -> pd.DataFrame:
    """Every live customer of the 360 mart (merged records excluded), by customer id."""
    return warehouse.query_frame(f"SELECT {columns} FROM mart_customer_360 ORDER BY customer_id")


def buyers_frame() -> tuple[pd.DataFrame, int]:
    """Customers with at least one order that brought revenue, and how many had none."""
    df = customers_frame()
    buyers = df[df["orders"] > 0].copy()
    for col in ("revenue", "cost", "margin", "monetary", "avg_order_value"):
        buyers[col] = buyers[col].astype(float)
    return buyers.reset_index(drop=True), int(len(df) - len(buyers))


def require_rows(df: pd.DataFrame, *, what: str) -> None:
    if df.empty:
        raise ValidationError(
            _("No %(what)s in the warehouse yet: seed or record some, then refresh it.")
            % {"what": what}
        )


def interaction_channels(df: pd.DataFrame) -> list[str]:
    """The per-channel interaction columns of the 360 mart, by channel code."""
    return [c.removeprefix("interactions_") for c in df.columns if c.startswith("interactions_")]


def write_back(model: str, scores: Mapping[int, Any]) -> int:
    """Write per-customer results (plain JSON values) back to ``Customer.scores[model]`` and
    into the warehouse's customer 360 mart (see ``runs.publish_scores``)."""
    from vinculo.analytics.runs import publish_scores

    return publish_scores(model, {int(k): v for k, v in scores.items()})


def r2(value: Any) -> float:
    """A JSON-safe float rounded to 2 places (NaN becomes 0)."""
    v = float(value)
    return 0.0 if np.isnan(v) else round(v, 2)
