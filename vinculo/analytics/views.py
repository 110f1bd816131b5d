"""Analytics dashboards. Thin: check ``analytics.view``, call one selector, build the figures,
render; ``?format=csv&table=<slug>`` on the same URL exports one of the page's tables with
the same filters."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vinculo.accounts.permissions import can, require
from vinculo.analytics import charts, selectors, selectors_value
from vinculo.analytics.selectors import Dashboard, Drill, WarehouseUnavailable
from vinculo.core.http import domain_errors_to_http

CAPABILITY = "analytics.view"


def _qs(request, **changes) -> str:
    """The current query string with ``changes`` applied (None removes a key); never keeps
    the CSV switches."""
    params = request.GET.copy()
    for key in ("format", "table"):
        params.pop(key, None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


def _csv_value(value):
    if isinstance(value, Decimal | float):
        return format(value, "f") if isinstance(value, Decimal) else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def _csv(request, page: str, d: Dashboard) -> HttpResponse:
    slug = request.GET.get("table") or next(iter(d.tables))
    table = d.tables.get(slug)
    if table is None:
        message = _("Unknown table %(table)r: choose one of %(choices)s.") % {
            "table": slug,
            "choices": ", ".join(d.tables),
        }
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="analytics-{page}-{slug}.csv"'
    writer = csv.writer(response)
    writer.writerow([key for key, _label in table.columns])
    for values in table.values():
        writer.writerow([_csv_value(v) for v in values])
    return response


def _render(request, page: str, title: str, build) -> HttpResponse:
    """Build the page's data (``build()`` returns the dashboard and its context), answer a
    CSV export, or explain that the warehouse must be built first."""
    require(request.user, CAPABILITY)
    try:
        d, context = build()
    except WarehouseUnavailable as exc:
        return render(
            request,
            "analytics/unavailable.html",
            {
                "nav": "analytics",
                "page": page,
                "title": title,
                "reason": exc.reason,
                "message": exc.message,
                "can_refresh": can(request.user, "analytics.refresh"),
            },
            status=503 if exc.reason == "busy" else 200,
        )
    if request.GET.get("format") == "csv":
        return _csv(request, page, d)
    for table in d.tables.values():
        table.csv_url = _qs(request, format="csv", table=table.slug)  # type: ignore[attr-defined]
    return render(
        request,
        f"analytics/{page}.html",
        {"nav": "analytics", "page": page, "title": title, "d": d, **context},
    )


@login_required
@domain_errors_to_http
def executive(request):
    def build():
        d = selectors.executive(user=request.user)
        return d, {"charts": charts.executive(d), "notes": d.notes}

    return _render(request, "executive", _("Executive dashboard"), build)


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _drill_links(request, drill: Drill, rows: list[dict]) -> dict:
    paths = selectors.hierarchies()
    levels = paths[drill.dimension][1]
    clear = {lvl.key: None for lvl in levels}
    crumbs = [(_("All"), _qs(request, **clear))]
    for i, (_level, value) in enumerate(drill.path):
        deeper = {lvl.key: None for lvl in levels[i + 1 :]}
        crumbs.append((value, _qs(request, **deeper)))
    if drill.next_level:
        for row in rows:
            row["drill_url"] = _qs(request, **{drill.level.key: row["label"]})
    dimensions = [
        (name, label, _qs(request, dim=name, **{lvl.key: None for lvl in levels}))
        for name, (label, _lv) in paths.items()
    ]
    return {"crumbs": crumbs, "dimensions": dimensions}


@login_required
@domain_errors_to_http
def sales(request):
    def build():
        drill = selectors.drill_for(request.GET.get("dim"), request.GET)
        d = selectors.sales(drill=drill, pipeline_id=_int(request.GET.get("pipeline")))
        context = {"charts": charts.sales(d, drill), "drill": drill}
        context.update(_drill_links(request, drill, d.tables["drill"].rows))
        return d, context

    return _render(request, "sales", _("Sales dashboard"), build)


@login_required
@domain_errors_to_http
def service(request):
    def build():
        d = selectors.service()
        return d, {"charts": charts.service(d)}

    return _render(request, "service", _("Service dashboard"), build)


@login_required
@domain_errors_to_http
def marketing(request):
    def build():
        d = selectors.marketing()
        return d, {"charts": charts.marketing(d)}

    return _render(request, "marketing", _("Marketing dashboard"), build)


@login_required
@domain_errors_to_http
def customer_value(request):
    def build():
        d = selectors_value.customer_value(user=request.user)
        return d, {"charts": charts.customer_value(d), "notes": d.notes}

    return _render(request, "customer_value", _("Customer value"), build)


@login_required
@domain_errors_to_http
@require_POST
def refresh(request):
    """Enqueue a warehouse refresh (administrators); the page says it will take a while."""
    from vinculo.analytics.tasks import refresh_warehouse_task

    require(request.user, "analytics.refresh")
    refresh_warehouse_task.enqueue()
    messages.success(
        request,
        _("The warehouse refresh has been queued. Reload this page in a few minutes."),
    )
    return redirect("analytics_executive")
