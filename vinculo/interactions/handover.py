"""Handover: when a member of staff leaves (or changes job), move what they own to a colleague.

It lives in ``interactions`` because it moves customers *and* tasks. Later apps
(opportunities, cases...) plug in with ``register_handover_participant``: each participant
counts and moves its own rows, inside the same transaction and under the same audit entry.

Scale: everything is moved with bulk ``update()``s by id chunks, and the moved ids are kept
in the audit payload (so the handover can be explained and, if ever needed, undone) rather
than one audit row per customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from vinculo.accounts.permissions import can, require
from vinculo.core import audit
from vinculo.core.errors import NotFound, PermissionDenied, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers.models import Customer
from vinculo.customers.selectors import visible_customers
from vinculo.interactions.models import Interaction, Task
from vinculo.interactions.selectors import visible_interactions, visible_tasks

# Rows per UPDATE: each statement names an id range (two parameters), not an id list.
CHUNK = 10_000
# Handovers moving more rows than this run in the background (the task worker), not in the
# web request: on PostgreSQL a bulk move costs ~0.1-0.2 ms per row (every index is updated).
BACKGROUND_THRESHOLD = 5_000
# Ids kept per audit row; a bigger handover writes continuation rows (see _write_audit).
AUDIT_IDS_PER_ROW = 50_000
# The main handover row; continuation rows use PART_OBJECT_TYPE so lists can skip them.
OBJECT_TYPE = "accounts.user"
PART_OBJECT_TYPE = "accounts.handover_part"


# --- participants -----------------------------------------------------------------------------

CountFn = Callable[..., int]  # count_fn(*, from_user_id) -> int
MoveFn = Callable[..., list[int]]  # move_fn(*, actor, from_user_id, to_user_id, to_team_id) -> ids


@dataclass(frozen=True)
class Participant:
    name: str
    count_fn: CountFn
    move_fn: MoveFn


_PARTICIPANTS: dict[str, Participant] = {}


def register_handover_participant(name: str, count_fn: CountFn, move_fn: MoveFn) -> None:
    """Let another app move its own records in a handover (e.g. "opportunities", "cases").

    ``count_fn(*, from_user_id)`` returns how many rows would move (for the preview);
    ``move_fn(*, actor, from_user_id, to_user_id, to_team_id)`` moves them with bulk updates
    inside the handover's transaction and returns the moved ids. Both must be idempotent:
    once moved, a row no longer belongs to the leaver. Registering a name again replaces it
    (so app reloads in tests do not duplicate)."""
    if name in {"customers", "tasks"}:
        raise ValueError(f"{name!r} is built in")
    _PARTICIPANTS[name] = Participant(name, count_fn, move_fn)


def unregister_handover_participant(name: str) -> None:
    _PARTICIPANTS.pop(name, None)


def registered_participants() -> list[str]:
    return sorted(_PARTICIPANTS)


# --- who may hand over whom -------------------------------------------------------------------


def manageable_users(actor) -> QuerySet:
    """Users ``actor`` may hand over from/to: everyone for an administrator, the members of
    the teams they manage for a sales manager, nobody otherwise."""
    User = get_user_model()
    qs = User.objects.select_related("team").order_by("-is_active", "username")
    if can(actor, "accounts.manage"):
        return qs
    if not can(actor, "accounts.handover"):
        return qs.none()
    return qs.filter(team__manager_id=actor.pk)


def _check_scope(actor, from_user, to_user) -> None:
    if actor is None or can(actor, "accounts.manage"):
        return  # system (the CLI, run by an operator) or an administrator: anyone
    managed = set(actor.managed_teams.values_list("pk", flat=True))
    if from_user.team_id not in managed or to_user.team_id not in managed:
        raise PermissionDenied(_("You can only hand over between members of the teams you manage."))


def _load_users(*, from_user_id: int, to_user_id: int):
    """Both users, locked in id order so two handovers of the same leaver run one at a time."""
    User = get_user_model()
    if from_user_id == to_user_id:
        raise ValidationError.for_field(
            "to_user", _("Choose someone other than the person leaving.")
        )
    users = {
        u.pk: u
        for u in User.objects.select_for_update()
        .filter(pk__in=sorted([from_user_id, to_user_id]))
        .order_by("pk")
    }
    if from_user_id not in users:
        raise ValidationError.for_field("from_user", _("Choose the person leaving."))
    if to_user_id not in users:
        raise ValidationError.for_field("to_user", _("Choose who receives the handover."))
    to_user = users[to_user_id]
    if not to_user.is_active:
        raise ValidationError.for_field(
            "to_user", _("%(user)s is inactive and cannot receive a handover.") % {"user": to_user}
        )
    return users[from_user_id], to_user


def _check(actor, *, from_user_id: int, to_user_id: int, deactivate_from: bool):
    if actor is not None:
        require(actor, "accounts.handover")
        if deactivate_from:
            require(actor, "accounts.manage")
    from_user, to_user = _load_users(from_user_id=from_user_id, to_user_id=to_user_id)
    _check_scope(actor, from_user, to_user)
    return from_user, to_user


# --- preview and run --------------------------------------------------------------------------


def _customers_of(user_id: int) -> QuerySet[Customer]:
    # Merged-away records move too: an unmerge must not hand them back to a leaver.
    return Customer.objects.filter(owner_id=user_id)


def _open_tasks_of(user_id: int) -> QuerySet[Task]:
    # Done tasks stay with the leaver: they are the history of who did what.
    return Task.objects.filter(assignee_id=user_id, done_at__isnull=True)


@dataclass
class HandoverPreview:
    from_user: object
    to_user: object
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class HandoverResult:
    from_user_id: int
    to_user_id: int
    counts: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    deactivated: bool = False
    audit_id: int | None = None

    @property
    def moved_anything(self) -> bool:
        return any(self.counts.values())

    def summary(self) -> str:
        if not self.moved_anything and not self.deactivated:
            return _("Nothing to hand over: everything was already moved.")
        parts = [f"{name}: {n}" for name, n in self.counts.items()]
        text = _("Handed over %(parts)s.") % {"parts": ", ".join(parts)}
        if self.deactivated:
            text += " " + _("The leaver's account was deactivated.")
        return text


def handover_preview(
    *,
    actor,
    from_user_id: int,
    to_user_id: int,
    include_customers: bool = True,
    include_tasks: bool = True,
) -> HandoverPreview:
    """What a handover would move, with the same checks as the real run. Writes nothing."""
    with transaction.atomic():
        from_user, to_user = _check(
            actor, from_user_id=from_user_id, to_user_id=to_user_id, deactivate_from=False
        )
    counts = {
        "customers": _customers_of(from_user_id).count() if include_customers else 0,
        "tasks": _open_tasks_of(from_user_id).count() if include_tasks else 0,
    }
    for p in _PARTICIPANTS.values():
        counts[p.name] = p.count_fn(from_user_id=from_user_id)
    return HandoverPreview(from_user=from_user, to_user=to_user, counts=counts)


def _bulk_move(qs: QuerySet, ids: list[int], **values) -> None:
    """Update the rows of ``qs`` whose ids are in the sorted list ``ids``, by id ranges.
    ``qs`` is the leaver's rows, already locked, so a range holds exactly the listed ids."""
    now = timezone.now()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        qs.filter(pk__gte=chunk[0], pk__lte=chunk[-1]).update(
            version=F("version") + 1, updated_at=now, **values
        )


