"""Re-score every open lead: ``vinculo rescore_leads [--background]`` (run it nightly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vinculo.sales import leads
from vinculo.sales.tasks import rescore_leads_task


class Command(BaseCommand):
    help = "Re-score every open lead (fit rules and the last 30 days of engagement)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--background",
            action="store_true",
            help="queue the work for the task worker instead of running it here",
        )

    def handle(self, *args, background: bool, **options):
        if background:
            rescore_leads_task.enqueue()
            self.stdout.write("Queued: the task worker will re-score the open leads.")
            return
        n = leads.rescore_open_leads()
        self.stdout.write(f"Re-scored {n} open lead(s).")
