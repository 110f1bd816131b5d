"""Process-level tuning for the web server processes (decision 0015).

Python's cyclic garbage collector runs a young-generation pass every 700 net container
allocations: about once per page here, each pass costing 0.5-2 ms, and every tenth one also
scans the middle generation. A full pass walks every object the process holds (170k+ after
start-up: modules, URL patterns, compiled templates) for 10-20 ms, and lands on whichever
request is running: a latency tail that has nothing to do with that request.

``tune_garbage_collector()`` moves what exists at start-up into the permanent generation
(``gc.freeze()``, which full passes skip) and raises the young-generation threshold so
collections happen every few dozen requests instead of every request. Objects freed by
reference counting, nearly everything a request allocates, never reach the collector at all;
only reference cycles wait a little longer to be freed (a few MB at most).
"""

from __future__ import annotations

import gc
import os

DEFAULT_GEN0_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Freeze the objects alive now and raise the young-generation threshold
    (``VINCULO_GC_THRESHOLD``; 0 keeps Python's defaults)."""
    threshold = int(os.environ.get("VINCULO_GC_THRESHOLD", DEFAULT_GEN0_THRESHOLD))
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(threshold, gen1, gen2)
