"""Expire quotes past their date: ``vinculo expire_quotes [--background]`` (run it nightly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vinculo.sales import quote_changes
from vinculo.sales.tasks import expire_quotes_task


class Command(BaseCommand):
    help = "Mark draft and sent quotes past their valid-until date as expired."

    def add_arguments(self, parser):
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue the work for the task worker instead of running it here",
        )

    def handle(self, *args, background: bool, **options):
        if background:
            expire_quotes_task.enqueue()
            self.stdout.write("Queued: the task worker will expire the quotes past their date.")
            return
        n = quote_changes.expire_quotes()
        self.stdout.write(f"Expired {n} quote(s).")
