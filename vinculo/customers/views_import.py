"""Import (upload -> mapping -> dry-run preview -> background run) and export pages.
Thin: parse, check the capability, call one function of customers.importing/exporting, render."""

from __future__ import annotations

import csv
import itertools

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core.errors import ValidationError
from vinculo.core.http import domain_errors_to_http
from vinculo.customers import exporting, importing
from vinculo.customers.filters import filters_from_querydict
from vinculo.customers.models import ImportJob

ERRORS_PER_PAGE = 50


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (.csv, .xlsx or .vcf)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.vcf,text/csv,text/vcard"}),
    )


def _job(request, pk) -> ImportJob:
    job = importing.jobs_for_user(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404(_("Import not found."))
    return job


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_import(request):
    require(request.user, "customers.import")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > importing.MAX_UPLOAD_BYTES:
                raise importing.ImportFileError(
                    _("The file is too large; the limit is %(max)s MB.")
                    % {"max": importing.MAX_UPLOAD_BYTES // (1024 * 1024)}
                )
            job = importing.create_import_job(
                actor=request.user, name=upload.name, data=upload.read()
            )
        except ValidationError as exc:
            form.add_error("file", exc.message)
        else:
            if job.format == "vcf":  # vCard properties are mapped automatically
                return redirect("customer_import_preview", pk=job.pk)
            return redirect("customer_import_map", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    jobs = importing.jobs_for_user(request.user)[:10]
    return render(
        request,
        "customers/import_upload.html",
        {"form": form, "jobs": jobs, "nav": "customers", "max_mb": 50},
        status=status,
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_import_map(request, pk):
    require(request.user, "customers.import")
    job = _job(request, pk)
    if job.status == ImportJob.Status.CANCELLED:
        return redirect("customer_import_status", pk=job.pk)
    if job.format == "vcf":
        return redirect("customer_import_preview", pk=job.pk)
    headers = job.options.get("headers", [])
    mapping = dict(job.mapping)
    upsert = job.options.get("upsert", "none")
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        mapping = {h: request.POST.get(f"col_{i}", "") for i, h in enumerate(headers)}
        upsert = request.POST.get("upsert", "none")
        try:
            importing.save_mapping(actor=request.user, job=job, mapping=mapping, upsert=upsert)
        except ValidationError as exc:
            errors = exc.field_errors or {"__all__": [exc.message]}
            status = 400
        else:
            return redirect("customer_import_preview", pk=job.pk)
    table = importing.job_table(job)
    samples = [rec for _n, rec in itertools.islice(table.records(), 3)]
    columns = [
        {
            "index": i,
            "name": h,
            "samples": [str(s.get(h, "")) for s in samples if isinstance(s, dict)],
            "target": mapping.get(h, ""),
            "errors": errors.get(h, []),
        }
        for i, h in enumerate(headers)
    ]
    return render(
        request,
        "customers/import_map.html",
        {
            "job": job,
            "columns": columns,
            "choices": importing.target_choices(),
            "upsert": upsert,
            "upsert_choices": [
                ("none", _("None: always create new customers")),
                ("external_id", _("By external id")),
                ("email", _("By email")),
            ],
            "form_errors": errors.get("__all__", []),
            "nav": "customers",
        },
        status=status,
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_import_preview(request, pk):
    require(request.user, "customers.import")
    job = _job(request, pk)
    if job.status == ImportJob.Status.CANCELLED:
        return redirect("customer_import_status", pk=job.pk)
    if job.status in {ImportJob.Status.UPLOADED}:
        return redirect("customer_import_map", pk=job.pk)
    confirm_error = ""
    status = 200
    if request.method == "POST":
        try:
            importing.start_import(
                actor=request.user, job=job, confirmed_invalid=bool(request.POST.get("confirm"))
            )
        except ValidationError as exc:
            confirm_error = exc.message
            status = 400
        else:
            return redirect("customer_import_status", pk=job.pk)
    pending = False
    if job.status == ImportJob.Status.MAPPED:
        if importing.analysis_runs_inline(job):
            importing.analyse_import(actor=request.user, job=job)
        else:
            importing.request_analysis(actor=request.user, job=job)
            pending = True
    preview = job.options.get("preview", {})
    page = Paginator(job.errors or [], ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/import_preview.html",
        {
            "job": job,
            "preview": preview,
            "bad_rows": (preview.get("invalid") or 0) + (preview.get("duplicates") or 0),
            "possible_duplicates": job.options.get("possible_duplicates", []),
            "page": page,
            "confirm_error": confirm_error,
            "pending": pending,
            "can_run": job.status in {ImportJob.Status.PREVIEWED, ImportJob.Status.FAILED}
            or importing.is_stalled(job),
            "nav": "customers",
        },
        status=status,
    )


@login_required
@domain_errors_to_http
def customer_import_status(request, pk):
    require(request.user, "customers.import")
    job = _job(request, pk)
    percent = int(job.rows_done * 100 / job.rows_total) if job.rows_total else 0
    ctx = {
        "job": job,
        "percent": percent,
        "stalled": importing.is_stalled(job),
        "nav": "customers",
    }
    if request.htmx:
        return render(request, "customers/import_status_progress.html", ctx)
    return render(request, "customers/import_status.html", ctx)


@login_required
@require_POST
@domain_errors_to_http
def customer_import_cancel(request, pk):
    """Give up on an import that is not running; its uploaded file is deleted."""
    require(request.user, "customers.import")
    job = _job(request, pk)
    try:
        importing.cancel_import(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, exc.message)
        return redirect("customer_import_status", pk=job.pk)
    messages.success(
        request,
        _("Import of “%(name)s” cancelled; the uploaded file was deleted.")
        % {"name": job.original_name},
    )
    return redirect("customer_import")


class _Echo:
    def write(self, value):
        return value


@login_required
@domain_errors_to_http
def customer_import_errors(request, pk):
    """The error report (preview's or run's) as a CSV file."""
    require(request.user, "customers.import")
    job = _job(request, pk)
    writer = csv.writer(_Echo())
    # The BOM lets Excel open accents correctly.
    body = itertools.chain(
        ["\ufeff"],
        (
            writer.writerow([exporting.csv_safe(v) for v in r])
            for r in importing.error_report_rows(job)
        ),
    )
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
@domain_errors_to_http
def customer_export(request):
    """GET with the list filters; ?format=csv|xlsx downloads, otherwise a small form."""
    require(request.user, "customers.export")
    fmt = request.GET.get("format", "")
    filters = filters_from_querydict(request.GET)
    if fmt not in {"csv", "xlsx"}:
        kept = [(k, v) for k, v in request.GET.items() if k != "format"]
        return render(
            request,
            "customers/export_form.html",
            {"kept": kept, "nav": "customers", "invalid_format": bool(fmt)},
            status=400 if fmt else 200,
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(
            exporting.csv_stream(user=request.user, filters=filters),
            content_type="text/csv; charset=utf-8",
        )
    else:
        response = HttpResponse(
            exporting.xlsx_bytes(user=request.user, filters=filters),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.{fmt}"'
    return response


def export_url(querystring: str, fmt: str) -> str:
    """The export URL for a list page's current query string (for links on other pages)."""
    sep = "&" if querystring else ""
    return f"{reverse('customer_export')}?{querystring}{sep}format={fmt}"
