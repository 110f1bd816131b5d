"""The public website lead form: /forms/lead/<key>/ (no login, CSRF-exempt, keyed)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from vinculo.core.models import AuditEntry
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions.models import Interaction
from vinculo.sales.models import Lead, LeadWebForm


@pytest.fixture
def web_form(db):
    return LeadWebForm.objects.create(
        name="Contact page",
        campaign="Spring 2027",
        acquisition_cost=Decimal("4.50"),
        consent_text="Send me offers by email",
    )


@pytest.fixture
def site():
    # A browser on another site: no session, and CSRF checks enforced as in production.
    return Client(enforce_csrf_checks=True)


def url(form, query=""):
    return f"/forms/lead/{form.key}/{query}"


GOOD = {"first_name": "Ana", "last_name": "López", "email": "ana@frutas.es", "message": "Hi"}


def test_get_renders_an_embeddable_form_with_consent_and_honeypot(site, web_form):
    resp = site.get(url(web_form, "?utm_source=google&utm_medium=cpc"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'name="email"' in html and "Send me offers by email" in html
    assert 'name="website"' in html  # the honeypot
    assert 'name="utm_source" value="google"' in html
    assert "X-Frame-Options" not in resp  # may be shown in an iframe on the company site


def test_post_captures_lead_with_utm_consent_and_form_setup(site, web_form):
    resp = site.post(
        url(web_form, "?utm_source=google&utm_campaign=spring"),
        {**GOOD, "consent": "1", "utm_medium": "cpc"},
    )
    assert resp.status_code == 200
    assert "Thank you" in resp.content.decode()
    lead = Lead.objects.get()
    assert (lead.source, lead.campaign, lead.acquisition_cost) == (
        "web_form",
        "Spring 2027",
        Decimal("4.50"),
    )
    # UTM from the page address and from the posted fields are both kept.
    assert (lead.utm_source, lead.utm_medium, lead.utm_campaign) == ("google", "cpc", "spring")
    assert lead.consent_marketing is True
    assert lead.consent_text == "Send me offers by email"
    assert lead.form_data["web_form"] == web_form.pk
    assert lead.customer.email == "ana@frutas.es" and lead.customer.stage == "lead"
    assert Interaction.objects.filter(customer=lead.customer, kind="form").exists()


def test_unticked_consent_is_stored_as_no_consent(site, web_form):
    site.post(url(web_form), GOOD)
    lead = Lead.objects.get()
    assert lead.consent_marketing is False and lead.consent_text == ""


def test_redirects_to_the_thank_you_page_when_set(site, web_form):
    web_form.redirect_url = "https://www.example.com/thanks"
    web_form.save()
    resp = site.post(url(web_form), GOOD)
    assert resp.status_code == 302 and resp["Location"] == "https://www.example.com/thanks"
    assert Lead.objects.count() == 1


def test_honeypot_filled_is_thanked_but_stores_nothing(site, web_form):
    resp = site.post(url(web_form), {**GOOD, "website": "http://spam.example"})
    assert resp.status_code == 200 and "Thank you" in resp.content.decode()
    resp = site.post(
        url(web_form),
        {**GOOD, "website": "x"},
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 201
    assert not Lead.objects.exists() and not Customer.objects.exists()
    assert not Interaction.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("key_change", ["wrong-key", "inactive"])
def test_bad_or_switched_off_key_is_404_and_stores_nothing(site, web_form, key_change):
    target = f"/forms/lead/{key_change}/"
    if key_change == "inactive":
        web_form.active = False
        web_form.save()
        target = url(web_form)
    assert site.get(target).status_code == 404
    assert site.post(target, GOOD).status_code == 404
    resp = site.post(target, GOOD, headers={"Accept": "application/json"})
    assert resp.status_code == 404 and "detail" in resp.json()
    assert not Lead.objects.exists() and not Customer.objects.exists()


def test_invalid_email_rerenders_the_form_naming_the_field(site, web_form):
    resp = site.post(url(web_form, "?utm_source=google"), {**GOOD, "email": "not-an-email"})
    assert resp.status_code == 422
    html = resp.content.decode()
    assert 'id="lf-email" name="email"' in html
    assert 'aria-invalid="true" aria-describedby="lf-email-error"' in html
    assert 'id="lf-email-error"' in html
    # What the visitor typed is kept, and so is the UTM of the page they came from.
    assert 'value="Ana"' in html and 'name="utm_source" value="google"' in html
    assert not Lead.objects.exists() and not Customer.objects.exists()


def test_json_clients_get_422_with_errors_per_field(site, web_form):
    resp = site.post(
        url(web_form),
        {"email": "bad", "message": "x" * 5001},
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert set(errors) == {"message"}  # lengths are checked first, before anything else
    resp = site.post(
        url(web_form),
        json.dumps({"email": "bad", "first_name": "Ana"}),
        content_type="application/json",
    )
    assert resp.status_code == 422 and "email" in resp.json()["errors"]
    resp = site.post(url(web_form), "{not json", content_type="application/json")
    assert resp.status_code == 422
    assert not Lead.objects.exists()


def test_json_post_captures(site, web_form):
    resp = site.post(
        url(web_form),
        json.dumps({**GOOD, "consent": True, "utm_source": "newsletter"}),
        content_type="application/json",
    )
    assert resp.status_code == 201 and resp.json() == {"status": "received"}
    lead = Lead.objects.get()
    assert lead.consent_marketing and lead.utm_source == "newsletter"


def test_duplicate_email_links_the_lead_to_the_existing_customer(site, web_form, rep):
    existing = customer_services.create_customer(
        actor=rep, first_name="Ana", last_name="López", emails=["ana@frutas.es"], owner_id=rep.pk
    )
    site.post(url(web_form), {**GOOD, "email": "ANA@Frutas.es", "first_name": "A."})
    lead = Lead.objects.get()
    assert lead.customer_id == existing.pk
    assert Customer.objects.count() == 1
    assert lead.owner == rep  # the customer's owner gets the new lead
