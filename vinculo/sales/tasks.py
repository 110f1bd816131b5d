"""Background tasks of the sales app (django-tasks; the db_worker runs them)."""

from __future__ import annotations

from django_tasks import task

from vinculo.sales import leads, quote_changes


@task()
def rescore_leads_task() -> dict:
    """Re-score every open lead: engagement points fade as interactions leave the 30-day
    window, and changed scoring rules apply. Safe to run twice (scores are recomputed)."""
    return {"rescored": leads.rescore_open_leads()}


@task()
def expire_quotes_task() -> dict:
    """Mark draft and sent quotes past their valid-until date as expired. Safe to run twice
    (an expired quote is not touched again)."""
    return {"expired": quote_changes.expire_quotes()}
