"""The SQLite backend's connection pool (vinculo.core.db.sqlite, decision 0015)."""

from __future__ import annotations

import copy
import os

import pytest
from django.db import connections

from vinculo.core.db.sqlite import base as pool

pytestmark = pytest.mark.skipif(
    connections["default"].vendor != "sqlite", reason="the pool is the SQLite backend's"
)


@pytest.fixture
def wrapper_for(tmp_path, django_db_blocker):
    made = []
    django_db_blocker.unblock()  # these wrappers open their own files, not the test database

    def make(size=2, name="pool.sqlite3"):
        settings = copy.deepcopy(connections["default"].settings_dict)
        settings.update(NAME=str(tmp_path / name), POOL_SIZE=size)
        w = pool.DatabaseWrapper(settings, alias=f"pooltest{len(made)}")
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
    pool.close_idle_connections()
    django_db_blocker.restore()


def _raw(w):
    w.ensure_connection()
    return w.connection


def test_a_closed_connection_is_reused_by_the_next_request(wrapper_for):
    w = wrapper_for()
    with w.cursor() as cur:
        cur.execute("CREATE TABLE t (x INTEGER)")
    first = _raw(w)
    w.close()
    assert w.connection is None and pool.idle_count() == 1
    assert _raw(w) is first  # the next "request" gets the same open connection
    with w.cursor() as cur:
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (0,)


def test_uncommitted_work_is_rolled_back_before_the_connection_is_pooled(wrapper_for):
    w = wrapper_for()
    with w.cursor() as cur:
        cur.execute("CREATE TABLE t (x INTEGER)")
    w.set_autocommit(False)
    with w.cursor() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    w.close()  # a request that ended without commit
    reader = wrapper_for(size=0)
    with reader.cursor() as cur:
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (0,)
    with w.cursor() as cur:  # the pooled connection is usable and in autocommit again
        cur.execute("INSERT INTO t VALUES (2)")
    with reader.cursor() as cur:
        cur.execute("SELECT x FROM t")
        assert cur.fetchall() == [(2,)]


def test_a_connection_closed_inside_an_atomic_block_is_not_pooled(wrapper_for):
    w = wrapper_for()
    w.ensure_connection()
    w.in_atomic_block = True  # Django closes it mid-transaction (e.g. after a lost connection)
    try:
        w.close()
    finally:
        w.in_atomic_block = False
        w.closed_in_transaction = w.needs_rollback = False
        w.connection = None
    assert pool.idle_count() == 0


def test_the_pool_keeps_at_most_its_size(wrapper_for):
    a, b, c = wrapper_for(size=2), wrapper_for(size=2), wrapper_for(size=2)
    for w in (a, b, c):
        w.ensure_connection()
    for w in (a, b, c):
        w.close()
    assert pool.idle_count() == 2


def test_a_replaced_database_file_gets_fresh_connections(wrapper_for, tmp_path):
    w = wrapper_for()
    with w.cursor() as cur:
        cur.execute("CREATE TABLE old (x INTEGER)")
    w.close()
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"pool.sqlite3{suffix}"
        if path.exists():
            os.remove(path)
    w2 = wrapper_for()
    with w2.cursor() as cur:
        cur.execute("SELECT count(*) FROM sqlite_master WHERE name = 'old'")
        assert cur.fetchone() == (0,)  # not the deleted file's connection


def test_a_forked_child_never_uses_the_parents_connections(wrapper_for):
    w = wrapper_for()
    w.ensure_connection()
    w.close()
    assert pool.idle_count() == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: an empty pool
        os.write(write, str(pool.idle_count()).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"0"
    assert pool.idle_count() == 1  # the parent's pool is untouched


def test_size_zero_closes_every_connection(wrapper_for):
    w = wrapper_for(size=0)
    w.ensure_connection()
    w.close()
    assert pool.idle_count() == 0
