"""Reads of the timeline and tasks, filtered by customer visibility."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.models import Role
from vinculo.accounts.permissions import sees_all_customers
from vinculo.core.errors import NotFound
from vinculo.core.fast import compiled_rows
from vinculo.customers.selectors import visibility_q
from vinculo.interactions.models import Interaction, Task


def _prefix_q(q: Q | None, prefix: str) -> Q | None:
    """Re-root a customer visibility Q (owner_id=...) under ``prefix`` (customer__owner_id=...)."""
    if q is None:
        return None
    new = Q()
    new.connector, new.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            new.children.append(_prefix_q(child, prefix))
        else:
            key, value = child
            new.children.append((f"{prefix}__{key}", value))
    return new


def visible_interactions(user) -> QuerySet[Interaction]:
    qs = Interaction.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    q = _prefix_q(visibility_q(user), "customer")
    return qs if q is None else qs.filter(q)


def customer_timeline(
    *, customer_id: int, kinds: list[str] | None = None, channels: list[str] | None = None
) -> QuerySet[Interaction]:
    """The customer's timeline, newest first. The caller has already checked the customer is
    visible (customers.selectors.customer_for_user)."""
    qs = Interaction.objects.filter(customer_id=customer_id).select_related("user")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if channels:
        qs = qs.filter(channel__in=channels)
    return qs.order_by("-occurred_at", "-id")


def interaction_for_user(*, user, pk) -> Interaction:
    try:
        return visible_interactions(user).select_related("customer", "user").get(pk=pk)
    except (Interaction.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Interaction not found.")) from None


def visible_tasks(user) -> QuerySet[Task]:
    """Tasks the user may see: their own, plus those on customers they can see."""
    qs = Task.objects.all()
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if sees_all_customers(user):
        return qs
    cq = _prefix_q(visibility_q(user), "customer")
    q = Q(assignee_id=user.pk) | cq
    # A manager also sees the tasks of the people in the teams they manage.
    if user.role == Role.SALES_MANAGER:
        q |= Q(assignee__team__manager_id=user.pk)
    return qs.filter(q)


def task_for_user(*, user, pk) -> Task:
    try:
        return visible_tasks(user).select_related("customer", "assignee").get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Task not found.")) from None


def my_day(*, user, today: dt.date | None = None) -> dict[str, QuerySet[Task]]:
    """Open tasks of ``user``: overdue, due today, upcoming (next 7 days)."""
    today = today or timezone.localdate()
    # What a task row shows (interactions.task_rows) and its customer's name, not whole
    # customer rows with their custom fields' JSON.
    base = (
        Task.objects.filter(assignee=user, done_at__isnull=True)
        .select_related("customer")
        .only(
            "id",
            "title",
            "due_date",
            "priority",
            "done_at",
            "assignee_id",
            "customer_id",
            "customer__name",
        )
    )
    return {
        "overdue": base.filter(due_date__lt=today).order_by("due_date", "-priority", "id"),
        "today": base.filter(due_date=today).order_by("-priority", "id"),
        "upcoming": base.filter(
            due_date__gt=today, due_date__lte=today + dt.timedelta(days=7)
        ).order_by("due_date", "-priority", "id"),
    }


def open_task_count(*, customer_id: int) -> int:
    return Task.objects.filter(customer_id=customer_id, done_at__isnull=True).count()


# --- Timeline pages (keyset pagination) --------------------------------------------------------

TIMELINE_PAGE_SIZE = 20
TIMELINE_FIELDS = (
    "id",
    "customer_id",
    "kind",
    "channel",
    "direction",
    "subject",
    "body",
    "outcome",
    "duration_seconds",
    "occurred_at",
    "user_id",
    "user__username",
    "user__first_name",
    "user__last_name",
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class TimelinePage:
    items: list[Interaction]
    # Opaque position of the last item; None when there is nothing older.
    next_cursor: str | None


def encode_cursor(interaction: Interaction) -> str:
    """ "<microseconds since epoch>_<id>": exact (no float rounding) and URL-safe."""
    micros = (interaction.occurred_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}_{interaction.pk}"


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """The (occurred_at, id) a cursor points at, or None for a missing/garbled cursor."""
    if not cursor:
        return None
    try:
        micros, pk = cursor.split("_", 1)
        return _EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def timeline_page(
    *,
    customer_id: int,
    kinds: list[str] | None = None,
    channels: list[str] | None = None,
    cursor: str | None = None,
    limit: int = TIMELINE_PAGE_SIZE,
) -> TimelinePage:
    """One page of the customer's timeline, newest first, starting after ``cursor``.

    Keyset pagination on (occurred_at, id): each page is an index range scan on
    ``interaction_timeline``, so page 1000 costs what page 1 costs, and rows logged while the
    user reads never shift items between pages (no duplicates, no gaps). The caller has
    already checked that the customer is visible."""
    position = decode_cursor(cursor)
    if position is None and not kinds and not channels and type(customer_id) is int:
        # The page the 360° page opens with: compiled once per process and page size
        # (core.fast.compiled_rows), the same rows as below.
        rows = compiled_rows(
            f"timeline_page:{limit}",
            lambda cid: _timeline_rows(customer_timeline(customer_id=cid))[: limit + 1],
            customer_id,
        )
    else:
        qs = customer_timeline(customer_id=customer_id, kinds=kinds, channels=channels)
        if position is not None:
            ts, pk = position
            # "occurred_at <= ts" bounds the index scan; the OR breaks ties on id.
            qs = qs.filter(Q(occurred_at__lte=ts) & (Q(occurred_at__lt=ts) | Q(id__lt=pk)))
        rows = list(_timeline_rows(qs)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(items=rows, next_cursor=encode_cursor(rows[-1]) if has_more else None)


def _timeline_rows(qs: QuerySet[Interaction]) -> QuerySet[Interaction]:
    # The items show a follow-up's title, due date and state, not its assignee: no user
    # join and no user objects (~0.5 ms of a 360° page). Only the columns an item prints
    # (interactions.timeline_items) and the author's name: not the timestamps, versions and
    # links it does not show, nor the author's whole account row.
    return qs.only(*TIMELINE_FIELDS).prefetch_related(
        Prefetch(
            "follow_ups",
            queryset=Task.objects.only(
                "id", "interaction_id", "title", "due_date", "done_at"
            ).order_by("id"),
        )
    )


def interactions_logged_today(
    *, user, today: dt.date | None = None, limit: int = 20
) -> list[Interaction]:
    """What ``user`` logged since local midnight (newest first), on customers still visible."""
    today = today or timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    # What the list shows, and the customer's name: whole customer rows (custom fields' JSON
    # and all) were half of this query's cost on My day (4.9 -> 2.5 ms at 1M).
    return list(
        visible_interactions(user)
        .filter(user_id=user.pk, occurred_at__gte=start)
        .select_related("customer")
        .only("id", "kind", "outcome", "subject", "occurred_at", "customer_id", "customer__name")
        .order_by("-occurred_at", "-id")[:limit]
    )


# --- Task list --------------------------------------------------------------------------------


@dataclass
class TaskFilters:
    """Filters of the task list. ``assignee`` is "me", "all" or a user id (managers only)."""

    status: str = "open"  # open | done | all
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    assignee: str = "me"


def manages_people(user) -> bool:
    return bool(getattr(user, "is_admin_role", False) or user.role == Role.SALES_MANAGER)


def assignee_choices(user) -> list:
    """Users whose tasks ``user`` may list: everyone for admins, the members of the teams a
    manager manages (and the manager), else only the user."""
    User = get_user_model()
    if getattr(user, "is_admin_role", False):
        return list(User.objects.filter(is_active=True).order_by("username"))
    if user.role == Role.SALES_MANAGER:
        return list(
            User.objects.filter(Q(team__manager=user) | Q(pk=user.pk), is_active=True)
            .distinct()
            .order_by("username")
        )
    return [user]


def filter_tasks(*, user, filters: TaskFilters) -> QuerySet[Task]:
    """Tasks for the list page, visibility applied. Non-managers only ever see their own."""
    qs = visible_tasks(user).select_related("customer", "assignee")
    if not manages_people(user) or filters.assignee in ("", "me"):
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee != "all":
        try:
            qs = qs.filter(assignee_id=int(filters.assignee))
        except (TypeError, ValueError):
            qs = qs.filter(assignee_id=user.pk)
    if filters.status == "open":
        qs = qs.filter(done_at__isnull=True).order_by("due_date", "-priority", "id")
    elif filters.status == "done":
        qs = qs.filter(done_at__isnull=False).order_by("-done_at", "-id")
    else:
        qs = qs.order_by("done_at", "due_date", "-priority", "id")
    if filters.due_from:
        qs = qs.filter(due_date__gte=filters.due_from)
    if filters.due_to:
        qs = qs.filter(due_date__lte=filters.due_to)
    return qs
