"""Writes to the timeline and to follow-up tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.customers import services as customer_services
from vinculo.interactions.models import Interaction, Task

# The channel an interaction type uses unless told otherwise.
DEFAULT_CHANNEL = {
    Interaction.Kind.CALL: Interaction.Channel.PHONE,
    Interaction.Kind.EMAIL: Interaction.Channel.EMAIL,
    Interaction.Kind.LETTER: Interaction.Channel.POST,
    Interaction.Kind.FAX: Interaction.Channel.FAX,
    Interaction.Kind.SMS: Interaction.Channel.SMS,
    Interaction.Kind.CHAT: Interaction.Channel.CHAT,
    Interaction.Kind.MEETING: Interaction.Channel.IN_PERSON,
    Interaction.Kind.WEB_VISIT: Interaction.Channel.WEB,
    Interaction.Kind.FORM: Interaction.Channel.WEB,
    Interaction.Kind.NOTE: Interaction.Channel.INTERNAL,
}


@transaction.atomic
def log_interaction(
    *,
    actor,
    customer_id: int,
    kind: str,
    channel: str = "",
    direction: str = Interaction.Direction.OUTBOUND,
    subject: str = "",
    body: str = "",
    outcome: str = "",
    duration_seconds: int | None = None,
    occurred_at: dt.datetime | None = None,
    related: Any = None,
    follow_up_title: str = "",
    follow_up_due: dt.date | None = None,
    follow_up_assignee_id: int | None = None,
) -> Interaction:
    """Record one contact on the customer's timeline, optionally with a follow-up task,
    and move the customer's last-contact date. Atomic: both or neither are written."""
    errors: dict[str, list[str]] = {}
    if kind not in Interaction.Kind.values:
        errors["kind"] = [_("Choose a type of interaction.")]
    channel = channel or DEFAULT_CHANNEL.get(kind, "")
    if channel not in Interaction.Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    if kind == Interaction.Kind.NOTE:
        direction = Interaction.Direction.INTERNAL
    if direction not in Interaction.Direction.values:
        errors["direction"] = [_("Choose inbound or outbound.")]
    if outcome not in Interaction.Outcome.values:
        errors["outcome"] = [_("Choose an outcome from the list.")]
    if duration_seconds is not None and (duration_seconds < 0 or duration_seconds > 86400):
        errors["duration_seconds"] = [_("Duration must be between 0 seconds and one day.")]
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + dt.timedelta(minutes=5):
        errors["occurred_at"] = [_("An interaction cannot happen in the future.")]
    if kind == Interaction.Kind.NOTE and not (subject.strip() or body.strip()):
        errors["body"] = [_("Write the note.")]
    if follow_up_due and not follow_up_title.strip():
        follow_up_title = (
            _("Follow up: %(subject)s")
            % {"subject": subject.strip() or Interaction.Kind(kind).label}
            if kind in Interaction.Kind.values
            else ""
        )
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    customer = customer_services.lock_customer(customer_id=customer_id, expected_version=None)
    interaction = Interaction.objects.create(
        customer=customer,
        kind=kind,
        channel=channel,
        direction=direction,
        subject=subject.strip()[:255],
        body=body.strip(),
        outcome=outcome,
        duration_seconds=duration_seconds,
        occurred_at=occurred_at,
        user=actor if getattr(actor, "is_authenticated", False) else None,
        related_type=ContentType.objects.get_for_model(related) if related is not None else None,
        related_id=related.pk if related is not None else None,
    )
    # An internal note (written by a person or by the system, e.g. "quote created") is not a
    # contact with the customer: "last contact" only moves for real exchanges.
    if kind != Interaction.Kind.NOTE:
        customer_services.note_contact(customer_id=customer.pk, at=occurred_at)
    if follow_up_title.strip():
        create_task(
            actor=actor,
            title=follow_up_title,
            due_date=follow_up_due or timezone.localdate() + dt.timedelta(days=1),
            assignee_id=follow_up_assignee_id or actor.pk,
            customer_id=customer.pk,
            interaction_id=interaction.pk,
        )
    audit.record(
        actor=actor,
        action="create",
        obj=interaction,
        customer_id=customer.pk,
        changes={"kind": [None, kind], "subject": [None, interaction.subject]},
    )
    return interaction


