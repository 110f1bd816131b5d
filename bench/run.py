"""Page benchmarks: seed once per database, then measure server time with concurrent clients.

    make bench                                   # 1,000,000 customers, SQLite then PostgreSQL
    BENCH_CUSTOMERS=20000 .venv/bin/python bench/run.py
    BENCH_DATABASES=sqlite BENCH_REQUESTS=60 .venv/bin/python bench/run.py

Environment:
  BENCH_CUSTOMERS                   customers to seed (default 1,000,000)
  BENCH_INTERACTIONS_PER_CUSTOMER   mean interactions per customer (default 5)
  BENCH_LINES_PER_CUSTOMER          mean order lines per customer (default 10; 0: no sales data)
  BENCH_DATABASES                   "sqlite,postgresql" (default both)
  BENCH_PG_URL                      default postgres://postgres@127.0.0.1:5432/vinculo_bench
  BENCH_CLIENTS                     concurrent clients (processes; default 4)
  BENCH_REQUESTS                    requests per scenario and round (default 400)
  BENCH_ROUNDS                      rounds through all scenarios (default 3); percentiles are
                                    over all rounds' requests, each round's p95 is shown too
  BENCH_REFERENCE_MS                length of the reference CPU job (default 12)
  BENCH_BUDGET_MS                   p95 budget (default 50)
  BENCH_OUT                         where seeded databases and results go (default bench/out)
  BENCH_ONLY                        only the scenarios whose label contains this
  BENCH_PAGE_CACHE                  1 (default): before measuring a database, drop the other
                                    one's files from the page cache and read this one's once

Each database is seeded once into bench/out/ (SQLite file) or the vinculo_bench database and
reused while its size matches (bench/out/<db>.json remembers it). Requests go through Django's
test Client in-process (no network), so the figures are server time: URL routing, middleware,
queries and template rendering. A page that does not exist yet (404/500) is reported as "not
available" instead of stopping the run.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "bench" / "out"))
SEED = 42
QUICK_PREFIXES = ["ma", "gar", "jose", "lop", "mart", "ana g", "sanchez", "info@", "+34 6", "612"]


def env_int(name: str, default: int) -> int:
    return int(float(os.environ.get(name, default)))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- parent: one child process per database ---------------------------------------------------


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    dbs = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")]
    failed = False
    for db in filter(None, dbs):
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "vinculo.settings"
        env["VINCULO_VAR_DIR"] = str(OUT / "var")
        env.setdefault("VINCULO_TASKS_BACKEND", "immediate")
        env["VINCULO_LOG_LEVEL"] = "ERROR"
        code = subprocess.call([sys.executable, __file__, "--database", db], env=env, cwd=ROOT)
        failed |= code != 0
    return 1 if failed else 0


# --- child: one database -----------------------------------------------------------------------


def seed_size() -> tuple[int, int, int]:
    """(customers, interactions per customer, order lines per customer) to seed."""
    return (
        env_int("BENCH_CUSTOMERS", 1_000_000),
        env_int("BENCH_INTERACTIONS_PER_CUSTOMER", 5),
        env_int("BENCH_LINES_PER_CUSTOMER", 10),
    )


def database_url(db: str, customers: int, ipc: int, lpc: int) -> str:
    if db == "sqlite":
        return f"sqlite:///{OUT / f'bench-{customers}-{ipc}-{lpc}.sqlite3'}"
    if db in {"postgresql", "postgres", "pg"}:
        return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/vinculo_bench")
    raise SystemExit(f"unknown database {db!r} (use sqlite or postgresql)")


def ensure_pg_database(url: str, *, recreate: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def child(db: str) -> int:
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 150)
    customers, ipc, lpc = seed_size()
    url = database_url(db, customers, ipc, lpc)
    marker = OUT / f"{'sqlite' if db == 'sqlite' else 'postgresql'}.json"
    info = json.loads(marker.read_text()) if marker.exists() else {}
    same = info.get("customers") == customers and info.get("ipc") == ipc
    same = same and info.get("lpc", 0) == lpc
    if db != "sqlite":
        try:
            ensure_pg_database(url, recreate=not same)
        except Exception as exc:  # no server: report and go on with the next database
            console.print(f"[red]{db}: cannot reach PostgreSQL ({exc}); skipped.[/red]")
            return 1
    elif not same:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = url

    import django

    django.setup()
    from django.core.management import call_command

    from vinculo.devdata import seeding

    console.rule(f"[bold]{db}[/bold] · {customers:,} customers · {ipc} interactions each")
    call_command("migrate", verbosity=0, skip_checks=True)
    if same and seeding.seeded_count(SEED) == customers:
        console.print(
            f"Reusing the seeded database (seeded in {info['seconds']:.0f} s, "
            f"{info['rows_per_second']:,.0f} rows/s)."
        )
    else:
        from vinculo.devdata.management.commands.seed import seed_with_progress

        seeding.reset_seeded()
        stats = seed_with_progress(
            customers=customers,
            seed=SEED,
            interactions_per_customer=ipc,
            lines_per_customer=lpc,
            batch=10_000,
        )
        info = {
            "customers": customers,
            "ipc": ipc,
            "lpc": lpc,
            "rows": stats.rows,
            "interactions": stats.interactions,
            "orders": stats.sales.orders,
            "order_lines": stats.sales.order_lines,
            "seconds": stats.seconds,
            "rows_per_second": stats.rows_per_second,
        }
        marker.write_text(json.dumps(info, indent=2))
        console.print(
            f"Seeded {stats.rows:,} rows ({stats.interactions:,} interactions, "
            f"{stats.sales.orders:,} orders with {stats.sales.order_lines:,} lines) in "
            f"{stats.seconds:.0f} s: {stats.rows_per_second:,.0f} rows/s."
        )
    from django.db import connections

    connections.close_all()
    page_cache_for(db, url, console)
    results = measure(console)
    report(console, db, info, results)
    return 0


# --- page cache -------------------------------------------------------------------------------


def _database_files(db: str, url: str) -> list[Path]:
    """The files holding one benchmark database: the SQLite file and its WAL, or the
    PostgreSQL database's directory under the server's data directory (needs a superuser)."""
    if db == "sqlite":
        path = url.removeprefix("sqlite:///")
        return [Path(path + s) for s in ("", "-wal") if Path(path + s).exists()]
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]
            oid = conn.execute(
                "SELECT oid FROM pg_database WHERE datname = current_database()"
            ).fetchone()[0]
    except Exception:  # not a superuser, or no server: leave the cache alone
        return []
    base = Path(data_dir) / "base" / str(oid)
    try:
        return [p for p in base.iterdir() if p.is_file()]
    except OSError:
        return []


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def page_cache_for(db: str, url: str, console) -> None:
    """Give the database being measured the machine's page cache, as a server dedicated to it
    would have: drop the *other* benchmark database's files from the cache (both 1M databases
    do not fit in this machine's RAM together, and whichever was measured last evicted the
    other's pages), then read this one's files once so the first requests do not measure the
    disk. Skipped when the files would not fit in 85 % of the available memory
    (``BENCH_PAGE_CACHE=0`` skips it too)."""
    if os.environ.get("BENCH_PAGE_CACHE", "1") == "0" or not hasattr(os, "posix_fadvise"):
        return
    customers, ipc, lpc = seed_size()
    other = "postgresql" if db == "sqlite" else "sqlite"
    dropped = 0
    for path in _database_files(other, database_url(other, customers, ipc, lpc)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            dropped += os.fstat(fd).st_size
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    files = _database_files(db, url)
    size = sum(p.stat().st_size for p in files if p.exists())
    if size > 0.85 * _available_memory():
        console.print(
            f"Page cache: dropped {dropped / 2**30:.1f} GB of the other database; "
            f"this one ({size / 2**30:.1f} GB) does not fit in memory, not read ahead."
        )
        return
    t0 = time.perf_counter()
    for path in files:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(8 << 20):
                pass
    console.print(
        f"Page cache: dropped {dropped / 2**30:.1f} GB of the other database, read this one "
        f"({size / 2**30:.1f} GB) in {time.perf_counter() - t0:.0f} s."
    )


# --- scenarios ---------------------------------------------------------------------------------


def scenarios() -> list[tuple[str, str, list[str], dict]]:
    """(label, username, URLs, headers). URLs are sampled round-robin by the clients."""
    from vinculo.accounts.models import User
    from vinculo.customers.selectors import visible_customers

    rep = User.objects.get(username="rep")
    rnd = random.Random(SEED)
    visible = visible_customers(rep)
    top = visible.order_by("-pk").values_list("pk", flat=True).first() or 0
    # Random visible customers, found by probing random ids (no ORDER BY RANDOM() on 1M rows).
    pks: list[int] = []
    for _ in range(400):
        pk = visible.filter(pk__gte=rnd.randint(1, max(1, top))).values_list("pk", flat=True)
        pk = pk.order_by("pk").first()
        if pk:
            pks.append(pk)
        if len(pks) >= 60:
            break
    hx = {"HX-Request": "true"}
    return [
        ("customer list (all, admin)", "admin", ["/customers/"], {}),
        ("customer list (rep)", "rep", ["/customers/"], {}),
        ("customer list sorted", "rep", ["/customers/?sort=-last_contact"], {}),
        ("customer list filtered", "rep", ["/customers/?stage=customer&city=Madrid"], {}),
        ("customer list search", "rep", ["/customers/?q=garc", "/customers/?q=maria"], {}),
        (
            "quick search (header)",
            "rep",
            [f"/search/customers/?q={p.replace('+', '%2B')}" for p in QUICK_PREFIXES],
            hx,
        ),
        ("customer 360", "rep", [f"/customers/{pk}/" for pk in pks], {}),
        ("timeline", "rep", [f"/customers/{pk}/timeline/" for pk in pks], hx),
        ("my day", "rep", ["/my-day/"], {}),
        # Sales pages: empty on a seed without sales data (BENCH_LINES_PER_CUSTOMER=0).
        ("pipeline board", "rep", ["/sales/pipeline/"], {}),
        ("opportunity list", "rep", ["/sales/opportunities/"], {}),
        ("lead queue", "rep", ["/sales/leads/queue/"], {}),
        ("lead list", "rep", ["/sales/leads/"], {}),
        ("order list", "rep", ["/sales/orders/"], {}),
        ("product list", "rep", ["/sales/catalog/"], {}),
    ]


def _worker(args):
    """One client (its own process and database connection): time ``requests`` GETs."""
    _label, username, urls, headers, offset, count = args
    from django.db import connections
    from django.test import Client

    from vinculo.accounts.models import User
    from vinculo.core.runtime import tune_garbage_collector

    connections.close_all()
    tune_garbage_collector()  # as vinculo.asgi does in each server process
    client = Client()
    client.force_login(User.objects.get(username=username))
    # A server process answers thousands of requests: its first one (a new database
    # connection, cold statement caches) is not what a user waits for, so it is not timed.
    client.get(urls[offset % len(urls)], headers=headers)
    times = []
    errors = 0
    for i in range(count):
        url = urls[(offset + i) % len(urls)]
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            errors += 1
    connections.close_all()
    return times, errors


def close_pools() -> None:
    """Close the PostgreSQL connection pools before forking the clients: a child would inherit
    the pool's open connections (sockets shared with the parent) but not its threads, and hang
    waiting for a connection."""
    from django.db import connections

    for conn in connections.all():
        if getattr(conn, "pool", None) is not None:
            conn.close_pool()


def probe(label: str, username: str, url: str, headers: dict) -> str | None:
    """None if the page answers 200, else why it is not available."""
    from django.test import Client

    from vinculo.accounts.models import User

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    try:
        response = client.get(url, headers=headers)
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:80]}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return None


def _cpu_job(n: int) -> int:
    """Fixed pure-Python work (no I/O, no allocation growth): the reference job."""
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % 1_000_003
    return acc


def _job_times(loops: int, count: int, clock=time.perf_counter) -> list[float]:
    """ms of each of ``count`` runs of the fixed CPU job, by ``clock``."""
    times = []
    for _ in range(count):
        t0 = clock()
        _cpu_job(loops)
        times.append((clock() - t0) * 1000)
    return times


def _reference_worker(args):
    """One client of the reference scenario: time ``count`` runs of the fixed CPU job."""
    loops, count = args
    return _job_times(loops, count), 0


def _calibrate(ms: float) -> tuple[int, float]:
    """Loops of _cpu_job that take ``ms`` of CPU, and that job's median CPU time. CPU time, not
    wall time: the calibration holds even if the machine is busy."""
    loops = 20_000
    while True:
        c0 = time.process_time()
        _cpu_job(loops)
        took = (time.process_time() - c0) * 1000
        if took > 5:
            break
        loops *= 2
    loops = int(loops * ms / took)
    return loops, statistics.median(_job_times(loops, 15, time.process_time))


def _cpu_ticks() -> tuple[int, int]:
    """(all, steal) CPU ticks of the machine since boot (/proc/stat), (0, 0) elsewhere."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    return sum(fields), fields[7] if len(fields) > 7 else 0


