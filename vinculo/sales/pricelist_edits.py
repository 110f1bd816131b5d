"""Price list edits after creation (``pricelists.create_price_list`` creates them): change
the list's scope, and add, change or remove its items (quantity breaks)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import ValidationError
from vinculo.sales.models import Order, PriceList, PriceListItem, Product
from vinculo.sales.pricelists import _CURRENCY, _common, _money

PRICE_LIST_FIELDS = (
    "name",
    "currency",
    "channel",
    "customer_tag",
    "valid_from",
    "valid_to",
    "priority",
    "active",
)


def _locked_list(price_list_id: int) -> PriceList:
    price_list = PriceList.objects.select_for_update().filter(pk=price_list_id).first()
    if price_list is None:
        raise ValidationError.for_field("price_list_id", _("Choose an existing price list."))
    return price_list


@transaction.atomic
def update_price_list(
    *,
    actor,
    price_list_id: int,
    name: str,
    currency: str = "EUR",
    channel: str = "",
    customer_tag: str | None = None,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    priority: int = 0,
    active: bool = True,
) -> PriceList:
    """Change who a price list is for (segment, channel, currency, dates, priority). Nothing
    is written when a field is invalid. Audited with before/after."""
    price_list = _locked_list(price_list_id)
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
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    before = audit.snapshot(price_list, PRICE_LIST_FIELDS)
    price_list.name = name.strip()[:100]
    price_list.currency = currency
    price_list.channel = channel
    price_list.customer_tag = tag
    price_list.valid_from, price_list.valid_to = valid_from, valid_to
    price_list.priority = int(priority or 0)
    price_list.active = bool(active)
    price_list.save()
    delta = audit.diff(before, audit.snapshot(price_list, PRICE_LIST_FIELDS))
    if delta:
        audit.record(actor=actor, action="update", obj=price_list, changes=delta)
    return price_list


@transaction.atomic
def save_price_item(
    *,
    actor,
    price_list_id: int,
    product_id: int | None,
    min_quantity,
    price,
    item_id: int | None = None,
) -> PriceListItem:
    """Add a quantity break to a price list (or change ``item_id``). A second price for the
    same product from the same quantity is refused: the break would be ambiguous. Audited."""
    price_list = _locked_list(price_list_id)
    item = None
    if item_id is not None:
        item = PriceListItem.objects.filter(pk=item_id, price_list=price_list).first()
        if item is None:
            raise ValidationError.for_field("item_id", _("This price is no longer in the list."))
    errors: dict[str, list[str]] = {}
    product = Product.objects.filter(pk=product_id).first() if product_id else None
    if product is None:
        errors["product"] = [_("Choose an existing product.")]
    if isinstance(min_quantity, bool) or not isinstance(min_quantity, int) or min_quantity < 1:
        errors["min_quantity"] = [_("The starting quantity must be at least 1.")]
    amount = _money(price, "price", errors)
    if product is not None and "min_quantity" not in errors:
        clash = PriceListItem.objects.filter(
            price_list=price_list, product=product, min_quantity=min_quantity
        )
        if item is not None:
            clash = clash.exclude(pk=item.pk)
        if clash.exists():
            errors["min_quantity"] = [
                _(
                    "“%(sku)s” already has a price from %(n)s units in this list; "
                    "change that price instead."
                )
                % {"sku": product.sku, "n": min_quantity}
            ]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    assert product is not None  # no errors: the product was found
    before = (
        {"product": item.product_id, "min_quantity": item.min_quantity, "price": str(item.price)}
        if item
        else {}
    )
    if item is None:
        item = PriceListItem(price_list=price_list)
    item.product, item.min_quantity, item.price = product, min_quantity, amount
    item.save()
    after = {"product": product.pk, "min_quantity": min_quantity, "price": str(amount)}
    audit.record(
        actor=actor,
        action="update",
        obj=price_list,
        changes={f"item {product.sku}": [before or None, after]},
    )
    return item


@transaction.atomic
def remove_price_item(*, actor, price_list_id: int, item_id: int) -> None:
    """Remove one quantity break from a price list. Audited."""
    price_list = _locked_list(price_list_id)
    item = (
        PriceListItem.objects.select_related("product")
        .filter(pk=item_id, price_list=price_list)
        .first()
    )
    if item is None:
        raise ValidationError.for_field("item_id", _("This price is no longer in the list."))
    before = {"min_quantity": item.min_quantity, "price": str(item.price)}
    item.delete()
    audit.record(
        actor=actor,
        action="update",
        obj=price_list,
        changes={f"item {item.product.sku}": [before, None]},
    )
