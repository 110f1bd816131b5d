"""Database connections under ASGI: requests share a bounded pool instead of one connection each.

Under ASGI each request runs its sync view in a thread of its own, and Django's connections are
per thread, so a persistent connection (CONN_MAX_AGE > 0) was never reused: every request opened
a new PostgreSQL session and left it for the garbage collector. The settings give PostgreSQL a
psycopg pool per process instead (decision 0014, "Connections under ASGI").
"""

from __future__ import annotations

import asyncio

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.db import connection
from django.http import HttpResponse
from django.urls import path

pytestmark = pytest.mark.skipif(
    "pool" not in connection.settings_dict["OPTIONS"],
    reason="PostgreSQL with the pool on (SQLite has no pool in Django)",
)


def backend_pid(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return HttpResponse(str(cursor.fetchone()[0]))


urlpatterns = [path("pid", backend_pid)]


async def _get(app: ASGIHandler, url: str) -> bytes:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 40000),
    }
    sent = []
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if body:
            return body.pop()
        await asyncio.Future()  # the client stays connected until the handler is done

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 200
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def _pids(requests: int, clients: int) -> list[bytes]:
    app = ASGIHandler()
    slots = asyncio.Semaphore(clients)

    async def one():
        async with slots:
            return await _get(app, "/pid")

    return await asyncio.gather(*(one() for _ in range(requests)))


def test_asgi_requests_reuse_pooled_connections(db, settings):
    settings.ROOT_URLCONF = __name__
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]

    pids = asyncio.run(_pids(requests=40, clients=4))

    # Without the pool: one PostgreSQL session per request (40 pids); with it, at most the
    # pool's size, each session serving many requests.
    assert len(set(pids)) <= pool["max_size"] < 40
