"""The catalog: ``/products`` (with variants, options and bundle items) and ``/categories``.
Price lists and promotions are in ``api_promotions``.

Everyone with an account reads the catalog; creating and changing it needs the
``catalog.manage`` capability (administrators and sales managers)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT
from vinculo.core.errors import NotFound, ValidationError
from vinculo.sales import catalog
from vinculo.sales.api_common import ERRORS, page
from vinculo.sales.models import (
    BundleItem,
    Category,
    Product,
    ProductOption,
)

products_router = Router(tags=["catalog"])
categories_router = Router(tags=["catalog"])

PRODUCT_SORTS: dict[str, tuple[tuple[tuple[str, str], ...], bool]] = {
    "name": ((("name", "str"), ("id", "int")), False),
    "-name": ((("name", "str"), ("id", "int")), True),
    "sku": ((("sku", "str"), ("id", "int")), False),
    "-sku": ((("sku", "str"), ("id", "int")), True),
    "-created": ((("id", "int"),), True),
    "created": ((("id", "int"),), False),
}


# --- products ---------------------------------------------------------------------------------


class ProductListItem(Schema):
    id: int
    sku: str
    name: str
    kind: str
    category_id: int | None
    category_path: str | None = Field(None, alias="category.path")
    parent_id: int | None
    price: Decimal
    cost: Decimal
    currency: str
    tax_rate: Decimal
    stock_on_hand: int
    stock_reserved: int
    track_stock: bool
    active: bool
    version: int


class AttributeOut(Schema):
    name: str
    values: list[str]


class VariantOut(Schema):
    id: int
    sku: str
    name: str
    variant_values: dict[str, str]
    price: Decimal
    active: bool


class OptionOut(Schema):
    id: int
    code: str
    name: str
    group: str
    price_delta: Decimal
    exclusive_group: bool
    required_group: bool
    requires: list[str]
    excludes: list[str]

    @staticmethod
    def resolve_requires(obj: ProductOption) -> list[str]:
        return [o.code for o in obj.requires.all()]

    @staticmethod
    def resolve_excludes(obj: ProductOption) -> list[str]:
        return [o.code for o in obj.excludes.all()]


class BundleItemOut(Schema):
    component_id: int
    sku: str = Field(..., alias="component.sku")
    name: str = Field(..., alias="component.name")
    quantity: int


class ProductOut(ProductListItem):
    description: str
    variant_values: dict[str, str]
    attributes: list[AttributeOut]
    variants: list[VariantOut]
    options: list[OptionOut]
    bundle_items: list[BundleItemOut]


class ProductPage(Schema):
    items: list[ProductListItem]
    next_cursor: str | None = None


class ProductListQuery(Schema):
    q: str = Field("", description="Search name or SKU")
    category: int | None = Field(None, description="This category and its subcategories")
    active: bool | None = None
    kind: str = ""
    sort: str = Field("name", description=", ".join(PRODUCT_SORTS))
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ProductIn(Schema):
    sku: str
    name: str
    price: Decimal
    kind: str = Product.Kind.SIMPLE
    category_id: int | None = None
    cost: Decimal = Decimal("0")
    tax_rate: Decimal = Field(Decimal("21"), description="Percent")
    currency: str = "EUR"
    stock_on_hand: int = 0
    description: str = ""


class ProductPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale one answers 409")
    sku: str | None = None
    name: str | None = None
    description: str | None = None
    category_id: int | None = None
    price: Decimal | None = None
    cost: Decimal | None = None
    tax_rate: Decimal | None = None
    currency: str | None = None
    active: bool | None = Field(None, description="Deactivate instead of deleting")
    track_stock: bool | None = None


class VariantsIn(Schema):
    attributes: dict[str, list[str]] = Field(..., description='{"size": ["S", "M", "L"]}')
    price_deltas: dict[str, dict[str, Decimal]] = Field(
        {}, description='Added to the template price: {"size": {"L": "2.00"}}'
    )


class OptionIn(Schema):
    code: str
    name: str
    group: str = ""
    price_delta: Decimal = Decimal("0")
    requires: list[str] = Field([], description="Codes of options this one needs")
    excludes: list[str] = Field([], description="Codes of options it cannot go with")
    exclusive_group: bool = True
    required_group: bool = False


class BundleItemIn(Schema):
    component_id: int
    quantity: int = 1


class BundleItemsIn(Schema):
    items: list[BundleItemIn]


def product_detail(pk: int) -> Product:
    product = Product.objects.select_related("category").filter(pk=pk).first()
    if product is None:
        raise NotFound(_("Product not found."))
    prefetch_related_objects(
        [product],
        "attributes",
        Prefetch("variants", queryset=Product.objects.order_by("sku")),
        Prefetch(
            "options", queryset=ProductOption.objects.prefetch_related("requires", "excludes")
        ),
        Prefetch("bundle_items", queryset=BundleItem.objects.select_related("component")),
    )
    return product


@products_router.get("", response={200: ProductPage, **ERRORS}, summary="List products")
def list_products(request, query: Query[ProductListQuery]):
    """Products by name (or SKU); `category` includes its subcategories. Keyset-paginated."""
    require(request.auth, "customers.view")
    if query.sort not in PRODUCT_SORTS:
        raise ValidationError.for_field(
            "sort", _("Sort by one of: %(s)s.") % {"s": ", ".join(PRODUCT_SORTS)}
        )
    qs = Product.objects.select_related("category")
    if query.q.strip():
        text = query.q.strip()
        qs = qs.filter(Q(name__icontains=text) | Q(sku__icontains=text))
    if query.category:
        category = Category.objects.filter(pk=query.category).first()
        if category is None:
            raise ValidationError.for_field("category", _("Choose an existing category."))
        qs = qs.filter(
            Q(category__path=category.path) | Q(category__path__startswith=category.path + "/")
        )
    if query.active is not None:
        qs = qs.filter(active=query.active)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    order, descending = PRODUCT_SORTS[query.sort]
    return page(qs, f"products:{query.sort}", order, descending, query.cursor, query.limit)


@products_router.get("/{product_id}", response={200: ProductOut, **ERRORS}, summary="One")
def get_product(request, product_id: int):
    """The product with its variant attributes, variants, options (and their rules) and
    bundle components."""
    require(request.auth, "customers.view")
    return product_detail(product_id)


@products_router.post("", response={201: ProductOut, **ERRORS}, summary="Create a product")
def create_product(request, payload: ProductIn):
    require(request.auth, "catalog.manage")
    product = catalog.create_product(actor=request.auth, **payload.dict())
    return Status(201, product_detail(product.pk))


@products_router.patch("/{product_id}", response={200: ProductOut, **ERRORS}, summary="Update")
def update_product(request, product_id: int, payload: ProductPatchIn):
    """Change the fields you send; `version` must be the one you read (else 409)."""
    require(request.auth, "catalog.manage")
    product = product_detail(product_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    catalog.update_product(
        actor=request.auth, product_id=product.pk, expected_version=version, **changes
    )
    return product_detail(product.pk)


@products_router.post(
    "/{product_id}/variants", response={201: ProductOut, **ERRORS}, summary="Generate variants"
)
def generate_variants(request, product_id: int, payload: VariantsIn):
    """One variant per combination of attribute values; existing combinations are kept."""
    require(request.auth, "catalog.manage")
    product = product_detail(product_id)
    catalog.generate_variants(
        actor=request.auth,
        template_id=product.pk,
        attributes=payload.attributes,
        price_deltas=payload.price_deltas,
    )
    return Status(201, product_detail(product.pk))


@products_router.post(
    "/{product_id}/options", response={201: ProductOut, **ERRORS}, summary="Add an option"
)
def add_option(request, product_id: int, payload: OptionIn):
    """An option of a configurable product, with the codes it requires or excludes."""
    require(request.auth, "catalog.manage")
    product = product_detail(product_id)
    catalog.add_option(actor=request.auth, product_id=product.pk, **payload.dict())
    return Status(201, product_detail(product.pk))


@products_router.put(
    "/{product_id}/bundle-items", response={200: ProductOut, **ERRORS}, summary="Bundle items"
)
def set_bundle_items(request, product_id: int, payload: BundleItemsIn):
    """Replace the components of a bundle."""
    require(request.auth, "catalog.manage")
    product = product_detail(product_id)
    catalog.set_bundle_items(
        actor=request.auth,
        bundle_id=product.pk,
        items=[(i.component_id, i.quantity) for i in payload.items],
    )
    return product_detail(product.pk)


# --- categories -------------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    name: str
    parent_id: int | None
    path: str


class CategoryPage(Schema):
    items: list[CategoryOut]
    next_cursor: str | None = None


class CategoryIn(Schema):
    name: str
    parent_id: int | None = None


@categories_router.get("", response={200: CategoryPage, **ERRORS}, summary="List categories")
def list_categories(
    request, cursor: str | None = None, limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT)
):
    """The category tree in path order (a parent before its children)."""
    require(request.auth, "customers.view")
    order = (("path", "str"), ("id", "int"))
    return page(Category.objects.all(), "categories", order, False, cursor, limit)


@categories_router.get("/{category_id}", response={200: CategoryOut, **ERRORS}, summary="One")
def get_category(request, category_id: int):
    require(request.auth, "customers.view")
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound(_("Category not found."))
    return category


@categories_router.post("", response={201: CategoryOut, **ERRORS}, summary="Create a category")
def create_category(request, payload: CategoryIn):
    require(request.auth, "catalog.manage")
    return Status(201, catalog.create_category(actor=request.auth, **payload.dict()))
