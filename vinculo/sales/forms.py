"""Forms for opportunities: input parsing only; the rules live in ``pipelines``."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from vinculo.sales.models import Pipeline, Product, Stage
from vinculo.sales.pricing import CartLine


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _owner_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("first_name", "username"),
        required=False,
        empty_label=_("Me"),
    )


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    expected_close_date = forms.DateField(
        label=_("Expected close"), required=False, widget=DateInput()
    )
    next_step = forms.CharField(label=_("Next step"), max_length=255, required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"] = _owner_field()
        if creating:
            del self.fields["version"]
            self.fields["pipeline"] = forms.ModelChoiceField(
                label=_("Pipeline"), queryset=Pipeline.objects.all(), empty_label=None
            )
            self.fields["stage"] = forms.ModelChoiceField(
                label=_("Stage"),
                queryset=Stage.objects.filter(is_won=False, is_lost=False).select_related(
                    "pipeline"
                ),
                required=False,
                empty_label=_("First stage of the pipeline"),
                help_text=_("Must be a stage of the chosen pipeline."),
            )
            self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name}"
            self.order_fields(["name", "pipeline", "stage", "owner"])
        else:
            self.order_fields(["name", "owner"])


class MoveForm(forms.Form):
    stage = forms.IntegerField(label=_("Move to"))
    position = forms.IntegerField(required=False, min_value=0)
    version = forms.IntegerField(required=False)
    lost_reason = forms.CharField(label=_("Why was it lost?"), max_length=255, required=False)
    owner = forms.IntegerField(required=False)  # the board's owner filter, to re-render it


class LinesForm(forms.Form):
    """Product lines typed as text, one per line: ``SKU quantity [option,option]``."""

    lines = forms.CharField(
        label=_("Product lines"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One product per line: its SKU, the quantity and, for configurable products, "
            "option codes separated by commas. Example: PH-100 3. Leave empty to type the "
            "amount by hand."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def clean_lines(self) -> list[CartLine]:
        rows = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            try:
                quantity = int(parts[1]) if len(parts) > 1 else 1
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(n)s: the quantity must be a whole number.") % {"n": number}
                ) from None
            options = tuple(c for c in (parts[2] if len(parts) > 2 else "").split(",") if c)
            rows.append((number, parts[0].upper(), quantity, options))
        products = dict(
            Product.objects.filter(sku__in=[r[1] for r in rows]).values_list("sku", "pk")
        )
        cart = []
        for number, sku, quantity, options in rows:
            if sku not in products:
                raise forms.ValidationError(
                    _("Line %(n)s: there is no product with SKU %(sku)s.")
                    % {"n": number, "sku": sku}
                )
            cart.append(CartLine(products[sku], quantity, options))
        return cart


def lines_as_text(lines) -> str:
    return "\n".join(
        " ".join(
            [ln.product.sku, str(ln.quantity)]
            + ([",".join(ln.option_codes)] if ln.option_codes else [])
        )
        for ln in lines
    )
