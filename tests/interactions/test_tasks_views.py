"""My day, the task list, and creating, editing, completing and deleting tasks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.customers.factories import CustomerFactory
from vinculo.accounts.models import Role
from vinculo.core.models import AuditEntry
from vinculo.interactions import services
from vinculo.interactions.models import Interaction, Task

HTMX = {"HTTP_HX_REQUEST": "true"}


def today():
    return timezone.localdate()


def make_task(user, *, days=0, title="Task", customer=None, **extra):
    return Task.objects.create(
        title=title,
        assignee=user,
        due_date=today() + dt.timedelta(days=days),
        customer=customer,
        **extra,
    )


# --- My day ------------------------------------------------------------------------------------


def test_my_day_groups_open_tasks(client_for, rep):
    customer = CustomerFactory(name="Ana Ruiz", owner=rep, team=rep.team)
    make_task(rep, days=-2, title="Late one", customer=customer)
    make_task(rep, days=0, title="Due now")
    make_task(rep, days=3, title="Soon")
    make_task(rep, days=30, title="Far away")
    make_task(rep, days=0, title="Already done", done_at=timezone.now())
    response = client_for(rep).get(reverse("my_day"))
    assert response.status_code == 200
    sections = {
        key: [t.title for t in tasks]
        for key, _title, tasks, _more, _rows in response.context["sections"]
    }
    assert sections == {"overdue": ["Late one"], "today": ["Due now"], "upcoming": ["Soon"]}
    html = response.content.decode()
    assert html.index("Overdue") < html.index("Late one") < html.index("Today")
    assert html.index("Today") < html.index("Due now") < html.index("Next 7 days")
    assert "Far away" not in html and "Already done" not in html
    assert reverse("customer_detail", args=[customer.pk]) in html


def test_my_day_shows_the_first_tasks_of_a_long_backlog_and_links_to_all(
    client_for, rep, monkeypatch
):
    from vinculo.interactions import views

    monkeypatch.setattr(views, "MY_DAY_SHOWN", 3)
    for i in range(5):
        make_task(rep, days=-10 + i, title=f"Overdue {i}")
    make_task(rep, title="Due today")
    html = client_for(rep).get(reverse("my_day")).content.decode()
    assert "Overdue 0" in html and "Overdue 2" in html and "Overdue 3" not in html
    assert '<span class="badge">3+</span>' in html
    assert "Due today" in html and 'data-testid="more-today"' not in html
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    assert f"/tasks/?status=open&amp;due_to={yesterday}" in html
    listed = client_for(rep).get(f"/tasks/?status=open&due_to={yesterday}").content.decode()
    assert "Overdue 3" in listed and "Overdue 4" in listed and "Due today" not in listed


def test_my_day_empty_state(client_for, rep):
    html = client_for(rep).get(reverse("my_day")).content.decode()
    assert "Nothing due — enjoy your day" in html


def test_home_redirects_to_my_day(client_for, rep):
    response = client_for(rep).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("my_day")


def test_my_day_shows_what_i_logged_today(client_for, rep, rep_b):
    mine = CustomerFactory(name="Ana Ruiz", owner=rep, team=rep.team)
    services.log_interaction(actor=rep, customer_id=mine.pk, kind="call", subject="Morning call")
    theirs = CustomerFactory(owner=rep_b, team=rep_b.team)
    services.log_interaction(actor=rep_b, customer_id=theirs.pk, kind="call", subject="Not mine")
    html = client_for(rep).get(reverse("my_day")).content.decode()
    assert "Morning call" in html and "Ana Ruiz" in html
    assert "Not mine" not in html


@pytest.mark.parametrize("rows", [3, 30])
def test_my_day_query_count_does_not_grow_with_rows(
    client_for, rep, rows, django_assert_max_num_queries
):
    customer = CustomerFactory(owner=rep, team=rep.team)
    for i in range(rows):
        make_task(rep, days=(i % 9) - 1, title=f"T{i}", customer=customer)
        Interaction.objects.create(
            customer=customer, kind="call", channel="phone", user=rep, occurred_at=timezone.now()
        )
    client = client_for(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("my_day"))
    assert response.status_code == 200


# --- Toggle done / undo -----------------------------------------------------------------------


def test_toggle_done_then_undo(client_for, rep):
    task = make_task(rep, title="Send quote")
    client = client_for(rep)
    url = reverse("task_toggle", args=[task.pk])
    response = client.post(
        url, {"done": "1"}, **HTMX, HTTP_HX_CURRENT_URL="http://testserver/my-day/"
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None
    html = response.content.decode()
    assert "Undo" in html and 'name="done" value="0"' in html
    # The row's links lead back to the page the user is on, not to the toggle URL.
    assert 'name="next" value="/my-day/"' in html

    # Idempotent: marking done again changes nothing.
    done_at, version = task.done_at, task.version
    client.post(url, {"done": "1"}, **HTMX)
    task.refresh_from_db()
    assert (task.done_at, task.version) == (done_at, version)

    response = client.post(url, {"done": "0"}, **HTMX)
    task.refresh_from_db()
    assert task.done_at is None
    assert "Mark “Send quote” done" in response.content.decode()


def test_toggle_without_htmx_redirects_back(client_for, rep):
    task = make_task(rep)
    response = client_for(rep).post(
        reverse("task_toggle", args=[task.pk]), {"done": "1", "next": "/tasks/"}
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/"


def test_cannot_toggle_another_teams_task(client_for, rep, rep_b):
    task = make_task(rep_b, customer=CustomerFactory(owner=rep_b, team=rep_b.team))
    response = client_for(rep).post(reverse("task_toggle", args=[task.pk]), {"done": "1"})
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.done_at is None


def test_analyst_cannot_create_or_toggle_tasks(client_for, analyst, rep):
    task = make_task(rep)
    client = client_for(analyst)
    assert client.post(reverse("task_toggle", args=[task.pk])).status_code == 403
    response = client.post(
        reverse("task_create"), {"title": "x", "due_date": today().isoformat(), "priority": 1}
    )
    assert response.status_code == 403
    assert Task.objects.count() == 1
    task.refresh_from_db()
    assert task.done_at is None


# --- Create / edit / delete --------------------------------------------------------------------


def test_create_task_for_a_visible_customer(client_for, rep):
    customer = CustomerFactory(owner=rep, team=rep.team)
    response = client_for(rep).post(
        reverse("task_create"),
        {
            "title": "Prepare offer",
            "due_date": (today() + dt.timedelta(days=2)).isoformat(),
            "priority": "2",
            "customer_id": customer.pk,
        },
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.title, task.priority, task.customer, task.assignee) == (
        "Prepare offer",
        2,
        customer,
        rep,
    )
    assert AuditEntry.objects.filter(object_type="interactions.task", action="create").exists()


def test_create_task_for_hidden_customer_is_refused(client_for, rep, rep_b):
    hidden = CustomerFactory(owner=rep_b, team=rep_b.team)
    response = client_for(rep).post(
        reverse("task_create"),
        {
            "title": "Peek",
            "due_date": today().isoformat(),
            "priority": "1",
            "customer_id": hidden.pk,
        },
    )
    assert response.status_code == 422
    assert "No customer with this number." in response.content.decode()
    assert not Task.objects.exists()


def test_create_task_invalid_shows_errors(client_for, rep):
    response = client_for(rep).post(reverse("task_create"), {"title": "", "priority": "1"})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Task.objects.exists()


def test_edit_task(client_for, rep):
    task = make_task(rep, title="Old")
    client = client_for(rep)
    form = client.get(reverse("task_edit", args=[task.pk]))
    assert form.status_code == 200
    assert f'name="version" value="{task.version}"' in form.content.decode()
    response = client.post(
        reverse("task_edit", args=[task.pk]),
        {"title": "New", "due_date": today().isoformat(), "priority": "0", "version": task.version},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.priority, task.version) == ("New", 0, 2)


def test_stale_task_edit_is_a_conflict_and_overwrites_nothing(client_for, rep, manager):
    task = make_task(rep, title="Original")
    stale_version = task.version
    services.update_task(actor=manager, task_id=task.pk, expected_version=None, title="By boss")
    response = client_for(rep).post(
        reverse("task_edit", args=[task.pk]),
        {
            "title": "Mine",
            "due_date": today().isoformat(),
            "priority": "1",
            "version": stale_version,
        },
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    task.refresh_from_db()
    assert task.title == "By boss"


def test_delete_task_with_confirmation(client_for, rep):
    task = make_task(rep, title="Drop me")
    client = client_for(rep)
    confirm = client.get(reverse("task_delete", args=[task.pk]))
    assert confirm.status_code == 200 and "Drop me" in confirm.content.decode()
    assert Task.objects.filter(pk=task.pk).exists()  # asking is not deleting
    response = client.post(reverse("task_delete", args=[task.pk]))
    assert response.status_code == 302
    assert not Task.objects.filter(pk=task.pk).exists()


def test_cannot_delete_another_teams_task(client_for, rep, rep_b):
    task = make_task(rep_b, customer=CustomerFactory(owner=rep_b, team=rep_b.team))
    assert client_for(rep).post(reverse("task_delete", args=[task.pk])).status_code == 404
    assert Task.objects.filter(pk=task.pk).exists()


# --- Task list ---------------------------------------------------------------------------------


def test_task_list_filters_open_done_and_due_range(client_for, rep):
    make_task(rep, days=1, title="Open soon")
    make_task(rep, days=20, title="Open later")
    make_task(rep, days=0, title="Finished", done_at=timezone.now())
    client = client_for(rep)
    html = client.get(reverse("task_list")).content.decode()
    assert "Open soon" in html and "Open later" in html and "Finished" not in html
    html = client.get(reverse("task_list"), {"status": "done"}).content.decode()
    assert "Finished" in html and "Open soon" not in html
    due_to = (today() + dt.timedelta(days=5)).isoformat()
    html = client.get(reverse("task_list"), {"status": "open", "due_to": due_to}).content.decode()
    assert "Open soon" in html and "Open later" not in html


def test_task_list_paginates(client_for, rep):
    for i in range(55):
        make_task(rep, days=i, title=f"Task {i:02d}")
    client = client_for(rep)
    first = client.get(reverse("task_list"))
    assert len(first.context["tasks"]) == 50
    second = client.get(reverse("task_list"), {"page": 2})
    titles = [t.title for t in second.context["tasks"]]
    assert titles == [f"Task {i:02d}" for i in range(50, 55)]


def test_manager_filters_by_assignee_rep_only_sees_own(client_for, manager, rep, rep_b):
    make_task(rep, title="Rep task")
    make_task(rep_b, title="Other team task")
    make_task(manager, title="Manager task")
    client = client_for(manager)
    html = client.get(reverse("task_list"), {"assignee": str(rep.pk)}).content.decode()
    assert "Rep task" in html and "Manager task" not in html
    html = client.get(reverse("task_list"), {"assignee": "all"}).content.decode()
    assert "Rep task" in html and "Manager task" in html and "Other team task" not in html

    # A rep cannot look at someone else's list, whatever the URL says.
    html = client_for(rep).get(reverse("task_list"), {"assignee": "all"}).content.decode()
    assert "Rep task" in html and "Manager task" not in html


def test_admin_may_filter_any_assignee(client_for, admin, rep_b):
    make_task(rep_b, title="Task of B")
    other = UserFactory(username="someone", role=Role.SERVICE_AGENT)
    make_task(other, title="Agent task")
    html = client_for(admin).get(reverse("task_list"), {"assignee": str(rep_b.pk)}).content.decode()
    assert "Task of B" in html and "Agent task" not in html


@pytest.mark.parametrize("rows", [3, 30])
def test_task_list_query_count_does_not_grow_with_rows(
    client_for, manager, rep, rows, django_assert_max_num_queries
):
    customer = CustomerFactory(owner=rep, team=rep.team)
    for i in range(rows):
        make_task(rep if i % 2 else manager, days=i, title=f"T{i}", customer=customer)
    client = client_for(manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("task_list"), {"assignee": "all"})
    assert len(response.context["tasks"]) == rows


def test_task_rows_show_typed_titles_as_text(client_for, rep):
    """Rows are built in Python (interactions.task_rows): titles and names are escaped, in
    the row text and in the Done button's label."""
    customer = CustomerFactory(name="Ana <i>López</i>", owner=rep, team=rep.team)
    make_task(rep, days=0, title='Call "Ana" <script>x()</script>', customer=customer)
    html = client_for(rep).get(reverse("my_day")).content.decode()
    assert "<script>x()</script>" not in html and "<i>López</i>" not in html
    assert "Call &quot;Ana&quot; &lt;script&gt;x()&lt;/script&gt;" in html
    assert 'aria-label="Mark “Call &quot;Ana&quot; &lt;script&gt;x()&lt;/script&gt;” done"' in html
    assert "Ana &lt;i&gt;López&lt;/i&gt;" in html
