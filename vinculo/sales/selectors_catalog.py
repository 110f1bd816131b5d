"""Reads of the catalog, price lists and promotions for the staff pages. Everyone on the
staff may read the catalog (only ``catalog.manage`` may change it), so no visibility filter;
each selector chooses its joins so a page costs the same number of queries at any size."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from vinculo.core.errors import NotFound
from vinculo.core.fast import fast_reverse
from vinculo.core.process_cache import ProcessCache
from vinculo.sales.models import (
    BundleItem,
    Category,
    PriceList,
    PriceListItem,
    Product,
    ProductOption,
    Promotion,
    PromotionCode,
    PromotionRedemption,
)

PRODUCT_SORTS = {
    "name": "name",
    "sku": "sku",
    "price": "price",
    "margin": "margin_pct",
    "stock": "stock_on_hand",
    "category": "category__path",
}


@dataclass
class CategoryNode:
    category: Category
    depth: int
    own_products: int
    all_products: int  # with every subcategory's (the roll-up)


def category_tree() -> list[CategoryNode]:
    """Every category in tree order (by path), with its depth and product counts. Kept per
    process for a few seconds (core.process_cache): the list's side panel counted the whole
    catalog on every page. Read-only nodes shared between requests."""
    return _tree.get()


def _load_tree() -> list[CategoryNode]:
    cats = list(Category.objects.annotate(n=Count("products")).order_by("path"))
    totals = {c.path: 0 for c in cats}
    for c in cats:
        # Add this category's own products to itself and each ancestor.
        parts = c.path.split("/")
        for i in range(1, len(parts) + 1):
            key = "/".join(parts[:i])
            if key in totals:
                totals[key] += c.n
    return [CategoryNode(c, c.path.count("/"), c.n, totals[c.path]) for c in cats]


_tree = ProcessCache("category_tree", _load_tree, models=(Category, Product))


def category_or_404(pk) -> Category:
    try:
        return Category.objects.get(pk=pk)
    except (Category.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Category not found.")) from None


def products(
    *,
    search: str = "",
    category: Category | None = None,
    active: bool | None = None,
    sort: str = "name",
) -> QuerySet[Product]:
    """Products for the list: a category shows its subcategories' products too; variants
    are listed under their template unless a search looks for them (by name or SKU)."""
    margin_pct = Case(
        When(price__gt=0, then=(F("price") - F("cost")) * Value(Decimal(100)) / F("price")),
        default=None,
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    qs = Product.objects.select_related("category").annotate(
        margin=ExpressionWrapper(
            F("price") - F("cost"), output_field=DecimalField(max_digits=14, decimal_places=2)
        ),
        margin_pct=margin_pct,
    )
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    else:
        qs = qs.filter(parent__isnull=True)
    if category is not None:
        qs = qs.filter(Q(category=category) | Q(category__path__startswith=category.path + "/"))
    if active is not None:
        qs = qs.filter(active=active)
    key = sort.lstrip("-")
    field = PRODUCT_SORTS.get(key, "name")
    if sort.startswith("-"):
        return qs.order_by(F(field).desc(nulls_last=True), "sku")
    return qs.order_by(F(field).asc(nulls_last=True), "sku")


def label_products(rows: list[Product]) -> list[Product]:
    """Give each product of a list page what its row prints, computed once per page: ``url``,
    ``kind_label`` (bundles and configurables only), ``category_label``, ``price_label``,
    ``margin_label``, ``margin_pct_label``, ``variants_label`` and ``reserved_label``.
    {% url %}, get_kind_display(), floatformat and {% blocktranslate %} per cell were most of
    the page's time."""
    kinds = dict(Product.Kind.choices)
    # Counted for this page's products only: a GROUP BY over the whole catalog was most of
    # the list's SQL (2,500 products at 1M customers).
    variants = dict(
        Product.objects.filter(parent_id__in=[p.pk for p in rows])
        .order_by()
        .values("parent_id")
        .annotate(n=Count("pk"))
        .values_list("parent_id", "n")
    )
    reserved = _("%(n)s reserved")
    for p in rows:
        p.n_variants = variants.get(p.pk, 0)
        p.url = fast_reverse("catalog_product", [p.pk])
        p.kind_label = kinds.get(p.kind, p.kind) if p.kind not in ("simple", "template") else ""
        p.category_label = (p.category.path if p.category_id else "") or "—"
        p.price_label = floatformat(p.price, "2g")
        p.margin_label = floatformat(p.margin, "2g")
        p.margin_pct_label = floatformat(p.margin_pct, 1) if p.margin_pct is not None else ""
        p.variants_label = (
            ngettext("%(n)s variant", "%(n)s variants", p.n_variants) % {"n": p.n_variants}
            if p.n_variants
            else ""
        )
        p.reserved_label = reserved % {"n": p.stock_reserved} if p.stock_reserved else ""
    return rows


def product_detail(pk) -> Product:
    """One product with everything its page shows: variants, options with their rules,
    attributes and bundle components."""
    try:
        return (
            Product.objects.select_related("category", "parent")
            .prefetch_related(
                Prefetch("variants", queryset=Product.objects.order_by("sku")),
                "attributes",
                Prefetch(
                    "options",
                    queryset=ProductOption.objects.prefetch_related("requires", "excludes"),
                ),
                Prefetch("bundle_items", queryset=BundleItem.objects.select_related("component")),
            )
            .get(pk=pk)
        )
    except (Product.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Product not found.")) from None


def price_lists() -> QuerySet[PriceList]:
    return (
        PriceList.objects.select_related("customer_tag")
        .annotate(n_items=Count("items"), n_products=Count("items__product", distinct=True))
        .order_by("-priority", "name", "pk")
    )


def price_list_or_404(pk) -> PriceList:
    try:
        return PriceList.objects.select_related("customer_tag").get(pk=pk)
    except (PriceList.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Price list not found.")) from None


def price_list_detail(pk) -> tuple[PriceList, list[dict]]:
    """A price list and its items grouped by product, breaks in ascending quantity."""
    price_list = price_list_or_404(pk)
    groups: dict[int, dict] = {}
    items = PriceListItem.objects.filter(price_list=price_list).select_related("product")
    for item in items.order_by("product__name", "product__sku", "min_quantity"):
        group = groups.setdefault(item.product_id, {"product": item.product, "breaks": []})
        group["breaks"].append(item)
    return price_list, list(groups.values())


def price_item_or_404(*, price_list_id, pk) -> PriceListItem:
    try:
        return PriceListItem.objects.select_related("product").get(
            pk=pk, price_list_id=price_list_id
        )
    except (PriceListItem.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Price not found.")) from None


PROMOTION_STATES = {
    "active": gettext_lazy("Active"),
    "scheduled": gettext_lazy("Scheduled"),
    "expired": gettext_lazy("Expired"),
    "inactive": gettext_lazy("Switched off"),
}


def promotion_state(promo: Promotion, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if not promo.active:
        return "inactive"
    if promo.valid_to and promo.valid_to <= now:
        return "expired"
    if promo.valid_from and promo.valid_from > now:
        return "scheduled"
    return "active"


def _count_of(model, fk: str):
    """A correlated COUNT subquery: no join, so two counts never multiply each other."""
    rows = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(c=Count("pk"))
        .values("c")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _with_usage(qs: QuerySet[Promotion]) -> QuerySet[Promotion]:
    return qs.annotate(
        uses=_count_of(PromotionRedemption, "promotion"),
        n_codes=_count_of(PromotionCode, "promotion"),
    )


def promotions(*, state: str = "", now: dt.datetime | None = None) -> QuerySet[Promotion]:
    """Promotions with their usage (redemptions) and generated-code counts, by state."""
    now = now or timezone.now()
    qs = _with_usage(Promotion.objects.select_related("customer_tag")).order_by("-priority", "-pk")
    live = Q(active=True) & (Q(valid_to__isnull=True) | Q(valid_to__gt=now))
    if state == "active":
        qs = qs.filter(live & (Q(valid_from__isnull=True) | Q(valid_from__lte=now)))
    elif state == "scheduled":
        qs = qs.filter(live & Q(valid_from__gt=now))
    elif state == "expired":
        qs = qs.filter(active=True, valid_to__lte=now)
    elif state == "inactive":
        qs = qs.filter(active=False)
    return qs


def promotion_detail(pk) -> Promotion:
    try:
        return _with_usage(
            Promotion.objects.select_related("customer_tag").prefetch_related(
                "products", "categories"
            )
        ).get(pk=pk)
    except (Promotion.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Promotion not found.")) from None


def latest_codes(promo: Promotion, limit: int = 50) -> list[PromotionCode]:
    """The newest generated coupon codes of a promotion (the page shows a sample)."""
    return list(PromotionCode.objects.filter(promotion=promo).order_by("-id")[:limit])


def all_codes(promo: Promotion):
    """Every generated code of a promotion, streamed (a batch may hold thousands)."""
    return (
        PromotionCode.objects.filter(promotion=promo)
        .order_by("id")
        .values_list("code", flat=True)
        .iterator()
    )


def variant_preview(product: Product, attributes, deltas) -> list[dict]:
    """What ``catalog.generate_variants`` would make: SKU, name and price per combination,
    and whether it exists already. Same naming rule as the service; writes nothing."""
    existing = {tuple(sorted(v.variant_values.items())) for v in product.variants.all()}
    names = list(attributes)
    rows = []
    for combo in itertools.product(*(attributes[a] for a in names)):
        values = dict(zip(names, combo, strict=True))
        price = product.price + sum(
            (Decimal(deltas.get(a, {}).get(v, 0)) for a, v in values.items()), Decimal(0)
        )
        rows.append(
            {
                "sku": f"{product.sku}-" + "-".join(slugify(v).upper() or "X" for v in combo),
                "name": f"{product.name} ({', '.join(combo)})",
                "price": price,
                "exists": tuple(sorted(values.items())) in existing,
            }
        )
    return rows
