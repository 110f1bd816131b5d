"""Market basket analysis: frequent itemsets (Eclat over packed bitsets) and association rules
with one item on the right, as arules' ``apriori`` finds them (Agrawal & Srikant 1994; Zaki
2000 for Eclat).

Each item's baskets are a row of bits, 64 baskets per machine word; the baskets containing an
itemset are the AND of its items' rows, and its support the popcount. The search is depth
first, extending a prefix with all its candidate items in one NumPy call, so Python only
loops once per frequent itemset.

Thresholds are compared on counts (support >= S means count >= S x baskets), with a relative
tolerance so that a rule whose confidence is exactly the threshold (e.g. 12/15 = 0.8) is kept
although floating point gives 0.7999...
"""

from __future__ import annotations

import csv
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vinculo.core.errors import ValidationError

EPS = 1e-9
ITEM_SEPARATOR = " | "  # between the items of an antecedent in the rules file


@dataclass(frozen=True)
class Rules:
    """Rules as aligned arrays; ``antecedents[i]`` is a tuple of item indexes."""

    antecedents: list[tuple[int, ...]]
    consequents: np.ndarray
    support: np.ndarray
    confidence: np.ndarray
    lift: np.ndarray


@dataclass(frozen=True)
class BasketResult:
    items: list[str]
    n_baskets: int
    itemsets: dict[tuple[int, ...], int]  # item indexes (ascending) -> baskets containing them
    rules: Rules
    fit_seconds: float

    def report(self) -> dict:
        by_len = Counter(len(s) for s in self.itemsets)
        rule_len = Counter(len(a) + 1 for a in self.rules.antecedents)
        return {
            "baskets": self.n_baskets,
            "items": len(self.items),
            "itemsets": len(self.itemsets),
            "itemsets_by_length": {str(k): by_len[k] for k in sorted(by_len)},
            "rules": len(self.rules.antecedents),
            "rules_by_length": {str(k): rule_len[k] for k in sorted(rule_len)},
            "fit_seconds": round(self.fit_seconds, 4),
        }

    def rule_rows(self):
        """(antecedent items, consequent item, support, confidence, lift), strongest first."""
        r = self.rules
        order = np.lexsort((-r.support, -r.confidence, -r.lift))
        for i in order:
            yield (
                tuple(self.items[j] for j in r.antecedents[i]),
                self.items[r.consequents[i]],
                float(r.support[i]),
                float(r.confidence[i]),
                float(r.lift[i]),
            )


