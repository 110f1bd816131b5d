"""Lead import pages: upload (with the values for every row) -> preview (nothing written) ->
confirm -> result, and the CSV error report. Thin: parse, check the capability, call
``leads_import``, render. The uploaded file waits between preview and confirm in the media
storage under a random name known only to the uploader's session; it is deleted when the
import runs or is cancelled, or by the scheduled cleanup of abandoned uploads."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import asdict
from pathlib import Path

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core import uploads
from vinculo.core.errors import ValidationError
from vinculo.core.http import domain_errors_to_http
from vinculo.customers.exporting import csv_safe
from vinculo.customers.importing import MAX_UPLOAD_BYTES
from vinculo.sales import leads_import
from vinculo.sales.models import Lead

SESSION_KEY = "lead_import"
PREVIEW_VALID_ROWS = 50  # rows with errors are all shown; valid ones up to this many


class LeadImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (.csv or .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"), choices=Lead.Source.choices, initial=Lead.Source.IMPORT
    )
    campaign = forms.CharField(label=gettext_lazy("Campaign"), max_length=150, required=False)
    acquisition_cost = forms.DecimalField(
        label=gettext_lazy("Cost per lead"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
    )
    consent_marketing = forms.BooleanField(
        label=gettext_lazy("Every person in this file agreed to receive marketing"),
        required=False,
    )
    consent_text = forms.CharField(
        label=gettext_lazy("Consent wording they agreed to"), max_length=500, required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is too large; the limit is %(max)s MB.")
                % {"max": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload

    def defaults(self) -> leads_import.LeadImportDefaults:
        d = self.cleaned_data
        return leads_import.LeadImportDefaults(
            source=d["source"],
            campaign=d.get("campaign") or "",
            acquisition_cost=d.get("acquisition_cost") or 0,
            consent_marketing=bool(d.get("consent_marketing")),
            consent_text=d.get("consent_text") or "",
        )


def _context(report: leads_import.LeadImportReport) -> dict:
    error_rows = [r for r in report.rows if r.errors]
    valid_rows = [r for r in report.rows if not r.errors]
    return {
        "nav": "lead_import",
        "report": report,
        "counts": report.counts(),
        "error_rows": error_rows,
        "valid_rows": valid_rows[:PREVIEW_VALID_ROWS],
        "more_valid": max(len(valid_rows) - PREVIEW_VALID_ROWS, 0),
    }


def _stored(request) -> tuple[dict, bytes]:
    state = request.session.get(SESSION_KEY) or {}
    path = state.get("path")
    if not path or not default_storage.exists(path):
        raise ValidationError(_("The uploaded file is no longer available. Upload it again."))
    with default_storage.open(path, "rb") as fh:
        return state, fh.read()


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def lead_import(request):
    """Upload and preview: every row checked as the import will do it, nothing written."""
    require(request.user, "customers.import")
    form = LeadImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        defaults = form.defaults()
        try:
            report = leads_import.preview_lead_import(
                actor=request.user,
                data=data,
                filename=upload.name,
                defaults=defaults,
                max_rows=leads_import.MAX_PAGE_ROWS,
            )
        except ValidationError as exc:
            form.add_error("file", exc.message)
        else:
            uploads.delete_stored_file((request.session.get(SESSION_KEY) or {}).get("path", ""))
            suffix = Path(upload.name).suffix.lower()[:6]
            path = default_storage.save(
                f"{uploads.IMPORT_UPLOADS_DIR}/leads/{request.user.pk}/"
                f"{secrets.token_hex(12)}{suffix}",
                ContentFile(data),
            )
            request.session[SESSION_KEY] = {
                "path": path,
                "filename": upload.name,
                "defaults": {
                    **asdict(defaults),
                    "acquisition_cost": str(defaults.acquisition_cost),
                },
                "errors": [asdict(e) for e in report.errors],
            }
            return render(request, "sales/lead_import_preview.html", _context(report))
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "sales/lead_import.html",
        {"nav": "lead_import", "form": form, "max_rows": leads_import.MAX_PAGE_ROWS},
        status=status,
    )


@login_required
@require_POST
@domain_errors_to_http
def lead_import_confirm(request):
    """Import the previewed file's valid rows (each row committed on its own)."""
    require(request.user, "customers.import")
    try:
        state, data = _stored(request)
    except ValidationError as exc:
        return render(
            request,
            "sales/lead_import.html",
            {
                "nav": "lead_import",
                "form": LeadImportForm(),
                "max_rows": leads_import.MAX_PAGE_ROWS,
                "error": exc.message,
            },
            status=410,
        )
    report = leads_import.import_leads(
        actor=request.user,
        data=data,
        filename=state["filename"],
        defaults=leads_import.LeadImportDefaults(**state["defaults"]),
        max_rows=leads_import.MAX_PAGE_ROWS,
    )
    uploads.delete_stored_file(state["path"])
    request.session[SESSION_KEY] = {"errors": [asdict(e) for e in report.errors]}
    return render(request, "sales/lead_import_result.html", _context(report))


@login_required
@require_POST
@domain_errors_to_http
def lead_import_cancel(request):
    """Drop the previewed file without importing anything."""
    require(request.user, "customers.import")
    state = request.session.pop(SESSION_KEY, None) or {}
    uploads.delete_stored_file(state.get("path", ""))
    messages.success(request, _("Import cancelled: nothing was imported and the file was deleted."))
    return redirect("lead_import")


@login_required
@domain_errors_to_http
def lead_import_errors(request):
    """The error report of the last preview or import, as CSV (row, column, message, value)."""
    require(request.user, "customers.import")
    stored = (request.session.get(SESSION_KEY) or {}).get("errors", [])
    errors = [leads_import.RowError(**e) for e in stored]
    out = io.StringIO()
    out.write("\ufeff")  # the BOM lets Excel open accents correctly
    writer = csv.writer(out)
    for row in leads_import.error_report_rows(errors):
        writer.writerow([csv_safe(v) for v in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lead-import-errors.csv"'
    return response
