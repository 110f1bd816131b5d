"""The segmentation models' subcommands of ``vinculo analytics`` (wired in from the command
with two lines, so the command file stays its owner's):

    vinculo analytics rfm | clusters | channels [--dry-run]
    vinculo analytics profitability [--cost-per-case N] [--dry-run]
    vinculo analytics habits [--recent-days N] [--min-history N] [--dry-run]
    vinculo analytics sequences [--level 1|2] [--min-support S] [--dry-run]
    vinculo analytics adoption [--weeks N] [--months N]
    vinculo analytics all [--full] [--skip-refresh] [--dry-run]

Each model reads the warehouse (refresh it first, or use ``all``), records a run and prints
it as one JSON object; ``all`` refreshes the warehouse, then runs every model in order with
a progress line each, and goes on past a model that fails (its run is kept as failed), ending
with exit code 1 if any did. Bad options stop with exit code 2 and nothing run."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from vinculo.core.errors import DomainError

BAD_INPUT = 2
ORDER = ("rfm", "clusters", "profitability", "channels", "habits", "sequences", "adoption")
MODELS = (*ORDER, "all")
# The predictive models (their own subcommands live in cli_predict) also run in ``all`` and
# in the nightly task, with their defaults, after the segmentation models.
PREDICTIVE = ("churn", "propensity", "forecast", "clv")
# Market basket rules and cross-sell lists of the CRM's orders: a subcommand of the command
# itself (which also mines files), run in ``all`` after profitability's inputs are there.
EVERY = (*ORDER, "basket", *PREDICTIVE)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number ≥ 1.") % {"value": value}
        )
    return n


def _fraction(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a number in (0, 1].") % {"value": value}
        )
    return x


def _money(value: str) -> float:
    try:
        x = float(value)
    except ValueError:
        x = -1.0
    if not 0 <= x < 1e9:
        raise argparse.ArgumentTypeError(_("%(value)r is not an amount ≥ 0.") % {"value": value})
    return x


def add_parsers(sub) -> None:
    """Add the model subcommands to the ``analytics`` command's subparsers."""
    dry = {"action": "store_true", "help": _("compute and record the run, write no scores")}
    helps = {
        "rfm": _("RFM quintile scores and segments"),
        "clusters": _("customer clusters (KMeans, k by silhouette) described in words"),
        "profitability": _("net contribution per customer and segment"),
        "channels": _("preferred channel per customer"),
        "habits": _("habit changes and the reactivation list"),
        "sequences": _("what customers buy next (category transitions)"),
        "adoption": _("CRM adoption and impact per user and team"),
        "all": _("refresh the warehouse, then run every model"),
    }
    p = {name: sub.add_parser(name, help=helps[name]) for name in MODELS}
    for name in ("rfm", "clusters", "profitability", "channels", "habits", "sequences", "all"):
        p[name].add_argument("--dry-run", **dry)
    p["profitability"].add_argument("--cost-per-case", type=_money, default=25.0)
    p["habits"].add_argument("--recent-days", type=_positive, default=180)
    p["habits"].add_argument("--min-history", type=_positive, default=3)
    p["sequences"].add_argument("--level", type=int, choices=(1, 2), default=1)
    p["sequences"].add_argument("--min-support", type=_fraction, default=0.01)
    p["adoption"].add_argument("--weeks", type=_positive, default=12)
    p["adoption"].add_argument("--months", type=_positive, default=12)
    p["all"].add_argument("--full", action="store_true", help=_("rebuild the warehouse"))
    p["all"].add_argument("--skip-refresh", action="store_true", help=_("use it as it is"))


