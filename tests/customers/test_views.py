"""The customer list, the 360° page, create/edit/delete and the channel mini-forms."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.customers import services
from vinculo.customers.models import Customer, CustomerEmail, CustomField
from vinculo.interactions.models import Interaction

LIST = reverse("customer_list")


def detail(c):
    return reverse("customer_detail", args=[c.pk])


def row_names(html: str) -> list[str]:
    """Customer names in the list table, in order."""
    return re.findall(r'<td><a href="/customers/\d+/">([^<]+)</a></td>', html)


# --- list -------------------------------------------------------------------------------------


def test_list_shows_only_visible_customers_and_hidden_360_is_404(rep, rep_b, client_for):
    CustomerFactory(name="Mine Visible", owner=rep, team=rep.team)
    theirs = CustomerFactory(name="Theirs Hidden", owner=rep_b, team=rep_b.team)
    client = client_for(rep)
    html = client.get(LIST).content.decode()
    assert "Mine Visible" in html
    assert "Theirs Hidden" not in html
    assert client.get(detail(theirs)).status_code == 404
    assert client.get(reverse("customer_edit", args=[theirs.pk])).status_code == 404


def test_list_shows_what_users_typed_as_text_never_as_markup(admin, client_for):
    """The rows are built in Python (customers.list_rows): every typed value is escaped."""
    CustomerFactory(
        name="<script>alert(1)</script> O'Hara",
        company_name="A & B <b>",
        city='"Quoted" town',
        email="ohara@example.com",
    )
    html = client_for(admin).get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Hara" in html
    assert "A &amp; B &lt;b&gt;" in html and "&quot;Quoted&quot; town" in html
    assert '<a href="mailto:ohara@example.com">ohara@example.com</a>' in html


def test_list_requires_login(client, db):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"] or "login" in response["Location"]


def test_list_filters_by_city_stage_and_search(admin, client_for):
    CustomerFactory(name="Ana Sevilla", city="Sevilla", stage="lead")
    CustomerFactory(name="Bea Madrid", city="Madrid", stage="customer")
    CustomerFactory(name="Carla Madrid", city="Madrid", stage="lead")
    client = client_for(admin)
    assert row_names(client.get(LIST, {"city": "sevilla"}).content.decode()) == ["Ana Sevilla"]
    assert row_names(client.get(LIST, {"city": "Madrid", "stage": "lead"}).content.decode()) == [
        "Carla Madrid"
    ]
    assert row_names(client.get(LIST, {"q": "bea"}).content.decode()) == ["Bea Madrid"]


def test_list_filters_by_choice_custom_field(admin, client_for):
    CustomField.objects.create(
        key="lifestyle", label="Lifestyle", type="choice", choices=["urban", "rural"]
    )
    CustomerFactory(name="Urbanite", attributes={"lifestyle": "urban"})
    CustomerFactory(name="Farmer", attributes={"lifestyle": "rural"})
    html = client_for(admin).get(LIST).content.decode()
    assert 'name="attr.lifestyle"' in html  # the filter is offered
    html = client_for(admin).get(LIST, {"attr.lifestyle": "rural"}).content.decode()
    assert row_names(html) == ["Farmer"]


def test_list_sorts_by_clicked_column(admin, client_for):
    for name in ["Bruno", "Ana", "Carla"]:
        CustomerFactory(name=name)
    client = client_for(admin)
    html = client.get(LIST).content.decode()
    assert row_names(html) == ["Ana", "Bruno", "Carla"]
    # The name header links to the descending sort once the list is sorted by name.
    assert "?sort=-name" in html
    assert row_names(client.get(LIST, {"sort": "-name"}).content.decode()) == [
        "Carla",
        "Bruno",
        "Ana",
    ]


def test_list_paginates_by_50_without_counting(admin, client_for):
    Customer.objects.bulk_create(Customer(name=f"Customer {i:03d}") for i in range(55))
    client = client_for(admin)
    first = client.get(LIST).content.decode()
    assert len(row_names(first)) == 50
    assert "Page 1" in first
    assert 'data-page-link="next"' in first and 'data-page-link="prev"' not in first
    second = client.get(LIST, {"page": 2}).content.decode()
    assert row_names(second) == [f"Customer {i:03d}" for i in range(50, 55)]
    assert 'data-page-link="prev"' in second and 'data-page-link="next"' not in second


def test_list_empty_states(admin, client_for):
    client = client_for(admin)
    html = client.get(LIST).content.decode()
    assert "Create your first customer" in html
    CustomerFactory(name="Someone", city="Madrid")
    html = client.get(LIST, {"city": "Lima"}).content.decode()
    assert "No customers match these filters" in html
    assert "Clear the filters" in html
    assert "Create your first customer" not in html


def test_htmx_list_request_returns_only_the_table(admin, client_for):
    CustomerFactory(name="Ana")
    response = client_for(admin).get(LIST, {"sort": "-name"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="customer-table"' in html
    assert "Ana" in html
    assert "HX-Request" in response["Vary"]


def test_export_link_carries_the_current_filters(admin, client_for):
    CustomerFactory(name="Ana", city="Madrid")
    html = client_for(admin).get(LIST, {"city": "Madrid", "stage": "customer"}).content.decode()
    assert 'href="/customers/import/export/?city=Madrid&amp;stage=customer"' in html


# --- create / edit / delete -------------------------------------------------------------------


def test_create_customer_with_primary_channels(rep, client_for):
    response = client_for(rep).post(
        reverse("customer_create"),
        {
            "kind": "person",
            "first_name": "Lucía",
            "last_name": "Núñez",
            "stage": "lead",
            "owner_id": rep.pk,
            "email": "Lucia@Example.com",
            "phone": "612345678",
            "tags": "vip, madrid",
        },
    )
    c = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(c)
    assert c.name == "Lucía Núñez"
    assert c.email == "lucia@example.com"
    assert c.phone == "+34612345678"
    assert sorted(c.tags.values_list("name", flat=True)) == ["madrid", "vip"]


def test_create_with_invalid_email_shows_error_next_to_field_and_writes_nothing(rep, client_for):
    response = client_for(rep).post(
        reverse("customer_create"),
        {"kind": "person", "last_name": "García", "stage": "lead", "email": "not-an-email"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert "is not a valid email address" in html
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_create_needs_permission(agent, client_for):
    response = client_for(agent).post(
        reverse("customer_create"), {"kind": "person", "last_name": "X", "stage": "lead"}
    )
    assert response.status_code == 403
    assert Customer.objects.count() == 0


def _edit_data(c: Customer, **overrides) -> dict:
    data = {
        "kind": c.kind,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "stage": c.stage,
        "owner_id": c.owner_id or "",
        "team_id": c.team_id or "",
        "city": c.city,
        "country": c.country,
        "version": c.version,
    }
    data.update(overrides)
    return data


def test_edit_saves_and_audit_section_shows_before_and_after(rep, client_for):
    c = services.create_customer(
        actor=rep, first_name="Ana", last_name="López", city="Madrid", owner_id=rep.pk
    )
    client = client_for(rep)
    edit_url = reverse("customer_edit", args=[c.pk])
    form_html = client.get(edit_url).content.decode()
    assert f'name="version" value="{c.version}"' in form_html
    response = client.post(edit_url, _edit_data(c, city="Sevilla"))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.city == "Sevilla"
    html = client.get(detail(c)).content.decode()
    assert "Activity / audit" in html
    assert re.search(r"City</span>: <del>Madrid</del> → <ins>Sevilla</ins>", html)


def test_audit_section_hidden_without_audit_view(marketer, client_for):
    c = CustomerFactory(name="Ana")
    html = client_for(marketer).get(detail(c)).content.decode()
    assert "Activity / audit" not in html


def test_edit_with_stale_version_shows_conflict_and_keeps_input(rep, manager, client_for):
    c = services.create_customer(
        actor=rep, first_name="Ana", last_name="López", city="Madrid", owner_id=rep.pk
    )
    stale = _edit_data(c, city="Valencia")
    services.update_customer(
        actor=manager, customer_id=c.pk, expected_version=c.version, city="Bilbao"
    )
    response = client_for(rep).post(reverse("customer_edit", args=[c.pk]), stale)
    assert response.status_code == 200
    html = response.content.decode()
    assert "changed by someone else" in html
    assert 'value="Valencia"' in html  # the user's input is kept
    c.refresh_from_db()
    assert c.city == "Bilbao"  # never overwritten


def test_edit_service_error_lands_on_the_field(rep, client_for):
    c = services.create_customer(actor=rep, first_name="Ana", last_name="López", owner_id=rep.pk)
    response = client_for(rep).post(
        reverse("customer_edit", args=[c.pk]), _edit_data(c, country="E1")
    )
    assert response.status_code == 200
    assert 'id="id_country_error"' in response.content.decode()
    c.refresh_from_db()
    assert c.country == ""


def test_delete_needs_confirmation_and_permission(manager, analyst, client_for):
    c = CustomerFactory(name="Doomed", owner=manager, team=manager.team)
    url = reverse("customer_delete", args=[c.pk])
    assert client_for(analyst).post(url).status_code == 403
    assert client_for(analyst).get(url).status_code == 403
    assert Customer.objects.filter(pk=c.pk).exists()
    client = client_for(manager)
    page = client.get(url)
    assert page.status_code == 200
    assert "Yes, delete" in page.content.decode()
    assert Customer.objects.filter(pk=c.pk).exists()  # GET only asks
    response = client.post(url)
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=c.pk).exists()
    assert AuditEntry.objects.filter(action="delete", customer_id=c.pk).exists()


# --- 360° -------------------------------------------------------------------------------------


def test_360_shows_identity_channels_figures_and_panels(rep, client_for):
    org = services.create_customer(actor=rep, kind="organization", name="Acme", owner_id=rep.pk)
    c = services.create_customer(
        actor=rep,
        first_name="Ana",
        last_name="López",
        owner_id=rep.pk,
        organization_id=org.pk,
        emails=["ana@example.com"],
        phones=["612345678"],
        tags=["vip"],
    )
    Customer.objects.filter(pk=c.pk).update(scores={"churn": 0.2})
    html = client_for(rep).get(detail(c)).content.decode()
    assert "Ana López" in html
    assert f'href="{detail(org)}">Acme</a>' in html
    assert "ana@example.com" in html and "+34612345678" in html
    assert "primary" in html
    assert "consent management" in html.lower() or "Consent" in html
    assert "churn" in html
    # The quick log form and the timeline (rendered by interactions) sit in the main column.
    assert html.index('id="quick-log"') < html.index('id="timeline"') < html.index('id="audit"')


def test_organization_360_lists_at_most_20_members_with_a_more_link(admin, client_for):
    org = CustomerFactory(kind="organization", name="Acme", first_name="", last_name="")
    Customer.objects.bulk_create(
        Customer(name=f"Member {i:02d}", organization=org) for i in range(22)
    )
    html = client_for(admin).get(detail(org)).content.decode()
    assert "Member 19" in html and "Member 20" not in html
    assert f"/customers/?organization={org.pk}" in html
    listed = client_for(admin).get(LIST, {"organization": org.pk}).content.decode()
    assert len(row_names(listed)) == 22


def test_360_shows_no_scores_placeholder(admin, client_for):
    c = CustomerFactory()
    assert "No scores yet" in client_for(admin).get(detail(c)).content.decode()


# --- channels ---------------------------------------------------------------------------------


def test_add_and_remove_email_with_htmx(rep, client_for):
    c = CustomerFactory(owner=rep, team=rep.team)
    client = client_for(rep)
    response = client.post(
        reverse("customer_add_email", args=[c.pk]),
        {"email": "New@Example.com", "kind": "work"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "new@example.com" in html
    e = CustomerEmail.objects.get(customer=c)
    assert 'hx-confirm="Remove new@example.com?"' in html
    response = client.post(
        reverse("customer_remove_email", args=[c.pk, e.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert not CustomerEmail.objects.filter(customer=c).exists()


def test_add_invalid_phone_shows_inline_error_and_writes_nothing(rep, client_for):
    c = CustomerFactory(owner=rep, team=rep.team)
    response = client_for(rep).post(
        reverse("customer_add_phone", args=[c.pk]),
        {"number": "12", "kind": "mobile"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="id_phone_number_error"' in html
    assert not c.phones.exists()


def test_add_address_and_channels_need_edit_permission(analyst, rep, client_for):
    c = CustomerFactory(owner=rep, team=rep.team)
    url = reverse("customer_add_address", args=[c.pk])
    assert client_for(analyst).post(url, {"kind": "home", "city": "Lima"}).status_code == 403
    assert not c.addresses.exists()
    response = client_for(rep).post(url, {"kind": "home", "street": "Gran Vía 1", "city": "Madrid"})
    assert response.status_code == 302
    assert c.addresses.get().city == "Madrid"


# --- query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 30])
def test_list_query_count_does_not_grow_with_rows(
    n, rep, client_for, django_assert_max_num_queries
):
    Customer.objects.bulk_create(
        Customer(name=f"C{i}", owner=rep, team=rep.team, city="Madrid") for i in range(n)
    )
    client = client_for(rep)
    client.get(LIST)  # warm the session
    # A rep's page is read per visibility branch (owned, team): two id queries and the page.
    with django_assert_max_num_queries(9):
        html = client.get(LIST).content.decode()
    assert len(row_names(html)) == n


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("q", ["roble", "cliente roble"])
def test_list_search_query_count_does_not_grow_with_matches(
    n, q, rep, client_for, django_assert_max_num_queries
):
    Customer.objects.bulk_create(
        Customer(name=f"Cliente {i} Roble", owner=rep, team=rep.team) for i in range(n)
    )
    client = client_for(rep)
    client.get(LIST)  # warm the session
    # One word: the ids from the search index, then the page's rows; two words: one query.
    with django_assert_max_num_queries(9):
        html = client.get(f"{LIST}?q={q}").content.decode()
    assert len(row_names(html)) == n


@pytest.mark.parametrize("n", [3, 30])
def test_360_query_count_does_not_grow(n, rep, client_for, django_assert_max_num_queries):
    CustomField.objects.create(key="gender", label="Gender", type="choice", choices=["f", "m"])
    org = CustomerFactory(kind="organization", name="Acme", owner=rep, team=rep.team)
    c = CustomerFactory(owner=rep, team=rep.team, organization=org, attributes={"gender": "f"})
    CustomerEmail.objects.bulk_create(
        CustomerEmail(customer=c, email=f"e{i}@example.com") for i in range(n)
    )
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(customer=c, kind="call", channel="phone", occurred_at=now, user=rep)
        for _ in range(n)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=rep,
            action="update",
            object_type="customers.customer",
            object_id=c.pk,
            customer_id=c.pk,
            changes={"city": ["A", "B"], "owner_id": [None, rep.pk]},
        )
        for _ in range(n)
    )
    client = client_for(rep)
    client.get(detail(c))
    # The bound was 20: counts and tags are now one query, the custom fields are kept per
    # process (decision 0014); the audit actors are one query of their own, not a join.
    with django_assert_max_num_queries(15):
        html = client.get(detail(c)).content.decode()
    assert f"e{n - 1}@example.com" in html


def test_htmx_history_restore_gets_the_full_page(admin, client_for):
    CustomerFactory(name="Ana")
    response = client_for(admin).get(
        LIST, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_service_field_errors_map_to_form_fields():
    from vinculo.core.errors import ValidationError
    from vinculo.customers.forms import remap_errors

    exc = ValidationError(
        "bad",
        field_errors={"attributes.gender": ["no"], "emails": ["bad email"], "city": ["x"]},
    )
    mapped = remap_errors(exc, {"emails": "email"})
    assert mapped.field_errors == {"attr_gender": ["no"], "email": ["bad email"], "city": ["x"]}


@pytest.mark.parametrize("n", [3, 30])
def test_filtered_list_query_count_does_not_grow(
    n, admin, client_for, django_assert_max_num_queries
):
    CustomField.objects.create(key="lifestyle", label="L", type="choice", choices=["urban"])
    Customer.objects.bulk_create(
        Customer(name=f"C{i}", owner=admin, city="Madrid", attributes={"lifestyle": "urban"})
        for i in range(n)
    )
    client = client_for(admin)
    params = {"attr.lifestyle": "urban", "city": "Madrid", "sort": "-last_contact"}
    client.get(LIST, params)
    with django_assert_max_num_queries(9):
        html = client.get(LIST, params).content.decode()
    assert len(row_names(html)) == n


def test_cannot_link_a_customer_to_a_hidden_organization(rep, rep_b, client_for):
    hidden_org = CustomerFactory(
        kind="organization", name="Secret Org", owner=rep_b, team=rep_b.team
    )
    response = client_for(rep).post(
        reverse("customer_create"),
        {
            "kind": "person",
            "last_name": "Ruiz",
            "stage": "lead",
            "owner_id": rep.pk,
            "organization_id": hidden_org.pk,
        },
    )
    assert response.status_code == 200
    assert 'id="id_organization_id_error"' in response.content.decode()
    assert not Customer.objects.filter(last_name="Ruiz").exists()


def test_360_reads_analytics_scores_in_words(admin, client_for):
    c = CustomerFactory()
    Customer.objects.filter(pk=c.pk).update(
        scores={
            "churn": {
                "p": 0.72,
                "band": "high",
                "reasons": ["no purchase for 200 days", "fewer calls"],
                "run": 3,
            },
            "rfm": {"segment": "at risk", "score": "215"},
            "clv": {"p_alive": 0.41, "expected_purchases_1y": 1.5, "clv": 312.456},
        }
    )
    html = client_for(admin).get(detail(c)).content.decode()
    assert "Churn risk" in html and "<strong>high (72 %)</strong>" in html
    assert "reasons: no purchase for 200 days; fewer calls" in html
    assert "RFM segment" in html and "<strong>at risk</strong>" in html
    assert "<strong>312.46</strong>" in html and "probability still active: 41 %" in html
    assert "run:" not in html  # bookkeeping keys stay hidden


def test_list_dates_are_the_local_day(rep, client_for):
    # 23:30 UTC on 1 March is already 2 March in Madrid (the display time zone).
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    c = CustomerFactory(name="Noche Tardía", owner=rep, team=rep.team)
    Customer.objects.filter(pk=c.pk).update(created_at=late, last_contact_at=None)
    html = client_for(rep).get(f"{LIST}?sort=-created").content.decode()
    assert '<time datetime="2026-03-02T00:30:00+01:00">' in html
