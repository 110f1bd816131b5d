"""Price list and promotion services: create a price list with its quantity breaks, and a
promotion (automatic, or a coupon when it has a code). The pricing engine reads both."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Tag
from vinculo.sales.models import (
    Category,
    Order,
    PriceList,
    PriceListItem,
    Product,
    Promotion,
    PromotionCode,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CODE = re.compile(r"^[A-Z0-9_-]{3,40}$")


def _money(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, AttributeError):
        errors[field] = [_("Enter an amount.")]
        return None
    if number < 0:
        errors[field] = [_("Cannot be negative.")]
        return None
    if number >= Decimal("1e12"):  # the columns hold 12 digits before the point
        errors[field] = [_("This amount is too large.")]
        return None
    return number.quantize(Decimal("0.01"))


def _common(
    errors: dict[str, list[str]],
    *,
    name: str,
    customer_tag: str | None,
    valid_from: dt.datetime | None,
    valid_to: dt.datetime | None,
) -> Tag | None:
    if not (name or "").strip():
        errors["name"] = [_("Enter a name.")]
    if valid_from and valid_to and valid_to <= valid_from:
        errors["valid_to"] = [_("The end must be after the start.")]
    tag = None
    if customer_tag:
        tag = Tag.objects.filter(name__iexact=customer_tag.strip()).first()
        if tag is None:
            errors["customer_tag"] = [
                _("There is no customer tag “%(tag)s”.") % {"tag": customer_tag}
            ]
    return tag


@transaction.atomic
def create_price_list(
    *,
    actor,
    name: str,
    currency: str = "EUR",
    channel: str = "",
    customer_tag: str | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    priority: int = 0,
    active: bool = True,
    items: Sequence[Mapping[str, Any]] = (),
) -> PriceList:
    """Create a price list for a segment (customer tag), channel, currency and date range,
    with its items ({product_id, min_quantity, price}). Two items for the same product and
    the same starting quantity are refused (the break would be ambiguous). All or nothing:
    any invalid field or item writes nothing. Audited."""
    errors: dict[str, list[str]] = {}
    tag = _common(
        errors, name=name, customer_tag=customer_tag, valid_from=valid_from, valid_to=valid_to
    )
    currency = (currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        errors["currency"] = [_("Use a three-letter currency code (EUR, USD, MXN...).")]
    channel = (channel or "").strip()
    if channel and channel not in Order.Channel.values:
        errors["channel"] = [_("Choose a sales channel, or none for every channel.")]
    products = Product.objects.in_bulk([i.get("product_id") for i in items if i.get("product_id")])
    seen: set[tuple[int, int]] = set()
    rows: list[PriceListItem] = []
    for n, item in enumerate(items):
        key = f"items[{n}]"
        product = products.get(item.get("product_id"))
        if product is None:
            errors[f"{key}.product_id"] = [_("Choose an existing product.")]
            continue
        min_quantity = item.get("min_quantity", 1)
        if not isinstance(min_quantity, int) or isinstance(min_quantity, bool) or min_quantity < 1:
            errors[f"{key}.min_quantity"] = [_("The starting quantity must be at least 1.")]
            continue
        if (product.pk, min_quantity) in seen:
            errors[f"{key}.min_quantity"] = [
                _("“%(sku)s” already has a price from %(n)s units in this list.")
                % {"sku": product.sku, "n": min_quantity}
            ]
            continue
        seen.add((product.pk, min_quantity))
        price = _money(item.get("price"), f"{key}.price", errors)
        if price is not None:
            rows.append(PriceListItem(product=product, min_quantity=min_quantity, price=price))
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    price_list = PriceList.objects.create(
        name=name.strip()[:100],
        currency=currency,
        channel=channel,
        customer_tag=tag,
        valid_from=valid_from,
        valid_to=valid_to,
        priority=int(priority or 0),
        active=bool(active),
    )
    for row in rows:
        row.price_list = price_list
    PriceListItem.objects.bulk_create(rows)
    audit.record(
        actor=actor,
        action="create",
        obj=price_list,
        changes={"name": [None, price_list.name], "items": [None, len(rows)]},
    )
    return price_list


@transaction.atomic
def create_promotion(
    *,
    actor,
    name: str,
    kind: str,
    value: Decimal | str | int = 0,
    code: str | None = None,
    buy_quantity: int = 0,
    get_quantity: int = 0,
    min_amount: Decimal | str | None = None,
    product_ids: Iterable[int] = (),
    category_ids: Iterable[int] = (),
    customer_tag: str | None = None,
    first_order_only: bool = False,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    max_uses_total: int | None = None,
    max_uses_per_customer: int | None = None,
    stackable: bool = True,
    priority: int = 0,
    active: bool = True,
) -> Promotion:
    """Create a promotion: automatic, or a coupon when ``code`` is given (codes are unique,
    matched case-insensitively, stored upper-case). The discount's shape is checked here so
    the engine never meets a misconfigured one. All or nothing, audited."""
    errors: dict[str, list[str]] = {}
    tag = _common(
        errors, name=name, customer_tag=customer_tag, valid_from=valid_from, valid_to=valid_to
    )
    amount = check_discount(errors, kind, value, buy_quantity, get_quantity)
    minimum = _money(min_amount, "min_amount", errors) if min_amount not in (None, "") else None
    if code is not None:
        code = check_code(errors, code)
    products, categories = check_targets_and_limits(
        errors, product_ids, category_ids, max_uses_total, max_uses_per_customer
    )
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    promotion = Promotion.objects.create(
        name=name.strip()[:100],
        code=code or None,
        kind=kind,
        value=amount or Decimal("0.00"),
        buy_quantity=buy_quantity or 0,
        get_quantity=get_quantity or 0,
        min_amount=minimum,
        customer_tag=tag,
        first_order_only=bool(first_order_only),
        valid_from=valid_from,
        valid_to=valid_to,
        max_uses_total=max_uses_total,
        max_uses_per_customer=max_uses_per_customer,
        stackable=bool(stackable),
        priority=int(priority or 0),
        active=bool(active),
    )
    promotion.products.set(products)
    promotion.categories.set(categories)
    audit.record(
        actor=actor,
        action="create",
        obj=promotion,
        changes={"name": [None, promotion.name], "code": [None, promotion.code]},
    )
    return promotion


# --- promotion checks, shared by create_promotion and promotions.update_promotion ------------


def code_taken(code: str, *, promotion_id: int | None = None) -> bool:
    """Is ``code`` already a coupon (a promotion's own code or a generated one)?"""
    own = Promotion.objects.filter(code__iexact=code)
    if promotion_id:
        own = own.exclude(pk=promotion_id)
    return own.exists() or PromotionCode.objects.filter(code__iexact=code).exists()


def check_code(errors: dict[str, list[str]], code: str, *, promotion_id: int | None = None) -> str:
    """The coupon code upper-cased; its shape and uniqueness errors go into ``errors``."""
    code = code.strip().upper()
    if not _CODE.match(code):
        errors["code"] = [_("A coupon code has 3 to 40 letters, digits, hyphens or underscores.")]
    elif code_taken(code, promotion_id=promotion_id):
        errors["code"] = [_("The coupon code “%(code)s” is taken.") % {"code": code}]
    return code


def check_discount(errors, kind, value, buy_quantity, get_quantity) -> Decimal | None:
    """The discount's shape for its kind; returns the parsed value."""
    if kind not in Promotion.Kind.values:
        errors["kind"] = [_("Choose a kind of promotion.")]
    amount = _money(value, "value", errors)
    if kind == Promotion.Kind.PERCENT and amount is not None and not 0 < amount <= 100:
        errors["value"] = [_("The percentage must be between 0 and 100.")]
    if kind == Promotion.Kind.AMOUNT and amount is not None and amount <= 0:
        errors["value"] = [_("Enter the amount off.")]
    if kind == Promotion.Kind.BUY_X_GET_Y:
        if not buy_quantity or buy_quantity < 1:
            errors["buy_quantity"] = [_("Say how many must be bought.")]
        if not get_quantity or get_quantity < 1:
            errors["get_quantity"] = [_("Say how many are free.")]
    return amount


def check_targets_and_limits(
    errors, product_ids, category_ids, max_uses_total, max_uses_per_customer
) -> tuple[list[Product], list[Category]]:
    """The promotion's products and categories (each must exist) and its usage limits."""
    product_ids, category_ids = list(dict.fromkeys(product_ids)), list(dict.fromkeys(category_ids))
    products = list(Product.objects.filter(pk__in=product_ids))
    if len(products) != len(product_ids):
        errors["product_ids"] = [_("Choose existing products.")]
    categories = list(Category.objects.filter(pk__in=category_ids))
    if len(categories) != len(category_ids):
        errors["category_ids"] = [_("Choose existing categories.")]
    for field_name, limit in (
        ("max_uses_total", max_uses_total),
        ("max_uses_per_customer", max_uses_per_customer),
    ):
        if limit is not None and limit < 1:
            errors[field_name] = [_("Leave empty for no limit, or give at least 1.")]
    return products, categories
