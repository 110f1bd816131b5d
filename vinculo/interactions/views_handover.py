"""Handover pages (mounted under /staff/ with the staff pages). They live in interactions,
beside the handover service, because a handover moves customers and tasks: accounts sits
below both and must not import them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vinculo.accounts.forms import HandoverForm
from vinculo.accounts.permissions import can, require
from vinculo.accounts.views_staff import _page, _querystring
from vinculo.core.errors import DomainError, NotFound, PermissionDenied
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.interactions import handover as handover_service

# --- handover ---------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def handover(request):
    require(request.user, "accounts.handover")
    form = HandoverForm(
        request.POST or None,
        users=handover_service.manageable_users(request.user),
        allow_deactivate=can(request.user, "accounts.manage"),
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        kwargs = {
            "actor": request.user,
            "from_user_id": d["from_user"].pk,
            "to_user_id": d["to_user"].pk,
            "include_customers": d["include_customers"],
            "include_tasks": d["include_tasks"],
        }
        try:
            if request.POST.get("step") == "confirm":
                deactivate = d.get("deactivate_from", False)
                preview = handover_service.handover_preview(**kwargs)
                if preview.total > handover_service.BACKGROUND_THRESHOLD:
                    handover_service.start_handover_in_background(
                        **kwargs, deactivate_from=deactivate
                    )
                    messages.success(
                        request,
                        _(
                            "The handover of %(n)s records is running in the background; "
                            "it will be listed here when it is done."
                        )
                        % {"n": preview.total},
                    )
                    return redirect("handover_list")
                result = handover_service.handover(**kwargs, deactivate_from=deactivate)
                if result.audit_id is None:
                    messages.info(request, result.summary())
                    return redirect("handover")
                messages.success(request, result.summary())
                return redirect("handover_summary", audit_id=result.audit_id)
            preview = handover_service.handover_preview(**kwargs)
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            add_field_errors(form, exc)
    return render(
        request,
        "accounts/handover.html",
        {"nav": "staff", "form": form, "preview": preview},
        status=422 if form.errors else 200,
    )


@login_required
@domain_errors_to_http
def handover_summary(request, audit_id: int):
    entry = handover_service.handover_for_user(user=request.user, pk=audit_id)
    sort = request.GET.get("sort", "-last_contact")
    if sort not in handover_service.SUMMARY_SORTS:
        sort = "-last_contact"
    customers = handover_service.received_customers(user=request.user, entry=entry, sort=sort)
    page = _page(request, customers)
    tasks = handover_service.received_open_tasks(user=request.user, entry=entry)
    return render(
        request,
        "accounts/handover_summary.html",
        {
            "nav": "staff",
            "entry": entry,
            "payload": entry.payload,
            "page": page,
            "sort": sort,
            "qs": _querystring(request, sort=True),
            "qs_page": _querystring(request),
            "tasks": tasks[:200],
            "tasks_total": tasks.count(),
            "last_contacts": handover_service.last_contacts(user=request.user, entry=entry),
        },
    )


@login_required
@domain_errors_to_http
def handover_list(request):
    qs = handover_service.handovers_for_user(request.user)
    return render(
        request,
        "accounts/handover_list.html",
        {
            "nav": "handovers",
            "page": _page(request, qs),
            "qs": _querystring(request),
            "can_handover": can(request.user, "accounts.handover"),
        },
    )
