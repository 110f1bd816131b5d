"""Background tasks of the customers app (django-tasks; the db_worker runs them)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import translation
from django_tasks import task

from vinculo.customers import importing
from vinculo.customers.models import ImportJob


def _language(job: ImportJob) -> str:
    # Row messages are stored in the job: write them in the language of who started it.
    return getattr(job.created_by, "language", "") or settings.LANGUAGE_CODE


@task()
def run_import_task(job_id: int) -> dict:
    """Run (or resume) a confirmed customer import; safe to enqueue twice (resumes from
    ``rows_done``, and does nothing once the job is done)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    with translation.override(_language(job)):
        job = importing.run_import(job_id=job_id)
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
    }


@task()
def analyse_import_task(job_id: int) -> dict:
    """The dry run of a big import file, off the web request; the preview page polls."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJob.Status.MAPPED:
        return {}  # re-mapped or already run since this was queued
    with translation.override(_language(job)):
        return importing.analyse_import(actor=job.created_by, job=job).counts()


@task()
def clean_import_uploads_task(days: int | None = None) -> dict:
    """Delete import uploads left untouched for ``days`` (default: the setting
    IMPORT_UPLOADS_KEEP_DAYS); unfinished customer imports become cancelled. Safe to run
    twice (a deleted file is not counted again)."""
    keep = days if days is not None else settings.IMPORT_UPLOADS_KEEP_DAYS
    return {"deleted": importing.clean_abandoned_imports(older_than=dt.timedelta(days=keep))}
