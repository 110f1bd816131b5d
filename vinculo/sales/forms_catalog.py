"""Forms for the catalog, price list, promotion and price check pages: input parsing only;
the rules (SKU unique, breaks not ambiguous, option rules...) live in the services."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from vinculo.sales.models import Category, Order, Product, Promotion
from vinculo.sales.pricing import MAX_QUANTITY, CartLine

MONEY = {"max_digits": 14, "decimal_places": 2}
BIG = 1_000_000_000  # fits every integer column; larger input is refused, not overflowed


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=DateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )


def _category_field(label, *, empty_label) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(
        label=label,
        queryset=Category.objects.order_by("path"),
        required=False,
        empty_label=empty_label,
    )
    field.label_from_instance = lambda c: c.path.replace("/", " › ")
    return field


def _tag_choices():
    from vinculo.customers.models import Tag  # choices only: the service resolves the name

    return [("", _("Every customer"))] + [
        (t, t) for t in Tag.objects.values_list("name", flat=True)
    ]


def _channel_choices(empty):
    return [("", empty), *Order.Channel.choices]


def _sku_lookup(raw: str) -> list[str]:
    return [s.upper() for s in re.split(r"[\s,;]+", raw or "") if s]


# --- products ---------------------------------------------------------------------------------


class ProductForm(forms.Form):
    # Loose on purpose: the service checks every field at once, so one post shows every error.
    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in Product.Kind.choices if c[0] != Product.Kind.VARIANT],
        initial=Product.Kind.SIMPLE,
        help_text=_("Variants are generated from a product's page, not created by hand."),
    )
    price = forms.CharField(label=_("Price (without tax)"), max_length=20, required=False)
    cost = forms.CharField(label=_("Cost"), max_length=20, required=False, initial="0")
    tax_rate = forms.CharField(label=_("Tax rate (%)"), max_length=10, initial="21", required=False)
    currency = forms.CharField(label=_("Currency"), max_length=10, initial="EUR", required=False)
    stock_on_hand = forms.IntegerField(
        label=_("Stock on hand"), initial=0, required=False, min_value=0, max_value=BIG
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    track_stock = forms.BooleanField(label=_("Track stock"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = _category_field(_("Category"), empty_label=_("No category"))
        if creating:
            del self.fields["version"]
            del self.fields["track_stock"]
        else:
            del self.fields["kind"]
            del self.fields["stock_on_hand"]
        self.order_fields(["sku", "name", "kind", "category"])


def parse_attribute_lines(text: str) -> tuple[dict[str, list[str]], dict[str, dict[str, str]]]:
    """``Size: S, M, XL+2`` one attribute per line → ({"Size": [S, M, XL]}, {"Size": {XL: 2}}).
    Raises forms.ValidationError naming the line."""
    attributes: dict[str, list[str]] = {}
    deltas: dict[str, dict[str, str]] = {}
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        name, sep, values = raw.partition(":")
        if not sep or not name.strip():
            raise forms.ValidationError(
                _("Line %(n)s: write the attribute, a colon and its values (Size: S, M, L).")
                % {"n": number}
            )
        vals = []
        for part in values.split(","):
            part = part.strip()
            if not part:
                continue
            match = re.fullmatch(r"(.+?)\s*([+-]\s*\d+(?:[.,]\d{1,2})?)", part)
            if match:
                try:
                    delta = Decimal(match.group(2).replace(" ", "").replace(",", "."))
                except InvalidOperation:  # pragma: no cover - the regex only lets numbers in
                    delta = Decimal(0)
                deltas.setdefault(name.strip(), {})[match.group(1).strip()] = str(delta)
                part = match.group(1).strip()
            vals.append(part)
        if not vals:
            raise forms.ValidationError(
                _("Line %(n)s: “%(name)s” needs at least one value.")
                % {"n": number, "name": name.strip()}
            )
        attributes[name.strip()] = vals
    if not attributes:
        raise forms.ValidationError(_("Give at least one attribute with its values."))
    return attributes, deltas


class VariantsForm(forms.Form):
    attributes = forms.CharField(
        label=_("Attributes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One attribute per line, its values separated by commas. A value may add to the "
            "price: Size: S, M, L, XL+2"
        ),
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if "attributes" in data:
            try:
                data["parsed"], data["deltas"] = parse_attribute_lines(data["attributes"])
            except forms.ValidationError as exc:
                self.add_error("attributes", exc)
        return data


class OptionForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    group = forms.CharField(
        label=_("Group"),
        max_length=60,
        required=False,
        help_text=_("Options in one group (Memory, Colour...) are chosen together."),
    )
    price_delta = forms.CharField(label=_("Price change"), max_length=20, initial="0")
    exclusive_group = forms.BooleanField(
        label=_("Only one option of this group may be chosen"), required=False, initial=True
    )
    required_group = forms.BooleanField(
        label=_("An option of this group must be chosen"), required=False
    )

    def __init__(self, *args, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        existing = [(o.code, str(o)) for o in product.options.all()]
        for name, label in (
            ("requires", _("Requires")),
            ("excludes", _("Cannot be combined with")),
        ):
            self.fields[name] = forms.MultipleChoiceField(
                label=label, choices=existing, required=False, widget=forms.CheckboxSelectMultiple
            )


class BundleForm(forms.Form):
    items = forms.CharField(
        label=_("Components"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One component per line: its SKU and the quantity. Example: CASE 2"),
    )

    def clean_items(self) -> list[tuple[int, int]]:
        rows = []
        for number, raw in enumerate(self.cleaned_data["items"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            try:
                quantity = int(parts[1]) if len(parts) > 1 else 1
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)s: the quantity must be a whole number.") % {"n": number}
                ) from None
            rows.append((number, parts[0].upper(), quantity))
        skus = dict(Product.objects.filter(sku__in=[r[1] for r in rows]).values_list("sku", "pk"))
        missing = [
            _("Line %(n)s: there is no product with SKU %(sku)s.") % {"n": n, "sku": s}
            for n, s, _q in rows
            if s not in skus
        ]
        if missing:
            raise forms.ValidationError(missing)
        return [(skus[s], q) for _n, s, q in rows]


# --- categories -------------------------------------------------------------------------------


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)

    def __init__(self, *args, exclude: Category | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = _category_field(_("Inside"), empty_label=_("(top level)"))
        if exclude is not None:  # a category cannot go under itself or its children
            self.fields["parent"].queryset = Category.objects.exclude(pk=exclude.pk).exclude(
                path__startswith=exclude.path + "/"
            )


# --- price lists ------------------------------------------------------------------------------


class PriceListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    currency = forms.CharField(label=_("Currency"), max_length=10, initial="EUR")
    customer_tag = forms.ChoiceField(label=_("For customers tagged"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    valid_from = _datetime_field(_("Valid from"))
    valid_to = _datetime_field(_("Valid until"))
    priority = forms.IntegerField(
        label=_("Priority"),
        initial=0,
        required=False,
        min_value=-BIG,
        max_value=BIG,
        help_text=_("When several lists apply, the highest priority wins."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_tag"].choices = _tag_choices()
        self.fields["channel"].choices = _channel_choices(_("Every channel"))


class PriceItemForm(forms.Form):
    sku = forms.CharField(label=_("Product SKU"), max_length=64)
    min_quantity = forms.IntegerField(
        label=_("From quantity"), initial=1, min_value=1, max_value=MAX_QUANTITY
    )
    price = forms.CharField(label=_("Unit price"), max_length=20)

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip().upper()
        self.product_id = Product.objects.filter(sku=sku).values_list("pk", flat=True).first()
        if self.product_id is None:
            raise forms.ValidationError(_("There is no product with SKU %(sku)s.") % {"sku": sku})
        return sku


# --- promotions -------------------------------------------------------------------------------


class PromotionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Discount"), choices=Promotion.Kind.choices)
    value = forms.CharField(
        label=_("Value"),
        max_length=20,
        required=False,
        initial="0",
        help_text=_("The percentage, or the amount off."),
    )
    buy_quantity = forms.IntegerField(
        label=_("Buy"), required=False, min_value=0, max_value=MAX_QUANTITY
    )
    get_quantity = forms.IntegerField(
        label=_("Get free"), required=False, min_value=0, max_value=MAX_QUANTITY
    )
    code = forms.CharField(
        label=_("Coupon code"),
        max_length=40,
        required=False,
        help_text=_("Leave empty for an automatic promotion (or generate many codes later)."),
    )
    min_amount = forms.CharField(label=_("Minimum amount"), max_length=20, required=False)
    skus = forms.CharField(
        label=_("Only these products (SKUs)"),
        required=False,
        help_text=_("Separated by commas or spaces. Empty, with no category: every product."),
    )
    customer_tag = forms.ChoiceField(label=_("Only for customers tagged"), required=False)
    first_order_only = forms.BooleanField(label=_("First order only"), required=False)
    valid_from = _datetime_field(_("Valid from"))
    valid_to = _datetime_field(_("Valid until"))
    max_uses_total = forms.IntegerField(label=_("Uses in total"), required=False, max_value=BIG)
    max_uses_per_customer = forms.IntegerField(
        label=_("Uses per customer"), required=False, max_value=BIG
    )
    stackable = forms.BooleanField(
        label=_("Combines with other promotions"), required=False, initial=True
    )
    priority = forms.IntegerField(
        label=_("Priority"), required=False, initial=0, min_value=-BIG, max_value=BIG
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer_tag"].choices = _tag_choices()
        self.fields["categories"] = forms.ModelMultipleChoiceField(
            label=_("Only these categories (and their subcategories)"),
            queryset=Category.objects.order_by("path"),
            required=False,
            widget=forms.SelectMultiple(attrs={"size": 5}),
        )
        self.fields["categories"].label_from_instance = lambda c: c.path.replace("/", " › ")
        self.order_fields(["name", "kind", "value", "buy_quantity", "get_quantity", "code"])

    def clean_skus(self) -> list[int]:
        skus = _sku_lookup(self.cleaned_data.get("skus", ""))
        found = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
        missing = [s for s in skus if s not in found]
        if missing:
            raise forms.ValidationError(
                _("No product has SKU %(skus)s.") % {"skus": ", ".join(missing)}
            )
        return [found[s] for s in skus]


class CouponBatchForm(forms.Form):
    count = forms.IntegerField(label=_("How many codes"), initial=10, min_value=1, max_value=BIG)
    prefix = forms.CharField(label=_("Prefix"), max_length=20, required=False)
    length = forms.IntegerField(label=_("Random characters"), initial=8, min_value=1, max_value=BIG)


# --- price check ------------------------------------------------------------------------------


class PriceCheckForm(forms.Form):
    customer = forms.IntegerField(
        label=_("Customer number"),
        required=False,
        min_value=1,
        max_value=2**62,
        help_text=_("Optional: segment prices, customer limits and first-order promotions."),
    )
    channel = forms.ChoiceField(label=_("Channel"), initial=Order.Channel.WEB, required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR", required=False)
    lines = forms.CharField(
        label=_("Cart"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One product per line: its SKU, the quantity and, for configurable products, "
            "option codes separated by commas. Example: LAPTOP 2 16GB,SSD"
        ),
    )
    coupons = forms.CharField(
        label=_("Coupon codes"), required=False, help_text=_("Separated by commas or spaces.")
    )
    shipping = forms.DecimalField(label=_("Shipping"), required=False, min_value=0, **MONEY)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = Order.Channel.choices

    def clean_channel(self) -> str:
        return self.cleaned_data.get("channel") or Order.Channel.WEB

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "EUR").strip().upper()

    def clean_coupons(self) -> list[str]:
        return _sku_lookup(self.cleaned_data.get("coupons", ""))

    def clean_lines(self) -> list[CartLine]:
        """``SKU quantity [options]`` per line; every bad line is named, not just the first."""
        rows, errors = [], []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            try:
                quantity = int(parts[1]) if len(parts) > 1 else 1
            except ValueError:
                errors.append(_("Line %(n)s: the quantity must be a whole number.") % {"n": number})
                continue
            options = tuple(c.upper() for c in (parts[2] if len(parts) > 2 else "").split(",") if c)
            rows.append((number, parts[0].upper(), quantity, options))
        found = dict(Product.objects.filter(sku__in=[r[1] for r in rows]).values_list("sku", "pk"))
        cart, self.line_numbers = [], []
        for number, sku, quantity, options in rows:
            if sku not in found:
                errors.append(
                    _("Line %(n)s: there is no product with SKU %(sku)s.")
                    % {"n": number, "sku": sku}
                )
                continue
            cart.append(CartLine(found[sku], quantity, options))
            self.line_numbers.append(number)
        if errors:
            raise forms.ValidationError(errors)
        if not cart:
            raise forms.ValidationError(_("Type at least one product line."))
        return cart
