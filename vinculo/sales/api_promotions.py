"""``/price-lists`` (with their quantity breaks) and ``/promotions`` (automatic or coupons,
with how often each was used). Everyone reads them; creating needs ``catalog.manage``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, prefetch_related_objects
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT
from vinculo.core.errors import NotFound
from vinculo.sales import pricelists
from vinculo.sales.api_common import ERRORS, page
from vinculo.sales.models import PriceList, PriceListItem, Promotion, PromotionCode

price_lists_router = Router(tags=["catalog"])
promotions_router = Router(tags=["catalog"])


# --- price lists ------------------------------------------------------------------------------


class PriceListItemOut(Schema):
    id: int
    product_id: int
    sku: str = Field(..., alias="product.sku")
    min_quantity: int
    price: Decimal


class PriceListListItem(Schema):
    id: int
    name: str
    currency: str
    channel: str
    customer_tag: str | None
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    priority: int
    active: bool

    @staticmethod
    def resolve_customer_tag(obj: PriceList) -> str | None:
        return obj.customer_tag.name if obj.customer_tag_id else None


class PriceListOut(PriceListListItem):
    items: list[PriceListItemOut]


class PriceListPage(Schema):
    items: list[PriceListListItem]
    next_cursor: str | None = None


class PriceListItemIn(Schema):
    product_id: int
    min_quantity: int = Field(1, description="The price applies from this many units")
    price: Decimal


class PriceListIn(Schema):
    name: str
    currency: str = "EUR"
    channel: str = Field("", description="Empty for every channel")
    customer_tag: str | None = Field(None, description="Only for customers with this tag")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    priority: int = Field(0, description="The highest-priority list that applies wins")
    active: bool = True
    items: list[PriceListItemIn] = []


def _price_list(pk: int) -> PriceList:
    price_list = PriceList.objects.select_related("customer_tag").filter(pk=pk).first()
    if price_list is None:
        raise NotFound(_("Price list not found."))
    prefetch_related_objects(
        [price_list], Prefetch("items", queryset=PriceListItem.objects.select_related("product"))
    )
    return price_list


@price_lists_router.get("", response={200: PriceListPage, **ERRORS}, summary="Price lists")
def list_price_lists(
    request,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
):
    require(request.auth, "customers.view")
    qs = PriceList.objects.select_related("customer_tag")
    if active is not None:
        qs = qs.filter(active=active)
    return page(qs, "price-lists", (("id", "int"),), False, cursor, limit)


@price_lists_router.get("/{price_list_id}", response={200: PriceListOut, **ERRORS}, summary="One")
def get_price_list(request, price_list_id: int):
    """The price list with its items (one row per product and quantity break)."""
    require(request.auth, "customers.view")
    return _price_list(price_list_id)


@price_lists_router.post("", response={201: PriceListOut, **ERRORS}, summary="Create")
def create_price_list(request, payload: PriceListIn):
    """All or nothing: an invalid item (or two breaks at the same quantity) writes nothing."""
    require(request.auth, "catalog.manage")
    data = payload.dict()
    price_list = pricelists.create_price_list(actor=request.auth, **data)
    return Status(201, _price_list(price_list.pk))


# --- promotions -------------------------------------------------------------------------------


class PromotionListItem(Schema):
    id: int
    name: str
    code: str | None = Field(None, description="The coupon code; empty for an automatic one")
    generated_codes: int = Field(0, description="How many generated coupon codes unlock it")
    kind: str
    value: Decimal
    buy_quantity: int
    get_quantity: int
    min_amount: Decimal | None
    customer_tag: str | None
    first_order_only: bool
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    max_uses_total: int | None
    max_uses_per_customer: int | None
    uses: int = Field(0, description="Times redeemed on confirmed orders")
    stackable: bool
    priority: int
    active: bool

    @staticmethod
    def resolve_customer_tag(obj: Promotion) -> str | None:
        return obj.customer_tag.name if obj.customer_tag_id else None


class PromotionOut(PromotionListItem):
    product_ids: list[int]
    category_ids: list[int]

    @staticmethod
    def resolve_product_ids(obj: Promotion) -> list[int]:
        return sorted(p.pk for p in obj.products.all())

    @staticmethod
    def resolve_category_ids(obj: Promotion) -> list[int]:
        return sorted(c.pk for c in obj.categories.all())


class PromotionPage(Schema):
    items: list[PromotionListItem]
    next_cursor: str | None = None


class PromotionIn(Schema):
    name: str
    kind: str = Field(..., description=", ".join(Promotion.Kind.values))
    value: Decimal = Field(Decimal("0"), description="Percent or amount off")
    code: str | None = Field(None, description="A coupon code; leave empty for automatic")
    buy_quantity: int = 0
    get_quantity: int = 0
    min_amount: Decimal | None = None
    product_ids: list[int] = []
    category_ids: list[int] = []
    customer_tag: str | None = None
    first_order_only: bool = False
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    max_uses_total: int | None = None
    max_uses_per_customer: int | None = None
    stackable: bool = True
    priority: int = 0
    active: bool = True


def _promotions():
    return Promotion.objects.select_related("customer_tag").annotate(
        uses=Count("redemptions", distinct=True), generated_codes=Count("codes", distinct=True)
    )


def _promotion(pk: int) -> Promotion:
    promotion = _promotions().prefetch_related("products", "categories").filter(pk=pk).first()
    if promotion is None:
        raise NotFound(_("Promotion not found."))
    return promotion


@promotions_router.get("", response={200: PromotionPage, **ERRORS}, summary="Promotions")
def list_promotions(
    request,
    active: bool | None = None,
    code: str = "",
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
):
    """Promotions with how often each was used; `code` finds the one a coupon unlocks."""
    require(request.auth, "customers.view")
    qs = _promotions()
    if active is not None:
        qs = qs.filter(active=active)
    if code.strip():
        text = code.strip()
        generated = PromotionCode.objects.filter(code__iexact=text).values("promotion_id")
        qs = qs.filter(Q(code__iexact=text) | Q(pk__in=generated))
    return page(qs, "promotions", (("id", "int"),), False, cursor, limit)


@promotions_router.get("/{promotion_id}", response={200: PromotionOut, **ERRORS}, summary="One")
def get_promotion(request, promotion_id: int):
    require(request.auth, "customers.view")
    return _promotion(promotion_id)


@promotions_router.post("", response={201: PromotionOut, **ERRORS}, summary="Create")
def create_promotion(request, payload: PromotionIn):
    """An automatic promotion, or a coupon when `code` is given (unique, any case)."""
    require(request.auth, "catalog.manage")
    promotion = pricelists.create_promotion(actor=request.auth, **payload.dict())
    return Status(201, _promotion(promotion.pk))
