"""HTML forms for customers. They parse and pre-check input; the rules live in services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from vinculo.accounts.models import Team
from vinculo.core.errors import DomainError
from vinculo.core.http import add_field_errors
from vinculo.customers.models import Address, ChannelKind, Customer, CustomField
from vinculo.customers.services_fields import choice_lines

ATTR_PREFIX = "attr_"
GROUP_ORDER = [g for g, _label in CustomField.Group.choices]


def field_label(cf: CustomField) -> str:
    """The custom field's label in the active language."""
    if (get_language() or "").startswith("es") and cf.label_es:
        return cf.label_es
    return cf.label


def attribute_form_field(cf: CustomField) -> forms.Field:
    """A Django form field for one custom field definition, by type."""
    label = field_label(cf)
    required = cf.required
    t = CustomField.Type
    lang = get_language() or "en"
    choices = [(c, cf.choice_label(c, lang)) for c in cf.choices or []]
    if cf.type == t.NUMBER:
        return forms.DecimalField(label=label, required=required, max_digits=20, decimal_places=6)
    if cf.type == t.DATE:
        return forms.DateField(
            label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
        )
    if cf.type == t.CHOICE:
        return forms.ChoiceField(label=label, required=required, choices=[("", "—"), *choices])
    if cf.type == t.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            label=label, required=required, choices=choices, widget=forms.CheckboxSelectMultiple
        )
    if cf.type == t.BOOLEAN:
        return forms.BooleanField(label=label, required=False)
    return forms.CharField(label=label, required=required, max_length=1000)


