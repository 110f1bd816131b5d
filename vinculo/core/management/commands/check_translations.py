"""Fail when a catalog has untranslated or fuzzy strings, broken placeholders or a stale .mo."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vinculo.core.catalogs import check_catalog

SHOWN = 20  # entries listed per problem; the count says how many there are


class Command(BaseCommand):
    help = (
        "Check that every translation catalog is complete: no untranslated or fuzzy entry, "
        "placeholders kept, compiled .mo up to date. Exits 1 otherwise (run by `make messages`)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-l",
            "--locale",
            action="append",
            help="Locale to check (repeatable); default: every language but the source one.",
        )

    def handle(self, *args, locale=None, **options):
        locales = locale or [c for c, _ in settings.LANGUAGES if c != settings.LANGUAGE_CODE]
        failed = []
        for code in locales:
            path = Path(settings.LOCALE_PATHS[0]) / code / "LC_MESSAGES" / "django.po"
            if not path.exists():
                failed.append(code)
                self.stderr.write(f"{code}: {path} is missing; run `make messages`.")
                continue
            try:
                report = check_catalog(path)
            except ValueError as exc:
                raise CommandError(f"{code}: the catalog cannot be read: {exc}") from exc
            self.stdout.write(
                f"{code}: {report.translated} translated, {len(report.untranslated)} untranslated, "
                f"{len(report.fuzzy)} fuzzy, {len(report.bad_placeholders)} with wrong "
                f"placeholders, {len(report.stale_compiled)} missing from the compiled .mo"
            )
            for title, items in (
                ("untranslated", [e.label for e in report.untranslated]),
                ("fuzzy (review, then remove the fuzzy flag)", [e.label for e in report.fuzzy]),
                (
                    "placeholders differ from the English",
                    [e.label for e in report.bad_placeholders],
                ),
                ("compiled .mo out of date (run compilemessages)", report.stale_compiled),
            ):
                if items:
                    self.stderr.write(f"  {title}:")
                    for label in items[:SHOWN]:
                        self.stderr.write(f"    {label}")
                    if len(items) > SHOWN:
                        self.stderr.write(f"    ... and {len(items) - SHOWN} more")
            if not report.ok:
                failed.append(code)
        if failed:
            raise CommandError(f"Incomplete translation catalog: {', '.join(failed)}.")
