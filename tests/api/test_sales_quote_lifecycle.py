"""``/api/v1/quotes``: edit a draft (PATCH, optimistic locking), reject a sent quote, revise
into a new draft, the status filter; status codes, field errors and visibility."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.api.sales_data import customer_of, make_catalog
from vinculo.interactions.models import Interaction
from vinculo.sales import quotes
from vinculo.sales.models import Promotion, Quote
from vinculo.sales.pricing import CartLine


@pytest.fixture
def products(admin):
    Promotion.objects.create(name="Bienvenida", code="HOLA", kind="percent", value="10")
    return make_catalog(admin)


def make(user, products, status=None, qty=1) -> Quote:
    quote = quotes.create_quote(
        actor=user, customer_id=customer_of(user).pk, lines=[CartLine(products["sofa"].pk, qty)]
    )
    if status:
        Quote.objects.filter(pk=quote.pk).update(status=status)
        quote.refresh_from_db()
    return quote


def in_days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def test_patch_a_draft_reprices_it_and_bumps_the_version(api_for, rep, products):
    quote = make(rep, products)
    response = api_for(rep).patch(
        f"quotes/{quote.pk}",
        {
            "version": quote.version,
            "lines": [{"sku": "sofa", "quantity": 5}, {"sku": "LAMP", "quantity": 2}],
            "coupon_codes": ["hola"],
            "valid_until": in_days(10),
            "notes": "Delivery in May",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(ln["sku"], ln["unit_price"]) for ln in body["lines"]] == [
        ("SOFA", "450.00"),  # the "Volume" price list from 5 units
        ("LAMP", "40.00"),
    ]
    assert (body["discount_total"], body["total"]) == ("233.00", "2537.37")
    assert (body["coupon_codes"], body["valid_until"], body["notes"]) == (
        ["HOLA"],
        in_days(10),
        "Delivery in May",
    )
    assert body["version"] == quote.version + 1


def test_patch_with_a_stale_version_is_409_and_changes_nothing(api_for, rep, products):
    quote = make(rep, products)
    api = api_for(rep)
    first = api.patch(f"quotes/{quote.pk}", {"version": quote.version, "notes": "A"})
    assert first.status_code == 200
    response = api.patch(f"quotes/{quote.pk}", {"version": quote.version, "notes": "B"})
    assert response.status_code == 409
    assert "changed by someone else" in response.json()["detail"]
    assert Quote.objects.get(pk=quote.pk).notes == "A"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"lines": [{"sku": "NOPE"}]}, "lines[0].sku"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SOFA", "quantity": 0}]}, "lines[0].quantity"),
        ({"valid_until": "2001-01-01"}, "valid_until"),
        ({"valid_until": "soon"}, "valid_until"),
        ({"shipping": "-1"}, "shipping"),
        ({}, "version"),
    ],
)
def test_patch_errors_are_422_naming_the_field(api_for, rep, products, payload, field):
    quote = make(rep, products)
    body = {"version": quote.version, **payload} if field != "version" else payload
    response = api_for(rep).patch(f"quotes/{quote.pk}", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    fresh = Quote.objects.get(pk=quote.pk)
    assert (fresh.version, fresh.total) == (quote.version, quote.total)


def test_patch_a_sent_quote_is_refused(api_for, rep, products):
    quote = make(rep, products, status="sent")
    response = api_for(rep).patch(f"quotes/{quote.pk}", {"version": quote.version, "notes": "x"})
    assert response.status_code == 422 and "status" in response.json()["errors"]


def test_reject_a_sent_quote_with_a_reason(api_for, rep, products):
    quote = make(rep, products, status="sent")
    api = api_for(rep)
    missing = api.post(f"quotes/{quote.pk}/reject", {"reason": "  "})
    assert missing.status_code == 422 and "reason" in missing.json()["errors"]
    stale = api.post(f"quotes/{quote.pk}/reject", {"reason": "Late", "version": 99})
    assert stale.status_code == 409
    assert Quote.objects.get(pk=quote.pk).status == "sent"
    response = api.post(f"quotes/{quote.pk}/reject", {"reason": "Late delivery"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["rejection_reason"]) == ("rejected", "Late delivery")
    assert body["rejected_at"] is not None
    assert Interaction.objects.filter(subject__contains="rejected: Late delivery").count() == 1
    again = api.post(f"quotes/{quote.pk}/reject", {"reason": "Other"})
    assert again.status_code == 200 and again.json()["rejection_reason"] == "Late delivery"
    assert api.get("quotes", status="rejected").json()["items"][0]["id"] == quote.pk
    assert api.get("quotes", status="lost").status_code == 422


def test_revise_makes_a_linked_draft(api_for, rep, products):
    quote = make(rep, products, status="expired", qty=2)
    api = api_for(rep)
    response = api.post(f"quotes/{quote.pk}/revise", {"valid_days": 15})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["revises_id"]) == ("draft", quote.pk)
    assert body["number"] != quote.number and body["lines"][0]["quantity"] == 2
    assert body["valid_until"] == in_days(15)
    assert api.get(f"quotes/{quote.pk}").json()["status"] == "expired"
    draft = api.post(f"quotes/{body['id']}/revise", {})
    assert draft.status_code == 422 and "status" in draft.json()["errors"]


def test_accepting_or_sending_a_revised_quote_is_422_naming_the_revision(api_for, rep, products):
    quote = make(rep, products, status="sent")
    api = api_for(rep)
    revision = api.post(f"quotes/{quote.pk}/revise", {}).json()
    accept = api.post(f"quotes/{quote.pk}/accept", {})
    assert accept.status_code == 422
    assert accept.json()["errors"]["status"] == [
        f"Quote {revision['number']} replaces this one; accept that one instead."
    ]
    send = api.post(f"quotes/{quote.pk}/send", {})
    assert send.status_code == 422
    assert send.json()["errors"]["status"] == [
        f"Quote {revision['number']} replaces this one; send that one instead."
    ]
    assert api.get(f"quotes/{quote.pk}").json()["status"] == "sent"
    assert not Interaction.objects.filter(outcome="sent").exists()


def test_accepting_an_expired_quote_is_422(api_for, rep, products):
    quote = make(rep, products, status="sent")
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(1))
    response = api_for(rep).post(f"quotes/{quote.pk}/accept", {})
    assert response.status_code == 422
    assert "This quote expired on" in response.json()["errors"]["valid_until"][0]


def test_lifecycle_endpoints_hide_other_teams_quotes_and_need_edit_rights(
    api_for, rep, rep_b, analyst, products
):
    theirs = make(rep_b, products, status="sent")
    api = api_for(rep)
    for response in (
        api.patch(f"quotes/{theirs.pk}", {"version": theirs.version, "notes": "x"}),
        api.post(f"quotes/{theirs.pk}/reject", {"reason": "x"}),
        api.post(f"quotes/{theirs.pk}/revise", {}),
    ):
        assert response.status_code == 404
    reader = api_for(analyst)
    assert reader.post(f"quotes/{theirs.pk}/reject", {"reason": "x"}).status_code == 403
    assert reader.post(f"quotes/{theirs.pk}/revise", {}).status_code == 403
    assert Quote.objects.count() == 1 and Quote.objects.get().status == "sent"


def test_openapi_lists_the_lifecycle_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "patch" in paths["/api/v1/quotes/{quote_id}"]
    assert "post" in paths["/api/v1/quotes/{quote_id}/reject"]
    assert "post" in paths["/api/v1/quotes/{quote_id}/revise"]
