"""Customer clusters: KMeans on standardized behaviour, with k chosen from the data and each
cluster described in plain words.

Features per buyer (customers with at least one order that brought revenue): recency,
frequency and spend (log scale: a few big spenders would otherwise be a cluster of their
own), tenure, margin %, the share of their interactions on each channel and the share of
their revenue in each top-level product category. Every feature is standardized (z-score).

k is the one with the best silhouette over k = 2..8, measured on a fixed random sample (the
silhouette is quadratic in the rows); the final KMeans runs on everyone with a fixed
random_state, so the same data gives the same clusters. A cluster is described by the
features whose cluster mean stands out most from the overall mean (|z| ≥ 0.5, the three
largest), each through a translatable phrase ("High spend", "mostly by %(channel)s")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from threadpoolctl import threadpool_limits

from vinculo.analytics import segmentation as seg
from vinculo.analytics import warehouse
from vinculo.analytics.runs import model_run

K_RANGE = range(2, 9)
SAMPLE = 3000
SEARCH_N_INIT = 3  # restarts per k while searching; the final fit uses FINAL_N_INIT
FINAL_N_INIT = 10
RANDOM_STATE = 0
MIN_Z = 0.5
MAX_TRAITS = 3


def _phrases() -> dict[str, tuple[str | None, str | None]]:
    """Feature → (phrase when high, phrase when low); None = not worth saying."""
    return {
        "recency": (_("not seen for a long time"), _("bought recently")),
        "frequency": (_("buys often"), _("buys rarely")),
        "monetary": (_("high spend"), _("low spend")),
        "tenure": (_("long-standing customer"), _("new customer")),
        "margin_pct": (_("high margin"), _("low margin")),
        "interactions": (_("in frequent contact"), _("rarely in contact")),
    }


def features(buyers: pd.DataFrame) -> pd.DataFrame:
    """The unscaled feature table, one row per buyer, indexed by customer id."""
    f = pd.DataFrame(index=buyers["customer_id"].astype(int))
    f["recency"] = buyers["recency_days"].to_numpy(dtype=float)
    f["frequency"] = np.log1p(buyers["frequency"].to_numpy(dtype=float))
    f["monetary"] = np.log1p(np.clip(buyers["monetary"].to_numpy(dtype=float), 0, None))
    f["tenure"] = buyers["tenure_days"].fillna(0).to_numpy(dtype=float)
    revenue = buyers["revenue"].to_numpy(dtype=float)
    margin = buyers["margin"].to_numpy(dtype=float)
    f["margin_pct"] = np.divide(margin, revenue, out=np.zeros(len(f)), where=revenue > 0)
    total = buyers["interactions"].to_numpy(dtype=float)
    f["interactions"] = np.log1p(total)
    for ch in seg.interaction_channels(buyers):
        counts = buyers[f"interactions_{ch}"].to_numpy(dtype=float)
        f[f"channel:{ch}"] = np.divide(counts, total, out=np.zeros(len(f)), where=total > 0)
    shares = _category_shares()
    if not shares.empty:
        shares = shares.reindex(f.index).fillna(0.0)
        for cat in shares.columns:
            f[f"category:{cat}"] = shares[cat].to_numpy()
    # A constant column carries no information and would divide by zero when scaled.
    return f.loc[:, f.std(ddof=0) > 0]


def _category_shares() -> pd.DataFrame:
    df = warehouse.query_frame(
        """
        SELECT s.customer_id, coalesce(p.category_l1, '') AS category,
               sum(s.revenue)::DOUBLE AS revenue
        FROM fact_sales s LEFT JOIN dim_product p USING (product_id)
        WHERE s.is_revenue AND NOT s.is_component
        GROUP BY ALL
        """
    )
    if df.empty:
        return df
    wide = df.pivot_table(index="customer_id", columns="category", values="revenue", fill_value=0)
    wide = wide.drop(columns=[""], errors="ignore")
    totals = wide.sum(axis=1).replace(0, np.nan)
    return wide.div(totals, axis=0).fillna(0.0)


def describe(z: pd.Series) -> tuple[str, list[dict]]:
    """A sentence from the cluster's most distinctive features (z of its mean vs overall)."""
    phrases = _phrases()
    traits, words = [], []
    for name, value in z.reindex(z.abs().sort_values(ascending=False).index).items():
        if abs(value) < MIN_Z or len(words) >= MAX_TRAITS:
            break
        high = value > 0
        if name.startswith("channel:"):
            text = _("mostly by %(channel)s") % {"channel": _channel_label(name[8:])}
            text = text if high else None
        elif name.startswith("category:"):
            text = _("favours %(category)s") % {"category": name[9:]} if high else None
        else:
            text = phrases.get(name, (None, None))[0 if high else 1]
        if text:
            words.append(text)
            traits.append({"feature": name, "z": round(float(value), 2), "text": text})
    sentence = capfirst(", ".join(words)) if words else _("Typical customers")
    return sentence, traits


