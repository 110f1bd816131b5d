"""Market basket rules of the CRM's own orders (category and product level) and the cross-sell
lists of the most profitable customers: the run, the scores, the command, the dashboards."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.analytics.segdata import (  # noqa: F401
    buy,
    customer,
    products_fixture,
    refresh,
    warehouse_file_fixture,
)
from tests.customers.factories import CustomerFactory
from vinculo.analytics import cross_sell
from vinculo.analytics.models import ModelRun
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer
from vinculo.sales import catalog


@pytest.fixture
def shop(products, admin):
    """Eight customers buy Garden with Books in one order (two of them also an old book no
    longer sold), Rich buys Garden alone five times (the most profitable, never Books), Poor
    buys Garden once, four buy Tech alone. 18 baskets: Garden in 14, Books in 8, Tech in 4."""
    g, t, b = products["Garden"], products["Tech"], products["Books"]
    old = catalog.create_product(
        actor=admin, sku="OLD", name="Old book", price="10", cost="5", category_id=b.category_id
    )
    for i in range(8):
        buy(customer(name=f"Pair {i}"), [g, b, old] if i < 2 else [g, b], 30 + i)
    rich = customer(name="Rich")
    for i in range(5):
        buy(rich, g, 10 + 20 * i)
    poor = customer(name="Poor")
    buy(poor, g, 40)
    for i in range(4):
        buy(customer(name=f"Tech {i}"), t, 50 + i)
    # Sold no more: it must never be suggested, though its rule holds.
    old.active = False
    old.save(update_fields=["active"])
    refresh()
    return {"rich": rich, "poor": poor, "garden": g, "books": b, "old": old}


def scores_of(c) -> dict | None:
    return Customer.objects.get(pk=c.pk).scores.get("cross_sell")


def test_rules_at_both_levels_and_the_most_profitable_customers_lists(shop):
    result = cross_sell.run_cross_sell(top_share=0.2)
    rules = {
        (r["level"], tuple(r["antecedent"]), r["consequent"]): r for r in result.summary["rules"]
    }
    garden_books = rules[("product", ("Garden",), "Books")]
    assert garden_books["support"] == pytest.approx(8 / 18, abs=1e-4)
    assert garden_books["confidence"] == pytest.approx(8 / 14, abs=1e-4)
    assert garden_books["lift"] == pytest.approx((8 / 14) / (8 / 18), abs=1e-3)
    # Categories: the old book is a Books product, so its baskets count once for Books.
    assert rules[("category", ("Garden",), "Books")]["confidence"] == pytest.approx(8 / 14, 1e-3)
    assert ("category", ("Garden",), "Old book") not in rules
    assert result.metrics["baskets"] == 18

    # 14 buyers with a positive net; the top 20 % are three: Rich (5 x 50) and the two pairs
    # with the old book (61 each), who own every product.
    assert result.metrics["profitable_customers"] == 3
    rich = scores_of(shop["rich"])
    assert rich["label"] == "Books" and rich["because"] == ["Garden"]
    assert rich["confidence"] == pytest.approx(8 / 14, abs=1e-4)
    assert rich["net_contribution"] == 250.0
    assert rich["also"] == []  # the old book is not for sale any more
    assert scores_of(shop["poor"]) is None  # not among the most profitable
    assert result.summary["cross_sell"] == [{"label": "Books", "sku": "BOO", "customers": 1}]
    run = ModelRun.objects.get(model="basket", version=result.version)
    assert run.status == ModelRun.Status.DONE and run.customers_scored == 1


def test_a_new_run_takes_the_list_away_from_who_no_longer_qualifies(shop):
    cross_sell.run_cross_sell(top_share=1.0)
    assert scores_of(shop["poor"])["label"] == "Books"
    other = CustomerFactory(name="Other scores", scores={"churn": {"p": 0.3}})
    cross_sell.run_cross_sell(top_share=0.2)
    assert scores_of(shop["poor"]) is None
    assert scores_of(shop["rich"])["run"] == 2
    assert Customer.objects.get(pk=other.pk).scores == {"churn": {"p": 0.3}}


def test_a_dry_run_records_the_rules_and_writes_no_list(shop):
    result = cross_sell.run_cross_sell(write=False)
    assert result.scores[shop["rich"].pk]["label"] == "Books"
    assert scores_of(shop["rich"]) is None


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"days": 0}, "days"),
        ({"min_support": 0}, "min_support"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"top_share": 0}, "top_share"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(db, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        cross_sell.run_cross_sell(**kwargs)
    assert field in caught.value.field_errors
    assert not ModelRun.objects.filter(model="basket").exists()


def test_command_without_a_file_mines_the_crm_and_with_one_needs_thresholds(shop, tmp_path):
    out = io.StringIO()
    call_command("analytics", "basket", "--top-share", "1", stdout=out)
    report = json.loads(out.getvalue())
    assert report["model"] == "basket" and report["customers_scored"] == 2  # Rich and Poor
    assert report["metrics"]["product"]["rules_by_length"]["2"] >= 2
    lines = tmp_path / "b.txt"
    lines.write_text("a,b\na\n")
    with pytest.raises(CommandError, match="--min-support") as caught:
        call_command("analytics", "basket", "--baskets", str(lines), "--min-confidence", "0.5")
    assert caught.value.returncode == 2


def test_analytics_all_runs_the_basket_model(shop):
    out = io.StringIO()
    # The predictive models need more history than this shop has: they fail, the rest run.
    with contextlib.suppress(CommandError):
        call_command("analytics", "all", "--skip-refresh", stdout=out)
    assert "basket: run 1" in out.getvalue()
    assert scores_of(shop["rich"])["label"] == "Books"


def test_dashboards_show_the_rules_and_the_lists_a_user_may_see(
    shop, client_for, manager, marketer
):
    cross_sell.run_cross_sell(top_share=1.0)
    html = client_for(marketer).get("/analytics/marketing/").content.decode()
    assert "Garden" in html and "Books" in html
    csv_rules = client_for(marketer).get("/analytics/marketing/?format=csv&table=rules")
    assert b"Garden" in csv_rules.content
    everyone = client_for(marketer).get("/analytics/customer-value/?format=csv&table=cross_sell")
    text = everyone.content.decode()
    assert text.index("Rich") < text.index("Poor")  # most profitable first
    # The manager sees team A's customers only; Rich and Poor belong to nobody's team.
    Customer.objects.filter(pk=shop["rich"].pk).update(team=manager.team)
    mine = client_for(manager).get("/analytics/customer-value/?format=csv&table=cross_sell")
    assert "Rich" in mine.content.decode() and "Poor" not in mine.content.decode()
    page = client_for(marketer).get(f"/customers/{shop['rich'].pk}/").content.decode()
    assert "Cross-sell" in page and "Books" in page