@transaction.atomic
def create_task(
    *,
    actor,
    title: str,
    due_date: dt.date,
    assignee_id: int,
    customer_id: int | None = None,
    interaction_id: int | None = None,
    notes: str = "",
    priority: int = Task.Priority.NORMAL,
) -> Task:
    """Create a follow-up task for ``assignee_id``."""
    from django.contrib.auth import get_user_model

    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors["title"] = [_("Enter what needs to be done.")]
    if not isinstance(due_date, dt.date):
        errors["due_date"] = [_("Enter a due date.")]
    if not get_user_model().objects.filter(pk=assignee_id, is_active=True).exists():
        errors["assignee_id"] = [_("Choose an active user.")]
    if priority not in Task.Priority.values:
        errors["priority"] = [_("Choose a priority.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    task = Task.objects.create(
        title=title.strip()[:255],
        notes=notes.strip(),
        due_date=due_date,
        assignee_id=assignee_id,
        customer_id=customer_id,
        interaction_id=interaction_id,
        priority=priority,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=task,
        customer_id=customer_id,
        changes={"title": [None, task.title], "due_date": [None, due_date]},
    )
    return task


@transaction.atomic
def update_task(*, actor, task_id: int, expected_version: int | None, **changes: Any) -> Task:
    """Change a task's title, notes, due date, priority or assignee; optimistic locking."""
    allowed = {"title", "notes", "due_date", "priority", "assignee_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    task = Task.objects.select_for_update().get(pk=task_id)
    if expected_version is not None and int(expected_version) != task.version:
        raise Conflict(_("This task was changed by someone else. Reload and try again."))
    fields = ("title", "notes", "due_date", "priority", "assignee_id")
    before = audit.snapshot(task, fields)
    for k, v in changes.items():
        setattr(task, k, v.strip() if isinstance(v, str) else v)
    errors: dict[str, list[str]] = {}
    if not task.title:
        errors["title"] = [_("Enter what needs to be done.")]
    if not isinstance(task.due_date, dt.date):
        errors["due_date"] = [_("Enter a due date.")]
    if task.priority not in Task.Priority.values:
        errors["priority"] = [_("Choose a priority.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    task.version += 1
    task.save()
    audit.record(
        actor=actor,
        action="update",
        obj=task,
        customer_id=task.customer_id,
        changes=audit.diff(before, audit.snapshot(task, fields)),
    )
    return task


@transaction.atomic
def set_task_done(*, actor, task_id: int, done: bool = True) -> Task:
    """Mark a task done (or reopen it). Idempotent."""
    task = Task.objects.select_for_update().get(pk=task_id)
    if done == task.is_done:
        return task
    before = task.done_at
    task.done_at = timezone.now() if done else None
    task.version += 1
    task.save(update_fields=["done_at", "version", "updated_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=task,
        customer_id=task.customer_id,
        changes={"done_at": [before, task.done_at]},
    )
    return task


@transaction.atomic
def delete_interaction(*, actor, interaction_id: int) -> None:
    obj = Interaction.objects.select_for_update().get(pk=interaction_id)
    audit.record(
        actor=actor,
        action="delete",
        obj=obj,
        customer_id=obj.customer_id,
        changes={"kind": [obj.kind, None], "subject": [obj.subject, None]},
    )
    obj.delete()


@transaction.atomic
def delete_task(*, actor, task_id: int) -> None:
    obj = Task.objects.select_for_update().get(pk=task_id)
    audit.record(
        actor=actor,
        action="delete",
        obj=obj,
        customer_id=obj.customer_id,
        changes={"title": [obj.title, None]},
    )
    obj.delete()
