"""vinculo import_leads FILE [--source S] [--campaign C] [--cost X] [--user U] [--dry-run]:
the same checks and per-row transactions as the import page. Re-running the same file skips
the rows already imported. Exit code 1 if any row was invalid (or would be, with --dry-run)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vinculo.core.errors import DomainError
from vinculo.sales import leads_import
from vinculo.sales.models import Lead


class Command(BaseCommand):
    help = "Import leads from a CSV or XLSX file (columns matched by their names)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", default=Lead.Source.IMPORT, choices=Lead.Source.values)
        parser.add_argument("--campaign", default="")
        parser.add_argument("--cost", default="0", help="cost per lead for every row")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument(
            "--user",
            help="username the import is done as (needs customers.import); leads no rule "
            "assigns go to this user. Without it, they stay unassigned.",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user {opts['user']!r}.")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        defaults = leads_import.LeadImportDefaults(
            source=opts["source"],
            campaign=opts["campaign"],
            acquisition_cost=opts["cost"],
            currency=opts["currency"].upper(),
        )
        run = leads_import.preview_lead_import if opts["dry_run"] else leads_import.import_leads
        try:
            report = run(actor=user, data=path.read_bytes(), filename=path.name, defaults=defaults)
        except DomainError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.field_errors.items())
            raise CommandError(details or exc.message) from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Columns: " + ", ".join(f"{c} -> {t}" for c, t in report.mapping.items()))
        if report.unknown_columns:
            self.stdout.write("Ignored columns: " + ", ".join(report.unknown_columns))
        c = report.counts()
        verb = "would import" if opts["dry_run"] else "imported"
        self.stdout.write(
            f"{'Dry run: ' if opts['dry_run'] else ''}{c['rows']} rows, {verb} {c['valid']} "
            f"({c['new']} new customers, {c['matched']} existing customers), "
            f"{c['invalid']} with errors, {c['already_imported']} already imported."
        )
        for e in report.errors:
            field = f" [{e.field}]" if e.field else ""
            value = f" ({e.value!r})" if e.value else ""
            self.stdout.write(f"  row {e.row}{field}: {e.message}{value}")
        if c["invalid"]:
            raise SystemExit(1)
