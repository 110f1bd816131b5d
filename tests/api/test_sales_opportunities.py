"""``/api/v1/opportunities`` and ``/pipelines``: create (priced from lines), read with the
stage history, update and move with optimistic locking, win and lose, visibility."""

from __future__ import annotations

import pytest

from tests.api.sales_data import customer_of, make_catalog
from vinculo.customers.models import Customer
from vinculo.sales import pipelines
from vinculo.sales.models import Opportunity, Stage, StageHistory


@pytest.fixture
def pipeline(db):
    return pipelines.ensure_default_pipeline()


@pytest.fixture
def stages(pipeline):
    return {s.name: s for s in pipeline.stages.all()}


def _opp(user, customer, **extra):
    return pipelines.create_opportunity(
        actor=user, customer_id=customer.pk, name=extra.pop("name", "Deal"), **extra
    )


def test_pipelines_list_their_stages_in_order(api_for, rep, pipeline):
    body = api_for(rep).get("pipelines").json()
    assert [p["name"] for p in body] == ["Sales"]
    assert [s["name"] for s in body[0]["stages"]][:2] == ["Qualification", "Needs analysis"]
    assert body[0]["stages"][-1]["is_lost"] is True


def test_create_prices_the_amount_from_lines_by_sku(api_for, rep, admin, pipeline):
    make_catalog(admin)
    customer = customer_of(rep)
    response = api_for(rep).post(
        "opportunities",
        {
            "customer_id": customer.pk,
            "name": "Living room",
            "lines": [{"sku": "SOFA", "quantity": 5}, {"sku": "LAMP", "quantity": 2}],
            "expected_close_date": "2027-01-31",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # 5 × 450.00 (price list break) + 2 × 40.00, before tax.
    assert (body["amount"], body["amount_from_lines"]) == ("2330.00", True)
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("SOFA", 5), ("LAMP", 2)]
    assert (body["stage_name"], body["owner_id"], body["status"]) == (
        "Qualification",
        rep.pk,
        "open",
    )
    assert [h["stage_name"] for h in body["stage_history"]] == ["Qualification"]


def test_create_errors_name_the_field(api_for, rep, rep_b, pipeline):
    api = api_for(rep)
    customer = customer_of(rep)
    response = api.post("opportunities", {"customer_id": customer.pk, "name": "  "})
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": ["Give the opportunity a name."]}
    response = api.post("opportunities", {"customer_id": customer.pk})
    assert response.status_code == 422 and "name" in response.json()["errors"]
    response = api.post(
        "opportunities", {"customer_id": customer.pk, "name": "X", "lines": [{"sku": "NOPE"}]}
    )
    assert response.json()["errors"] == {"lines[0].sku": ["There is no product with SKU NOPE."]}
    hidden = customer_of(rep_b)
    assert api.post("opportunities", {"customer_id": hidden.pk, "name": "X"}).status_code == 404
    assert not Opportunity.objects.exists()


def test_update_moves_stage_records_history_and_refuses_a_stale_version(api_for, rep, stages):
    opp = _opp(rep, customer_of(rep))
    api = api_for(rep)
    response = api.patch(
        f"opportunities/{opp.pk}",
        {"version": opp.version, "next_step": "Send proposal", "stage_id": stages["Proposal"].pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stage_name"], body["next_step"]) == ("Proposal", "Send proposal")
    history = body["stage_history"]
    assert [h["stage_name"] for h in history] == ["Qualification", "Proposal"]
    assert history[0]["left_at"] is not None and history[1]["left_at"] is None
    # The version read before is stale now: nothing changes.
    response = api.patch(
        f"opportunities/{opp.pk}",
        {"version": opp.version, "name": "Renamed", "stage_id": stages["Negotiation"].pk},
    )
    assert response.status_code == 409
    opp.refresh_from_db()
    assert (opp.name, opp.stage.name) == ("Deal", "Proposal")
    assert StageHistory.objects.filter(opportunity=opp).count() == 2


def test_update_is_all_or_nothing(api_for, rep, stages):
    other = pipelines.create_pipeline(actor=None, name="Other", stages=[("Start", 10)])
    foreign = Stage.objects.get(pipeline=other, name="Start")
    opp = _opp(rep, customer_of(rep))
    response = api_for(rep).patch(
        f"opportunities/{opp.pk}",
        {"version": opp.version, "name": "Renamed", "stage_id": foreign.pk},
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["stage_id"]
    opp.refresh_from_db()
    assert (opp.name, opp.version) == ("Deal", 1)


def test_moving_to_lost_needs_a_reason(api_for, rep, stages):
    opp = _opp(rep, customer_of(rep))
    response = api_for(rep).patch(
        f"opportunities/{opp.pk}", {"version": opp.version, "stage_id": stages["Lost"].pk}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"lost_reason": ["Say why the opportunity was lost."]}


def test_win_promotes_the_customer_and_lose_keeps_the_reason(api_for, rep, pipeline):
    customer = customer_of(rep, stage="opportunity")
    won, lost = _opp(rep, customer, name="A"), _opp(rep, customer, name="B")
    api = api_for(rep)
    response = api.post(f"opportunities/{won.pk}/win", {"version": won.version})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["stage_name"]) == ("won", "Won")
    assert Customer.objects.get(pk=customer.pk).stage == "customer"
    response = api.post(f"opportunities/{lost.pk}/lose", {"lost_reason": " "})
    assert response.status_code == 422 and "lost_reason" in response.json()["errors"]
    response = api.post(f"opportunities/{lost.pk}/lose", {"lost_reason": "Too expensive"})
    body = response.json()
    assert (body["status"], body["lost_reason"]) == ("lost", "Too expensive")
    response = api.post(f"opportunities/{lost.pk}/win", {"version": 1})
    assert response.status_code == 409


def test_another_teams_opportunity_is_hidden(api_for, rep, rep_b, manager, pipeline):
    theirs = _opp(rep_b, customer_of(rep_b))
    mine = _opp(rep, customer_of(rep))
    api = api_for(rep)
    assert [r["id"] for r in api.get("opportunities").json()["items"]] == [mine.pk]
    assert api.get(f"opportunities/{theirs.pk}").status_code == 404
    assert api.patch(f"opportunities/{theirs.pk}", {"version": 1, "name": "x"}).status_code == 404
    assert api.post(f"opportunities/{theirs.pk}/lose", {"lost_reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.status) == ("Deal", "open")
    # Team A's manager sees team A's opportunity, not team B's.
    assert [r["id"] for r in api_for(manager).get("opportunities").json()["items"]] == [mine.pk]


def test_list_filters(api_for, rep, manager, stages):
    customer = customer_of(rep)
    a = _opp(rep, customer, name="Alpha")
    b = _opp(manager, customer, name="Beta", stage_id=stages["Proposal"].pk)
    api = api_for(rep)

    def ids(**params):
        return [r["id"] for r in api.get("opportunities", **params).json()["items"]]

    assert ids() == [b.pk, a.pk]
    assert ids(sort="name") == [a.pk, b.pk]
    assert ids(stage=stages["Proposal"].pk) == [b.pk]
    assert ids(owner="me") == [a.pk]
    assert ids(owner=manager.pk) == [b.pk]
    assert ids(status="won") == []
    assert ids(q="alp") == [a.pk]
    assert ids(pipeline=stages["Proposal"].pipeline_id) == [b.pk, a.pk]
    assert api.get("opportunities", status="pending").status_code == 422


def test_list_query_count_does_not_grow_with_rows(
    api_for, rep, pipeline, django_assert_max_num_queries
):
    customer = customer_of(rep)
    api = api_for(rep)
    for i in range(3):
        _opp(rep, customer, name=f"A{i}")
    with django_assert_max_num_queries(5):
        assert len(api.get("opportunities").json()["items"]) == 3
    for i in range(20):
        _opp(rep, customer_of(rep, emails=[f"c{i}@example.es"]), name=f"B{i}")
    with django_assert_max_num_queries(5):
        assert len(api.get("opportunities").json()["items"]) == 23
