"""Market basket rules from the CRM's own orders, at category and product level, and
cross-sell lists for the most profitable customers (``vinculo analytics basket`` without a
file; the file form is the command's own, see ``basket``).

Baskets: every order that brought revenue (the warehouse's ``fact_sales``; bundle
components left out, the bundle itself counts) placed in the ``days`` up to the warehouse's
as-of date, as the set of its products — and, for the category rules, of their categories one level
below the top (the top level where there is none: "Running", not "Sport"; six top-level
categories bought by everyone give no rule worth reading). Rules come from
``basket.mine_rules``, the engine the arules comparison tests; only rules with a lift above
1 (the left-hand side makes the right more likely than it is anyway) are shown or used.

Cross-sell: the buyers with the highest net contribution (margin − service cost − marketing
cost, counted as ``profitability`` counts them; the top ``top_share`` of buyers with a
positive one) get the active products they have never bought that a product rule predicts
from what they have bought: for each such product, the strongest rule (confidence, then
lift) whose left-hand side they bought entirely. Up to ``SUGGESTIONS`` a customer, written to
``scores["cross_sell"]``; a customer who held a list from an earlier run and no longer
qualifies loses it, so the lists are always the last run's."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _
from scipy import sparse

from vinculo.analytics import basket, profitability, warehouse
from vinculo.analytics import segmentation as seg
from vinculo.analytics.runs import model_run, publish_scores
from vinculo.core.errors import ValidationError

SCORE = "cross_sell"
SUGGESTIONS = 3
TOP_RULES = {"category": 25, "product": 50}  # rules kept in the run's summary, by lift
TOP_PRODUCTS = 20  # cross-sell summary: products most often suggested first

_LINES = """
SELECT DISTINCT f.order_id, f.customer_id, f.product_id,
       coalesce(p.category_l2, p.category_l1) AS category
FROM fact_sales f JOIN dim_product p USING (product_id)
JOIN dim_customer c USING (customer_id)
WHERE f.is_revenue AND NOT f.is_component AND c.merged_into_id IS NULL
  AND f.ordered_date > ?
"""


@dataclass(frozen=True)
class CrossSellResult:
    run_id: int
    version: int
    metrics: dict
    summary: dict
    scores: dict[int, dict]


def order_lines(as_of: dt.date, days: int) -> pd.DataFrame:
    """(order_id, customer_id, product_id, category) of the orders of the ``days`` before
    ``as_of`` (the warehouse's date; any later order it holds counts too)."""
    return warehouse.query_frame(_LINES, [as_of - dt.timedelta(days)])


def baskets_of(lines: pd.DataFrame, column: str) -> list[list[str]]:
    """One basket per order: the distinct values of ``column`` (as text), in any order."""
    pairs = lines[["order_id", column]].dropna().drop_duplicates()
    pairs = pairs.sort_values("order_id", kind="stable")
    items = pairs[column].astype(str).to_numpy()
    ids = pairs["order_id"].to_numpy()
    starts = np.r_[0, np.flatnonzero(ids[1:] != ids[:-1]) + 1] if len(ids) else np.array([], int)
    return [list(chunk) for chunk in np.split(items, starts[1:])] if len(ids) else []


def rule_table(
    result: basket.BasketResult, level: str, names: dict[str, str], top: int
) -> list[dict]:
    """The ``top`` strongest rules (lift, confidence, support) as plain dicts."""
    out = []
    for antecedent, consequent, support, confidence, lift in result.rule_rows():
        if len(out) >= top or lift <= 1:  # strongest lift first: the rest are no better
            break
        out.append(
            {
                "level": level,
                "antecedent": [names.get(a, a) for a in antecedent],
                "consequent": names.get(consequent, consequent),
                "support": round(support, 4),
                "confidence": round(confidence, 4),
                "lift": round(lift, 3),
            }
        )
    return out


def most_profitable(top_share: float) -> pd.Series:
    """Net contribution of the top ``top_share`` of buyers with a positive one, by id."""
    df, _note = profitability.contribution()
    net = df.loc[df["orders"] > 0, "net_contribution"]
    net = net[net > 0].sort_values(ascending=False, kind="stable")
    return net.head(max(1, int(np.ceil(len(net) * top_share))) if len(net) else 0)


def suggestions(
    result: basket.BasketResult, owned: pd.DataFrame, sellable: set[str]
) -> pd.DataFrame:
    """Per customer, the products (rule consequents) they have not bought, each with its
    strongest rule whose antecedent they bought entirely; best first, ``SUGGESTIONS`` each.

    ``owned``: (customer_id, item) rows, items as the rules name them. Columns out:
    customer_id, item, rule (index into ``result.rules``), confidence, lift."""
    columns = ["customer_id", "item", "rule", "confidence", "lift"]
    rules = result.rules
    index = {label: i for i, label in enumerate(result.items)}
    owned = owned.assign(code=owned["item"].map(index)).dropna(subset=["code"])
    if owned.empty or not len(rules.antecedents):
        return pd.DataFrame(columns=columns)
    customers, ids = pd.factorize(owned["customer_id"])
    matrix = sparse.csc_matrix(
        (np.ones(len(owned), dtype=np.int8), (customers, owned["code"].astype(np.int64))),
        shape=(len(ids), len(result.items)),
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    holders = [matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]] for j in range(len(index))]
    found_customers, found_rules = [], []
    for r, (antecedent, consequent) in enumerate(
        zip(rules.antecedents, rules.consequents.tolist(), strict=True)
    ):
        if result.items[consequent] not in sellable or rules.lift[r] <= 1:
            continue
        have = holders[antecedent[0]]
        for item in antecedent[1:]:
            have = np.intersect1d(have, holders[item], assume_unique=True)
        have = np.setdiff1d(have, holders[consequent], assume_unique=True)
        if len(have):
            found_customers.append(have)
            found_rules.append(np.full(len(have), r))
    if not found_customers:
        return pd.DataFrame(columns=columns)
    who = np.concatenate(found_customers)
    rule = np.concatenate(found_rules)
    table = pd.DataFrame(
        {
            "customer_id": ids[who],
            "item": [result.items[c] for c in rules.consequents[rule].tolist()],
            "rule": rule,
            "confidence": rules.confidence[rule],
            "lift": rules.lift[rule],
        }
    )
    table = table.sort_values(
        ["customer_id", "confidence", "lift", "rule"], ascending=[True, False, False, True]
    )
    table = table.drop_duplicates(["customer_id", "item"])
    return table.groupby("customer_id", sort=False).head(SUGGESTIONS).reset_index(drop=True)