@transaction.atomic
def handover(
    *,
    actor,
    from_user_id: int,
    to_user_id: int,
    include_customers: bool = True,
    include_tasks: bool = True,
    deactivate_from: bool = False,
) -> HandoverResult:
    """Move the leaver's customers (owner, and team when the receiver has one), their open
    tasks and every registered participant's records to the receiver, in one transaction with
    one audit entry (ids in its payload). Bumps ``version`` so stale edit forms conflict.
    Idempotent: a second run finds nothing left to move and writes nothing.
    ``actor=None`` is a system run (the CLI); otherwise ``accounts.handover`` is needed, and a
    sales manager may only hand over between members of the teams they manage."""
    from_user, to_user = _check(
        actor, from_user_id=from_user_id, to_user_id=to_user_id, deactivate_from=deactivate_from
    )
    result = HandoverResult(from_user_id=from_user.pk, to_user_id=to_user.pk)
    to_team_id = to_user.team_id

    if include_customers:
        # Lock the rows we move (PostgreSQL; SQLite's write lock already serialises writers).
        qs = _customers_of(from_user.pk).select_for_update().order_by("pk")
        ids = list(qs.values_list("pk", flat=True))
        values = {"owner_id": to_user.pk}
        if to_team_id:
            values["team_id"] = to_team_id
        _bulk_move(Customer.objects.filter(owner_id=from_user.pk), ids, **values)
        result.ids["customers"] = ids
    if include_tasks:
        qs = _open_tasks_of(from_user.pk).select_for_update().order_by("pk")
        ids = list(qs.values_list("pk", flat=True))
        _bulk_move(_open_tasks_of(from_user.pk), ids, assignee_id=to_user.pk)
        result.ids["tasks"] = ids
    for p in _PARTICIPANTS.values():
        moved = p.move_fn(
            actor=actor, from_user_id=from_user.pk, to_user_id=to_user.pk, to_team_id=to_team_id
        )
        result.ids[p.name] = sorted(int(i) for i in moved)
    result.counts = {name: len(ids) for name, ids in result.ids.items()}

    if deactivate_from and from_user.is_active:
        from_user.is_active = False
        from_user.save(update_fields=["is_active"])
        result.deactivated = True

    if result.moved_anything or result.deactivated:
        result.audit_id = _write_audit(actor, from_user, to_user, result).pk
    return result


