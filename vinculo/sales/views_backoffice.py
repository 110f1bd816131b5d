"""Back office page (admins and sales managers): download confirmed orders as CSV or JSON,
upload stock levels and order status updates with a preview and a per-row error report.

The preview is a dry run: the same service runs inside a transaction that is rolled back, so
what it reports (applied, unchanged, each bad row) is exactly what applying will do."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core.errors import ValidationError
from vinculo.core.http import domain_errors_to_http
from vinculo.sales import backoffice
from vinculo.sales.forms_orders import ApplyImportForm, ExportForm, ImportForm

CAPABILITY = "sales.backoffice"
IMPORTERS = {
    "stock": backoffice.import_stock_levels,
    "orders": backoffice.import_order_updates,
}


class _DryRun(Exception):
    """Raised to roll the preview's transaction back."""


def _run(kind: str, *, actor, text: str, fmt: str, dry_run: bool) -> backoffice.UpdateReport:
    importer = IMPORTERS[kind]
    if not dry_run:
        return importer(actor=actor, data=text, fmt=fmt)
    report = None
    try:
        with transaction.atomic():
            report = importer(actor=actor, data=text, fmt=fmt)
            raise _DryRun
    except _DryRun:
        pass
    assert report is not None
    return report


def _page(request, *, export_form=None, import_form=None, status: int = 200, **extra):
    return render(
        request,
        "sales/backoffice.html",
        {
            "nav": "backoffice",
            "export_form": export_form or ExportForm(),
            "import_form": import_form or ImportForm(),
            **extra,
        },
        status=status,
    )


@login_required
@domain_errors_to_http
def backoffice_page(request):
    require(request.user, CAPABILITY)
    return _page(request)


@login_required
@domain_errors_to_http
def backoffice_export(request):
    """Confirmed and paid orders (changed since a date), one CSV row per order line, or JSON."""
    require(request.user, CAPABILITY)
    form = ExportForm(request.GET)
    if not form.is_valid():
        return _page(request, export_form=form, status=422)
    since = form.cleaned_data.get("since")
    rows = backoffice.export_orders(
        since=timezone.make_aware(dt.datetime.combine(since, dt.time.min)) if since else None
    )
    stamp = timezone.localdate().isoformat()
    if form.cleaned_data["format"] == "json":
        response = HttpResponse(
            backoffice.orders_as_json(rows), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.json"'
    else:
        response = HttpResponse(backoffice.orders_as_csv(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response


@login_required
@require_POST
@domain_errors_to_http
def backoffice_preview(request):
    """Upload: read the file and show what applying it would do, row by row."""
    require(request.user, CAPABILITY)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form, status=422)
    upload, kind = form.cleaned_data["file"], form.cleaned_data["kind"]
    try:
        report = _run(
            kind, actor=request.user, text=upload["text"], fmt=upload["format"], dry_run=True
        )
    except ValidationError as exc:
        form.add_error("file", exc.message)
        return _page(request, import_form=form, status=422)
    apply_form = ApplyImportForm(
        initial={
            "kind": kind,
            "format": upload["format"],
            "name": upload["name"],
            "data": upload["text"],
        }
    )
    return render(
        request,
        "sales/backoffice_report.html",
        {
            "nav": "backoffice",
            "report": report,
            "kind": kind,
            "kind_label": dict(ImportForm.KINDS)[kind],
            "name": upload["name"],
            "preview": True,
            "apply_form": apply_form,
        },
        status=200,
    )


@login_required
@require_http_methods(["POST"])
@domain_errors_to_http
def backoffice_apply(request):
    """Apply the previewed file. Valid rows are applied; invalid rows are skipped and listed."""
    require(request.user, CAPABILITY)
    form = ApplyImportForm(request.POST)
    if not form.is_valid():
        return _page(
            request,
            status=422,
            apply_error=_("The previewed file was lost. Upload it again."),
        )
    d = form.cleaned_data
    try:
        report = _run(d["kind"], actor=request.user, text=d["data"], fmt=d["format"], dry_run=False)
    except ValidationError as exc:
        return _page(request, status=422, apply_error=exc.message)
    return render(
        request,
        "sales/backoffice_report.html",
        {
            "nav": "backoffice",
            "report": report,
            "kind": d["kind"],
            "kind_label": dict(ImportForm.KINDS)[d["kind"]],
            "name": d["name"],
            "preview": False,
        },
    )
