"""CLV benchmark: fit BG/NBD + Gamma-Gamma on synthetic customers simulated from the published
CDNOW parameters, and compare time, peak memory and estimates with the `lifetimes` package.

    .venv/bin/python bench/bench_clv.py                 # 1,000,000 customers
    BENCH_CLV_CUSTOMERS=200000 .venv/bin/python bench/bench_clv.py
    BENCH_CLV_REFERENCE=0 ...                           # skip lifetimes (slow at 1M)

Customers join over the first 12 weeks and are observed to week 39 (like CDNOW's calibration),
with day-resolution dates as in real transaction data. Target: our fit under 10 s.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._child import measure
from vinculo.analytics import clv

TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
TARGET_SECONDS = 10.0


def simulate(n: int, seed: int = 7):
    """(frequency, recency, T, monetary) of n customers drawn from BG/NBD + Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    # First purchase on day 0..83 at a uniform time of day; purchases are recorded by date and
    # the calibration ends with day 273, as dates in real transaction files are.
    first_day = rng.integers(0, 84, n)
    time_of_day = rng.random(n)
    age = (274 - first_day - time_of_day) / 7.0  # weeks watched after the first purchase
    lam = rng.gamma(TRUE_BGNBD["r"], 1 / TRUE_BGNBD["alpha"], n)
    drop = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], n)
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    clock = np.zeros(n)
    active = np.arange(n)
    while len(active):
        clock[active] += rng.exponential(1.0, len(active)) / lam[active]
        bought = clock[active] <= age[active]
        active = active[bought]
        x[active] += 1
        last[active] = clock[active]
        # After a repeat purchase the customer drops out with probability p.
        active = active[rng.random(len(active)) >= drop[active]]
    recency = np.floor(time_of_day + last * 7) / 7.0  # days between the purchase dates
    age = (273 - first_day) / 7.0
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], n)
    shape = np.maximum(TRUE_GG["p"] * x, 1e-12)
    monetary = np.where(x > 0, rng.gamma(shape, 1 / np.maximum(nu * x, 1e-12)), 0.0)
    return x, recency, age, monetary


def ours(x, recency, age, monetary):
    bg = clv.fit_bgnbd(x, recency, age)
    gg = clv.fit_gamma_gamma(x, monetary)
    return {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}, {
        "p": gg.p,
        "q": gg.q,
        "gamma": gg.gamma,
    }


def reference(x, recency, age, monetary):
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter().fit(x, recency, age)
        buying = (x > 0) & (monetary > 0)
        gg = GammaGammaFitter().fit(x[buying], monetary[buying])
    return dict(bg.params_.items()), dict(zip(("p", "q", "gamma"), gg.params_, strict=True))


def show(name, params, truth):
    text = ", ".join(f"{k}={params[k]:.4f} (true {truth[k]})" for k in truth)
    print(f"    {name}: {text}")


def main() -> int:
    n = int(float(os.environ.get("BENCH_CLV_CUSTOMERS", 1_000_000)))
    with_reference = os.environ.get("BENCH_CLV_REFERENCE", "1") != "0"
    print(f"=== CLV: BG/NBD + Gamma-Gamma on {n:,} simulated customers ===")
    started = time.perf_counter()
    data = simulate(n)
    distinct = len(np.unique(np.column_stack(data[:3]), axis=0))
    print(
        f"  simulated in {time.perf_counter() - started:.1f} s; "
        f"{(data[0] > 0).sum():,} with repeat purchases; {distinct:,} distinct (x, t_x, T)"
    )
    (bg, gg), seconds, peak = measure(lambda: ours(*data))
    verdict = "within" if seconds < TARGET_SECONDS else "OVER"
    print(f"  vinculo:   {seconds:7.2f} s  peak +{peak:7.1f} MiB  ({verdict} the 10 s target)")
    show("BG/NBD", bg, TRUE_BGNBD)
    show("Gamma-Gamma", gg, TRUE_GG)
    if not with_reference:
        return 0 if seconds < TARGET_SECONDS else 1
    try:
        (ref_bg, ref_gg), ref_seconds, ref_peak = measure(lambda: reference(*data))
    except ImportError:
        print("  lifetimes: not installed (uv sync --group dev)")
        return 0
    print(f"  lifetimes: {ref_seconds:7.2f} s  peak +{ref_peak:7.1f} MiB")
    show("BG/NBD", ref_bg, TRUE_BGNBD)
    show("Gamma-Gamma", ref_gg, TRUE_GG)
    gap = max(abs(bg[k] / ref_bg[k] - 1) for k in bg)
    print(
        f"  ratio: {ref_seconds / seconds:.1f}x faster, {ref_peak / max(peak, 1e-9):.1f}x less "
        f"memory; largest relative difference from lifetimes' BG/NBD estimates {gap:.1e}"
    )
    return 0 if seconds < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
