"""Reads of opportunities, always filtered by what the user may see: an opportunity is visible
when its customer is, or when the user owns it."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from vinculo.core.errors import NotFound
from vinculo.customers.selectors import visibility_q
from vinculo.sales.models import Opportunity, Order, Pipeline, Quote, StageHistory


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


def visible_opportunities(user) -> QuerySet[Opportunity]:
    """Opportunities ``user`` may see (merged-away customers' ones are never listed)."""
    qs = Opportunity.objects.filter(customer__merged_into__isnull=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    q = _prefix_q(visibility_q(user), "customer")
    return qs if q is None else qs.filter(q | Q(owner_id=user.pk))


def opportunity_for_user(*, user, pk) -> Opportunity:
    """One opportunity the user may see, or NotFound (hidden and missing look alike)."""
    try:
        return (
            visible_opportunities(user)
            .select_related("customer", "pipeline", "stage", "owner", "team")
            .get(pk=pk)
        )
    except (Opportunity.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Opportunity not found.")) from None


def with_stage_entered_at(qs: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Annotate ``stage_entered_at``: when the opportunity entered its current stage."""
    current = StageHistory.objects.filter(
        opportunity_id=OuterRef("pk"), left_at__isnull=True
    ).order_by("-entered_at", "-id")
    return qs.annotate(stage_entered_at=Subquery(current.values("entered_at")[:1]))


def pipelines() -> list[Pipeline]:
    """All pipelines with their stages prefetched (default first)."""
    return list(
        Pipeline.objects.order_by("-is_default", "position", "id").prefetch_related("stages")
    )


def stage_history(*, opportunity_id: int) -> QuerySet[StageHistory]:
    return StageHistory.objects.filter(opportunity_id=opportunity_id).select_related(
        "stage", "user"
    )


def _visible(qs: QuerySet, user) -> QuerySet:
    """Rows hanging off a customer (orders, quotes): visible when the customer is, or
    when the user owns the row. Merged-away customers' rows are never listed."""
    qs = qs.filter(customer__merged_into__isnull=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    q = _prefix_q(visibility_q(user), "customer")
    return qs if q is None else qs.filter(q | Q(owner_id=user.pk))


def visible_orders(user) -> QuerySet[Order]:
    """Orders ``user`` may see: their customer is visible, or the user owns the order."""
    return _visible(Order.objects.all(), user)


def order_for_user(*, user, pk) -> Order:
    """One order the user may see, or NotFound (hidden and missing look alike)."""
    try:
        return visible_orders(user).select_related("customer", "owner").get(pk=pk)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Order not found.")) from None


def visible_quotes(user) -> QuerySet[Quote]:
    """Quotes ``user`` may see: their customer is visible, or the user owns the quote."""
    return _visible(Quote.objects.all(), user)


def quote_for_user(*, user, pk) -> Quote:
    """One quote the user may see, or NotFound (hidden and missing look alike)."""
    try:
        return (
            visible_quotes(user)
            .select_related("customer", "owner", "opportunity", "order", "revises")
            .get(pk=pk)
        )
    except (Quote.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Quote not found.")) from None
