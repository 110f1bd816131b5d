import datetime as dt

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import ValidationError
from vinculo.interactions import selectors, services
from vinculo.interactions.models import Interaction, Task


def test_log_call_with_follow_up_moves_last_contact(rep):
    c = CustomerFactory(owner=rep, team=rep.team)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    i = services.log_interaction(
        actor=rep,
        customer_id=c.pk,
        kind="call",
        outcome="no_answer",
        subject="Renewal",
        follow_up_due=tomorrow,
    )
    assert i.channel == "phone"
    c.refresh_from_db()
    assert c.last_contact_at == i.occurred_at
    task = Task.objects.get(interaction=i)
    assert task.assignee == rep and task.due_date == tomorrow
    assert "Renewal" in task.title
    assert list(selectors.customer_timeline(customer_id=c.pk)) == [i]
    assert list(selectors.my_day(user=rep, today=tomorrow)["today"]) == [task]


def test_internal_note_is_not_a_contact(rep):
    c = CustomerFactory(owner=rep, team=rep.team)
    call = services.log_interaction(actor=rep, customer_id=c.pk, kind="call", subject="Hello")
    services.log_interaction(actor=rep, customer_id=c.pk, kind="note", body="Prefers mornings")
    c.refresh_from_db()
    assert c.last_contact_at == call.occurred_at  # the later note did not move it
    assert [i.kind for i in selectors.customer_timeline(customer_id=c.pk)] == ["note", "call"]


def test_invalid_interaction_writes_nothing(rep):
    c = CustomerFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        services.log_interaction(
            actor=rep, customer_id=c.pk, kind="pigeon", outcome="nope", follow_up_title="Call again"
        )
    assert {"kind", "outcome"} <= set(exc.value.field_errors)
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()


def test_rep_cannot_see_other_team_timeline(rep, rep_b):
    c = CustomerFactory(owner=rep_b, team=rep_b.team)
    services.log_interaction(actor=rep_b, customer_id=c.pk, kind="note", body="secret")
    assert not selectors.visible_interactions(rep).exists()
    assert selectors.visible_interactions(rep_b).count() == 1
