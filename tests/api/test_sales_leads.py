"""``/api/v1/leads``: capture with UTM, consent and cost; score with reasons; status changes
with optimistic locking; conversion; visibility by team."""

from __future__ import annotations

import pytest

from vinculo.core.models import AuditEntry
from vinculo.customers.models import Customer
from vinculo.sales import leads
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule, Opportunity


@pytest.fixture
def team_a_gets_leads(team_a, manager, rep):
    """Round-robin over team A (manager and rep), so captured leads are visible to rep."""
    return AssignmentRule.objects.create(name="All to A", kind="round_robin", team=team_a)


def _capture(actor, **data):
    fields = {"last_name": "López", "email": f"{data.get('first_name', 'x')}@example.es"}
    fields.update(data)
    return leads.capture_lead(actor=actor, **fields).lead


CAPTURE = {
    "first_name": "Ana",
    "last_name": "López",
    "company": "Frutas SL",
    "email": "Ana@Frutas.es",
    "phone": "600 111 222",
    "country": "ES",
    "message": "Quiero un presupuesto",
    "campaign": "Primavera",
    "acquisition_cost": "12.50",
    "consent_marketing": True,
    "consent_text": "Acepto recibir ofertas",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "spring",
}


def test_capture_stores_utm_consent_cost_and_explains_the_score(api_for, rep, team_a_gets_leads):
    LeadScoringRule.objects.create(
        label="Based in Spain", field="country", operator="eq", value="ES", points=15
    )
    response = api_for(rep).post("leads", CAPTURE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer_name"] == "Ana López" and body["matched_existing"] is False
    assert (body["source"], body["campaign"], body["acquisition_cost"]) == (
        "api",
        "Primavera",
        "12.50",
    )
    assert (body["utm_source"], body["utm_medium"], body["utm_campaign"]) == (
        "google",
        "cpc",
        "spring",
    )
    assert body["consent_marketing"] is True and body["consent_text"] == "Acepto recibir ofertas"
    assert body["team_id"] == rep.team_id
    assert body["score_fit"] == 15
    assert {"label": "Based in Spain", "points": 15, "kind": "fit"} in body["score_reasons"]
    assert body["score"] == body["score_fit"] + body["score_engagement"]
    customer = Customer.objects.get(pk=body["customer_id"])
    assert (customer.email, customer.phone, customer.stage) == (
        "ana@frutas.es",
        "+34600111222",
        "lead",
    )
    # Reading it back gives the same score and reasons.
    again = api_for(rep).get(f"leads/{body['id']}").json()
    assert again["score_reasons"] == body["score_reasons"]


def test_capture_with_a_known_email_joins_the_existing_customer(api_for, rep, team_a_gets_leads):
    first = api_for(rep).post("leads", CAPTURE).json()
    second = api_for(rep).post("leads", {**CAPTURE, "email": "ana@frutas.es", "phone": ""})
    assert second.status_code == 201
    assert second.json()["matched_existing"] is True
    assert second.json()["customer_id"] == first["customer_id"]


def test_invalid_capture_names_the_fields_and_writes_nothing(api_for, rep):
    response = api_for(rep).post(
        "leads", {"first_name": "Ana", "email": "not-an-email", "acquisition_cost": "-3"}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) >= {"email", "acquisition_cost"}
    response = api_for(rep).post("leads", {"email": "a@b.es", "acquisition_cost": "lots"})
    assert response.status_code == 422 and "acquisition_cost" in response.json()["errors"]
    assert not Lead.objects.exists() and not Customer.objects.exists()


def test_capture_assigned_elsewhere_answers_202_without_the_lead(api_for, rep, team_b, rep_b):
    AssignmentRule.objects.create(name="All to B", kind="round_robin", team=team_b)
    response = api_for(rep).post("leads", CAPTURE)
    assert response.status_code == 202
    assert set(response.json()) == {"id", "detail"}
    assert Lead.objects.get(pk=response.json()["id"]).owner == rep_b


def test_analyst_cannot_capture(api_for, analyst):
    response = api_for(analyst).post("leads", CAPTURE)
    assert response.status_code == 403
    assert not Lead.objects.exists()


def test_list_filters_and_hides_other_teams_leads(api_for, rep, rep_b, team_a_gets_leads, team_b):
    mine = _capture(rep, first_name="Ana", campaign="Primavera", source="web_form")
    _capture(rep, first_name="Luis", source="phone")
    AssignmentRule.objects.all().delete()
    AssignmentRule.objects.create(name="All to B", kind="round_robin", team=team_b)
    theirs = _capture(rep_b, first_name="Bea")
    api = api_for(rep)
    ids = [row["id"] for row in api.get("leads").json()["items"]]
    assert theirs.pk not in ids and mine.pk in ids and len(ids) == 2
    assert [r["id"] for r in api.get("leads", source="web_form").json()["items"]] == [mine.pk]
    assert [r["id"] for r in api.get("leads", q="Primavera").json()["items"]] == [mine.pk]
    assert [r["id"] for r in api.get("leads", q="ana@").json()["items"]] == [mine.pk]
    assert api.get("leads", status="qualified").json()["items"] == []
    assert len(api.get("leads", status="open").json()["items"]) == 2
    assert api.get("leads", owner="nobody").status_code == 422
    assert api.get("leads", status="lost").json()["errors"] == {"status": ["Unknown lead status."]}
    # Another team's lead is hidden exactly like a missing one, and cannot be changed.
    for call in (
        lambda: api.get(f"leads/{theirs.pk}"),
        lambda: api.patch(f"leads/{theirs.pk}", {"version": 1, "status": "contacted"}),
        lambda: api.post(f"leads/{theirs.pk}/convert", {}),
    ):
        assert call().status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "new" and theirs.opportunity is None


def test_list_is_keyset_paginated_by_score(api_for, rep, team_a_gets_leads):
    created = [_capture(rep, first_name=f"P{i}") for i in range(5)]
    for i, lead in enumerate(created):
        Lead.objects.filter(pk=lead.pk).update(score=i * 10)
    api = api_for(rep)
    first = api.get("leads", limit=3).json()
    second = api.get("leads", limit=3, cursor=first["next_cursor"]).json()
    scores = [r["score"] for r in first["items"] + second["items"]]
    assert scores == [40, 30, 20, 10, 0] and second["next_cursor"] is None


def test_status_change_needs_a_reason_to_disqualify_and_a_current_version(
    api_for, rep, team_a_gets_leads
):
    lead = _capture(rep, first_name="Ana")
    api = api_for(rep)
    response = api.patch(f"leads/{lead.pk}", {"version": lead.version, "status": "disqualified"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": ["Say why the lead is disqualified."]}
    response = api.patch(
        f"leads/{lead.pk}",
        {"version": lead.version, "status": "disqualified", "reason": "No budget"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["disqualified_reason"]) == ("disqualified", "No budget")
    assert body["version"] == lead.version + 1
    # The old version is stale now: refused, nothing written.
    response = api.patch(f"leads/{lead.pk}", {"version": lead.version, "status": "qualified"})
    assert response.status_code == 409
    lead.refresh_from_db()
    assert lead.status == "disqualified"
    updates = AuditEntry.objects.filter(
        object_type="sales.lead", object_id=lead.pk, action="update"
    )
    assert updates.count() == 1


def test_convert_creates_the_opportunity_and_moves_the_customer_on(api_for, rep, team_a_gets_leads):
    lead = _capture(rep, first_name="Ana")
    api = api_for(rep)
    stale = api.post(f"leads/{lead.pk}/convert", {"version": lead.version + 5})
    assert stale.status_code == 409 and not Opportunity.objects.exists()
    response = api.post(
        f"leads/{lead.pk}/convert",
        {"version": lead.version, "opportunity_name": "Frutas: 3 sofas", "amount": "1500"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["lead"]["status"] == "converted"
    opp = body["opportunity"]
    assert (opp["name"], opp["amount"], opp["status"]) == ("Frutas: 3 sofas", "1500.00", "open")
    assert opp["stage_name"] == "Qualification" and len(opp["stage_history"]) == 1
    assert body["lead"]["opportunity_id"] == opp["id"]
    assert Customer.objects.get(pk=lead.customer_id).stage == "opportunity"
    # A converted lead cannot be converted again.
    again = api.post(f"leads/{lead.pk}/convert", {})
    assert again.status_code == 422 and "status" in again.json()["errors"]
    assert Opportunity.objects.count() == 1


def test_list_query_count_does_not_grow_with_rows(
    api_for, rep, team_a_gets_leads, django_assert_max_num_queries
):
    api = api_for(rep)
    for i in range(3):
        _capture(rep, first_name=f"A{i}")
    with django_assert_max_num_queries(6):
        assert len(api.get("leads").json()["items"]) == 3
    for i in range(20):
        _capture(rep, first_name=f"B{i}")
    with django_assert_max_num_queries(6):
        assert len(api.get("leads").json()["items"]) == 23
