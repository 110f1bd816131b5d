"""SQLite with a small pool of open connections per process (decision 0015).

Django opens a new SQLite connection for every request when ``CONN_MAX_AGE`` is 0, and under
ASGI, where each request runs in its own thread, a kept connection is never reused either. A
new connection costs more than the ``connect()`` call: SQLite parses the whole schema (260+
tables, indexes and triggers) before its first statement, starts with an empty page cache, and
when the last connection of a WAL database closes it checkpoints the log and deletes it, so
the next request writes it again.

This backend keeps up to ``POOL_SIZE`` closed-by-Django connections per database file in the
process and hands one back on the next ``connect()``. A connection enters the pool only
outside a transaction (one left open is rolled back first) and never from inside an atomic
block. The pool is per process: a forked child starts with an empty pool and never touches
the parent's connections. In-memory databases are never pooled (closing them is already a
no-op in Django).
"""

from __future__ import annotations

import contextlib
import os
import threading

from django.db.backends.sqlite3 import base

_lock = threading.Lock()
# (database path, device, inode) -> idle connections. Keyed by the file's identity so a
# database deleted and created again under the same name (test runs) gets fresh connections.
_pools: dict[tuple, list] = {}
# Connections inherited by a forked child: kept referenced so they are never closed in the
# child (closing one would release the child's own POSIX locks on the file).
_inherited: list = []


def _after_fork_in_child() -> None:
    for idle in _pools.values():
        _inherited.extend(idle)
    _pools.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _close_all(conns) -> None:
    for conn in conns:
        with contextlib.suppress(base.Database.Error):
            conn.close()


def close_idle_connections() -> None:
    """Close every pooled connection of this process (tests, before a file is replaced)."""
    with _lock:
        idle = [conn for pool in _pools.values() for conn in pool]
        _pools.clear()
    _close_all(idle)


def idle_count() -> int:
    with _lock:
        return sum(len(pool) for pool in _pools.values())


class DatabaseWrapper(base.DatabaseWrapper):
    def _pool_size(self) -> int:
        if self.is_in_memory_db():
            return 0
        return int(self.settings_dict.get("POOL_SIZE") or 0)

    def _pool_key(self) -> tuple | None:
        name = str(self.settings_dict["NAME"])
        try:
            st = os.stat(name)
        except OSError:
            return None
        return (name, st.st_dev, st.st_ino)

    def get_new_connection(self, conn_params):
        if self._pool_size():
            key = self._pool_key()
            stale = []
            with _lock:
                for other in [k for k in _pools if k[0] == str(self.settings_dict["NAME"])]:
                    if other != key:  # the file was replaced: its connections are stale
                        stale.extend(_pools.pop(other))
                pool = _pools.get(key) if key else None
                conn = pool.pop() if pool else None
            _close_all(stale)
            if conn is not None:
                return conn
        return super().get_new_connection(conn_params)

    def _close(self):
        conn = self.connection
        size = self._pool_size()
        if conn is not None and size and not self.in_atomic_block:
            try:
                if conn.in_transaction:
                    conn.rollback()
            except base.Database.Error:
                pass  # not reusable: closed below
            else:
                key = self._pool_key()
                if key is not None:
                    with _lock:
                        pool = _pools.setdefault(key, [])
                        if len(pool) < size:
                            pool.append(conn)
                            return
        super()._close()
