"""Background tasks of the analytics app (django-tasks; the db_worker runs them)."""

from __future__ import annotations

from django_tasks import task

from vinculo.analytics import warehouse


@task()
def refresh_warehouse_task(full: bool = False) -> dict:
    """Refresh the warehouse (incremental unless ``full``). Safe to enqueue twice: a refresh
    is atomic and idempotent, and a second one while the first holds the file waits, then
    fails with "try again" and leaves the warehouse as it was."""
    result = warehouse.refresh(full=full)
    return {
        "mode": result.mode,
        "extracted": result.extracted,
        "deleted": result.deleted,
        "seconds": round(result.seconds, 2),
        "marts": result.mart_rows,
    }
