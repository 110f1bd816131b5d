"""`vinculo seed` is deterministic and writes normalised, consistent data; `vinculo demo` is
idempotent."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from vinculo.accounts.models import Team, User
from vinculo.core.normalize import normalize_email
from vinculo.customers import search
from vinculo.customers.models import Customer, CustomerEmail, CustomerPhone
from vinculo.devdata import seeding
from vinculo.interactions.models import Interaction, Task

pytestmark = pytest.mark.django_db

ANCHOR = timezone.make_aware(dt.datetime(2026, 6, 1, 18, 0))


def snapshot() -> list[tuple]:
    """The seeded data without database ids (which depend on what was there before)."""
    rows = []
    for c in Customer.objects.order_by("external_id").prefetch_related(
        "emails", "phones", "addresses", "tags", "interactions", "tasks"
    ):
        rows.append(
            (
                c.external_id, c.kind, c.name, c.company_name, c.email, c.phone, c.city,
                c.stage, c.owner_id, c.team_id, c.attributes, c.last_contact_at,
                [(e.email, e.kind, e.is_primary) for e in c.emails.all()],
                [(p.number, p.kind, p.is_primary) for p in c.phones.all()],
                [(a.street, a.city) for a in c.addresses.all()],
                sorted(t.name for t in c.tags.all()),
                sorted((i.kind, i.channel, i.outcome, i.occurred_at, i.duration_seconds)
                       for i in c.interactions.all()),
                sorted((t.title, t.due_date, t.done_at is None) for t in c.tasks.all()),
            )
        )  # fmt: skip
    return rows


def test_seed_is_deterministic():
    seeding.seed(customers=40, seed=7, anchor=ANCHOR)
    first = snapshot()
    assert seeding.reset_seeded() == 40
    assert Customer.objects.count() == 0
    seeding.seed(customers=40, seed=7, anchor=ANCHOR)
    assert snapshot() == first
    seeding.reset_seeded()
    seeding.seed(customers=40, seed=8, anchor=ANCHOR)
    assert snapshot() != first


def test_seed_counts_and_normalised_channels():
    stats = seeding.seed(customers=50, seed=3, interactions_per_customer=5, anchor=ANCHOR)
    assert stats.customers == Customer.objects.count() == 50
    assert stats.interactions == Interaction.objects.count()
    assert 100 < stats.interactions < 400
    assert stats.tasks == Task.objects.count()
    assert Customer.objects.filter(kind="organization").exists()
    assert Customer.objects.filter(organization__isnull=False).exists()
    # Every channel is as the services would have stored it.
    for number in CustomerPhone.objects.values_list("number", flat=True):
        assert number.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(number))
    for email in CustomerEmail.objects.values_list("email", flat=True):
        assert normalize_email(email) == email
    # Denormalised columns mirror the primary channel and the organization.
    for c in Customer.objects.select_related("organization").prefetch_related("emails", "phones"):
        primary_email = next((e.email for e in c.emails.all() if e.is_primary), "")
        primary_phone = next((p.number for p in c.phones.all() if p.is_primary), "")
        assert (c.email, c.phone) == (primary_email, primary_phone)
        assert c.company_name == (c.organization.name if c.organization else "")
        if c.kind == "person":
            assert c.name == f"{c.first_name} {c.last_name}"
        if c.owner_id:
            assert c.team_id == c.owner.team_id
    # last_contact_at is the newest interaction.
    newest = dict(
        Interaction.objects.values("customer_id")
        .annotate(m=Max("occurred_at"))
        .values_list("customer_id", "m")
    )
    for pk, last in Customer.objects.values_list("pk", "last_contact_at"):
        assert last == newest.get(pk)


def test_seed_covers_every_channel():
    seeding.seed(customers=60, seed=11, anchor=ANCHOR)
    kinds = set(Interaction.objects.values_list("kind", flat=True))
    assert kinds == set(Interaction.Kind.values)


def test_seeded_customers_are_searchable():
    seeding.seed(customers=30, seed=5, anchor=ANCHOR)
    c = Customer.objects.exclude(phone="").filter(kind="person").order_by("pk").first()
    qs = Customer.objects.all()
    assert c in search.apply(qs, c.first_name)
    assert c in search.apply(qs, c.email[:6])
    assert c in search.apply(qs, c.phone)


def test_seeding_the_same_seed_twice_is_refused():
    seeding.seed(customers=5, seed=2, anchor=ANCHOR)
    with pytest.raises(Exception, match="reset"):
        seeding.seed(customers=5, seed=2, anchor=ANCHOR)
    assert Customer.objects.count() == 5


def test_seed_command_with_reset():
    out = StringIO()
    call_command("seed", customers=12, seed=4, quiet=True, stdout=out)
    call_command("seed", customers=8, seed=4, reset=True, quiet=True, stdout=out)
    assert Customer.objects.count() == 8
    assert "rows/s" in out.getvalue()


def test_reset_keeps_customers_that_were_not_seeded():
    seeding.seed(customers=10, seed=1, anchor=ANCHOR)
    mine = Customer.objects.create(name="Cliente Real", email="real@empresa.es")
    seeding.reset_seeded()
    assert list(Customer.objects.all()) == [mine]


def test_demo_is_idempotent():
    out = StringIO()
    call_command("demo", customers=20, stdout=out)
    counts = (Team.objects.count(), User.objects.count(), Customer.objects.count(),
              Interaction.objects.count())  # fmt: skip
    call_command("demo", customers=20, stdout=out)
    assert (Team.objects.count(), User.objects.count(), Customer.objects.count(),
            Interaction.objects.count()) == counts  # fmt: skip
    assert counts[2] == 20
    assert {"Ventas Norte", "Ventas Sur", "Atención al cliente", "Marketing"} <= set(
        Team.objects.values_list("name", flat=True)
    )
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("vinculo-demo")
    assert User.objects.get(username="rep").check_password("vinculo-demo")
    # One hash for all demo logins (hashing is deliberately slow): same password everywhere.
    usernames = ("manager", "rep", "rep2", "agent", "marketer", "analyst")
    hashes = set(User.objects.filter(username__in=usernames).values_list("password", flat=True))
    assert hashes == {admin.password}


def test_demo_does_not_seed_a_database_with_customers():
    Customer.objects.create(name="Ya existe")
    call_command("demo", customers=20, stdout=StringIO())
    assert Customer.objects.count() == 1


def test_print_logins_only_prints():
    out = StringIO()
    call_command("demo", print_logins=True, stdout=out)
    assert "vinculo-demo" in out.getvalue() and "rep2" in out.getvalue()
    assert "Open http://127.0.0.1:8000/ and sign in" in out.getvalue()
    assert User.objects.count() == 0


def test_print_logins_names_the_address_make_demo_serves_on():
    # make demo PORT=8123 starts the web app on 8123: the hint must not send people to 8000.
    out = StringIO()
    call_command("demo", "--print-logins", "--url", "http://127.0.0.1:8123/", stdout=out)
    assert "Open http://127.0.0.1:8123/ and sign in" in out.getvalue()
