"""Quote pages that change a quote after it is made: edit a draft (the create form's lines
grid, re-priced live), record the customer's rejection, revise into a new draft. Thin:
parse, check permission and visibility, call one service in ``quote_changes``, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.sales import quote_changes
from vinculo.sales.forms_orders import QuoteEditForm, RejectQuoteForm, line_formset, lines_initial
from vinculo.sales.models import Quote
from vinculo.sales.selectors import quote_for_user
from vinculo.sales.views_quotes import (
    Pricing,
    formset_data,
    grid_with_added_row,
    price_typed_lines,
)

Q = Quote.Status


def _initial(quote: Quote) -> dict:
    return {
        "coupon_codes": ", ".join(quote.coupon_codes),
        "valid_until": quote.valid_until.isoformat(),
        "notes": quote.notes,
        "version": quote.version,
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quote_edit(request, pk):
    """Edit a draft: lines, coupon codes, validity and notes, priced as they are typed and
    saved through the pricing engine; a stale form (someone saved first) is refused (409)."""
    require(request.user, "customers.edit")
    quote = quote_for_user(user=request.user, pk=pk)
    if quote.status != Q.DRAFT:
        messages.error(
            request, _("Only a draft quote can be edited; revise this one to make a new draft.")
        )
        return redirect("quote_detail", pk=quote.pk)
    status, pricing = 200, Pricing()
    if request.method == "POST":
        form = QuoteEditForm(request.POST)
        if "add_line" in request.POST:
            formset = grid_with_added_row(request)
        else:
            formset = line_formset(request.POST)
            pricing = price_typed_lines(
                formset,
                form,
                customer_id=quote.customer_id,
                channel=quote.channel,
                currency=quote.currency,
            )
            status = _save(request, quote, form, pricing)
            if status == 302:
                messages.success(request, _("Quote %(number)s saved.") % {"number": quote.number})
                return redirect("quote_detail", pk=quote.pk)
    else:
        form = QuoteEditForm(initial=_initial(quote))
        initial = lines_initial(quote.lines.all())
        formset = line_formset(initial=initial)
        data = {**formset_data(initial), **_initial(quote)}
        pricing = price_typed_lines(
            line_formset(data),
            QuoteEditForm(data),
            customer_id=quote.customer_id,
            channel=quote.channel,
            currency=quote.currency,
        )
    return render(
        request,
        "sales/quote_form.html",
        {
            "nav": "quotes",
            "form": form,
            "formset": formset,
            "customer": quote.customer,
            "opp": quote.opportunity,
            "currency": quote.currency,
            "pricing": pricing,
            "quote": quote,
        },
        status=status,
    )


def _save(request, quote: Quote, form, pricing: Pricing) -> int:
    """Save the priced edit; the status code to answer (302 when saved)."""
    if pricing.result is None:
        return 422
    d = form.cleaned_data
    try:
        quote_changes.update_quote(
            actor=request.user,
            quote_id=quote.pk,
            expected_version=d.get("version"),
            lines=pricing.cart,
            coupon_codes=d["coupon_codes"],
            valid_until=d["valid_until"],
            notes=d.get("notes") or "",
        )
    except Conflict as exc:
        form.add_error(None, exc.message)
        return 409
    except ValidationError as exc:
        add_field_errors(form, exc)
        return 422
    return 302


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def quote_reject(request, pk):
    """Ask for the customer's reason, then mark the sent quote rejected."""
    require(request.user, "customers.edit")
    quote = quote_for_user(user=request.user, pk=pk)
    form = RejectQuoteForm(request.POST or None, initial={"version": quote.version})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                quote_changes.reject_quote(
                    actor=request.user,
                    quote_id=quote.pk,
                    reason=form.cleaned_data["reason"],
                    expected_version=form.cleaned_data.get("version"),
                )
            except (ValidationError, Conflict) as exc:
                add_field_errors(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request, _("Quote %(number)s marked as rejected.") % {"number": quote.number}
                )
                return redirect("quote_detail", pk=quote.pk)
    return render(
        request,
        "sales/quote_reject.html",
        {"nav": "quotes", "quote": quote, "form": form},
        status=status,
    )


@login_required
@require_POST
@domain_errors_to_http
def quote_revise(request, pk):
    """Copy a sent, rejected or expired quote into a new draft and open it for editing."""
    require(request.user, "customers.edit")
    quote = quote_for_user(user=request.user, pk=pk)
    try:
        revision = quote_changes.revise_quote(actor=request.user, quote_id=quote.pk)
    except ValidationError as exc:
        messages.error(request, exc.message)
        return redirect("quote_detail", pk=quote.pk)
    messages.success(
        request,
        _("Quote %(new)s is a new draft revising %(old)s; change it and send it.")
        % {"new": revision.number, "old": quote.number},
    )
    return redirect("quote_edit", pk=revision.pk)
