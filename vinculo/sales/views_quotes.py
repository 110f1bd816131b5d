"""Quote pages: list, create (from an opportunity or for a customer) with live re-pricing,
detail, PDF, email to the customer and accept into an order. Thin: parse, check permission
and visibility, call one service or selector, render."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.directory import active_staff_by_name
from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.customers.selectors import (
    CustomerFilters,
    customer_for_user,
    filter_customers,
    visible_customers,
)
from vinculo.sales import quote_changes, quotes
from vinculo.sales.forms_orders import (
    OrderForm,
    QuoteEditForm,
    QuoteForm,
    SendQuoteForm,
    add_pricing_errors,
    cart_from_formset,
    has_row_errors,
    line_formset,
    lines_initial,
)
from vinculo.sales.models import Quote
from vinculo.sales.pricing import CartLine, PricingResult, price_cart
from vinculo.sales.selectors import opportunity_for_user, quote_for_user, visible_quotes

PAGE_SIZE = 25
PICK_LIMIT = 20
Q = Quote.Status


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- shared by the quote and order forms -------------------------------------------------------


@dataclass
class Pricing:
    """The outcome of pricing what was typed: the cart, the engine's result, or why not."""

    cart: list[CartLine] = field(default_factory=list)
    result: PricingResult | None = None
    error: str = ""


def price_typed_lines(formset, form, *, customer_id: int, channel: str, currency: str) -> Pricing:
    """Price the lines grid with the pricing engine. Row problems (unknown SKU, quantity,
    options) are put on their row; anything else comes back as ``error``."""
    out = Pricing()
    if not formset.is_valid() or not form.is_valid():
        return out
    out.cart, row_of = cart_from_formset(formset)
    if has_row_errors(formset):
        return out
    if not out.cart:
        out.error = _("Add at least one product line.")
        return out
    try:
        out.result = price_cart(
            lines=out.cart,
            customer_id=customer_id,
            channel=channel,
            currency=currency,
            coupon_codes=form.cleaned_data.get("coupon_codes") or [],
        )
    except ValidationError as exc:
        if not add_pricing_errors(formset, exc.field_errors, row_of):
            out.error = exc.message
    return out


def grid_with_added_row(request):
    """The posted lines plus one blank row ("Add a line" without JavaScript)."""
    data = request.POST.copy()
    total = _int(data.get("lines-TOTAL_FORMS")) or 0
    data["lines-TOTAL_FORMS"] = str(min(total + 1, 200))
    return line_formset(data)


def pick_customers(request):
    """Customers matching ``?q=`` that the user may see (to start a quote or an order)."""
    q = (request.GET.get("q") or "").strip()
    if not q:
        return q, []
    qs = filter_customers(visible_customers(request.user), CustomerFilters(q=q, sort="name"))
    return q, list(qs.only("pk", "name", "email")[:PICK_LIMIT])


@login_required
@require_POST
@domain_errors_to_http
def price_preview(request):
    """HTMX: re-price the quote or order form as it is typed (nothing is saved)."""
    require(request.user, "customers.edit")
    customer = customer_for_user(user=request.user, pk=request.POST.get("customer"))
    formset = line_formset(request.POST)
    # An edited quote keeps its own channel (sent as quote_channel: "channel" means an order).
    channel = request.POST.get("channel") or request.POST.get("quote_channel") or "rep"
    if "channel" in request.POST:
        form = OrderForm(request.POST)
    elif "valid_until" in request.POST:  # editing a draft quote
        form = QuoteEditForm(request.POST)
    else:
        form = QuoteForm(request.POST)
    pricing = price_typed_lines(
        formset,
        form,
        customer_id=customer.pk,
        channel=channel,
        currency=(request.POST.get("currency") or "EUR").upper()[:3],
    )
    return render(
        request,
        "sales/_order_pricing.html",
        {"pricing": pricing, "formset": formset, "form": form, "preview": True},
    )


# --- list -------------------------------------------------------------------------------------

SORTS = {
    "number": "number",
    "created": "created_at",
    "total": "total",
    "valid": "valid_until",
    "status": "status",
}


