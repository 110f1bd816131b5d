"""Recording model runs: ``with model_run("rfm", params=...) as run:`` gives the run its next
version, marks it done with its metrics, or failed with the error (and re-raises)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from vinculo.analytics.models import ModelRun


@contextmanager
def model_run(
    model: str, *, params: dict | None = None, as_of: dt.date | None = None
) -> Iterator[ModelRun]:
    """Open a run of ``model`` (next version), yield it for the caller to fill ``metrics``,
    ``summary`` and ``customers_scored``, then save it as done, or as failed with the error."""
    for _attempt in range(5):  # two runs starting together: the loser takes the next number
        try:
            with transaction.atomic():
                last = ModelRun.objects.filter(model=model).aggregate(v=Max("version"))["v"]
                run = ModelRun.objects.create(
                    model=model,
                    version=(last or 0) + 1,
                    status=ModelRun.Status.RUNNING,
                    params=params or {},
                    as_of=as_of,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - five collisions in a row
        raise RuntimeError(f"could not number a run of {model}")
    try:
        yield run
    except BaseException as exc:
        run.status, run.error, run.finished_at = ModelRun.Status.FAILED, repr(exc), timezone.now()
        run.save()
        raise
    run.status, run.finished_at = ModelRun.Status.DONE, timezone.now()
    run.save()


def latest_run(model: str) -> ModelRun | None:
    """The newest successful run of ``model``, or None."""
    return (
        ModelRun.objects.filter(model=model, status=ModelRun.Status.DONE)
        .order_by("-version")
        .first()
    )


def publish_scores(model: str, scores: dict[int, Any]) -> int:
    """Write a model's per-customer results back to the customers (``Customer.scores``, for
    segments, call lists and the 360° page) and into the warehouse (``score_<model>``, which
    fills the customer 360 mart's score columns). Returns the customers written."""
    from vinculo.analytics.warehouse.connection import writer
    from vinculo.analytics.warehouse.scores import store
    from vinculo.customers.services import write_scores

    written = write_scores(model=model, scores=scores)
    with writer() as con:
        store(con, model, scores)
    return written
