"""Where a page's server time goes: warm single-process timings and a cProfile of each page.

    VINCULO_VAR_DIR=/tmp/prof .venv/bin/python bench/profile_pages.py            # all pages
    VINCULO_VAR_DIR=/tmp/prof .venv/bin/python bench/profile_pages.py 360 --top 25

Uses the database the settings point at (seed one first: `vinculo seed --customers 20000
--seed 42`) and the same scenarios as bench/run.py. Template rendering and Python work do not
depend on the number of rows, so a small database shows them; bench/run.py measures at 1M.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("match", nargs="?", default="", help="only scenarios whose label has this")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vinculo.settings")
    os.environ.setdefault("VINCULO_LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.template.backends import django as dtl_backend
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.run import scenarios
    from vinculo.accounts.models import User

    render_ms: list[float] = []
    original_render = dtl_backend.Template.render

    def timed_render(self, *a, **kw):  # outermost renders only: includes don't pass here
        t0 = time.process_time()  # CPU: the figures hold on a busy machine
        try:
            return original_render(self, *a, **kw)
        finally:
            render_ms.append((time.process_time() - t0) * 1000)

    dtl_backend.Template.render = timed_render

    for label, username, urls, headers in scenarios():
        if args.match not in label:
            continue
        client = Client()
        client.force_login(User.objects.get(username=username))
        for url in urls[:5]:
            client.get(url, headers=headers)  # warm up
        times, cpu, sql_ms, nq, tpl_ms = [], [], [], [], []
        for i in range(args.requests):
            url = urls[i % len(urls)]
            render_ms.clear()
            with CaptureQueriesContext(connection) as ctx:
                t0, c0 = time.perf_counter(), time.process_time()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            tpl_ms.append(sum(render_ms))
            sql_ms.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
            nq.append(len(ctx.captured_queries))
            assert response.status_code == 200, (url, response.status_code)
        reset_queries()
        print(
            f"{label:32} median {statistics.median(times):6.1f} ms  "
            f"cpu {statistics.median(cpu):6.1f} ms  "
            f"templates cpu {statistics.median(tpl_ms):5.1f} ms  "
            f"sql {statistics.median(sql_ms):6.1f} ms in {statistics.median(nq):.0f} queries"
        )
        if args.top:
            prof = cProfile.Profile()
            prof.enable()
            for i in range(args.requests):
                client.get(urls[i % len(urls)], headers=headers)
            prof.disable()
            pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
