"""Numbers written into text in Python (a KPI, a sentence, a list of reasons) in the reader's
language, the way templates write them: "1.234,5" and "45,2 %" in Spanish, "1,234.5" and
"45.2%" in English. Machine-readable outputs (CSV, JSON) keep the plain number."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language

# Languages whose style puts the percent sign straight after the number; the others (Spanish,
# following the RAE and ISO 80000) separate it by a non-breaking space.
_PERCENT_UNSPACED = {"en"}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def localized_number(value: Any, decimals: int | None = None) -> str:
    """A number grouped and with the decimal mark of the active language; ``decimals`` None
    keeps the digits it has. Anything that is not a number is returned as text unchanged."""
    if not is_number(value):
        return "" if value is None else str(value)
    return number_format(value, decimals, use_l10n=True, force_grouping=True)


def localized_percent(value: Any, decimals: int = 1) -> str:
    """A percentage (already multiplied by 100) in the active language: "45,2 %" / "45.2%"."""
    if not is_number(value):
        return "" if value is None else str(value)
    number = localized_number(value, decimals)
    language = (get_language() or "en")[:2]
    return f"{number}%" if language in _PERCENT_UNSPACED else f"{number}\u00a0%"
