"""Lead pages: the list, "My queue — call these first", detail with conversion, manual entry,
the cost-per-lead table, lead set-up (scoring rules, assignment rules, web forms) and the
public website form endpoint. Thin: parse, check permission, call one service or selector,
render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.directory import active_staff_by_name
from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.sales import leads, leads_setup, pipelines
from vinculo.sales.forms_leads import (
    AssignmentRuleForm,
    ConvertForm,
    LeadEntryForm,
    LeadStatusForm,
    ScoringRuleForm,
    WebFormForm,
)
from vinculo.sales.lead_queue_items import queue_items_html
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule, LeadWebForm
from vinculo.sales.paging import list_page
from vinculo.sales.selectors_leads import (
    LEAD_SORTS,
    LeadFilters,
    cost_per_lead,
    label_leads,
    lead_for_user,
    lead_history,
    lead_list,
    queue_for,
    team_queues,
)
from vinculo.sales.views_pipeline import _date, _int

PAGE_SIZE = 25
QUEUE_SIZE = 50


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- list ---------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def lead_list_view(request):
    require(request.user, "customers.view")
    g = request.GET
    f = LeadFilters(
        q=(g.get("q") or "").strip()[:200],
        status=g.get("status") or "",
        source=g.get("source") or "",
        owner_id=_int(g.get("owner")),
        campaign=(g.get("campaign") or "").strip()[:150],
        sort=g.get("sort") or "-score",
    )
    page = list_page(lead_list(request.user, f), g.get("page"), size=PAGE_SIZE)
    label_leads(page.object_list)
    base = g.copy()
    base.pop("page", None)
    columns = []
    for key, label in [
        ("name", _("Lead")),
        ("score", _("Score")),
        ("status", _("Status")),
        ("source", _("Source")),
        ("campaign", _("Campaign")),
        ("cost", _("Cost")),
        ("owner", _("Owner")),
        ("created", _("Received")),
    ]:
        col = {"key": key, "label": label, "sortable": key in LEAD_SORTS}
        if key in LEAD_SORTS:
            qd = base.copy()
            qd["sort"] = f"-{key}" if f.sort == key else key
            col["url"] = "?" + qd.urlencode()
            col["direction"] = (
                "ascending" if f.sort == key else "descending" if f.sort == f"-{key}" else "none"
            )
        columns.append(col)
    return render(
        request,
        "sales/lead_list.html",
        {
            "nav": "leads",
            "page": page,
            "columns": columns,
            "base_qs": base.urlencode(),
            "f": f,
            "statuses": [("open", _("Open (new, contacted, qualified)")), *Lead.Status.choices],
            "sources": Lead.Source.choices,
            "owners": active_staff_by_name(),
            "has_filters": any([f.q, f.status, f.source, f.owner_id, f.campaign]),
            "can_create": can(request.user, "customers.create"),
        },
    )


# --- the work queue -----------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def lead_queue(request):
    """ "My queue — call these first": the user's open leads by score, then age; a manager
    also sees each member of their teams' queue."""
    require(request.user, "customers.view")
    mine = queue_for(user=request.user, limit=QUEUE_SIZE + 1)
    rows = label_leads(mine[:QUEUE_SIZE], queue=True)
    team = team_queues(user=request.user)
    for q in team:
        label_leads(q.leads, queue=True)
    items = queue_items_html(
        rows,
        can_edit=can(request.user, "customers.edit"),
        csrf_input=csrf_input(request),
        next_url=request.get_full_path(),
    )
    return render(
        request,
        "sales/lead_queue.html",
        {
            "nav": "queue",
            "leads": rows,
            "items": items,
            "more": len(mine) > QUEUE_SIZE,
            "team": team,
        },
    )


@login_required
@require_POST
@domain_errors_to_http
def lead_status(request, pk):
    """Quick actions: contacted, qualified, disqualified (with its reason), back to new."""
    require(request.user, "customers.edit")
    lead = lead_for_user(user=request.user, pk=pk)
    form = LeadStatusForm(request.POST)
    back = _safe_next(request, reverse("lead_detail", args=[lead.pk]))
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect(back)
    d = form.cleaned_data
    try:
        leads.set_lead_status(
            actor=request.user,
            lead_id=lead.pk,
            status=d["status"],
            reason=d.get("reason") or "",
            expected_version=d.get("version"),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except ValidationError as exc:
        if "reason" in exc.field_errors:
            return render(
                request,
                "sales/lead_disqualify.html",
                {"nav": "leads", "lead": lead, "next": back, "error": exc.message},
                status=422,
            )
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("%(lead)s is now %(status)s.")
        % {"lead": lead.customer.name, "status": Lead.Status(d["status"]).label.lower()},
    )
    return redirect(back)