def measure(console) -> list[dict]:
    """Every scenario, BENCH_ROUNDS times in turn (default 3), BENCH_REQUESTS requests per
    round. A page's p50/p95/p99 are over all its requests of all rounds; the p95 of each round
    is kept to show the spread. Rounds go through all pages before repeating, so a pause of
    the machine lands in one round of a few pages instead of in every request of one page.

    A reference scenario runs a fixed CPU job the same way (4 clients): what this machine
    does to a job of known length, so the pages' figures can be read against it."""
    import multiprocessing as mp

    from django.db import connections

    clients = env_int("BENCH_CLIENTS", 4)
    requests = env_int("BENCH_REQUESTS", 400)
    rounds = max(1, env_int("BENCH_ROUNDS", 3))
    reference_ms = float(os.environ.get("BENCH_REFERENCE_MS", "12"))
    only = os.environ.get("BENCH_ONLY", "")
    results: list[dict] = []
    ready = []
    for label, username, urls, headers in scenarios():
        if only not in label:
            continue
        if not urls:
            results.append({"label": label, "missing": "no sample data"})
            continue
        why = probe(label, username, urls[0], headers)
        if why:
            console.print(f"  {label}: [yellow]not available[/yellow] ({why})")
            results.append({"label": label, "missing": why})
            continue
        ready.append((label, username, urls, headers))
    loops, single = _calibrate(reference_ms)
    per = max(1, requests // clients)
    times: dict[str, list[float]] = {label: [] for label, *_ in ready}
    times["reference"] = []
    round_p95: dict[str, list[float]] = {label: [] for label in times}
    errors: dict[str, int] = dict.fromkeys(times, 0)
    busy: dict[str, float] = dict.fromkeys(times, 0.0)
    total0, steal0 = _cpu_ticks()
    pool_ctx = mp.get_context("fork")

    def run_clients(label: str, worker, jobs: list) -> None:
        """One round of one scenario: ``worker`` in ``clients`` forked processes."""
        t0 = time.perf_counter()
        with pool_ctx.Pool(clients) as pool:
            parts = pool.map(worker, jobs)
        busy[label] += time.perf_counter() - t0
        these = [t for part, _ in parts for t in part]
        times[label] += these
        round_p95[label].append(percentile(these, 0.95))
        errors[label] += sum(e for _, e in parts)

    for r in range(rounds):
        for label, username, urls, headers in ready:
            # Warm-up (caches, prepared plans), not measured; the clients are forked from here.
            _worker((label, username, urls, headers, 0, min(len(urls), 10)))
            connections.close_all()
            close_pools()
            jobs = [
                (label, username, urls, headers, (r * clients + k) * per, per)
                for k in range(clients)
            ]
            run_clients(label, _worker, jobs)
        run_clients("reference", _reference_worker, [(loops, per)] * clients)
        console.print(
            f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{label.split(' (')[0]} {round_p95[label][-1]:.0f}" for label in times)
        )
    total1, steal1 = _cpu_ticks()
    for label in times:
        values = times[label]
        row = {
            "label": label if label != "reference" else f"reference: {reference_ms:g} ms of CPU",
            "n": len(values),
            "errors": errors[label],
            "p50": percentile(values, 0.50),
            "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
            "round_p95": round_p95[label],
            "rps": len(values) / busy[label] if busy[label] else 0.0,
        }
        if label == "reference":
            row["single"] = single
        results.append(row)
    results.append(search_comparison())
    results.append(
        {
            "label": "machine",
            "steal_percent": 100 * (steal1 - steal0) / max(1, total1 - total0),
            "cores": os.cpu_count(),
            "clients": clients,
            "rounds": rounds,
        }
    )
    return results


def search_comparison() -> dict:
    """Header search through the index vs the naive icontains query, same prefixes, same user."""
    from vinculo.accounts.models import User
    from vinculo.customers import search
    from vinculo.customers.selectors import visible_customers

    rep = User.objects.get(username="rep")
    qs = visible_customers(rep).only("id", "name", "company_name", "email", "city")
    indexed, naive = [], []
    for _ in range(3):
        for prefix in QUICK_PREFIXES:
            t0 = time.perf_counter()
            search.quick(qs, prefix, limit=8)
            indexed.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            # What the header did before the index: icontains, names first by sorting.
            list(search.portable(qs, prefix).order_by("name")[:8])
            naive.append((time.perf_counter() - t0) * 1000)
    return {
        "label": "search: index vs icontains",
        "indexed_p50": statistics.median(indexed),
        "naive_p50": statistics.median(naive),
        "indexed_p95": percentile(indexed, 0.95),
        "naive_p95": percentile(naive, 0.95),
    }


def report(console, db: str, info: dict, results: list[dict]) -> None:
    from rich.table import Table

    budget = env_int("BENCH_BUDGET_MS", 50)
    table = Table(title=f"{db}: server time per request, {env_int('BENCH_CLIENTS', 4)} clients")
    cols = ("scenario", "n", "p50 ms", "p95 ms", "p99 ms", "p95 per round", "req/s")
    for col in (*cols, f"p95 < {budget} ms"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    machine = next((r for r in results if r["label"] == "machine"), {})
    passed = total = 0
    for r in results:
        if r["label"] == "machine":
            continue
        if "missing" in r:
            table.add_row(r["label"], "", "", "", "", "", "", f"not available ({r['missing']})")
        elif "naive_p50" in r:
            ratio = r["naive_p50"] / r["indexed_p50"] if r["indexed_p50"] else float("inf")
            table.add_row(
                r["label"],
                "",
                f"{r['indexed_p50']:.1f} vs {r['naive_p50']:.1f}",
                f"{r['indexed_p95']:.1f} vs {r['naive_p95']:.1f}",
                "",
                "",
                "",
                f"{ratio:.1f}x faster",
            )
        else:
            if "single" in r:  # the reference job: how much the machine stretched it
                verdict = f"one client: {r['single']:.1f} ms; p95 {r['p95'] / r['single']:.1f}x"
            else:
                ok = r["p95"] < budget and not r["errors"]
                passed, total = passed + ok, total + 1
                verdict = "[green]PASS[/green]" if ok else "[red]FAIL[/red]"
                if r["errors"]:
                    verdict += f" ({r['errors']} errors)"
            table.add_row(
                r["label"],
                str(r["n"]),
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
                f"{r['p99']:.1f}",
                " ".join(f"{v:.0f}" for v in r["round_p95"]),
                f"{r['rps']:.0f}",
                verdict,
            )
    console.print(table)
    console.print(
        f"{passed} of {total} pages inside the budget; {machine.get('clients')} clients on "
        f"{machine.get('cores')} cores, {machine.get('rounds')} rounds; CPU stolen by the "
        f"hypervisor while measuring: {machine.get('steal_percent', 0):.1f} %"
    )
    console.print(
        f"seed: {info.get('customers', 0):,} customers, {info.get('rows', 0):,} rows in "
        f"{info.get('seconds', 0):.0f} s ({info.get('rows_per_second', 0):,.0f} rows/s)"
    )
    (OUT / f"results-{db}.json").write_text(
        json.dumps({"seed": info, "results": results}, indent=2)
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 3 and sys.argv[1] == "--database":
        sys.exit(child(sys.argv[2]))
    sys.exit(main())
