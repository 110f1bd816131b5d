"""Signing in and loading the signed-in user: Django's ModelBackend, plus the ids of the teams
the user manages read in the same query as the user (decision 0016).

Every page of a rep or a manager applies the visibility rule, which needs those ids
(customers.selectors.managed_team_ids): a second query on every request, a round trip to
PostgreSQL each time. They are read with the user on each request, so a change of manager
applies on the next request exactly as before."""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models.expressions import RawSQL

from vinculo.accounts.models import Team
from vinculo.core.fast import compiled_rows


@functools.cache
def _managed_ids_sql(vendor: str) -> str:
    """The subquery, built once per database vendor (it runs on every request)."""
    q = connection.ops.quote_name
    user_table, team_table = q(get_user_model()._meta.db_table), q(Team._meta.db_table)
    manager = q(Team._meta.get_field("manager").column)
    ids = (
        f"string_agg(t.{q('id')}::text, ',')"
        if vendor == "postgresql"
        else (f"group_concat(t.{q('id')}, ',')")
    )
    return f"SELECT {ids} FROM {team_table} t WHERE t.{manager} = {user_table}.{q('id')}"


def _user_with_managed_teams(user_id):
    return (
        get_user_model()
        ._default_manager.annotate(managed_team_csv=RawSQL(_managed_ids_sql(connection.vendor), ()))
        .filter(pk=user_id)
        .order_by()
    )


class VinculoModelBackend(ModelBackend):
    def get_user(self, user_id):
        # Compiled once per process (core.fast.compiled_rows): this runs on every request.
        if isinstance(user_id, str) and user_id.isdigit():
            user_id = int(user_id)
        rows = compiled_rows(
            f"signed_in_user:{connection.vendor}", _user_with_managed_teams, user_id
        )
        if not rows:
            return None
        user = rows[0]
        csv = user.managed_team_csv
        # What customers.selectors.managed_team_ids keeps on the user object.
        user._managed_team_ids = [int(x) for x in csv.split(",")] if csv else []
        return user if self.user_can_authenticate(user) else None
