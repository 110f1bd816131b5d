"""Print candidate duplicate pairs: ``vinculo find_duplicates [--limit N] [--user NAME]``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vinculo.customers.duplicates import DEFAULT_LIMIT, find_duplicates
from vinculo.customers.models import Customer


class Command(BaseCommand):
    help = "List possible duplicate customers (same email, same phone, similar name in a city)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="most pairs to list")
        parser.add_argument("--user", help="only customers this user may see (default: all)")

    def handle(self, *args, limit: int, user: str | None, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        who = None
        if user:
            who = get_user_model().objects.filter(username=user).first()
            if who is None:
                raise CommandError(f"No user named {user!r}")
        pairs = find_duplicates(user=who, limit=limit)
        ids = {i for p in pairs for i in (p.a_id, p.b_id)}
        names = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
        self.stdout.write("a_id\tb_id\treason\tscore\ta_name\tb_name\tshared")
        for p in pairs:
            self.stdout.write(
                f"{p.a_id}\t{p.b_id}\t{'+'.join(p.reasons)}\t{p.score:.0f}\t"
                f"{names.get(p.a_id, '')}\t{names.get(p.b_id, '')}\t{p.detail}"
            )
        self.stderr.write(f"{len(pairs)} pair(s)")
