"""The predictive models' subcommands of ``vinculo analytics`` (wired in from the command with
two lines, like ``cli_models``):

    vinculo analytics churn [--as-of DATE] [--horizon DAYS] [--active-days DAYS] [--dry-run]
    vinculo analytics propensity [--as-of DATE] [--horizon DAYS] [--active-days DAYS]
        [--recent-days DAYS] [--dry-run]
    vinculo analytics forecast [--as-of DATE] [--months N]
    vinculo analytics clv-crm [--as-of DATE] [--years N] [--discount-rate R] [--dry-run]

Each reads the warehouse (refresh it first: ``vinculo warehouse refresh``), records a run and
prints it as one JSON object. Bad options or data stop with exit code 2 and no score written
(a run that started is kept as failed, with its error)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from vinculo.analytics.cli_models import run_report
from vinculo.core.errors import DomainError

BAD_INPUT = 2
# Subcommand -> the name its runs are recorded under.
MODELS = {"churn": "churn", "propensity": "propensity", "forecast": "forecast", "clv-crm": "clv"}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a date (YYYY-MM-DD).") % {"value": value}
        ) from None


def _days(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number.") % {"value": value}
        ) from None


def _rate(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a number.") % {"value": value}
        ) from None


def add_parsers(sub) -> None:
    """Add churn, propensity, forecast and clv-crm to the ``analytics`` command."""
    helps = {
        "churn": _("churn (at-risk) probability with reasons per active customer"),
        "propensity": _("purchase propensity per category and next-best-offer"),
        "forecast": _("monthly revenue forecast with 80% and 95% intervals"),
        "clv-crm": _("customer lifetime value on the CRM's own orders"),
    }
    as_of = {"type": _date, "help": _("the day to score as of (default: today)")}
    dry = {"action": "store_true", "help": _("compute and record the run, write no scores")}
    p = {name: sub.add_parser(name, help=helps[name]) for name in MODELS}
    for name in MODELS:
        p[name].add_argument("--as-of", **as_of)
    for name in ("churn", "propensity"):
        p[name].add_argument("--horizon", type=_days, default=90, help=_("days ahead (90)"))
        p[name].add_argument(
            "--active-days", type=_days, default=365, help=_("bought within these days (365)")
        )
    p["propensity"].add_argument(
        "--recent-days", type=_days, default=30, help=_("never offer what was bought within (30)")
    )
    p["forecast"].add_argument("--months", type=_days, default=6, help=_("months ahead (6)"))
    p["clv-crm"].add_argument("--years", type=_days, default=1, help=_("CLV horizon (1)"))
    p["clv-crm"].add_argument(
        "--discount-rate", type=_rate, default=0.10, help=_("yearly rate (0.10)")
    )
    for name in ("churn", "propensity", "clv-crm"):
        p[name].add_argument("--dry-run", **dry)


def _run(model: str, o: dict) -> None:
    from vinculo.analytics import churn, clv_crm, forecast, propensity

    write = not o.get("dry_run", False)
    if model == "churn":
        churn.run_churn(
            as_of=o["as_of"], horizon=o["horizon"], active_days=o["active_days"], write=write
        )
    elif model == "propensity":
        propensity.run_propensity(
            as_of=o["as_of"],
            horizon=o["horizon"],
            active_days=o["active_days"],
            recent_days=o["recent_days"],
            write=write,
        )
    elif model == "forecast":
        forecast.run_forecast(as_of=o["as_of"], horizon=o["months"])
    else:
        clv_crm.run_clv_crm(
            as_of=o["as_of"], years=o["years"], discount_rate=o["discount_rate"], write=write
        )


def handle(model: str, options: dict, stdout) -> None:
    """Run one predictive model and print its run; domain errors become exit code 2."""
    try:
        _run(model, options)
    except DomainError as exc:
        raise CommandError(exc.message, returncode=BAD_INPUT) from exc
    stdout.write(json.dumps(run_report(MODELS[model]), ensure_ascii=False, default=str))
