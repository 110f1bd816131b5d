"""Custom field administration (admin only): list, create, edit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vinculo.accounts.permissions import require
from vinculo.core.errors import NotFound, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.customers import services_fields
from vinculo.customers.forms import CustomFieldForm
from vinculo.customers.models import CustomField


@login_required
@domain_errors_to_http
def customfield_list(request):
    require(request.user, "customfields.manage")
    fields = CustomField.objects.order_by("group", "position", "key")
    return render(
        request, "customers/customfield_list.html", {"nav": "customfields", "fields": fields}
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customfield_create(request):
    require(request.user, "customfields.manage")
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cf = services_fields.create_custom_field(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_field_errors(form, exc)
        else:
            messages.success(request, _("Custom field “%(label)s” created.") % {"label": cf.label})
            return redirect("customfield_list")
    return render(request, "customers/customfield_form.html", {"nav": "customfields", "form": form})


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customfield_edit(request, pk):
    require(request.user, "customfields.manage")
    cf = CustomField.objects.filter(pk=pk).first()
    if cf is None:
        raise NotFound(_("Custom field not found."))
    if request.method == "POST":
        form = CustomFieldForm(request.POST)
        if form.is_valid():
            try:
                services_fields.update_custom_field(
                    actor=request.user, field_id=cf.pk, **form.service_kwargs()
                )
            except ValidationError as exc:
                add_field_errors(form, exc)
            else:
                messages.success(request, _("Custom field saved."))
                return redirect("customfield_list")
    else:
        form = CustomFieldForm(initial=CustomFieldForm.initial_for(cf))
    return render(
        request,
        "customers/customfield_form.html",
        {"nav": "customfields", "form": form, "field": cf},
    )
