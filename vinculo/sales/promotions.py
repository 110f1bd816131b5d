"""Promotion edits after creation (``pricelists.create_promotion`` creates them): change the
rules, and generate batches of unique coupon codes. The pricing engine reads both."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.sales.models import Promotion, PromotionCode
from vinculo.sales.pricelists import (
    _CODE,
    _common,
    _money,
    check_code,
    check_discount,
    check_targets_and_limits,
)

# No 0/O, 1/I/L: codes are read aloud on the phone and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_CODES_PER_BATCH = 5000

PROMOTION_FIELDS = (
    "name",
    "code",
    "kind",
    "value",
    "buy_quantity",
    "get_quantity",
    "min_amount",
    "customer_tag",
    "first_order_only",
    "valid_from",
    "valid_to",
    "max_uses_total",
    "max_uses_per_customer",
    "stackable",
    "priority",
    "active",
)


@transaction.atomic
def update_promotion(
    *,
    actor,
    promotion_id: int,
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
    """Replace a promotion's rules with the same checks as creation. All or nothing: an
    invalid field writes nothing. Audited with before/after."""
    promo = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
    if promo is None:
        raise ValidationError.for_field("promotion_id", _("Choose an existing promotion."))
    errors: dict[str, list[str]] = {}
    tag = _common(
        errors, name=name, customer_tag=customer_tag, valid_from=valid_from, valid_to=valid_to
    )
    amount = check_discount(errors, kind, value, buy_quantity, get_quantity)
    minimum = _money(min_amount, "min_amount", errors) if min_amount not in (None, "") else None
    if code:
        code = check_code(errors, code, promotion_id=promo.pk)
    products, categories = check_targets_and_limits(
        errors, product_ids, category_ids, max_uses_total, max_uses_per_customer
    )
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    before = audit.snapshot(promo, PROMOTION_FIELDS)
    before["products"] = sorted(promo.products.values_list("pk", flat=True))
    before["categories"] = sorted(promo.categories.values_list("pk", flat=True))
    values: dict[str, Any] = {
        "name": name.strip()[:100],
        "code": code or None,
        "kind": kind,
        "value": amount or Decimal("0.00"),
        "buy_quantity": buy_quantity or 0,
        "get_quantity": get_quantity or 0,
        "min_amount": minimum,
        "customer_tag": tag,
        "first_order_only": bool(first_order_only),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "max_uses_total": max_uses_total,
        "max_uses_per_customer": max_uses_per_customer,
        "stackable": bool(stackable),
        "priority": int(priority or 0),
        "active": bool(active),
    }
    for key, val in values.items():
        setattr(promo, key, val)
    promo.save()
    promo.products.set(products)
    promo.categories.set(categories)
    after = audit.snapshot(promo, PROMOTION_FIELDS)
    after["products"] = sorted(p.pk for p in products)
    after["categories"] = sorted(c.pk for c in categories)
    delta = audit.diff(before, after)
    if delta:
        audit.record(actor=actor, action="update", obj=promo, changes=delta)
    return promo


@transaction.atomic
def generate_coupon_codes(
    *, actor, promotion_id: int, count: int, prefix: str = "", length: int = 8
) -> list[PromotionCode]:
    """Add ``count`` new coupon codes to a promotion: ``PREFIX`` + ``length`` random
    characters, unique among every coupon code (own and generated). Any one of them unlocks
    the promotion; its usage limits count across all its codes. All or nothing, audited."""
    promo = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
    if promo is None:
        raise ValidationError.for_field("promotion_id", _("Choose an existing promotion."))
    errors: dict[str, list[str]] = {}
    if not isinstance(count, int) or not 1 <= count <= MAX_CODES_PER_BATCH:
        errors["count"] = [
            _("Generate between 1 and %(max)s codes at a time.") % {"max": MAX_CODES_PER_BATCH}
        ]
    prefix = (prefix or "").strip().upper()
    if prefix and not _CODE.match(prefix + "XXX"):
        errors["prefix"] = [_("A prefix has only letters, digits, hyphens or underscores.")]
    if not isinstance(length, int) or not 6 <= length <= 20:
        errors["length"] = [_("Codes have between 6 and 20 random characters.")]
    elif len(prefix) + length > 40:
        errors["prefix"] = [_("Prefix and code together cannot exceed 40 characters.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    codes: set[str] = set()
    for _attempt in range(10):  # collisions are astronomically rare; retry a few times
        while len(codes) < count:
            codes.add(prefix + "".join(secrets.choice(CODE_ALPHABET) for _i in range(length)))
        taken = set(PromotionCode.objects.filter(code__in=codes).values_list("code", flat=True))
        taken |= set(Promotion.objects.filter(code__in=codes).values_list("code", flat=True))
        codes -= taken
        if len(codes) == count:
            break
    if len(codes) < count:
        raise Conflict(_("Could not find enough unused codes; try a longer code."))
    try:
        with transaction.atomic():
            created = PromotionCode.objects.bulk_create(
                PromotionCode(promotion=promo, code=c) for c in sorted(codes)
            )
    except IntegrityError:
        raise Conflict(
            _("Another batch took one of these codes at the same time. Try again.")
        ) from None
    audit.record(
        actor=actor,
        action="update",
        obj=promo,
        changes={"coupon_codes": [None, f"+{len(created)}"]},
    )
    return created
