"""Market basket rules reproduce arules on Groceries and brute force on random baskets; the
command reads either file format and refuses bad input naming the row."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from vinculo.analytics import basket
from vinculo.analytics.transactions import read_basket_lines

GROCERIES = Path(__file__).resolve().parent.parent / "data" / "groceries.csv"


@pytest.fixture(scope="module")
def groceries():
    return read_basket_lines(GROCERIES)


def test_groceries_gives_arules_5668_rules_at_confidence_one_half(groceries):
    result = basket.mine_rules(groceries, min_support=0.001, min_confidence=0.5)
    report = result.report()
    assert report["baskets"] == 9835
    assert report["items"] == 169
    assert report["rules"] == 5668
    # arules: summary(rules) "rule length distribution (lhs + rhs)".
    assert report["rules_by_length"] == {"2": 11, "3": 1461, "4": 3211, "5": 939, "6": 46}


def test_groceries_gives_arules_410_rules_at_confidence_eight_tenths(groceries):
    result = basket.mine_rules(groceries, min_support=0.001, min_confidence=0.8)
    assert result.report()["rules"] == 410


def test_the_strongest_groceries_rule_has_arules_support_confidence_and_lift(groceries):
    result = basket.mine_rules(groceries, min_support=0.001, min_confidence=0.8)
    antecedent, consequent, support, confidence, lift = next(result.rule_rows())
    assert (set(antecedent), consequent) == ({"liquor", "red/blush wine"}, "bottled beer")
    assert round(support, 6) == 0.001932
    assert round(confidence, 4) == 0.9048
    assert round(lift, 2) == 11.24


def brute_force(baskets, min_count, max_length):
    sets = [frozenset(b) for b in baskets]
    items = sorted(set().union(*sets))
    found = {}
    for k in range(1, max_length + 1):
        for combo in itertools.combinations(items, k):
            count = sum(1 for s in sets if s.issuperset(combo))
            if count >= min_count:
                found[frozenset(combo)] = count
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_itemsets_and_rules_equal_brute_force_on_random_baskets(seed):
    rng = random.Random(seed)
    items = [f"item{i}" for i in range(12)]
    weights = [rng.random() for _ in items]
    baskets = [
        list(dict.fromkeys(rng.choices(items, weights, k=rng.randint(1, 7)))) for _ in range(150)
    ]
    expected = brute_force(baskets, min_count=8, max_length=4)
    result = basket.mine_rules(baskets, min_support=8 / 150, min_confidence=0.6, max_length=4)
    got = {
        frozenset(result.items[i] for i in row): int(count)
        for level in result.levels
        for row, count in zip(level.items, level.counts, strict=True)
    }
    assert got == expected
    expected_rules = {
        (s - {c}, c)
        for s, count in expected.items()
        if len(s) > 1
        for c in s
        if count / expected[s - {c}] >= 0.6
    }
    got_rules = {(frozenset(a), c) for a, c, *_ in result.rule_rows()}
    assert got_rules == expected_rules


def test_max_length_bounds_the_itemsets(groceries):
    result = basket.mine_rules(groceries, min_support=0.001, min_confidence=0.5, max_length=3)
    assert result.report()["itemsets_by_length"] == {"1": 157, "2": 2981, "3": 6831}
    assert max(len(a) for a in result.rules.antecedents) == 2


def test_a_rule_at_exactly_the_confidence_threshold_is_kept():
    # {a} -> b has confidence 4/5 = 0.8 exactly; floating point must not drop it.
    baskets = [["a", "b"]] * 4 + [["a"]] + [["c"]] * 5
    at = basket.mine_rules(baskets, min_support=0.1, min_confidence=0.8)
    above = basket.mine_rules(baskets, min_support=0.1, min_confidence=0.81)
    assert {(a, c) for a, c, *_ in at.rule_rows()} == {(("a",), "b"), (("b",), "a")}
    assert {(a, c) for a, c, *_ in above.rule_rows()} == {(("b",), "a")}


def test_no_frequent_item_gives_an_empty_result():
    result = basket.mine_rules([["a"], ["b"]], min_support=0.9, min_confidence=0.1)
    assert result.report()["itemsets"] == 0
    assert result.report()["rules"] == 0


# --- the command --------------------------------------------------------------------------------


def run_command(*args) -> dict:
    out = io.StringIO()
    call_command("analytics", "basket", *args, stdout=out)
    return json.loads(out.getvalue())


def test_command_mines_groceries_and_writes_the_rules(tmp_path):
    out = tmp_path / "rules.csv"
    report = run_command(
        "--baskets",
        str(GROCERIES),
        "--min-support",
        "0.001",
        "--min-confidence",
        "0.8",
        "--rules-out",
        str(out),
    )
    assert report["rules"] == 410
    assert report["itemsets_by_length"]["6"] == 10
    assert report["fit_seconds"] > 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 410
    assert rows[0] == {
        "antecedent": "liquor | red/blush wine",
        "consequent": "bottled beer",
        "support": "0.00193188",
        "confidence": "0.904762",
        "lift": "11.2353",
    }


def test_transactions_rows_give_the_same_rules_as_basket_lines(tmp_path, groceries):
    path = tmp_path / "rows.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["basket_id", "item"])
        for n, items in enumerate(groceries):
            writer.writerows((f"t{n}", item) for item in items)
    report = run_command(
        "--transactions", str(path), "--min-support", "0.001", "--min-confidence", "0.5"
    )
    assert report["rules"] == 5668


def test_rules_file_neutralises_spreadsheet_formulas(tmp_path):
    lines = tmp_path / "baskets.txt"
    lines.write_text("=HYPERLINK(1),milk\n=HYPERLINK(1),milk\nbread\n")
    out = tmp_path / "rules.csv"
    run_command(
        "--baskets",
        str(lines),
        "--min-support",
        "0.5",
        "--min-confidence",
        "0.5",
        "--rules-out",
        str(out),
    )
    cells = [row["antecedent"] for row in csv.DictReader(out.open())]
    assert "'=HYPERLINK(1)" in cells
    assert "=HYPERLINK(1)" not in cells


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("basket,item\n1,milk\n", (), "Missing column 'basket_id'"),
        ("basket_id,item\n1,milk\n1,\n", (), "Row 2 (line 3), column 'item'"),
        ("basket_id,item\n1,milk\n", ("--min-support", "1.5"), "minimum support"),
        ("basket_id,item\n1,milk\n", ("--min-confidence", "-1"), "minimum confidence"),
    ],
)
def test_command_refuses_bad_input_with_exit_code_2(tmp_path, content, args, message):
    path = tmp_path / "rows.csv"
    path.write_text(content)
    out = tmp_path / "rules.csv"
    defaults = {"--min-support": "0.1", "--min-confidence": "0.5"}
    defaults.update(dict(zip(args[::2], args[1::2], strict=True)))
    options = [x for pair in defaults.items() for x in pair]
    with pytest.raises(CommandError) as exc:
        run_command("--transactions", str(path), *options, "--rules-out", str(out))
    assert message in str(exc.value)
    assert exc.value.returncode == 2
    assert not out.exists()


def test_command_refuses_an_empty_baskets_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n")
    with pytest.raises(CommandError, match="has no baskets"):
        run_command("--baskets", str(path), "--min-support", "0.1", "--min-confidence", "0.5")