# --- detail, entry, conversion ------------------------------------------------------------------


@login_required
@domain_errors_to_http
def lead_detail(request, pk):
    require(request.user, "customers.view")
    lead = lead_for_user(user=request.user, pk=pk)
    utm = [(name, getattr(lead, name)) for name in leads.UTM_FIELDS if getattr(lead, name)]
    return render(
        request,
        "sales/lead_detail.html",
        {
            "nav": "leads",
            "lead": lead,
            "utm": utm,
            "fit_reasons": [r for r in lead.score_reasons if r.get("kind") == "fit"],
            "engagement_reasons": [r for r in lead.score_reasons if r.get("kind") == "engagement"],
            "history": lead_history(lead),
            "is_open": lead.status in leads.OPEN_STATUSES,
            "can_edit": can(request.user, "customers.edit"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def lead_create(request):
    require(request.user, "customers.create")
    form = LeadEntryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = leads.capture_lead(
                    actor=request.user,
                    **{k: v for k, v in d.items() if k != "acquisition_cost"},
                    acquisition_cost=d.get("acquisition_cost") or 0,
                )
            except ValidationError as exc:
                add_field_errors(form, exc)
            else:
                if result.matched_existing:
                    messages.info(
                        request,
                        _("Lead added to the existing customer %(name)s.")
                        % {"name": result.customer.name},
                    )
                else:
                    messages.success(request, _("Lead created."))
                return redirect("lead_detail", pk=result.lead.pk)
    return render(request, "sales/lead_form.html", {"nav": "leads", "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def lead_convert(request, pk):
    """The confirm step of a conversion: pipeline, amount and expected close, then the new
    opportunity."""
    require(request.user, "customers.edit")
    lead = lead_for_user(user=request.user, pk=pk)
    if lead.status not in leads.OPEN_STATUSES:
        messages.error(request, _("Only an open lead can be converted."))
        return redirect("lead_detail", pk=lead.pk)
    default = pipelines.default_pipeline() or pipelines.ensure_default_pipeline()
    form = ConvertForm(
        request.POST or None,
        initial={"name": lead.customer.name, "pipeline": default, "version": lead.version},
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                opp = leads.convert_lead(
                    actor=request.user,
                    lead_id=lead.pk,
                    opportunity_name=d["name"],
                    amount=d.get("amount"),
                    expected_close_date=d.get("expected_close_date"),
                    pipeline_id=d["pipeline"].pk,
                    expected_version=d.get("version"),
                )
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            except ValidationError as exc:
                add_field_errors(form, exc, {"pipeline_id": "pipeline"})
            else:
                messages.success(
                    request, _("Lead converted: opportunity %(name)s created.") % {"name": opp}
                )
                return redirect("opportunity_detail", pk=opp.pk)
    return render(
        request,
        "sales/lead_convert.html",
        {"nav": "leads", "lead": lead, "form": form},
        status=status,
    )


@login_required
@domain_errors_to_http
def lead_costs(request):
    """Cost per lead (and per conversion) by source and campaign."""
    require(request.user, "customers.view")
    created_from, created_to = _date(request.GET.get("from")), _date(request.GET.get("to"))
    rows = cost_per_lead(request.user, created_from=created_from, created_to=created_to)
    return render(
        request,
        "sales/lead_costs.html",
        {
            "nav": "lead_costs",
            "rows": rows,
            "created_from": created_from,
            "created_to": created_to,
        },
    )


# --- set-up: scoring rules, assignment rules, web forms -----------------------------------------

SETUP = {
    "scoring": (LeadScoringRule, ScoringRuleForm),
    "assignment": (AssignmentRule, AssignmentRuleForm),
    "forms": (LeadWebForm, WebFormForm),
}


def _setup_kind(kind: str):
    if kind not in SETUP:
        raise Http404
    return SETUP[kind]


@login_required
@domain_errors_to_http
def lead_setup(request):
    require(request.user, "leads.configure")
    return render(
        request,
        "sales/lead_setup.html",
        {
            "nav": "lead_setup",
            "scoring_rules": LeadScoringRule.objects.all(),
            "assignment_rules": AssignmentRule.objects.select_related("team"),
            "web_forms": LeadWebForm.objects.all(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def lead_setup_edit(request, kind, pk=None):
    require(request.user, "leads.configure")
    model, form_class = _setup_kind(kind)
    instance = model.objects.filter(pk=pk).first() if pk else model()
    if instance is None:
        raise NotFound(_("Not found."))
    before = leads_setup.snapshot(instance)
    form = form_class(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            leads_setup.save_lead_setting(
                actor=request.user, instance=form.save(commit=False), before=before
            )
            messages.success(request, _("%(name)s saved.") % {"name": form.instance})
            return redirect("lead_setup")
    return render(
        request,
        "sales/lead_setup_form.html",
        {
            "nav": "lead_setup",
            "form": form,
            "kind": kind,
            "instance": instance,
            "title": model._meta.verbose_name,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def lead_setup_delete(request, kind, pk):
    require(request.user, "leads.configure")
    model, _form = _setup_kind(kind)
    instance = model.objects.filter(pk=pk).first()
    if instance is None:
        raise NotFound(_("Not found."))
    if request.method == "POST":
        name = str(instance)
        leads_setup.delete_lead_setting(actor=request.user, instance=instance)
        messages.success(request, _("%(name)s deleted.") % {"name": name})
        return redirect("lead_setup")
    return render(
        request,
        "sales/lead_setup_delete.html",
        {
            "nav": "lead_setup",
            "instance": instance,
            "kind": kind,
            "title": model._meta.verbose_name,
        },
    )


@login_required
@require_POST
@domain_errors_to_http
def lead_rescore(request):
    """Queue a re-score of every open lead (after changing the scoring rules)."""
    require(request.user, "leads.configure")
    from vinculo.sales.tasks import rescore_leads_task

    rescore_leads_task.enqueue()
    messages.success(request, _("Open leads will be re-scored in the background."))
    return redirect("lead_setup")


# --- the public website form --------------------------------------------------------------------


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def _posted(request) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(_("The request body is not valid JSON.")) from None
        if not isinstance(body, dict):
            raise ValidationError(_("The request body must be a JSON object."))
        return body
    return request.POST.dict()


@csrf_exempt  # posted from other sites; the per-form key is what authorises it
@xframe_options_exempt  # meant to be embedded in an iframe on the company's website
@require_http_methods(["GET", "POST"])
def public_lead_form(request, key):
    try:
        web_form = leads_setup.web_form_by_key(key)
    except NotFound as exc:
        if _wants_json(request):
            return JsonResponse({"detail": exc.message, "errors": {}}, status=404)
        raise Http404(exc.message) from exc
    context = {
        "web_form": web_form,
        "values": {},
        "errors": {},
        "utm": {k: request.GET.get(k, "")[:150] for k in leads.UTM_FIELDS if request.GET.get(k)},
        "honeypot": leads_setup.HONEYPOT_FIELD,
    }
    if request.method == "GET":
        return render(request, "sales/lead_webform_public.html", context)
    try:
        data = _posted(request)
        result = leads_setup.submit_web_form(web_form=web_form, data=data, query=request.GET)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse(exc.as_dict(), status=422)
        values = {k: v for k, v in request.POST.items() if k != leads_setup.HONEYPOT_FIELD}
        context.update(values=values, errors=exc.field_errors, message=exc.message)
        context["utm"] = {k: values[k] for k in leads.UTM_FIELDS if values.get(k)} or context["utm"]
        return render(request, "sales/lead_webform_public.html", context, status=422)
    if _wants_json(request):
        # The same answer whether the honeypot caught a bot or a lead came in.
        return JsonResponse({"status": "received"}, status=201)
    if web_form.redirect_url:
        return redirect(web_form.redirect_url)
    del result  # nothing about the lead or its customer is shown to the visitor
    return render(request, "sales/lead_webform_thanks.html", {"web_form": web_form})
