"""vinculo export_customers --format csv|xlsx --out FILE [--user USERNAME] [--stage lead ...]:
the same export as the web page, with the list filters as options."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from vinculo.core.errors import DomainError
from vinculo.customers import exporting
from vinculo.customers.filters import filters_from_querydict

FILTERS = (
    "q",
    "kind",
    "stage",
    "owner",
    "team",
    "tag",
    "city",
    "country",
    "source",
    "organization",
    "sort",
)


class Command(BaseCommand):
    help = "Export customers to CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--out", required=True)
        parser.add_argument(
            "--user", help="export what this user may see (default: the first administrator)"
        )
        for name in FILTERS:
            parser.add_argument(f"--{name}", default="")
        parser.add_argument(
            "--attr", action="append", default=[], help="custom field filter key=value"
        )

    def handle(self, *args, **opts):
        User = get_user_model()
        if opts["user"]:
            user = User.objects.filter(username=opts["user"]).first()
        else:
            user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("No such user (give --user USERNAME).")
        qd = QueryDict(mutable=True)
        for name in FILTERS:
            if opts[name]:
                qd[name] = opts[name]
        for item in opts["attr"]:
            key, _sep, value = item.partition("=")
            qd[f"attr.{key}"] = value
        filters = filters_from_querydict(qd)
        try:
            if opts["format"] == "xlsx":
                count = exporting.write_xlsx(user=user, filters=filters, out=opts["out"])
            else:
                with open(opts["out"], "w", encoding="utf-8", newline="") as fh:
                    count = exporting.write_csv(user=user, filters=filters, out=fh)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Exported {count} customers to {opts['out']}.")
