"""Price list, promotion and price check pages, mounted at /sales/catalog/. Thin: parse,
check the capability (everyone on the staff reads; ``catalog.manage`` writes), call one
service or selector, render."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.permissions import require
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import pricelist_edits, pricelists, promotions
from vinculo.sales.forms_catalog import (
    CouponBatchForm,
    PriceCheckForm,
    PriceItemForm,
    PriceListForm,
    PromotionForm,
)
from vinculo.sales.models import Order
from vinculo.sales.pricing import price_cart
from vinculo.sales.selectors_catalog import (
    PROMOTION_STATES,
    all_codes,
    latest_codes,
    price_item_or_404,
    price_list_detail,
    price_list_or_404,
    price_lists,
    promotion_detail,
    promotion_state,
)
from vinculo.sales.selectors_catalog import promotions as promotion_rows
from vinculo.sales.views_catalog import MANAGE, PAGE_SIZE, VIEW, _ctx

# --- price lists ------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def price_list_list(request):
    require(request.user, VIEW)
    page = Paginator(price_lists(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/catalog/price_list_list.html",
        _ctx(request, "price_lists", page=page, now=timezone.now()),
    )


@login_required
@domain_errors_to_http
def price_list_view(request, pk):
    require(request.user, VIEW)
    price_list, groups = price_list_detail(pk)
    return render(
        request,
        "sales/catalog/price_list_detail.html",
        _ctx(
            request,
            "price_lists",
            price_list=price_list,
            groups=groups,
            item_form=PriceItemForm(),
        ),
    )


def _price_list_kwargs(d: dict) -> dict:
    return {
        "name": d["name"],
        "currency": d["currency"],
        "channel": d.get("channel") or "",
        "customer_tag": d.get("customer_tag") or None,
        "valid_from": d.get("valid_from"),
        "valid_to": d.get("valid_to"),
        "priority": d.get("priority") or 0,
        "active": d.get("active", False),
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def price_list_form(request, pk=None):
    """Create a price list (pk None) or change who it is for."""
    require(request.user, MANAGE)
    price_list = price_list_or_404(pk) if pk else None
    initial = {}
    if price_list is not None:
        initial = {
            "name": price_list.name,
            "currency": price_list.currency,
            "channel": price_list.channel,
            "customer_tag": price_list.customer_tag.name if price_list.customer_tag else "",
            "valid_from": price_list.valid_from,
            "valid_to": price_list.valid_to,
            "priority": price_list.priority,
            "active": price_list.active,
        }
    form = PriceListForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            kwargs = _price_list_kwargs(form.cleaned_data)
            try:
                if price_list is None:
                    price_list = pricelists.create_price_list(actor=request.user, **kwargs)
                    messages.success(request, _("Price list created. Now add its prices."))
                else:
                    pricelist_edits.update_price_list(
                        actor=request.user, price_list_id=price_list.pk, **kwargs
                    )
                    messages.success(request, _("Price list saved."))
            except ValidationError as exc:
                add_field_errors(form, exc)
            else:
                return redirect("catalog_price_list", pk=price_list.pk)
    return render(
        request,
        "sales/catalog/price_list_form.html",
        _ctx(request, "price_lists", form=form, price_list=price_list),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def price_item_form(request, pk, item_pk=None):
    """Add a quantity break (item_pk None) or change one; errors come back on the form."""
    require(request.user, MANAGE)
    price_list = price_list_or_404(pk)
    item = price_item_or_404(price_list_id=price_list.pk, pk=item_pk) if item_pk else None
    initial = (
        {"sku": item.product.sku, "min_quantity": item.min_quantity, "price": item.price}
        if item
        else {"sku": request.GET.get("sku", ""), "min_quantity": 1}
    )
    form = PriceItemForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                pricelist_edits.save_price_item(
                    actor=request.user,
                    price_list_id=price_list.pk,
                    item_id=item.pk if item else None,
                    product_id=form.product_id,
                    min_quantity=d["min_quantity"],
                    price=d["price"],
                )
            except ValidationError as exc:
                add_field_errors(form, exc, {"product": "sku"})
            else:
                messages.success(request, _("Price saved."))
                return redirect("catalog_price_list", pk=price_list.pk)
    return render(
        request,
        "sales/catalog/price_item_form.html",
        _ctx(request, "price_lists", form=form, price_list=price_list, item=item),
        status=status,
    )


@login_required
@require_POST
@domain_errors_to_http
def price_item_remove(request, pk, item_pk):
    require(request.user, MANAGE)
    try:
        pricelist_edits.remove_price_item(actor=request.user, price_list_id=pk, item_id=item_pk)
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Price removed."))
    return redirect("catalog_price_list", pk=pk)


# --- promotions -------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def promotion_list(request):
    require(request.user, VIEW)
    state = request.GET.get("state") or ""
    if state not in PROMOTION_STATES:
        state = ""
    now = timezone.now()
    page = Paginator(promotion_rows(state=state, now=now), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(p, promotion_state(p, now)) for p in page.object_list]
    return render(
        request,
        "sales/catalog/promotion_list.html",
        _ctx(
            request,
            "promotions",
            page=page,
            rows=rows,
            state=state,
            states=PROMOTION_STATES,
            base_qs=f"state={state}" if state else "",
        ),
    )


@login_required
@domain_errors_to_http
def promotion_view(request, pk):
    require(request.user, VIEW)
    promo = promotion_detail(pk)
    codes = latest_codes(promo)
    return render(
        request,
        "sales/catalog/promotion_detail.html",
        _ctx(
            request,
            "promotions",
            promo=promo,
            state=promotion_state(promo),
            states=PROMOTION_STATES,
            codes=codes,
            batch_form=CouponBatchForm(),
        ),
    )


def _promotion_kwargs(d: dict) -> dict:
    return {
        "name": d["name"],
        "kind": d["kind"],
        "value": d.get("value") or "0",
        "code": d.get("code") or None,
        "buy_quantity": d.get("buy_quantity") or 0,
        "get_quantity": d.get("get_quantity") or 0,
        "min_amount": d.get("min_amount") or None,
        "product_ids": d.get("skus") or [],
        "category_ids": [c.pk for c in d.get("categories") or []],
        "customer_tag": d.get("customer_tag") or None,
        "first_order_only": d.get("first_order_only", False),
        "valid_from": d.get("valid_from"),
        "valid_to": d.get("valid_to"),
        "max_uses_total": d.get("max_uses_total"),
        "max_uses_per_customer": d.get("max_uses_per_customer"),
        "stackable": d.get("stackable", False),
        "priority": d.get("priority") or 0,
        "active": d.get("active", False),
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def promotion_form(request, pk=None):
    require(request.user, MANAGE)
    promo = promotion_detail(pk) if pk else None
    initial = {}
    if promo is not None:
        initial = {
            f: getattr(promo, f)
            for f in (
                "name",
                "kind",
                "value",
                "code",
                "buy_quantity",
                "get_quantity",
                "min_amount",
                "first_order_only",
                "valid_from",
                "valid_to",
                "max_uses_total",
                "max_uses_per_customer",
                "stackable",
                "priority",
                "active",
            )
        }
        initial["skus"] = ", ".join(p.sku for p in promo.products.all())
        initial["categories"] = [c.pk for c in promo.categories.all()]
        initial["customer_tag"] = promo.customer_tag.name if promo.customer_tag else ""
    form = PromotionForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            kwargs = _promotion_kwargs(form.cleaned_data)
            try:
                if promo is None:
                    promo = pricelists.create_promotion(actor=request.user, **kwargs)
                    messages.success(request, _("Promotion created."))
                else:
                    promotions.update_promotion(actor=request.user, promotion_id=promo.pk, **kwargs)
                    messages.success(request, _("Promotion saved."))
            except ValidationError as exc:
                add_field_errors(form, exc, {"product_ids": "skus", "category_ids": "categories"})
            else:
                return redirect("catalog_promotion", pk=promo.pk)
    return render(
        request,
        "sales/catalog/promotion_form.html",
        _ctx(request, "promotions", form=form, promo=promo),
        status=status,
    )


@login_required
@require_POST
@domain_errors_to_http
def promotion_codes(request, pk):
    """Generate a batch of unique coupon codes for the promotion."""
    require(request.user, MANAGE)
    promo = promotion_detail(pk)
    form = CouponBatchForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            created = promotions.generate_coupon_codes(
                actor=request.user,
                promotion_id=promo.pk,
                count=d["count"],
                prefix=d.get("prefix") or "",
                length=d["length"],
            )
        except (ValidationError, Conflict) as exc:
            add_field_errors(form, exc)
        else:
            messages.success(request, _("%(n)s coupon codes generated.") % {"n": len(created)})
            return redirect("catalog_promotion", pk=promo.pk)
    codes = latest_codes(promo)
    return render(
        request,
        "sales/catalog/promotion_detail.html",
        _ctx(
            request,
            "promotions",
            promo=promo,
            state=promotion_state(promo),
            states=PROMOTION_STATES,
            codes=codes,
            batch_form=form,
        ),
        status=422,
    )


@login_required
@domain_errors_to_http
def promotion_codes_csv(request, pk):
    """Every generated code of a promotion, for mailing or printing."""
    require(request.user, MANAGE)
    promo = promotion_detail(pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="coupons-{promo.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow([_("code"), _("promotion")])
    for code in all_codes(promo):
        writer.writerow([code, promo.name])
    return response


# --- price check ------------------------------------------------------------------------------


def _line_errors(exc: ValidationError, line_numbers: list[int]) -> list[str]:
    """The engine names ``lines[i].field``; say "Line n" as the user typed it."""
    out = []
    for key, msgs in exc.field_errors.items():
        prefix = ""
        if key.startswith("lines["):
            index = int(key[6 : key.index("]")])
            if index < len(line_numbers):
                prefix = _("Line %(n)s: ") % {"n": line_numbers[index]}
        out.extend(prefix + m for m in msgs)
    return out or [exc.message]


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def price_check(request):
    """What would this cart cost? The pricing engine's answer, line by line. HTMX posts
    the form as the user types and gets only the result back."""
    require(request.user, VIEW)
    data = request.POST if request.method == "POST" else None
    if data is None and "lines" in request.GET:  # a shared link to a priced cart
        data = request.GET
    form = PriceCheckForm(data, initial={"channel": Order.Channel.WEB, "currency": "EUR"})
    result, errors, customer = None, [], None
    if data is not None and form.is_valid():
        d = form.cleaned_data
        try:
            if d.get("customer"):
                customer = customer_for_user(user=request.user, pk=d["customer"])
            result = price_cart(
                lines=d["lines"],
                customer_id=customer.pk if customer else None,
                channel=d["channel"],
                currency=d["currency"],
                coupon_codes=d["coupons"],
                shipping=d.get("shipping") or 0,
            )
        except NotFound:
            form.add_error("customer", _("No customer you can see has this number."))
        except ValidationError as exc:
            errors = _line_errors(exc, getattr(form, "line_numbers", []))
    if data is not None and form.errors:
        errors = [
            f"{form[name].label}: {e}"
            for name, errs in form.errors.items()
            if name in form.fields
            for e in errs
        ]
        errors += list(form.non_field_errors())
    context = _ctx(
        request, "price_check", form=form, result=result, errors=errors, customer=customer
    )
    template = "sales/catalog/price_check.html"
    if request.htmx and not request.htmx.history_restore_request:
        template = "sales/catalog/_price_check_result.html"
    return render(request, template, context)
