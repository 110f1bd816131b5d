"""Re-score every open lead: ``vinculo rescore_leads [--background]`` (run it nightly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vinculo.core.management.background import add_background_option, queue
from vinculo.sales import leads
from vinculo.sales.tasks import rescore_leads_task


class Command(BaseCommand):
    help = "Re-score every open lead (fit rules and the last 30 days of engagement)."

    def add_arguments(self, parser):
        add_background_option(parser)

    def handle(self, *args, background: bool, **options):
        if background:
            return queue(
                self,
                rescore_leads_task,
                message="Queued: the task worker will re-score the open leads.",
            )
        n = leads.rescore_open_leads()
        self.stdout.write(f"Re-scored {n} open lead(s).")
