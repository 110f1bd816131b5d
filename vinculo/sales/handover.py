"""Sales records that move with a staff handover (see ``interactions.handover``): the
leaver's open opportunities and open leads go to the receiver (and the receiver's team).
Won/lost opportunities and closed leads stay: they are the history of who sold what."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils import timezone

from vinculo.interactions.handover import CHUNK, register_handover_participant
from vinculo.sales.leads import OPEN_STATUSES
from vinculo.sales.models import Lead, Opportunity


def _open_opportunities(user_id: int) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(owner_id=user_id, status=Opportunity.Status.OPEN)


def _open_leads(user_id: int) -> QuerySet[Lead]:
    return Lead.objects.filter(owner_id=user_id, status__in=OPEN_STATUSES)


def _move(qs_for, *, from_user_id: int, to_user_id: int, to_team_id: int | None) -> list[int]:
    """Lock the leaver's rows, then move them by id ranges (bumping ``version`` so open edit
    forms conflict instead of overwriting). Idempotent: moved rows are no longer the leaver's."""
    ids = list(qs_for(from_user_id).select_for_update().order_by("pk").values_list("pk", flat=True))
    values = {"owner_id": to_user_id}
    if to_team_id:
        values["team_id"] = to_team_id
    now = timezone.now()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        qs_for(from_user_id).filter(pk__gte=chunk[0], pk__lte=chunk[-1]).update(
            version=F("version") + 1, updated_at=now, **values
        )
    return ids


def count_open_opportunities(*, from_user_id: int) -> int:
    return _open_opportunities(from_user_id).count()


def move_open_opportunities(*, actor, from_user_id, to_user_id, to_team_id) -> list[int]:
    return _move(
        _open_opportunities,
        from_user_id=from_user_id,
        to_user_id=to_user_id,
        to_team_id=to_team_id,
    )


def count_open_leads(*, from_user_id: int) -> int:
    return _open_leads(from_user_id).count()


def move_open_leads(*, actor, from_user_id, to_user_id, to_team_id) -> list[int]:
    return _move(
        _open_leads, from_user_id=from_user_id, to_user_id=to_user_id, to_team_id=to_team_id
    )


def register() -> None:
    """Called from ``SalesConfig.ready()``; registering again replaces (idempotent)."""
    register_handover_participant(
        "opportunities", count_open_opportunities, move_open_opportunities
    )
    register_handover_participant("leads", count_open_leads, move_open_leads)
