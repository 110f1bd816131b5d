"""Duplicate detection, the review page and "not a duplicate"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from vinculo.core.models import AuditEntry
from vinculo.customers import merging
from vinculo.customers.duplicates import (
    REASON_EMAIL,
    REASON_NAME,
    REASON_PHONE,
    duplicates_of,
    find_duplicates,
    possible_matches,
)
from vinculo.customers.services import add_email, create_customer


def person(actor, last_name, first_name="", **kw):
    kw.setdefault("owner_id", actor.pk)
    return create_customer(actor=actor, first_name=first_name, last_name=last_name, **kw)


def pairs_of(user, **kw):
    return {(p.a_id, p.b_id): p for p in find_duplicates(user=user, **kw)}


def test_same_secondary_email_is_a_duplicate(manager):
    a = person(manager, "Ruiz", "Ana", emails=["ana@work.example", "ana@home.example"])
    b = person(manager, "Other", "Someone", emails=["ANA@home.example"])
    pair = pairs_of(manager)[(a.pk, b.pk)]
    assert pair.reasons == [REASON_EMAIL]
    assert pair.detail == "ana@home.example"
    assert pair.score == 100


def test_same_phone_written_differently_is_a_duplicate(manager):
    a = person(manager, "Pérez", "Luis", phones=["612 34 56 78"])
    b = person(manager, "Zamora", "Pablo", phones=["+34612345678"])
    assert pairs_of(manager)[(a.pk, b.pk)].reasons == [REASON_PHONE]


def test_similar_name_in_same_city_but_not_in_another_city(manager):
    a = person(manager, "García López", "José", city="Sevilla")
    b = person(manager, "Garcia Lopez", "Jose", city="sevilla")
    c = person(manager, "García López", "José", city="Bilbao")
    d = person(manager, "Lopez", "Garcia Jose", city="Sevilla")  # tokens reordered
    e = person(manager, "Fernández", "María", city="Sevilla")
    pairs = pairs_of(manager)
    assert pairs[(a.pk, b.pk)].reasons == [REASON_NAME]
    assert (a.pk, d.pk) in pairs
    assert (a.pk, c.pk) not in pairs and (b.pk, c.pk) not in pairs
    assert not any(e.pk in key for key in pairs)


def test_person_never_matches_organization(manager):
    org = create_customer(
        actor=manager,
        kind="organization",
        name="Acme",
        emails=["info@acme.example"],
        city="Madrid",
        owner_id=manager.pk,
    )
    p = person(manager, "Acme", emails=["info@acme.example"], city="Madrid")
    assert (min(org.pk, p.pk), max(org.pk, p.pk)) not in pairs_of(manager)
    org2 = create_customer(
        actor=manager,
        kind="organization",
        name="ACME",
        emails=["info@acme.example"],
        city="Madrid",
        owner_id=manager.pk,
    )
    assert pairs_of(manager)[(org.pk, org2.pk)].reasons == [REASON_EMAIL, REASON_NAME]


def test_rep_does_not_see_pairs_with_other_teams_customers(rep, rep_b, manager):
    mine = person(rep, "Soto", "Eva", emails=["eva@example.com"])
    theirs = person(rep_b, "Soto", "Eva", emails=["eva@example.com"])
    mine2 = person(rep, "Soto", "Eva", emails=["eva@example.com"])
    assert set(pairs_of(rep)) == {(mine.pk, mine2.pk)}
    assert set(pairs_of(rep_b)) == set()
    assert not any(theirs.pk in k for k in pairs_of(manager))  # manager of team A only


def test_merged_away_customers_are_not_candidates(manager):
    a = person(manager, "Vidal", emails=["v@example.com"])
    b = person(manager, "Vidal", emails=["v@example.com"])
    merging.merge_customers(actor=manager, survivor_id=a.pk, loser_id=b.pk)
    assert pairs_of(manager) == {}


def test_duplicates_of_one_customer_and_possible_matches(manager):
    a = person(manager, "Navarro", "Inés", emails=["ines@example.com"], city="Toledo")
    b = person(manager, "Navarro", "Ines", city="Toledo")
    c = person(manager, "Other", phones=["600 111 222"])
    person(manager, "Unrelated", emails=["x@example.com"])
    assert [(p.a_id, p.b_id) for p in duplicates_of(user=manager, customer_id=a.pk)] == [
        (a.pk, b.pk)
    ]
    found = possible_matches(
        user=manager, email="INES@example.com", name="ines navarro", city="toledo"
    )
    assert [m.customer.pk for m in found][:2] == [a.pk, b.pk]
    assert found[0].reasons == [REASON_EMAIL, REASON_NAME]
    assert [m.customer.pk for m in possible_matches(user=manager, phone="+34600111222")] == [c.pk]
    assert possible_matches(user=manager, email="not an email") == []


def test_fuzzy_blocks_stay_bounded(manager, monkeypatch):
    from vinculo.customers import duplicates

    monkeypatch.setattr(duplicates, "MAX_BLOCK", 4)
    names = [
        "Ana Abad",
        "Ana Abad",
        "Ana Abadd",
        "Ana Abel",
        "Ana Abril",
        "Ana Acosta",
        "Ana Aguado",
        "Ana Aguilar",
        "Ana Alba",
        "Ana Alba",
    ]
    made = [person(manager, n.split()[1], n.split()[0], city="Lugo") for n in names]
    pairs = pairs_of(manager)
    assert (made[0].pk, made[1].pk) in pairs
    assert (made[8].pk, made[9].pk) in pairs


def test_dismissed_pair_is_hidden_for_everyone(manager, admin):
    a = person(manager, "Gil", emails=["gil@example.com"])
    b = person(manager, "Gil", emails=["gil@example.com"])
    assert merging.dismiss_pair(actor=manager, customer_ids=[b.pk, a.pk]) is True
    assert merging.dismiss_pair(actor=manager, customer_ids=[a.pk, b.pk]) is False
    assert pairs_of(manager) == {} and pairs_of(admin) == {}
    assert AuditEntry.objects.filter(object_type="customers.duplicate_dismissal").count() == 1


# --- review page ------------------------------------------------------------------------------


def test_review_page_shows_pairs_side_by_side(manager, client_for):
    a = person(manager, "Morales", "Rita", emails=["rita@example.com"], city="Cádiz")
    b = person(manager, "Morales", "R.", city="Cádiz")
    add_email(actor=manager, customer_id=b.pk, email="rita@example.com")
    resp = client_for(manager).get(reverse("duplicate_list"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Rita Morales" in html and "R. Morales" in html
    assert "Same email" in html
    assert reverse("duplicate_merge", args=[a.pk, b.pk]) in html


def test_review_page_empty_state(manager, client_for):
    resp = client_for(manager).get(reverse("duplicate_list"))
    assert resp.status_code == 200
    assert "No possible duplicates" in resp.content.decode()


def test_review_page_needs_merge_capability(rep, client_for):
    person(rep, "Gil", emails=["gil@example.com"])
    person(rep, "Gil", emails=["gil@example.com"])
    assert client_for(rep).get(reverse("duplicate_list")).status_code == 403


def test_not_a_duplicate_action(manager, client_for):
    a = person(manager, "Gil", emails=["gil@example.com"])
    b = person(manager, "Gil", emails=["gil@example.com"])
    client = client_for(manager)
    resp = client.post(reverse("duplicate_dismiss", args=[a.pk, b.pk]), HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert "No possible duplicates" in client.get(reverse("duplicate_list")).content.decode()


def test_rep_cannot_dismiss(rep, client_for):
    a = person(rep, "Gil", emails=["gil@example.com"])
    b = person(rep, "Gil", emails=["gil@example.com"])
    assert client_for(rep).post(reverse("duplicate_dismiss", args=[a.pk, b.pk])).status_code == 403
    assert not AuditEntry.objects.filter(object_type="customers.duplicate_dismissal").exists()


@pytest.mark.parametrize("n_pairs", [3, 20])
def test_review_page_query_count_does_not_grow(
    manager, client_for, n_pairs, django_assert_max_num_queries
):
    from vinculo.interactions.services import log_interaction

    for i in range(n_pairs):
        a = person(manager, f"Name{i}", emails=[f"p{i}@example.com"])
        person(manager, f"Other{i}", emails=[f"p{i}@example.com"])
        log_interaction(actor=manager, customer_id=a.pk, kind="note", body="hi")
    client = client_for(manager)
    with django_assert_max_num_queries(14):
        resp = client.get(reverse("duplicate_list"))
    assert resp.status_code == 200
    assert resp.content.decode().count('data-testid="duplicate-pair"') == n_pairs


def test_find_duplicates_command(manager, capsys):
    from django.core.management import call_command

    a = person(manager, "Gil", emails=["gil@example.com"])
    b = person(manager, "Gil", emails=["gil@example.com"])
    call_command("find_duplicates", "--limit", "5")
    out = capsys.readouterr().out
    assert f"{a.pk}\t{b.pk}\temail\t100" in out


def test_review_page_says_when_the_name_search_stopped_early(manager, client_for, monkeypatch):
    from vinculo.customers import duplicates

    person(manager, "Gil", "Ana", city="Soria")
    person(manager, "Gil", "Ana", city="Soria")
    real = duplicates.review_duplicates
    monkeypatch.setattr(
        duplicates,
        "review_duplicates",
        lambda **kw: real(**{**kw, "max_seconds": -1, "cache_seconds": 0}),
    )
    resp = client_for(manager).get(reverse("duplicate_list"))
    assert 'data-testid="duplicates-incomplete"' in resp.content.decode()


def test_review_page_sorts_and_paginates(manager, client_for, monkeypatch):
    from vinculo.customers import views_duplicates

    monkeypatch.setattr(views_duplicates, "PER_PAGE", 2)
    made = []
    for i in range(3):
        a = person(manager, f"Name{i}", emails=[f"p{i}@example.com"])
        b = person(manager, f"Other{i}", emails=[f"p{i}@example.com"])
        made.append((a, b))
    client = client_for(manager)
    html = client.get(reverse("duplicate_list"), {"sort": "newest"}).content.decode()
    assert html.count('data-testid="duplicate-pair"') == 2
    assert f"pair-{made[2][0].pk}-{made[2][1].pk}" in html  # newest first
    assert "page=2&amp;sort=newest" in html
    html = client.get(reverse("duplicate_list"), {"sort": "newest", "page": 2}).content.decode()
    assert f"pair-{made[0][0].pk}-{made[0][1].pk}" in html
