"""CRM adoption: interactions per week, data completeness, response time, margin trend."""

from __future__ import annotations

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics import adoption
from vinculo.analytics.models import ModelRun


def test_adoption_report_per_user_and_team(rep, rep_b, products):
    full = customer(
        name="Complete",
        owner=rep,
        email="a@example.com",
        phone="+34600000001",
        city="Madrid",
        attributes={"size": "L"},
    )
    bare = customer(name="Bare", owner=rep, email="", phone="", city="")
    other = customer(name="Other", owner=rep_b, email="b@example.com", phone="", city="Lugo")
    for d in range(0, 12):  # 12 interactions over the last 12 weeks by the rep
        contact(full, 7 * d + 1, user=rep)
    contact(bare, 3, channel="email", direction="in", hour=9)  # answered 2 h later
    contact(bare, 3, channel="email", direction="out", user=rep, hour=11)
    contact(other, 2, channel="email", direction="in", hour=9)  # never answered
    buy(full, products["Garden"], 200).__class__.objects.filter(customer=full).update(owner=rep)
    buy(full, products["Garden"], 20, qty=3).__class__.objects.filter(customer=full).update(
        owner=rep
    )
    refresh()
    report = adoption.run_adoption()
    users = {u["user"]: u for u in report["users"]}
    r = users[rep.pk]
    assert r["interactions_per_week"] == round(13 / 12, 3)  # 12 calls and the reply
    assert r["customers"] == 2 and r["share_email"] == 0.5 and r["share_custom_fields"] == 0.5
    assert r["completeness"] == 0.5
    assert r["median_response_hours"] == 2.0 and r["unanswered"] == 0
    assert r["margin_trend_per_month"] > 0 and sum(r["margin_by_month"]) == 200.0
    b = users[rep_b.pk]
    assert b["unanswered"] == 1 and b["median_response_hours"] is None
    assert b["share_city"] == 1.0 and b["share_phone"] == 0.0
    teams = {t["team"]: t for t in report["teams"]}
    assert teams[rep.team.name]["customers"] == 2
    run = ModelRun.objects.get(model="adoption")
    assert run.metrics["active_users"] == 1 and run.summary["users"]
