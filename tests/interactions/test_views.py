"""The timeline, the quick log form and the customer picker of the log dialog."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.interactions.models import Interaction, Task

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def customer(rep):
    return CustomerFactory(name="Ana Ruiz", owner=rep, team=rep.team)


@pytest.fixture
def other_customer(rep_b):
    return CustomerFactory(name="Bruno Sanz", owner=rep_b, team=rep_b.team)


def make_interactions(customer, n, *, start=None, **extra):
    """n interactions one minute apart, the last one newest."""
    start = start or timezone.now() - dt.timedelta(days=1)
    return [
        Interaction.objects.create(
            customer=customer,
            kind=extra.get("kind", "call"),
            channel=extra.get("channel", "phone"),
            subject=f"Item {i:03d}",
            occurred_at=start + dt.timedelta(minutes=i),
        )
        for i in range(n)
    ]


def log(client, customer, **data):
    payload = {"kind": "call", "follow_up": "none", "where": "panel", **data}
    return client.post(reverse("quick_log", args=[customer.pk]), payload, **HTMX)


# --- Quick log ---------------------------------------------------------------------------------


def test_quick_log_creates_interaction_and_follow_up_shown_in_timeline(client_for, rep, customer):
    client = client_for(rep)
    response = log(
        client,
        customer,
        kind="call",
        outcome="no_answer",
        subject="Renewal call",
        notes="Rang twice.\nWill try again.",
        duration_minutes="3",
        follow_up="3d",
        follow_up_title="Call Ana again",
    )
    assert response.status_code == 200
    interaction = Interaction.objects.get(customer=customer)
    assert interaction.outcome == "no_answer"
    assert interaction.duration_seconds == 180
    assert interaction.user == rep
    task = Task.objects.get(interaction=interaction)
    assert task.title == "Call Ana again"
    assert task.assignee == rep
    assert task.due_date == timezone.localdate() + dt.timedelta(days=3)
    # The form comes back empty, the timeline is told to reload, the success is announced.
    trigger = json.loads(response["HX-Trigger"])["interaction-logged"]
    assert trigger["customer"] == customer.pk
    html = response.content.decode()
    assert 'hx-swap-oob="innerHTML"' in html and "Call logged for Ana Ruiz" in html
    assert "Renewal call" not in html

    timeline = client.get(reverse("customer_timeline", args=[customer.pk]), **HTMX)
    body = timeline.content.decode()
    assert "Renewal call" in body
    assert "No answer" in body
    assert "Call Ana again" in body
    assert "3 min" in body


def test_quick_log_follow_up_title_defaults_from_subject(client_for, rep, customer):
    log(client_for(rep), customer, subject="Pricing", follow_up="tomorrow")
    task = Task.objects.get()
    assert "Pricing" in task.title
    assert task.due_date == timezone.localdate() + dt.timedelta(days=1)


def test_quick_log_on_date_follow_up(client_for, rep, customer):
    due = timezone.localdate() + dt.timedelta(days=10)
    log(
        client_for(rep), customer, subject="Visit", follow_up="date", follow_up_date=due.isoformat()
    )
    assert Task.objects.get().due_date == due


def test_quick_log_invalid_input_shows_errors_and_writes_nothing(client_for, rep, customer):
    response = log(
        client_for(rep),
        customer,
        kind="pigeon",
        outcome="maybe",
        duration_minutes="-5",
        follow_up="date",
        follow_up_title="Call again",
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Enter the date of the follow-up." in html
    # The message is tied to its input for screen readers.
    field_id = f"ql-panel-{customer.pk}-follow_up_date"
    assert f'aria-describedby="{field_id}-errors"' in html
    assert f'id="{field_id}-errors"' in html
    assert "HX-Trigger" not in response
    assert not Interaction.objects.exists()
    assert not Task.objects.exists()
    assert not AuditEntry.objects.exists()


def test_quick_log_service_rule_error_is_shown_next_to_field(client_for, rep, customer):
    # A note without text is refused by the service, not by the form.
    response = log(client_for(rep), customer, kind="note")
    assert response.status_code == 422
    assert "Write the note." in response.content.decode()
    assert not Interaction.objects.exists()


def test_quick_log_on_other_teams_customer_is_404_and_writes_nothing(
    client_for, rep, other_customer
):
    client = client_for(rep)
    response = log(client, other_customer, subject="Sneaky")
    assert response.status_code == 404
    assert not Interaction.objects.exists()
    assert client.get(reverse("customer_timeline", args=[other_customer.pk])).status_code == 404
    assert client.get(reverse("quick_log", args=[other_customer.pk]), **HTMX).status_code == 404


def test_analyst_cannot_log(client_for, analyst, customer):
    response = log(client_for(analyst), customer, subject="Hello")
    assert response.status_code == 403
    assert not Interaction.objects.exists()
    assert not AuditEntry.objects.exists()


def test_quick_log_without_htmx_redirects_to_the_customer(client_for, rep, customer):
    response = client_for(rep).post(
        reverse("quick_log", args=[customer.pk]), {"kind": "email", "subject": "Quote sent"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[customer.pk])
    assert Interaction.objects.get().channel == "email"


def test_quick_log_get_in_dialog_focuses_first_field(client_for, rep, customer):
    response = client_for(rep).get(
        reverse("quick_log", args=[customer.pk]) + "?where=dialog", **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Log an interaction with Ana Ruiz" in html
    assert 'id="ql-dialog-' in html
    assert "autofocus" in html
    assert 'value="call" id="ql-dialog-' in html and "checked" in html


# --- Template tags (the 360° page embeds them) -------------------------------------------------


def render_tags(user, customer):
    request = RequestFactory().get("/")
    request.user = user
    template = Template(
        "{% load interactions_tags %}{% quick_log_form customer %}{% timeline_panel customer %}"
    )
    return template.render(Context({"request": request, "customer": customer}))


def test_tags_render_form_and_empty_timeline(rep, customer):
    html = render_tags(rep, customer)
    assert "data-quick-log" in html
    assert reverse("quick_log", args=[customer.pk]) in html
    assert "No interactions yet — log the first one above" in html
    assert "autofocus" not in html  # the 360° page must not steal focus on load


def test_tags_without_log_capability_render_only_the_timeline(analyst, customer):
    make_interactions(customer, 2)
    html = render_tags(analyst, customer)
    assert "data-quick-log" not in html
    assert "Item 001" in html and "Item 000" in html


def test_timeline_panel_shows_newest_first_page_of_twenty(rep, customer):
    make_interactions(customer, 25)
    html = render_tags(rep, customer)
    assert "Item 024" in html and "Item 005" in html
    assert "Item 004" not in html
    assert html.index("Item 024") < html.index("Item 023")
    assert "Load older interactions" in html


# --- Timeline filters and pagination -----------------------------------------------------------


def test_timeline_filters_by_kind_and_channel(client_for, rep, customer):
    now = timezone.now() - dt.timedelta(hours=1)
    Interaction.objects.create(
        customer=customer, kind="call", channel="phone", subject="A call", occurred_at=now
    )
    Interaction.objects.create(
        customer=customer, kind="email", channel="email", subject="An email", occurred_at=now
    )
    Interaction.objects.create(
        customer=customer, kind="call", channel="video", subject="A video call", occurred_at=now
    )
    client = client_for(rep)
    url = reverse("customer_timeline", args=[customer.pk])

    html = client.get(url, {"kind": "call"}, **HTMX).content.decode()
    assert "A call" in html and "A video call" in html and "An email" not in html

    html = client.get(url, {"kind": "call", "channel": "video"}, **HTMX).content.decode()
    assert "A video call" in html and "A call<" not in html and "An email" not in html

    html = client.get(url, {"kind": "sms"}, **HTMX).content.decode()
    assert "No interactions match these filters." in html


def test_timeline_load_more_returns_next_items_without_duplicates(client_for, rep, customer):
    # Same timestamp for many rows: the id breaks ties, so nothing repeats or goes missing.
    same = timezone.now() - dt.timedelta(hours=2)
    for i in range(30):
        Interaction.objects.create(
            customer=customer,
            kind="call",
            channel="phone",
            subject=f"Row {i:03d}",
            occurred_at=same if i % 2 else same - dt.timedelta(minutes=i),
        )
    client = client_for(rep)
    url = reverse("customer_timeline", args=[customer.pk])
    seen: list[int] = []
    first = client.get(url, **HTMX)
    ctx_items = first.context["items"]
    seen += [i.pk for i in ctx_items]
    more_url = first.context["more_url"]
    assert len(ctx_items) == 20 and more_url
    second = client.get(more_url, **HTMX)
    assert second.status_code == 200
    seen += [i.pk for i in second.context["items"]]
    assert second.context["more_url"] is None
    assert "Load older interactions" not in second.content.decode()
    assert "<ol" not in second.content.decode()  # only the items, appended to the list
    assert len(seen) == 30 and len(set(seen)) == 30
    expected = list(
        Interaction.objects.filter(customer=customer)
        .order_by("-occurred_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected


def test_timeline_full_page_without_htmx(client_for, rep, customer):
    make_interactions(customer, 1)
    response = client_for(rep).get(reverse("customer_timeline", args=[customer.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and "Item 000" in html


def test_garbled_cursor_shows_first_page(client_for, rep, customer):
    make_interactions(customer, 2)
    response = client_for(rep).get(
        reverse("customer_timeline", args=[customer.pk]), {"cursor": "nope"}, **HTMX
    )
    assert response.status_code == 200
    assert len(response.context["items"]) == 2


@pytest.mark.parametrize("rows", [3, 30])
def test_timeline_query_count_does_not_grow_with_rows(
    client_for, rep, customer, rows, django_assert_max_num_queries
):
    interactions = make_interactions(customer, rows)
    for i in interactions:
        Task.objects.create(
            title=f"Follow {i.pk}",
            customer=customer,
            interaction=i,
            assignee=rep,
            due_date=timezone.localdate(),
        )
    client = client_for(rep)
    url = reverse("customer_timeline", args=[customer.pk])
    with django_assert_max_num_queries(8):
        response = client.get(url, **HTMX)
    assert response.status_code == 200
    assert len(response.context["items"]) == min(rows, 20)


# --- Customer picker ---------------------------------------------------------------------------


def test_customer_search_returns_only_visible_customers(client_for, rep, customer, other_customer):
    CustomerFactory(name="Anabel Otra", owner=None, team=other_customer.team)
    client = client_for(rep)
    html = client.get(reverse("quick_log_customer_search"), {"q": "an"}).content.decode()
    assert "Ana Ruiz" in html
    assert "Anabel Otra" not in html
    html = client.get(reverse("quick_log_customer_search"), {"q": "Bruno"}).content.decode()
    assert "Bruno Sanz" not in html
    assert "No customer matches." in html


def test_customer_search_matches_email_prefix_and_caps_at_ten(client_for, admin):
    for i in range(12):
        CustomerFactory(name=f"Person {i}", email=f"zed{i}@example.com")
    response = client_for(admin).get(reverse("quick_log_customer_search"), {"q": "zed"})
    assert len(response.context["customers"]) == 10
    assert reverse("quick_log", args=[response.context["customers"][0].pk]) in (
        response.content.decode()
    )


def test_global_dialogs_rendered_for_signed_in_users(client_for, rep, customer):
    html = client_for(rep).get(reverse("customer_timeline", args=[customer.pk])).content.decode()
    assert 'id="quick-log-dialog"' in html
    assert reverse("quick_log_customer_search") in html
    assert "Keyboard shortcuts" in html


def test_log_dialog_not_rendered_for_analyst(client_for, analyst, customer):
    html = client_for(analyst).get(reverse("my_day")).content.decode()
    assert 'id="quick-log-dialog"' not in html
    assert 'id="shortcuts-dialog"' in html


def test_timeline_shows_typed_text_as_text_and_keeps_line_breaks(client_for, rep):
    """Items are built in Python (interactions.timeline_items): subject and body escaped,
    the body's line breaks kept (first three lines)."""
    customer = CustomerFactory(owner=rep, team=rep.team)
    Interaction.objects.create(
        customer=customer,
        user=rep,
        kind="call",
        channel="phone",
        direction="out",
        subject="<b>Renewal</b> & more",
        body="Line <1>\r\nLine 2\n\nLine 3\nLine 4",
        occurred_at=timezone.now(),
    )
    html = client_for(rep).get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "<b>Renewal</b>" not in html
    assert "<strong>&lt;b&gt;Renewal&lt;/b&gt; &amp; more</strong>" in html
    assert "Line &lt;1&gt;<br>Line 2<br>Line 3<br>…" in html


@pytest.mark.parametrize("lang", ["en", "es"])
def test_quick_log_panel_is_the_fresh_form_for_each_customer(rep, lang):
    """The 360° page's panel is rendered once per language with stand-ins (decision 0014):
    it must equal a fresh rendering for every customer, with this request's csrf token."""
    import re

    from django.middleware.csrf import _unmask_cipher_token, get_token
    from django.template.loader import render_to_string
    from django.utils import translation

    from vinculo.interactions import views

    def fresh(customer, request):
        form = views.new_quick_log_form(customer, "panel")
        ctx = views.quick_log_context(customer, form, where="panel", autofocus=False)
        return render_to_string("interactions/_quick_log_panel.html", ctx, request=request)

    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    with translation.override(lang):
        for customer in CustomerFactory.create_batch(2, owner=rep, team=rep.team):
            request = RequestFactory().get("/")
            request.user = rep
            cached = views.render_quick_log_panel(request, customer)
            get_token(request)
            secret = request.META["CSRF_COOKIE"]
            sent = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', cached).group(1)
            assert _unmask_cipher_token(sent) == secret  # this request's token, not a stand-in
            assert f"ql-panel-{customer.pk}-subject" in cached
            assert token.sub("T", cached) == token.sub("T", fresh(customer, request))
