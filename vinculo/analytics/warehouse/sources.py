"""What the ETL extracts: one registered ``Source`` per warehouse table fed from the
operational database. Adding a source (cases, campaign touches...) is one ``register()``
call next to the model it reads; the ETL, deletes, watermarks and progress come for free.

A source either has a ``watermark`` (an ORM path to an ``updated_at``; rows changed since
the last refresh are re-extracted and replaced by key) or none (a small table reloaded in
full on every refresh). Child rows without their own ``updated_at`` (order lines, stage
history) use their parent's: services bump the parent whenever a child changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

DECIMAL = "DECIMAL(14,2)"
RATE = "DECIMAL(5,2)"


@dataclass(frozen=True)
class Col:
    """A warehouse column: its DuckDB ``type``, the ORM ``source`` path it is read from
    (``None`` for a derived column) and an optional SQL ``expr`` over the chunk's columns."""

    name: str
    type: str
    source: str | None = ""  # "" means: the ORM path is the column name
    expr: str | None = None

    @property
    def orm_path(self) -> str | None:
        if self.source is None:
            return None
        return self.source or self.name


@dataclass(frozen=True)
class Source:
    name: str
    table: str
    key: str  # the warehouse column holding the source primary key
    columns: tuple[Col, ...]
    queryset: Callable[[], QuerySet] | None = None
    # Rows instead of a queryset (small tables that need Python to shape them).
    rows: Callable[[], Iterable[tuple]] | None = None
    watermark: str | None = None  # ORM path to updated_at; None = reload in full each time
    # Rows are hard-deleted in the operational DB: anti-join the keys on each refresh.
    hard_deletes: bool = True
    kind: str = "fact"  # or "dimension"
    extra_fields: tuple[str, ...] = field(default=())

    @property
    def extracted(self) -> list[Col]:
        return [c for c in self.columns if c.orm_path is not None]

    @property
    def key_path(self) -> str:
        for c in self.columns:
            if c.name == self.key:
                return c.orm_path or "pk"
        return "pk"

    @property
    def incremental(self) -> bool:
        return self.watermark is not None


REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source to the ETL (idempotent by name: re-registering replaces it)."""
    REGISTRY[source.name] = source
    return source


def local_date(column: str) -> str:
    """SQL for the calendar date of a UTC timestamp in the project's time zone."""
    tz = str(settings.TIME_ZONE).replace("'", "")
    return f"CAST(timezone('{tz}', CAST({column} AS TIMESTAMPTZ)) AS DATE)"


def columns_sql(source: Source) -> str:
    return ", ".join(f'"{c.name}" {c.type}' for c in source.columns)


def select_sql(source: Source) -> str:
    """The SELECT list that turns a raw chunk (columns named like the warehouse's) into
    the table's typed row."""
    parts = []
    for c in source.columns:
        expr = c.expr if c.expr is not None else f'"{c.name}"'
        parts.append(f'CAST({expr} AS {c.type}) AS "{c.name}"')
    return ", ".join(parts)


def describe() -> list[dict[str, Any]]:
    return [
        {"source": s.name, "table": s.table, "kind": s.kind, "incremental": s.incremental}
        for s in REGISTRY.values()
    ]


# The built-in sources register themselves on import (dimensions first: the marts join them).
from vinculo.analytics.warehouse import dimensions, facts  # noqa: E402, F401
