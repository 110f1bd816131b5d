"""Preferred channel from interactions (inbound counts more) and orders, with the share."""

from __future__ import annotations

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics import channels
from vinculo.analytics.models import ModelRun
from vinculo.customers.models import Customer


def test_inbound_calls_outweigh_outbound_emails_and_orders_vote_for_their_channel(products):
    caller = customer(name="Caller")
    for d in (5, 10):
        contact(caller, d, channel="phone", direction="in")
    for d in (5, 6, 7, 8):
        contact(caller, d, channel="email", direction="out")
    webshop = customer(name="Web shopper")
    for d in (3, 20, 40):
        buy(webshop, products["Books"], d, channel="portal")  # portal orders count as web
    contact(webshop, 4, channel="phone", direction="out")
    customer(name="Silent")
    refresh()
    df = channels.run_channels()
    c = Customer.objects.get(pk=caller.pk).scores["channel"]
    # Two inbound calls (3 each) against four outbound emails (1 each): phone, 6 / 10.
    assert c["channel"] == "phone" and 0.55 < c["share"] < 0.65
    assert set(c["shares"]) == {"phone", "email"}
    w = Customer.objects.get(pk=webshop.pk).scores["channel"]
    assert w["channel"] == "web" and w["share"] > 0.8
    assert len(df) == 2  # the silent customer has no channel to prefer
    run = ModelRun.objects.get(model="channels")
    assert run.summary["customers_by_channel"] == {"phone": 1, "web": 1}


def test_recent_votes_count_more_than_old_ones(products):
    mover = customer(name="Mover")
    for d in (700, 720, 740):
        buy(mover, products["Books"], d, channel="store")
    for d in (10, 40):
        buy(mover, products["Books"], d, channel="web")
    refresh()
    channels.run_channels()
    assert Customer.objects.get(pk=mover.pk).scores["channel"]["channel"] == "web"
