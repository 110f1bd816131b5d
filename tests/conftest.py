"""Shared fixtures: two teams, one user per role, and a client logged in as any of them."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest

from tests.accounts.factories import TeamFactory, UserFactory
from vinculo.accounts.models import Role


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s per user; tests check behaviour, not hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    """A request by a Spanish-speaking user activates Spanish in this thread (the test client
    runs in-process); start every test from the default language so none depends on order."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def db_tasks(settings):
    """Queue background tasks in the database (as in production) instead of running them
    immediately, so a test can see that work was deferred to the worker."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


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


class _Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "msg": msg})
        return "250 OK"


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server (aiosmtpd) on loopback; Django's SMTP backend sends to it.
    ``smtp_sink.messages`` holds what arrived (email.message.EmailMessage objects)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


@pytest.fixture(autouse=True)
def _nothing_kept_from_another_test():
    """Pages keep small tables (custom fields, staff, teams) per process for a few seconds
    (core.process_cache); a test's rows are rolled back without a delete signal."""
    from vinculo.core import process_cache

    process_cache.forget_all()
    yield
    process_cache.forget_all()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and on PostgreSQL no session left on them at the end:
    a pooled connection still open there (the live server's threads, the pool's idle ones)
    made DROP DATABASE fail now and then, leaving a test_vinculo_* database behind."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        connection.close()
        connection.close_pool()
        with connection._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )
