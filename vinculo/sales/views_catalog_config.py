"""Product configuration pages, mounted at /sales/catalog/: generate variants (with a preview
first), add options with their compatibility rules, set a bundle's components. Only
``catalog.manage`` may use them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vinculo.accounts.permissions import require
from vinculo.core.errors import ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.sales import catalog
from vinculo.sales.forms_catalog import BundleForm, OptionForm, VariantsForm
from vinculo.sales.selectors_catalog import product_detail, variant_preview
from vinculo.sales.views_catalog import MANAGE, _ctx


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_variants(request, pk):
    """Attributes in, a preview of every combination out; a second post (confirm) creates
    the missing variants."""
    require(request.user, MANAGE)
    product = product_detail(pk)
    lines = [f"{a.name}: {', '.join(a.values)}" for a in product.attributes.all()]
    initial = {"attributes": "\n".join(lines)}
    form = VariantsForm(request.POST or None, initial=initial)
    preview, status = None, 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            preview = variant_preview(product, d["parsed"], d["deltas"])
            status = 200
            if d.get("confirm"):
                try:
                    created = catalog.generate_variants(
                        actor=request.user,
                        template_id=product.pk,
                        attributes=d["parsed"],
                        price_deltas=d["deltas"],
                    )
                except ValidationError as exc:
                    for msg in [m for ms in exc.field_errors.values() for m in ms] or [exc.message]:
                        form.add_error("attributes", msg)
                    status = 422
                else:
                    messages.success(
                        request,
                        _("%(n)s variants created.") % {"n": len(created)}
                        if created
                        else _("Every combination already exists; nothing was created."),
                    )
                    return redirect("catalog_product", pk=product.pk)
    return render(
        request,
        "sales/catalog/product_variants.html",
        _ctx(
            request,
            "products",
            product=product,
            form=form,
            preview=preview,
            new_count=sum(1 for r in preview or [] if not r["exists"]),
        ),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_option_add(request, pk):
    require(request.user, MANAGE)
    product = product_detail(pk)
    form = OptionForm(request.POST or None, product=product)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                option = catalog.add_option(
                    actor=request.user,
                    product_id=product.pk,
                    code=d["code"],
                    name=d["name"],
                    group=d.get("group") or "",
                    price_delta=d.get("price_delta") or "0",
                    requires=d.get("requires") or [],
                    excludes=d.get("excludes") or [],
                    exclusive_group=d.get("exclusive_group", False),
                    required_group=d.get("required_group", False),
                )
            except ValidationError as exc:
                add_field_errors(form, exc)
            else:
                messages.success(request, _("Option %(code)s added.") % {"code": option.code})
                return redirect("catalog_product", pk=product.pk)
    return render(
        request,
        "sales/catalog/product_option_form.html",
        _ctx(request, "products", product=product, form=form),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_bundle(request, pk):
    require(request.user, MANAGE)
    product = product_detail(pk)
    initial = {
        "items": "\n".join(f"{b.component.sku} {b.quantity}" for b in product.bundle_items.all())
    }
    form = BundleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                catalog.set_bundle_items(
                    actor=request.user, bundle_id=product.pk, items=form.cleaned_data["items"]
                )
            except ValidationError as exc:
                for msgs in exc.field_errors.values():
                    for msg in msgs:
                        form.add_error("items", msg)
                if not exc.field_errors:
                    form.add_error("items", exc.message)
            else:
                messages.success(request, _("Bundle components saved."))
                return redirect("catalog_product", pk=product.pk)
    return render(
        request,
        "sales/catalog/product_bundle.html",
        _ctx(request, "products", product=product, form=form),
        status=status,
    )
