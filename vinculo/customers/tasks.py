"""Background tasks of the customers app (django-tasks; the db_worker runs them)."""

from __future__ import annotations

from django_tasks import task

from vinculo.customers import importing


@task()
def run_import_task(job_id: int) -> dict:
    """Run (or resume) a confirmed customer import; safe to enqueue twice (resumes from
    ``rows_done`` and does nothing once the job is done)."""
    job = importing.run_import(job_id=job_id)
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
    }
