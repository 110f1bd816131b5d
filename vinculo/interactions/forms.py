"""Forms of the timeline and tasks: they parse and check the shape of input; the rules live in
``interactions.services``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vinculo.interactions.models import Interaction, Task

# The types a person logs by hand, with the single key that picks each one in the form.
# (Web visits and form submissions are written by the system, not typed in.)
QUICK_KINDS: list[tuple[str, str, Any]] = [
    (Interaction.Kind.CALL, "c", Interaction.Kind.CALL.label),
    (Interaction.Kind.EMAIL, "e", Interaction.Kind.EMAIL.label),
    (Interaction.Kind.MEETING, "m", Interaction.Kind.MEETING.label),
    (Interaction.Kind.NOTE, "n", Interaction.Kind.NOTE.label),
    (Interaction.Kind.SMS, "s", Interaction.Kind.SMS.label),
    (Interaction.Kind.CHAT, "h", Interaction.Kind.CHAT.label),
    (Interaction.Kind.LETTER, "l", Interaction.Kind.LETTER.label),
    (Interaction.Kind.FAX, "f", Interaction.Kind.FAX.label),
]
KIND_KEYS = {value: key for value, key, _label in QUICK_KINDS}


class FollowUp:
    NONE = "none"
    TOMORROW = "tomorrow"
    THREE_DAYS = "3d"
    NEXT_WEEK = "1w"
    DATE = "date"

    OFFSETS = {TOMORROW: 1, THREE_DAYS: 3, NEXT_WEEK: 7}
    KEYS = {NONE: "0", TOMORROW: "1", THREE_DAYS: "3", NEXT_WEEK: "7", DATE: "d"}
    CHOICES = [
        (NONE, _("No follow-up")),
        (TOMORROW, _("Tomorrow")),
        (THREE_DAYS, _("In 3 days")),
        (NEXT_WEEK, _("Next week")),
        (DATE, _("On date…")),
    ]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


# Service field name -> form field name, to put a service's error next to the right input.
_SERVICE_FIELDS = {
    "duration_seconds": "duration_minutes",
    "body": "notes",
    "channel": "kind",
    "assignee_id": "follow_up_title",
    "occurred_at": None,
}


class QuickLogForm(forms.Form):
    """The quick log form: one contact and, optionally, its follow-up task."""

    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[(v, label) for v, _k, label in QUICK_KINDS],
        initial=Interaction.Kind.CALL,
        widget=forms.RadioSelect,
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Interaction.Outcome.choices, required=False
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=[
            (Interaction.Direction.OUTBOUND, Interaction.Direction.OUTBOUND.label),
            (Interaction.Direction.INBOUND, Interaction.Direction.INBOUND.label),
        ],
        initial=Interaction.Direction.OUTBOUND,
        required=False,
    )
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (min)"),
        min_value=0,
        max_value=24 * 60,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
    )
    follow_up = forms.ChoiceField(
        label=_("Follow up"),
        choices=FollowUp.CHOICES,
        initial=FollowUp.NONE,
        required=False,
        widget=forms.RadioSelect,
    )
    follow_up_date = forms.DateField(label=_("Follow-up date"), required=False, widget=DateInput)
    follow_up_title = forms.CharField(
        label=_("Follow-up task"),
        max_length=255,
        required=False,
        help_text=_("Optional; defaults to “Follow up: <subject>”."),
    )

    def clean(self):
        data = super().clean()
        choice = data.get("follow_up") or FollowUp.NONE
        date = data.get("follow_up_date")
        today = timezone.localdate()
        due: dt.date | None = None
        if choice in FollowUp.OFFSETS:
            due = today + dt.timedelta(days=FollowUp.OFFSETS[choice])
        elif choice == FollowUp.DATE or date:
            # Typing a date is enough: nobody should have to pick "on date" as well.
            if not date:
                if "follow_up_date" not in self.errors:
                    self.add_error("follow_up_date", _("Enter the date of the follow-up."))
            elif date < today:
                self.add_error("follow_up_date", _("A follow-up cannot be in the past."))
            else:
                due = date
        elif (data.get("follow_up_title") or "").strip():
            due = today + dt.timedelta(days=1)
        data["follow_up_due"] = due
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        minutes = d.get("duration_minutes")
        return {
            "kind": d["kind"],
            "direction": d.get("direction") or Interaction.Direction.OUTBOUND,
            "subject": d.get("subject") or "",
            "body": d.get("notes") or "",
            "outcome": d.get("outcome") or "",
            "duration_seconds": minutes * 60 if minutes is not None else None,
            "follow_up_title": d.get("follow_up_title") or "",
            "follow_up_due": d.get("follow_up_due"),
        }

    def add_service_errors(self, exc) -> None:
        """Put a services.ValidationError's messages next to the matching inputs."""
        if not exc.field_errors:
            self.add_error(None, exc.message)
            return
        for field, msgs in exc.field_errors.items():
            target = _SERVICE_FIELDS.get(field, field)
            for msg in msgs:
                self.add_error(target if target in self.fields else None, msg)


class TaskForm(forms.Form):
    """Create or edit a task. ``version`` carries the optimistic lock on edit."""

    title = forms.CharField(label=_("Title"), max_length=255)
    due_date = forms.DateField(label=_("Due date"), widget=DateInput)
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=Task.Priority.choices,
        coerce=int,
        initial=Task.Priority.NORMAL,
    )
    customer_id = forms.IntegerField(
        label=_("Customer number"),
        required=False,
        min_value=1,
        help_text=_("Optional: the number of the customer this task is about."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def add_service_errors(self, exc) -> None:
        if not exc.field_errors:
            self.add_error(None, exc.message)
            return
        for field, msgs in exc.field_errors.items():
            for msg in msgs:
                self.add_error(field if field in self.fields else None, msg)


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("open", _("Open")), ("done", _("Done")), ("all", _("All"))],
        required=False,
    )
    due_from = forms.DateField(label=_("Due from"), required=False, widget=DateInput)
    due_to = forms.DateField(label=_("Due until"), required=False, widget=DateInput)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(self, *args, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is None:
            del self.fields["assignee"]
        else:
            self.fields["assignee"].choices = [
                ("me", _("Me")),
                ("all", _("Everyone I can see")),
                *[(str(u.pk), str(u)) for u in assignees],
            ]
