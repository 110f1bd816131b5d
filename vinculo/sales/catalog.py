"""Catalog services: categories, products, variants, configurable options and bundles."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.sales.models import (
    BundleItem,
    Category,
    Product,
    ProductAttribute,
    ProductOption,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _decimal(value, field: str, *, minimum: Decimal | None = Decimal("0")) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        raise ValidationError.for_field(field, _("Enter an amount.")) from None
    if not number.is_finite():
        raise ValidationError.for_field(field, _("Enter an amount."))
    if minimum is not None and number < minimum:
        raise ValidationError.for_field(field, _("Cannot be negative."))
    # The columns hold 12 digits before the point (tax rates 3): refuse instead of overflowing.
    if abs(number) >= (Decimal(1000) if field == "tax_rate" else Decimal("1e12")):
        raise ValidationError.for_field(field, _("This amount is too large."))
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def create_category(*, actor, name: str, parent_id: int | None = None) -> Category:
    """Create a category under ``parent_id``; its path ("A/B/C") drives roll-ups."""
    name = (name or "").strip()
    if not name or "/" in name:
        raise ValidationError.for_field("name", _("Enter a name without “/”."))
    parent = Category.objects.filter(pk=parent_id).first() if parent_id else None
    if parent_id and parent is None:
        raise ValidationError.for_field("parent_id", _("Choose an existing category."))
    cat = Category(name=name, parent=parent, path=f"{parent.path}/{name}" if parent else name)
    try:
        with transaction.atomic():
            cat.save()
    except IntegrityError:
        raise ValidationError.for_field("name", _("This category already exists here.")) from None
    audit.record(actor=actor, action="create", obj=cat, changes={"path": [None, cat.path]})
    return cat


@transaction.atomic
def create_product(
    *,
    actor,
    sku: str,
    name: str,
    price,
    kind: str = Product.Kind.SIMPLE,
    category_id: int | None = None,
    cost=0,
    tax_rate=21,
    currency: str = "EUR",
    stock_on_hand: int = 0,
    description: str = "",
    parent_id: int | None = None,
    variant_values: Mapping[str, str] | None = None,
) -> Product:
    """Create a product after validating SKU, money fields, currency and kind."""
    errors: dict[str, list[str]] = {}
    sku = (sku or "").strip().upper()
    if not sku:
        errors["sku"] = [_("Enter a SKU.")]
    elif Product.objects.filter(sku=sku).exists():
        errors["sku"] = [_("Another product already has SKU “%(sku)s”.") % {"sku": sku}]
    if not (name or "").strip():
        errors["name"] = [_("Enter a name.")]
    if kind not in Product.Kind.values:
        errors["kind"] = [_("Choose a kind of product.")]
    currency = (currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        errors["currency"] = [_("Use a three-letter currency code (EUR, USD, MXN...).")]
    amounts = {}
    for field_name, value in (("price", price), ("cost", cost), ("tax_rate", tax_rate)):
        try:
            amounts[field_name] = _decimal(value, field_name)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if category_id and not Category.objects.filter(pk=category_id).exists():
        errors["category_id"] = [_("Choose an existing category.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    product = Product.objects.create(
        sku=sku,
        name=name.strip(),
        kind=kind,
        category_id=category_id,
        currency=currency,
        stock_on_hand=int(stock_on_hand or 0),
        description=(description or "").strip(),
        parent_id=parent_id,
        variant_values=dict(variant_values or {}),
        **amounts,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=product,
        changes={"sku": [None, sku], "price": [None, amounts["price"]]},
    )
    return product


@transaction.atomic
def generate_variants(
    *,
    actor,
    template_id: int,
    attributes: Mapping[str, Sequence[str]],
    price_deltas: Mapping[str, Mapping[str, Decimal]] | None = None,
) -> list[Product]:
    """Turn a product into a template with one variant per combination of attribute values
    (size × colour...). Idempotent: existing combinations are kept, new ones added. A value's
    price delta (e.g. {"size": {"XL": 2}}) is added to the template price."""
    template = Product.objects.select_for_update().get(pk=template_id)
    clean = {}
    for attr, values in attributes.items():
        vals = [str(v).strip() for v in values if str(v).strip()]
        if not str(attr).strip() or not vals:
            raise ValidationError.for_field(
                "attributes", _("Each attribute needs a name and at least one value.")
            )
        clean[str(attr).strip()] = list(dict.fromkeys(vals))
    if not clean:
        raise ValidationError.for_field("attributes", _("Give at least one attribute."))
    if template.kind not in (Product.Kind.SIMPLE, Product.Kind.TEMPLATE):
        raise ValidationError.for_field("kind", _("Only a simple product can get variants."))
    template.kind = Product.Kind.TEMPLATE
    template.version += 1
    template.save(update_fields=["kind", "version", "updated_at"])
    for pos, (attr, vals) in enumerate(clean.items()):
        ProductAttribute.objects.update_or_create(
            product=template, name=attr, defaults={"values": vals, "position": pos}
        )
    existing = {tuple(sorted(v.variant_values.items())): v for v in template.variants.all()}
    deltas = price_deltas or {}
    created = []
    names = list(clean)
    for combo in itertools.product(*(clean[a] for a in names)):
        values = dict(zip(names, combo, strict=True))
        if tuple(sorted(values.items())) in existing:
            continue
        price = template.price + sum(
            (Decimal(str(deltas.get(a, {}).get(v, 0))) for a, v in values.items()), Decimal(0)
        )
        suffix = "-".join(slugify(v).upper() or "X" for v in combo)
        created.append(
            create_product(
                actor=actor,
                sku=f"{template.sku}-{suffix}",
                name=f"{template.name} ({', '.join(combo)})",
                price=price,
                kind=Product.Kind.VARIANT,
                category_id=template.category_id,
                cost=template.cost,
                tax_rate=template.tax_rate,
                currency=template.currency,
                parent_id=template.pk,
                variant_values=values,
            )
        )
    return created


@transaction.atomic
def add_option(
    *,
    actor,
    product_id: int,
    code: str,
    name: str,
    group: str = "",
    price_delta=0,
    requires: Iterable[str] = (),
    excludes: Iterable[str] = (),
    exclusive_group: bool = True,
    required_group: bool = False,
) -> ProductOption:
    """Add an option to a configurable product, with rules naming other options by code."""
    product = Product.objects.select_for_update().get(pk=product_id)
    if product.kind != Product.Kind.CONFIGURABLE:
        raise ValidationError.for_field("product_id", _("Only configurable products have options."))
    code = (code or "").strip().upper()
    if not code or not (name or "").strip():
        raise ValidationError.for_field("code", _("Enter a code and a name."))
    if product.options.filter(code=code).exists():
        raise ValidationError.for_field(
            "code", _("This product already has option “%(c)s”.") % {"c": code}
        )
    option = ProductOption.objects.create(
        product=product,
        code=code,
        name=name.strip(),
        group=(group or "").strip(),
        price_delta=_decimal(price_delta, "price_delta", minimum=None),
        exclusive_group=exclusive_group,
        required_group=required_group,
    )
    for rel, codes in (("requires", requires), ("excludes", excludes)):
        wanted = [c.strip().upper() for c in codes if c.strip()]
        found = list(product.options.filter(code__in=wanted))
        missing = set(wanted) - {o.code for o in found}
        if missing:
            raise ValidationError.for_field(
                rel, _("Unknown option(s): %(codes)s.") % {"codes": ", ".join(sorted(missing))}
            )
        getattr(option, rel).set(found)
    audit.record(actor=actor, action="create", obj=option, changes={"code": [None, code]})
    return option


@transaction.atomic
def set_bundle_items(
    *, actor, bundle_id: int, items: Sequence[tuple[int, int]]
) -> list[BundleItem]:
    """Define the components of a bundle (component product id, quantity), replacing any."""
    bundle = Product.objects.select_for_update().get(pk=bundle_id)
    if bundle.kind != Product.Kind.BUNDLE:
        raise ValidationError.for_field("bundle_id", _("This product is not a bundle."))
    if not items:
        raise ValidationError.for_field("items", _("A bundle needs at least one component."))
    components = {p.pk: p for p in Product.objects.filter(pk__in=[c for c, _q in items])}
    errors = []
    for component_id, qty in items:
        comp = components.get(component_id)
        if comp is None:
            errors.append(_("Product #%(id)s does not exist.") % {"id": component_id})
        elif comp.pk == bundle.pk or comp.kind in (Product.Kind.BUNDLE, Product.Kind.TEMPLATE):
            errors.append(_("“%(name)s” cannot be a component.") % {"name": comp.name})
        elif not isinstance(qty, int) or qty < 1:
            errors.append(_("Quantity of “%(name)s” must be at least 1.") % {"name": comp.name})
    if errors:
        raise ValidationError(_("Please correct the components."), field_errors={"items": errors})
    bundle.bundle_items.all().delete()
    created = BundleItem.objects.bulk_create(
        BundleItem(bundle=bundle, component_id=c, quantity=q) for c, q in items
    )
    audit.record(
        actor=actor,
        action="update",
        obj=bundle,
        changes={"components": [None, [[c, q] for c, q in items]]},
    )
    return created


PRODUCT_EDITABLE = (
    "sku",
    "name",
    "description",
    "category_id",
    "price",
    "cost",
    "tax_rate",
    "currency",
    "active",
    "track_stock",
)


@transaction.atomic
def update_product(*, actor, product_id: int, expected_version: int | None, **changes) -> Product:
    """Change a product's catalog fields (not its kind, variants or stock: those have their
    own services). A stale ``expected_version`` is refused with Conflict; nothing is written
    when a field is invalid. Atomic and audited (field, before, after)."""
    unknown = set(changes) - set(PRODUCT_EDITABLE)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    product = Product.objects.select_for_update().get(pk=product_id)
    if expected_version is not None and int(expected_version) != product.version:
        raise Conflict(_("This product was changed by someone else. Reload and try again."))
    before = audit.snapshot(product, PRODUCT_EDITABLE)
    errors: dict[str, list[str]] = {}
    if "sku" in changes:
        sku = (changes["sku"] or "").strip().upper()
        if not sku:
            errors["sku"] = [_("Enter a SKU.")]
        elif Product.objects.filter(sku=sku).exclude(pk=product.pk).exists():
            errors["sku"] = [_("Another product already has SKU “%(sku)s”.") % {"sku": sku}]
        product.sku = sku
    if "name" in changes:
        if not (changes["name"] or "").strip():
            errors["name"] = [_("Enter a name.")]
        product.name = (changes["name"] or "").strip()
    if "description" in changes:
        product.description = (changes["description"] or "").strip()
    if "category_id" in changes:
        category_id = changes["category_id"]
        if category_id and not Category.objects.filter(pk=category_id).exists():
            errors["category_id"] = [_("Choose an existing category.")]
        product.category_id = category_id or None
    for field_name in ("price", "cost", "tax_rate"):
        if field_name in changes:
            try:
                setattr(product, field_name, _decimal(changes[field_name], field_name))
            except ValidationError as exc:
                errors.update(exc.field_errors)
    if "currency" in changes:
        currency = (changes["currency"] or "").strip().upper()
        if not _CURRENCY.match(currency):
            errors["currency"] = [_("Use a three-letter currency code (EUR, USD, MXN...).")]
        product.currency = currency
    for flag in ("active", "track_stock"):
        if flag in changes:
            setattr(product, flag, bool(changes[flag]))
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    delta = audit.diff(before, audit.snapshot(product, PRODUCT_EDITABLE))
    if not delta:
        return product
    product.version += 1
    product.save()
    audit.record(actor=actor, action="update", obj=product, changes=delta)
    return product


@transaction.atomic
def update_category(
    *, actor, category_id: int, name: str | None = None, parent_id: int | str | None = "keep"
) -> Category:
    """Rename a category and/or move it under another parent (``None``: to the top level).
    Its whole subtree's paths follow, so roll-ups stay right. Refuses a move under itself
    or its own descendant, and a name already used beside it. Atomic and audited."""
    cat = Category.objects.select_for_update().filter(pk=category_id).first()
    if cat is None:
        raise ValidationError.for_field("category_id", _("Choose an existing category."))
    old_path = cat.path
    if name is not None:
        name = name.strip()
        if not name or "/" in name:
            raise ValidationError.for_field("name", _("Enter a name without “/”."))
        cat.name = name
    if parent_id != "keep":
        parent = Category.objects.filter(pk=parent_id).first() if parent_id else None
        if parent_id and parent is None:
            raise ValidationError.for_field("parent_id", _("Choose an existing category."))
        if parent and (parent.pk == cat.pk or parent.path.startswith(old_path + "/")):
            raise ValidationError.for_field(
                "parent_id", _("A category cannot be moved under itself or one of its children.")
            )
        cat.parent = parent
    cat.path = f"{cat.parent.path}/{cat.name}" if cat.parent_id else cat.name
    if cat.path == old_path:
        return cat
    try:
        with transaction.atomic():
            cat.save()
    except IntegrityError:
        raise ValidationError.for_field("name", _("This category already exists here.")) from None
    # Descendants keep their place under the category: rewrite the start of their paths.
    descendants = list(Category.objects.filter(path__startswith=old_path + "/"))
    for d in descendants:
        d.path = cat.path + d.path[len(old_path) :]
    Category.objects.bulk_update(descendants, ["path"])
    audit.record(actor=actor, action="update", obj=cat, changes={"path": [old_path, cat.path]})
    return cat
