"""Reads for the opportunity list: filters, sort and one page of rows with what each row shows
computed once (labels, links, dates), so the template only prints.

At 1M customers there are ~350k opportunities: nothing here counts or sorts every visible one.
A page walks an index in its sort order and stops after one row more than a page (no COUNT);
the stage sort, which no index can give (the order is the stage's position, in another
table), reads each stage's rows in turn, a page's worth at most. Decision 0014."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import BigIntegerField, F, Func, QuerySet
from django.template.defaultfilters import floatformat

from vinculo.core.fast import fast_date_format, fast_reverse
from vinculo.sales.forecast import add_months
from vinculo.sales.models import Opportunity, Pipeline, Stage
from vinculo.sales.paging import BROAD_FILTER, MAX_PAGE, ListPage, list_page, page_number
from vinculo.sales.selectors import visible_opportunities

# Each sort walks an index in that order, the id breaking ties in the same direction.
OPPORTUNITY_SORTS = {
    "name": ("name", "id"),
    "amount": ("amount", "id"),
    "close": ("expected_close_date", "id"),
    "stage": None,  # per stage, see _stage_page
    "created": ("created_at", "id"),
}
S = Opportunity.Status


@dataclass
class OpportunityFilters:
    """What the opportunity list filters on; empty values mean "any"."""

    pipeline: int | None = None
    stage: int | None = None
    owner: int | None = None
    status: str = ""
    close_month: str = ""  # "2026-05"

    @property
    def any(self) -> bool:
        return any([self.pipeline, self.stage, self.owner, self.status, self.close_month])


# The filters spread evenly along each sort (see filtered_opportunities).
ALONG = {
    "name": {"pipeline_id", "stage_id", "owner_id"},
    "amount": {"pipeline_id", "stage_id", "owner_id"},
    "close": {"pipeline_id", "owner_id"},
    "created": {"owner_id"},  # 5,000+ deals: not a rep who started last month
}


class _NoIndex(Func):
    """``+column``: the same value, but SQLite uses no index for a term written so."""

    template = "+%(expressions)s"


def filtered_opportunities(user, f: OpportunityFilters, *, sort: str = "") -> QuerySet[Opportunity]:
    """The opportunities ``user`` may see matching ``f``.

    SQLite has no statistics: for "owner = 3" it reads that owner's 20k opportunities from the
    owner index and sorts them for every page (100 ms). When the pipeline, stage and owner
    terms match more than BROAD_FILTER rows (counted up to that), they are written so that no
    index serves them, and SQLite walks the sort's index instead, checking them row by row.
    Only where the terms are spread along the sort (ALONG): open stages close in the future
    and closed ones in the past, a new pipeline's opportunities are all recent, so walking
    those sorts would read everything before the first match (a stage or a pipeline by
    creation date has its own index)."""
    qs = visible_opportunities(user)
    terms = {
        column: value
        for column, value in (
            ("pipeline_id", f.pipeline),
            ("stage_id", f.stage),
            ("owner_id", f.owner),
        )
        if value
    }
    along = (
        terms
        and connection.vendor == "sqlite"
        and terms.keys() <= ALONG.get(sort.lstrip("-"), set())
        and Opportunity.objects.filter(**terms).order_by()[: BROAD_FILTER + 1].count()
        > BROAD_FILTER
    )
    for column, value in terms.items():
        if along:
            plain = _NoIndex(F(column), output_field=BigIntegerField())
            qs = qs.alias(**{f"_plain_{column}": plain}).filter(**{f"_plain_{column}": value})
        else:
            qs = qs.filter(**{column: value})
    if f.status in S.values:
        qs = qs.filter(status=f.status)  # no index leads with it: SQLite walks the sort's
    if f.close_month:
        first = dt.datetime.strptime(f.close_month, "%Y-%m").date()
        qs = qs.filter(expected_close_date__gte=first, expected_close_date__lt=add_months(first, 1))
    return qs


def _stage_page(qs, stages: list[Stage], *, desc: bool, page, size: int) -> ListPage:
    """The page in stage order (position, then the stage, then the id): each stage's rows read
    in id order from its index, stage after stage, until the page (and one more) is full."""
    number = page_number(page)
    start, end = (number - 1) * size, number * size + 1
    stages = sorted(stages, key=lambda s: (s.position, s.pk))
    if desc:
        stages.reverse()
    ids: list[int] = []
    for stage in stages:
        part = qs.filter(stage_id=stage.pk).order_by("-id" if desc else "id")
        ids += part.values_list("pk", flat=True)[: end - len(ids)]
        if len(ids) >= end:
            break
    ids = ids[start:end]
    rows = qs.filter(pk__in=ids).in_bulk() if ids else {}
    found = [rows[pk] for pk in ids if pk in rows]
    has_next = len(found) > size and number < MAX_PAGE
    return ListPage(object_list=found[:size], number=number, has_next=has_next)


def opportunity_page(
    qs: QuerySet[Opportunity],
    *,
    f: OpportunityFilters,
    sort: str,
    page,
    size: int,
    pipelines: list[Pipeline],
    owners: dict[int, str],
) -> ListPage:
    """One page of ``qs`` in ``sort`` order ("close", "-amount"...), each opportunity carrying
    ``url``, ``customer_name``, ``stage_label``, ``pipeline_label``, ``amount_label``,
    ``close_label``, ``owner_label`` and ``status_label``. ``pipelines`` (with their stages)
    and ``owners`` (users by id) are what the page's filters loaded already."""
    key = sort.lstrip("-")
    desc = sort.startswith("-")
    qs = qs.select_related("customer").only(
        "name",
        "customer__name",
        "stage_id",
        "pipeline_id",
        "amount",
        "currency",
        "expected_close_date",
        "owner_id",
        "status",
    )
    if OPPORTUNITY_SORTS[key] is None:
        stages = [
            s
            for p in pipelines
            if f.pipeline in (None, p.pk)
            for s in p.stages.all()
            if f.stage in (None, s.pk)
        ]
        result = _stage_page(qs, stages, desc=desc, page=page, size=size)
    else:
        order = [("-" if desc else "") + name for name in OPPORTUNITY_SORTS[key]]
        result = list_page(qs.order_by(*order), page, size=size)
    stages = {s.pk: s for p in pipelines for s in p.stages.all()}
    pipeline_names = {p.pk: p.display_name for p in pipelines}
    statuses = dict(S.choices)
    missing = {o.owner_id for o in result.object_list if o.owner_id} - owners.keys()
    if missing:  # an inactive user who still owns opportunities
        from django.contrib.auth import get_user_model

        owners = {
            **owners,
            **{u.pk: str(u) for u in get_user_model().objects.filter(pk__in=missing)},
        }
    for o in result.object_list:
        stage = stages.get(o.stage_id)
        o.url = fast_reverse("opportunity_detail", [o.pk])
        o.customer_name = o.customer.name
        o.stage_label = stage.display_name if stage else ""
        o.pipeline_label = pipeline_names.get(o.pipeline_id, "")
        o.amount_label = floatformat(o.amount, "2g")
        close = o.expected_close_date
        o.close_label = fast_date_format(close, "SHORT_DATE_FORMAT") if close else "—"
        o.owner_label = owners.get(o.owner_id, "—") if o.owner_id else "—"
        o.status_label = statuses.get(o.status, o.status)
    return result
