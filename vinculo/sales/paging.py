"""Paging for the sales lists (leads, orders) without COUNT(*): a page reads one row more than
it shows to know whether there is a next one. At 1M customers a count of the visible leads or
orders reads every one of them (4M orders) on every page view."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import F, Func, QuerySet

# A filter matching more rows than this is checked row by row along the sort's index.
BROAD_FILTER = 5000

# Deepest page served: OFFSET skips rows one by one (with their visibility join), so page 40
# of 25 reads 1,000 rows, ~40 ms at 1M; page 200 took 0.2 s. Past it the filters narrow the
# list faster than paging does.
MAX_PAGE = 40


@dataclass
class ListPage:
    """The rows of one page and its neighbours, shaped like the bits of Django's ``Page`` the
    templates use (no ``paginator``: there is no total)."""

    object_list: list
    number: int
    has_next: bool

    def __len__(self) -> int:
        return len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(value) -> int:
    """``?page=`` as a page number from 1 to MAX_PAGE (anything else: 1)."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def list_page(qs: QuerySet, page, *, size: int) -> ListPage:
    """Page ``page`` (the raw ``?page=`` value) of the ordered ``qs``: ``size`` rows read with
    one more, in one query."""
    number = page_number(page)
    start = (number - 1) * size
    rows = list(qs[start : start + size + 1])
    has_next = len(rows) > size and number < MAX_PAGE
    return ListPage(object_list=rows[:size], number=number, has_next=has_next)


class NoIndex(Func):
    """``+column``: the same value, but SQLite uses no index for a term written so."""

    template = "+%(expressions)s"


def filter_along_sort(qs: QuerySet, terms: dict) -> QuerySet:
    """``qs.filter(**terms)``, written so that SQLite walks the sort's index when the terms
    match more than BROAD_FILTER rows. SQLite keeps no statistics: it reads any equality or
    range from its own index and sorts every match (160k leads of one owner, a year of orders)
    to show one page; a broad filter is cheaper checked row by row along the sort's index,
    which stops after a page. Narrow filters and PostgreSQL (which has statistics) keep the
    plain filter. ``terms`` are lookups on the model's own columns."""
    if not terms:
        return qs
    model = qs.model
    if (
        connection.vendor != "sqlite"
        or model._default_manager.filter(**terms).order_by()[: BROAD_FILTER + 1].count()
        <= BROAD_FILTER
    ):
        return qs.filter(**terms)
    for lookup, value in terms.items():
        column, _sep, op = lookup.partition("__")
        field = model._meta.get_field(column)
        name = f"_plain_{column}"
        output = field.target_field if field.is_relation else field
        if name not in qs.query.annotations:
            qs = qs.alias(**{name: NoIndex(F(field.attname), output_field=output)})
        qs = qs.filter(**{f"{name}__{op or 'exact'}": value})
    return qs
