"""Forecast and reports on a small, known dataset with crafted stage histories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.customers.factories import CustomerFactory
from vinculo.sales import pipelines
from vinculo.sales.forecast import forecast, sales_report, stage_win_rates
from vinculo.sales.models import Opportunity, Quota, Stage, StageHistory

UTC = dt.UTC


def at(y, m, d):
    return dt.datetime(y, m, d, 12, tzinfo=UTC)


@pytest.fixture
def dataset(rep, rep_b):
    """Six closed opportunities (3 won, 3 lost; all passed through Qualification, so its
    historical win rate is 50 % instead of 10 %) and three open ones."""
    pipeline = pipelines.ensure_default_pipeline()
    st = {s.name: s for s in Stage.objects.filter(pipeline=pipeline)}
    customer = CustomerFactory()

    def opp(name, owner, source, path, amount, created, closed=None, close_date=None):
        last = st[path[-1]]
        status = "won" if last.is_won else "lost" if last.is_lost else "open"
        o = Opportunity.objects.create(
            name=name,
            customer=customer,
            pipeline=pipeline,
            stage=last,
            status=status,
            owner=owner,
            team=owner.team,
            amount=Decimal(amount),
            source=source,
            closed_at=closed,
            expected_close_date=close_date,
            lost_reason="x" if status == "lost" else "",
        )
        Opportunity.objects.filter(pk=o.pk).update(created_at=created)
        t = created
        for i, name in enumerate(path):
            left = t + dt.timedelta(days=1) if i + 1 < len(path) else None
            StageHistory.objects.create(opportunity=o, stage=st[name], entered_at=t, left_at=left)
            t = left
        return o

    Q, N, P, G = "Qualification", "Needs analysis", "Proposal", "Negotiation"
    opp("W1", rep, "web", [Q, N, P, G, "Won"], "500", at(2026, 2, 1), at(2026, 3, 5))
    opp("W2", rep, "web", [Q, P, "Won"], "700", at(2026, 3, 1), at(2026, 3, 25))
    opp("W3", rep_b, "referral", [Q, N, "Won"], "300", at(2026, 3, 20), at(2026, 4, 2))
    opp("L1", rep, "referral", [Q, "Lost"], "100", at(2026, 1, 1), at(2026, 2, 1))
    opp("L2", rep_b, "web", [Q, N, "Lost"], "100", at(2026, 1, 1), at(2026, 2, 1))
    opp("L3", rep_b, "web", [Q, N, P, "Lost"], "100", at(2026, 1, 1), at(2026, 2, 1))
    opp("O1", rep, "web", [Q], "1000", at(2026, 2, 1), close_date=dt.date(2026, 3, 15))
    opp("O2", rep, "web", [Q, P], "2000", at(2026, 2, 1), close_date=dt.date(2026, 3, 20))
    opp("O3", rep_b, "web", [Q, N, P, G], "4000", at(2026, 2, 1), close_date=dt.date(2026, 4, 10))
    Quota.objects.create(user=rep, month=dt.date(2026, 3, 1), amount=Decimal("2400"))
    Quota.objects.create(user=rep_b, month=dt.date(2026, 4, 1), amount=Decimal("1000"))
    return st


def test_stage_win_rates_fall_back_to_probability_below_five_closed(dataset):
    rates = stage_win_rates(stage_ids=[s.pk for s in dataset.values()])
    q = rates[dataset["Qualification"].pk]
    assert (q.closed, q.won, q.from_history, q.rate) == (6, 3, True, Decimal("0.5"))
    n = rates[dataset["Needs analysis"].pk]
    assert (n.closed, n.won, n.from_history, n.rate) == (4, 2, False, Decimal("0.25"))


def test_forecast_per_rep_with_both_weightings_quota_and_attainment(admin, rep, rep_b, dataset):
    f = forecast(user=admin, start=dt.date(2026, 3, 1), months=2, group_by="owner")
    assert f.months == [dt.date(2026, 3, 1), dt.date(2026, 4, 1)]
    got = [
        (
            r.month,
            r.key,
            r.open_count,
            r.open_amount,
            r.weighted_by_probability,
            r.weighted_by_win_rate,
            r.won_amount,
            r.quota,
            r.attainment,
        )
        for r in f.rows
    ]
    assert got == [
        # O1 1000 in Qualification (10 % / history 50 %) + O2 2000 in Proposal (50 %, too few
        # closed: falls back to 50 %); W1 500 + W2 700 won in March against a 2400 quota.
        (dt.date(2026, 3, 1), rep.pk, 2, Decimal("3000"), Decimal("1100.00"),
         Decimal("1500.00"), Decimal("1200"), Decimal("2400"), Decimal("50.0")),
        # O3 4000 in Negotiation (75 % both ways); W3 300 won in April against 1000.
        (dt.date(2026, 4, 1), rep_b.pk, 1, Decimal("4000"), Decimal("3000.00"),
         Decimal("3000.00"), Decimal("300"), Decimal("1000"), Decimal("30.0")),
    ]  # fmt: skip
    march, april = f.totals
    assert (march.open_amount, march.weighted_by_win_rate, march.won_amount) == (
        Decimal("3000"),
        Decimal("1500.00"),
        Decimal("1200"),
    )
    assert april.quota == Decimal("1000")


def test_forecast_per_team_and_filtered_by_rep(admin, rep, rep_b, dataset):
    f = forecast(user=admin, start=dt.date(2026, 3, 1), months=2, group_by="team")
    assert [(r.month, r.key, r.label, r.open_amount) for r in f.rows] == [
        (dt.date(2026, 3, 1), rep.team_id, "Team A", Decimal("3000")),
        (dt.date(2026, 4, 1), rep_b.team_id, "Team B", Decimal("4000")),
    ]
    only_b = forecast(user=admin, start=dt.date(2026, 3, 1), months=2, owner_id=rep_b.pk)
    assert [r.key for r in only_b.rows] == [rep_b.pk]


def test_forecast_only_counts_visible_opportunities(rep_b, dataset):
    f = forecast(user=rep_b, start=dt.date(2026, 3, 1), months=2)
    assert {r.key for r in f.rows} == {rep_b.pk}


def test_report_funnel_win_rate_and_cycle(admin, rep, rep_b, dataset):
    report = sales_report(user=admin)
    overall = report.overall
    assert [(s.stage_name, s.entered, s.advanced, s.conversion) for s in overall.funnel] == [
        ("Qualification", 9, 6, Decimal("66.7")),
        ("Needs analysis", 5, 4, Decimal("80.0")),
        ("Proposal", 5, 3, Decimal("60.0")),
        ("Negotiation", 2, 1, Decimal("50.0")),
    ]
    assert (overall.won, overall.lost, overall.win_rate) == (3, 3, Decimal("50.0"))
    assert overall.avg_cycle_days == Decimal("23.0")  # 32, 24 and 13 days
    by_source = {g.key: (g.won, g.lost, g.win_rate, g.avg_cycle_days) for g in report.by_source}
    assert by_source == {
        "web": (2, 2, Decimal("50.0"), Decimal("28.0")),
        "referral": (1, 1, Decimal("50.0"), Decimal("13.0")),
    }
    by_owner = {g.key: (g.won, g.lost, g.win_rate, g.avg_cycle_days) for g in report.by_owner}
    assert by_owner == {
        rep.pk: (2, 1, Decimal("66.7"), Decimal("28.0")),
        rep_b.pk: (1, 2, Decimal("33.3"), Decimal("13.0")),
    }
    web = next(g for g in report.by_source if g.key == "web")
    assert [(s.entered, s.advanced) for s in web.funnel] == [(7, 5), (4, 3), (5, 3), (2, 1)]
