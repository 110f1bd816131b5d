"""Small, rarely edited tables kept per process for a few seconds (decision 0016).

Pages read the same short lists on every request: the active custom fields, the active staff
for "owner" filters, the teams. Each read costs a query to compile, run and turn into objects
(0.3-0.5 ms of a page's CPU at any data size). ``ProcessCache`` keeps the loaded value in
the process: a save or delete of one of its models *in this process* drops it at once (and
again when that transaction commits, so a copy taken inside it is not kept); other processes
load it again after ``ttl`` seconds. The values are shared between requests: read-only.

Use it for what a page *shows* (menus, filter options, labels). Forms, imports, validation
and permission checks read the tables themselves: they must never act on a stale row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

DEFAULT_TTL = 5.0  # seconds another process may show a just-edited row's old value


_instances: list[ProcessCache] = []


def forget_all() -> None:
    """Drop every kept value (tests: a rolled-back row sends no delete signal)."""
    for instance in _instances:
        instance.forget()


class ProcessCache(Generic[T]):
    def __init__(
        self, name: str, loader: Callable[[], T], *, models: tuple, ttl: float = DEFAULT_TTL
    ):
        self.name = name
        self.loader = loader
        self.ttl = ttl
        self._value: tuple[float, T] | None = None
        _instances.append(self)
        for model in models:
            uid = f"process_cache.{name}.{model._meta.label_lower}"
            post_save.connect(self._changed, sender=model, dispatch_uid=uid + ".save", weak=False)
            post_delete.connect(
                self._changed, sender=model, dispatch_uid=uid + ".delete", weak=False
            )

    def get(self) -> T:
        now = time.monotonic()
        cached = self._value
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        value = self.loader()
        self._value = (now, value)
        return value

    def forget(self) -> None:
        self._value = None

    def _changed(self, **_kwargs) -> None:
        self.forget()
        # Read again once the change is committed, not a copy taken inside its transaction.
        transaction.on_commit(self.forget)
