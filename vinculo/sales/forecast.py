"""Sales forecast and reports (read-only selectors). Amounts are summed as stored: one
currency is assumed per installation (mixed currencies are not converted).

- Forecast, per month of expected close date and per rep, team or pipeline: open amount,
  weighted by each stage's probability and, separately, by the stage's historical win rate;
  won amount in the month (by ``closed_at``), the month's quota and attainment.
- Reports: stage-to-stage funnel conversion, win rate and average cycle length, overall and
  broken down by source and by owner."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from vinculo.accounts.models import Team
from vinculo.accounts.permissions import sees_all_customers
from vinculo.customers.selectors import managed_team_ids
from vinculo.sales.models import Opportunity, Pipeline, Quota, Stage, StageHistory
from vinculo.sales.selectors import visible_opportunities

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
# A stage's historical win rate is used once this many opportunities that were in it closed;
# below that the stage's probability is a better guess than a rate from a handful of deals.
MIN_CLOSED_FOR_RATE = 5
GROUPS = {"owner": "owner_id", "team": "team_id", "pipeline": "pipeline_id"}
S = Opportunity.Status


def _pct(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


# --- stage win rates --------------------------------------------------------------------------


@dataclass
class StageRate:
    stage_id: int
    probability: int
    closed: int = 0
    won: int = 0

    @property
    def from_history(self) -> bool:
        return self.closed >= MIN_CLOSED_FOR_RATE

    @property
    def rate(self) -> Decimal:
        """The share (0..1) used to weight an open amount in this stage."""
        if self.from_history:
            return Decimal(self.won) / Decimal(self.closed)
        return Decimal(self.probability) / 100

    @property
    def rate_percent(self) -> Decimal:
        return (self.rate * 100).quantize(TENTH, rounding=ROUND_HALF_UP)


def stage_win_rates(*, stage_ids) -> dict[int, StageRate]:
    """Per stage: of the opportunities that were ever in it (stage history) and are closed,
    how many were won. Computed over all opportunities, so the rate is the company's
    experience, not only what one user may see."""
    rates = {
        s["pk"]: StageRate(stage_id=s["pk"], probability=s["probability"])
        for s in Stage.objects.filter(pk__in=list(stage_ids)).values("pk", "probability")
    }
    rows = (
        StageHistory.objects.filter(
            stage_id__in=list(rates), opportunity__status__in=[S.WON, S.LOST]
        )
        .values("stage_id")
        .annotate(
            closed=Count("opportunity_id", distinct=True),
            won=Count("opportunity_id", distinct=True, filter=Q(opportunity__status=S.WON)),
        )
    )
    for row in rows:
        rates[row["stage_id"]].closed = row["closed"]
        rates[row["stage_id"]].won = row["won"]
    return rates


# --- forecast ---------------------------------------------------------------------------------


@dataclass
class ForecastRow:
    month: dt.date
    key: int | None
    label: str
    open_count: int = 0
    open_amount: Decimal = ZERO
    weighted_by_probability: Decimal = ZERO
    weighted_by_win_rate: Decimal = ZERO
    won_count: int = 0
    won_amount: Decimal = ZERO
    quota: Decimal | None = None

    @property
    def attainment(self) -> Decimal | None:
        """Won amount as a percentage of the quota (None without a quota)."""
        return _pct(self.won_amount, self.quota)


@dataclass
class Forecast:
    group_by: str
    months: list[dt.date]
    rows: list[ForecastRow]  # ordered by month, then label
    totals: list[ForecastRow]  # one per month (key None)
    rates: dict[int, StageRate] = field(default_factory=dict)


def forecast(
    *,
    user,
    start: dt.date,
    months: int = 3,
    group_by: str = "owner",
    pipeline_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
) -> Forecast:
    """The forecast for ``months`` months from ``start``'s month, per ``group_by`` ("owner",
    "team" or "pipeline"), over the opportunities ``user`` may see. A fixed number of
    queries, whatever the number of opportunities."""
    if group_by not in GROUPS:
        group_by = "owner"
    key_field = GROUPS[group_by]
    first = month_start(start)
    month_list = [add_months(first, i) for i in range(max(1, min(months, 24)))]
    end = add_months(first, len(month_list))
    qs = visible_opportunities(user)
    if pipeline_id:
        qs = qs.filter(pipeline_id=pipeline_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)

    open_rows = list(
        qs.filter(status=S.OPEN, expected_close_date__gte=first, expected_close_date__lt=end)
        .annotate(m=TruncMonth("expected_close_date"))
        .values("m", key_field, "stage_id")
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    won_rows = list(
        qs.filter(
            status=S.WON,
            closed_at__date__gte=first,
            closed_at__date__lt=end,
        )
        .annotate(m=TruncMonth("closed_at"))
        .values("m", key_field)
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    rates = stage_win_rates(stage_ids={r["stage_id"] for r in open_rows})

    cells: dict[tuple[dt.date, int | None], ForecastRow] = {}

    def cell(month, key) -> ForecastRow:
        month = _as_date(month)
        if (month, key) not in cells:
            cells[(month, key)] = ForecastRow(month=month, key=key, label="")
        return cells[(month, key)]

    for r in open_rows:
        c = cell(r["m"], r[key_field])
        amount = r["amount"] or ZERO
        rate = rates[r["stage_id"]]
        c.open_count += r["n"]
        c.open_amount += amount
        c.weighted_by_probability += amount * rate.probability / 100
        c.weighted_by_win_rate += amount * rate.rate
    for r in won_rows:
        c = cell(r["m"], r[key_field])
        c.won_count += r["n"]
        c.won_amount += r["amount"] or ZERO
    _add_quotas(cells, cell, user, group_by, month_list, team_id, owner_id)
    labels = _labels(group_by, {key for _m, key in cells})
    rows = []
    for c in cells.values():
        c.weighted_by_probability = c.weighted_by_probability.quantize(CENT, ROUND_HALF_UP)
        c.weighted_by_win_rate = c.weighted_by_win_rate.quantize(CENT, ROUND_HALF_UP)
        c.label = labels.get(c.key, "") if c.key is not None else _("Unassigned")
        rows.append(c)
    rows.sort(key=lambda c: (c.month, c.label.lower(), c.key or 0))
    totals = []
    for month in month_list:
        t = ForecastRow(month=month, key=None, label=_("Total"))
        for c in rows:
            if c.month != month:
                continue
            t.open_count += c.open_count
            t.open_amount += c.open_amount
            t.weighted_by_probability += c.weighted_by_probability
            t.weighted_by_win_rate += c.weighted_by_win_rate
            t.won_count += c.won_count
            t.won_amount += c.won_amount
            if c.quota is not None:
                t.quota = (t.quota or ZERO) + c.quota
        totals.append(t)
    return Forecast(group_by=group_by, months=month_list, rows=rows, totals=totals, rates=rates)


def _quota_scope(user) -> Q | None:
    """Whose quotas ``user`` may see: everyone's for those who see all customers; else their
    own and those of the people in their team and in the teams they manage."""
    if sees_all_customers(user):
        return None
    teams = set(managed_team_ids(user))
    if user.team_id:
        teams.add(user.team_id)
    return Q(user_id=user.pk) | Q(user__team_id__in=teams)


def _add_quotas(cells, cell, user, group_by, month_list, team_id, owner_id) -> None:
    """Quotas are per rep; a team's quota is the sum of its members'. Pipelines have none."""
    if group_by == "pipeline":
        return
    quotas = Quota.objects.filter(month__in=month_list)
    scope = _quota_scope(user)
    if scope is not None:
        quotas = quotas.filter(scope)
    if owner_id:
        quotas = quotas.filter(user_id=owner_id)
    if team_id:
        quotas = quotas.filter(user__team_id=team_id)
    key = "user_id" if group_by == "owner" else "user__team_id"
    for q in quotas.values("month", key).annotate(total=Sum("amount")).order_by():
        c = cell(q["month"], q[key])
        c.quota = (c.quota or ZERO) + q["total"]


def _labels(group_by: str, keys: set) -> dict[int, str]:
    keys = {k for k in keys if k is not None}
    if not keys:
        return {}
    if group_by == "owner":
        return {u.pk: str(u) for u in get_user_model().objects.filter(pk__in=keys)}
    model = Team if group_by == "team" else Pipeline
    return dict(model.objects.filter(pk__in=keys).values_list("pk", "name"))


# --- reports ----------------------------------------------------------------------------------


@dataclass
class FunnelStep:
    stage_id: int
    stage_name: str
    entered: int
    advanced: int  # entered the next stage or were won

    @property
    def conversion(self) -> Decimal | None:
        return _pct(self.advanced, self.entered)


@dataclass
class ReportGroup:
    key: str | int | None
    label: str
    funnel: list[FunnelStep]
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    avg_cycle_days: Decimal | None = None  # created → closed, won ones

    @property
    def win_rate(self) -> Decimal | None:
        return _pct(self.won, self.won + self.lost)


@dataclass
class SalesReport:
    pipeline: Pipeline | None
    overall: ReportGroup
    by_source: list[ReportGroup]
    by_owner: list[ReportGroup]


@dataclass
class _Opp:
    pk: int
    source: str
    owner_id: int | None
    status: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    stages: set[int] = field(default_factory=set)


def sales_report(
    *,
    user,
    pipeline_id: int | None = None,
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> SalesReport:
    """Funnel conversion between consecutive open stages (of the opportunities that entered
    stage i, how many entered stage i+1 or were won), win rate (won / closed) and average
    cycle length in days of the won ones, overall, by source and by owner. Reads the
    opportunities ``user`` may see, in one pipeline (the default one when not given)."""
    pipeline = (
        Pipeline.objects.filter(pk=pipeline_id).first()
        if pipeline_id
        else Pipeline.objects.order_by("-is_default", "position", "id").first()
    )
    if pipeline is None:
        empty = ReportGroup(key=None, label=_("All"), funnel=[])
        return SalesReport(pipeline=None, overall=empty, by_source=[], by_owner=[])
    qs = visible_opportunities(user).filter(pipeline=pipeline)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    opps = {
        row[0]: _Opp(*row)
        for row in qs.values_list("pk", "source", "owner_id", "status", "created_at", "closed_at")
    }
    pairs = (
        StageHistory.objects.filter(opportunity__in=qs.values("pk"))
        .values_list("opportunity_id", "stage_id")
        .distinct()
    )
    for opp_id, stage_id in pairs:
        if opp_id in opps:
            opps[opp_id].stages.add(stage_id)
    stages = list(pipeline.stages.filter(is_won=False, is_lost=False).order_by("position", "id"))

    overall = _group(None, _("All"), list(opps.values()), stages)
    by_source: dict[str, list[_Opp]] = defaultdict(list)
    by_owner: dict[int | None, list[_Opp]] = defaultdict(list)
    for o in opps.values():
        by_source[o.source].append(o)
        by_owner[o.owner_id].append(o)
    owners = {
        u.pk: str(u) for u in get_user_model().objects.filter(pk__in=[k for k in by_owner if k])
    }
    source_groups = [
        _group(key, key or _("No source"), items, stages) for key, items in by_source.items()
    ]
    owner_groups = [
        _group(key, owners.get(key, "") if key else _("Unassigned"), items, stages)
        for key, items in by_owner.items()
    ]
    source_groups.sort(key=lambda g: g.label.lower())
    owner_groups.sort(key=lambda g: g.label.lower())
    return SalesReport(
        pipeline=pipeline, overall=overall, by_source=source_groups, by_owner=owner_groups
    )


def _group(key, label: str, items: list[_Opp], stages: list[Stage]) -> ReportGroup:
    funnel = []
    for i, stage in enumerate(stages):
        entered = [o for o in items if stage.pk in o.stages]
        nxt = stages[i + 1].pk if i + 1 < len(stages) else None
        advanced = sum(1 for o in entered if o.status == S.WON or (nxt and nxt in o.stages))
        funnel.append(FunnelStep(stage.pk, stage.display_name, len(entered), advanced))
    won = [o for o in items if o.status == S.WON]
    cycles = [
        Decimal((o.closed_at - o.created_at).total_seconds()) / 86400
        for o in won
        if o.closed_at and o.created_at
    ]
    avg = (
        (sum(cycles, Decimal(0)) / len(cycles)).quantize(TENTH, rounding=ROUND_HALF_UP)
        if cycles
        else None
    )
    return ReportGroup(
        key=key,
        label=label,
        funnel=funnel,
        opportunities=len(items),
        won=len(won),
        lost=sum(1 for o in items if o.status == S.LOST),
        avg_cycle_days=avg,
    )
