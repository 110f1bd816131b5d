"""Customer import: read CSV/XLSX/vCard files, map columns, validate every row (dry run) and
run the import one committed row at a time (resumable from ``ImportJob.rows_done``).

This module holds the services (the steps below) and the run; the steps before it have
their own modules, whose public names are re-exported here: ``import_files`` (reading a
file into a ``Table``), ``import_mapping`` (columns -> fields) and ``import_rows``
(validating a row, planning matches and duplicates).

Steps, as the UI and the ``import_customers`` command use them:
  create_import_job()  -> checks the upload (size, encoding, header, columns), stores it
  save_mapping()       -> column -> target field, upsert key, what to do with invalid rows
  analyse_import()     -> dry run: validates every row with the same code the run uses
  start_import()       -> marks the job running and enqueues the background task on commit
  run_import()         -> the task body: one transaction per row (row + progress together)
  cancel_import()      -> gives up on an import that is not running; its file is deleted

The uploaded file is kept only while it may still be needed: it is deleted when the import
finishes or is cancelled, and ``clean_abandoned_imports()`` (a scheduled task) deletes the
files of imports left untouched for ``IMPORT_UPLOADS_KEEP_DAYS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import require
from vinculo.core import audit, uploads
from vinculo.core.errors import DomainError, ValidationError
from vinculo.customers import services

# The steps before the run live in their own modules; their public names stay importable from
# here (``from vinculo.customers.importing import read_table``), as callers always did.
from vinculo.customers.import_files import (
    FORMATS,
    MAX_COLUMNS,
    MAX_UPLOAD_BYTES,
    ImportFileError,
    Table,
    decode_text,
    detect_format,
    read_table,
    vcard_record,
)
from vinculo.customers.import_mapping import (
    MULTI_TARGETS,
    NAME_TARGETS,
    TARGET_FIELDS,
    UPSERT_KEYS,
    check_mapping,
    guess_mapping,
    target_choices,
)
from vinculo.customers.import_rows import (
    CleanRow,
    Plan,
    RowError,
    _create_errors,
    _custom_defs,
    _possible_duplicate,
    _Seen,
    clean_row,
    find_match,
    iter_clean_rows,
)
from vinculo.customers.models import Customer, ImportJob
from vinculo.customers.selectors import visible_customers

__all__ = [
    "FORMATS",
    "INLINE_ANALYSIS_BYTES",
    "MAX_COLUMNS",
    "MAX_UPLOAD_BYTES",
    "MULTI_TARGETS",
    "NAME_TARGETS",
    "STALL_AFTER",
    "TARGET_FIELDS",
    "UPSERT_KEYS",
    "CleanRow",
    "ImportFileError",
    "ImportInterrupted",
    "Plan",
    "RowError",
    "Table",
    "analyse_import",
    "analysis_runs_inline",
    "cancel_import",
    "check_mapping",
    "clean_abandoned_imports",
    "clean_row",
    "create_import_job",
    "decode_text",
    "detect_format",
    "error_report_rows",
    "find_match",
    "guess_mapping",
    "is_stalled",
    "iter_clean_rows",
    "job_table",
    "jobs_for_user",
    "read_table",
    "request_analysis",
    "run_import",
    "save_mapping",
    "start_import",
    "target_choices",
    "vcard_record",
]


class ImportInterrupted(Exception):
    """Another runner advanced the job; this one stops without touching it."""


def job_table(job: ImportJob) -> Table:
    if not job.file.name:
        raise ImportFileError(_("The uploaded file of this import was deleted; upload it again."))
    with job.file.open("rb") as fh:
        data = fh.read()
    return read_table(data, job.format)


# --- services: create job, save mapping, dry run, start, run --------------------------------


@transaction.atomic
def create_import_job(*, actor, name: str, data: bytes) -> ImportJob:
    """Check an uploaded file and store it as a new ImportJob (status "uploaded"; a vCard file
    is mapped automatically). Refuses empty, binary, headerless, too large or too wide files."""
    require(actor, "customers.import")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            _("The file is too large (%(size)s MB); the limit is %(max)s MB.")
            % {"size": len(data) // (1024 * 1024), "max": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    fmt = detect_format(name, data[:4096])
    table = read_table(data, fmt)
    if next(iter(table.records()), None) is None:
        raise ImportFileError(_("The file has column names but no rows to import."))
    job = ImportJob(created_by=actor, original_name=Path(name).name[:255], format=fmt)
    job.options = {
        "upsert": "external_id" if fmt == "vcf" else "none",
        "invalid": "skip",
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "headers": table.headers,
    }
    if fmt == "vcf":
        job.status = ImportJob.Status.MAPPED
    else:
        job.mapping = guess_mapping(table.headers)
    job.file.save(f"import-{Path(name).stem[:40] or 'file'}.{fmt}", ContentFile(data), save=False)
    job.save()
    return job


@transaction.atomic
def save_mapping(*, actor, job: ImportJob, mapping: dict[str, str], upsert: str) -> ImportJob:
    """Store the column mapping and upsert key; refuses a mapping without any name column."""
    require(actor, "customers.import")
    _check_editable(job)
    if upsert not in UPSERT_KEYS:
        raise ValidationError.for_field("upsert", _("Choose how to match existing customers."))
    headers = job.options.get("headers", [])
    mapping = {h: (mapping.get(h) or "") for h in headers} if job.format != "vcf" else {}
    check_mapping(mapping, fmt=job.format)
    job.mapping = mapping
    job.options = {
        **{k: v for k, v in job.options.items() if k != "analysis_queued"},
        "upsert": upsert,
        "invalid": "skip",
    }
    job.status = ImportJob.Status.MAPPED
    job.save(update_fields=["mapping", "options", "status", "updated_at"])
    return job


def _check_editable(job: ImportJob) -> None:
    if job.status == ImportJob.Status.CANCELLED:
        raise ValidationError(_("This import was cancelled; upload the file again to import it."))
    if job.status in {ImportJob.Status.RUNNING, ImportJob.Status.DONE} or job.rows_done:
        raise ValidationError(_("This import has already run; upload the file again to redo it."))


# Files up to this size are checked while the user waits; bigger ones by the worker.
INLINE_ANALYSIS_BYTES = 2 * 1024 * 1024


def analysis_runs_inline(job: ImportJob) -> bool:
    return job.file.size <= INLINE_ANALYSIS_BYTES


@transaction.atomic
def request_analysis(*, actor, job: ImportJob) -> None:
    """Queue the dry run of a big file for the background worker (once per mapping)."""
    require(actor, "customers.import")
    if job.options.get("analysis_queued"):
        return
    job.options = {**job.options, "analysis_queued": True}
    job.save(update_fields=["options", "updated_at"])
    from vinculo.customers.tasks import analyse_import_task

    job_id = job.pk
    transaction.on_commit(lambda: analyse_import_task.enqueue(job_id))


def analyse_import(*, actor, job: ImportJob) -> Plan:
    """Dry run: validate every row, find upsert matches, duplicates inside the file and
    possible duplicates of existing customers. Writes nothing but the job's report."""
    require(actor, "customers.import")
    check_mapping(job.mapping, fmt=job.format)
    plan = Plan()
    qs = visible_customers(actor)
    upsert = job.options.get("upsert", "none")
    custom = _custom_defs()
    seen = _Seen()
    for n, row, errors in iter_clean_rows(job, job_table(job), custom):
        plan.rows_total += 1
        match = None
        if row is not None and not errors:
            dup = seen.duplicate_of(row)
            if dup:
                plan.duplicates += 1
                plan.errors.append(dup)
                continue
            seen.add(row)
            match, match_err = find_match(qs, row, upsert)
            if match_err:
                errors = [match_err]
            elif match is None:
                errors = _create_errors(row, custom)
        if errors:
            plan.invalid += 1
            plan.errors.extend(errors)
            continue
        if match:
            plan.to_update += 1
            continue
        plan.to_create += 1
        existing = _possible_duplicate(qs, row) if row else None
        if existing:
            plan.possible_duplicates.append({"row": n, "customer_id": existing})
    job.rows_total = plan.rows_total
    job.errors = [e.as_dict() for e in plan.errors]
    job.options = {
        **{k: v for k, v in job.options.items() if k != "analysis_queued"},
        "preview": plan.counts(),
        "possible_duplicates": plan.possible_duplicates[:200],
    }
    job.status = ImportJob.Status.PREVIEWED
    job.save(update_fields=["rows_total", "errors", "options", "status", "updated_at"])
    return plan


