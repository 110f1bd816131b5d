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


@task()
def run_segmentation_models_task(refresh: bool = True) -> dict:
    """Nightly: refresh the warehouse (incremental), then run RFM, clusters, profitability,
    preferred channel, habits, sequences, adoption, churn, propensity, the revenue forecast
    and CLV in that order. A model that fails keeps
    its failed run and the others still run; the result says which did what."""
    from vinculo.analytics.cli_models import EVERY, runner
    from vinculo.analytics.runs import latest_run

    if refresh:
        warehouse.refresh()
    done: dict[str, dict] = {}
    for model in EVERY:
        try:
            runner(model, {})()
        except Exception as exc:  # one model failing must not stop the others
            done[model] = {"status": "failed", "error": repr(exc)}
            continue
        run = latest_run(model)
        done[model] = {"status": "done", "version": run.version if run else None}
    return done
