import datetime as dt

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.interactions import services
from vinculo.interactions.models import Interaction, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(rep):
    return CustomerFactory(owner=rep, team=rep.team, name="Mine")


@pytest.fixture
def theirs(rep_b):
    return CustomerFactory(owner=rep_b, team=rep_b.team, name="Theirs")


def test_log_read_edit_delete_interaction(api_for, rep, mine):
    api = api_for(rep)
    when = "2026-01-15T10:30:00+01:00"
    response = api.post(
        "interactions",
        {
            "customer_id": mine.pk,
            "kind": "call",
            "subject": "Renewal",
            "outcome": "interested",
            "duration_seconds": 120,
            "occurred_at": when,
            "follow_up": {"title": "Send quote", "due_date": "2026-01-20"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    iid = body["id"]
    assert body["channel"] == "phone"  # the usual channel of a call
    assert body["customer_name"] == "Mine"
    assert body["occurred_at"] in ("2026-01-15T09:30:00Z", "2026-01-15T09:30:00+00:00")
    task = Task.objects.get(interaction_id=iid)
    assert (task.title, task.assignee_id) == ("Send quote", rep.pk)
    assert task.due_date == dt.date(2026, 1, 20)

    assert api.get(f"interactions/{iid}").json()["subject"] == "Renewal"
    response = api.patch(f"interactions/{iid}", {"version": 1, "body": "Wants 20 seats"})
    assert response.status_code == 200, response.content
    assert (response.json()["body"], response.json()["version"]) == ("Wants 20 seats", 2)
    assert AuditEntry.objects.filter(object_id=iid, action="update").exists()

    assert api.patch(f"interactions/{iid}", {"version": 1, "body": "old"}).status_code == 409
    assert Interaction.objects.get(pk=iid).body == "Wants 20 seats"

    assert api.delete(f"interactions/{iid}").status_code == 204
    assert not Interaction.objects.filter(pk=iid).exists()


def test_interaction_input_errors_name_the_field(api_for, rep, mine):
    api = api_for(rep)
    response = api.post("interactions", {"customer_id": mine.pk, "kind": "carrier-pigeon"})
    assert response.status_code == 422
    assert "kind" in response.json()["errors"]
    response = api.post(
        "interactions",
        {"customer_id": mine.pk, "kind": "call", "occurred_at": "2026-01-15T10:30:00"},
    )
    assert response.status_code == 422  # a time without its zone is ambiguous
    assert "occurred_at" in response.json()["errors"]
    response = api.patch("interactions/1", {"version": "one"})
    assert response.status_code == 422
    assert not Interaction.objects.exists()


def test_interactions_of_another_team_are_404_and_unlisted(api_for, rep, rep_b, theirs, mine):
    other = services.log_interaction(actor=rep_b, customer_id=theirs.pk, kind="note", body="x")
    services.log_interaction(actor=rep, customer_id=mine.pk, kind="note", body="mine")
    api = api_for(rep)
    assert api.get(f"interactions/{other.pk}").status_code == 404
    assert api.patch(f"interactions/{other.pk}", {"version": 1, "body": "y"}).status_code == 404
    assert api.delete(f"interactions/{other.pk}").status_code == 404
    response = api.post("interactions", {"customer_id": theirs.pk, "kind": "note", "body": "z"})
    assert response.status_code == 404
    assert Interaction.objects.filter(customer=theirs).count() == 1
    other.refresh_from_db()
    assert other.body == "x"
    listed = api.get("interactions").json()["items"]
    assert [row["customer_id"] for row in listed] == [mine.pk]


def test_analyst_cannot_log(api_for, analyst, mine):
    response = api_for(analyst).post(
        "interactions", {"customer_id": mine.pk, "kind": "note", "body": "x"}
    )
    assert response.status_code == 403
    assert not Interaction.objects.exists()


def test_interaction_list_filters_and_walks_newest_first(api_for, rep, mine):
    now = timezone.now()
    base = now - dt.timedelta(days=30)
    for i in range(23):
        services.log_interaction(
            actor=rep,
            customer_id=mine.pk,
            kind="call" if i % 2 else "email",
            # pairs share a timestamp so the id tie-breaker matters
            occurred_at=base + dt.timedelta(hours=i // 2),
        )
    api = api_for(rep)
    seen, cursor = [], None
    while True:
        params = {"limit": 10, "customer": mine.pk, **({"cursor": cursor} if cursor else {})}
        body = api.get("interactions", **params).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len({row["id"] for row in seen}) == len(seen) == 23
    keys = [(row["occurred_at"], row["id"]) for row in seen]
    assert keys == sorted(keys, reverse=True)
    calls = api.get("interactions", kind="call", limit=200).json()["items"]
    assert len(calls) == 11 and {c["kind"] for c in calls} == {"call"}
    since = (base + dt.timedelta(hours=10)).isoformat()
    recent = api.get("interactions", since=since, limit=200).json()["items"]
    assert len(recent) == 3  # hours 10 (two) and 11 (one)


def test_interaction_list_query_count_does_not_grow(
    api_for, rep, mine, django_assert_max_num_queries
):
    api = api_for(rep)
    for _ in range(3):
        services.log_interaction(actor=rep, customer_id=mine.pk, kind="note", body="n")
    with django_assert_max_num_queries(6):
        assert len(api.get("interactions").json()["items"]) == 3
    for _ in range(30):
        services.log_interaction(actor=rep, customer_id=mine.pk, kind="note", body="n")
    with django_assert_max_num_queries(6):
        assert len(api.get("interactions").json()["items"]) == 33


def test_task_crud_and_done(api_for, rep, mine):
    api = api_for(rep)
    response = api.post(
        "tasks", {"title": "Call back", "due_date": "2026-02-01", "customer_id": mine.pk}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    tid = body["id"]
    assert (body["assignee_id"], body["done"], body["version"]) == (rep.pk, False, 1)

    response = api.patch(f"tasks/{tid}", {"version": 1, "title": "Call back soon", "done": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Call back soon" and body["done"] is True and body["done_at"]

    response = api.patch(f"tasks/{tid}", {"version": 1, "title": "stale"})
    assert response.status_code == 409
    assert Task.objects.get(pk=tid).title == "Call back soon"

    response = api.patch(f"tasks/{tid}", {"version": body["version"], "done": False})
    assert response.json()["done"] is False

    assert api.get(f"tasks/{tid}").status_code == 200
    assert api.delete(f"tasks/{tid}").status_code == 204
    assert not Task.objects.filter(pk=tid).exists()


def test_task_list_filters_and_pages(api_for, rep, agent, mine):
    for i in range(12):
        services.create_task(
            actor=rep,
            title=f"T{i}",
            due_date=dt.date(2026, 3, 1) + dt.timedelta(days=i % 4),
            assignee_id=rep.pk if i % 3 else agent.pk,
            customer_id=mine.pk,
        )
    done = Task.objects.filter(assignee=rep).first()
    services.set_task_done(actor=rep, task_id=done.pk)
    api = api_for(rep)
    seen, cursor = [], None
    while True:
        params = {"limit": 5, "assignee": "me", **({"cursor": cursor} if cursor else {})}
        body = api.get("tasks", **params).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 8 and {t["assignee_id"] for t in seen} == {rep.pk}
    assert len({t["id"] for t in seen}) == 8
    assert len(api.get("tasks", assignee="me", status="open").json()["items"]) == 7
    assert len(api.get("tasks", assignee=str(agent.pk)).json()["items"]) == 4
    assert len(api.get("tasks", due_before="2026-03-02").json()["items"]) == 3
    assert api.get("tasks", assignee="someone").status_code == 422
    assert api.get("tasks", status="maybe").status_code == 422


def test_tasks_on_another_teams_customer_are_hidden(api_for, rep, rep_b, theirs):
    task = services.create_task(
        actor=rep_b,
        title="Secret",
        due_date=dt.date(2026, 3, 1),
        assignee_id=rep_b.pk,
        customer_id=theirs.pk,
    )
    api = api_for(rep)
    assert api.get(f"tasks/{task.pk}").status_code == 404
    assert api.patch(f"tasks/{task.pk}", {"version": 1, "title": "x"}).status_code == 404
    assert api.delete(f"tasks/{task.pk}").status_code == 404
    response = api.post(
        "tasks", {"title": "Sneaky", "due_date": "2026-03-01", "customer_id": theirs.pk}
    )
    assert response.status_code == 404
    assert list(Task.objects.values_list("title", flat=True)) == ["Secret"]
    assert api.get("tasks").json()["items"] == []


def test_task_list_query_count_does_not_grow(api_for, rep, mine, django_assert_max_num_queries):
    api = api_for(rep)

    def add(n):
        for i in range(n):
            services.create_task(
                actor=rep,
                title=f"T{i}",
                due_date=dt.date(2026, 3, 1),
                assignee_id=rep.pk,
                customer_id=mine.pk,
            )

    add(3)
    with django_assert_max_num_queries(6):
        assert len(api.get("tasks").json()["items"]) == 3
    add(30)
    with django_assert_max_num_queries(6):
        assert len(api.get("tasks").json()["items"]) == 33
