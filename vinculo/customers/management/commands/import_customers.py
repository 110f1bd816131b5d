"""vinculo import_customers FILE --user USERNAME [--mapping auto|map.json] [--upsert ...]
[--dry-run]: the same checks and per-row transactions as the web import. Exit code 1 if any
row was invalid (or would be, with --dry-run)."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vinculo.core.errors import DomainError
from vinculo.customers import importing


class Command(BaseCommand):
    help = "Import customers from a CSV, XLSX or vCard file."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument(
            "--resume", type=int, metavar="JOB_ID", help="continue an interrupted import job"
        )
        parser.add_argument("--user", required=True, help="username the import is done as")
        parser.add_argument(
            "--mapping",
            default="auto",
            help='"auto" (match column names) or a JSON file {"column": "target field"}',
        )
        parser.add_argument("--upsert", choices=importing.UPSERT_KEYS, default="none")
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"No user {opts['user']!r}.")
        if opts["resume"]:
            job = importing.jobs_for_user(user).filter(pk=opts["resume"]).first()
            if job is None:
                raise CommandError(f"No import job {opts['resume']} of {user.username}.")
            importing.start_import(actor=user, job=job, confirmed_invalid=True, enqueue=False)
            return self._run(job)
        if not opts["file"]:
            raise CommandError("Give a FILE to import (or --resume JOB_ID).")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        try:
            job = importing.create_import_job(actor=user, name=path.name, data=path.read_bytes())
            mapping = job.mapping
            if opts["mapping"] != "auto":
                mapping = json.loads(Path(opts["mapping"]).read_text(encoding="utf-8"))
            importing.save_mapping(actor=user, job=job, mapping=mapping, upsert=opts["upsert"])
            plan = importing.analyse_import(actor=user, job=job)
        except DomainError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.field_errors.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        mapped = {c: t for c, t in job.mapping.items() if t}
        if mapped:
            self.stdout.write("Mapping: " + ", ".join(f"{c} -> {t}" for c, t in mapped.items()))
        counts = plan.counts()
        if opts["dry_run"]:
            self.stdout.write(
                "Dry run: {rows_total} rows, would create {to_create}, would update "
                "{to_update}, invalid {invalid}, duplicates in file {duplicates}, possible "
                "duplicates of existing customers {possible_duplicates}.".format(**counts)
            )
            self._print_errors(job)
            if counts["invalid"] or counts["duplicates"]:
                raise SystemExit(1)
            return
        importing.start_import(actor=user, job=job, confirmed_invalid=True, enqueue=False)
        self._run(job)

    def _run(self, job):
        def progress(j):
            if j.rows_done == j.rows_total or j.rows_done % 500 == 0:
                self.stdout.write(f"\r{j.rows_done}/{j.rows_total} rows", ending="")
                self.stdout.flush()

        # Runs here, in this process, rather than waiting for a worker.
        try:
            job = importing.run_import(job_id=job.pk, progress=progress)
        except Exception as exc:
            raise CommandError(
                f"Import #{job.pk} stopped ({exc}); every row before it is saved. "
                f"Resume with: vinculo import_customers --resume {job.pk} --user USERNAME"
            ) from exc
        self.stdout.write("")
        self.stdout.write(
            f"Import #{job.pk} done: {job.created_count} created, {job.updated_count} updated, "
            f"{job.skipped_count} skipped."
        )
        self._print_errors(job)
        if job.skipped_count:
            raise SystemExit(1)

    def _print_errors(self, job):
        for e in (job.errors or [])[:50]:
            self.stderr.write(f"row {e['row']}: {e['field']}: {e['message']} {e.get('value', '')}")
        if len(job.errors or []) > 50:
            self.stderr.write(f"... and {len(job.errors) - 50} more errors")
