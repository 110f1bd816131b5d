"""PostgreSQL's word table for the list search (customers_customerword, decision 0018): the
triggers keep it in step with every change a user makes to a customer, and a one-word search
lists the same customers, in the same order and pages, as the word index on the customer
table, for every kind of user."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import connection

from tests.accounts.factories import UserFactory
from vinculo.accounts.models import Role
from vinculo.customers import search, services
from vinculo.customers.merging import merge_customers
from vinculo.customers.models import Customer, CustomerWord
from vinculo.customers.selectors import (
    CustomerFilters,
    _word_page,
    customer_page,
    filter_customers,
    visible_customers,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's word table"),
]


def words(customer) -> dict[str, tuple]:
    rows = CustomerWord.objects.filter(customer_id=customer.pk)
    return {w.word: (w.name, w.owner_id, w.team_id) for w in rows}


def test_the_word_table_follows_what_users_change(rep, rep_b):
    c = services.create_customer(
        actor=rep,
        first_name="José",
        last_name="Núñez",
        emails=["jose.nunez@correo.es"],
        phones=["+34 612 34 56 78"],
        owner_id=rep.pk,
    )
    got = words(c)
    assert {"jose", "nunez", "correo", "es", "34612345678"} <= set(got)
    assert got["jose"] == ("José Núñez", rep.pk, rep.team_id)

    c = services.update_customer(
        actor=rep, customer_id=c.pk, expected_version=c.version, last_name="Ibáñez"
    )
    got = words(c)
    assert got["ibanez"] == ("José Ibáñez", rep.pk, rep.team_id)
    # "nunez" stays (the email is jose.nunez@...), listed under the new name like every word
    assert {name for name, _o, _t in got.values()} == {"José Ibáñez"} and "nunez" in got

    services.add_email(actor=rep, customer_id=c.pk, email="pepe@otro.es", is_primary=True)
    assert {"pepe", "otro"} <= set(words(c)) and "correo" not in words(c)

    c.refresh_from_db()
    services.update_customer(
        actor=rep,
        customer_id=c.pk,
        expected_version=c.version,
        owner_id=rep_b.pk,
        team_id=rep_b.team_id,
    )
    assert words(c)["jose"] == ("José Ibáñez", rep_b.pk, rep_b.team_id)

    services.delete_customer(actor=rep_b, customer_id=c.pk)
    assert words(c) == {}


def test_a_contact_logged_leaves_the_words_alone(rep):
    c = services.create_customer(actor=rep, first_name="Ana", last_name="Gil", owner_id=rep.pk)
    with connection.cursor() as cur:
        cur.execute(f"SELECT xmin::text FROM {search.WORD_TABLE} WHERE customer_id = %s", [c.pk])
        before = sorted(r[0] for r in cur.fetchall())
        services.note_contact(customer_id=c.pk)
        cur.execute(f"SELECT xmin::text FROM {search.WORD_TABLE} WHERE customer_id = %s", [c.pk])
        after = sorted(r[0] for r in cur.fetchall())
    assert before and before == after  # not rewritten: every interaction logged does this


def test_a_merged_away_customer_leaves_the_search(rep):
    keep = services.create_customer(
        actor=rep, first_name="Marta", last_name="Ruiz", owner_id=rep.pk
    )
    gone = services.create_customer(
        actor=rep, first_name="Marta", last_name="Ruiz Sanz", owner_id=rep.pk
    )
    merge_customers(actor=rep, survivor_id=keep.pk, loser_id=gone.pk)
    assert words(gone) == {}
    assert words(keep)["marta"] == ("Marta Ruiz", rep.pk, rep.team_id)
    page = customer_page(rep, CustomerFilters(q="sanz", sort="recent"), offset=0, limit=51)
    assert page == []


def test_a_long_word_is_found_by_any_prefix(rep):
    long_name = "A" + "b" * 240
    c = services.create_customer(actor=rep, kind="organization", name=long_name, owner_id=rep.pk)
    assert max(len(w) for w in words(c)) == search.WORD_MAX
    for text in ["abbb", long_name[:230]]:
        page = customer_page(rep, CustomerFilters(q=text, sort="name"), offset=0, limit=51)
        assert [x.pk for x in page] == [c.pk]


@pytest.fixture
def crowd(rep, rep_b, team_a):
    """Customers of two teams whose words overlap (shared first names, surnames, a phone
    prefix, two words of one customer with the same prefix), added in an order that is not
    the name order."""
    other = UserFactory(username="rep_a2", role=Role.SALES_REP, team=team_a)
    firsts = ["María", "Mario", "Marta", "Ana María", "José", "Mariano"]
    lasts = ["Gil", "Marín", "García", "Pérez", "Marquez"]
    for i in range(90):
        owner = [rep, rep_b, other][i % 3]
        services.create_customer(
            actor=owner,
            first_name=firsts[(i * 7) % len(firsts)],
            last_name=f"{lasts[i % len(lasts)]} {i:02d}",
            phones=[f"+34 61{i % 4} 00 00 {i:02d}"],
            owner_id=owner.pk,
            team_id=owner.team_id if i % 5 else None,
        )
    for _ in range(3):  # namesakes: the order falls back to the customer number
        services.create_customer(actor=rep, first_name="Mara", last_name="Gil", owner_id=rep.pk)


def _reference(user, f: CustomerFilters, offset: int, end: int) -> list[int]:
    """The same page through the word index on the customer table (the path the word table
    replaces for one-word searches)."""
    qs = filter_customers(visible_customers(user), f)
    return list(qs.values_list("pk", flat=True)[offset:end])


@pytest.mark.parametrize("sort", ["recent", "name", "-name"])
@pytest.mark.parametrize("text", ["mar", "maria", "gil", "61", "+34 612", "zz"])
def test_a_one_word_search_lists_what_the_customer_index_lists(
    crowd, rep, rep_b, manager, admin, sort, text
):
    for user in (rep, rep_b, manager, admin):
        f = CustomerFilters(q=text, sort=sort)
        for offset, end in [(0, 11), (10, 21), (0, 200)]:
            got = _word_page(user, f, offset=offset, end=end)
            assert got == _reference(user, f, offset, end), (user.username, offset)


def test_a_one_word_search_never_shows_another_teams_customer(crowd, rep):
    seen = set(visible_customers(rep).values_list("pk", flat=True))
    hidden = Customer.objects.exclude(pk__in=seen)
    assert hidden.filter(name__icontains="mar").exists()  # rep_b's Marías and Martas
    page = customer_page(rep, CustomerFilters(q="mar", sort="name"), offset=0, limit=500)
    assert page and {c.pk for c in page} <= seen


def test_searches_the_word_table_does_not_answer(crowd, rep):
    f = CustomerFilters(q="maria gil", sort="recent")
    assert _word_page(rep, f, offset=0, end=51) is None  # two words
    assert _word_page(rep, replace(f, q="maria", stage="lead"), offset=0, end=51) is None
    assert _word_page(rep, replace(f, q="maria", sort="city"), offset=0, end=51) is None
    # and those searches still list the right customers through the customer index
    page = customer_page(rep, replace(f, q="maria", sort="city"), offset=0, limit=500)
    assert [c.pk for c in page] == _reference(rep, replace(f, q="maria", sort="city"), 0, 500)


def test_a_bulk_load_rebuilds_the_word_table_once_at_the_end(rep):
    from vinculo.devdata.seeding import _bulk_mode

    before = services.create_customer(actor=rep, first_name="Eva", last_name="Sol", owner_id=rep.pk)
    with connection.cursor() as cur:  # a seed starts with no pending foreign-key checks
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with _bulk_mode(large=True):
        loaded = services.create_customer(
            actor=rep, first_name="Iker", last_name="Sol", owner_id=rep.pk
        )
        assert words(loaded) == {}  # no per-row triggers while loading
    assert set(words(before)) == {"eva", "sol"} and set(words(loaded)) == {"iker", "sol"}
    after = services.create_customer(actor=rep, first_name="Noa", last_name="Sol", owner_id=rep.pk)
    assert set(words(after)) == {"noa", "sol"}  # the triggers are back
    page = customer_page(rep, CustomerFilters(q="sol", sort="name"), offset=0, limit=51)
    assert [c.name for c in page] == ["Eva Sol", "Iker Sol", "Noa Sol"]


def test_a_common_word_most_recent_first_is_read_from_the_customer_table(crowd, rep, monkeypatch):
    from vinculo.core.process_cache import forget_all

    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {search.WORD_TABLE}")
    forget_all()
    monkeypatch.setattr(search, "WORD_WALK_MIN", 20)  # "mar..." has dozens of entries here
    recent = CustomerFilters(q="mar", sort="recent")
    assert search.common_prefix("mar") and not search.common_prefix("zz")
    assert _word_page(rep, recent, offset=0, end=51) is None
    by_name = replace(recent, sort="name")
    assert _word_page(rep, by_name, offset=0, end=51) == _reference(rep, by_name, 0, 51)
    page = customer_page(rep, recent, offset=0, limit=51)
    assert [c.pk for c in page] == _reference(rep, recent, 0, 51) and page
