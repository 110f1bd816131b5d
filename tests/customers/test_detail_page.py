"""The 360° page's cheaper reads (decision 0014): what the user sees stays right."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core import fast
from vinculo.core.fast import compiled_rows, rows_by_id
from vinculo.customers import services, services_fields
from vinculo.customers.models import CustomerEmail, CustomField
from vinculo.interactions.models import Interaction, Task


def detail(c):
    return reverse("customer_detail", args=[c.pk])


def test_360_after_a_tag_edit_shows_the_change_in_the_audit_section(admin, client_for):
    # A list in an audit entry (tags) was looked up as a dict key: the page answered 500.
    c = services.create_customer(actor=admin, last_name="Ruiz", tags=["b2b"])
    services.update_customer(
        actor=admin, customer_id=c.pk, expected_version=None, tags=["vip", "b2b"]
    )
    response = client_for(admin).get(detail(c))
    assert response.status_code == 200
    assert "Tags</span>: <del>b2b</del> → <ins>b2b, vip</ins>" in response.content.decode()


def test_360_counts_open_tasks_and_interactions_and_lists_tags_by_name(rep, client_for):
    c = services.create_customer(
        actor=rep, last_name="Ruiz", owner_id=rep.pk, tags=["zeta", "alfa", "<b>mid</b>"]
    )
    other = CustomerFactory(owner=rep)
    now = timezone.now()
    for customer in (c, c, other):
        Interaction.objects.create(customer=customer, kind="call", channel="phone", occurred_at=now)
    today = dt.date.today()
    Task.objects.create(customer=c, title="open", due_date=today, assignee=rep, created_by=rep)
    Task.objects.create(
        customer=c, title="done", due_date=today, assignee=rep, created_by=rep, done_at=now
    )
    html = client_for(rep).get(detail(c)).content.decode()
    assert '<dd data-testid="open-tasks">1</dd>' in html
    assert '<dd data-testid="interaction-count">2</dd>' in html
    tags = html[html.index("Tags</dt>") :]
    assert tags.index("&lt;b&gt;mid&lt;/b&gt;") < tags.index(">alfa<") < tags.index(">zeta<")
    assert "<b>mid</b>" not in html


def test_360_shows_a_custom_field_edit_at_once(admin, client_for):
    cf = CustomField.objects.create(key="hobby", label="Hobby", type="text")
    c = CustomerFactory(attributes={"hobby": "chess"})
    client = client_for(admin)
    assert "<dt>Hobby</dt><dd>chess</dd>" in client.get(detail(c)).content.decode()
    services_fields.update_custom_field(actor=admin, field_id=cf.pk, label="Pastime")
    html = client.get(detail(c)).content.decode()
    assert "<dt>Pastime</dt><dd>chess</dd>" in html and "Hobby" not in html
    services_fields.update_custom_field(actor=admin, field_id=cf.pk, active=False)
    assert "Pastime" not in client.get(detail(c)).content.decode()


def test_rows_by_id_gives_what_the_orm_gives_for_each_customer(db):
    a, b = CustomerFactory(), CustomerFactory()
    for customer, n in ((a, 3), (b, 1)):
        CustomerEmail.objects.bulk_create(
            CustomerEmail(customer=customer, email=f"{customer.pk}-{i}@example.com")
            for i in range(n)
        )
    CustomerEmail.objects.filter(email=f"{a.pk}-2@example.com").update(is_primary=True)

    def emails(cid):
        return CustomerEmail.objects.filter(customer_id=cid)

    for customer in (a, b, a):
        got = rows_by_id("test.emails", emails, customer.pk)
        assert [(e.pk, e.email, e.is_primary) for e in got] == [
            (e.pk, e.email, e.is_primary) for e in customer.emails.all()
        ]
    assert rows_by_id("test.emails", emails, 0) == []


@pytest.mark.parametrize("build", ["select_related", "values"])
def test_rows_by_id_runs_what_raw_cannot_reproduce_through_the_orm(build, db):
    c = CustomerFactory(owner=None)
    CustomerEmail.objects.create(customer=c, email="x@example.com")

    def query(cid):
        qs = CustomerEmail.objects.filter(customer_id=cid)
        return qs.select_related("customer") if build == "select_related" else qs.values("email")

    got = rows_by_id(f"test.{build}", query, c.pk)
    assert got == list(query(c.pk))


def test_compiled_rows_reads_related_rows_prefetches_and_annotations_as_the_orm_does(rep, db):
    # The 360° page's customer and timeline are read this way: what the compiled query gives
    # must be what the ORM gives, for any arguments, from the second call on.
    a, b = CustomerFactory(owner=rep), CustomerFactory(owner=None)
    now = timezone.now()
    for customer, user, n in ((a, rep, 3), (a, None, 1), (b, rep, 2)):
        for i in range(n):
            it = Interaction.objects.create(
                customer=customer,
                user=user,
                kind="call",
                channel="phone",
                subject=f"s{i}",
                occurred_at=now - dt.timedelta(hours=i),
            )
            Task.objects.create(
                customer=customer,
                interaction=it,
                title=f"t{i}",
                due_date=dt.date.today(),
                assignee=rep,
                created_by=rep,
            )

    def query(customer_id, user_id):
        return (
            Interaction.objects.filter(customer_id=customer_id)
            .exclude(user_id=user_id)
            .select_related("user", "customer")
            .only("id", "subject", "user__username", "customer__name")
            .annotate(tasks=Count("follow_ups"))
            .prefetch_related(Prefetch("follow_ups", queryset=Task.objects.order_by("id")))
            .order_by("-occurred_at", "-id")[:3]
        )

    def seen(rows):
        return [
            (
                r.pk,
                r.subject,
                r.user.username if r.user else None,
                r.customer.name,
                r.tasks,
                [t.title for t in r.follow_ups.all()],
            )
            for r in rows
        ]

    for customer, user in ((a, rep), (a, 0), (b, 0), (b, rep), (a, rep)):
        uid = user.pk if user else 0
        got = compiled_rows("test.timeline", query, customer.pk, uid)
        assert seen(got) == seen(query(customer.pk, uid))
    assert len(seen(compiled_rows("test.timeline", query, a.pk, 0))) == 3  # limit kept
    assert compiled_rows("test.timeline", query, 0, 0) == []
    assert fast._compiled_queries["test.timeline"] is not fast._NO_TEMPLATE  # not the ORM
    # Anything but integers goes through the ORM as it is.
    assert seen(compiled_rows("test.timeline", query, str(a.pk), 0)) == seen(query(a.pk, 0))
