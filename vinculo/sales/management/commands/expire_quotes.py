"""Expire quotes past their date: ``vinculo expire_quotes [--background]`` (run it nightly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vinculo.core.management.background import add_background_option, queue
from vinculo.sales import quote_changes
from vinculo.sales.tasks import expire_quotes_task


class Command(BaseCommand):
    help = "Mark draft and sent quotes past their valid-until date as expired."

    def add_arguments(self, parser):
        add_background_option(parser)

    def handle(self, *args, background: bool, **options):
        if background:
            return queue(
                self,
                expire_quotes_task,
                message="Queued: the task worker will expire the quotes past their date.",
            )
        n = quote_changes.expire_quotes()
        self.stdout.write(f"Expired {n} quote(s).")