@transaction.atomic
def start_import(
    *, actor, job: ImportJob, confirmed_invalid: bool, enqueue: bool = True
) -> ImportJob:
    """Mark a previewed (or failed) job as running and enqueue the background run once this
    commits (``enqueue=False`` when the caller runs it itself, like the command). With invalid
    rows in the preview the user must confirm they will be skipped."""
    require(actor, "customers.import")
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportJob.Status.RUNNING and not is_stalled(job):
        return job  # already started: a double click does not enqueue twice
    if job.status == ImportJob.Status.DONE:
        raise ValidationError(_("This import has already run."))
    if job.status == ImportJob.Status.CANCELLED:
        raise ValidationError(_("This import was cancelled; upload the file again to import it."))
    if job.status not in {
        ImportJob.Status.PREVIEWED,
        ImportJob.Status.FAILED,
        ImportJob.Status.RUNNING,
    }:
        raise ValidationError(_("Check the preview before running the import."))
    preview = job.options.get("preview", {})
    if (preview.get("invalid") or preview.get("duplicates")) and not confirmed_invalid:
        raise ValidationError.for_field(
            "confirm", _("Confirm that the invalid rows will be skipped.")
        )
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    if enqueue:
        from vinculo.customers.tasks import run_import_task

        job_id = job.pk
        transaction.on_commit(lambda: run_import_task.enqueue(job_id))
    return job


