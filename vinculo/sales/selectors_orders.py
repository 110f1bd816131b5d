"""Reads for the order list: filters, sort, capped totals and one page of rows with what each
row shows computed once (labels, links, dates), so the template only prints.

At 1M customers there are ~4M orders: nothing here counts or sorts every visible order. The
page walks an index in its sort order (ordered_at, number, total, status) and stops after one
row more than a page; the totals add up at most TOTALS_CAP orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, IntegerField, QuerySet
from django.template.defaultfilters import floatformat
from django.utils import timezone

from vinculo.core.fast import fast_date_format, fast_reverse
from vinculo.customers.models import Customer
from vinculo.customers.selectors import search_filter
from vinculo.sales import paging
from vinculo.sales.models import Order
from vinculo.sales.paging import ListPage, NoIndex, filter_along_sort, list_page
from vinculo.sales.selectors import visible_orders

# Each sort has an index in that order, the id breaking ties in the same direction. No sort by
# customer name: no index holds orders in their customer's name order, so it sorted every
# visible order (4M) for each page; the customer filter and the customer's page list them.
ORDER_SORTS = {
    "number": ("number",),
    "ordered": ("ordered_at", "id"),
    "total": ("total", "id"),
    "status": ("status", "ordered_at", "id"),
}
# A customer filter matching up to this many customers reads their orders by customer index.
CUSTOMER_MATCHES = 5000
# A piece of an order number (not its start, "SO-...") is looked for among this many latest
# orders: "contains" reads each one, and 4M took 20 s.
FRAGMENT_SCOPE = 20_000
# Past this many orders the totals line says "more than 1,000" instead of adding them up.
TOTALS_CAP = 1000


@dataclass
class OrderFilters:
    """What the order list filters on; empty values mean "any"."""

    status: str = ""
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer: str = ""
    customer_id: int | None = None
    number: str = ""
    sort: str = "-ordered"
    # Set by filtered_orders: the number was looked for among the latest orders only.
    number_partial: bool = False


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_orders(user, f: OrderFilters) -> QuerySet[Order]:
    qs = visible_orders(user)
    # Terms an index answers. The date order's indexes (ordered_at, order_list_status) hold the
    # status and date filters and the sort both; in any other case, terms matching many orders
    # are checked along the sort's index.
    held: dict = {}
    if f.status:
        held["status"] = f.status
    if f.date_from:
        held["ordered_at__gte"] = _day_start(f.date_from)
    if f.date_to:
        held["ordered_at__lt"] = _day_start(f.date_to + dt.timedelta(days=1))
    number_range = _number_range(f.number) if f.number else {}
    if number_range and _many(number_range):
        number_range = {}  # "SO-2025": a year of orders, looked for like a piece of a number
    terms = dict(number_range)
    if f.sort.lstrip("-") in ("ordered", "status"):
        qs = qs.filter(**held)
    else:
        terms.update(held)
    qs = filter_along_sort(qs, terms)
    f.number_partial = bool(f.number) and not number_range
    if f.number_partial:
        qs = qs.filter(number__icontains=f.number)
        # A piece of a number is tested row by row: only on the latest orders.
        since = list(
            Order.objects.exclude(ordered_at=None)
            .order_by("-ordered_at")
            .values_list("ordered_at", flat=True)[FRAGMENT_SCOPE - 1 : FRAGMENT_SCOPE]
        )
        if since:
            qs = qs.filter(ordered_at__gte=since[0])
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.customer:
        qs = _customer_filter(qs, f.customer)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    return qs


def _many(terms: dict) -> bool:
    cap = paging.BROAD_FILTER
    return Order.objects.filter(**terms).order_by()[: cap + 1].count() > cap


def _number_range(text: str) -> dict:
    """A whole number or its start ("SO-2026...", as pasted from an email) is a range of the
    unique index on number; any other piece of a number, or a start matching thousands of
    orders ({}), is looked for with "contains" among the latest FRAGMENT_SCOPE orders."""
    prefix = text.upper()
    if not prefix.startswith("SO-"):
        return {}
    if connection.vendor == "sqlite":
        # LIKE ignores case in SQLite, so no index answers it; the binary range is the same
        # test for the upper-case numbers.
        return {"number__gte": prefix, "number__lt": prefix + "\U0010ffff"}
    return {"number__startswith": prefix}


def _customer_filter(qs: QuerySet[Order], text: str) -> QuerySet[Order]:
    """Orders of the customers the customer search finds for ``text`` (name, company, email,
    phone, by word, as everywhere else). "Name contains" on the joined customer read every
    order (4M) for a name nobody has. Up to CUSTOMER_MATCHES customers, their orders are read
    from the customer index and sorted; more, the orders are walked in the page's order and
    each one's customer looked up in the matches (a common name fills a page soon)."""
    matches = search_filter(Customer.objects.all(), text).order_by().values_list("pk", flat=True)
    ids = list(matches[: CUSTOMER_MATCHES + 1])
    if len(ids) <= CUSTOMER_MATCHES:
        return qs.filter(customer_id__in=ids)
    if connection.vendor != "sqlite":
        return qs.filter(customer_id__in=matches)
    return qs.alias(_plain_customer=NoIndex(F("customer_id"), output_field=IntegerField())).filter(
        _plain_customer__in=matches
    )


def order_totals(qs: QuerySet[Order]) -> tuple[list[dict], bool]:
    """Number and sum of the filtered orders per currency, and whether there were more than
    TOTALS_CAP of them (then no totals: adding up 4M orders on every page view would cost
    seconds). Reads at most TOTALS_CAP + 1 rows."""
    rows = list(qs.order_by().values_list("currency", "total")[: TOTALS_CAP + 1])
    if len(rows) > TOTALS_CAP:
        return [], True
    sums: dict[str, list] = {}
    for currency, total in rows:
        acc = sums.setdefault(currency, [0, Decimal("0")])
        acc[0] += 1
        acc[1] += total
    return [{"currency": c, "n": n, "total": t} for c, (n, t) in sorted(sums.items())], False


def order_page(qs: QuerySet[Order], *, sort: str, page, size: int) -> ListPage:
    """One page of ``qs`` in ``sort`` order ("-ordered", "total"...), each order carrying
    ``url``, ``customer_url``, ``customer_name``, ``ordered_label``, ``channel_label``,
    ``status_label`` and ``total_label``."""
    key = sort.lstrip("-")
    sign = "-" if sort.startswith("-") else ""
    rows = (
        qs.select_related("customer")
        .only("number", "channel", "status", "currency", "total", "ordered_at", "customer__name")
        .order_by(*(sign + name for name in ORDER_SORTS[key]))
    )
    result = list_page(rows, page, size=size)
    channels, statuses = dict(Order.Channel.choices), dict(Order.Status.choices)
    for o in result.object_list:
        # Links and dates as core.fast makes them: {% url %} per row and cell was a fifth
        # of the page's time.
        o.url = fast_reverse("order_detail", [o.pk])
        o.customer_url = fast_reverse("customer_detail", [o.customer_id])
        o.customer_name = o.customer.name
        o.ordered_label = (
            fast_date_format(timezone.localtime(o.ordered_at), "SHORT_DATE_FORMAT")
            if o.ordered_at
            else ""
        )
        o.channel_label = channels.get(o.channel, o.channel)
        o.status_label = statuses.get(o.status, o.status)
        o.total_label = floatformat(o.total, "2g")
    return result
