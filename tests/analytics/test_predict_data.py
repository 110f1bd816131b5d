"""Features as of a cutoff never see the future; evaluation figures on known inputs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vinculo.analytics import predict_data as data

CUT = dt.date(2026, 6, 30)


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day)


@pytest.fixture
def frames() -> data.Frames:
    orders = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5],
            "customer_id": [10, 10, 10, 20, 20],
            "day": [
                ts("2026-01-10"),
                ts("2026-05-01"),
                ts("2026-07-05"),
                ts("2026-06-30"),
                ts("2025-12-01"),
            ],
            "revenue": [100.0, 50.0, 999.0, 30.0, 70.0],
            "margin": [10.0, 5.0, 99.0, 3.0, 7.0],
        }
    )
    interactions = pd.DataFrame(
        {
            "customer_id": [10, 10, 20, 20],
            "day": [ts("2026-06-01"), ts("2026-07-02"), ts("2024-01-01"), ts("2026-06-15")],
            "channel": ["phone", "phone", "email", "email"],
            "outcome": ["not_interested", "connected", "", "sent"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [10, 20, 30],
            "acquired": [ts("2025-06-30"), ts("2025-11-01"), ts("2026-06-01")],
            "source": ["web", "fair", "web"],
        }
    )
    return data.Frames(orders, orders.iloc[:0], interactions, customers)


def test_features_use_only_what_happened_by_the_cutoff(frames):
    X = data.features(frames, CUT, pd.Index([10, 20, 30], name="customer_id"))
    a, b, never = X.loc[10], X.loc[20], X.loc[30]
    # Customer 10's order of 999 on 5 July is after the cutoff: not counted anywhere.
    assert (a["frequency"], a["monetary"], a["recency_days"]) == (2, 150, 60)
    assert a["spend_last_90"] == 50 and a["spend_prior_90"] == 100 and a["trend_90"] == -50
    assert a["tenure_days"] == 365 and a["interactions_phone"] == 1
    assert a["outcome_not_interested"] == 1 and a["outcome_connected"] == 0
    # Bought on the cutoff day itself: recency 0. The 2024 email is older than a year.
    assert b["recency_days"] == 0 and b["interactions_email"] == 1 and b["outcome_sent"] == 1
    assert b["source_fair"] == 1 and b["source_web"] == 0
    # Never bought: zero spend, recency "long ago" instead of missing.
    assert never["frequency"] == 0 and never["recency_days"] == 3650 and never["tenure_days"] == 29
    assert not X.isna().any().any()


def test_active_customers_and_labels_windows(frames):
    assert list(data.active_customers(frames, CUT, 365)) == [10, 20]
    assert list(data.active_customers(frames, CUT, 30)) == [20]
    assert list(data.bought_in(frames, CUT, CUT + dt.timedelta(days=90))) == [10]


def test_evaluation_figures():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 3)
    perfect = data.evaluate(y, y * 0.9 + 0.05)
    assert perfect["auc"] == 1.0 and perfect["lift_top_decile"] == pytest.approx(5.0)
    assert [b["observed"] for b in perfect["reliability"]] == [0.0, 1.0]
    flat = data.evaluate(y, np.full(len(y), 0.2))
    assert flat["auc"] == 0.5 and flat["brier"] == pytest.approx(0.16)
    assert data.evaluate(np.zeros(5), np.full(5, 0.1))["auc"] is None


def test_text_columns_share_one_string_per_value_and_keep_missing_ones():
    # 9M order lines of a few categories: one Python string per row was ~1 GB at 1M customers.
    frame = pd.DataFrame(
        {
            "category": np.array(
                ["".join(["Sp", "ort"]), None, "".join(["Spo", "rt"]), np.nan, "Hogar"],
                dtype=object,
            )
        }
    )
    dtype = frame["category"].dtype
    first, third = frame["category"].iloc[0], frame["category"].iloc[2]
    assert first == third and first is not third  # as a query result gives them
    data._share_text(frame, "category")
    values = frame["category"].tolist()
    assert values[0] == values[2] == "Sport" and values[4] == "Hogar"
    assert values[0] is values[2]
    assert pd.isna(values[1]) and pd.isna(values[3])  # missing stays missing
    assert frame["category"].dtype == dtype
