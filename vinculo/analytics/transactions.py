"""Reading the analytics models' input files, with errors that name the row and column.

A bad file is refused as a whole (nothing is fitted on part of it): the first bad row of each
kind is reported, with how many more rows share the problem.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from vinculo.core.errors import ValidationError

TRANSACTION_COLUMNS = ("customer_id", "date", "amount")


@dataclass(frozen=True)
class Transactions:
    """Purchases as aligned arrays; ``customer_code`` indexes ``customer_ids``."""

    customer_ids: np.ndarray
    customer_code: np.ndarray
    day: np.ndarray  # days since 1970-01-01
    amount: np.ndarray

    @classmethod
    def from_arrays(cls, customer_id, day, amount) -> Transactions:
        codes, uniques = pd.factorize(np.asarray(customer_id), sort=False)
        return cls(
            customer_ids=np.asarray(uniques),
            customer_code=codes.astype(np.int64),
            day=np.asarray(day, dtype=np.int64),
            amount=np.asarray(amount, dtype=float),
        )


def _read_csv(path: Path, required: tuple[str, ...], numeric: str = "") -> pd.DataFrame:
    """The file with every column as text; or, if ``numeric`` is given and that column parses
    as numbers everywhere, that column as floats (C speed; the caller checks the text of a file
    where it does not parse, to name the bad row)."""
    if not path.is_file():
        raise ValidationError.for_field("file", _("No file %(path)s.") % {"path": path})
    options = {"keep_default_na": False, "skipinitialspace": True, "encoding": "utf-8-sig"}
    if numeric:
        try:
            header = pd.read_csv(path, nrows=0, **options).columns
            dtypes = {c: float if str(c).strip().lower() == numeric else str for c in header}
            return _read_csv_checked(path, required, pd.read_csv(path, dtype=dtypes, **options))
        except (ValueError, TypeError, OverflowError, csv.Error):
            pass  # read again as text below, which reports the problem precisely
    try:
        frame = pd.read_csv(path, dtype=str, **options)
    except pd.errors.EmptyDataError as exc:
        raise ValidationError.for_field("file", _("%(path)s is empty.") % {"path": path}) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError.for_field(
            "file",
            _("%(path)s is not a readable CSV file: %(error)s") % {"path": path, "error": exc},
        ) from exc
    return _read_csv_checked(path, required, frame)


def _read_csv_checked(path: Path, required: tuple[str, ...], frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError.for_field(
            missing[0],
            _("Missing column %(missing)s in %(file)s (found: %(found)s; needed: %(needed)s).")
            % {
                "missing": ", ".join(repr(c) for c in missing),
                "file": path.name,
                "found": ", ".join(frame.columns),
                "needed": ", ".join(required),
            },
        )
    if frame.empty:
        raise ValidationError.for_field(
            "file", _("%(file)s has a header but no rows.") % {"file": path.name}
        )
    return frame


def _refuse(column: str, bad: np.ndarray, values: pd.Series, problem: str) -> None:
    """Raise naming the first bad row (numbered from 1 after the header, i.e. file line - 1)."""
    rows = np.flatnonzero(bad)
    if len(rows) == 0:
        return
    first = int(rows[0])
    more = _(" (%(count)d more rows like it)") % {"count": len(rows) - 1} if len(rows) > 1 else ""
    raise ValidationError.for_field(
        column,
        _(
            "Row %(row)d (line %(line)d), column %(column)s: %(value)s %(problem)s%(more)s. "
            "Nothing was fitted."
        )
        % {
            "row": first + 1,
            "line": first + 2,
            "column": repr(column),
            "value": repr(str(values.iloc[first])),
            "problem": problem,
            "more": more,
        },
    )


def read_transactions(path: str | Path) -> Transactions:
    """Read a CSV with columns customer_id, date (YYYY-MM-DD) and amount (>= 0)."""
    frame = _read_csv(Path(path), TRANSACTION_COLUMNS, numeric="amount")
    customer = frame["customer_id"].str.strip()
    _refuse("customer_id", (customer == "").to_numpy(), customer, _("is empty"))
    raw_date = frame["date"].str.strip()
    dates = pd.to_datetime(raw_date, format="ISO8601", errors="coerce")
    _refuse("date", dates.isna().to_numpy(), raw_date, _("is not a date (YYYY-MM-DD)"))
    if pd.api.types.is_numeric_dtype(frame["amount"]):
        raw_amount = amount = frame["amount"]
    else:  # read as text: some value is not a number
        raw_amount = frame["amount"].str.strip()
        amount = pd.to_numeric(raw_amount, errors="coerce")
    _refuse(
        "amount",
        (amount.isna() | ~np.isfinite(amount)).to_numpy(),
        raw_amount,
        _("is not a number"),
    )
    _refuse("amount", (amount < 0).to_numpy(), raw_amount, _("is negative"))
    day = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    return Transactions.from_arrays(
        customer.to_numpy(),
        day.to_numpy().astype("datetime64[D]").astype(np.int64),
        amount.to_numpy(dtype=float),
    )


def read_basket_lines(path: str | Path) -> list[list[str]]:
    """One basket per line, items separated by commas (surrounding spaces are not part of an
    item; an item repeated in a basket counts once). Blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError.for_field("file", _("No file %(path)s.") % {"path": path})
    baskets = []
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line in handle:
                items = [item.strip() for item in line.split(",")]
                items = list(dict.fromkeys(i for i in items if i))
                if items:
                    baskets.append(items)
    except UnicodeDecodeError as exc:
        raise ValidationError.for_field(
            "file", _("%(path)s is not UTF-8 text: %(error)s") % {"path": path, "error": exc}
        ) from exc
    if not baskets:
        raise ValidationError.for_field("file", _("%(file)s has no baskets.") % {"file": path.name})
    return baskets


def read_basket_rows(path: str | Path) -> list[list[str]]:
    """A CSV with columns basket_id and item, one row per item bought; baskets keep the order
    in which their id first appears."""
    frame = _read_csv(Path(path), ("basket_id", "item"))
    basket = frame["basket_id"].str.strip()
    item = frame["item"].str.strip()
    _refuse("basket_id", (basket == "").to_numpy(), basket, _("is empty"))
    _refuse("item", (item == "").to_numpy(), item, _("is empty"))
    grouped: dict[str, dict[str, None]] = {}
    for b, i in zip(basket.to_numpy(), item.to_numpy(), strict=True):
        grouped.setdefault(b, {})[i] = None
    return [list(items) for items in grouped.values()]
