"""Django's database sessions, read with one precompiled statement (decision 0017).

Every signed-in request reads its session. Django builds that query through the ORM each
time (a queryset, a lookup, the SQL compiler, a model instance): ~0.3 ms of CPU for a
one-row primary-key read. Here the statement is written once per process and the row comes
back through a plain cursor; saving, expiring and deleting sessions stay Django's.
``SESSION_ENGINE = "vinculo.core.sessions"``."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

_sql: dict[str, str] = {}


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        alias = router.db_for_read(model)
        connection = connections[alias]
        sql = _sql.get(alias)
        if sql is None:
            q = connection.ops.quote_name
            meta = model._meta
            sql = _sql[alias] = (
                f"SELECT {q('session_data')}, {q('expire_date')} FROM {q(meta.db_table)}"
                f" WHERE {q('session_key')} = %s AND {q('expire_date')} > %s"
            )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=row[0])
