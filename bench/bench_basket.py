"""Market basket benchmark: frequent itemsets + one-consequent rules on Groceries and on a
larger synthetic set, against mlxtend's fpgrowth + association_rules.

    .venv/bin/python bench/bench_basket.py
    BENCH_BASKETS=200000 BENCH_BASKET_ITEMS=2000 .venv/bin/python bench/bench_basket.py

Both sides start from the same list of baskets (lists of item labels) and end with the rules,
so mlxtend's one-hot encoding is counted as our bit packing is. Rule counts are compared (one
item on the right, non-empty left side, as arules counts them). Target: at least 10x faster.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._child import measure  # noqa: E402
from vinculo.analytics import basket  # noqa: E402
from vinculo.analytics.transactions import read_basket_lines  # noqa: E402

TARGET_RATIO = 10.0


def synthetic(n_baskets: int, n_items: int, seed: int = 11) -> list[list[str]]:
    """Baskets in the style of the IBM Quest generator: each mixes a few recurring patterns
    (items often bought together) with items of Zipf-like popularity."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity /= popularity.sum()
    patterns = [
        rng.choice(n_items, size=max(2, rng.poisson(4)), replace=False, p=popularity)
        for _ in range(max(10, n_items // 5))
    ]
    weights = rng.exponential(1.0, len(patterns))
    weights /= weights.sum()
    labels = np.array([f"sku{i:05d}" for i in range(n_items)])
    baskets = []
    sizes = rng.poisson(8, n_baskets) + 1
    chosen = rng.choice(len(patterns), size=n_baskets, p=weights)
    fillers = rng.choice(n_items, size=int(sizes.sum()), p=popularity)
    start = 0
    for size, pattern in zip(sizes, chosen, strict=True):
        items = patterns[pattern]
        items = items[rng.random(len(items)) < 0.8]  # a pattern is not always complete
        extra = fillers[start : start + size]
        start += size
        baskets.append(list(dict.fromkeys(labels[np.concatenate([items, extra])].tolist())))
    return baskets


def ours(baskets, support, confidence) -> int:
    result = basket.mine_rules(baskets, min_support=support, min_confidence=confidence)
    return len(result.rules.antecedents)


def mlxtend_rules(baskets, support, confidence) -> int:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
        itemsets = fpgrowth(onehot, min_support=support, use_colnames=True, max_len=10)
        rules = association_rules(
            itemsets, num_itemsets=len(baskets), metric="confidence", min_threshold=confidence
        )
    return int((rules["consequents"].map(len) == 1).sum())


def compare(name, baskets, support, confidence) -> bool:
    print(f"  {name}: {len(baskets):,} baskets, support {support}, confidence {confidence}")
    count, seconds, peak = measure(lambda: ours(baskets, support, confidence))
    print(f"    vinculo: {seconds:8.3f} s  peak +{peak:8.1f} MiB  {count:,} rules")
    try:
        ref_count, ref_seconds, ref_peak = measure(
            lambda: mlxtend_rules(baskets, support, confidence)
        )
    except ImportError:
        print("    mlxtend: not installed (uv sync --group dev)")
        return True
    print(f"    mlxtend: {ref_seconds:8.3f} s  peak +{ref_peak:8.1f} MiB  {ref_count:,} rules")
    ratio = ref_seconds / seconds
    same = (
        "same rule count" if count == ref_count else f"RULE COUNTS DIFFER ({count} vs {ref_count})"
    )
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"    ratio: {ratio:.1f}x faster ({verdict} the {TARGET_RATIO:.0f}x target), "
        f"{ref_peak / max(peak, 1e-9):.1f}x less memory; {same}"
    )
    return ratio >= TARGET_RATIO and count == ref_count


def main() -> int:
    n = int(float(os.environ.get("BENCH_BASKETS", 100_000)))
    items = int(float(os.environ.get("BENCH_BASKET_ITEMS", 1_000)))
    print("=== Market basket: Eclat on bitsets vs mlxtend fpgrowth ===")
    ok = compare(
        "Groceries (arules: 5,668 rules)",
        read_basket_lines(ROOT / "tests" / "data" / "groceries.csv"),
        0.001,
        0.5,
    )
    started = time.perf_counter()
    baskets = synthetic(n, items)
    print(f"  (synthetic set generated in {time.perf_counter() - started:.1f} s)")
    ok &= compare(f"synthetic, {items:,} items", baskets, 0.002, 0.5)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
