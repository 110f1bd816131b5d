"""vinculo demo: teams, one login per role and demo customers (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vinculo.devdata import seeding
from vinculo.devdata.management.commands.seed import seed_with_progress

DEFAULT_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = "Create the demo teams and logins and, if the database has no customers, seed some."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--print-logins", action="store_true", help="only print the URL hint and the logins"
        )
        parser.add_argument(
            "--url", default=DEFAULT_URL, help=f"where the web app answers (default {DEFAULT_URL})"
        )

    def handle(self, *args, **opts):
        if opts["print_logins"]:
            self.print_logins(opts["url"])
            return
        quiet = opts["verbosity"] == 0
        staff = seeding.ensure_demo_staff()
        if staff.created_users:
            self.stdout.write(f"Created logins: {', '.join(staff.created_users)}.")
        from vinculo.customers.models import Customer

        if opts["customers"] > 0 and not Customer.objects.exists():
            stats = seed_with_progress(customers=opts["customers"], seed=opts["seed"], quiet=quiet)
            self.stdout.write(
                f"Seeded {stats.customers} customers, {stats.interactions} interactions and "
                f"{stats.sales.orders} orders ({stats.sales.order_lines} lines) "
                f"in {stats.seconds:.1f} s."
            )
        else:
            self.stdout.write("Customers already present: nothing seeded.")
        if not quiet:
            self.print_logins(opts["url"])

    def print_logins(self, url: str) -> None:
        self.stdout.write(f"  Open {url} and sign in with one of these logins:")
        self.stdout.write("")
        self.stdout.write(f"  {'user':<10} {'password':<14} role")
        self.stdout.write(f"  {'-' * 10} {'-' * 14} {'-' * 24}")
        for username, role, team, *_ in seeding.DEMO_USERS:
            label = str(role.label) + (f" · {team}" if team else "")
            self.stdout.write(f"  {username:<10} {seeding.DEMO_PASSWORD:<14} {label}")
        self.stdout.write("")
