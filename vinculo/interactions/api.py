"""``/interactions`` (the timeline) and ``/tasks`` (follow-ups). Visibility follows the
customer: what you cannot see answers 404, like what does not exist."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT, ErrorOut, keyset_page
from vinculo.core.errors import ValidationError
from vinculo.customers.selectors import customer_for_user
from vinculo.interactions import services, services_api
from vinculo.interactions.models import Interaction, Task
from vinculo.interactions.selectors import (
    interaction_for_user,
    task_for_user,
    visible_interactions,
    visible_tasks,
)

interactions_router = Router(tags=["interactions"])
tasks_router = Router(tags=["tasks"])

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- interactions -----------------------------------------------------------------------------


class InteractionOut(Schema):
    id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    kind: str
    channel: str
    direction: str
    subject: str
    body: str
    outcome: str
    duration_seconds: int | None
    occurred_at: dt.datetime
    user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class InteractionPage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None = None


class InteractionListQuery(Schema):
    customer: int | None = None
    kind: str = ""
    channel: str = ""
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class FollowUpIn(Schema):
    title: str = ""
    due_date: dt.date | None = None
    assignee_id: int | None = Field(None, description="Defaults to you")


class InteractionIn(Schema):
    customer_id: int
    kind: str
    channel: str = Field("", description="Defaults to the usual channel of the kind")
    direction: str = Interaction.Direction.OUTBOUND
    subject: str = ""
    body: str = ""
    outcome: str = ""
    duration_seconds: int | None = None
    occurred_at: AwareDatetime | None = Field(None, description="Defaults to now")
    follow_up: FollowUpIn | None = None


class InteractionPatchIn(Schema):
    version: int
    subject: str | None = None
    body: str | None = None
    outcome: str | None = None


@interactions_router.get("", response={200: InteractionPage, **ERRORS}, summary="Timeline")
def list_interactions(request, query: Query[InteractionListQuery]):
    """Interactions on customers you may see, newest first (keyset on occurred_at, id)."""
    require(request.auth, "customers.view")
    qs = visible_interactions(request.auth).select_related("customer")
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    if query.channel:
        qs = qs.filter(channel=query.channel)
    if query.since:
        qs = qs.filter(occurred_at__gte=query.since)
    if query.until:
        qs = qs.filter(occurred_at__lt=query.until)
    rows, next_cursor = keyset_page(
        qs,
        key="interactions",
        order=(("occurred_at", "datetime"), ("id", "int")),
        descending=True,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": rows, "next_cursor": next_cursor}


@interactions_router.get(
    "/{interaction_id}", response={200: InteractionOut, **ERRORS}, summary="One interaction"
)
def get_interaction(request, interaction_id: int):
    obj = interaction_for_user(user=request.auth, pk=interaction_id)
    require(request.auth, "customers.view")
    return obj


@interactions_router.post("", response={201: InteractionOut, **ERRORS}, summary="Log")
def log_interaction(request, payload: InteractionIn):
    """Log a contact on a customer's timeline, optionally with a follow-up task."""
    customer = customer_for_user(user=request.auth, pk=payload.customer_id)
    require(request.auth, "interactions.log")
    data = payload.dict()
    follow_up = data.pop("follow_up") or {}
    data.pop("customer_id")
    obj = services.log_interaction(
        actor=request.auth,
        customer_id=customer.pk,
        follow_up_title=follow_up.get("title") or "",
        follow_up_due=follow_up.get("due_date"),
        follow_up_assignee_id=follow_up.get("assignee_id"),
        **data,
    )
    return Status(201, interaction_for_user(user=request.auth, pk=obj.pk))


@interactions_router.patch(
    "/{interaction_id}", response={200: InteractionOut, **ERRORS}, summary="Edit the text"
)
def update_interaction(request, interaction_id: int, payload: InteractionPatchIn):
    """Change subject, body or outcome; `version` must be the one you read (else 409)."""
    obj = interaction_for_user(user=request.auth, pk=interaction_id)
    require(request.auth, "interactions.log")
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    services_api.update_interaction(
        actor=request.auth, interaction_id=obj.pk, expected_version=version, **changes
    )
    return interaction_for_user(user=request.auth, pk=obj.pk)


