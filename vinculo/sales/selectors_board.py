"""Reads for the pipeline board: per stage, its header figures and its first cards, already
formatted so the per-card template is plain variable lookups.

At 1M customers a column holds tens of thousands of opportunities, so nothing here reads a
whole column: the cards are the first ``BOARD_CARDS`` in the column's order (an index walk
with a LIMIT, the next ones on demand), and the header counts at most ``COUNT_CAP + 1`` rows
per column. Every column is read in one UNION ALL query (SQLite refuses LIMIT inside the ORM's
``union()``). Decision 0014."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from vinculo.core.fast import GroupedAmount, Timesince, fast_date_format
from vinculo.customers.selectors import visibility_branches
from vinculo.sales.models import Opportunity, Stage
from vinculo.sales.selectors import visible_opportunities, with_stage_entered_at

BOARD_CARDS = 20  # cards per column on the board; "show more" loads the next ones
MORE_MAX = 500  # past this many cards in a column, the opportunity list is the way to see more
COUNT_CAP = 500  # a column counts (and sums) at most this many opportunities: "500+"
CLOSED_SHOWN_DAYS = 30  # won/lost columns show what closed recently
S = Opportunity.Status

# Open columns keep the order reps give them by dragging; closed columns show the most
# recently closed first (their positions only grow, so the recent ones were at the end).
OPEN_ORDER = ("position", "-amount", "id")
CLOSED_ORDER = ("-closed_at", "-id")


@dataclass
class Card:
    # Numbers as text: the template would localise every int it prints (~10 µs each).
    pk: str
    name: str
    version: str
    customer: str
    amount: str
    currency: str
    close: str
    owner: str
    age: str  # "In this stage for 2 weeks, 3 days", or ""
    move_label: str  # "Move “name” to…"


@dataclass
class Column:
    stage: Stage
    closed: bool
    count: int = 0
    capped: bool = False  # more than COUNT_CAP: count shown as "500+", no totals
    count_text: str = ""  # "12 opportunities", "500+ opportunities"
    total: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    cards: list[Card] = field(default_factory=list)
    more: int | None = None  # offset of the next cards, when there are more to show
    to_list: bool = False  # more than MORE_MAX cards: the opportunity list shows the rest
    options: str = ""  # the "Move to…" options (safe HTML), this stage selected
    offset: int = 0  # of the first card shown
    # Set by the view: the cards' markup and the column's links.
    html: str = ""
    more_url: str = ""
    list_url: str = ""


def board_scope(user, *, pipeline_id: int, owner_id: int | None) -> QuerySet[Opportunity]:
    """What the board of ``pipeline_id`` may show ``user`` (optionally one owner's only)."""
    qs = visible_opportunities(user).filter(pipeline_id=pipeline_id)
    return qs.filter(owner_id=owner_id) if owner_id else qs


class _Scope:
    """One board read: whose, which pipeline and owner, and since when closed columns show.
    ``key`` names everything the compiled SQL depends on besides a stage id: the visibility
    rule's branches (with their values), the pipeline, the owner filter and the window."""

    def __init__(self, user, *, pipeline_id: int, owner_id: int | None):
        self.user, self.pipeline_id, self.owner_id = user, pipeline_id, owner_id
        # To the minute, so that the compiled SQL can be reused for a minute.
        now = timezone.now().replace(second=0, microsecond=0)
        self.since = now - dt.timedelta(days=CLOSED_SHOWN_DAYS)
        visible = getattr(user, "is_authenticated", False) and user.is_active
        branches = visibility_branches(user) if visible else "nobody"
        branches = tuple(branches) if isinstance(branches, list) else branches
        self.key = (connection.alias, branches, pipeline_id, owner_id, self.since)
        # Opportunities the count can read from their own index rows, without the visibility
        # join (see _counts): all of them (or the filtered owner's) for a user who sees every
        # customer; a restricted user's own ones, which they see whatever the customer.
        # ``direct_all``: those are all the board shows.
        self.direct, self.direct_owner, self.direct_all = False, None, False
        if branches is None:
            self.direct, self.direct_owner, self.direct_all = True, owner_id, True
        elif isinstance(branches, tuple) and user.pk and owner_id in (None, user.pk):
            self.direct, self.direct_owner, self.direct_all = True, user.pk, owner_id == user.pk

    @cached_property
    def qs(self) -> QuerySet[Opportunity]:
        return board_scope(self.user, pipeline_id=self.pipeline_id, owner_id=self.owner_id)


def _in_column(qs: QuerySet[Opportunity], stage: Stage, since: dt.datetime):
    qs = qs.filter(stage_id=stage.pk)
    if stage.is_won or stage.is_lost:
        return qs.filter(closed_at__gte=since).order_by(*CLOSED_ORDER)
    return qs.filter(status=S.OPEN).order_by(*OPEN_ORDER)


_PROBE = -7_654_321  # a stage id no row has, found again in the compiled parameters
# Compiled board SQL by (scope key, query, column kind): the ORM takes 1-2 ms to compile each
# of the four (a quarter of the page); reused, a board's SQL costs nothing to build.
_COMPILED: dict[tuple, tuple[str, list, dict]] = {}
_COMPILED_MAX = 2000


def _compiled(key: tuple, part, closed: bool) -> tuple[str, list, dict]:
    hit = _COMPILED.get(key)
    if hit is None:
        probe = Stage(pk=_PROBE, is_won=closed)
        compiler = part(probe).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        columns = [s[0] for s in compiler.select[: compiler.col_count]]
        hit = (sql, list(params), compiler.get_converters(columns))
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = hit
    return hit


def _union_all(name: str, scope: _Scope, part, stages: list[Stage]) -> tuple[str, list, dict]:
    """One UNION ALL of ``part(stage)`` (a sliced queryset) for every stage, and the ORM's
    converters for its columns. ``part`` is compiled once per scope and kind of column (open
    or closed, with a probe stage); the stages only change the stage id."""
    if connection.vendor == "postgresql":
        return _lateral(name, scope, part, stages)
    return _union_all_parts(name, scope, part, stages)


def _union_all_parts(name: str, scope: _Scope, part, stages: list[Stage]):
    sqls, params, converters = [], [], {}
    for i, stage in enumerate(stages):
        closed = stage.is_won or stage.is_lost
        sql, p, converters = _compiled((scope.key, name, closed), part, closed)
        sqls.append(f"SELECT * FROM ({sql}) u{i}")
        params.extend(stage.pk if v == _PROBE else v for v in p)
    return " UNION ALL ".join(sqls), params, converters


def _lateral(name: str, scope: _Scope, part, stages: list[Stage]) -> tuple[str, list, dict]:
    """PostgreSQL: the same rows as ``_union_all``, one LATERAL subquery per kind of column
    over its stage ids. The planner weighs every index of both tables for each part of a
    union: six parts took 4-7 ms to plan (more than to run); one part per kind, ~1.5 ms."""
    sqls, params, converters = [], [], {}
    for closed in (False, True):
        ids = [s.pk for s in stages if (s.is_won or s.is_lost) == closed]
        if not ids:
            continue
        sql, p, converters = _compiled((scope.key, name, closed), part, closed)
        pieces = sql.split("%s")
        if len(pieces) != len(p) + 1:  # a literal "%s" in the SQL: keep the union
            return _union_all_parts(name, scope, part, stages)
        sql = pieces[0]
        for value, piece in zip(p, pieces[1:], strict=True):
            sql += ("s.id" if value == _PROBE else "%s") + piece
        sqls.append(f"SELECT x.* FROM unnest(%s::bigint[]) AS s(id) CROSS JOIN LATERAL ({sql}) x")
        params += [ids, *(v for v in p if v != _PROBE)]
    return " UNION ALL ".join(sqls), params, converters


def _fetch(name: str, scope: _Scope, part, stages: list[Stage]) -> list[tuple]:
    sql, params, converters = _union_all(name, scope, part, stages)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters:
        return rows
    out = []
    for row in rows:  # what SQLCompiler.apply_converters does
        row = list(row)
        for pos, (functions, expression) in converters.items():
            value = row[pos]
            for convert in functions:
                value = convert(value, expression, connection)
            row[pos] = value
        out.append(tuple(row))
    return out


def _money(value) -> Decimal:
    # SQLite sums a decimal column as a float.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _counts(scope: _Scope, stages: list[Stage]) -> dict[int, tuple[int, Decimal]]:
    """Per stage: how many (at most COUNT_CAP + 1) and their amount, in one query (one more
    for a restricted user whose own cards leave a column under the cap)."""

    def part(stage):
        qs = _in_column(scope.qs, stage, scope.since)
        if not (stage.is_won or stage.is_lost):
            # Any order: opp_column_count's (by customer) makes the visibility join cheap.
            # Closed columns keep theirs: unordered, PostgreSQL hash-joined every recent
            # win with every customer (80 ms) instead of stopping after COUNT_CAP.
            qs = qs.order_by()
        return qs.values_list("stage_id", "amount")[: COUNT_CAP + 1]

    if not scope.direct:
        return _grouped(f"count{COUNT_CAP}", scope, part, stages)
    # PostgreSQL checks each row's customer in the customer table (visibility, not merged
    # away): ~4-15 µs a probe, as shared buffers rarely hold a 1M-customer table, and the 500
    # visible rows of a column cost ~1,300 probes for a rep who sees 40% of them (60-110 ms a
    # board; 45 ms for an admin, who sees them all). Merging moves a customer's opportunities
    # to the survivor, so none hangs off a merged-away customer, and a user sees the ones
    # they own whatever the customer: those are counted from opp_column_count /
    # opp_column_owner_cover (and the closed columns' ones) without the join. When they pass
    # the cap the column is "500+"; otherwise a restricted user's column is counted with the
    # join as before. On SQLite too: its probes are cheaper (~1 µs), but a rep's board still
    # spent 8 ms of its 22 on them at 1M (16 ms without). Decision 0014.
    direct = _grouped(f"direct{COUNT_CAP}", scope, lambda s: _direct_part(scope, s), stages)
    if scope.direct_all:
        return direct
    rest = [s for s in stages if direct.get(s.pk, (0,))[0] <= COUNT_CAP]
    counts = {pk: value for pk, value in direct.items() if value[0] > COUNT_CAP}
    if rest:
        counts.update(_grouped(f"count{COUNT_CAP}", scope, part, rest))
    return counts


def _direct_part(scope: _Scope, stage: Stage):
    qs = Opportunity.objects.filter(pipeline_id=scope.pipeline_id)
    if scope.direct_owner:
        qs = qs.filter(owner_id=scope.direct_owner)
    qs = _in_column(qs, stage, scope.since)
    if not (stage.is_won or stage.is_lost):
        # In opp_column_count's order: unordered, PostgreSQL read the whole column's entries
        # into a bitmap (22k at 1M, ~2 ms a column) to return 501.
        qs = qs.order_by("customer_id")
    return qs.values_list("stage_id", "amount")[: COUNT_CAP + 1]


def _grouped(name: str, scope: _Scope, part, stages: list[Stage]) -> dict:
    sql, params, _converters = _union_all(name, scope, part, stages)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stage_id, COUNT(*), SUM(amount) FROM ({sql}) c GROUP BY stage_id", params
        )
        return {stage_id: (n, _money(total)) for stage_id, n, total in cursor.fetchall()}


