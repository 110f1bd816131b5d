"""Per-customer reasons: the effect of setting one feature to the median, predicted again only
for the customers not already at the median (the rest have no effect by definition)."""

import numpy as np
import pandas as pd

from vinculo.analytics import predict_model as pm


def _data(n=900, seed=3):
    rnd = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "recency_days": rnd.integers(0, 365, n).astype(float),
            "orders_last_90": rnd.choice([0, 0, 0, 0, 1, 2], n).astype(float),  # mostly median
            "cases_365": rnd.choice([0, 0, 0, 0, 0, 3], n).astype(float),
            "constant": np.ones(n),
        }
    )
    logit = X["recency_days"] / 120 - X["orders_last_90"] - 2 + 0.3 * X["cases_365"]
    y = (rnd.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y.to_numpy()


def _brute_force(model, X):
    values = X.to_numpy(dtype=float)
    base = model.predict_proba(values)[:, 1]
    out = np.zeros_like(values)
    for j in range(values.shape[1]):
        moved = values.copy()
        moved[:, j] = np.median(values[:, j])
        out[:, j] = base - model.predict_proba(moved)[:, 1]
    return out


def test_effects_equal_predicting_every_customer_with_the_feature_at_its_median():
    X, y = _data()
    model, kind = pm.fit_classifier(X, y)
    assert kind.startswith("gbm")
    got = pm.effects(model, X, pm.predict(model, X))
    np.testing.assert_allclose(got, _brute_force(model, X), atol=1e-12)
    at_median = X["orders_last_90"].to_numpy() == 0
    assert np.all(got[at_median, 1] == 0) and np.any(got[~at_median, 1] != 0)
    assert np.all(got[:, 3] == 0)  # nobody differs from a constant


def test_the_top_reason_of_a_long_lapsed_customer_is_their_recency():
    X, y = _data()
    model, _kind = pm.fit_classifier(X, y)
    lapsed = X.assign(recency_days=364.0, orders_last_90=0.0, cases_365=0.0).iloc[:1]
    reasons = pm.top_reasons(lapsed, pm.effects(model, pd.concat([lapsed, X]))[:1])
    assert reasons[0][0]["feature"] == "recency_days" and reasons[0][0]["effect"] > 0
