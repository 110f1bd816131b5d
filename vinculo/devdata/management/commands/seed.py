"""vinculo seed --customers N --seed S: deterministic bulk demo/scale data (see devdata.seeding)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vinculo.core.errors import DomainError
from vinculo.devdata import seeding


class Command(BaseCommand):
    help = "Insert N realistic, deterministic customers with their timeline (bulk, fast)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--interactions-per-customer", type=float, default=5)
        parser.add_argument(
            "--lines-per-customer",
            type=float,
            default=10,
            help="mean order lines per customer (0: no catalog, orders, leads or opportunities)",
        )
        parser.add_argument("--batch", type=int, default=10_000)
        parser.add_argument("--reset", action="store_true", help="delete seeded data first")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **opts):
        if opts["customers"] < 0 or opts["batch"] < 1 or opts["lines_per_customer"] < 0:
            raise CommandError("--customers and --lines-per-customer must be ≥ 0 and --batch ≥ 1.")
        if opts["reset"]:
            removed = seeding.reset_seeded()
            self.stdout.write(f"Removed {removed} seeded customers.")
        if not opts["customers"]:
            return
        try:
            stats = seed_with_progress(
                customers=opts["customers"],
                seed=opts["seed"],
                interactions_per_customer=opts["interactions_per_customer"],
                lines_per_customer=opts["lines_per_customer"],
                batch=opts["batch"],
                quiet=opts["quiet"] or opts["verbosity"] == 0,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        sales = stats.sales
        self.stdout.write(
            f"Seeded {stats.customers} customers ({stats.organizations} organizations), "
            f"{stats.interactions} interactions, {stats.tasks} tasks, {stats.emails} emails, "
            f"{stats.phones} phones, {stats.addresses} addresses, {sales.orders} orders with "
            f"{sales.order_lines} lines, {sales.leads} leads, {sales.opportunities} "
            f"opportunities, {sales.quotes} quotes, {sales.quotas} quotas "
            f"({sales.products} products): {stats.rows} rows in "
            f"{stats.seconds:.1f} s ({stats.rows_per_second:,.0f} rows/s)."
        )


def seed_with_progress(*, customers: int, quiet: bool = False, **kwargs) -> seeding.SeedStats:
    """Run the seeder behind a rich progress bar showing customers and rows per second."""
    if quiet:
        return seeding.seed(customers=customers, **kwargs)
    columns = (
        TextColumn("[bold]seeding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("customers · {task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("seed", total=customers, rate="–")

        def advance(n: int, stats: seeding.SeedStats) -> None:
            bar.update(task, advance=n, rate=f"{stats.rows_per_second:,.0f}")

        return seeding.seed(customers=customers, progress=advance, **kwargs)
