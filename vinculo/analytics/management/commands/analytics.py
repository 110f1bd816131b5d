"""vinculo analytics clv|basket: fit a model on a file and print one JSON summary.

    vinculo analytics clv --transactions FILE.csv [--period week|day] [--calibration-end DATE]
        [--horizon N] [--discount-rate R] [--predictions-out FILE.csv]
    vinculo analytics basket (--baskets FILE | --transactions FILE.csv) --min-support S
        --min-confidence C [--max-length K] [--rules-out FILE.csv]

Bad input stops with a message naming the row and column, exit code 2 and nothing written.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from vinculo.analytics import basket, cli_models, cli_predict, clv, transactions
from vinculo.core.errors import DomainError

BAD_INPUT = 2
PREDICTION_COLUMNS = (
    *("customer_id", "frequency", "recency", "T", "p_alive"),
    *("expected_purchases", "expected_spend", "clv"),
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            _("--calibration-end %(value)r is not a date (YYYY-MM-DD).") % {"value": value},
            returncode=BAD_INPUT,
        ) from exc


class Command(BaseCommand):
    help = _("Fit an analytics model (CLV or market basket rules) on a file.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="model", required=True)
        c = sub.add_parser("clv", help=_("BG/NBD + Gamma-Gamma customer lifetime value"))
        c.add_argument("--transactions", required=True, help=_("CSV: customer_id,date,amount"))
        c.add_argument("--period", choices=sorted(clv.DAYS_PER_PERIOD), default="week")
        c.add_argument("--calibration-end", help=_("last date used to fit (default: last date)"))
        c.add_argument("--horizon", type=int, help=_("periods to predict (default: one year)"))
        c.add_argument(
            "--discount-rate", type=float, default=0.10, help=_("yearly rate (default 0.10)")
        )
        c.add_argument("--predictions-out", help=_("CSV with one row per customer"))
        b = sub.add_parser(
            "basket",
            help=_(
                "frequent itemsets and association rules: of a file, or of the CRM's orders "
                "with cross-sell lists for the most profitable customers"
            ),
        )
        source = b.add_mutually_exclusive_group()
        source.add_argument("--baskets", help=_("one basket a line, items separated by commas"))
        source.add_argument("--transactions", help=_("CSV: basket_id,item"))
        b.add_argument("--min-support", type=float, help=_("required with a file"))
        b.add_argument("--min-confidence", type=float, help=_("required with a file"))
        b.add_argument("--max-length", type=int, help=_("largest itemset (10; CRM orders: 3)"))
        b.add_argument("--rules-out", help=_("CSV of the rules"))
        b.add_argument("--days", type=int, help=_("CRM orders: of the last N days (730)"))
        b.add_argument(
            "--top-share",
            type=float,
            help=_("CRM orders: share of buyers, most profitable first, given lists (0.2)"),
        )
        b.add_argument("--dry-run", action="store_true", help=_("CRM orders: write no scores"))
        cli_models.add_parsers(sub)  # rfm, clusters, ... all: the warehouse models
        cli_predict.add_parsers(sub)  # churn, propensity, forecast, clv-crm

    def handle(self, *args, **opts):
        if opts["model"] in cli_models.MODELS:
            return cli_models.handle(opts["model"], opts, self.stdout)
        if opts["model"] in cli_predict.MODELS:
            return cli_predict.handle(opts["model"], opts, self.stdout)
        try:
            report = self._clv(opts) if opts["model"] == "clv" else self._basket(opts)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=BAD_INPUT) from exc
        except OSError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        self.stdout.write(json.dumps(report))

    def _clv(self, opts) -> dict:
        end = _date(opts["calibration_end"]) if opts["calibration_end"] else None
        data = transactions.read_transactions(opts["transactions"])
        result = clv.run_clv(
            data,
            period=opts["period"],
            calibration_end=end,
            horizon=opts["horizon"],
            discount_rate=opts["discount_rate"],
        )
        report = result.report()
        if opts["predictions_out"]:
            self._write_predictions(Path(opts["predictions_out"]), result)
            report["predictions_out"] = opts["predictions_out"]
        return report

    def _write_predictions(self, path: Path, result: clv.CLVResult) -> None:
        s = result.summary
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(PREDICTION_COLUMNS)
            columns = zip(
                s.customer_id,
                s.frequency,
                np.round(s.recency, 6),
                np.round(s.T, 6),
                np.round(result.p_alive, 6),
                np.round(result.expected_purchases, 6),
                np.round(result.expected_spend, 4),
                np.round(result.clv, 4),
                strict=True,
            )
            writer.writerows(columns)

    def _basket(self, opts) -> dict:
        if not (opts["baskets"] or opts["transactions"]):
            return self._crm_basket(opts)
        for name in ("min_support", "min_confidence"):
            if opts[name] is None:
                raise CommandError(
                    _("--%(option)s is required with --baskets or --transactions.")
                    % {"option": name.replace("_", "-")},
                    returncode=BAD_INPUT,
                )
        if opts["baskets"]:
            baskets = transactions.read_basket_lines(opts["baskets"])
        else:
            baskets = transactions.read_basket_rows(opts["transactions"])
        result = basket.mine_rules(
            baskets,
            min_support=opts["min_support"],
            min_confidence=opts["min_confidence"],
            max_length=opts["max_length"] or 10,
        )
        report = result.report()
        if opts["rules_out"]:
            basket.write_rules(result, Path(opts["rules_out"]))
            report["rules_out"] = opts["rules_out"]
        return report

    def _crm_basket(self, opts) -> dict:
        """The rules of the CRM's orders (warehouse) and the cross-sell lists: one run."""
        if opts["rules_out"]:
            raise CommandError(
                _(
                    "--rules-out goes with --baskets or --transactions; the CRM's rules are kept "
                    "with the run (marketing dashboard)."
                ),
                returncode=BAD_INPUT,
            )
        cli_models.runner("basket", opts)()
        return cli_models.run_report("basket")