def sort_columns(base, sort: str, sorts: dict, spec) -> list[dict]:
    """Table headers: each sortable one links to its ascending/descending order."""
    columns = []
    for key, label, num in spec:
        col = {"key": key, "label": label, "sortable": key in sorts, "num": num}
        if col["sortable"]:
            qd = base.copy()
            qd["sort"] = f"-{key}" if sort == key else key
            col["url"] = "?" + qd.urlencode()
            col["direction"] = (
                "ascending" if sort == key else "descending" if sort == f"-{key}" else "none"
            )
        columns.append(col)
    return columns


@login_required
@domain_errors_to_http
def quote_list(request):
    require(request.user, "customers.view")
    g = request.GET
    qs = visible_quotes(request.user).select_related("customer", "owner", "order")
    status = g.get("status") or ""
    if status in Q.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    customer_q = (g.get("customer") or "").strip()
    if customer_q:
        qs = qs.filter(customer__name__icontains=customer_q)
    customer_id = _int(g.get("customer_id"))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    owner_id = _int(g.get("owner"))
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    sort = g.get("sort") or "-created"
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = "-created", "created"
    qs = qs.order_by(f"-{SORTS[key]}" if sort.startswith("-") else SORTS[key], "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(g.get("page"))
    base = g.copy()
    base.pop("page", None)
    columns = sort_columns(
        base,
        sort,
        SORTS,
        [
            ("number", _("Number"), False),
            ("customer", _("Customer"), False),
            ("status", _("Status"), False),
            ("created", _("Created"), False),
            ("valid", _("Valid until"), False),
            ("total", _("Total"), True),
            ("owner", _("Owner"), False),
        ],
    )
    return render(
        request,
        "sales/quote_list.html",
        {
            "nav": "quotes",
            "page": page,
            "columns": columns,
            "base_qs": base.urlencode(),
            "statuses": Q.choices,
            "owners": active_staff_by_name(),
            "f": {
                "status": status,
                "customer": customer_q,
                "customer_id": customer_id,
                "owner": owner_id,
            },
            "has_filters": any([status, customer_q, customer_id, owner_id]),
        },
    )


# --- create -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quote_create(request):
    """New quote for ``?opportunity=`` (its product lines are copied) or ``?customer=``;
    without either, pick the customer first."""
    require(request.user, "customers.edit")
    opp = None
    if request.GET.get("opportunity"):
        opp = opportunity_for_user(user=request.user, pk=request.GET.get("opportunity"))
        customer = opp.customer
    elif request.GET.get("customer"):
        customer = customer_for_user(user=request.user, pk=request.GET.get("customer"))
    else:
        q, found = pick_customers(request)
        return render(
            request,
            "sales/quote_pick_customer.html",
            {"nav": "quotes", "q": q, "found": found, "kind": "quote"},
        )
    currency = opp.currency if opp else "EUR"
    status = 200
    pricing = Pricing()
    if request.method == "POST":
        form = QuoteForm(request.POST)
        if "add_line" in request.POST:
            formset = grid_with_added_row(request)
        else:
            formset = line_formset(request.POST)
            pricing = price_typed_lines(
                formset, form, customer_id=customer.pk, channel="rep", currency=currency
            )
            if pricing.result is not None:
                try:
                    quote = quotes.create_quote(
                        actor=request.user,
                        customer_id=customer.pk,
                        lines=pricing.cart,
                        opportunity_id=opp.pk if opp else None,
                        valid_days=form.cleaned_data["valid_days"],
                        coupon_codes=form.cleaned_data["coupon_codes"],
                        currency=currency,
                        notes=form.cleaned_data.get("notes") or "",
                    )
                except ValidationError as exc:
                    add_field_errors(form, exc)
                else:
                    messages.success(
                        request, _("Quote %(number)s created.") % {"number": quote.number}
                    )
                    return redirect("quote_detail", pk=quote.pk)
            status = 422
    else:
        form = QuoteForm()
        initial = lines_initial(opp.lines.select_related("product")) if opp else []
        formset = line_formset(initial=initial)
        if initial:  # show how the opportunity's lines price before anything is typed
            data = {**formset_data(initial), "valid_days": "30"}
            pricing = price_typed_lines(
                line_formset(data),
                QuoteForm(data),
                customer_id=customer.pk,
                channel="rep",
                currency=currency,
            )
    return render(
        request,
        "sales/quote_form.html",
        {
            "nav": "quotes",
            "form": form,
            "formset": formset,
            "customer": customer,
            "opp": opp,
            "currency": currency,
            "pricing": pricing,
        },
        status=status,
    )


def formset_data(rows: list[dict]) -> dict:
    """POST-like data for the lines grid holding ``rows`` (to price them before any typing)."""
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        for k, v in row.items():
            data[f"lines-{i}-{k}"] = str(v)
    return data


# --- detail, PDF, send, accept ----------------------------------------------------------------


def _detail_context(request, quote: Quote, **extra) -> dict:
    promotions = quote.pricing.get("promotions", []) if isinstance(quote.pricing, dict) else []
    expired = quotes.is_expired(quote)
    # A revision replaces this quote: the page points to it instead of offering send/accept.
    replaced_by = quotes.replacement(quote) if quote.status in (Q.DRAFT, Q.SENT) else None
    return {
        "nav": "quotes",
        "quote": quote,
        "lines": list(quote.lines.all()),
        "applied": [p for p in promotions if p.get("applied")],
        "refused": [p for p in promotions if not p.get("applied")],
        "can_edit": can(request.user, "customers.edit"),
        "can_send": quote.status in (Q.DRAFT, Q.SENT) and not expired and not replaced_by,
        "replaced_by": replaced_by,
        "past_date": expired and quote.status in (Q.DRAFT, Q.SENT),
        "revisable": quote_changes.REVISABLE,
        "revisions": list(
            visible_quotes(request.user).filter(revises=quote).only("pk", "number", "status")
        ),
        **extra,
    }


@login_required
@domain_errors_to_http
def quote_detail(request, pk):
    require(request.user, "customers.view")
    quote = quote_for_user(user=request.user, pk=pk)
    return render(request, "sales/quote_detail.html", _detail_context(request, quote))


@login_required
@domain_errors_to_http
def quote_pdf(request, pk):
    require(request.user, "customers.view")
    quote = quote_for_user(user=request.user, pk=pk)
    response = HttpResponse(quotes.render_quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.number}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quote_send(request, pk):
    """Confirm the recipient (the customer's primary email by default), then send."""
    require(request.user, "customers.edit")
    quote = quote_for_user(user=request.user, pk=pk)
    form = SendQuoteForm(request.POST or None, initial={"to_email": quote.customer.email})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                quotes.send_quote(
                    actor=request.user, quote_id=quote.pk, to_email=form.cleaned_data["to_email"]
                )
            except ValidationError as exc:
                add_field_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Quote %(number)s sent to %(to)s.")
                    % {"number": quote.number, "to": form.cleaned_data["to_email"]},
                )
                return redirect("quote_detail", pk=quote.pk)
        status = 422
    return render(
        request,
        "sales/quote_send.html",
        {"nav": "quotes", "quote": quote, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quote_accept(request, pk):
    """Confirm, then turn the quote into a draft order at the quoted prices."""
    require(request.user, "customers.edit")
    quote = quote_for_user(user=request.user, pk=pk)
    if quote.status == Q.ACCEPTED and quote.order_id:
        return redirect("order_detail", pk=quote.order_id)
    error, status = "", 200
    if request.method == "POST":
        try:
            order = quotes.accept_quote(actor=request.user, quote_id=quote.pk)
        except (ValidationError, Conflict) as exc:
            error, status = exc.message, exc.status_code
        else:
            messages.success(
                request,
                _(
                    "Quote %(quote)s accepted: order %(order)s is a draft; confirm it to reserve "
                    "the stock."
                )
                % {"quote": quote.number, "order": order.number},
            )
            return redirect("order_detail", pk=order.pk)
    return render(
        request,
        "sales/quote_accept.html",
        {"nav": "quotes", "quote": quote, "error": error},
        status=status,
    )
