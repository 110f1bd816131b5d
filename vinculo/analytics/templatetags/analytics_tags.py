"""Formatting of dashboard table cells (numbers grouped in the user's language)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils.formats import date_format, number_format

from vinculo.core.numbers import localized_percent

register = template.Library()


@register.filter
def cell(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal | float):
        return number_format(value, 2, use_l10n=True, force_grouping=True)
    if isinstance(value, int):
        return number_format(value, 0, use_l10n=True, force_grouping=True)
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return value


@register.filter
def is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@register.filter
def get_item(row: dict, key: str):
    return row.get(key)


@register.filter
def percent(value):
    """A percentage cell (0-100) in the reader's language: "45,2 %" / "45.2%"."""
    if value is None or value == "":
        return "—"
    return localized_percent(value)
