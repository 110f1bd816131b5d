"""HTML views of the timeline, the quick log form, my day and tasks. Thin: parse, check the
capability, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.fast import blank_form_fields
from vinculo.core.http import domain_errors_to_http
from vinculo.customers import selectors as customer_selectors
from vinculo.interactions import selectors, services
from vinculo.interactions.forms import (
    KIND_KEYS,
    FollowUp,
    QuickLogForm,
    TaskFilterForm,
    TaskForm,
)
from vinculo.interactions.models import Interaction
from vinculo.interactions.task_rows import task_rows_html

MY_DAY_SHOWN = 10  # tasks shown per group on My day (each group links to all of them)

# --- Timeline ---------------------------------------------------------------------------------


def timeline_context(customer, *, kinds=(), channels=(), cursor=None) -> dict:
    """Everything the timeline templates need (shared by the view and the template tag)."""
    kinds = [k for k in kinds if k in Interaction.Kind.values]
    channels = [c for c in channels if c in Interaction.Channel.values]
    page = selectors.timeline_page(
        customer_id=customer.pk, kinds=kinds, channels=channels, cursor=cursor
    )
    more_url = None
    if page.next_cursor:
        query = urlencode(
            [("kind", k) for k in kinds]
            + [("channel", c) for c in channels]
            + [("cursor", page.next_cursor)]
        )
        more_url = f"{reverse('customer_timeline', args=[customer.pk])}?{query}"
    return {
        "customer": customer,
        "page": page,
        "items": page.items,
        "more_url": more_url,
        "is_first_page": not cursor,
        "filtered": bool(kinds or channels),
        "selected_kinds": kinds,
        "selected_channels": channels,
        "kind_choices": Interaction.Kind.choices,
        "channel_choices": Interaction.Channel.choices,
    }


@login_required
@require_GET
@domain_errors_to_http
def customer_timeline(request, pk: int):
    """The timeline of one customer: a page of items (HTMX "load more"), the filtered list
    (HTMX filter change) or a full page (no JavaScript)."""
    require(request.user, "customers.view")
    customer = customer_selectors.customer_for_user(user=request.user, pk=pk)
    cursor = request.GET.get("cursor") or None
    context = timeline_context(
        customer,
        kinds=request.GET.getlist("kind"),
        channels=request.GET.getlist("channel"),
        cursor=cursor,
    )
    if request.htmx:
        template = (
            "interactions/_timeline_items.html" if cursor else "interactions/_timeline_list.html"
        )
        return render(request, template, context)
    return render(request, "interactions/timeline_page.html", {**context, "nav": "customers"})


# --- Quick log --------------------------------------------------------------------------------


def _quick_log_where(value: str | None) -> str:
    return "dialog" if value == "dialog" else "panel"


def new_quick_log_form(customer, where: str, data=None) -> QuickLogForm:
    # Unique ids per place: the 360° page and the global dialog may show the form at once.
    return QuickLogForm(data, auto_id=f"ql-{where}-{customer.pk}-%s")


def quick_log_context(customer, form, *, where: str, autofocus: bool) -> dict:
    return {
        "customer": customer,
        "form": form,
        "where": where,
        "autofocus": autofocus,
        "kind_keys": KIND_KEYS,
        "follow_up_keys": FollowUp.KEYS,
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quick_log(request, pk: int):
    """GET: the quick log panel (the global dialog loads it). POST: log the interaction and
    its follow-up; on success a fresh form plus an ``interaction-logged`` event that makes
    the timeline reload, on error the form with messages next to the fields (422)."""
    require(request.user, "interactions.log")
    customer = customer_selectors.customer_for_user(user=request.user, pk=pk)
    where = _quick_log_where(request.POST.get("where") or request.GET.get("where"))
    if request.method == "GET":
        context = quick_log_context(
            customer, new_quick_log_form(customer, where), where=where, autofocus=True
        )
        template = (
            "interactions/_quick_log_panel.html"
            if request.htmx
            else "interactions/quick_log_page.html"
        )
        return render(request, template, {**context, "nav": "customers"})

    form = new_quick_log_form(customer, where, request.POST)
    if form.is_valid():
        try:
            interaction = services.log_interaction(
                actor=request.user, customer_id=customer.pk, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            message = _("%(kind)s logged for %(customer)s.") % {
                "kind": interaction.get_kind_display(),
                "customer": customer,
            }
            if interaction.follow_ups.exists():
                message += " " + _("Follow-up task created.")
            if not request.htmx:
                messages.success(request, message)
                return redirect("customer_detail", pk=customer.pk)
            context = quick_log_context(
                customer, new_quick_log_form(customer, where), where=where, autofocus=True
            )
            context["status_message"] = message
            response = render(request, "interactions/_quick_log_form.html", context)
            response["HX-Trigger"] = json.dumps(
                {
                    "interaction-logged": {
                        "customer": customer.pk,
                        "interaction": interaction.pk,
                        "message": message,
                    }
                }
            )
            return response
    context = quick_log_context(customer, form, where=where, autofocus=True)
    template = (
        "interactions/_quick_log_form.html" if request.htmx else "interactions/quick_log_page.html"
    )
    return render(request, template, {**context, "nav": "customers"}, status=422)


@login_required
@require_GET
def quick_log_customer_search(request):
    """Up to 10 visible customers matching ``q`` (name, email, phone), for the log dialog."""
    q = (request.GET.get("q") or "").strip()
    customers = []
    if q:
        qs = customer_selectors.search_filter(customer_selectors.visible_customers(request.user), q)
        customers = list(qs.order_by("name", "pk")[:10])
    return render(
        request, "interactions/_customer_picker_results.html", {"q": q, "customers": customers}
    )


# --- My day and tasks -------------------------------------------------------------------------


def _next_url(request, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


@login_required
@require_GET
def my_day(request):
    """The home page: my open tasks (overdue, today, next 7 days) and what I logged today."""
    groups = selectors.my_day(user=request.user)
    today = timezone.localdate()
    # Each group shows its first MY_DAY_SHOWN tasks (one row more tells there are more), so
    # a long backlog neither slows the home page nor buries today's work; the link opens the
    # whole group in the task list.
    links = {
        "overdue": {"due_to": today - dt.timedelta(days=1)},
        "today": {"due_from": today, "due_to": today},
        "upcoming": {
            "due_from": today + dt.timedelta(days=1),
            "due_to": today + dt.timedelta(days=7),
        },
    }
    sections = []
    for key, title in (
        ("overdue", _("Overdue")),
        ("today", _("Today")),
        ("upcoming", _("Next 7 days")),
    ):
        tasks = list(groups[key][: MY_DAY_SHOWN + 1])
        more_url = None
        if len(tasks) > MY_DAY_SHOWN:
            tasks = tasks[:MY_DAY_SHOWN]
            query = {"status": "open", **{k: v.isoformat() for k, v in links[key].items()}}
            more_url = reverse("task_list") + "?" + urlencode(query)
        rows = task_rows_html(tasks, request=request, here=request.get_full_path())
        sections.append((key, title, tasks, more_url, rows))
    return render(
        request,
        "interactions/my_day.html",
        {
            "nav": "my_day",
            "sections": sections,
            "has_tasks": any(section[2] for section in sections),
            "shown": MY_DAY_SHOWN,
            "logged_today": selectors.interactions_logged_today(user=request.user),
            # The empty "new task" form, rendered once per language (decision 0014).
            "task_fields": blank_form_fields(
                TaskForm,
                field_template="interactions/_field.html",
                auto_id="new-task-%s",
                fields=("title", "due_date", "priority", "customer_id"),
            ),
            "can_manage_tasks": can(request.user, "tasks.manage"),
        },
    )


@login_required
@require_POST
@domain_errors_to_http
def task_toggle(request, pk: int):
    """Mark a task done (``done=1``, the default) or reopen it (``done=0``). Idempotent: the
    outcome depends on ``done``, not on the task's current state."""
    require(request.user, "tasks.manage")
    task = selectors.task_for_user(user=request.user, pk=pk)
    done = request.POST.get("done", "1") != "0"
    task = services.set_task_done(actor=request.user, task_id=task.pk, done=done)
    if not request.htmx:
        messages.success(
            request,
            _("Task marked done.") if done else _("Task reopened."),
        )
        return redirect(_next_url(request, reverse("my_day")))
    task = selectors.task_for_user(user=request.user, pk=task.pk)
    # The row is rendered for the page the user is on, not for this POST's URL.
    here = request.htmx.current_url_abs_path or reverse("my_day")
    return HttpResponse(task_rows_html([task], request=request, here=here, just_toggled=True))


