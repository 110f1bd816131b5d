"""Duplicate review, merge (compare → confirm → merge) and undo. Thin: permission, one service
or selector call, render. Needs the ``customers.merge`` capability (sales manager, admin)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.http import domain_errors_to_http
from vinculo.customers import duplicates, merging
from vinculo.customers.models import Customer
from vinculo.customers.selectors import customer_for_user, visible_customers

PER_PAGE = 25


def _interaction_count_name() -> str | None:
    # customers sits below interactions: count through the reverse relation if it exists.
    names = {rel.get_accessor_name() for rel in Customer._meta.related_objects}
    return "interactions" if "interactions" in names else None


def _customers_by_id(user, ids) -> dict[int, Customer]:
    qs = visible_customers(user).select_related("owner", "team").filter(pk__in=list(ids))
    rel = _interaction_count_name()
    if rel:
        qs = qs.annotate(n_interactions=Count(rel))
    return {c.pk: c for c in qs}


@login_required
@domain_errors_to_http
def duplicate_list(request):
    require(request.user, "customers.merge")
    review = duplicates.review_duplicates(user=request.user)
    pairs = review.pairs
    sort = request.GET.get("sort", "reason")
    if sort == "score":
        pairs = sorted(pairs, key=lambda p: (-p.score, p.a_id, p.b_id))
    elif sort == "newest":
        pairs = sorted(pairs, key=lambda p: (-p.b_id, -p.a_id))
    else:
        sort = "reason"
    page = Paginator(pairs, PER_PAGE).get_page(request.GET.get("page"))
    by_id = _customers_by_id(request.user, {i for p in page for i in (p.a_id, p.b_id)})
    rows = [
        {"pair": p, "a": by_id[p.a_id], "b": by_id[p.b_id]}
        for p in page
        if p.a_id in by_id and p.b_id in by_id
    ]
    return render(
        request,
        "customers/duplicate_list.html",
        {
            "rows": rows,
            "page": page,
            "total": len(pairs),
            "truncated": len(pairs) >= duplicates.DEFAULT_LIMIT,
            "incomplete": not review.complete,
            "sort": sort,
            "sorts": [
                ("reason", _("Strongest signal first")),
                ("score", _("Highest score first")),
                ("newest", _("Newest records first")),
            ],
            "nav": "customers",
        },
    )


@login_required
@require_POST
@domain_errors_to_http
def duplicate_dismiss(request, a: int, b: int):
    require(request.user, "customers.merge")
    customer_for_user(user=request.user, pk=a)
    customer_for_user(user=request.user, pk=b)
    merging.dismiss_pair(actor=request.user, customer_ids=[a, b])
    if request.htmx:
        return HttpResponse("")  # the row is swapped out
    messages.success(request, _("Marked as not a duplicate."))
    return redirect("duplicate_list")


def _field_rows(survivor: Customer, loser: Customer, choices: dict[str, str]) -> list[dict]:
    rows = []
    for name in merging.merge_fields(survivor.kind, survivor, loser):
        s_val, l_val = merging.field_value(survivor, name), merging.field_value(loser, name)
        if s_val == l_val:
            continue
        rows.append(
            {
                "name": name,
                "label": _field_label(name),
                "survivor": _display(survivor, name, s_val),
                "loser": _display(loser, name, l_val),
                "choice": choices.get(name) or merging.default_choice(survivor, loser, name),
            }
        )
    return rows


def _field_label(name: str) -> str:
    if name.startswith("attributes."):
        from vinculo.customers.models import CustomField

        key = name.split(".", 1)[1]
        cf = CustomField.objects.filter(key=key).first()
        return str(cf.label if cf else key)
    return str(Customer._meta.get_field(name).verbose_name).capitalize()


def _display(c: Customer, name: str, value) -> str:
    if value in (None, "", []):
        return ""
    if name in {"owner_id", "team_id", "organization_id"}:
        return str(getattr(c, name.removesuffix("_id")) or "")
    if name == "stage":
        return c.get_stage_display()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def duplicate_merge(request, a: int, b: int):
    """GET: compare and choose; POST step=confirm: show what will move; POST step=merge: run."""
    require(request.user, "customers.merge")
    if a == b:
        raise NotFound(_("Customer not found."))
    survivor = customer_for_user(user=request.user, pk=a)
    loser = customer_for_user(user=request.user, pk=b)
    if survivor.kind != loser.kind:
        raise NotFound(_("Customer not found."))
    data = request.POST if request.method == "POST" else {}
    choices = {
        name: data.get(f"choice_{name}")
        for name in merging.merge_fields(survivor.kind, survivor, loser)
        if data.get(f"choice_{name}") in ("survivor", "loser")
    }
    versions = (data.get("survivor_version") or None, data.get("loser_version") or None)
    context = {
        "survivor": survivor,
        "loser": loser,
        "survivor_version": versions[0] or survivor.version,
        "loser_version": versions[1] or loser.version,
        "fields": _field_rows(survivor, loser, choices),
        "nav": "customers",
    }
    step = data.get("step")
    if step == "merge":
        try:
            result = merging.merge_customers(
                actor=request.user,
                survivor_id=survivor.pk,
                loser_id=loser.pk,
                field_choices=choices,
                expected_versions=(_int(versions[0]), _int(versions[1])),
            )
        except (Conflict, ValidationError) as exc:
            context["error"] = exc.message
            context["fields"] = _field_rows(survivor, loser, {})
            context["survivor_version"], context["loser_version"] = (
                survivor.version,
                loser.version,
            )
            return render(
                request, "customers/duplicate_merge.html", context, status=exc.status_code
            )
        messages.success(request, _undo_message(request, result))
        return redirect("customer_detail", pk=result.survivor.pk)
    if step == "confirm":
        context["plan"] = merging.plan_merge(survivor=survivor, loser=loser)
        context["chosen"] = [row for row in context["fields"] if row["choice"] == "loser"]
        return render(request, "customers/duplicate_confirm.html", context)
    return render(request, "customers/duplicate_merge.html", context)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _undo_message(request, result: merging.MergeResult):
    return format_html(
        '{} <form method="post" action="{}" class="inline-form">'
        "{}"
        '<button type="submit" class="secondary small" data-testid="undo-merge">{}</button>'
        "</form>",
        _("“%(loser)s” was merged into “%(survivor)s”.")
        % {"loser": result.loser.name, "survivor": result.survivor.name},
        reverse("duplicate_unmerge", args=[result.audit_entry.pk]),
        csrf_input(request),
        _("Undo"),
    )


@login_required
@require_POST
@domain_errors_to_http
def duplicate_unmerge(request, audit_id: int):
    require(request.user, "customers.merge")
    entry = merging.merge_entry_for_user(user=request.user, audit_entry_id=audit_id)
    try:
        restored = merging.unmerge(actor=request.user, audit_entry_id=entry.pk)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("customer_detail", pk=entry.customer_id)
    messages.success(
        request, _("Merge undone: “%(name)s” is a separate customer again.") % {"name": restored}
    )
    return redirect("customer_detail", pk=restored.pk)
