"""Handover of a leaver's customers and open tasks: the service, its page, summary, command."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.customers.factories import CustomerFactory
from vinculo.accounts.models import Role
from vinculo.core.errors import PermissionDenied, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers.models import Customer
from vinculo.interactions import handover as ho
from vinculo.interactions.models import Interaction, Task


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rep2(team_a):
    return UserFactory(username="rep2", role=Role.SALES_REP, team=team_a)


def _task(user, customer=None, *, done=False, days=1, title="Call back"):
    return Task.objects.create(
        title=title,
        due_date=timezone.localdate() + dt.timedelta(days=days),
        assignee=user,
        customer=customer,
        done_at=timezone.now() if done else None,
    )


def _interaction(customer, subject, *, days_ago=1, user=None):
    return Interaction.objects.create(
        customer=customer,
        kind=Interaction.Kind.CALL,
        channel=Interaction.Channel.PHONE,
        subject=subject,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        user=user,
    )


def _handovers():
    return AuditEntry.objects.filter(action="handover")


# --- service ----------------------------------------------------------------------------------


def test_handover_moves_customers_and_only_open_tasks(admin, rep, rep_b, team_a, team_b):
    c1 = CustomerFactory(owner=rep, team=team_a)
    c2 = CustomerFactory(owner=rep, team=team_a)
    other = CustomerFactory(owner=rep_b, team=team_b)
    open_task = _task(rep, c1)
    done_task = _task(rep, c1, done=True)

    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep_b.pk)

    # Registered participants (sales: opportunities, leads) had nothing of the leaver's.
    assert result.counts == {"customers": 2, "tasks": 1, "opportunities": 0, "leads": 0}
    for c in (c1, c2):
        c.refresh_from_db()
        assert (c.owner_id, c.team_id, c.version) == (rep_b.pk, team_b.pk, 2)
    other.refresh_from_db()
    assert other.version == 1  # not touched
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    assert (open_task.assignee_id, open_task.version) == (rep_b.pk, 2)
    assert (done_task.assignee_id, done_task.version) == (rep.pk, 1)  # history stays

    entry = _handovers().get()
    assert entry.pk == result.audit_id
    assert entry.actor == admin
    assert entry.payload["counts"] == result.counts
    assert sorted(entry.payload["ids"]["customers"]) == sorted([c1.pk, c2.pk])
    assert entry.payload["ids"]["tasks"] == [open_task.pk]
    assert AuditEntry.objects.count() == 1  # no per-customer rows


def test_receiver_without_team_keeps_the_customers_team(admin, rep, team_a):
    loner = UserFactory(username="loner", role=Role.SALES_REP, team=None)
    c = CustomerFactory(owner=rep, team=team_a)
    ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=loner.pk)
    c.refresh_from_db()
    assert (c.owner_id, c.team_id) == (loner.pk, team_a.pk)


def test_handover_is_idempotent(admin, rep, rep2):
    c = CustomerFactory(owner=rep, team=rep.team)
    _task(rep, c)
    ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)

    again = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)

    assert not any(again.counts.values())
    assert not again.moved_anything and again.audit_id is None
    assert "Nothing to hand over" in again.summary()
    c.refresh_from_db()
    assert c.version == 2  # bumped once only
    assert _handovers().count() == 1


def test_refuses_same_user_and_moves_nothing(admin, rep):
    c = CustomerFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep.pk)
    assert "to_user" in exc.value.field_errors
    c.refresh_from_db()
    assert c.version == 1 and not _handovers().exists()


def test_refuses_inactive_receiver_and_moves_nothing(admin, rep, rep2):
    rep2.is_active = False
    rep2.save()
    c = CustomerFactory(owner=rep)
    t = _task(rep, c)
    with pytest.raises(ValidationError) as exc:
        ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert "inactive" in exc.value.field_errors["to_user"][0]
    c.refresh_from_db()
    t.refresh_from_db()
    assert c.owner_id == rep.pk and t.assignee_id == rep.pk
    assert not _handovers().exists()


def test_manager_hands_over_within_their_team(manager, rep, rep2):
    c = CustomerFactory(owner=rep, team=rep.team)
    result = ho.handover(actor=manager, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert result.counts["customers"] == 1
    c.refresh_from_db()
    assert c.owner_id == rep2.pk


@pytest.mark.parametrize("direction", ["out", "in"])
def test_manager_cannot_hand_over_another_teams_user(manager, rep, rep_b, direction):
    c = CustomerFactory(owner=rep, team=rep.team)
    cb = CustomerFactory(owner=rep_b, team=rep_b.team)
    leaver, receiver = (rep_b, rep) if direction == "out" else (rep, rep_b)
    with pytest.raises(PermissionDenied):
        ho.handover(actor=manager, from_user_id=leaver.pk, to_user_id=receiver.pk)
    c.refresh_from_db()
    cb.refresh_from_db()
    assert (c.owner_id, cb.owner_id) == (rep.pk, rep_b.pk)
    assert not _handovers().exists()


def test_rep_may_not_hand_over(rep, rep2):
    c = CustomerFactory(owner=rep)
    with pytest.raises(PermissionDenied):
        ho.handover(actor=rep, from_user_id=rep.pk, to_user_id=rep2.pk)
    c.refresh_from_db()
    assert c.owner_id == rep.pk


def test_deactivating_the_leaver_needs_an_admin(admin, manager, rep, rep2):
    c = CustomerFactory(owner=rep, team=rep.team)
    with pytest.raises(PermissionDenied):
        ho.handover(actor=manager, from_user_id=rep.pk, to_user_id=rep2.pk, deactivate_from=True)
    c.refresh_from_db()
    assert c.owner_id == rep.pk

    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk, deactivate_from=True)
    rep.refresh_from_db()
    assert result.deactivated and not rep.is_active
    assert _handovers().get().payload["deactivated"] is True


def test_registered_participants_move_in_the_same_handover(admin, rep, rep2):
    calls = []

    def count_fn(*, from_user_id):
        return 3

    def move_fn(*, actor, from_user_id, to_user_id, to_team_id):
        calls.append((from_user_id, to_user_id, to_team_id))
        return [7, 8, 9]

    ho.register_handover_participant("opportunities", count_fn, move_fn)
    try:
        preview = ho.handover_preview(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
        assert preview.counts["opportunities"] == 3
        result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    finally:
        ho.unregister_handover_participant("opportunities")
        from vinculo.sales import handover as sales_handover

        sales_handover.register()  # put the real sales participants back
    assert calls == [(rep.pk, rep2.pk, rep2.team_id)]
    assert result.counts["opportunities"] == 3
    assert _handovers().get().payload["ids"]["opportunities"] == [7, 8, 9]


def test_big_id_lists_are_chunked_into_continuation_rows(admin, rep, rep2, monkeypatch):
    monkeypatch.setattr(ho, "AUDIT_IDS_PER_ROW", 2)
    monkeypatch.setattr(ho, "CHUNK", 2)
    customers = [CustomerFactory(owner=rep) for _ in range(5)]
    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert Customer.objects.filter(owner=rep2).count() == 5
    entry = AuditEntry.objects.get(pk=result.audit_id)
    assert entry.payload["counts"]["customers"] == 5
    assert sorted(ho.handover_ids(entry, "customers")) == sorted(c.pk for c in customers)
    # The handover list shows one entry, not its continuation rows.
    assert list(ho.handovers_for_user(admin)) == [entry]


# --- pages ------------------------------------------------------------------------------------


def test_rep_gets_403_on_the_handover_page(client_for, rep, rep2):
    c = CustomerFactory(owner=rep)
    client = client_for(rep)
    assert client.get(reverse("handover")).status_code == 403
    response = client.post(
        reverse("handover"),
        {"from_user": rep.pk, "to_user": rep2.pk, "include_customers": "on", "step": "confirm"},
    )
    assert response.status_code == 403
    c.refresh_from_db()
    assert c.owner_id == rep.pk and not _handovers().exists()


def test_handover_page_previews_then_runs_and_shows_the_summary(client_for, manager, rep, rep2):
    c1 = CustomerFactory(owner=rep, team=rep.team, name="Acme Iberia")
    c2 = CustomerFactory(owner=rep, team=rep.team, name="Beta Foods")
    _task(rep, c1, title="Send the quote")
    _task(rep, c1, title="Book a visit", days=3)
    _task(rep, c2, done=True, title="Old call")
    _interaction(c1, "Renewal call", days_ago=2)
    _interaction(c1, "Price follow-up", days_ago=1)
    client = client_for(manager)

    page = client.get(reverse("handover"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{rep.pk}"' in html and f'value="{rep2.pk}"' in html

    data = {
        "from_user": rep.pk,
        "to_user": rep2.pk,
        "include_customers": "on",
        "include_tasks": "on",
    }
    preview = client.post(reverse("handover"), {**data, "step": "preview"})
    assert preview.status_code == 200
    text = re.sub(r"\s+", " ", preview.content.decode())
    assert "2 customers" in text and "2 open tasks" in text
    c1.refresh_from_db()
    assert c1.owner_id == rep.pk  # a preview moves nothing

    done = client.post(reverse("handover"), {**data, "step": "confirm"})
    entry = _handovers().get()
    assert done.status_code == 302
    assert done["Location"] == reverse("handover_summary", args=[entry.pk])

    # The receiver sees the summary, and finds it in "My handovers".
    client = client_for(rep2)
    summary = client.get(done["Location"])
    assert summary.status_code == 200
    html = summary.content.decode()
    assert "Acme Iberia" in html and "Beta Foods" in html
    assert "Price follow-up" in html  # last interaction of Acme
    row = re.search(rf'data-customer="{c1.pk}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-testid="open-tasks">2<', row)
    assert "Send the quote" in html and "Book a visit" in html and "Old call" not in html
    listing = client.get(reverse("handover_list"))
    assert listing.status_code == 200
    assert reverse("handover_summary", args=[entry.pk]) in listing.content.decode()


def test_handover_page_shows_field_error_for_inactive_receiver(client_for, admin, rep, rep2):
    rep2.is_active = False
    rep2.save()
    response = client_for(admin).post(
        reverse("handover"), {"from_user": rep.pk, "to_user": rep2.pk, "step": "preview"}
    )
    # Inactive users are not offered as receivers, so the form refuses the choice.
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.content.decode()
    assert not _handovers().exists()


def test_summary_is_hidden_from_unrelated_users(client_for, admin, rep, rep2, rep_b):
    CustomerFactory(owner=rep)
    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    url = reverse("handover_summary", args=[result.audit_id])
    assert client_for(rep_b).get(url).status_code == 404
    assert result.audit_id not in [e.pk for e in ho.handovers_for_user(rep_b)]


@pytest.mark.parametrize("n", [3, 30])
def test_summary_query_count_does_not_grow_with_rows(
    client_for, django_assert_max_num_queries, admin, rep, rep2, n
):
    for i in range(n):
        c = CustomerFactory(owner=rep, team=rep.team, last_contact_at=timezone.now())
        _task(rep, c)
        _interaction(c, f"Call {i}")
    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    client = client_for(rep2)
    url = reverse("handover_summary", args=[result.audit_id])
    # Same bound for 3 and 30 rows (11 today): session, user, entry, counts, one page, tasks,
    # last contacts; the team look-ups of the visibility rule.
    with django_assert_max_num_queries(14):
        response = client.get(url + "?sort=name")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="received-customer"') == n


# --- command ----------------------------------------------------------------------------------


def test_command_hands_over_and_deactivates(rep, rep2, capsys):
    CustomerFactory(owner=rep)
    _task(rep)
    call_command("handover", "rep", "rep2", "--deactivate")
    out = capsys.readouterr().out
    assert "customers: 1" in out and "tasks: 1" in out and "deactivated: rep" in out
    rep.refresh_from_db()
    assert not rep.is_active
    assert Customer.objects.get().owner == rep2
    call_command("handover", "rep", "rep2")
    assert "Nothing to hand over" in capsys.readouterr().out


def test_summary_reads_big_id_lists_inside_the_database(client_for, admin, rep, rep2, monkeypatch):
    # Past INLINE_IDS_MAX the pages read the ids from the audit payload (and its continuation
    # rows) in SQL instead of sending them as parameters.
    monkeypatch.setattr(ho, "INLINE_IDS_MAX", 1)
    monkeypatch.setattr(ho, "AUDIT_IDS_PER_ROW", 2)
    customers = [CustomerFactory(owner=rep, team=rep.team) for _ in range(5)]
    for c in customers:
        _task(rep, c)
        _interaction(c, f"Hello {c.name}")
    stay = CustomerFactory(owner=rep2, team=rep2.team)
    _interaction(stay, "Not moved")
    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    entry = AuditEntry.objects.get(pk=result.audit_id)

    got = ho.received_customers(user=rep2, entry=entry)
    assert sorted(c.pk for c in got) == sorted(c.pk for c in customers)
    assert all(c.open_tasks == 1 for c in got)
    assert ho.received_open_tasks(user=rep2, entry=entry).count() == 5
    subjects = {i.subject for i in ho.last_contacts(user=rep2, entry=entry)}
    assert "Not moved" not in subjects and len(subjects) == 5


def test_big_handover_from_the_page_runs_in_the_background(
    client_for, admin, rep, rep2, monkeypatch, django_capture_on_commit_callbacks, db_tasks
):
    from django_tasks_db.models import DBTaskResult

    monkeypatch.setattr(ho, "BACKGROUND_THRESHOLD", 1)
    c1 = CustomerFactory(owner=rep)
    CustomerFactory(owner=rep)
    data = {"from_user": rep.pk, "to_user": rep2.pk, "include_customers": "on", "step": "confirm"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(reverse("handover"), data)
    assert response.status_code == 302 and response["Location"] == reverse("handover_list")
    c1.refresh_from_db()
    assert c1.owner_id == rep.pk  # not moved inside the request
    assert DBTaskResult.objects.count() == 1

    # What the worker runs:
    out = ho.handover_task.call(
        actor_id=admin.pk, from_user_id=rep.pk, to_user_id=rep2.pk, include_tasks=False
    )
    assert out["counts"]["customers"] == 2
    assert Customer.objects.filter(owner=rep2).count() == 2
