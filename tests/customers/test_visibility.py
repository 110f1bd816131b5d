import pytest

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import NotFound
from vinculo.customers.selectors import customer_for_user, visible_customers


def test_rep_sees_own_and_team_customers_only(rep, rep_b, manager, admin, analyst):
    mine = CustomerFactory(owner=rep, team=rep.team)
    theirs = CustomerFactory(owner=rep_b, team=rep_b.team)
    assert set(visible_customers(rep)) == {mine}
    assert set(visible_customers(rep_b)) == {theirs}
    assert set(visible_customers(manager)) == {mine}
    assert set(visible_customers(admin)) == {mine, theirs}
    assert set(visible_customers(analyst)) == {mine, theirs}
    with pytest.raises(NotFound):
        customer_for_user(user=rep, pk=theirs.pk)


def test_merged_customers_are_hidden(admin):
    survivor = CustomerFactory()
    CustomerFactory(merged_into=survivor)
    assert list(visible_customers(admin)) == [survivor]


def test_a_manager_sees_a_team_from_the_next_request_after_it_is_given_to_them(
    client_for, manager, rep_b, team_b
):
    """The signed-in user is loaded with the ids of the teams they manage in one query
    (accounts.backends); a change of manager applies on the next request, both ways."""
    theirs = CustomerFactory(owner=rep_b, team=team_b, name="Zacarías Team B")
    client = client_for(manager)
    url = f"/customers/{theirs.pk}/"
    assert client.get(url).status_code == 404
    team_b.manager = manager
    team_b.save(update_fields=["manager"])
    assert client.get(url).status_code == 200
    assert "Zacarías Team B" in client.get("/customers/").content.decode()
    team_b.manager = None
    team_b.save(update_fields=["manager"])
    assert client.get(url).status_code == 404
    # Session and user (with the managed teams) are two queries, not three.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get("/customers/")
    assert not any('"accounts_team"."manager_id"' in q["sql"] for q in ctx.captured_queries)