def runner(model: str, options: dict) -> Callable[[], object]:
    """The service call for one model with the command's options (defaults for ``all``)."""
    from vinculo.analytics import (
        adoption,
        channels,
        churn,
        clusters,
        clv_crm,
        cross_sell,
        forecast,
        habits,
        profitability,
        propensity,
        rfm,
        sequences,
    )

    write = not options.get("dry_run", False)
    calls = {
        "rfm": lambda: rfm.run_rfm(write=write),
        "clusters": lambda: clusters.run_clusters(write=write),
        "profitability": lambda: profitability.run_profitability(
            cost_per_case=options.get("cost_per_case", 25.0), write=write
        ),
        "channels": lambda: channels.run_channels(write=write),
        "habits": lambda: habits.run_habits(
            params={
                "recent_days": options.get("recent_days", 180),
                "min_history": options.get("min_history", 3),
            },
            write=write,
        ),
        "sequences": lambda: sequences.run_sequences(
            level=options.get("level", 1),
            min_support=options.get("min_support", 0.01),
            write=write,
        ),
        "adoption": lambda: adoption.run_adoption(
            weeks=options.get("weeks", 12), months=options.get("months", 12)
        ),
        "basket": lambda: cross_sell.run_cross_sell(
            **{
                k: options[k]
                for k in ("days", "min_support", "min_confidence", "top_share", "max_length")
                if options.get(k) is not None
            },
            write=write,
        ),
        "churn": lambda: churn.run_churn(write=write),
        "propensity": lambda: propensity.run_propensity(write=write),
        "forecast": lambda: forecast.run_forecast(),
        "clv": lambda: clv_crm.run_clv_crm(write=write),
    }
    return calls[model]


def run_report(model: str) -> dict:
    """The newest successful run of ``model`` as the JSON the command prints."""
    from vinculo.analytics.runs import latest_run

    run = latest_run(model)
    assert run is not None
    return {
        "model": model,
        "version": run.version,
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "customers_scored": run.customers_scored,
        "metrics": run.metrics,
        "summary": run.summary,
    }


def handle(model: str, options: dict, stdout) -> None:
    """Run one model (or ``all``) and print the result; domain errors become exit code 2."""
    if model == "all":
        return _all(options, stdout)
    try:
        runner(model, options)()
    except DomainError as exc:
        raise CommandError(exc.message, returncode=BAD_INPUT) from exc
    stdout.write(json.dumps(run_report(model), ensure_ascii=False, default=str))


def _all(options: dict, stdout) -> None:
    from vinculo.analytics import warehouse

    steps = len(EVERY) + (0 if options.get("skip_refresh") else 1)
    n = 0
    if not options.get("skip_refresh"):
        n += 1
        started = time.monotonic()
        try:
            result = warehouse.refresh(full=options.get("full", False))
        except DomainError as exc:
            raise CommandError(exc.message, returncode=BAD_INPUT) from exc
        stdout.write(
            _("[%(n)d/%(steps)d] warehouse: %(mode)s refresh, %(rows)d rows in %(s).1fs")
            % {
                "n": n,
                "steps": steps,
                "mode": result.mode,
                "rows": result.extracted,
                "s": time.monotonic() - started,
            }
        )
    failed = []
    for model in EVERY:
        n += 1
        started = time.monotonic()
        try:
            runner(model, options)()
        except Exception as exc:  # one model failing must not stop the others
            failed.append(model)
            message = exc.message if isinstance(exc, DomainError) else repr(exc)
            stdout.write(
                _("[%(n)d/%(steps)d] %(model)s: failed: %(error)s")
                % {"n": n, "steps": steps, "model": model, "error": message}
            )
            continue
        report = run_report(model)
        stdout.write(
            _(
                "[%(n)d/%(steps)d] %(model)s: run %(version)d, "
                "%(customers)d customers scored, %(s).1fs"
            )
            % {
                "n": n,
                "steps": steps,
                "model": model,
                "version": report["version"],
                "customers": report["customers_scored"],
                "s": time.monotonic() - started,
            }
        )
    if failed:
        raise CommandError(_("Models that failed: %(models)s") % {"models": ", ".join(failed)})
