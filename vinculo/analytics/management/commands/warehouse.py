"""vinculo warehouse refresh [--full] | status: the analytics warehouse ETL (for cron or by hand).

Thin: parses arguments, runs ``warehouse.refresh`` behind a progress bar, prints figures."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vinculo.analytics import warehouse
from vinculo.analytics.warehouse.etl import DEFAULT_CHUNK
from vinculo.analytics.warehouse.loading import LOADERS
from vinculo.core.errors import DomainError
from vinculo.core.management.background import add_background_option, queue


class Command(BaseCommand):
    help = "Refresh the DuckDB analytics warehouse (incremental by default) or show its state."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="extract changes, load facts, rebuild marts")
        refresh.add_argument("--full", action="store_true", help="rebuild every table")
        refresh.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK)
        refresh.add_argument("--loader", choices=LOADERS, default="pandas")
        refresh.add_argument(
            "--as-of", default=None, help="day recency/tenure count to (YYYY-MM-DD; default today)"
        )
        refresh.add_argument("--quiet", action="store_true", help="no progress bar")
        add_background_option(refresh, help="queue the refresh task for the worker")
        sub.add_parser("status", help="watermark and row count of each source")

    def handle(self, *args, **opts):
        try:
            if opts["action"] == "status":
                return self._status()
            return self._refresh(opts)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _refresh(self, opts) -> None:
        if opts["chunk_size"] < 1:
            raise CommandError(_("--chunk-size must be at least 1."))
        as_of = None
        if opts["as_of"]:
            try:
                as_of = dt.date.fromisoformat(opts["as_of"])
            except ValueError:
                raise CommandError(_("--as-of must be a date like 2026-01-31.")) from None
        if opts["background"]:
            from vinculo.analytics.tasks import refresh_warehouse_task

            return queue(
                self,
                refresh_warehouse_task,
                full=opts["full"],
                message=_("Warehouse refresh queued for the worker."),
            )
        kwargs = {
            "full": opts["full"],
            "as_of": as_of,
            "chunk_size": opts["chunk_size"],
            "loader": opts["loader"],
        }
        if opts["quiet"] or opts["verbosity"] == 0:
            result = warehouse.refresh(**kwargs)
        else:
            result = _with_progress(**kwargs)
        for s in result.sources:
            self.stdout.write(
                f"  {s.source:<14} {s.mode:<11} {s.extracted:>10,} read {s.deleted:>8,} deleted "
                f"{s.seconds:7.2f} s"
            )
        marts = ", ".join(f"{k} {v:,}" for k, v in result.mart_rows.items())
        rate = result.extracted / result.seconds if result.seconds else 0
        self.stdout.write(
            _(
                "Warehouse %(mode)s refresh: %(read)s rows read, %(deleted)s deleted in "
                "%(seconds).1f s (%(rate)s rows/s). Marts: %(marts)s. File: %(path)s"
            )
            % {
                "mode": result.mode,
                "read": f"{result.extracted:,}",
                "deleted": f"{result.deleted:,}",
                "seconds": result.seconds,
                "rate": f"{rate:,.0f}",
                "marts": marts,
                "path": warehouse.warehouse_path(),
            }
        )

    def _status(self) -> None:
        for row in warehouse.status():
            self.stdout.write(
                f"  {row['source']:<14} {row['table_name']:<20} {row['rows_total']:>10,} rows  "
                f"watermark {row['watermark'] or '—'}  last {row['last_mode']} "
                f"at {row['refreshed_at']:%Y-%m-%d %H:%M} UTC"
            )


def _with_progress(**kwargs) -> warehouse.RefreshResult:
    """One progress line per source: rows read of rows to read (stderr-friendly via rich)."""
    columns = (
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(source: str, done: int, total: int | None) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=total)
            bar.update(tasks[source], completed=done, total=total if total is not None else done)

        return warehouse.refresh(progress=progress, **kwargs)
