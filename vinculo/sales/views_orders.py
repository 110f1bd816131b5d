"""Order pages: list with filters and totals, new order priced by the engine, detail with
bundle components, taxes, discounts and status history, and the status actions the order
may take next. Thin: parse, check permission and visibility, call one service, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import orders
from vinculo.sales.forms_orders import OrderForm, StatusForm, line_formset
from vinculo.sales.models import Order, OrderLine, Quote
from vinculo.sales.selectors import order_for_user
from vinculo.sales.selectors_orders import (
    ORDER_SORTS,
    OrderFilters,
    filtered_orders,
    order_page,
    order_totals,
)
from vinculo.sales.views_quotes import (
    Pricing,
    grid_with_added_row,
    pick_customers,
    price_typed_lines,
    sort_columns,
)

PAGE_SIZE = 25
S = Order.Status
# Transitions that undo something (stock released or put back) ask for confirmation.
CONFIRM_FIRST = {S.CANCELLED, S.RETURNED}
ACTION_LABELS = {
    S.CONFIRMED: gettext_lazy("Confirm"),
    S.PAID: gettext_lazy("Mark as paid"),
    S.SHIPPED: gettext_lazy("Mark as shipped"),
    S.DELIVERED: gettext_lazy("Mark as delivered"),
    S.CANCELLED: gettext_lazy("Cancel order"),
    S.RETURNED: gettext_lazy("Record a return"),
}


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- list -------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def order_list(request):
    require(request.user, "customers.view")
    g = request.GET
    sort = g.get("sort") or "-ordered"
    if sort.lstrip("-") not in ORDER_SORTS:
        sort = "-ordered"
    f = OrderFilters(
        status=g.get("status") if g.get("status") in S.values else "",
        channel=g.get("channel") if g.get("channel") in Order.Channel.values else "",
        date_from=_date(g.get("from")),
        date_to=_date(g.get("to")),
        customer=(g.get("customer") or "").strip(),
        customer_id=_int(g.get("customer_id")),
        number=(g.get("q") or "").strip(),
        sort=sort,
    )
    qs = filtered_orders(request.user, f)
    # Totals over everything filtered (not just the page), one row per currency, up to 1,000.
    totals, totals_capped = order_totals(qs)
    page = order_page(qs, sort=sort, page=g.get("page"), size=PAGE_SIZE)
    base = g.copy()
    base.pop("page", None)
    columns = sort_columns(
        base,
        sort,
        ORDER_SORTS,
        [
            ("number", _("Number"), False),
            ("customer", _("Customer"), False),
            ("ordered", _("Ordered"), False),
            ("channel", _("Channel"), False),
            ("status", _("Status"), False),
            ("total", _("Total"), True),
        ],
    )
    filters = {
        "status": f.status,
        "channel": f.channel,
        "from": f.date_from.isoformat() if f.date_from else "",
        "to": f.date_to.isoformat() if f.date_to else "",
        "customer": f.customer,
        "customer_id": f.customer_id,
        "q": f.number,
    }
    return render(
        request,
        "sales/order_list.html",
        {
            "nav": "orders",
            "page": page,
            "columns": columns,
            "base_qs": base.urlencode(),
            "statuses": S.choices,
            "channels": Order.Channel.choices,
            "totals": totals,
            "totals_capped": totals_capped,
            "number_partial": f.number_partial,
            "f": filters,
            "has_filters": any(filters.values()),
            "can_edit": can(request.user, "customers.edit"),
        },
    )


# --- create -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def order_create(request):
    """New order for ``?customer=`` (pick the customer first without it), priced by the
    engine: what the form shows as the total is what the order will cost."""
    require(request.user, "customers.edit")
    if not request.GET.get("customer"):
        q, found = pick_customers(request)
        return render(
            request,
            "sales/quote_pick_customer.html",
            {"nav": "orders", "q": q, "found": found, "kind": "order"},
        )
    customer = customer_for_user(user=request.user, pk=request.GET.get("customer"))
    status = 200
    pricing = Pricing()
    if request.method == "POST":
        form = OrderForm(request.POST)
        if "add_line" in request.POST:
            formset = grid_with_added_row(request)
        else:
            formset = line_formset(request.POST)
            channel = request.POST.get("channel") or Order.Channel.REP
            pricing = price_typed_lines(
                formset, form, customer_id=customer.pk, channel=channel, currency="EUR"
            )
            if pricing.result is not None:
                try:
                    order = orders.create_order(
                        actor=request.user,
                        customer_id=customer.pk,
                        lines=pricing.cart,
                        channel=form.cleaned_data["channel"],
                        coupon_codes=form.cleaned_data["coupon_codes"],
                    )
                except ValidationError as exc:
                    add_field_errors(form, exc)
                else:
                    messages.success(
                        request,
                        _("Order %(number)s created as a draft.") % {"number": order.number},
                    )
                    return redirect("order_detail", pk=order.pk)
            status = 422
    else:
        form = OrderForm()
        formset = line_formset()
    return render(
        request,
        "sales/order_form.html",
        {
            "nav": "orders",
            "form": form,
            "formset": formset,
            "customer": customer,
            "currency": "EUR",
            "pricing": pricing,
        },
        status=status,
    )


# --- detail and status ------------------------------------------------------------------------


def _line_rows(order: Order) -> list[dict]:
    """Priced lines in order, each with its bundle components right under it."""
    lines = list(order.lines.order_by("id"))
    components: dict[int, list[OrderLine]] = {}
    for ln in lines:
        if ln.bundle_line_id:
            components.setdefault(ln.bundle_line_id, []).append(ln)
    priced = order.pricing.get("lines", []) if isinstance(order.pricing, dict) else []
    rows = []
    for i, ln in enumerate(ln for ln in lines if not ln.bundle_line_id):
        info = priced[i] if i < len(priced) else {}
        rows.append(
            {
                "line": ln,
                "price_rule": info.get("price_rule", ""),
                "promotions": info.get("promotions", []),
                "components": components.get(ln.pk, []),
            }
        )
    return rows


def _detail(request, order: Order, *, error: str = "", status: int = 200):
    promotions = order.pricing.get("promotions", []) if isinstance(order.pricing, dict) else []
    editable = can(request.user, "customers.edit")
    labels = dict(S.choices)
    actions = [
        {"status": s, "label": ACTION_LABELS[s], "confirm": s in CONFIRM_FIRST}
        for s in S.values
        if s in orders.TRANSITIONS.get(order.status, set())
    ]
    return render(
        request,
        "sales/order_detail.html",
        {
            "nav": "orders",
            "order": order,
            "rows": _line_rows(order),
            "applied": [p for p in promotions if p.get("applied")],
            "refused": [p for p in promotions if not p.get("applied")],
            "history": [
                {
                    "row": h,
                    "from_label": labels.get(h.from_status, ""),
                    "to_label": labels.get(h.to_status, h.to_status),
                }
                for h in order.status_history.select_related("changed_by").order_by("id")
            ],
            "actions": actions if editable else [],
            "quote": Quote.objects.filter(order=order).only("pk", "number").first(),
            "error": error,
        },
        status=status,
    )


@login_required
@domain_errors_to_http
def order_detail(request, pk):
    require(request.user, "customers.view")
    return _detail(request, order_for_user(user=request.user, pk=pk))


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def order_status(request, pk, status):
    """GET: ask to confirm the move (cancel and return say what happens to the stock).
    POST: move the order; a refusal (not enough stock, a stale page, a price change) is shown
    on the order page and nothing changes."""
    require(request.user, "customers.edit")
    order = order_for_user(user=request.user, pk=pk)
    if status not in S.values:
        raise Http404
    form = StatusForm(request.POST or None, initial={"version": order.version})
    allowed = status in orders.TRANSITIONS.get(order.status, set())
    if request.method == "GET":
        return render(
            request,
            "sales/order_status_confirm.html",
            {
                "nav": "orders",
                "order": order,
                "target": status,
                "target_label": S(status).label,
                "action_label": ACTION_LABELS.get(status, S(status).label),
                "allowed": allowed,
                "form": form,
            },
            status=200 if allowed else 409,
        )
    data = form.cleaned_data if form.is_valid() else {}
    try:
        moved = orders.set_order_status(
            actor=request.user,
            order_id=order.pk,
            status=status,
            expected_version=data.get("version"),
            note=data.get("note") or "",
        )
    except (Conflict, ValidationError) as exc:
        message = exc.message
        if isinstance(exc, ValidationError) and exc.field_errors:
            message = " ".join(m for ms in exc.field_errors.values() for m in ms)
        order.refresh_from_db()
        return _detail(request, order, error=message, status=exc.status_code)
    messages.success(
        request,
        _("Order %(number)s is now %(status)s.")
        % {"number": moved.number, "status": S(moved.status).label.lower()},
    )
    return redirect("order_detail", pk=moved.pk)
