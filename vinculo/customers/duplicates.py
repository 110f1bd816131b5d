"""Duplicate detection: candidate pairs of customers that are probably the same party.

Three signals, cheapest first:
  * the same normalised email on any of the two customers' ``emails`` rows (SQL GROUP BY);
  * the same E.164 phone on any ``phones`` row (SQL GROUP BY);
  * a similar name (rapidfuzz ``token_sort_ratio`` on the folded name >= 90) in the same city.

The fuzzy pass never compares all pairs: customers are streamed ordered by city and kind,
then blocked by the first letters of their sorted, folded name tokens; a block bigger than
``MAX_BLOCK`` is compared in overlapping windows of its sorted keys (sorted neighbourhood),
so the cost is linear in the number of customers times a bounded block size.

Only customers visible to the user take part, organizations only match organizations and
people only people, merged-away records never appear, and pairs someone marked as "not a
duplicate" are left out.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz, process

from vinculo.core.errors import ValidationError
from vinculo.core.models import AuditEntry
from vinculo.core.normalize import fold, normalize_email, normalize_phone
from vinculo.customers.models import Customer, CustomerEmail, CustomerPhone
from vinculo.customers.selectors import visibility_q, visible_customers

REASON_EMAIL = "email"
REASON_PHONE = "phone"
REASON_NAME = "name"
REASON_LABELS = {
    REASON_EMAIL: _("Same email"),
    REASON_PHONE: _("Same phone"),
    REASON_NAME: _("Similar name in the same city"),
}
NAME_THRESHOLD = 90
BLOCK_PREFIX = 2  # letters of the sorted folded name that form the blocking key
MAX_BLOCK = 500  # names compared at once; bigger blocks use overlapping windows
MAX_GROUP = 20  # customers sharing one email/phone that are paired (bounds n² blow-ups)
DEFAULT_LIMIT = 500
DISMISSAL_TYPE = "customers.duplicate_dismissal"

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


@dataclass
class DuplicatePair:
    """Two customers that may be the same; ``a_id`` < ``b_id`` always."""

    a_id: int
    b_id: int
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    # What they share: the email or phone, or the two names for a fuzzy match.
    detail: str = ""

    @property
    def key(self) -> tuple[int, int]:
        return (self.a_id, self.b_id)

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS[r]) for r in self.reasons]


@dataclass
class PossibleMatch:
    """A visible customer that may be the party described at capture or import time."""

    customer: Customer
    reasons: list[str]
    score: float

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS[r]) for r in self.reasons]


def pair_key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


@lru_cache(maxsize=200_000)
def _fold_cached(text: str) -> str:
    # Names are made of few distinct words (first names, surnames, cities): fold each once.
    return fold(text)


def name_key(name: str) -> str:
    """Folded, punctuation-free name with its tokens sorted: what the fuzzy pass compares.
    Comparing two keys with ``fuzz.ratio`` equals ``token_sort_ratio`` on the folded names."""
    return " ".join(sorted(_fold_cached(t) for t in _PUNCT.sub(" ", name or "").split()))


def _base_customers(user) -> QuerySet[Customer]:
    # ``user=None`` is the system (management commands): every live record.
    if user is None:
        return Customer.objects.filter(merged_into__isnull=True)
    return visible_customers(user)


def dismissed_pairs() -> set[tuple[int, int]]:
    """Pairs someone marked as "not a duplicate" (stored as audit entries, see merging)."""
    out: set[tuple[int, int]] = set()
    rows = AuditEntry.objects.filter(object_type=DISMISSAL_TYPE, undone_at__isnull=True)
    for payload in rows.values_list("payload", flat=True):
        pair = (payload or {}).get("pair") or []
        if len(pair) == 2:
            out.add(pair_key(int(pair[0]), int(pair[1])))
    return out


# --- exact matches on channels ----


def _channel_pairs(
    model,
    value_field: str,
    vis: QuerySet[Customer],
    *,
    customer_id: int | None,
    limit: int,
    restricted: bool,
) -> Iterator[tuple[int, int, str]]:
    """(low id, high id, shared value) for customers of the same kind sharing a channel value."""
    if customer_id is not None:
        own = model.objects.filter(customer_id=customer_id).values_list(value_field, flat=True)
        kind = Customer.objects.filter(pk=customer_id).values_list("kind", flat=True)
        rows = model.objects.filter(
            **{f"{value_field}__in": own},
            customer__in=vis.filter(kind__in=kind).values("pk"),
        ).exclude(customer_id=customer_id)
        for value, other in rows.values_list(value_field, "customer_id")[: limit * 2]:
            a, b = pair_key(customer_id, other)
            yield a, b, value
        return
    raw = model.objects.all()
    if restricted:  # a rep's few customers: filter first, the subquery is selective
        raw = raw.filter(customer__in=vis.values("pk"))
    # (customer, value) is unique, so COUNT(*) counts customers: no DISTINCT, and without a
    # visibility filter no join either (the GROUP BY reads the value index only).
    groups = (
        raw.values(value_field)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by(value_field)
        .values(value_field, "n")[:limit]
    )
    values = [g[value_field] for g in groups]
    if not values:
        return
    members = list(
        model.objects.filter(**{f"{value_field}__in": values})
        .order_by(value_field, "customer_id")
        .values_list(value_field, "customer_id")
    )
    ids = sorted({pk for _v, pk in members})
    live: dict[int, str] = {}  # visible, not merged away: id -> kind
    for i in range(0, len(ids), 1000):
        live.update(vis.filter(pk__in=ids[i : i + 1000]).values_list("pk", "kind"))
    for value, grp in groupby(members, key=lambda r: r[0]):
        by_kind: dict[str, list[int]] = defaultdict(list)
        for _v, pk in grp:
            if pk in live:
                by_kind[live[pk]].append(pk)
        for same_kind in by_kind.values():
            same_kind = same_kind[:MAX_GROUP]
            for i, a in enumerate(same_kind):
                for b in same_kind[i + 1 :]:
                    yield a, b, value


# --- fuzzy names in the same city ----


def _block_matches(block: list[tuple[int, str]]) -> Iterator[tuple[int, int, float]]:
    """Pairs in one block whose name keys score >= NAME_THRESHOLD."""
    block.sort(key=lambda r: r[1])
    step = MAX_BLOCK // 2
    starts = range(0, max(len(block) - step, 1), step) if len(block) > MAX_BLOCK else [0]
    seen: set[tuple[int, int]] = set()
    for start in starts:
        window = block[start : start + MAX_BLOCK]
        keys = [k for _id, k in window]
        # Keys are already token-sorted, so plain ratio == token_sort_ratio, and much faster.
        matrix = process.cdist(
            keys, keys, scorer=fuzz.ratio, score_cutoff=NAME_THRESHOLD, workers=1
        )
        # Only the upper triangle: each pair once, never a name with itself.
        rows, cols = np.nonzero(np.triu(matrix, k=1) >= NAME_THRESHOLD)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            pk = pair_key(window[i][0], window[j][0])
            if pk not in seen:
                seen.add(pk)
                yield pk[0], pk[1], float(matrix[i, j])


class _OutOfTime(Exception):
    pass


def _name_pairs(
    vis: QuerySet[Customer], *, deadline: float | None = None
) -> Iterator[tuple[int, int, float]]:
    """Similar names per city; raises _OutOfTime once ``deadline`` (monotonic) has passed."""
    rows = (
        vis.exclude(city="")
        .annotate(city_key=Lower("city"))
        .order_by("city_key", "kind", "pk")
        .values_list("pk", "kind", "name", "city_key")
        .iterator(chunk_size=5000)
    )
    # One city (and kind) in memory at a time; compared block by block.
    for _group_key, group in groupby(rows, key=lambda r: (_fold_cached(r[3]), r[1])):
        blocks: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for pk, _kind, name, _city in group:
            key = name_key(name)
            if key:
                blocks[key[:BLOCK_PREFIX]].append((pk, key))
        for block in blocks.values():
            if len(block) > 1:
                yield from _block_matches(block)
            if deadline is not None and time.monotonic() > deadline:
                raise _OutOfTime


def _name_pairs_for(
    vis: QuerySet[Customer], *, name: str, city: str, kind: str | None, exclude_id: int | None
) -> Iterator[tuple[int, float]]:
    """Customers in ``city`` whose name scores >= NAME_THRESHOLD against ``name``."""
    key = name_key(name)
    if not key or not (city or "").strip():
        return
    city = city.strip()
    # Exact spellings keep the city index usable (iexact would scan).
    cities = {city, city.lower(), city.upper(), city.title(), city.capitalize()}
    qs = vis.filter(city__in=cities)
    if kind:
        qs = qs.filter(kind=kind)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    name_q = Q()
    for token in key.split():
        name_q |= Q(name__icontains=token[:3])
    for pk, other in qs.filter(name_q).values_list("pk", "name")[: MAX_BLOCK * 4]:
        score = fuzz.token_sort_ratio(key, name_key(other))
        if score >= NAME_THRESHOLD:
            yield pk, float(score)


# --- public API ----


def find_duplicates(
    *, user, customer_id: int | None = None, limit: int = DEFAULT_LIMIT
) -> list[DuplicatePair]:
    """Candidate duplicate pairs among the customers ``user`` may see (``None``: all), email
    matches first, then phones, then similar names. At most ``limit`` pairs; dismissed pairs
    are left out. With ``customer_id``, only pairs involving that customer."""
    return _find(user=user, customer_id=customer_id, limit=limit, max_seconds=None)[0]


@dataclass
class DuplicateReview:
    pairs: list[DuplicatePair]
    # False when the similar-name pass stopped at its time budget: more pairs may exist.
    complete: bool


def review_duplicates(
    *, user, limit: int = DEFAULT_LIMIT, max_seconds: float = 5.0, cache_seconds: int = 600
) -> DuplicateReview:
    """The pairs for the review page: like find_duplicates, but the similar-name pass stops
    after ``max_seconds`` (so a page never hangs on a million customers; the command runs it
    in full) and the result is cached until a customer or a dismissal changes."""
    watermark = (
        Customer.objects.aggregate(m=Max("updated_at"))["m"],
        AuditEntry.objects.filter(object_type=DISMISSAL_TYPE).aggregate(m=Max("id"))["m"],
    )
    # Deterministic (no hash()): the cache may be shared by several processes.
    stamp = watermark[0].isoformat() if watermark[0] else "-"
    key = f"vinculo:duplicates:{getattr(user, 'pk', None)}:{limit}:{stamp}:{watermark[1]}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    pairs, complete = _find(user=user, customer_id=None, limit=limit, max_seconds=max_seconds)
    review = DuplicateReview(pairs=pairs, complete=complete)
    cache.set(key, review, cache_seconds)
    return review


def _find(
    *, user, customer_id: int | None, limit: int, max_seconds: float | None
) -> tuple[list[DuplicatePair], bool]:
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    complete = True
    vis = _base_customers(user)
    restricted = user is not None and visibility_q(user) is not None
    dismissed = dismissed_pairs()
    pairs: dict[tuple[int, int], DuplicatePair] = {}

    def add(a: int, b: int, reason: str, score: float, detail: str) -> bool:
        key = pair_key(a, b)
        if key in dismissed or a == b:
            return len(pairs) < limit
        pair = pairs.get(key)
        if pair is None:
            if len(pairs) >= limit:
                return False
            pair = pairs[key] = DuplicatePair(a_id=key[0], b_id=key[1], detail=detail)
        if reason not in pair.reasons:
            pair.reasons.append(reason)
        pair.score = max(pair.score, score)
        return True

    budget = limit + len(dismissed)
    for model, value_field, reason in (
        (CustomerEmail, "email", REASON_EMAIL),
        (CustomerPhone, "number", REASON_PHONE),
    ):
        for a, b, value in _channel_pairs(
            model, value_field, vis, customer_id=customer_id, limit=budget, restricted=restricted
        ):
            add(a, b, reason, 100.0, value)
    if customer_id is not None:
        me = vis.filter(pk=customer_id).values("name", "city", "kind").first()
        if me:
            for other, score in _name_pairs_for(
                vis, name=me["name"], city=me["city"], kind=me["kind"], exclude_id=customer_id
            ):
                add(customer_id, other, REASON_NAME, score, "")
    elif len(pairs) < limit:
        gen = _name_pairs(vis, deadline=deadline)
        try:
            for a, b, score in gen:
                if not add(a, b, REASON_NAME, score, ""):
                    break
        except _OutOfTime:
            complete = False
        gen.close()
    order = {REASON_EMAIL: 0, REASON_PHONE: 1, REASON_NAME: 2}
    ranked = sorted(pairs.values(), key=lambda p: (order[p.reason], -p.score, p.a_id, p.b_id))
    return ranked, complete


def duplicates_of(*, user, customer_id: int) -> list[DuplicatePair]:
    """Possible duplicates of one customer (for its 360° page)."""
    return find_duplicates(user=user, customer_id=customer_id, limit=50)


def possible_matches(
    *,
    user,
    email: str = "",
    phone: str = "",
    name: str = "",
    city: str = "",
    kind: str | None = None,
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[PossibleMatch]:
    """Visible customers that may be the party described (capture forms, imports): the same
    email or phone on any channel row, or a similar name in the same city. Invalid email or
    phone values are ignored here (the capture service reports them). Best matches first."""
    vis = _base_customers(user)
    if kind:
        vis = vis.filter(kind=kind)
    found: dict[int, tuple[list[str], float]] = {}

    def add(pk: int, reason: str, score: float) -> None:
        if pk == exclude_id:
            return
        reasons, best = found.get(pk, ([], 0.0))
        if reason not in reasons:
            reasons.append(reason)
        found[pk] = (reasons, max(best, score))

    for raw, normalise, model, value_field, reason in (
        (email, normalize_email, CustomerEmail, "email", REASON_EMAIL),
        (phone, normalize_phone, CustomerPhone, "number", REASON_PHONE),
    ):
        values = _normalised(raw, normalise)
        if values:
            ids = model.objects.filter(
                **{f"{value_field}__in": values}, customer__in=vis.values("pk")
            ).values_list("customer_id", flat=True)
            for pk in ids[: limit * 5]:
                add(pk, reason, 100.0)
    if name and city:
        for pk, score in _name_pairs_for(vis, name=name, city=city, kind=kind, exclude_id=None):
            add(pk, REASON_NAME, score)
    ranked = sorted(found.items(), key=lambda kv: (-len(kv[1][0]), -kv[1][1], kv[0]))[:limit]
    customers = vis.select_related("owner", "team").in_bulk([pk for pk, _v in ranked])
    return [
        PossibleMatch(customer=customers[pk], reasons=reasons, score=score)
        for pk, (reasons, score) in ranked
        if pk in customers
    ]


def _normalised(raw: str | Iterable[str], normalise) -> list[str]:
    values = [raw] if isinstance(raw, str) else list(raw or ())
    out = []
    for value in values:
        if value and str(value).strip():
            try:
                out.append(normalise(str(value)))
            except ValidationError:
                continue
    return out
