"""Filter options kept per process (core.process_cache): a change made here shows at once, one
made by another process (no signal here) within the time-to-live."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory
from vinculo.accounts.models import Team, User
from vinculo.core import process_cache

pytestmark = pytest.mark.django_db


def _owner_options(html: str) -> str:
    return html.split('name="owner"', 1)[1].split("</select>", 1)[0]


def test_a_new_colleague_is_offered_as_owner_at_once(client_for, rep, team_a):
    client = client_for(rep)
    assert "Nora Nueva" not in _owner_options(client.get(reverse("customer_list")).content.decode())
    UserFactory(username="nora", first_name="Nora", last_name="Nueva", team=team_a)
    html = client.get(reverse("customer_list")).content.decode()
    assert "Nora Nueva" in _owner_options(html)
    # The sales pages' owner filters too.
    html = client.get(reverse("opportunity_list")).content.decode()
    assert "Nora Nueva" in html


def test_another_process_change_shows_after_the_time_to_live(client_for, rep, monkeypatch):
    client = client_for(rep)
    client.get(reverse("customer_list"))  # kept now
    # As another process would: no signal reaches this one.
    Team.objects.filter(pk=rep.team_id).update(name="Renamed elsewhere")
    User.objects.filter(pk=rep.pk).update(first_name="Ramona")
    html = client.get(reverse("customer_list")).content.decode()
    assert "Renamed elsewhere" not in html
    now = process_cache.time.monotonic()
    monkeypatch.setattr(
        process_cache.time, "monotonic", lambda: now + process_cache.DEFAULT_TTL + 1
    )
    html = client.get(reverse("customer_list")).content.decode()
    assert "Renamed elsewhere" in html
    assert "Ramona" in _owner_options(html)


def test_a_deactivated_user_is_no_longer_offered(client_for, admin, team_a):
    gone = UserFactory(username="gone", first_name="Gonzalo", last_name="Ido", team=team_a)
    client = client_for(admin)
    assert "Gonzalo Ido" in _owner_options(client.get(reverse("customer_list")).content.decode())
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    assert "Gonzalo Ido" not in _owner_options(
        client.get(reverse("customer_list")).content.decode()
    )


def test_a_copy_read_inside_the_changing_transaction_is_dropped_at_commit(transactional_db):
    """Another request may read the table between the save and the commit: that copy is
    dropped when the change commits, so the committed row shows at once."""
    from django.db import transaction

    from vinculo.accounts.directory import teams

    Team.objects.create(name="Alpha")
    assert [t.name for t in teams()] == ["Alpha"]
    with transaction.atomic():
        team = Team.objects.create(name="Beta")
        Team.objects.filter(pk=team.pk).update(name="Beta (draft)")  # no signal
        assert [t.name for t in teams()] == ["Alpha", "Beta (draft)"]
        team.name = "Beta"
        Team.objects.filter(pk=team.pk).update(name="Beta")  # no signal either
        assert [t.name for t in teams()] == ["Alpha", "Beta (draft)"]  # kept inside
    assert [t.name for t in teams()] == ["Alpha", "Beta"]  # dropped at commit
