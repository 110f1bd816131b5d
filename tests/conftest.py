"""Shared fixtures: two teams, one user per role, and a client logged in as any of them."""

from __future__ import annotations

import pytest

from tests.accounts.factories import TeamFactory, UserFactory
from vinculo.accounts.models import Role


@pytest.fixture
def team_a(db):
    return TeamFactory(name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(name="Team B")


@pytest.fixture
def admin(db):
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def manager(team_a):
    user = UserFactory(username="manager", role=Role.SALES_MANAGER, team=team_a)
    team_a.manager = user
    team_a.save()
    return user


@pytest.fixture
def rep(team_a):
    return UserFactory(username="rep", role=Role.SALES_REP, team=team_a)


@pytest.fixture
def rep_b(team_b):
    return UserFactory(username="rep_b", role=Role.SALES_REP, team=team_b)


@pytest.fixture
def agent(team_a):
    return UserFactory(username="agent", role=Role.SERVICE_AGENT, team=team_a)


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", role=Role.MARKETER)


@pytest.fixture
def analyst(db):
    return UserFactory(username="analyst", role=Role.ANALYST)


@pytest.fixture
def client_for(client):
    """client_for(user) -> the test client, logged in as ``user``."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