CARD_FIELDS = (
    "pk",
    "name",
    "version",
    "stage_id",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "customer__name",
    "stage_entered_at",
    "position",
    "closed_at",
)


def _card_rows(scope: _Scope, stages: list[Stage], *, offset: int, limit: int) -> list[tuple]:
    """Rows ``offset``..``offset + limit`` of each stage's column, in the column's order."""

    def part(stage):
        qs = with_stage_entered_at(_in_column(scope.qs, stage, scope.since))
        return qs.values_list(*CARD_FIELDS)[offset : offset + limit]

    rows = _fetch(f"cards{offset}:{limit}", scope, part, stages)
    # UNION ALL does not promise to keep each part's order: put it back.
    rows.sort(key=lambda r: (r[10], -r[4], r[0]))
    closed = [r for r in rows if r[11] is not None]
    if closed:
        closed.sort(key=lambda r: (r[11], r[0]), reverse=True)
        rows = [r for r in rows if r[11] is None] + closed
    return rows


class _Formatter:
    """Per-card values as the template shows them. The localised filters cost 15-20 µs a
    call (translation and format lookups each time): here the formats are looked up once per
    page, each distinct date is formatted once (``fast_date_format``), and ages and amounts go
    through core.fast's Timesince and GroupedAmount (Django's text, a fraction of the cost)."""

    def __init__(self, owners: dict[int, str]):
        self.owners = owners
        self.age_label = gettext("In this stage for %(age)s")
        self.move_label = gettext("Move “%(name)s” to…")
        self.since = Timesince(timezone.now())
        self.amount = GroupedAmount()
        self.dates: dict[dt.date, str] = {}

    def card(self, row: tuple) -> Card:
        pk, name, version, _stage, amount, currency, close, owner_id, customer, entered = row[:10]
        if close is None:
            close_text = "—"
        else:
            close_text = self.dates.get(close)
            if close_text is None:
                close_text = self.dates[close] = fast_date_format(close, "SHORT_DATE_FORMAT")
        age = ""
        if entered:
            age = self.age_label % {"age": self.since(entered)}
        return Card(
            pk=str(pk),
            name=name,
            version=str(version),
            customer=customer,
            amount=self.amount(amount),
            currency=currency,
            close=close_text,
            owner=self.owners.get(owner_id, "—") if owner_id else "—",
            age=age,
            move_label=self.move_label % {"name": name},
        )


