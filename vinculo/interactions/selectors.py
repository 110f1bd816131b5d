"""Reads of the timeline and tasks, filtered by customer visibility."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import sees_all_customers
from vinculo.core.errors import NotFound
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
    return qs.filter(Q(assignee_id=user.pk) | cq)


def task_for_user(*, user, pk) -> Task:
    try:
        return visible_tasks(user).select_related("customer", "assignee").get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Task not found.")) from None


def my_day(*, user, today: dt.date | None = None) -> dict[str, QuerySet[Task]]:
    """Open tasks of ``user``: overdue, due today, upcoming (next 7 days)."""
    today = today or timezone.localdate()
    base = Task.objects.filter(assignee=user, done_at__isnull=True).select_related("customer")
    return {
        "overdue": base.filter(due_date__lt=today).order_by("due_date", "-priority", "id"),
        "today": base.filter(due_date=today).order_by("-priority", "id"),
        "upcoming": base.filter(
            due_date__gt=today, due_date__lte=today + dt.timedelta(days=7)
        ).order_by("due_date", "-priority", "id"),
    }


def open_task_count(*, customer_id: int) -> int:
    return Task.objects.filter(customer_id=customer_id, done_at__isnull=True).count()
