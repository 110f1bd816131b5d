"""The classifier the churn and propensity models share, and per-customer reasons.

Model choice: scikit-learn's HistGradientBoostingClassifier, calibrated with
CalibratedClassifierCV (3 folds; Platt scaling below 5,000 rows, isotonic above), when the
training set has at least ``MIN_ROWS_GBM`` rows and ``MIN_CLASS_GBM`` of each class; otherwise
a standardised LogisticRegression, which needs less data to be stable.

Reasons ("why is this customer's probability what it is"): for each feature, the change in
the predicted probability when that feature alone is set to the scoring population's median,
``p(x) - p(x with x_j = median_j)``. A positive effect means the customer's own value raises
the probability compared with a typical customer. The three features with the largest
absolute effect are the customer's reasons. It is a one-at-a-time (ceteris paribus)
attribution: cheap (one extra prediction per feature), model-agnostic and easy to explain,
but it ignores interactions between features, and effects do not add up to the probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

MIN_ROWS_GBM = 400
MIN_CLASS_GBM = 40
ISOTONIC_FROM = 5000
# One OpenMP thread: on a busy machine more threads spin-wait on each other (a 600-row fit
# took 120 s with 2 threads under load and 7 s with 1); the fits here are small anyway.
THREADS = 1


def fit_classifier(X: pd.DataFrame, y: np.ndarray, *, seed: int = 0):
    """Fit the classifier for this much data; return (model, kind)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y, dtype=int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    with threadpool_limits(limits=THREADS):
        if len(y) >= MIN_ROWS_GBM and minority >= MIN_CLASS_GBM:
            gbm = HistGradientBoostingClassifier(
                max_iter=100,
                learning_rate=0.1,
                max_leaf_nodes=15,
                min_samples_leaf=20,
                l2_regularization=1.0,
                random_state=seed,
            )
            method = "isotonic" if len(y) >= ISOTONIC_FROM else "sigmoid"
            model = CalibratedClassifierCV(gbm, method=method, cv=3)
            kind = f"gbm+{method}"
        else:
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
            kind = "logistic"
        model.fit(X.to_numpy(dtype=float), y)
    return model, kind


def predict(model, X: pd.DataFrame) -> np.ndarray:
    with threadpool_limits(limits=THREADS):
        return model.predict_proba(X.to_numpy(dtype=float))[:, 1]


def effects(model, X: pd.DataFrame, p: np.ndarray | None = None) -> np.ndarray:
    """Per customer and feature: p(x) - p(x with that feature at the population median)."""
    base = predict(model, X) if p is None else np.asarray(p, dtype=float)
    values = X.to_numpy(dtype=float)
    medians = np.median(values, axis=0)
    out = np.zeros_like(values)
    for j in range(values.shape[1]):
        # A customer already at the median has no effect: only the others are predicted
        # again (counts are mostly at their median of 0, so at 1M customers this skips most
        # of the rows of most features; predictions are per row, so the result is the same).
        differs = values[:, j] != medians[j]
        if not differs.any():
            continue
        moved = values[differs]
        moved[:, j] = medians[j]
        with threadpool_limits(limits=THREADS):
            out[differs, j] = base[differs] - model.predict_proba(moved)[:, 1]
    return out


def top_reasons(X: pd.DataFrame, effect: np.ndarray, *, top: int = 3) -> list[list[dict]]:
    """The ``top`` features with the largest absolute effect for each customer."""
    names = list(X.columns)
    values = X.to_numpy(dtype=float)
    order = np.argsort(-np.abs(effect), axis=1, kind="stable")[:, :top]
    result = []
    for i, row in enumerate(order):
        result.append(
            [
                {
                    "feature": names[j],
                    "value": round(float(values[i, j]), 2),
                    "effect": round(float(effect[i, j]), 4),
                }
                for j in row
                if effect[i, j] != 0
            ]
        )
    return result