def _bitsets(baskets: list[list[str]], min_count: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Frequent items (ascending by count), one packed bit row each, and their counts."""
    index: dict[str, int] = {}
    cols, rows = [], []
    for b, basket in enumerate(baskets):
        for item in basket:
            rows.append(index.setdefault(item, len(index)))
            cols.append(b)
    labels = list(index)
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    counts = np.bincount(rows_a, minlength=len(labels))
    frequent = np.flatnonzero(counts >= min_count)
    frequent = frequent[np.argsort(counts[frequent], kind="stable")]
    rank = np.full(len(labels), -1, dtype=np.int64)
    rank[frequent] = np.arange(len(frequent))
    keep = rank[rows_a] >= 0
    rows_a, cols_a = rank[rows_a[keep]], cols_a[keep]
    words = (len(baskets) + 63) // 64
    bits = np.zeros((len(frequent), words * 8), dtype=np.uint8)
    # Baskets never repeat an item, so adding bit values is the same as OR-ing them.
    np.add.at(bits, (rows_a, cols_a >> 3), (1 << (cols_a & 7)).astype(np.uint8))
    return [labels[i] for i in frequent], bits.view(np.uint64), counts[frequent]


def frequent_itemsets(
    baskets: list[list[str]], *, min_support: float, max_length: int = 10
) -> tuple[list[str], dict[tuple[int, ...], int]]:
    """Every itemset of at most ``max_length`` items in at least ``min_support`` of the
    baskets, with its count. Item indexes refer to the returned labels."""
    if not 0 < min_support <= 1:
        raise ValidationError.for_field("min_support", "The minimum support must be in (0, 1].")
    if max_length < 1:
        raise ValidationError.for_field("max_length", "The maximum length must be at least 1.")
    min_count = max(1, math.ceil(min_support * len(baskets) * (1 - EPS)))
    labels, bits, counts = _bitsets(baskets, min_count)
    found: dict[tuple[int, ...], int] = {}

    def extend(prefix: tuple[int, ...], items: np.ndarray, rows: np.ndarray, counts: np.ndarray):
        for i in range(len(items)):
            itemset = (*prefix, int(items[i]))
            found[itemset] = int(counts[i])
            if len(itemset) == max_length or i + 1 == len(items):
                continue
            joined = rows[i + 1 :] & rows[i]
            support = np.bitwise_count(joined).sum(axis=1, dtype=np.int64)
            keep = support >= min_count
            if keep.any():
                extend(itemset, items[i + 1 :][keep], joined[keep], support[keep])

    extend((), np.arange(len(labels)), bits, counts)
    return labels, found


def association_rules(
    itemsets: dict[tuple[int, ...], int], n_baskets: int, *, min_confidence: float
) -> Rules:
    """Rules A -> c with one item c on the right and A not empty, from frequent itemsets."""
    if not 0 <= min_confidence <= 1:
        raise ValidationError.for_field(
            "min_confidence", "The minimum confidence must be in [0, 1]."
        )
    antecedents, consequents, both, left = [], [], [], []
    for itemset, count in itemsets.items():
        if len(itemset) < 2:
            continue
        for j, item in enumerate(itemset):
            antecedent = itemset[:j] + itemset[j + 1 :]
            a_count = itemsets[antecedent]  # every subset of a frequent itemset is frequent
            if count >= min_confidence * a_count * (1 - EPS):
                antecedents.append(antecedent)
                consequents.append(item)
                both.append(count)
                left.append(a_count)
    both_a, left_a = np.asarray(both, dtype=float), np.asarray(left, dtype=float)
    cons = np.asarray(consequents, dtype=np.int64)
    item_support = np.zeros(max(cons.max(initial=-1) + 1, 0))
    for (item,), count in ((k, v) for k, v in itemsets.items() if len(k) == 1):
        if item < len(item_support):
            item_support[item] = count / n_baskets
    confidence = both_a / left_a if len(left_a) else np.zeros(0)
    return Rules(
        antecedents=antecedents,
        consequents=cons,
        support=both_a / n_baskets,
        confidence=confidence,
        lift=confidence / item_support[cons] if len(cons) else np.zeros(0),
    )


def mine_rules(
    baskets: list[list[str]], *, min_support: float, min_confidence: float, max_length: int = 10
) -> BasketResult:
    """Frequent itemsets and one-consequent association rules of a list of baskets. Pure."""
    if not baskets:
        raise ValidationError.for_field("baskets", "There are no baskets.")
    started = time.perf_counter()
    labels, itemsets = frequent_itemsets(
        baskets, min_support=min_support, max_length=max_length
    )
    rules = association_rules(itemsets, len(baskets), min_confidence=min_confidence)
    return BasketResult(labels, len(baskets), itemsets, rules, time.perf_counter() - started)


def write_rules(result: BasketResult, path: Path) -> None:
    """CSV: antecedent (items joined by " | "), consequent, support, confidence, lift."""
    # Imported here so the mining functions run without Django set up (benchmarks).
    from vinculo.customers.exporting import csv_safe

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["antecedent", "consequent", "support", "confidence", "lift"])
        for antecedent, consequent, support, confidence, lift in result.rule_rows():
            writer.writerow(
                [
                    csv_safe(ITEM_SEPARATOR.join(antecedent)),
                    csv_safe(consequent),
                    f"{support:.6g}",
                    f"{confidence:.6g}",
                    f"{lift:.6g}",
                ]
            )