STALL_AFTER = dt.timedelta(minutes=10)


def is_stalled(job: ImportJob) -> bool:
    """A running job whose progress has not moved for a while (its worker died): the user
    may resume it. Each committed row touches ``updated_at``."""
    return job.status == ImportJob.Status.RUNNING and job.updated_at < timezone.now() - STALL_AFTER


def run_import(*, job_id: int, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Import every row after ``rows_done``: each row and the job's progress commit together,
    so an interruption never leaves half a row and a re-run continues where it stopped.
    With an upsert key the same file imported again updates instead of duplicating."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in {ImportJob.Status.DONE, ImportJob.Status.CANCELLED}:
        return job
    actor = job.created_by
    require(actor, "customers.import")
    fields = ["status", "updated_at"]
    if job.rows_done == 0:
        job.errors, job.created_count, job.updated_count, job.skipped_count = [], 0, 0, 0
        fields += ["errors", "created_count", "updated_count", "skipped_count"]
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=fields)
    try:
        _run_rows(job, actor, progress)
    except ImportInterrupted:
        return ImportJob.objects.get(pk=job.pk)
    except Exception:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
        job.status = ImportJob.Status.FAILED
        raise
    with transaction.atomic():
        job.status = ImportJob.Status.DONE
        _discard_file(job)  # every row is in the database now; the file is not needed
        job.save()
        audit.record(
            actor=actor,
            action="import",
            obj=job,
            object_type="customers.importjob",
            payload={
                "job_id": job.pk,
                "file": job.original_name,
                "rows_total": job.rows_total,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
            },
        )
    return job


_PROGRESS_FIELDS = [
    "rows_total",
    "rows_done",
    "created_count",
    "updated_count",
    "skipped_count",
    "updated_at",
]


