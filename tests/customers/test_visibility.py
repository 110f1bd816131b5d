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
