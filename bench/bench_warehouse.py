"""Warehouse ETL benchmark: a full and an incremental refresh after `vinculo seed`, on SQLite
and PostgreSQL, printing rows/s and peak memory per run, per source and the loader comparison.

    .venv/bin/python bench/bench_warehouse.py           # 20,000 customers, both databases
    BENCH_WAREHOUSE_CUSTOMERS=100000 BENCH_DATABASES=sqlite \
        .venv/bin/python bench/bench_warehouse.py

Environment:
  BENCH_WAREHOUSE_CUSTOMERS   customers to seed (default 20,000; ~10 order lines each)
  BENCH_DATABASES             "sqlite,postgresql" (default both)
  BENCH_WAREHOUSE_PG_URL      default postgres://postgres@127.0.0.1:5432/vinculo_bench_warehouse
  BENCH_WAREHOUSE_CHANGE      share of orders/customers changed before the incremental run (0.01)
  BENCH_WAREHOUSE_MODELS      after the ETL, run the analytics models (what `vinculo analytics
                              all` runs) and print seconds, CPU seconds, peak RSS and customers
                              scored per model: "all" or a comma list (rfm,clusters,churn...);
                              unset = ETL only. They write scores into the bench database.

The seeded database lives in bench/out/ and is reused while its size matches. If the seeder
does not create orders yet, the bench adds them with bulk_create (2 lines per order).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SEED = 7


def env_int(name: str, default: int) -> int:
    return int(float(os.environ.get(name, default)))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    dbs = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")]
    failed = False
    for db in filter(None, dbs):
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "vinculo.settings"
        env["VINCULO_VAR_DIR"] = str(OUT / "var-warehouse")
        env["VINCULO_WAREHOUSE_PATH"] = str(OUT / f"warehouse-{db}.duckdb")
        env.setdefault("VINCULO_TASKS_BACKEND", "immediate")
        env["DATABASE_URL"] = database_url(db, env_int("BENCH_WAREHOUSE_CUSTOMERS", 20_000))
        code = subprocess.call([sys.executable, __file__, "--child", db], env=env, cwd=ROOT)
        failed |= code != 0
    return 1 if failed else 0


def database_url(db: str, customers: int) -> str:
    if db == "sqlite":
        return f"sqlite:///{OUT / f'warehouse-{customers}.sqlite3'}"
    if db in {"postgresql", "postgres", "pg"}:
        return os.environ.get(
            "BENCH_WAREHOUSE_PG_URL", "postgres://postgres@127.0.0.1:5432/vinculo_bench_warehouse"
        )
    raise SystemExit(f"unknown database {db!r} (use sqlite or postgresql)")


def ensure_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            con.execute(f'CREATE DATABASE "{name}"')


# --- child: one database -----------------------------------------------------------------------


def child(db: str) -> int:
    from rich.console import Console

    console = Console()
    customers = env_int("BENCH_WAREHOUSE_CUSTOMERS", 20_000)
    if db != "sqlite":
        try:
            ensure_pg_database(os.environ["DATABASE_URL"])
        except Exception as exc:  # report and skip, like bench/run.py
            console.print(f"[red]{db}: cannot reach PostgreSQL ({exc}); skipped.[/red]")
            return 0
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    seed_once(console, customers)
    from vinculo.analytics import warehouse

    Path(os.environ["VINCULO_WAREHOUSE_PATH"]).unlink(missing_ok=True)
    results = []
    for loader in ("parquet", "pandas"):  # the last one stays for the incremental runs
        results.append(
            (f"full ({loader} loader)", *peak_of(warehouse.refresh, full=True, loader=loader))
        )
    results.append(("incremental, nothing changed", *peak_of(warehouse.refresh)))
    changed = change_some(float(os.environ.get("BENCH_WAREHOUSE_CHANGE", "0.01")))
    results.append((f"incremental, {changed}", *peak_of(warehouse.refresh)))
    report(console, db, results)
    models = os.environ.get("BENCH_WAREHOUSE_MODELS", "").strip()
    return run_models(console, db, models) if models else 0


def run_models(console, db: str, which: str) -> int:
    """Each model as ``vinculo analytics all`` runs it (defaults, scores written), timed:
    wall and CPU seconds, and the process's peak RSS during that model alone."""
    from rich.table import Table

    from vinculo.analytics import cli_models

    names = cli_models.EVERY if which == "all" else [m.strip() for m in which.split(",")]
    unknown = [m for m in names if m not in cli_models.EVERY]
    if unknown:
        console.print(f"[red]unknown models {unknown}; choose from {cli_models.EVERY}[/red]")
        return 1
    table = Table(title=f"Analytics models on {db} (after the ETL)")
    for col in ("model", "seconds", "CPU s", "peak RSS", "customers scored"):
        table.add_column(col, justify="left" if col == "model" else "right")
    total_s = total_cpu = 0.0
    failed = False
    for model in names:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            _result, peak = peak_of(cli_models.runner(model, {}))
            scored = f"{cli_models.run_report(model)['customers_scored'] or 0:,}"
        except Exception as exc:  # report the failure and go on, like `analytics all`
            peak, scored, failed = float("nan"), f"failed: {exc!r}"[:60], True
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        total_s, total_cpu = total_s + seconds, total_cpu + cpu
        table.add_row(model, f"{seconds:.1f}", f"{cpu:.1f}", f"{peak:,.0f} MiB", scored)
    table.add_row("total", f"{total_s:.1f}", f"{total_cpu:.1f}", "", "")
    console.print(table)
    console.print(
        "CPU s counts this process only (DuckDB threads included); peak RSS is the process's "
        "during that model (Linux resets it per model)."
    )
    return 1 if failed else 0