def _channel_label(code: str) -> str:
    from vinculo.interactions.models import Interaction

    return str(dict(Interaction.Channel.choices).get(code, code)).lower()


def choose_k(x: np.ndarray) -> tuple[int, dict[int, float]]:
    """The k with the best silhouette over K_RANGE on a sample of the rows."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(RANDOM_STATE)
    sample = x if len(x) <= SAMPLE else x[rng.choice(len(x), SAMPLE, replace=False)]
    distinct = len(np.unique(sample, axis=0))
    scores: dict[int, float] = {}
    for k in K_RANGE:
        if k >= distinct:
            break
        labels = KMeans(n_clusters=k, random_state=RANDOM_STATE, n_init=SEARCH_N_INIT).fit_predict(
            sample
        )
        scores[k] = round(float(silhouette_score(sample, labels)), 4)
    if not scores:
        return 1, scores
    return max(scores, key=lambda k: (scores[k], -k)), scores


@dataclass
class ClusterResult:
    labels: pd.Series  # customer id → cluster number (0 = the largest)
    k: int
    silhouette: dict[int, float]
    clusters: list[dict]


def compute(buyers: pd.DataFrame) -> ClusterResult:
    """Cluster the buyers (pure apart from reading category shares from the warehouse)."""
    from sklearn.cluster import KMeans

    f = features(buyers)
    x = ((f - f.mean()) / f.std(ddof=0)).to_numpy() if f.shape[1] else np.zeros((len(f), 1))
    with threadpool_limits(limits=1):  # the shared machine: one BLAS thread is as fast
        k, silhouette = choose_k(x)
        if k == 1:
            raw = np.zeros(len(f), dtype=int)
        else:
            raw = KMeans(n_clusters=k, random_state=RANDOM_STATE, n_init=FINAL_N_INIT).fit_predict(
                x
            )
    # Number clusters by size, largest first, so "cluster 0" means the same across runs.
    sizes = np.bincount(raw, minlength=max(k, 1))
    order = {old: new for new, old in enumerate(np.argsort(-sizes, kind="stable"))}
    labels = pd.Series([order[v] for v in raw], index=f.index, name="cluster")
    z_all = pd.DataFrame(x, index=f.index, columns=f.columns if f.shape[1] else ["none"])
    clusters = []
    for c in range(max(k, 1)):
        members = labels.index[labels == c]
        sentence, traits = describe(z_all.loc[members].mean())
        spend = buyers.set_index("customer_id").loc[members, "monetary"]
        clusters.append(
            {
                "cluster": c,
                "customers": len(members),
                "description": sentence,
                "traits": traits,
                "avg_spend": seg.r2(spend.mean()),
            }
        )
    return ClusterResult(labels=labels, k=k, silhouette=silhouette, clusters=clusters)


_LAST: dict[tuple, ClusterResult] = {}


def compute_cached(buyers: pd.DataFrame) -> ClusterResult:
    """``compute``, remembered for the current warehouse file (its path, size and change
    time): profitability right after a clusters run reuses the clusters instead of fitting
    them again; any refresh changes the file and so the key."""
    path = warehouse.warehouse_path()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, len(buyers))
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = compute(buyers)
    return _LAST[key]


def run_clusters(*, write: bool = True) -> ClusterResult:
    """Cluster every buyer, record the run (silhouette per k, chosen k, descriptions) and
    write ``scores["clusters"]`` back. Deterministic over the same warehouse."""
    as_of = seg.as_of()
    params = {"k_range": [K_RANGE.start, K_RANGE.stop - 1], "sample": SAMPLE}
    with model_run("clusters", params={**params, "random_state": RANDOM_STATE}, as_of=as_of) as run:
        buyers, excluded = seg.buyers_frame()
        seg.require_rows(buyers, what=_("orders"))
        result = compute_cached(buyers)
        run.metrics = {
            "silhouette": {str(k): v for k, v in result.silhouette.items()},
            "k": result.k,
            "excluded_without_orders": excluded,
        }
        run.summary = {"clusters": result.clusters}
        if write:
            words = {c["cluster"]: c["description"] for c in result.clusters}
            scores = {
                int(cid): {"cluster": int(c), "description": words[int(c)]}
                for cid, c in result.labels.items()
            }
            run.customers_scored = seg.write_back("clusters", scores)
    return result
