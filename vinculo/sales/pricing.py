"""The one pricing engine. Carts, quotes, orders, the portal and the API all price through
``price_cart``: every line comes back with the rule that priced it, and every promotion that
was considered comes back applied (with its amount) or refused (with its reason).

Prices are tax-exclusive; each line's tax is computed on its discounted amount and rounded
half-up to the cent. Shipping is untaxed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from vinculo.core.errors import ValidationError
from vinculo.sales.models import (
    PriceList,
    PriceListItem,
    Product,
    ProductOption,
    Promotion,
    PromotionCode,
    PromotionRedemption,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_QUANTITY = 100_000


def money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int = 1
    option_codes: tuple[str, ...] = ()


@dataclass
class PricedLine:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    price_rule: str
    options: list[dict] = field(default_factory=list)
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    promotions: list[dict] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.subtotal - self.discount


@dataclass
class PromotionOutcome:
    promotion_id: int | None
    name: str
    code: str
    applied: bool
    amount: Decimal = ZERO
    reason: str = ""


@dataclass
class PricingResult:
    currency: str
    lines: list[PricedLine]
    promotions: list[PromotionOutcome]
    subtotal: Decimal = ZERO
    discount_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    shipping: Decimal = ZERO
    shipping_discount: Decimal = ZERO
    total: Decimal = ZERO

    def as_dict(self) -> dict:
        """JSON-friendly (Decimals as strings), for the API and for storing on an order."""

        def conv(v):
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, list):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v

        return conv(asdict(self))

    @property
    def applied(self) -> list[PromotionOutcome]:
        return [p for p in self.promotions if p.applied]


@dataclass(frozen=True)
class _Context:
    customer_id: int | None
    tag_ids: frozenset[int]
    channel: str
    currency: str
    at: dt.datetime
    prior_orders: int


def price_cart(
    *,
    lines: Sequence[CartLine],
    customer_id: int | None = None,
    channel: str = "web",
    currency: str = "EUR",
    coupon_codes: Sequence[str] = (),
    shipping: Decimal | str | int = ZERO,
    at: dt.datetime | None = None,
    exclude_order_id: int | None = None,
) -> PricingResult:
    """Price a cart. Raises ValidationError naming ``lines[i].field`` for a line that cannot
    be sold as asked (unknown or inactive product, bad quantity, incompatible options);
    promotions never raise: a promotion that does not apply is returned refused, with why.
    Read-only: nothing is written (redemptions are recorded when an order is confirmed)."""
    ctx = _context(customer_id, channel, currency.upper(), at or timezone.now(), exclude_order_id)
    priced = _price_lines(lines, ctx)
    try:
        shipping_amount = money(Decimal(str(shipping)))
    except ArithmeticError:
        raise ValidationError.for_field("shipping", _("Shipping must be an amount.")) from None
    if shipping_amount < 0:
        raise ValidationError.for_field("shipping", _("Shipping cannot be negative."))
    result = PricingResult(
        currency=ctx.currency, lines=priced, promotions=[], shipping=shipping_amount
    )
    _apply_promotions(result, ctx, coupon_codes, exclude_order_id)
    for line in priced:
        line.tax = money(line.remaining * line.tax_rate / 100)
        line.total = line.remaining + line.tax
    result.subtotal = sum((ln.subtotal for ln in priced), ZERO)
    result.discount_total = sum((ln.discount for ln in priced), ZERO)
    result.tax_total = sum((ln.tax for ln in priced), ZERO)
    result.total = (
        result.subtotal
        - result.discount_total
        + result.tax_total
        + result.shipping
        - result.shipping_discount
    )
    return result


def _context(customer_id, channel, currency, at, exclude_order_id) -> _Context:
    tag_ids: frozenset[int] = frozenset()
    prior = 0
    if customer_id is not None:
        from vinculo.customers.models import Customer
        from vinculo.sales.models import Order

        tag_ids = frozenset(
            Customer.tags.through.objects.filter(customer_id=customer_id).values_list(
                "tag_id", flat=True
            )
        )
        orders = Order.objects.filter(customer_id=customer_id).exclude(
            status__in=[Order.Status.DRAFT, Order.Status.CANCELLED]
        )
        if exclude_order_id:
            orders = orders.exclude(pk=exclude_order_id)
        prior = orders.count()
    return _Context(customer_id, tag_ids, channel, currency, at, prior)


# --- lines ----------------------------------------------------------------------------------


def _price_lines(lines: Sequence[CartLine], ctx: _Context) -> list[PricedLine]:
    if not lines:
        raise ValidationError.for_field("lines", _("The cart is empty."))
    ids = {ln.product_id for ln in lines}
    products = {
        p.pk: p for p in Product.objects.filter(pk__in=ids).select_related("parent", "category")
    }
    options = _options_by_product([p for p in products.values() if p.kind == "configurable"])
    list_prices = _list_prices(products.values(), ctx)
    errors: dict[str, list[str]] = {}
    out: list[PricedLine] = []
    for i, line in enumerate(lines):
        product = products.get(line.product_id)
        key = f"lines[{i}]"
        if product is None:
            errors[f"{key}.product_id"] = [
                _("Product #%(id)s does not exist.") % {"id": line.product_id}
            ]
            continue
        problem = _sellable_problem(product, line.quantity)
        if problem:
            errors[f"{key}.{problem[0]}"] = [problem[1]]
            continue
        chosen, option_errors = _check_options(product, line.option_codes, options)
        if option_errors:
            errors[f"{key}.options"] = option_errors
            continue
        unit_rule = _unit_price(product, line.quantity, ctx, list_prices)
        if unit_rule is None:
            errors[f"{key}.product_id"] = [
                _("“%(name)s” has no price in %(currency)s.")
                % {"name": product.name, "currency": ctx.currency}
            ]
            continue
        unit, rule = unit_rule
        unit += sum((o.price_delta for o in chosen), ZERO)
        out.append(
            PricedLine(
                product_id=product.pk,
                sku=product.sku,
                name=product.name,
                quantity=line.quantity,
                unit_price=money(unit),
                price_rule=rule,
                options=[
                    {"code": o.code, "name": str(o), "price_delta": o.price_delta} for o in chosen
                ],
                subtotal=money(unit * line.quantity),
                tax_rate=product.tax_rate,
            )
        )
    if errors:
        raise ValidationError(_("Some lines cannot be priced."), field_errors=errors)
    return out


def _sellable_problem(product: Product, quantity) -> tuple[str, str] | None:
    if not product.active:
        return "product_id", _("“%(name)s” is no longer sold.") % {"name": product.name}
    if product.kind == Product.Kind.TEMPLATE:
        return "product_id", _("“%(name)s” has variants: choose one.") % {"name": product.name}
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        return "quantity", _("Quantity must be a whole number of at least 1.")
    if quantity > MAX_QUANTITY:
        return "quantity", _("Quantity cannot exceed %(max)s.") % {"max": MAX_QUANTITY}
    return None


def _options_by_product(products: list[Product]) -> dict[int, dict[str, ProductOption]]:
    out: dict[int, dict[str, ProductOption]] = defaultdict(dict)
    qs = ProductOption.objects.filter(product__in=products).prefetch_related("requires", "excludes")
    for o in qs:
        out[o.product_id][o.code] = o
    return out


def _check_options(product, codes, options) -> tuple[list[ProductOption], list[str]]:
    """Configuration rules: options exist, one per exclusive group, required groups filled,
    "requires" satisfied, "excludes" respected. Returns (chosen, error messages)."""
    codes = tuple(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if codes and product.kind != Product.Kind.CONFIGURABLE:
        return [], [_("“%(name)s” has no options.") % {"name": product.name}]
    available = options.get(product.pk, {})
    errors = [_("Unknown option “%(code)s”.") % {"code": c} for c in codes if c not in available]
    chosen = [available[c] for c in codes if c in available]
    by_group: dict[str, list[ProductOption]] = defaultdict(list)
    for o in chosen:
        by_group[o.group].append(o)
    for group, opts in by_group.items():
        if group and len(opts) > 1 and opts[0].exclusive_group:
            errors.append(_("Choose only one %(group)s.") % {"group": group})
    required = {o.group for o in available.values() if o.required_group and o.group}
    for group in sorted(required - set(by_group)):
        errors.append(_("Choose a %(group)s.") % {"group": group})
    chosen_ids = {o.pk for o in chosen}
    for o in chosen:
        for req in o.requires.all():
            if req.pk not in chosen_ids:
                errors.append(_("“%(a)s” requires “%(b)s”.") % {"a": o.name, "b": req.name})
        for exc in o.excludes.all():
            if exc.pk in chosen_ids and o.pk < exc.pk:  # report each pair once
                errors.append(
                    _("“%(a)s” cannot be combined with “%(b)s”.") % {"a": o.name, "b": exc.name}
                )
    return chosen, errors


def _list_prices(products, ctx: _Context) -> dict[int, list[tuple[PriceList, PriceListItem]]]:
    ids = set()
    for p in products:
        ids.add(p.pk)
        if p.parent_id:
            ids.add(p.parent_id)
    window = (Q(valid_from__isnull=True) | Q(valid_from__lte=ctx.at)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=ctx.at)
    )
    lists = (
        PriceList.objects.filter(window, active=True, currency=ctx.currency)
        .filter(Q(channel="") | Q(channel=ctx.channel))
        .filter(Q(customer_tag__isnull=True) | Q(customer_tag_id__in=ctx.tag_ids))
    )
    out: dict[int, list[tuple[PriceList, PriceListItem]]] = defaultdict(list)
    for item in PriceListItem.objects.filter(
        price_list__in=lists, product_id__in=ids
    ).select_related("price_list"):
        out[item.product_id].append((item.price_list, item))
    return out


def _unit_price(product, qty, ctx, list_prices) -> tuple[Decimal, str] | None:
    """The price-list price that applies (highest priority list, then the largest quantity
    break reached, then the lowest price), else the catalog price in the same currency."""
    candidates = list_prices.get(product.pk) or (
        list_prices.get(product.parent_id, []) if product.parent_id else []
    )
    reached = [(pl, it) for pl, it in candidates if it.min_quantity <= qty]
    if reached:
        pl, it = min(reached, key=lambda x: (-x[0].priority, -x[1].min_quantity, x[1].price))
        rule = _("Price list “%(list)s”") % {"list": pl.name}
        if it.min_quantity > 1:
            rule += " " + _("(from %(n)s units)") % {"n": it.min_quantity}
        return it.price, rule
    if product.currency.upper() == ctx.currency:
        return product.price, _("Catalog price")
    return None


# --- promotions -----------------------------------------------------------------------------


def _apply_promotions(result: PricingResult, ctx: _Context, codes, exclude_order_id) -> None:
    wanted = [c.strip().upper() for c in codes if c and c.strip()]
    wanted = list(dict.fromkeys(wanted))
    qs = Promotion.objects.prefetch_related("products", "categories").select_related("customer_tag")
    # A promotion with generated codes (PromotionCode) is a coupon too, never automatic.
    automatic = list(
        qs.filter(active=True, code__isnull=True).exclude(
            pk__in=PromotionCode.objects.values("promotion_id")
        )
    )
    coupons = {p.code.upper(): p for p in qs.filter(code__in=wanted)} if wanted else {}
    duplicates: dict[str, Promotion] = {}
    if wanted and len(coupons) < len(wanted):  # codes are matched case-insensitively
        for p in qs.filter(code__isnull=False).exclude(pk__in=[c.pk for c in coupons.values()]):
            if p.code.upper() in wanted:
                coupons[p.code.upper()] = p
    if wanted and len(coupons) < len(wanted):
        generated = PromotionCode.objects.filter(code__in=[c for c in wanted if c not in coupons])
        by_promotion = {p.pk: p for p in qs.filter(pk__in=generated.values("promotion_id"))}
        seen = {p.pk for p in coupons.values()}
        for gc in generated:
            promo = by_promotion[gc.promotion_id]
            if gc.promotion_id in seen:  # two codes of one promotion apply it once
                duplicates[gc.code.upper()] = promo
                continue
            seen.add(gc.promotion_id)
            coupons[gc.code.upper()] = promo
    for code, promo in duplicates.items():
        result.promotions.append(
            PromotionOutcome(
                promo.pk,
                promo.name,
                code,
                False,
                reason=_("Another code of this promotion is already in the cart."),
            )
        )
    for code in wanted:
        if code not in coupons and code not in duplicates:
            result.promotions.append(
                PromotionOutcome(
                    None,
                    code,
                    code,
                    False,
                    reason=_("Unknown coupon code “%(code)s”.") % {"code": code},
                )
            )
    candidates = sorted(
        automatic + [coupons[c] for c in wanted if c in coupons],
        key=lambda p: (-p.priority, p.code is not None, p.pk),
    )
    usage = _usage(candidates, ctx.customer_id, exclude_order_id)
    applied: list[Promotion] = []
    for promo in candidates:
        eligible = [ln for ln in result.lines if _line_qualifies(promo, ln, result)]
        reason = _refusal(promo, ctx, usage, eligible) or _stack_refusal(promo, applied)
        amount = ZERO
        if not reason:
            amount, reason = _discount(promo, eligible, result)
        result.promotions.append(
            PromotionOutcome(
                promo.pk,
                promo.name,
                promo.code or "",
                applied=not reason,
                amount=amount,
                reason=reason,
            )
        )
        if not reason:
            applied.append(promo)


def _usage(promos, customer_id, exclude_order_id) -> dict[tuple[int, str], int]:
    limited = [p.pk for p in promos if p.max_uses_total or p.max_uses_per_customer]
    if not limited:
        return {}
    qs = PromotionRedemption.objects.filter(promotion_id__in=limited)
    if exclude_order_id:
        qs = qs.exclude(order_id=exclude_order_id)
    out = {
        (r["promotion_id"], "total"): r["n"]
        for r in qs.values("promotion_id").annotate(n=Count("id"))
    }
    if customer_id:
        for r in qs.filter(customer_id=customer_id).values("promotion_id").annotate(n=Count("id")):
            out[(r["promotion_id"], "customer")] = r["n"]
    return out


def _line_qualifies(promo: Promotion, line: PricedLine, result: PricingResult) -> bool:
    product_ids = {p.pk for p in promo.products.all()}
    category_paths = [c.path for c in promo.categories.all()]
    if not product_ids and not category_paths:
        return True
    product = _product_cache(result).get(line.product_id)
    if product is None:
        return False
    if line.product_id in product_ids or (product.parent_id and product.parent_id in product_ids):
        return True
    path = product.category.path if product.category_id else ""
    return any(path == cp or path.startswith(cp + "/") for cp in category_paths)


def _product_cache(result: PricingResult) -> dict[int, Product]:
    cache = getattr(result, "_products", None)
    if cache is None:
        cache = {
            p.pk: p
            for p in Product.objects.filter(
                pk__in=[ln.product_id for ln in result.lines]
            ).select_related("category")
        }
        result._products = cache  # type: ignore[attr-defined]
    return cache


def _fmt_money(amount: Decimal, currency: str) -> str:
    return f"{formats.number_format(amount, 2, use_l10n=True)} {currency}"


def _refusal(promo: Promotion, ctx: _Context, usage, eligible) -> str:
    if not promo.active:
        return _("This promotion is not active.")
    if promo.valid_from and promo.valid_from > ctx.at:
        return _("Not valid until %(date)s.") % {
            "date": formats.date_format(timezone.localtime(promo.valid_from), "SHORT_DATE_FORMAT")
        }
    if promo.valid_to and promo.valid_to <= ctx.at:
        return _("Expired on %(date)s.") % {
            "date": formats.date_format(timezone.localtime(promo.valid_to), "SHORT_DATE_FORMAT")
        }
    if (
        promo.max_uses_total is not None
        and usage.get((promo.pk, "total"), 0) >= promo.max_uses_total
    ):
        return _("This promotion has been used up.")
    if promo.max_uses_per_customer is not None:
        if ctx.customer_id is None:
            return _("Only for a known customer.")
        if usage.get((promo.pk, "customer"), 0) >= promo.max_uses_per_customer:
            return _("This customer has already used it the maximum number of times.")
    if promo.customer_tag_id and promo.customer_tag_id not in ctx.tag_ids:
        return _("Only for customers in the segment “%(tag)s”.") % {"tag": promo.customer_tag.name}
    if promo.first_order_only and ctx.prior_orders > 0:
        return _("Only on a customer's first order.")
    if not eligible:
        return _("No product in the cart qualifies.")
    if promo.min_amount is not None:
        have = sum((ln.subtotal for ln in eligible), ZERO)
        if have < promo.min_amount:
            return _("Needs a minimum of %(min)s (the qualifying products add up to %(have)s).") % {
                "min": _fmt_money(promo.min_amount, ctx.currency),
                "have": _fmt_money(have, ctx.currency),
            }
    return ""


def _stack_refusal(promo: Promotion, applied: list[Promotion]) -> str:
    if not applied:
        return ""
    blocker = next((p for p in applied if not p.stackable), None)
    if blocker is None and not promo.stackable:
        blocker = applied[0]
    if blocker is not None:
        return _("Cannot be combined with “%(other)s”.") % {"other": blocker.name}
    return ""


def _discount(promo: Promotion, eligible: list[PricedLine], result: PricingResult):
    kind = Promotion.Kind
    if promo.kind == kind.FREE_SHIPPING:
        result.shipping_discount = result.shipping
        return result.shipping, ""
    if promo.kind == kind.PERCENT:
        if not (ZERO < promo.value <= 100):
            return ZERO, _("Misconfigured: the percentage must be between 0 and 100.")
        per_line = {id(ln): money(ln.remaining * promo.value / 100) for ln in eligible}
    elif promo.kind == kind.AMOUNT:
        per_line = _spread(min(promo.value, sum((ln.remaining for ln in eligible), ZERO)), eligible)
    elif promo.kind == kind.BUY_X_GET_Y:
        if promo.buy_quantity < 1 or promo.get_quantity < 1:
            return ZERO, _("Misconfigured: set how many to buy and how many are free.")
        group = promo.buy_quantity + promo.get_quantity
        per_line = {
            id(ln): min(
                money((ln.quantity // group) * promo.get_quantity * ln.unit_price), ln.remaining
            )
            for ln in eligible
        }
        if not any(per_line.values()):
            return ZERO, _("Buy %(buy)s to get %(get)s free.") % {
                "buy": group,
                "get": promo.get_quantity,
            }
    else:
        return ZERO, _("Unknown promotion kind.")
    total = sum(per_line.values(), ZERO)
    if total <= 0:
        return ZERO, _("Gives no discount on this cart.")
    for ln in eligible:
        d = per_line.get(id(ln), ZERO)
        if d:
            ln.discount += d
            ln.promotions.append({"promotion_id": promo.pk, "name": promo.name, "amount": d})
    return total, ""


def _spread(amount: Decimal, lines: list[PricedLine]) -> dict[int, Decimal]:
    """Split an amount over lines in proportion to what is left on each; the rounding cent
    goes to the largest line so the parts add up exactly."""
    base = sum((ln.remaining for ln in lines), ZERO)
    if amount <= 0 or base <= 0:
        return {}
    parts = {id(ln): money(amount * ln.remaining / base) for ln in lines}
    largest = max(lines, key=lambda ln: ln.remaining)
    parts[id(largest)] += amount - sum(parts.values(), ZERO)
    return parts
