"""Purchase sequences: the category → next-category matrix and what customers buy next."""

from __future__ import annotations

import pytest

from tests.analytics.segdata import (  # noqa: F401
    buy,
    contact,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from vinculo.analytics import sequences
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer


def test_transition_probabilities_and_next_purchase(products):
    g, t, b = products["Garden"], products["Tech"], products["Books"]
    for i in range(3):  # Garden then Tech, three times
        c = customer(name=f"G→T {i}")
        buy(c, g, 50)
        buy(c, t, 20)
    d = customer(name="G→B")
    buy(d, g, 50)
    buy(d, b, 20)
    last_garden = customer(name="Now Garden")
    buy(last_garden, b, 90)
    buy(last_garden, g, 10)
    refresh()
    result = sequences.run_sequences()
    tr = result.transitions.set_index(["from_category", "to_category"])
    assert tr.loc[("Garden", "Tech"), "transitions"] == 3
    assert tr.loc[("Garden", "Tech"), "probability"] == pytest.approx(0.75)
    assert tr.loc[("Garden", "Tech"), "support"] == pytest.approx(3 / 5)
    assert tr.loc[("Books", "Garden"), "probability"] == 1.0
    assert result.next_by_category["Garden"][0] == {"category": "Tech", "probability": 0.75}
    nxt = Customer.objects.get(pk=last_garden.pk).scores["next_purchase"]
    assert nxt["last"] == ["Garden"] and nxt["next"][0]["category"] == "Tech"
    run = ModelRun.objects.get(model="sequences")
    top = run.summary["top_transitions"][0]
    assert (top["from"], top["to"], top["transitions"]) == ("Garden", "Tech", 3)
    assert run.metrics["transitions"] == 5


def test_no_repeat_purchases_is_a_clear_refusal(products):
    buy(customer(name="Once"), products["Books"], 3)
    refresh()
    with pytest.raises(ValidationError, match="No repeat purchases"):
        sequences.run_sequences()