@task()
def handover_task(
    *,
    actor_id: int | None,
    from_user_id: int,
    to_user_id: int,
    include_customers: bool = True,
    include_tasks: bool = True,
    deactivate_from: bool = False,
) -> dict:
    """The handover, run by the task worker. Safe to run twice: the second run moves nothing."""
    actor = get_user_model().objects.get(pk=actor_id) if actor_id else None
    result = handover(
        actor=actor,
        from_user_id=from_user_id,
        to_user_id=to_user_id,
        include_customers=include_customers,
        include_tasks=include_tasks,
        deactivate_from=deactivate_from,
    )
    return {"audit_id": result.audit_id, "counts": result.counts}


def start_handover_in_background(
    *,
    actor,
    from_user_id: int,
    to_user_id: int,
    include_customers: bool = True,
    include_tasks: bool = True,
    deactivate_from: bool = False,
) -> None:
    """Check the handover now (same refusals as ``handover``) and queue it for the worker once
    the caller's transaction commits. The checks run again in the task."""
    actor_id = actor.pk if actor is not None else None
    with transaction.atomic():
        _check(
            actor,
            from_user_id=from_user_id,
            to_user_id=to_user_id,
            deactivate_from=deactivate_from,
        )
        transaction.on_commit(
            lambda: handover_task.enqueue(
                actor_id=actor_id,
                from_user_id=from_user_id,
                to_user_id=to_user_id,
                include_customers=include_customers,
                include_tasks=include_tasks,
                deactivate_from=deactivate_from,
            )
        )


def _write_audit(actor, from_user, to_user, result: HandoverResult) -> AuditEntry:
    """One entry with counts and ids; ids beyond AUDIT_IDS_PER_ROW per kind go to continuation
    rows pointing at it, so a million-customer handover does not make one giant JSON value."""
    head = {name: ids[:AUDIT_IDS_PER_ROW] for name, ids in result.ids.items()}
    entry = audit.record(
        actor=actor,
        action="handover",
        object_type=OBJECT_TYPE,
        object_id=from_user.pk,
        object_repr=f"{from_user} → {to_user}",
        changes={"is_active": [True, False]} if result.deactivated else {},
        payload={
            "from_user_id": from_user.pk,
            "from_user": str(from_user),
            "to_user_id": to_user.pk,
            "to_user": str(to_user),
            "to_team_id": to_user.team_id,
            "counts": result.counts,
            "ids": head,
            "deactivated": result.deactivated,
        },
    )
    parts = 0
    for name, ids in result.ids.items():
        for i in range(AUDIT_IDS_PER_ROW, len(ids), AUDIT_IDS_PER_ROW):
            parts += 1
            audit.record(
                actor=actor,
                action="handover",
                object_type=PART_OBJECT_TYPE,
                object_id=entry.pk,
                payload={
                    "handover_id": entry.pk,
                    "kind": name,
                    "ids": ids[i : i + AUDIT_IDS_PER_ROW],
                },
            )
    if parts:
        entry.payload["parts"] = parts
        entry.save(update_fields=["payload"])
    return entry


# --- reads for the handover pages ---------------------------------------------------------------


def handovers_for_user(user) -> QuerySet[AuditEntry]:
    """Handovers ``user`` received or made (an administrator sees all), newest first."""
    qs = AuditEntry.objects.filter(action=AuditEntry.Action.HANDOVER, object_type=OBJECT_TYPE)
    if can(user, "accounts.manage"):
        return qs.select_related("actor")
    return qs.filter(
        Q(actor_id=user.pk) | Q(payload__to_user_id=user.pk) | Q(object_id=user.pk)
    ).select_related("actor")


