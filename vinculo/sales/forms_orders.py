"""Forms for quotes, orders and the back office: input parsing only; the rules live in
``quotes``, ``orders``, ``pricing`` and ``backoffice``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from vinculo.sales.models import Order, Product
from vinculo.sales.pricing import MAX_QUANTITY, CartLine

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
NEW_LINE_ROWS = 3  # blank rows offered under the existing lines


class LineForm(forms.Form):
    """One product line: SKU, quantity and (for configurable products) option codes."""

    sku = forms.CharField(label=_("SKU"), max_length=64, required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, required=False
    )
    options = forms.CharField(
        label=_("Options"),
        max_length=500,
        required=False,
        help_text=_("Option codes separated by commas, for configurable products."),
    )

    def clean(self):
        data = super().clean()
        if data.get("sku"):
            data["sku"] = data["sku"].strip().upper()
            if data.get("quantity") is None and "quantity" not in self.errors:
                data["quantity"] = 1
        elif data.get("options") or data.get("quantity") is not None:
            self.add_error("sku", _("Enter the SKU of the product."))
        return data


LineFormSet = forms.formset_factory(LineForm, extra=0, max_num=200, absolute_max=200)


def line_formset(data=None, *, initial=None, extra_rows: int = NEW_LINE_ROWS) -> forms.BaseFormSet:
    """The lines grid: the given rows plus ``extra_rows`` blank ones to type into."""
    initial = list(initial or [])
    if data is None:
        initial += [{} for _i in range(extra_rows)]
    return LineFormSet(data, initial=initial, prefix="lines")


def cart_from_formset(formset) -> tuple[list[CartLine], list[int]]:
    """The cart typed in a valid formset, and for each cart line the row it came from.
    Unknown SKUs are added to their row's errors (the caller checks ``has_row_errors``)."""
    rows = [
        (i, f.cleaned_data)
        for i, f in enumerate(formset.forms)
        if f.cleaned_data and f.cleaned_data.get("sku")
    ]
    products = dict(
        Product.objects.filter(sku__in=[d["sku"] for _i, d in rows]).values_list("sku", "pk")
    )
    cart, row_of = [], []
    for i, d in rows:
        if d["sku"] not in products:
            formset.forms[i].add_error(
                "sku", _("There is no product with SKU %(sku)s.") % {"sku": d["sku"]}
            )
            continue
        options = tuple(c.strip() for c in (d.get("options") or "").split(",") if c.strip())
        cart.append(CartLine(products[d["sku"]], d["quantity"], options))
        row_of.append(i)
    return cart, row_of


def has_row_errors(formset) -> bool:
    return any(f.errors for f in formset.forms)


def add_pricing_errors(formset, field_errors: dict[str, list[str]], row_of: list[int]) -> bool:
    """Put the pricing engine's ``lines[i].field`` errors on the row they concern. Returns
    whether any error was placed on a row."""
    placed = False
    for key, msgs in field_errors.items():
        if not key.startswith("lines["):
            continue
        try:
            index = int(key[len("lines[") : key.index("]")])
            row = row_of[index]
        except (ValueError, IndexError):
            continue
        field = key.rsplit(".", 1)[-1]
        field = {"product_id": "sku", "quantity": "quantity", "options": "options"}.get(
            field, "sku"
        )
        for msg in msgs:
            formset.forms[row].add_error(field, msg)
            placed = True
    return placed


def lines_initial(lines) -> list[dict]:
    """Formset rows from opportunity or quote lines (``product``/``sku``, ``option_codes``)."""
    return [
        {
            "sku": getattr(ln, "sku", "") or ln.product.sku,
            "quantity": ln.quantity,
            "options": ",".join(ln.option_codes or []),
        }
        for ln in lines
    ]


class CouponField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("Coupon codes"),
            max_length=200,
            required=False,
            help_text=_("Separate several codes with commas."),
            **kwargs,
        )

    def clean(self, value):
        value = super().clean(value)
        return [c.strip().upper() for c in value.split(",") if c.strip()]


class QuoteForm(forms.Form):
    coupon_codes = CouponField()
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=365, initial=30
    )
    notes = forms.CharField(
        label=_("Notes for the customer"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class QuoteEditForm(forms.Form):
    """A draft quote's editable fields (its lines come in the grid beside it)."""

    coupon_codes = CouponField()
    valid_until = forms.DateField(
        label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    notes = forms.CharField(
        label=_("Notes for the customer"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class RejectQuoteForm(forms.Form):
    reason = forms.CharField(
        label=_("Why did the customer reject it?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the customer rejected the quote.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class OrderForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Order.Channel.choices, initial=Order.Channel.REP
    )
    coupon_codes = CouponField()


class SendQuoteForm(forms.Form):
    to_email = forms.EmailField(label=_("Send to"), max_length=254)


class StatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("Note (optional)"), max_length=255, required=False)


class ExportForm(forms.Form):
    since = forms.DateField(
        label=_("Changed since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty for every confirmed or paid order."),
    )
    format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("json", "JSON")], initial="csv"
    )


class ImportForm(forms.Form):
    KINDS = [("stock", _("Stock levels")), ("orders", _("Order status updates"))]
    kind = forms.ChoiceField(label=_("What the file contains"), choices=KINDS)
    file = forms.FileField(
        label=_("File (CSV or JSON)"),
        help_text=_(
            "Stock levels: columns sku, stock_on_hand. Order updates: columns reference "
            "(external reference or order number), status, note. JSON: a list of objects "
            "with the same keys."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file must be UTF-8 text.")) from None
        if not text.strip():
            raise forms.ValidationError(_("The file is empty."))
        name = (upload.name or "").lower()
        stripped = text.lstrip()
        fmt = "json" if name.endswith(".json") or stripped[:1] in "[{" else "csv"
        return {"name": upload.name, "text": text, "format": fmt}


class ApplyImportForm(forms.Form):
    """The previewed file, posted back to be applied (what the preview showed, nothing else)."""

    kind = forms.ChoiceField(choices=ImportForm.KINDS, widget=forms.HiddenInput)
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("json", "JSON")], widget=forms.HiddenInput)
    name = forms.CharField(max_length=255, required=False, widget=forms.HiddenInput)
    data = forms.CharField(max_length=MAX_UPLOAD_BYTES, widget=forms.HiddenInput, strip=False)
