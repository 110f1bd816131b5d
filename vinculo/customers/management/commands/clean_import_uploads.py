"""Delete abandoned import uploads: ``vinculo clean_import_uploads [--days N] [--background]``
(run it nightly)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vinculo.core.management.background import add_background_option, queue
from vinculo.customers import importing
from vinculo.customers.tasks import clean_import_uploads_task


class Command(BaseCommand):
    help = (
        "Delete uploaded import files (customer and lead imports) left untouched for "
        "VINCULO_IMPORT_UPLOADS_KEEP_DAYS days; unfinished customer imports become cancelled."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep files touched in the last N days (default: the setting, "
            f"now {settings.IMPORT_UPLOADS_KEEP_DAYS})",
        )
        add_background_option(parser)

    def handle(self, *args, days: int | None, background: bool, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more (files younger than a day may be in use).")
        if background:
            return queue(
                self,
                clean_import_uploads_task,
                days,
                message="Queued: the task worker will delete the abandoned import uploads.",
            )
        keep = days if days is not None else settings.IMPORT_UPLOADS_KEEP_DAYS
        n = importing.clean_abandoned_imports(older_than=dt.timedelta(days=keep))
        self.stdout.write(f"Deleted {n} abandoned import file(s) older than {keep} day(s).")
