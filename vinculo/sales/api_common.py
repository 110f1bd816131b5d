"""Pieces the sales API modules share: the error responses, cart lines typed by SKU or
product id, and the pricing engine's result as a schema (every line with the rule that
priced it, every promotion applied or refused with its reason)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Schema

from vinculo.core.api import ErrorOut, keyset_page
from vinculo.core.errors import ValidationError
from vinculo.sales.models import Product
from vinculo.sales.pricing import CartLine

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class CartLineIn(Schema):
    sku: str | None = Field(None, description="The product's SKU (or give `product_id`)")
    product_id: int | None = None
    quantity: int = 1
    options: list[str] = Field([], description="Option codes of a configurable product")


def cart_lines(lines: Sequence[CartLineIn], field: str = "lines") -> list[CartLine]:
    """Resolve each line's SKU (or id) to a ``CartLine`` for the pricing engine. An unknown
    SKU, or a line naming neither, is a ValidationError naming ``lines[i].sku``; nothing is
    priced until every line resolves."""
    skus = {ln.sku.strip().upper() for ln in lines if ln.product_id is None and ln.sku}
    by_sku = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk")) if skus else {}
    errors: dict[str, list[str]] = {}
    out: list[CartLine] = []
    for i, ln in enumerate(lines):
        product_id = ln.product_id
        if product_id is None:
            sku = (ln.sku or "").strip().upper()
            if not sku:
                errors[f"{field}[{i}].sku"] = [_("Give a SKU or a product id.")]
                continue
            product_id = by_sku.get(sku)
            if product_id is None:
                errors[f"{field}[{i}].sku"] = [
                    _("There is no product with SKU %(sku)s.") % {"sku": sku}
                ]
                continue
        out.append(CartLine(product_id, ln.quantity, tuple(ln.options)))
    if errors:
        raise ValidationError(_("Some lines cannot be priced."), field_errors=errors)
    return out


def page(qs, key: str, order, descending: bool, cursor: str | None, limit: int) -> dict:
    """One keyset page of ``qs`` as the list schemas expect it."""
    rows, next_cursor = keyset_page(
        qs, key=key, order=order, descending=descending, cursor=cursor, limit=limit
    )
    return {"items": rows, "next_cursor": next_cursor}


def renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """The same error with its fields named as the request names them."""
    exc.field_errors = {names.get(k, k): v for k, v in exc.field_errors.items()}
    return exc


# --- the pricing engine's answer --------------------------------------------------------------


class PricedOptionOut(Schema):
    code: str
    name: str
    price_delta: Decimal


class LineDiscountOut(Schema):
    promotion_id: int | None
    name: str
    amount: Decimal


class PricedLineOut(Schema):
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    price_rule: str = Field(..., description="What priced the line: a price list or the catalog")
    options: list[PricedOptionOut]
    subtotal: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    promotions: list[LineDiscountOut]


class PromotionOutcomeOut(Schema):
    promotion_id: int | None
    name: str
    code: str
    applied: bool
    amount: Decimal
    reason: str = Field(..., description="Why it was refused (empty when applied)")


class PricingOut(Schema):
    currency: str
    lines: list[PricedLineOut]
    promotions: list[PromotionOutcomeOut]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping: Decimal
    shipping_discount: Decimal
    total: Decimal