def _run_rows(job: ImportJob, actor, progress) -> None:
    qs = visible_customers(actor)
    upsert = job.options.get("upsert", "none")
    custom = _custom_defs()
    seen = _Seen()
    table = job_table(job)
    rows = list(iter_clean_rows(job, table, custom))
    job.rows_total = len(rows)
    for index, (_n, row, errors) in enumerate(rows, start=1):
        dup = None
        if row is not None and not errors:
            dup = seen.duplicate_of(row)
            if dup is None:
                seen.add(row)
        if index <= job.rows_done:
            continue  # committed by an earlier run: only rebuild the in-file key memory
        with transaction.atomic():
            # Two runners of one job (a resumed job whose old task wakes up) must not write a
            # row twice: the job row is locked and its progress checked before each row.
            locked = ImportJob.objects.select_for_update().values_list("rows_done", "status")
            done, status = locked.get(pk=job.pk)
            if done != index - 1 or status == ImportJob.Status.CANCELLED:
                raise ImportInterrupted(_("Another run of this import is in progress."))
            if row is not None and not errors and dup is not None:
                errors = [dup]
            if not errors and row is not None:
                errors = _write_row(actor=actor, qs=qs, row=row, upsert=upsert, job=job)
            if errors:
                job.skipped_count += 1
                job.errors = [*job.errors, *(e.as_dict() for e in errors)]
            job.rows_done = index
            # The error list is rewritten only when it grows (it can be long).
            job.save(update_fields=[*_PROGRESS_FIELDS, *(["errors"] if errors else [])])
        if progress:
            progress(job)


def _write_row(*, actor, qs, row: CleanRow, upsert: str, job: ImportJob) -> list[RowError]:
    """Create or update the customer for one clean row (inside the caller's transaction).
    Domain errors become row errors, rolled back to a savepoint so nothing partial stays."""
    try:
        with transaction.atomic():
            match, match_err = find_match(qs, row, upsert)
            if match_err:
                return [match_err]
            if match is None:
                _create_from_row(actor=actor, qs=qs, row=row)
                job.created_count += 1
            else:
                _update_from_row(actor=actor, qs=qs, row=row, customer_id=match)
                job.updated_count += 1
    except DomainError as exc:
        pairs = [(f, m) for f, ms in exc.field_errors.items() for m in ms] or [("", exc.message)]
        return [RowError(row.row, f, m) for f, m in pairs]
    return []


