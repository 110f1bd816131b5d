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
import itertools
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _
from scipy import sparse

from vinculo.core.errors import ValidationError

EPS = 1e-9
CHUNK_ROWS = 4096  # bit rows joined at a time when building the pairs' rows
ITEM_SEPARATOR = " | "  # between the items of an antecedent in the rules file


@dataclass(frozen=True)
class Level:
    """The frequent itemsets of one length k: ``items`` (n x k item indexes, ascending in each
    row, rows in lexicographic order) and ``counts`` (baskets containing each)."""

    items: np.ndarray
    counts: np.ndarray


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
    items: list[str]  # the frequent items; itemsets and rules refer to them by index
    distinct_items: int
    n_baskets: int
    levels: list[Level]  # levels[k - 1]: the frequent k-itemsets
    rules: Rules
    fit_seconds: float

    def report(self) -> dict:
        rule_len = Counter(len(a) + 1 for a in self.rules.antecedents)
        return {
            "baskets": self.n_baskets,
            "items": self.distinct_items,
            "frequent_items": len(self.items),
            "itemsets": sum(len(level.counts) for level in self.levels),
            "itemsets_by_length": {
                str(k): len(level.counts) for k, level in enumerate(self.levels, 1)
            },
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


def _encode(baskets: list[list[str]], min_count: int):
    """Labels of all items; the frequent ones (ascending by count) as indexes into the labels,
    with their counts, packed bit rows (one bit per basket) and a sparse basket x item
    matrix."""
    sizes = np.fromiter((len(b) for b in baskets), dtype=np.int64, count=len(baskets))
    codes, labels = pd.factorize(pd.Series(list(itertools.chain.from_iterable(baskets))))
    rows_a = codes.astype(np.int64)
    cols_a = np.repeat(np.arange(len(baskets), dtype=np.int64), sizes)
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
    matrix = sparse.csr_matrix(
        (np.ones(len(rows_a), dtype=np.int32), (cols_a, rows_a)),
        shape=(len(baskets), len(frequent)),
    )
    return list(labels), frequent, counts[frequent], bits.view(np.uint64), matrix


def _frequent_pairs(matrix, bits, min_count: int, last: bool):
    """The frequent 2-itemsets from the item co-occurrence counts (one sparse product, whose
    cost grows with the squared basket sizes rather than with pairs x baskets), with their bit
    rows unless they are the last level."""
    co = (matrix.T @ matrix).tocoo()
    keep = (co.row < co.col) & (co.data >= min_count)
    first, second, counts = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    order = np.lexsort((second, first))
    first, second, counts = first[order], second[order], counts[order]
    items = np.column_stack([first, second]).astype(np.int64)
    if last:
        return items, counts, bits[:0]
    joined = [
        bits[first[i : i + CHUNK_ROWS]] & bits[second[i : i + CHUNK_ROWS]]
        for i in range(0, len(first), CHUNK_ROWS)
    ]
    return items, counts, np.concatenate(joined) if joined else bits[:0]


def _join_pairs(items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j), i < j, of rows sharing all but their last item: the candidates one item
    longer (rows are in lexicographic order, so such rows are contiguous)."""
    n, k = items.shape
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if k == 1:
        group_end = np.full(n, n)
    else:
        new_group = np.ones(n, dtype=bool)
        new_group[1:] = (items[1:, :-1] != items[:-1, :-1]).any(axis=1)
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], n)
        group_end = np.repeat(ends, np.diff(np.append(starts, n)))
    partners = group_end - np.arange(n) - 1
    left = np.repeat(np.arange(n), partners)
    offsets = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    return left, left + 1 + offsets


def frequent_itemsets(
    baskets: list[list[str]], *, min_support: float, max_length: int = 10
) -> tuple[list[str], list[Level], int]:
    """Every itemset of at most ``max_length`` items in at least ``min_support`` of the
    baskets, by length (``levels[k - 1]`` holds the k-itemsets), with the number of distinct
    items. Itemsets hold indexes into the returned labels of the frequent items, which are in
    ascending order of support."""
    if not 0 < min_support <= 1:
        raise ValidationError.for_field("min_support", _("The minimum support must be in (0, 1]."))
    if max_length < 1:
        raise ValidationError.for_field("max_length", _("The maximum length must be at least 1."))
    min_count = max(1, math.ceil(min_support * len(baskets) * (1 - EPS)))
    labels, frequent, counts, bits, matrix = _encode(baskets, min_count)
    if len(frequent) == 0:
        return [], [], len(labels)
    levels = [Level(np.arange(len(frequent), dtype=np.int64)[:, None], counts)]
    if max_length >= 2:
        items, counts, bits = _frequent_pairs(matrix, bits, min_count, max_length == 2)
        if len(counts):
            levels.append(Level(items, counts))
    while 2 <= len(levels) < max_length:
        left, right = _join_pairs(items)
        last = len(levels) + 1 == max_length
        items, counts, bits = _count_candidates(items, bits, left, right, min_count, last)
        if len(counts) == 0:
            break
        levels.append(Level(items, counts))
    return [labels[i] for i in frequent], levels, len(labels)


def _count_candidates(items, bits, left, right, min_count, last):
    """The frequent candidates among the joins (left, right), with their bit rows (not kept
    for the last level). Works in chunks of about 8 MB."""
    chunk = max(1, (1 << 20) // max(bits.shape[1], 1))  # 8 MB of words at a time
    kept_left, kept_right, kept_counts, kept_bits = [], [], [], []
    for start in range(0, len(left), chunk):
        lo, ro = left[start : start + chunk], right[start : start + chunk]
        joined = bits[lo] & bits[ro]
        support = np.bitwise_count(joined).sum(axis=1, dtype=np.int64)
        keep = support >= min_count
        kept_left.append(lo[keep])
        kept_right.append(ro[keep])
        kept_counts.append(support[keep])
        if not last:
            kept_bits.append(joined[keep])
    if not kept_left:
        return items[:0], np.zeros(0, np.int64), bits[:0]
    lo, ro = np.concatenate(kept_left), np.concatenate(kept_right)
    new_items = np.column_stack([items[lo], items[ro, -1]])
    new_bits = np.concatenate(kept_bits) if kept_bits else bits[:0]
    return new_items, np.concatenate(kept_counts), new_bits


def _row_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """One integer per row, increasing with the rows' lexicographic order."""
    keys = np.zeros(len(rows), dtype=np.int64)
    for column in rows.T:
        keys = keys * base + column
    return keys


def association_rules(levels: list[Level], n_baskets: int, *, min_confidence: float) -> Rules:
    """Rules A -> c with one item c on the right and A not empty, from frequent itemsets
    (every subset of a frequent itemset is frequent, so every antecedent's count is known)."""
    if not 0 <= min_confidence <= 1:
        raise ValidationError.for_field(
            "min_confidence", _("The minimum confidence must be in [0, 1].")
        )
    base = max(len(levels[0].counts), 2) if levels else 2
    item_support = np.zeros(base)
    if levels:
        item_support[levels[0].items[:, 0]] = levels[0].counts / n_baskets
    antecedents, consequents, both, left = [], [], [], []
    for k in range(2, len(levels) + 1):
        whole, parts = levels[k - 1], levels[k - 2]
        if base ** (k - 1) >= 2**62:  # keys would overflow: look the antecedents up by row
            lookup = {tuple(r): c for r, c in zip(parts.items.tolist(), parts.counts, strict=True)}
        else:
            part_keys = _row_keys(parts.items, base)
        for j in range(k):
            antecedent = np.delete(whole.items, j, axis=1)
            if base ** (k - 1) >= 2**62:
                a_counts = np.array([lookup[tuple(r)] for r in antecedent.tolist()])
            else:
                a_counts = parts.counts[np.searchsorted(part_keys, _row_keys(antecedent, base))]
            ok = whole.counts >= min_confidence * a_counts * (1 - EPS)
            antecedents.extend(map(tuple, antecedent[ok].tolist()))
            consequents.append(whole.items[ok, j])
            both.append(whole.counts[ok])
            left.append(a_counts[ok])
    cons = np.concatenate(consequents) if consequents else np.zeros(0, np.int64)
    both_a = np.concatenate(both).astype(float) if both else np.zeros(0)
    left_a = np.concatenate(left).astype(float) if left else np.zeros(0)
    confidence = both_a / np.maximum(left_a, 1)
    return Rules(
        antecedents=antecedents,
        consequents=cons,
        support=both_a / n_baskets,
        confidence=confidence,
        lift=confidence / item_support[cons],
    )


def mine_rules(
    baskets: list[list[str]], *, min_support: float, min_confidence: float, max_length: int = 10
) -> BasketResult:
    """Frequent itemsets and one-consequent association rules of a list of baskets. Pure."""
    if not baskets:
        raise ValidationError.for_field("baskets", _("There are no baskets."))
    started = time.perf_counter()
    labels, levels, distinct = frequent_itemsets(
        baskets, min_support=min_support, max_length=max_length
    )
    rules = association_rules(levels, len(baskets), min_confidence=min_confidence)
    elapsed = time.perf_counter() - started
    return BasketResult(labels, distinct, len(baskets), levels, rules, elapsed)


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
