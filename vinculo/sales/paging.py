"""Paging for the sales lists (leads, orders) without COUNT(*): a page reads one row more than
it shows to know whether there is a next one. At 1M customers a count of the visible leads or
orders reads every one of them (4M orders) on every page view."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

# Deepest page served: OFFSET skips rows one by one, so page 200 of 25 reads 5,000 rows.
# Past it the filters narrow the list faster than paging does.
MAX_PAGE = 200


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