@interactions_router.delete(
    "/{interaction_id}", response={204: None, **ERRORS}, summary="Delete an interaction"
)
def delete_interaction(request, interaction_id: int):
    obj = interaction_for_user(user=request.auth, pk=interaction_id)
    require(request.auth, "interactions.log")
    services.delete_interaction(actor=request.auth, interaction_id=obj.pk)
    return Status(204, None)


# --- tasks ------------------------------------------------------------------------------------


class TaskOut(Schema):
    id: int
    title: str
    notes: str
    customer_id: int | None
    interaction_id: int | None
    due_date: dt.date
    assignee_id: int
    created_by_id: int | None
    priority: int
    done: bool = Field(..., alias="is_done")
    done_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None = None


class TaskListQuery(Schema):
    assignee: str = Field("", description="`me` or a user id")
    status: Literal["", "open", "done"] = ""
    due_before: dt.date | None = None
    customer: int | None = None
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class TaskIn(Schema):
    title: str
    due_date: dt.date
    assignee_id: int | None = Field(None, description="Defaults to you")
    customer_id: int | None = None
    notes: str = ""
    priority: int = Task.Priority.NORMAL


class TaskPatchIn(Schema):
    version: int
    title: str | None = None
    notes: str | None = None
    due_date: dt.date | None = None
    priority: int | None = None
    assignee_id: int | None = None
    done: bool | None = None


@tasks_router.get("", response={200: TaskPage, **ERRORS}, summary="List tasks")
def list_tasks(request, query: Query[TaskListQuery]):
    """Tasks you may see, by due date (keyset on due_date, id)."""
    require(request.auth, "customers.view")
    qs = visible_tasks(request.auth)
    if query.assignee == "me":
        qs = qs.filter(assignee_id=request.auth.pk)
    elif query.assignee:
        if not query.assignee.isdigit():
            raise ValidationError.for_field("assignee", _("Use “me” or a user id."))
        qs = qs.filter(assignee_id=int(query.assignee))
    if query.status == "open":
        qs = qs.filter(done_at__isnull=True)
    elif query.status == "done":
        qs = qs.filter(done_at__isnull=False)
    if query.due_before:
        qs = qs.filter(due_date__lt=query.due_before)
    if query.customer:
        qs = qs.filter(customer_id=query.customer)
    rows, next_cursor = keyset_page(
        qs,
        key="tasks",
        order=(("due_date", "date"), ("id", "int")),
        descending=False,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": rows, "next_cursor": next_cursor}


@tasks_router.get("/{task_id}", response={200: TaskOut, **ERRORS}, summary="One task")
def get_task(request, task_id: int):
    return task_for_user(user=request.auth, pk=task_id)


@tasks_router.post("", response={201: TaskOut, **ERRORS}, summary="Create a task")
def create_task(request, payload: TaskIn):
    require(request.auth, "tasks.manage")
    data = payload.dict()
    if data["customer_id"] is not None:
        customer_for_user(user=request.auth, pk=data["customer_id"])
    data["assignee_id"] = data["assignee_id"] or request.auth.pk
    return Status(201, services.create_task(actor=request.auth, **data))


@tasks_router.patch("/{task_id}", response={200: TaskOut, **ERRORS}, summary="Update a task")
def update_task(request, task_id: int, payload: TaskPatchIn):
    """Change fields and/or mark done (`done: true`) or reopen; `version` must be current."""
    task = task_for_user(user=request.auth, pk=task_id)
    require(request.auth, "tasks.manage")
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    for key in ("title", "due_date", "priority", "assignee_id"):
        if key in changes and changes[key] is None:
            raise ValidationError.for_field(key, _("This field cannot be empty."))
    if changes.get("notes", "") is None:
        changes["notes"] = ""
    services_api.change_task(
        actor=request.auth, task_id=task.pk, expected_version=version, **changes
    )
    return task_for_user(user=request.auth, pk=task.pk)


@tasks_router.delete("/{task_id}", response={204: None, **ERRORS}, summary="Delete a task")
def delete_task(request, task_id: int):
    task = task_for_user(user=request.auth, pk=task_id)
    require(request.auth, "tasks.manage")
    services.delete_task(actor=request.auth, task_id=task.pk)
    return Status(204, None)