def _task_form_page(request, form, *, task=None, status=200):
    return render(
        request,
        "interactions/task_form.html",
        {"form": form, "task": task, "nav": "my_day", "next": _next_url(request, "")},
        status=status,
    )


def _task_customer_id(request, form) -> int | None:
    """The customer id of the form, if the user may see that customer (else a form error)."""
    customer_id = form.cleaned_data.get("customer_id")
    if not customer_id:
        return None
    try:
        return customer_selectors.customer_for_user(user=request.user, pk=customer_id).pk
    except NotFound:
        form.add_error("customer_id", _("No customer with this number."))
        return None


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def task_create(request):
    require(request.user, "tasks.manage")
    if request.method == "GET":
        initial = {"customer_id": request.GET.get("customer") or None}
        return _task_form_page(request, TaskForm(initial=initial))
    form = TaskForm(request.POST)
    if form.is_valid():
        customer_id = _task_customer_id(request, form)
        if not form.errors:
            try:
                services.create_task(
                    actor=request.user,
                    title=form.cleaned_data["title"],
                    due_date=form.cleaned_data["due_date"],
                    priority=form.cleaned_data["priority"],
                    notes=form.cleaned_data["notes"],
                    customer_id=customer_id,
                    assignee_id=request.user.pk,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Task created."))
                return redirect(_next_url(request, reverse("my_day")))
    return _task_form_page(request, form, status=422)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def task_edit(request, pk: int):
    """Edit a task; the hidden version refuses to overwrite someone else's newer change."""
    require(request.user, "tasks.manage")
    task = selectors.task_for_user(user=request.user, pk=pk)
    if request.method == "GET":
        form = TaskForm(
            initial={
                "title": task.title,
                "due_date": task.due_date,
                "priority": task.priority,
                "customer_id": task.customer_id,
                "notes": task.notes,
                "version": task.version,
            }
        )
        form.fields["customer_id"].disabled = True
        return _task_form_page(request, form, task=task)
    form = TaskForm(request.POST, initial={"customer_id": task.customer_id})
    form.fields["customer_id"].disabled = True
    status = 422
    if form.is_valid():
        try:
            services.update_task(
                actor=request.user,
                task_id=task.pk,
                expected_version=form.cleaned_data["version"],
                title=form.cleaned_data["title"],
                due_date=form.cleaned_data["due_date"],
                priority=form.cleaned_data["priority"],
                notes=form.cleaned_data["notes"],
            )
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Task saved."))
            return redirect(_next_url(request, reverse("my_day")))
    return _task_form_page(request, form, task=task, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def task_delete(request, pk: int):
    """GET asks for confirmation; POST deletes."""
    require(request.user, "tasks.manage")
    task = selectors.task_for_user(user=request.user, pk=pk)
    if request.method == "GET":
        return render(
            request,
            "interactions/task_confirm_delete.html",
            {"task": task, "nav": "my_day", "next": _next_url(request, "")},
        )
    services.delete_task(actor=request.user, task_id=task.pk)
    messages.success(request, _("Task deleted."))
    if request.htmx:
        response = HttpResponse("")
        response["HX-Redirect"] = _next_url(request, reverse("my_day"))
        return response
    return redirect(_next_url(request, reverse("my_day")))


TASKS_PER_PAGE = 50


@login_required
@require_GET
def task_list(request):
    """All my tasks (or, for managers, their people's) with filters and pages."""
    manager = selectors.manages_people(request.user)
    assignees = selectors.assignee_choices(request.user) if manager else None
    form = TaskFilterForm(request.GET or None, assignees=assignees)
    filters = selectors.TaskFilters()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = selectors.TaskFilters(
            status=d.get("status") or "open",
            due_from=d.get("due_from"),
            due_to=d.get("due_to"),
            assignee=d.get("assignee") or "me",
        )
    qs = selectors.filter_tasks(user=request.user, filters=filters)
    page = Paginator(qs, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    tasks = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "interactions/task_list.html",
        {
            "nav": "my_day",
            "form": form,
            "page": page,
            "tasks": tasks,
            "task_rows": task_rows_html(
                tasks, request=request, here=request.get_full_path(), show_assignee=manager
            ),
            "filters": filters,
            "show_assignee": manager,
            "query": query.urlencode(),
            "can_manage_tasks": can(request.user, "tasks.manage"),
        },
    )


_STAND_IN_PK = 987_654_321_987  # no real id; replaced by the customer's
_CSRF_STAND_IN = "csrf-stand-in-0e7f"
_blank_panels: dict[str, str] = {}


def render_quick_log_panel(request, customer) -> str:
    """HTML of the 360° page's quick log panel for the template tag (empty without
    ``interactions.log``).

    The panel is the same empty form for every customer but for the customer's number (in
    ids and the form's URL) and the csrf token, so it is rendered once per language with
    stand-ins that are then replaced: its seven widgets cost ~3.5 ms of the 360° page
    (decision 0014). Only the "panel" placement: the dialog's heading names the customer."""
    if request is None or not can(request.user, "interactions.log"):
        return ""
    key = get_language()
    html = _blank_panels.get(key)
    if html is None:
        stand_in = SimpleNamespace(pk=_STAND_IN_PK)
        context = quick_log_context(
            stand_in, new_quick_log_form(stand_in, "panel"), where="panel", autofocus=False
        )
        context["csrf_token"] = _CSRF_STAND_IN
        html = _blank_panels[key] = render_to_string("interactions/_quick_log_panel.html", context)
    html = html.replace(str(_STAND_IN_PK), str(customer.pk))
    return mark_safe(html.replace(_CSRF_STAND_IN, get_token(request)))


def render_timeline_panel(request, customer) -> str:
    return render_to_string(
        "interactions/_timeline_panel.html", timeline_context(customer), request=request
    )
