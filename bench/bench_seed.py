"""Seeding throughput: seed N customers with their sales history into a fresh database and
print rows per second, CPU against wall time, and the extrapolation to 1M customers.

    .venv/bin/python bench/bench_seed.py                          # 20,000 customers, SQLite
    BENCH_SEED_CUSTOMERS=100000 BENCH_DATABASES=sqlite,postgresql \
        .venv/bin/python bench/bench_seed.py

Environment: BENCH_SEED_CUSTOMERS (default 20,000), BENCH_LINES_PER_CUSTOMER (default 10),
BENCH_DATABASES (default "sqlite"), BENCH_PG_URL (default .../vinculo_bench_seed).
CPU time is reported next to wall time because the machine may be shared: when wall is much
larger than CPU, the difference is waiting for a core or the disk, not the seeder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    failed = False
    for db in filter(None, os.environ.get("BENCH_DATABASES", "sqlite").split(",")):
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="vinculo.settings",
                   VINCULO_TASKS_BACKEND="immediate", VINCULO_LOG_LEVEL="ERROR")  # fmt: skip
        failed |= subprocess.call([sys.executable, __file__, db.strip()], env=env, cwd=ROOT) != 0
    return 1 if failed else 0


def child(db: str) -> int:
    customers = int(float(os.environ.get("BENCH_SEED_CUSTOMERS", 20_000)))
    lpc = float(os.environ.get("BENCH_LINES_PER_CUSTOMER", 10))
    if db == "sqlite":
        path = OUT / "bench-seed.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        import psycopg

        url = os.environ.get(
            "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/vinculo_bench_seed"
        )
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    from vinculo.devdata import seeding

    call_command("migrate", verbosity=0, skip_checks=True)
    before = os.times()
    stats = seeding.seed(customers=customers, seed=42, lines_per_customer=lpc)
    after = os.times()
    cpu = after.user + after.system - before.user - before.system
    # From seeding.AHEAD_FROM customers a child process generates while this one writes.
    cpu_child = (after.children_user + after.children_system
                 - before.children_user - before.children_system)  # fmt: skip
    s = stats.sales
    per_million = stats.seconds * 1_000_000 / max(1, customers)
    figures = {
        "database": db,
        "customers": customers,
        "rows": stats.rows,
        "orders": s.orders,
        "order_lines": s.order_lines,
        "lines_per_customer": round(s.order_lines / max(1, customers), 2),
        "status_changes": s.status_changes,
        "interactions": stats.interactions,
        "wall_s": round(stats.seconds, 1),
        "cpu_s": round(cpu, 1),
        "cpu_generator_process_s": round(cpu_child, 1),
        "rows_per_s": round(stats.rows_per_second),
        "order_lines_per_s": round(s.order_lines / stats.seconds),
        "extrapolated_1m_customers_min": round(per_million / 60, 1),
    }
    print(json.dumps(figures, indent=2))
    (OUT / f"seed-{db}-{customers}.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(child(sys.argv[1]) if len(sys.argv) > 1 else main())