def _organization_id(*, actor, qs, name: str) -> int | None:
    if not name:
        return None
    org_id = (
        qs.filter(kind=Customer.Kind.ORGANIZATION, name__iexact=name)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if org_id:
        return org_id
    org = services.create_customer(
        actor=actor,
        kind=Customer.Kind.ORGANIZATION,
        name=name,
        owner_id=actor.pk,
        source="import",
    )
    return org.pk


def _create_from_row(*, actor, qs, row: CleanRow) -> Customer:
    fields = dict(row.fields)
    c = services.create_customer(
        actor=actor,
        kind=row.kind,
        first_name=row.first_name,
        last_name=row.last_name,
        name=row.name,
        emails=row.emails,
        phones=row.phones,
        tags=row.tags,
        attributes=row.attributes,
        external_id=row.external_id or None,
        organization_id=_organization_id(actor=actor, qs=qs, name=row.company),
        owner_id=actor.pk,
        **fields,
    )
    _add_address(actor=actor, customer=c, row=row)
    return c


def _update_from_row(*, actor, qs, row: CleanRow, customer_id: int) -> Customer:
    """Fill in what the row brings (empty cells never blank a field); channels and tags are
    added to the customer's, not replacing them."""
    changes: dict[str, Any] = dict(row.fields)
    for fld in ("first_name", "last_name", "name"):
        if getattr(row, fld):
            changes[fld] = getattr(row, fld)
    if row.external_id:
        changes["external_id"] = row.external_id
    if row.company:
        changes["organization_id"] = _organization_id(actor=actor, qs=qs, name=row.company)
    current = Customer.objects.get(pk=customer_id)
    tags = None
    if row.tags:
        existing = list(current.tags.values_list("name", flat=True))
        tags = sorted({*existing, *row.tags})
    c = services.update_customer(
        actor=actor,
        customer_id=customer_id,
        expected_version=None,
        tags=tags,
        attributes=row.attributes or None,
        **changes,
    )
    have_emails = set(c.emails.values_list("email", flat=True))
    for email in row.emails:
        if email not in have_emails:
            services.add_email(actor=actor, customer_id=c.pk, email=email)
    have_phones = set(c.phones.values_list("number", flat=True))
    for phone in row.phones:
        if phone not in have_phones:
            services.add_phone(actor=actor, customer_id=c.pk, number=phone)
    _add_address(actor=actor, customer=c, row=row)
    return c


def _add_address(*, actor, customer: Customer, row: CleanRow) -> None:
    if not row.address:
        return
    fields = {
        "street": row.address.get("street", ""),
        "postal_code": row.address.get("postal_code", ""),
        "city": row.fields.get("city", ""),
        "region": row.fields.get("region", ""),
        "country": row.fields.get("country", ""),
    }
    if customer.addresses.filter(**fields).exists():
        return
    services.add_address(actor=actor, customer_id=customer.pk, kind="other", **fields)


# --- cancelling and cleaning up -------------------------------------------------------------


def _discard_file(job: ImportJob) -> None:
    """Forget the job's stored file (the caller saves the job) and delete it once the
    transaction commits: a rolled-back cancel keeps the file."""
    name = job.file.name
    if not name:
        return
    job.file.name = ""
    transaction.on_commit(lambda: uploads.delete_stored_file(name))


@transaction.atomic
def cancel_import(*, actor, job: ImportJob) -> ImportJob:
    """Cancel an import that is not running: status "cancelled" and its uploaded file deleted.
    Rows an interrupted run already imported stay imported. Idempotent."""
    require(actor, "customers.import")
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportJob.Status.CANCELLED:
        return job
    if job.status == ImportJob.Status.DONE:
        raise ValidationError(_("This import has already run; there is nothing to cancel."))
    if job.status == ImportJob.Status.RUNNING and not is_stalled(job):
        raise ValidationError(_("The import is running; it cannot be cancelled now."))
    job.status = ImportJob.Status.CANCELLED
    _discard_file(job)
    job.save(update_fields=["status", "file", "updated_at"])
    return job


def clean_abandoned_imports(*, older_than: dt.timedelta) -> int:
    """Delete the uploaded files of imports untouched for ``older_than``: an import that never
    finished becomes "cancelled"; a finished one just loses its file. Files in the import
    uploads folder that no import job refers to (a lead import previewed but never confirmed)
    are deleted too. Returns the number of files deleted. Idempotent; each import is changed
    in its own transaction."""
    cutoff = timezone.now() - older_than
    discarded: set[str] = set()
    stale = ImportJob.objects.filter(updated_at__lt=cutoff).exclude(file="")
    for pk in stale.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=pk)
            if not job.file.name or job.updated_at >= cutoff:
                continue  # touched meanwhile
            if job.status != ImportJob.Status.DONE:
                job.status = ImportJob.Status.CANCELLED
            discarded.add(job.file.name)
            _discard_file(job)
            # updated_at is left alone: the list keeps showing when the user last worked on it
            job.save(update_fields=["status", "file"])
    deleted = len(discarded)
    # Deleted on commit above; the rest of the folder is what no import job refers to.
    keep = discarded | set(ImportJob.objects.exclude(file="").values_list("file", flat=True))
    for name in uploads.stored_files_older_than(uploads.IMPORT_UPLOADS_DIR, cutoff):
        if name not in keep and uploads.delete_stored_file(name):
            deleted += 1
    # After the files deleted on commit above: the year/month folders they leave empty go too,
    # except this month's, where a new upload may be landing right now (named like Django's
    # FileField names it: the server's local date).
    this_month = f"{uploads.IMPORT_UPLOADS_DIR}/{dt.datetime.now():%Y/%m}"
    transaction.on_commit(
        lambda: uploads.remove_empty_folders(
            uploads.IMPORT_UPLOADS_DIR, keep=[this_month, str(Path(this_month).parent)]
        )
    )
    return deleted


# --- reports --------------------------------------------------------------------------------


def error_report_rows(job: ImportJob) -> Iterator[list[str]]:
    """The error report as CSV rows: row, field, message, value."""
    yield [_("Row"), _("Field"), _("Message"), _("Value")]
    for e in job.errors or []:
        yield [str(e.get("row", "")), e.get("field", ""), e.get("message", ""), e.get("value", "")]


def jobs_for_user(user):
    """Import jobs a user may see: their own, or all for an administrator."""
    qs = ImportJob.objects.select_related("created_by")
    if getattr(user, "is_admin_role", False):
        return qs
    return qs.filter(created_by=user)
