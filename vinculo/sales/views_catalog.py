"""Catalog pages, mounted at /sales/catalog/: the product list and detail, product forms,
deactivation, and the category tree (variants, options, bundles: views_catalog_config).
Thin: parse, check the capability (everyone on the staff reads; ``catalog.manage``
writes), call one service or selector, render. Price lists, promotions and the price check
are in views_catalog_prices."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.sales import catalog
from vinculo.sales.forms_catalog import CategoryForm, ProductForm
from vinculo.sales.models import Product
from vinculo.sales.paging import list_page
from vinculo.sales.selectors_catalog import (
    category_or_404,
    category_tree,
    label_products,
    product_detail,
    products,
)

PAGE_SIZE = 25
VIEW, MANAGE = "customers.view", "catalog.manage"


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _ctx(request, nav: str, **extra) -> dict:
    return {"nav": "catalog", "catalog_nav": nav, "can_manage": can(request.user, MANAGE), **extra}


# --- product list -----------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def product_list(request):
    require(request.user, VIEW)
    g = request.GET
    category_id = _int(g.get("category"))
    category = category_or_404(category_id) if category_id else None
    active = {"yes": True, "no": False}.get(g.get("active", "yes"))
    active_param = g.get("active", "yes") if active is not None else "all"
    search = (g.get("q") or "").strip()
    sort = g.get("sort") or "name"
    if sort.lstrip("-") not in {"name", "sku", "price", "margin", "stock", "category"}:
        sort = "name"
    qs = products(search=search, category=category, active=active, sort=sort)
    page = list_page(qs, g.get("page"), size=PAGE_SIZE)
    label_products(page.object_list)
    # Copies: the tree is shared between requests (kept per process), the links are this
    # page's. Built once here (the template rebuilt each from four lookups per category).
    tree = [replace(node) for node in category_tree()]
    tail = (f"&q={quote(search)}" if search else "") + f"&active={active_param}"
    for node in tree:
        node.href = f"?category={node.category.pk}{tail}"
        node.current = category is not None and node.category.pk == category.pk
    base = g.copy()
    base.pop("page", None)
    columns = []
    for key, label, numeric in [
        ("sku", _("SKU"), False),
        ("name", _("Name"), False),
        ("category", _("Category"), False),
        ("price", _("Price"), True),
        ("margin", _("Margin"), True),
        ("stock", _("Stock"), True),
    ]:
        qd = base.copy()
        qd["sort"] = f"-{key}" if sort == key else key
        direction = "ascending" if sort == key else "descending" if sort == f"-{key}" else "none"
        columns.append(
            {
                "key": key,
                "label": label,
                "url": "?" + qd.urlencode(),
                "direction": direction,
                "num": numeric,
            }
        )
    return render(
        request,
        "sales/catalog/product_list.html",
        _ctx(
            request,
            "products",
            page=page,
            columns=columns,
            base_qs=base.urlencode(),
            tree=tree,
            f={"category": category, "active": active_param, "q": search},
            has_filters=bool(category or search or active_param != "yes"),
        ),
    )


# --- product detail ---------------------------------------------------------------------------


def _margin_pct(product: Product) -> Decimal | None:
    if not product.price:
        return None
    return ((product.price - product.cost) * 100 / product.price).quantize(Decimal("0.1"))


@login_required
@domain_errors_to_http
def product_view(request, pk):
    require(request.user, VIEW)
    product = product_detail(pk)
    options = list(product.options.all())
    return render(
        request,
        "sales/catalog/product_detail.html",
        _ctx(
            request,
            "products",
            product=product,
            margin=product.price - product.cost,
            margin_pct=_margin_pct(product),
            available=product.stock_on_hand - product.stock_reserved,
            variants=list(product.variants.all()),
            attributes=list(product.attributes.all()),
            options=options,
            bundle_items=list(product.bundle_items.all()),
        ),
    )


# --- create, edit, deactivate -----------------------------------------------------------------


_FIELD_MAP = {"category_id": "category"}


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_create(request):
    require(request.user, MANAGE)
    form = ProductForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                product = catalog.create_product(
                    actor=request.user,
                    sku=d["sku"],
                    name=d["name"],
                    kind=d["kind"],
                    price=d["price"],
                    cost=d.get("cost") or "0",
                    tax_rate=d["tax_rate"],
                    currency=d["currency"],
                    stock_on_hand=d.get("stock_on_hand") or 0,
                    description=d.get("description") or "",
                    category_id=d["category"].pk if d.get("category") else None,
                )
            except ValidationError as exc:
                add_field_errors(form, exc, _FIELD_MAP)
            else:
                messages.success(request, _("Product %(sku)s created.") % {"sku": product.sku})
                return redirect("catalog_product", pk=product.pk)
    return render(
        request,
        "sales/catalog/product_form.html",
        _ctx(request, "products", form=form, product=None),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_edit(request, pk):
    require(request.user, MANAGE)
    product = product_detail(pk)
    initial = {
        "sku": product.sku,
        "name": product.name,
        "category": product.category_id,
        "price": product.price,
        "cost": product.cost,
        "tax_rate": product.tax_rate,
        "currency": product.currency,
        "description": product.description,
        "track_stock": product.track_stock,
        "version": product.version,
    }
    form = ProductForm(request.POST or None, initial=initial, creating=False)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                catalog.update_product(
                    actor=request.user,
                    product_id=product.pk,
                    expected_version=d.get("version"),
                    sku=d["sku"],
                    name=d["name"],
                    description=d.get("description") or "",
                    category_id=d["category"].pk if d.get("category") else None,
                    price=d["price"],
                    cost=d.get("cost") or "0",
                    tax_rate=d["tax_rate"],
                    currency=d["currency"],
                    track_stock=d.get("track_stock", False),
                )
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            except ValidationError as exc:
                add_field_errors(form, exc, _FIELD_MAP)
            else:
                messages.success(request, _("Product saved."))
                return redirect("catalog_product", pk=product.pk)
    return render(
        request,
        "sales/catalog/product_form.html",
        _ctx(request, "products", form=form, product=product),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def product_active(request, pk):
    """Deactivate (or reactivate) after a confirmation page: products are never deleted,
    since orders and quotes keep pointing at them."""
    require(request.user, MANAGE)
    product = product_detail(pk)
    if request.method == "POST":
        try:
            catalog.update_product(
                actor=request.user,
                product_id=product.pk,
                expected_version=_int(request.POST.get("version")),
                active=not product.active,
            )
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            if product.active:
                messages.success(request, _("%(sku)s is no longer sold.") % {"sku": product.sku})
            else:
                messages.success(request, _("%(sku)s is on sale again.") % {"sku": product.sku})
        return redirect("catalog_product", pk=product.pk)
    return render(
        request, "sales/catalog/product_active.html", _ctx(request, "products", product=product)
    )


# --- categories -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def category_list(request):
    """The tree, with a form to add a category (for those who may)."""
    require(request.user, VIEW)
    form = CategoryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(request.user, MANAGE)
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                cat = catalog.create_category(
                    actor=request.user,
                    name=d["name"],
                    parent_id=d["parent"].pk if d.get("parent") else None,
                )
            except ValidationError as exc:
                add_field_errors(form, exc, {"parent_id": "parent"})
            else:
                messages.success(request, _("Category %(path)s created.") % {"path": cat.path})
                return redirect("catalog_categories")
    return render(
        request,
        "sales/catalog/category_list.html",
        _ctx(request, "categories", tree=category_tree(), form=form),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def category_edit(request, pk):
    """Rename and/or move a category; its subcategories and products go with it."""
    require(request.user, MANAGE)
    cat = category_or_404(pk)
    form = CategoryForm(
        request.POST or None, initial={"name": cat.name, "parent": cat.parent_id}, exclude=cat
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            d = form.cleaned_data
            try:
                cat = catalog.update_category(
                    actor=request.user,
                    category_id=cat.pk,
                    name=d["name"],
                    parent_id=d["parent"].pk if d.get("parent") else None,
                )
            except ValidationError as exc:
                add_field_errors(form, exc, {"parent_id": "parent"})
            else:
                messages.success(request, _("Category saved: %(path)s.") % {"path": cat.path})
                return redirect("catalog_categories")
    return render(
        request,
        "sales/catalog/category_form.html",
        _ctx(request, "categories", category=cat, form=form),
        status=status,
    )
