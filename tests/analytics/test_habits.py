"""Habit change: rhythm, basket and channel changes, and the reactivation list."""

from __future__ import annotations

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics import habits
from vinculo.analytics.models import ModelRun
from vinculo.customers.models import Customer


def test_lapsed_basket_and_channel_changers_are_found_with_their_reason(products):
    lapsed = customer(name="Lapsed")  # monthly for a year, then nothing for 300 days
    for d in range(300, 660, 30):
        buy(lapsed, products["Garden"], d)
    switcher = customer(name="Switcher")  # store and Garden, then web and Tech
    for d in range(200, 560, 40):
        buy(switcher, products["Garden"], d, channel="store")
    for d in (10, 50, 90, 130):
        buy(switcher, products["Tech"], d, channel="web")
    steady = customer(name="Steady")
    for d in range(5, 600, 30):
        buy(steady, products["Books"], d)
    refresh()
    result = habits.run_habits()
    reasons = result["reasons"]
    assert [r["kind"] for r in reasons[lapsed.pk]] == ["lapsed"]
    assert reasons[lapsed.pk][0]["text"] == ("Usually buys every 30 days; nothing for 300 days.")
    kinds = {r["kind"] for r in reasons[switcher.pk]}
    assert kinds == {"basket", "channel"}
    texts = " ".join(r["text"] for r in reasons[switcher.pk])
    assert "now mostly Tech, before mostly Garden" in texts and "now web, before store" in texts
    assert reasons[steady.pk] == []
    assert result["reactivation"] == [lapsed.pk]
    saved = Customer.objects.get(pk=lapsed.pk).scores["habits"]
    assert saved["reactivate"] is True and saved["changed"] is True
    assert Customer.objects.get(pk=steady.pk).scores["habits"]["changed"] is False
    run = ModelRun.objects.get(model="habits")
    assert run.summary["reactivation"][0]["name"] == "Lapsed"
    assert run.metrics["by_reason"] == {"lapsed": 1, "basket": 1, "channel": 1}


def test_too_short_a_history_is_not_judged(products):
    once = customer(name="Twice")
    buy(once, products["Books"], 400)
    buy(once, products["Books"], 300)
    refresh()
    assert once.pk not in habits.run_habits()["reasons"]


def test_a_customer_buying_less_often_is_on_the_reactivation_list(products):
    slowing = customer(name="Slowing")
    for d in range(200, 620, 20):  # every 20 days...
        buy(slowing, products["Books"], d)
    for d in (130, 60):  # ...then every 70
        buy(slowing, products["Books"], d)
    refresh()
    result = habits.run_habits()
    assert result["reasons"][slowing.pk] == [
        {"kind": "slower", "text": "Buys less often: every 70 days now, every 20 before."}
    ]
    assert result["reactivation"] == [slowing.pk]