def attribute_initial(cf: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if cf.type == CustomField.Type.DATE:
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            return None
    return value


def attribute_to_service(value: Any) -> Any:
    """Form value -> what customers.services.validate_attributes accepts. An unticked
    checkbox cannot tell "no" from "not asked", so it clears the value instead of storing
    False on every customer saved through the form."""
    if value is False:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class CustomerForm(forms.Form):
    """Create/edit a customer. Field names follow customers.services so that a service
    ValidationError lands next to the right input."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    name = forms.CharField(
        label=_("Organization name"),
        max_length=255,
        required=False,
        help_text=_("For organizations."),
    )
    organization_id = forms.IntegerField(
        label=_("Organization"),
        required=False,
        min_value=1,
        help_text=_("Pick an organization from the list or type its number."),
        widget=forms.NumberInput(attrs={"list": "organization-options"}),
    )
    stage = forms.ChoiceField(label=_("Lifecycle stage"), choices=Customer.Stage.choices)
    owner_id = forms.TypedChoiceField(
        label=_("Owner"), required=False, coerce=int, empty_value=None
    )
    team_id = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas.")
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", "—"), *settings.LANGUAGES]
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        help_text=_("Two-letter code: ES, MX, US…"),
    )
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    email = forms.CharField(label=_("Primary email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Primary phone"), max_length=32, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args,
        custom_fields: list[CustomField],
        creating: bool,
        organizations=None,
        current_organization_id: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.custom_fields = custom_fields
        self.creating = creating
        # Organizations the user may link to (a queryset from customers.selectors); the
        # current link is kept even if the user cannot see that organization.
        self.organizations = organizations
        self.current_organization_id = current_organization_id
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner_id"].choices = [("", "—")] + [
            (u.pk, str(u)) for u in users.only("pk", "username", "first_name", "last_name")
        ]
        self.fields["team_id"].choices = [("", "—")] + [
            (t.pk, t.name) for t in Team.objects.only("pk", "name")
        ]
        if creating:
            del self.fields["version"]
        else:
            del self.fields["email"]
            del self.fields["phone"]
        self.fields["kind"].widget.attrs["autofocus"] = True
        for cf in custom_fields:
            self.fields[ATTR_PREFIX + cf.key] = attribute_form_field(cf)

    @classmethod
    def initial_for(cls, customer: Customer, custom_fields: list[CustomField]) -> dict:
        initial = {
            "kind": customer.kind,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "name": customer.name if customer.is_organization else "",
            "organization_id": customer.organization_id,
            "stage": customer.stage,
            "owner_id": customer.owner_id,
            "team_id": customer.team_id,
            "source": customer.source,
            "tags": ", ".join(t.name for t in customer.tags.all()),
            "language": customer.language,
            "country": customer.country,
            "region": customer.region,
            "city": customer.city,
            "version": customer.version,
        }
        for cf in custom_fields:
            initial[ATTR_PREFIX + cf.key] = attribute_initial(cf, customer.attributes.get(cf.key))
        return initial

    def clean_organization_id(self):
        value = self.cleaned_data.get("organization_id")
        if (
            value
            and value != self.current_organization_id
            and self.organizations is not None
            and not self.organizations.filter(pk=value).exists()
        ):
            raise forms.ValidationError(_("Choose an existing organization."))
        return value

    def clean(self):
        data = super().clean()
        if data.get("kind") == Customer.Kind.ORGANIZATION and not data.get("name"):
            self.add_error("name", _("Enter the organization's name."))
        if data.get("kind") == Customer.Kind.PERSON and not (
            data.get("first_name") or data.get("last_name")
        ):
            self.add_error("last_name", _("Enter a name."))
        return data

    def groups(self) -> list[tuple[str, list]]:
        """Custom field inputs as [(group label, [bound fields])], in group order."""
        labels = dict(CustomField.Group.choices)
        by_group: dict[str, list] = {}
        for cf in self.custom_fields:
            by_group.setdefault(cf.group, []).append(self[ATTR_PREFIX + cf.key])
        return [(labels[g], by_group[g]) for g in GROUP_ORDER if g in by_group]

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        kwargs: dict[str, Any] = {
            "kind": d["kind"],
            "first_name": d.get("first_name") or "",
            "last_name": d.get("last_name") or "",
            "name": d.get("name") or "",
            "organization_id": d.get("organization_id"),
            "stage": d["stage"],
            "owner_id": d.get("owner_id"),
            "team_id": d.get("team_id"),
            "source": d.get("source") or "",
            "language": d.get("language") or "",
            "country": d.get("country") or "",
            "region": d.get("region") or "",
            "city": d.get("city") or "",
            "tags": [t.strip() for t in (d.get("tags") or "").split(",") if t.strip()],
            "attributes": {
                cf.key: attribute_to_service(d.get(ATTR_PREFIX + cf.key))
                for cf in self.custom_fields
            },
        }
        if self.creating:
            kwargs["emails"] = [d["email"]] if d.get("email") else []
            kwargs["phones"] = [d["phone"]] if d.get("phone") else []
        return kwargs

    def add_domain_error(self, exc: DomainError) -> None:
        """Put a service error next to the input it is about."""
        add_field_errors(self, remap_errors(exc, {"emails": "email", "phones": "phone"}))


def remap_errors(exc: DomainError, mapping: dict[str, str]) -> DomainError:
    """A copy of ``exc`` with field names translated to form field names
    (``attributes.<key>`` -> ``attr_<key>`` and the given mapping)."""
    fields: dict[str, list[str]] = {}
    for name, msgs in exc.field_errors.items():
        if name.startswith("attributes."):
            target = ATTR_PREFIX + name.split(".", 1)[1]
        else:
            target = mapping.get(name, name)
        fields.setdefault(target, []).extend(msgs)
    return DomainError(exc.message, field_errors=fields)


class EmailForm(forms.Form):
    email = forms.CharField(label=_("Email address"), max_length=254)
    kind = forms.ChoiceField(label=_("Type"), choices=ChannelKind.choices, initial="work")
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class PhoneForm(forms.Form):
    number = forms.CharField(label=_("Phone number"), max_length=32)
    kind = forms.ChoiceField(label=_("Type"), choices=ChannelKind.choices, initial="mobile")
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class AddressForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Address.Kind.choices, initial="home")
    street = forms.CharField(label=_("Street"), max_length=255, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=2, required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class CustomFieldForm(forms.Form):
    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("Lower-case letters, digits and underscores; used in imports and the API."),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    label_es = forms.CharField(label=_("Label (Spanish)"), max_length=100, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    group = forms.ChoiceField(label=_("Group"), choices=CustomField.Group.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "For choice fields: one value per line, optionally followed by how it reads: "
            "value | English label | Spanish label (e.g. “urban | Urban | Urbano”). The value "
            "is what imports, exports and the API use."
        ),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, initial=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].widget.attrs["autofocus"] = True

    @staticmethod
    def initial_for(cf: CustomField) -> dict:
        return {
            "key": cf.key,
            "label": cf.label,
            "label_es": cf.label_es,
            "type": cf.type,
            "group": cf.group,
            "choices": choice_lines(cf),
            "required": cf.required,
            "position": cf.position,
            "active": cf.active,
        }

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "key": d["key"],
            "label": d["label"],
            "label_es": d.get("label_es") or "",
            "type": d["type"],
            "group": d["group"],
            "choices": (d.get("choices") or "").splitlines(),
            "required": d.get("required", False),
            "position": d.get("position") or 0,
            "active": d.get("active", False),
        }
