"""Reads of the customer 360° page that are cheaper than their ORM spelling (decision 0014).

Each ORM query of the page cost 0.2–0.4 ms of CPU to compile and turn into objects, most of
it the same work every request. Here:

- ``detail_figures``: the open-task count, the interaction count and the tags in one
  statement, written once per process (the tables are found through the reverse relations:
  customers sits below interactions in the layer contract and does not import its models).
- ``active_fields_shown``: the active custom fields, kept per process. They change only when
  an admin edits a field: a save or delete in this process drops the copy at once, and other
  processes read the table again after a few seconds (core.process_cache). Forms, imports
  and validation keep reading the table (they must never check against a stale definition).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from vinculo.core.process_cache import ProcessCache
from vinculo.customers.models import Customer, CustomField, Tag


def _load_fields() -> list[CustomField]:
    return list(CustomField.objects.filter(active=True).order_by("group", "position", "key"))


_fields = ProcessCache("custom_fields_shown", _load_fields, models=(CustomField,))


def active_fields_shown() -> list[CustomField]:
    """The active custom fields in display order (group, position, key); read-only objects
    shared between requests."""
    return _fields.get()


@dataclass(frozen=True)
class DetailFigures:
    open_tasks: int
    interactions: int
    tags: list[Tag]


_figures_sql: str | None = None


def _build_figures_sql() -> str:
    q = connection.ops.quote_name
    tasks = Customer._meta.get_field("tasks").related_model._meta
    interactions = Customer._meta.get_field("interactions").related_model._meta
    through = Customer.tags.through._meta
    tag = Tag._meta
    # One row per count, then one per tag in name order (the tags' own ordering).
    return (
        f"SELECT 0 AS k, (SELECT COUNT(*) FROM {q(tasks.db_table)}"
        f" WHERE {q('customer_id')} = %s AND {q('done_at')} IS NULL) AS n, NULL AS name"
        f" UNION ALL SELECT 1, (SELECT COUNT(*) FROM {q(interactions.db_table)}"
        f" WHERE {q('customer_id')} = %s), NULL"
        f" UNION ALL SELECT 2, t.{q('id')}, t.{q('name')} FROM {q(tag.db_table)} t"
        f" INNER JOIN {q(through.db_table)} ct ON ct.{q('tag_id')} = t.{q('id')}"
        f" WHERE ct.{q('customer_id')} = %s"
        " ORDER BY 1, 3"
    )


def detail_figures(customer_id: int) -> DetailFigures:
    """Open tasks, interactions and tags of one customer in one query."""
    global _figures_sql
    if _figures_sql is None:
        _figures_sql = _build_figures_sql()
    with connection.cursor() as cursor:
        cursor.execute(_figures_sql, [customer_id, customer_id, customer_id])
        rows = cursor.fetchall()
    counts = {k: n for k, n, _name in rows if k < 2}
    return DetailFigures(
        open_tasks=counts.get(0, 0),
        interactions=counts.get(1, 0),
        tags=[Tag(id=n, name=name) for k, n, name in rows if k == 2],
    )
