"""customer_page: the customer list read per visibility branch (decision 0013)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from vinculo.customers.models import Customer
from vinculo.customers.selectors import (
    CustomerFilters,
    customer_page,
    filter_customers,
    visible_customers,
)

pytestmark = pytest.mark.django_db


def _page_names(user, **filters):
    rows = customer_page(user, CustomerFilters(**filters), offset=0, limit=100)
    return [c.name for c in rows]


@pytest.mark.parametrize("sort", ["name", "-name", "-last_contact", "last_contact", "city"])
def test_customer_page_matches_one_query_over_the_visibility_rule(rep, rep_b, sort):
    """Owned, team and both at once, with and without a last contact (NULLs sort the same):
    the page read per branch is exactly the single query's page, each customer once."""
    now = timezone.now()
    made = []
    for i in range(12):
        owner = [rep, rep_b, None][i % 3]
        team = [rep.team, None, rep_b.team][i % 3 if i < 9 else 0]
        made.append(
            Customer(
                name=f"C{(i * 7) % 12:02d}",
                owner=owner,
                team=team,
                city=["Madrid", "Bilbao"][i % 2],
                last_contact_at=None if i % 4 == 0 else now - timedelta(days=i),
            )
        )
    Customer.objects.bulk_create(made)
    f = CustomerFilters(sort=sort)
    expected = list(filter_customers(visible_customers(rep), f).values_list("pk", flat=True))
    assert expected, "the rep sees some of these customers"
    for offset, limit in [(0, 100), (0, 3), (3, 4)]:
        page = customer_page(rep, f, offset=offset, limit=limit)
        assert [c.pk for c in page] == expected[offset : offset + limit]


@pytest.mark.parametrize("sort_max", [1, 5_000])  # 1: filtered pages read per branch too
def test_customer_page_keeps_filters_and_hides_others(rep, rep_b, sort_max, monkeypatch):
    monkeypatch.setattr("vinculo.customers.selectors.FILTER_SORT_MAX", sort_max)
    Customer.objects.create(name="Mine Madrid", owner=rep, city="Madrid")
    Customer.objects.create(name="Mine Bilbao", owner=rep, city="Bilbao")
    Customer.objects.create(name="Team Madrid", team=rep.team, city="Madrid")
    Customer.objects.create(name="Other Madrid", owner=rep_b, team=rep_b.team, city="Madrid")
    assert _page_names(rep, city="Madrid") == ["Mine Madrid", "Team Madrid"]
    assert _page_names(rep, city="mADRID") == ["Mine Madrid", "Team Madrid"]
    assert _page_names(rep, city="Nowhere") == []
    assert "Other Madrid" in _page_names(rep_b, city="Madrid")
    assert "Mine Madrid" not in _page_names(rep_b, city="Madrid")


def test_customer_page_search_reads_matches_by_id_and_keeps_visibility(rep, rep_b):
    """A search with few matches is answered from their ids: still sorted, filtered and
    limited to what the user may see."""
    Customer.objects.create(name="Zoe Arrieta", owner=rep, city="Madrid")
    Customer.objects.create(name="Ana Arrieta", team=rep.team, city="Madrid")
    Customer.objects.create(name="Eva Arrieta", owner=rep, city="Bilbao")
    Customer.objects.create(name="Hidden Arrieta", owner=rep_b, team=rep_b.team, city="Madrid")
    assert _page_names(rep, q="arrieta") == ["Ana Arrieta", "Eva Arrieta", "Zoe Arrieta"]
    assert _page_names(rep, q="arrieta", city="Madrid", sort="-name") == [
        "Zoe Arrieta",
        "Ana Arrieta",
    ]
    page = customer_page(rep, CustomerFilters(q="arrieta"), offset=1, limit=1)
    assert [c.name for c in page] == ["Eva Arrieta"]


def test_filtered_page_counts_matches_first_on_sqlite_only(rep):
    """PostgreSQL plans each branch from its statistics; SQLite has none and first counts
    the matches (up to FILTER_SORT_MAX) to choose between one sorted query and the walks."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Customer.objects.create(name="Mine Madrid", owner=rep, city="Madrid")
    Customer.objects.create(name="Team Madrid", team=rep.team, city="Madrid")
    with CaptureQueriesContext(connection) as ctx:
        assert _page_names(rep, city="Madrid", stage="") == ["Mine Madrid", "Team Madrid"]
    counted = any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    assert counted == (connection.vendor != "postgresql")


@pytest.mark.parametrize("sort", ["city", "-city"])
def test_one_city_sorted_by_city_lists_its_customers_by_name(rep, sort):
    for name, city in [("Bea", "Madrid"), ("Ana", "MADRID"), ("Cruz", "madrid"), ("Dan", "Bilbao")]:
        Customer.objects.create(name=name, owner=rep, city=city)
    names = ["Ana", "Bea", "Cruz"]
    assert _page_names(rep, city="Madrid", sort=sort) == (names if sort == "city" else names[::-1])
    # Without the city filter, by city as before (Bilbao before any spelling of Madrid).
    assert _page_names(rep, sort=sort).index("Dan") == (0 if sort == "city" else 3)