def _check(*, days: int, min_support: float, min_confidence: float, top_share: float) -> None:
    if not 1 <= days <= 3650:
        raise ValidationError.for_field("days", _("Days is a number of days from 1 to 3650."))
    if not 0 < min_support <= 1:
        raise ValidationError.for_field(
            "min_support", _("Minimum support is a fraction above 0 and at most 1.")
        )
    if not 0 < min_confidence <= 1:
        raise ValidationError.for_field(
            "min_confidence", _("Minimum confidence is a fraction above 0 and at most 1.")
        )
    if not 0 < top_share <= 1:
        raise ValidationError.for_field(
            "top_share", _("The share of customers is a fraction above 0 and at most 1.")
        )


def run_cross_sell(
    *,
    days: int = 730,
    min_support: float = 0.002,
    min_confidence: float = 0.1,
    top_share: float = 0.2,
    max_length: int = 3,
    write: bool = True,
) -> CrossSellResult:
    """Mine the category and product rules of the orders, record them as a ``basket`` run and
    write the most profitable customers' cross-sell lists (unless ``write`` is False)."""
    _check(days=days, min_support=min_support, min_confidence=min_confidence, top_share=top_share)
    as_of = seg.as_of()
    params = {
        "days": days,
        "min_support": min_support,
        "min_confidence": min_confidence,
        "top_share": top_share,
        "max_length": max_length,
    }
    with model_run("basket", params=params, as_of=as_of) as run:
        lines = order_lines(as_of, days)
        seg.require_rows(lines, what=_("orders in the period"))
        products = warehouse.query_frame("SELECT product_id, sku, name, active FROM dim_product")
        products["item"] = products["product_id"].astype(str)
        names = dict(zip(products["item"], products["name"].astype(str), strict=True))
        skus = dict(zip(products["item"], products["sku"].astype(str), strict=True))
        mined = {
            level: basket.mine_rules(
                baskets_of(lines, column),
                min_support=min_support,
                min_confidence=min_confidence,
                max_length=max_length,
            )
            for level, column in (("category", "category"), ("product", "product_id"))
        }
        top = most_profitable(top_share)
        owned = lines.loc[lines["customer_id"].isin(top.index), ["customer_id", "product_id"]]
        owned = owned.drop_duplicates().rename(columns={"product_id": "item"})
        owned["item"] = owned["item"].astype(str)
        sellable = set(products.loc[products["active"].fillna(False).astype(bool), "item"])
        found = suggestions(mined["product"], owned, sellable)
        scores = _scores(found, mined["product"], top, names, skus, as_of, run.version)
        run.metrics = {
            "baskets": mined["product"].n_baskets,
            **{level: result.report() for level, result in mined.items()},
            "profitable_customers": len(top),
            "customers_with_suggestions": len(scores),
        }
        first = Counter((s["label"], s["sku"]) for s in scores.values())
        run.summary = {
            "rules": [
                row
                for level, result in mined.items()
                for row in rule_table(result, level, names, TOP_RULES[level])
            ],
            "cross_sell": [
                {"label": label, "sku": sku, "customers": n}
                for (label, sku), n in first.most_common(TOP_PRODUCTS)
            ],
        }
        run.customers_scored = _publish(scores) if write else 0
    return CrossSellResult(run.pk, run.version, run.metrics, run.summary, scores)


def _scores(found, result, top, names, skus, as_of, version) -> dict[int, dict]:
    """Per customer: the best suggestion as the headline, the rule behind it, the others."""
    out: dict[int, dict] = {}
    for cid, group in found.groupby("customer_id", sort=False):
        rows = list(group.itertuples(index=False))
        best = rows[0]
        because = [names.get(result.items[i], "") for i in result.rules.antecedents[best.rule]]
        out[int(cid)] = {
            "label": names.get(best.item, best.item),
            "confidence": round(float(best.confidence), 4),
            "lift": round(float(best.lift), 3),
            "because": because,
            "also": [names.get(r.item, r.item) for r in rows[1:]],
            "net_contribution": seg.r2(top.get(cid, 0.0)),
            "product_id": int(best.item),
            "sku": skus.get(best.item, ""),
            "as_of": as_of.isoformat(),
            "run": version,
        }
    return out


def _publish(scores: dict[int, dict]) -> int:
    """Write this run's lists and take the key away from customers who no longer get one."""
    from vinculo.customers.services import clear_scores

    clear_scores(model=SCORE, keep=set(scores))
    return publish_scores(SCORE, scores)
