"""Customer search: accents, email prefix, phone formats, company words, external id,
visibility in the header endpoint, and index sync after rename/delete (SQLite FTS5 and
PostgreSQL trigram)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from vinculo.customers import search, services
from vinculo.customers.models import Customer
from vinculo.customers.selectors import CustomerFilters, filter_customers, visible_customers

pytestmark = pytest.mark.django_db


def names(qs) -> set[str]:
    return {c.name for c in qs}


def found(text: str) -> set[str]:
    return names(search.apply(Customer.objects.all(), text))


@pytest.fixture
def jose(rep):
    return services.create_customer(
        actor=rep,
        first_name="José",
        last_name="Núñez García",
        emails=["jose.nunez@correo.es"],
        phones=["+34 612 34 56 78"],
        external_id="ERP-4711",
        owner_id=rep.pk,
    )


@pytest.fixture
def acme(rep):
    org = services.create_customer(actor=rep, kind="organization", name="Logística Ibérica SL")
    services.create_customer(
        actor=rep, first_name="Marta", last_name="Ruiz", organization_id=org.pk, owner_id=rep.pk
    )
    return org


def test_search_uses_the_database_index():
    assert search.backend() in {"fts5", "trigram"}


def test_name_without_accents_finds_accented_customer(jose):
    assert found("jose") == {"José Núñez García"}
    assert found("NUNEZ gar") == {"José Núñez García"}
    assert found("josé") == {"José Núñez García"}


def test_every_word_must_match(jose):
    assert found("jose lopez") == set()


def test_email_prefix(jose):
    assert found("jose.nunez@corr") == {"José Núñez García"}
    assert found("jose.nunez@correo.es") == {"José Núñez García"}


@pytest.mark.parametrize(
    "text", ["+34 612 34 56 78", "612345678", "612-345", "(34) 6123", "+34612"]
)
def test_phone_in_different_formats(jose, text):
    assert found(text) == {"José Núñez García"}


def test_company_word_finds_the_organization_and_its_members(acme):
    assert found("iberica") == {"Logística Ibérica SL", "Marta Ruiz"}
    assert found("logist") == {"Logística Ibérica SL", "Marta Ruiz"}


def test_external_id(jose):
    assert found("ERP-4711") == {"José Núñez García"}


def test_punctuation_only_finds_nothing(jose):
    assert found('"*()') == set()


def test_index_follows_rename_and_delete(jose, rep):
    services.update_customer(
        actor=rep, customer_id=jose.pk, expected_version=None, first_name="Pepe"
    )
    assert found("pepe") == {"Pepe Núñez García"}
    services.delete_customer(actor=rep, customer_id=jose.pk)
    assert found("pepe") == set()
    assert found("nunez") == set()


def test_index_follows_new_primary_email(jose, rep):
    services.add_email(actor=rep, customer_id=jose.pk, email="pj@ejemplo.com", is_primary=True)
    assert found("pj@ejemplo") == {"José Núñez García"}


def test_list_filter_keeps_visibility(jose, rep_b):
    assert list(filter_customers(visible_customers(rep_b), CustomerFilters(q="jose"))) == []


def test_quick_search_puts_name_prefix_first(rep):
    services.create_customer(
        actor=rep, first_name="Ana", last_name="Marín", emails=["zz@ex.com"], owner_id=rep.pk
    )
    services.create_customer(
        actor=rep, first_name="Carla", last_name="Marín", emails=["marin.c@ex.com"], owner_id=rep.pk
    )
    services.create_customer(
        actor=rep, first_name="Marina", last_name="Sol", emails=["ms@ex.com"], owner_id=rep.pk
    )
    result = [c.name for c in search.quick(Customer.objects.all(), "mari")]
    assert result[0] == "Marina Sol"
    assert set(result) == {"Marina Sol", "Ana Marín", "Carla Marín"}


def test_quick_search_finds_a_later_word_first_and_a_phone_by_its_first_digits(jose, rep):
    # Neither query starts the name: both are found among "any word starts with".
    assert [c.name for c in search.quick(visible_customers(rep), "garcia jose")] == [
        "José Núñez García"
    ]
    assert [c.name for c in search.quick(visible_customers(rep), "+34 6")] == ["José Núñez García"]


def test_quick_search_is_capped(rep):
    for i in range(12):
        services.create_customer(actor=rep, first_name=f"Lucía{i}", last_name="Vega")
    assert len(search.quick(Customer.objects.all(), "vega", limit=8)) == 8


def test_header_endpoint_lists_visible_matches_with_links(client_for, rep, jose):
    response = client_for(rep).get(
        reverse("customer_quick_search"), {"q": "jose"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="option"' in html
    assert "José Núñez García" in html
    assert reverse("customer_detail", args=[jose.pk]) in html
    assert "<html" not in html  # a partial for HTMX


def test_header_endpoint_hides_other_teams_customers(client_for, rep_b, jose):
    response = client_for(rep_b).get(
        reverse("customer_quick_search"), {"q": "jose"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "José" not in response.content.decode()
    assert 'role="option"' not in response.content.decode()


def test_header_endpoint_without_js_renders_a_page(client_for, rep, jose):
    response = client_for(rep).get(reverse("customer_quick_search"), {"q": "612 345"})
    assert response.status_code == 200
    assert "José Núñez García" in response.content.decode()
    assert "<html" in response.content.decode()


def test_header_endpoint_requires_login(client, jose):
    response = client.get(reverse("customer_quick_search"), {"q": "jose"})
    assert response.status_code == 302


def test_header_endpoint_query_count_does_not_grow(
    client_for, admin, django_assert_max_num_queries
):
    for i in range(30):
        Customer.objects.create(name=f"Bulk Person {i}", email=f"bulk{i}@ex.com")
    c = client_for(admin)
    with django_assert_max_num_queries(6):
        response = c.get(
            reverse("customer_quick_search"), {"q": "bulk"}, headers={"HX-Request": "true"}
        )
    assert response.content.decode().count('role="option"') == 8


def test_header_box_works_without_js_and_with_htmx(rf, rep):
    from django.template.loader import render_to_string

    request = rf.get("/customers/", {"q": "ana"})
    request.user = rep
    html = render_to_string("_header_search.html", request=request)
    assert f'action="{reverse("customer_list")}"' in html and 'method="get"' in html
    assert 'name="q"' in html and 'value="ana"' in html
    assert f'hx-get="{reverse("customer_quick_search")}"' in html
    assert 'hx-trigger="input changed delay:200ms' in html
    assert 'role="combobox"' in html and 'role="listbox"' in html
    assert 'aria-controls="quick-search-results"' in html


def test_quick_search_finds_visible_matches_past_many_hidden_ones(rep, rep_b):
    """Matches are read from the index in chunks: the rep's customers come after 300 of
    another team's with the same prefix (more than the first chunk) and are still found,
    the hidden ones never shown."""
    Customer.objects.bulk_create(
        Customer(name=f"Zubiri {i:03d}", owner=rep_b, team=rep_b.team) for i in range(300)
    )
    Customer.objects.bulk_create(
        Customer(name=f"Zubiri mine {i}", owner=rep, team=rep.team) for i in range(3)
    )
    rows = search.quick(visible_customers(rep), "zub", limit=8)
    assert [c.name for c in rows] == ["Zubiri mine 0", "Zubiri mine 1", "Zubiri mine 2"]


def test_quick_search_by_leading_digits_still_finds_phones(jose, rep):
    rows = search.quick(visible_customers(rep), "34 6", limit=8)
    assert [c.name for c in rows] == ["José Núñez García"]


# --- the list's search order --------------------------------------------------------------


def _listed(client, url: str) -> list[str]:
    import re

    html = client.get(url).content.decode()
    return re.findall(r'<a href="/customers/\d+/">([^<]+)</a>', html)


def test_a_list_search_shows_the_most_recently_added_matches_first(client_for, rep, rep_b):
    for first in ["Ana", "Mariano", "Maria", "Zoe"]:
        services.create_customer(actor=rep, first_name=first, last_name="Pérez", owner_id=rep.pk)
    services.create_customer(
        actor=rep_b, first_name="Marisa", last_name="Oculta", owner_id=rep_b.pk
    )  # another team's: never listed for rep
    client = client_for(rep)
    response = client.get("/customers/?q=mari")
    assert _listed(client, "/customers/?q=mari") == ["Maria Pérez", "Mariano Pérez"]
    html = response.content.decode()
    assert 'data-testid="sort-note"' in html
    # The hidden sort input is empty: typing another search keeps the recent-first order.
    assert '<input type="hidden" name="sort" value="" form="customer-filters">' in html
    # Choosing a column sorts the matches by it, and the choice travels with the next search.
    assert _listed(client, "/customers/?q=mari&sort=name") == ["Maria Pérez", "Mariano Pérez"]
    assert _listed(client, "/customers/?q=mari&sort=-name") == ["Mariano Pérez", "Maria Pérez"]
    html = client.get("/customers/?q=perez&sort=-name").content.decode()
    assert 'value="-name" form="customer-filters"' in html
    assert 'data-testid="sort-note"' not in html
    assert _listed(client, "/customers/?q=perez") == [
        "Zoe Pérez",
        "Maria Pérez",
        "Mariano Pérez",
        "Ana Pérez",
    ]


def test_a_recent_first_search_keeps_the_other_filters_and_pages(client_for, rep):
    for i in range(55):
        services.create_customer(
            actor=rep,
            first_name=f"Lucía{i:02d}",
            last_name="Vera",
            owner_id=rep.pk,
            stage="customer" if i % 2 else "lead",
        )
    client = client_for(rep)
    first = _listed(client, "/customers/?q=vera")
    assert len(first) == 50 and first[0] == "Lucía54 Vera" and first[-1] == "Lucía05 Vera"
    assert _listed(client, "/customers/?q=vera&page=2") == [
        "Lucía04 Vera",
        "Lucía03 Vera",
        "Lucía02 Vera",
        "Lucía01 Vera",
        "Lucía00 Vera",
    ]
    customers = _listed(client, "/customers/?q=vera&stage=customer")
    assert customers[:2] == ["Lucía53 Vera", "Lucía51 Vera"] and len(customers) == 27


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL planner setting")
def test_a_list_search_leaves_the_connection_as_it_found_it(client_for, rep):
    # The list search is planned with its own random_page_cost; the next queries on the
    # same connection (another page, another user) are planned with the server's setting.

    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        before = cursor.fetchone()[0]
    services.create_customer(actor=rep, first_name="Maria", last_name="Gil", owner_id=rep.pk)
    # Two words: a one-word search reads the word table, planned with the server's setting.
    assert _listed(client_for(rep), "/customers/?q=maria+gil") == ["Maria Gil"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == before
