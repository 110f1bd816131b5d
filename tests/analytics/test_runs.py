import pytest

from tests.customers.factories import CustomerFactory
from vinculo.analytics.models import ModelRun
from vinculo.analytics.runs import latest_run, model_run
from vinculo.customers.services import write_scores


def test_runs_are_numbered_per_model_and_a_failure_is_kept_with_its_error(db):
    with model_run("rfm", params={"quantiles": 5}) as run:
        run.metrics = {"customers": 3}
    with pytest.raises(ValueError), model_run("rfm"):
        raise ValueError("no orders in the warehouse")
    with model_run("churn"):
        pass
    rfm = ModelRun.objects.filter(model="rfm").order_by("version")
    assert [(r.version, r.status) for r in rfm] == [(1, "done"), (2, "failed")]
    assert "no orders in the warehouse" in rfm[1].error and rfm[0].metrics == {"customers": 3}
    assert latest_run("rfm").version == 1  # the failed run is not the one to trust
    assert latest_run("churn").version == 1


def test_scores_are_written_back_without_touching_other_scores_or_the_version(db):
    a, b, untouched = CustomerFactory(), CustomerFactory(), CustomerFactory()
    write_scores(model="churn", scores={a.pk: {"p": 0.8}, b.pk: {"p": 0.1}})
    version, updated = a.version, a.updated_at
    assert write_scores(model="rfm", scores={a.pk: {"segment": "champions"}}, batch=1) == 1
    a.refresh_from_db()
    b.refresh_from_db()
    untouched.refresh_from_db()
    assert a.scores == {"churn": {"p": 0.8}, "rfm": {"segment": "champions"}}
    assert b.scores == {"churn": {"p": 0.1}} and untouched.scores == {}
    assert (a.version, a.updated_at) == (version, updated)
