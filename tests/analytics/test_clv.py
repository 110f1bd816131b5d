"""CLV: BG/NBD + Gamma-Gamma reproduce the published CDNOW estimates; the command fits any
transactions CSV and refuses bad files with the row and column named."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from vinculo.analytics import clv
from vinculo.analytics.transactions import Transactions, read_transactions
from vinculo.core.errors import ValidationError

DATA = Path(__file__).resolve().parent.parent / "data"
CALIBRATION_END = date(1997, 9, 30)


def cdnow_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        customer, _master, day, _cds, amount = line.split()
        rows.append((customer, f"{day[:4]}-{day[4:6]}-{day[6:]}", amount))
    return rows


def write_csv(path: Path, rows, header=("customer_id", "date", "amount")) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv", cdnow_rows())


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_csv) -> clv.Summary:
    return clv.summarise(
        read_transactions(cdnow_csv), period="week", calibration_end=CALIBRATION_END
    )


def test_cdnow_summary_matches_the_published_calibration_data(cdnow_summary):
    s = cdnow_summary
    assert len(s.frequency) == 2357
    assert (s.frequency > 0).sum() == 946
    # Customer 4 (first in the file): x = 2, t_x = 30.43, T = 38.86 in Hardie's data.
    assert (s.customer_id[0], s.frequency[0]) == ("00004", 2)
    assert round(s.recency[0], 2) == 30.43
    assert round(s.T[0], 2) == 38.86


def test_bgnbd_reproduces_the_published_cdnow_estimates(cdnow_summary):
    params = clv.fit_bgnbd(cdnow_summary.frequency, cdnow_summary.recency, cdnow_summary.T)
    assert round(params.r, 3) == 0.243
    assert round(params.alpha, 3) == 4.414
    assert round(params.a, 3) == 0.793
    assert round(params.b, 3) == 2.426
    assert round(params.loglik, 1) == -9582.4


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow_summary):
    params = clv.fit_gamma_gamma(cdnow_summary.frequency, cdnow_summary.monetary)
    assert round(params.p, 2) == 6.25
    assert round(params.q, 2) == 3.74
    assert round(params.gamma, 2) == 15.44


def test_predictions_agree_with_the_lifetimes_package(cdnow_summary):
    lifetimes = pytest.importorskip("lifetimes")
    s = cdnow_summary
    ours = clv.fit_bgnbd(s.frequency, s.recency, s.T)
    ref = lifetimes.BetaGeoFitter().fit(s.frequency, s.recency, s.T)
    ref.params_ = ref.params_.copy()
    ref.params_[:] = [ours.r, ours.alpha, ours.a, ours.b]  # same parameters, compare formulas
    np.testing.assert_allclose(
        clv.p_alive(ours, s.frequency, s.recency, s.T),
        ref.conditional_probability_alive(s.frequency, s.recency, s.T),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        clv.expected_purchases(ours, 39, s.frequency, s.recency, s.T),
        ref.conditional_expected_number_of_purchases_up_to_time(39, s.frequency, s.recency, s.T),
        rtol=1e-6,
    )


def test_a_customer_without_repeat_purchases_is_certainly_alive_and_a_lapsed_one_less_so(
    cdnow_summary,
):
    s = cdnow_summary
    params = clv.fit_bgnbd(s.frequency, s.recency, s.T)
    alive = clv.p_alive(params, [0, 5, 5], [0, 30, 5], [30, 30, 30])
    assert alive[0] == 1.0
    assert alive[1] > 0.85  # bought recently
    assert alive[2] < 0.05  # same purchases, but none in the last 25 weeks


def test_same_day_purchases_count_as_one_transaction_with_their_total_value():
    day = np.datetime64("2025-01-01", "D").astype(np.int64)
    tx = Transactions.from_arrays(
        ["a", "a", "a", "a", "b"],
        [day, day, day + 7, day + 7, day + 14],
        [10.0, 5.0, 20.0, 10.0, 3.0],
    )
    s = clv.summarise(tx, period="day", calibration_end=date(2025, 1, 29))
    assert list(s.customer_id) == ["a", "b"]
    assert list(s.frequency) == [1, 0]
    assert list(s.recency) == [7.0, 0.0]
    assert list(s.T) == [28.0, 14.0]
    assert list(s.monetary) == [30.0, 0.0]  # the repeat day's total, first day excluded


def test_purchases_after_the_calibration_end_are_left_out():
    day = np.datetime64("2025-01-01", "D").astype(np.int64)
    tx = Transactions.from_arrays(["a", "a", "b"], [day, day + 30, day + 40], [1.0, 1.0, 1.0])
    s = clv.summarise(tx, period="day", calibration_end=date(2025, 1, 10))
    assert list(s.customer_id) == ["a"]
    assert list(s.frequency) == [0]
    assert s.excluded_customers == 1


def test_clv_is_discounted_expected_purchases_times_expected_spend(cdnow_csv):
    tx = read_transactions(cdnow_csv)
    flat = clv.run_clv(tx, calibration_end=CALIBRATION_END, horizon=52, discount_rate=0.0)
    np.testing.assert_allclose(flat.clv, flat.expected_purchases * flat.expected_spend)
    discounted = clv.run_clv(tx, calibration_end=CALIBRATION_END, horizon=52, discount_rate=0.1)
    buying = flat.clv > 0
    assert (discounted.clv[buying] < flat.clv[buying]).all()
    assert (discounted.clv[buying] > flat.clv[buying] / 1.1).all()  # within one year


def test_a_period_of_days_gives_the_same_model_in_other_units(cdnow_csv):
    tx = read_transactions(cdnow_csv)
    weeks = clv.run_clv(tx, period="week", calibration_end=CALIBRATION_END)
    days = clv.run_clv(tx, period="day", calibration_end=CALIBRATION_END)
    assert days.bgnbd.alpha == pytest.approx(weeks.bgnbd.alpha * 7, rel=1e-4)
    assert days.bgnbd.r == pytest.approx(weeks.bgnbd.r, rel=1e-4)
    # One year ahead either way: 52 weeks against 365 days, nearly the same purchases.
    np.testing.assert_allclose(days.expected_purchases, weeks.expected_purchases, rtol=0.01)


def test_no_repeat_purchases_cannot_be_fitted_and_says_so():
    day = np.datetime64("2025-01-01", "D").astype(np.int64)
    tx = Transactions.from_arrays(["a", "b"], [day, day + 3], [1.0, 2.0])
    with pytest.raises(ValidationError, match="bought more than once"):
        clv.run_clv(tx)


# --- the command --------------------------------------------------------------------------------


def run_command(*args) -> dict:
    out = io.StringIO()
    call_command("analytics", "clv", *args, stdout=out)
    return json.loads(out.getvalue())


def test_command_fits_the_cdnow_csv_and_writes_one_prediction_per_customer(cdnow_csv, tmp_path):
    out = tmp_path / "predictions.csv"
    report = run_command(
        "--transactions",
        str(cdnow_csv),
        "--calibration-end",
        "1997-09-30",
        "--horizon",
        "39",
        "--predictions-out",
        str(out),
    )
    assert {k: round(v, 3) for k, v in report["bgnbd"].items() if k != "loglik"} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(report["bgnbd"]["loglik"], 1) == -9582.4
    assert round(report["gamma_gamma"]["p"], 2) == 6.25
    assert report["customers"] == 2357
    assert report["fit_seconds"] > 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2357
    assert list(rows[0]) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    first = rows[0]
    assert first["customer_id"] == "00004" and first["frequency"] == "2"
    # Fader, Hardie & Lee (2005): this customer is expected to make 1.226 purchases in the
    # next 39 weeks.
    assert round(float(first["expected_purchases"]), 3) == 1.226
    assert float(first["clv"]) > 0


def test_command_defaults_to_the_last_date_and_one_year(cdnow_csv):
    report = run_command("--transactions", str(cdnow_csv))
    assert report["calibration_end"] == "1998-06-30"
    assert report["customers"] == 2357


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("a", "2025-01-01", "1")], ("customer_id", "date"), "Missing column 'amount'"),
        (
            [("a", "2025-01-01", "1"), ("a", "2025-02-30", "1")],
            None,
            "Row 2 (line 3), column 'date': '2025-02-30' is not a date",
        ),
        (
            [("a", "2025-01-01", "1"), ("b", "2025-01-02", "-4.5")],
            None,
            "Row 2 (line 3), column 'amount': '-4.5' is negative",
        ),
        ([("a", "2025-01-01", "ten")], None, "column 'amount': 'ten' is not a number"),
        (
            [("a", "2025-01-01", "1"), ("b", "2025-01-02", ""), ("c", "2025-01-02", "")],
            None,
            "Row 2 (line 3), column 'amount': '' is not a number (1 more rows like it)",
        ),
        ([("a", "2025-01-01", "nan")], None, "column 'amount': 'nan' is not a number"),
        ([("", "2025-01-01", "1")], None, "Row 1 (line 2), column 'customer_id'"),
        ([], None, "has a header but no rows"),
    ],
)
def test_command_refuses_a_bad_file_naming_row_and_column(tmp_path, rows, header, message):
    path = write_csv(tmp_path / "bad.csv", rows, header or ("customer_id", "date", "amount"))
    out = tmp_path / "predictions.csv"
    with pytest.raises(CommandError) as exc:
        run_command("--transactions", str(path), "--predictions-out", str(out))
    assert message in str(exc.value)
    assert exc.value.returncode == 2
    assert not out.exists()


def test_command_refuses_a_calibration_end_before_any_purchase(cdnow_csv):
    with pytest.raises(CommandError, match="No purchase on or before") as exc:
        run_command("--transactions", str(cdnow_csv), "--calibration-end", "1990-01-01")
    assert exc.value.returncode == 2


@pytest.mark.slow  # starts a new Python process (Django, SciPy, pandas imports)
def test_bad_input_exits_with_code_2_and_no_traceback(tmp_path):
    rows = [("a", "2025-01-01", "1")] * 3 + [("a", "01/02/2025", "1")]
    path = write_csv(tmp_path / "bad.csv", rows)
    proc = subprocess.run(
        [sys.executable, "-m", "vinculo.cli", "analytics", "clv", "--transactions", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "vinculo.settings"},
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Row 4 (line 5), column 'date': '01/02/2025' is not a date" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_repeat_purchases_without_value_cannot_fit_the_spend_model_and_say_so():
    day = np.datetime64("2025-01-01", "D").astype(np.int64)
    tx = Transactions.from_arrays(
        ["a", "a", "b", "b", "c"], [day, day + 5, day, day + 9, day + 2], [0.0] * 5
    )
    with pytest.raises(ValidationError, match="the spend model cannot be fitted"):
        clv.run_clv(tx, period="day")
