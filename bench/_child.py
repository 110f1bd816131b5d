"""Run a benchmark step in a forked child and report its wall time and peak memory growth.

tracemalloc would slow Python-object-heavy code (mlxtend, lifetimes' autograd) by up to 70x and
so distort the very ratio being measured; the child's peak resident set size, less its size at
the fork, measures the step's own memory at full speed.
"""

from __future__ import annotations

import multiprocessing
import resource
import time


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _child(fn, conn):
    try:
        start_rss = _rss_mib()
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - start_rss
        conn.send(("ok", result, seconds, peak))
    except BaseException as exc:  # reported to the parent, which raises it
        conn.send(("error", exc, 0.0, 0.0))
    finally:
        conn.close()


def measure(fn):
    """(result, seconds, peak MiB above the starting size) of ``fn()`` run in a fork."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(fn, child))
    process.start()
    child.close()
    status, result, seconds, peak = parent.recv()
    process.join()
    if status == "error":
        raise result
    return result, seconds, max(peak, 0.0)