def peak_of(fn, **kwargs):
    """``fn(**kwargs)`` and the process's peak resident set size during it, in MiB. Linux
    resets the peak (VmHWM) on writing 5 to clear_refs; elsewhere it is the process's peak
    so far (an upper bound)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    result = fn(**kwargs)
    try:
        with open("/proc/self/status") as status:
            hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource

        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return result, hwm / 1024


def seed_once(console, customers: int) -> None:
    from vinculo.devdata import seeding
    from vinculo.sales.models import Order

    if seeding.seeded_count(SEED) != customers:
        seeding.reset_seeded()
        kwargs = {"customers": customers, "seed": SEED, "batch": 10_000}
        if "lines_per_customer" in inspect.signature(seeding.seed).parameters:
            kwargs["lines_per_customer"] = 10
        started = time.perf_counter()
        seeding.seed(**kwargs)
        console.print(f"Seeded {customers:,} customers in {time.perf_counter() - started:.0f} s.")
    if not Order.objects.exists():
        bulk_orders(customers * 2)


def bulk_orders(n: int) -> None:
    """Orders and lines straight to the table (the seeder predates the sales history)."""
    import random
    from decimal import Decimal

    from django.utils import timezone

    from vinculo.customers.models import Customer
    from vinculo.sales.models import Order, OrderLine, Product

    rnd = random.Random(SEED)
    products = list(Product.objects.filter(kind="simple")[:200])
    if not products:
        products = Product.objects.bulk_create(
            Product(
                sku=f"BW-{i}",
                name=f"Bench product {i}",
                price=Decimal(10 + i),
                cost=Decimal(5 + i // 2),
            )
            for i in range(50)
        )
    ids = list(Customer.objects.values_list("pk", flat=True))
    now = timezone.now()
    statuses = ["confirmed", "paid", "shipped", "delivered", "cancelled", "draft"]
    for start in range(0, n, 5000):
        orders = Order.objects.bulk_create(
            Order(
                number=f"BW-{i}",
                customer_id=rnd.choice(ids),
                channel="web",
                status=rnd.choice(statuses),
                ordered_at=now,
            )
            for i in range(start, min(n, start + 5000))
        )
        lines = []
        for o in orders:
            for p in rnd.sample(products, 2):
                q = rnd.randint(1, 3)
                tax = (p.price * q * Decimal("0.21")).quantize(Decimal("0.01"))
                lines.append(
                    OrderLine(
                        order=o,
                        product=p,
                        sku=p.sku,
                        name=p.name,
                        quantity=q,
                        unit_price=p.price,
                        unit_cost=p.cost,
                        tax_rate=21,
                        tax=tax,
                        total=p.price * q + tax,
                    )
                )
        OrderLine.objects.bulk_create(lines)


def change_some(share: float) -> str:
    """Touch a share of orders and customers and delete a few interactions, the way a day of
    work would, so the incremental run has something to do."""
    from django.utils import timezone

    from vinculo.customers.models import Customer
    from vinculo.interactions.models import Interaction
    from vinculo.sales.models import Order

    now = timezone.now()
    n_orders = max(1, int(Order.objects.count() * share))
    ids = list(Order.objects.order_by("?").values_list("pk", flat=True)[:n_orders])
    Order.objects.filter(pk__in=ids).update(updated_at=now)
    n_customers = max(1, int(Customer.objects.count() * share))
    cids = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:n_customers])
    Customer.objects.filter(pk__in=cids).update(updated_at=now)
    gone = list(Interaction.objects.order_by("?").values_list("pk", flat=True)[:100])
    Interaction.objects.filter(pk__in=gone).delete()
    return f"{n_orders:,} orders + {n_customers:,} customers changed, {len(gone)} deleted"


def report(console, db: str, results) -> None:
    from rich.table import Table

    table = Table(title=f"Warehouse ETL on {db}")
    columns = ("run", "rows read", "deleted", "seconds", "rows/s", "peak RSS", "slowest source")
    for col in columns:
        table.add_column(col, justify="left" if col in {"run", "slowest source"} else "right")
    for label, r, peak in results:
        slow = max(r.sources, key=lambda s: s.seconds)
        table.add_row(
            label,
            f"{r.extracted:,}",
            f"{r.deleted:,}",
            f"{r.seconds:.2f}",
            f"{r.extracted / r.seconds:,.0f}" if r.seconds else "–",
            f"{peak:,.0f} MiB",
            f"{slow.source} {slow.seconds:.2f} s",
        )
    console.print(table)
    from django.conf import settings

    console.print(
        f"DuckDB memory_limit {settings.VINCULO_WAREHOUSE_MEMORY_LIMIT}, threads "
        f"{settings.VINCULO_WAREHOUSE_THREADS or 'one per core'}; peak RSS is the whole "
        "process's (Python, the database driver and DuckDB)."
    )
    full = next(r for label, r, _peak in results if label.startswith("full (pandas"))
    inc = results[-1][1]
    console.print(
        "Per source (full, pandas): "
        + ", ".join(
            f"{s.source} {s.extracted / s.seconds:,.0f} rows/s"
            for s in full.sources
            if s.extracted > 1000 and s.seconds
        )
    )
    console.print(
        f"Incremental after a day's changes takes {inc.seconds / full.seconds:.0%} of a full "
        f"refresh; marts: " + ", ".join(f"{k} {v:,}" for k, v in full.mart_rows.items())
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2]))
    sys.exit(main())
