"""Writes the REST API needs beyond ``interactions.services``: editing an interaction's
text and changing a task (fields and done state) in one versioned step."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.interactions import services
from vinculo.interactions.models import Interaction, Task

INTERACTION_EDITABLE = ("subject", "body", "outcome")


@transaction.atomic
def update_interaction(
    *, actor, interaction_id: int, expected_version: int | None, **changes: Any
) -> Interaction:
    """Change an interaction's subject, body or outcome (what happened stays as logged:
    customer, type, channel and time are not editable). Optimistic locking; atomic, audited."""
    unknown = set(changes) - set(INTERACTION_EDITABLE)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    obj = Interaction.objects.select_for_update().get(pk=interaction_id)
    if expected_version is not None and int(expected_version) != obj.version:
        raise Conflict(_("This interaction was changed by someone else. Reload and try again."))
    before = audit.snapshot(obj, INTERACTION_EDITABLE)
    errors: dict[str, list[str]] = {}
    if "outcome" in changes and (changes["outcome"] or "") not in Interaction.Outcome.values:
        errors["outcome"] = [_("Choose an outcome from the list.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    for key, value in changes.items():
        setattr(obj, key, (value or "").strip())
    obj.subject = obj.subject[:255]
    if obj.kind == Interaction.Kind.NOTE and not (obj.subject or obj.body):
        raise ValidationError.for_field("body", _("Write the note."))
    diff = audit.diff(before, audit.snapshot(obj, INTERACTION_EDITABLE))
    if not diff:
        return obj
    obj.version += 1
    obj.save(update_fields=[*INTERACTION_EDITABLE, "version", "updated_at"])
    audit.record(actor=actor, action="update", obj=obj, customer_id=obj.customer_id, changes=diff)
    return obj


@transaction.atomic
def change_task(
    *,
    actor,
    task_id: int,
    expected_version: int | None,
    done: bool | None = None,
    **changes: Any,
) -> Task:
    """Change a task's fields and/or its done state in one step under one version check,
    so a client never half-applies a change. Atomic and audited (by the services it uses)."""
    task = Task.objects.select_for_update().get(pk=task_id)
    if expected_version is not None and int(expected_version) != task.version:
        raise Conflict(_("This task was changed by someone else. Reload and try again."))
    if changes:
        task = services.update_task(
            actor=actor, task_id=task.pk, expected_version=task.version, **changes
        )
    if done is not None and done != task.is_done:
        task = services.set_task_done(actor=actor, task_id=task.pk, done=done)
    return task