def handover_for_user(*, user, pk) -> AuditEntry:
    """One handover entry the user may see, or NotFound."""
    try:
        return handovers_for_user(user).get(pk=pk)
    except (AuditEntry.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Handover not found.")) from None


def handover_ids(entry: AuditEntry, kind: str) -> list[int]:
    ids = list(entry.payload.get("ids", {}).get(kind, []))
    if entry.payload.get("parts"):
        for part in AuditEntry.objects.filter(
            object_type=PART_OBJECT_TYPE, object_id=entry.pk, payload__kind=kind
        ).order_by("pk"):
            ids.extend(part.payload.get("ids", []))
    return ids


# Above this many ids the pages do not send the list as query parameters (SQLite allows
# ~32k, PostgreSQL 65k) but read it from the audit payload inside the database.
INLINE_IDS_MAX = 1000


def _ids_in(entry: AuditEntry, kind: str, lookup: str) -> Q:
    """``Q(<lookup>__in=<the ids the handover moved of this kind>)``."""
    from django.db import connection

    n = entry.payload.get("counts", {}).get(kind, 0)
    vendor = connection.vendor
    if n <= INLINE_IDS_MAX or vendor not in {"postgresql", "sqlite"} or not kind.isidentifier():
        return Q(**{f"{lookup}__in": handover_ids(entry, kind)})
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    if vendor == "postgresql":
        sql = (
            f"SELECT (jsonb_array_elements_text(a.payload -> 'ids' -> %s))::bigint FROM {table} a"
            " WHERE a.id = %s UNION ALL"
            f" SELECT (jsonb_array_elements_text(a.payload -> 'ids'))::bigint FROM {table} a"
            " WHERE a.object_type = %s AND a.object_id = %s AND a.payload ->> 'kind' = %s"
        )
    else:
        sql = (
            f"SELECT j.value FROM {table} a, json_each(a.payload, '$.ids.' || %s) j"
            " WHERE a.id = %s UNION ALL"
            f" SELECT j.value FROM {table} a, json_each(a.payload, '$.ids') j"
            " WHERE a.object_type = %s AND a.object_id = %s"
            " AND json_extract(a.payload, '$.kind') = %s"
        )
    params = (kind, entry.pk, PART_OBJECT_TYPE, entry.pk, kind)
    return Q(**{f"{lookup}__in": RawSQL(sql, params)})


SUMMARY_SORTS = {
    "last_contact": "last_contact_at",
    "-last_contact": "-last_contact_at",
    "name": "name",
    "-name": "-name",
}


def received_customers(*, user, entry: AuditEntry, sort: str = "-last_contact") -> QuerySet:
    """The customers a handover moved that ``user`` can see, annotated with their open tasks
    count and their latest interaction (subject, date): one query per page, no N+1."""
    latest = Interaction.objects.filter(customer_id=OuterRef("pk")).order_by("-occurred_at", "-id")
    open_tasks = (
        Task.objects.filter(customer_id=OuterRef("pk"), done_at__isnull=True)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    order = SUMMARY_SORTS.get(sort, "-last_contact_at")
    nulls = F(order.lstrip("-"))
    order_expr = nulls.desc(nulls_last=True) if order.startswith("-") else nulls.asc()
    return (
        visible_customers(user)
        .filter(_ids_in(entry, "customers", "pk"))
        .annotate(
            open_tasks=Coalesce(Subquery(open_tasks, output_field=IntegerField()), Value(0)),
            last_subject=Subquery(latest.values("subject")[:1]),
            last_kind=Subquery(latest.values("kind")[:1]),
            last_interaction_at=Subquery(latest.values("occurred_at")[:1]),
        )
        .order_by(order_expr, "pk")
    )


def received_open_tasks(*, user, entry: AuditEntry) -> QuerySet[Task]:
    """The tasks a handover moved that are still open, by due date."""
    return (
        visible_tasks(user)
        .filter(_ids_in(entry, "tasks", "pk"), done_at__isnull=True)
        .select_related("customer", "assignee")
        .order_by("due_date", "-priority", "pk")
    )


def last_contacts(*, user, entry: AuditEntry, limit: int = 20) -> QuerySet[Interaction]:
    """The most recent interactions on the customers a handover moved."""
    return (
        visible_interactions(user)
        .filter(_ids_in(entry, "customers", "customer_id"))
        .select_related("customer", "user")
        .order_by("-occurred_at", "-id")[:limit]
    )