def _owner_names(rows: list[tuple], known: dict[int, str]) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    missing = {r[7] for r in rows if r[7]} - known.keys()
    if missing:  # an inactive user who still owns opportunities
        known = dict(known)
        for user in get_user_model().objects.filter(pk__in=missing):
            known[user.pk] = str(user)
    return known


def _move_options(stages: list[Stage]) -> dict[int, SafeString]:
    """Per stage, the "Move to…" options with that stage selected (names escaped once)."""
    names = [(s.pk, escape(s.display_name)) for s in stages]
    return {
        selected.pk: mark_safe(  # pk is an int, names are escaped
            "".join(
                f'<option value="{pk}"{" selected" if pk == selected.pk else ""}>{name}</option>'
                for pk, name in names
            )
        )
        for selected in stages
    }


def _count_text(n: int) -> str:
    if n > COUNT_CAP:
        shown = number_format(COUNT_CAP, force_grouping=True) + "+"
        return ngettext("%(n)s opportunity", "%(n)s opportunities", n) % {"n": shown}
    return ngettext("%(n)s opportunity", "%(n)s opportunities", n) % {"n": n}


def board_columns(
    user, *, stages: list[Stage], pipeline_id: int, owner_id: int | None, owners: dict[int, str]
) -> list[Column]:
    """The board's columns: per stage its (capped) count and amount and its first cards.
    ``owners`` names users by id (the page's owner filter has them already). Two queries
    (three when an inactive user owns a card), whatever the number of opportunities."""
    scope = _Scope(user, pipeline_id=pipeline_id, owner_id=owner_id)
    counts = _counts(scope, stages) if stages else {}
    rows = _card_rows(scope, stages, offset=0, limit=BOARD_CARDS + 1) if stages else []
    fmt = _Formatter(_owner_names(rows, owners))
    options = _move_options(stages)
    by_stage: dict[int, list[tuple]] = {}
    for row in rows:
        by_stage.setdefault(row[3], []).append(row)
    columns = []
    for stage in stages:
        n, total = counts.get(stage.pk, (0, Decimal("0")))
        mine = by_stage.get(stage.pk, [])
        col = Column(
            stage=stage,
            closed=stage.is_won or stage.is_lost,
            count=min(n, COUNT_CAP),
            capped=n > COUNT_CAP,
            count_text=_count_text(n),
            total=total,
            weighted=(total * stage.probability / 100).quantize(Decimal("0.01")),
            cards=[fmt.card(r) for r in mine[:BOARD_CARDS]],
            more=BOARD_CARDS if len(mine) > BOARD_CARDS else None,
            options=options[stage.pk],
        )
        columns.append(col)
    return columns


def column_cards(
    user,
    *,
    stages: list[Stage],
    stage: Stage,
    owner_id: int | None,
    offset: int,
    owners: dict[int, str],
) -> Column:
    """The next cards of one column ("show more"), from ``offset`` (at most MORE_MAX)."""
    scope = _Scope(user, pipeline_id=stage.pipeline_id, owner_id=owner_id)
    offset = max(0, min(offset, MORE_MAX))
    limit = min(BOARD_CARDS, MORE_MAX - offset)
    rows = _card_rows(scope, [stage], offset=offset, limit=limit + 1) if limit else []
    fmt = _Formatter(_owner_names(rows, owners))
    left = len(rows) > limit
    more = offset + limit if left and offset + limit < MORE_MAX else None
    return Column(
        stage=stage,
        closed=stage.is_won or stage.is_lost,
        cards=[fmt.card(r) for r in rows[:limit]],
        more=more,
        to_list=left and more is None,
        options=_move_options(stages)[stage.pk],
        offset=offset,
    )
