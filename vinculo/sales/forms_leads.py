"""Forms for leads: input parsing only; the rules live in ``leads`` and ``leads_setup``."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from vinculo.customers.models import Customer
from vinculo.sales.forms import DateInput
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule, LeadWebForm, Pipeline


class LeadEntryForm(forms.Form):
    """A lead typed in by a colleague (a call, a business card, a referral)."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    source = forms.ChoiceField(
        label=_("Source"), choices=Lead.Source.choices, initial=Lead.Source.MANUAL
    )
    campaign = forms.CharField(label=_("Campaign"), max_length=150, required=False)
    acquisition_cost = forms.DecimalField(
        label=_("Acquisition cost"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    message = forms.CharField(
        label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    consent_marketing = forms.BooleanField(label=_("Agreed to receive marketing"), required=False)


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (Lead.Status.CONTACTED, _("Contacted")),
            (Lead.Status.QUALIFIED, _("Qualified")),
            (Lead.Status.DISQUALIFIED, _("Disqualified")),
            (Lead.Status.NEW, _("New")),
        ],
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ConvertForm(forms.Form):
    name = forms.CharField(label=_("Opportunity name"), max_length=200)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.all(), empty_label=None
    )
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    expected_close_date = forms.DateField(
        label=_("Expected close"), required=False, widget=DateInput()
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


LEAD_FIELDS = {f.name for f in Lead._meta.concrete_fields}
CUSTOMER_FIELDS = {f.name for f in Customer._meta.concrete_fields}


class _PositionMixin:
    """The order of a rule; blank means 0 (first)."""

    def _optional_position(self) -> None:
        field = self.fields["position"]
        field.required = False
        field.help_text = _("Rules are tried from the lowest number up.")

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0


class ScoringRuleForm(_PositionMixin, forms.ModelForm):
    # The model stores JSON; people type text ("ES", "ES, PT" for "is one of", 50 for "at least").
    value = forms.CharField(
        label=_("Value"),
        max_length=500,
        required=False,
        help_text=_('For "is one of", separate the values with commas.'),
    )

    class Meta:
        model = LeadScoringRule
        fields = ["label", "field", "operator", "value", "points", "position", "active"]
        help_texts = {
            "field": _(
                "A customer field (country, region, city, kind, stage), a lead field "
                "(lead.source, lead.campaign, lead.utm_medium) or a custom field "
                "(attributes.<key>)."
            ),
            "points": _("Negative points lower the score."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._optional_position()
        if self.instance.pk:
            value = self.instance.value
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            self.initial["value"] = value

    def clean_field(self) -> str:
        name = self.cleaned_data["field"].strip()
        if name.startswith("lead."):
            ok = name[5:] in LEAD_FIELDS
        elif name.startswith("attributes."):
            ok = bool(name[11:].strip())
        else:
            ok = name in CUSTOMER_FIELDS
        if not ok:
            raise forms.ValidationError(
                _("%(field)s is not a customer field, a lead field or a custom field.")
                % {"field": name}
            )
        return name

    def clean(self):
        data = super().clean()
        op, value = data.get("operator"), (data.get("value") or "").strip()
        ops = LeadScoringRule.Operator
        if op and op != ops.PRESENT and not value:
            self.add_error("value", _("Give the value to compare with."))
        elif op in (ops.GTE, ops.LTE):
            try:
                Decimal(value.replace(",", "."))
            except ArithmeticError:
                self.add_error("value", _("Give a number."))
            else:
                value = value.replace(",", ".")
        if op == ops.IN:
            data["value"] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            data["value"] = value
        return data


class AssignmentRuleForm(_PositionMixin, forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._optional_position()

    class Meta:
        model = AssignmentRule
        fields = ["name", "kind", "team", "match_value", "position", "active"]
        help_texts = {
            "match_value": _(
                "For a territory rule, the region or country code (ES); for a source rule, "
                "the lead source (web_form) or campaign. Empty for round-robin."
            ),
        }

    def clean(self):
        data = super().clean()
        kinds = (AssignmentRule.Kind.TERRITORY, AssignmentRule.Kind.SOURCE)
        if data.get("kind") in kinds and not (data.get("match_value") or "").strip():
            self.add_error("match_value", _("Say which territory or source this rule takes."))
        return data


class WebFormForm(forms.ModelForm):
    redirect_url = forms.URLField(
        label=_("Thank-you page"),
        required=False,
        assume_scheme="https",
        help_text=_("Where the visitor goes after sending; empty shows a thank-you."),
    )

    class Meta:
        model = LeadWebForm
        fields = [
            "name",
            "source",
            "campaign",
            "acquisition_cost",
            "currency",
            "consent_text",
            "redirect_url",
            "active",
        ]
        widgets = {"consent_text": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "acquisition_cost": _("What one lead from this form costs, for cost-per-lead."),
            "consent_text": _(
                "The marketing consent wording shown next to the checkbox; stored with each "
                "lead that ticks it. Leave empty to show no consent checkbox."
            ),
        }

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "EUR").strip().upper()
