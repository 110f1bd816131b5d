"""Forms for the staff pages and the handover. They only parse input: the rules (unique
username, password strength, who may hand over whom) live in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from vinculo.accounts.models import Role, Team, User


class AccessibleFormMixin:
    """Mark invalid fields with aria-invalid and point them at their error message, so
    screen readers announce the error with the field (Pico also styles aria-invalid)."""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            described = [f"{bound.auto_id}_error"]
            if bound.help_text:
                described.append(f"{bound.auto_id}_helptext")
            attrs = self.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(described)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        label = f"{obj} ({obj.username})" if obj.get_full_name() else obj.username
        if obj.team_id:
            label += f" · {obj.team}"
        if not obj.is_active:
            label += " · " + str(_("inactive"))
        return label


class HandoverForm(AccessibleFormMixin, forms.Form):
    from_user = UserChoiceField(queryset=User.objects.none(), label=_("Hand over from (leaver)"))
    to_user = UserChoiceField(queryset=User.objects.none(), label=_("To (receiver)"))
    include_customers = forms.BooleanField(
        label=_("Customers they own"), required=False, initial=True
    )
    include_tasks = forms.BooleanField(label=_("Their open tasks"), required=False, initial=True)
    deactivate_from = forms.BooleanField(
        label=_("Deactivate the leaver's account afterwards"), required=False
    )

    def __init__(self, *args, users=None, allow_deactivate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        users = users if users is not None else User.objects.none()
        self.fields["from_user"].queryset = users
        self.fields["to_user"].queryset = users.filter(is_active=True)
        if not allow_deactivate:
            del self.fields["deactivate_from"]


def _team_choices():
    return Team.objects.order_by("name")


class UserForm(AccessibleFormMixin, forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("No team")
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Browser default")), *settings.LANGUAGES],
        required=False,
    )
    is_active = forms.BooleanField(label=_("Active (may sign in)"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = _team_choices()

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "username": d["username"],
            "first_name": d["first_name"],
            "last_name": d["last_name"],
            "email": d["email"],
            "role": d["role"],
            "team_id": d["team"].pk if d["team"] else None,
            "language": d["language"],
            "is_active": d["is_active"],
        }

    @classmethod
    def initial_for(cls, user: User) -> dict:
        return {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.role,
            "team": user.team_id,
            "language": user.language,
            "is_active": user.is_active,
        }


class UserCreateForm(UserForm):
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not too similar to the username."),
    )

    field_order = ["username", "password"]


class UserEditForm(UserForm):
    password = forms.CharField(
        label=_("New password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )


class TeamForm(AccessibleFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    manager = UserChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False, empty_label=_("None")
    )
    region = forms.CharField(label=_("Territory / region"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = User.objects.filter(is_active=True).select_related("team")

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "manager_id": d["manager"].pk if d["manager"] else None,
            "region": d["region"],
        }


class StaffSearchForm(AccessibleFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any role")), *Role.choices]
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("Any team")
    )
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), ("1", _("Active")), ("0", _("Inactive"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = _team_choices()
