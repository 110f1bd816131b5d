"""Reads of customers, always filtered by what the user may see."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import sees_all_customers
from vinculo.core.errors import NotFound
from vinculo.core.fast import compiled_rows
from vinculo.customers.models import Customer, CustomerWord, CustomField


def managed_team_ids(user) -> list[int]:
    """Ids of the teams ``user`` manages, read once per user object: a page asks for the
    visibility rule two or three times (decision 0014). The request's user is loaded per
    request, so a change of manager shows on the next page."""
    ids = getattr(user, "_managed_team_ids", None)
    if ids is None:
        ids = user._managed_team_ids = list(user.managed_teams.values_list("pk", flat=True))
    return ids


def visibility_branches(user) -> list[Q] | None:
    """The record-level rule, in one place: admin/marketer/analyst see all; a manager sees
    customers of the teams they manage (by the customer's team or its owner's team) and their
    own; reps and agents see what they own or their team owns. A customer is visible if it
    matches any branch; ``None`` means no restriction."""
    if sees_all_customers(user):
        return None
    return _branches(user.pk, user.team_id, managed_team_ids(user))


def _branches(owner_id: int, team_id: int | None, managed) -> list[Q]:
    branches = [Q(owner_id=owner_id)]
    if team_id:
        branches.append(Q(team_id=team_id))
    if managed:
        branches += [Q(team_id__in=managed), Q(owner__team_id__in=managed)]
    return branches


def visibility_shape(user) -> tuple[str, tuple[int, ...]]:
    """The visibility rule as a query shape and its integer arguments, for queries compiled
    once per process (core.fast.compiled_rows): the shape names what changes the SQL (sees
    all, has a team, how many managed teams), the arguments are the ids."""
    if sees_all_customers(user):
        return "all", ()
    team = (user.team_id,) if user.team_id else ()
    managed = tuple(managed_team_ids(user))
    return f"t{len(team)}m{len(managed)}", (user.pk, *team, *managed)


def _visible_by_shape(shape: str, args) -> QuerySet[Customer]:
    """``visible_customers`` rebuilt from ``visibility_shape``'s shape and arguments."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if shape == "all":
        return qs
    has_team = shape.startswith("t1")
    owner, team = args[0], args[1] if has_team else None
    q = None
    for branch in _branches(owner, team, args[1 + has_team :]):
        q = branch if q is None else q | branch
    return qs.filter(q)


def visibility_q(user) -> Q | None:
    """``visibility_branches`` OR-ed into one condition (``None``: no restriction)."""
    branches = visibility_branches(user)
    if branches is None:
        return None
    q = branches[0]
    for branch in branches[1:]:
        q |= branch
    return q


def visible_customers(user) -> QuerySet[Customer]:
    """Customers ``user`` may see; merged-away records are never listed."""
    qs = Customer.objects.filter(merged_into__isnull=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    q = visibility_q(user)
    return qs if q is None else qs.filter(q)


def customer_for_user(*, user, pk) -> Customer:
    """One customer the user may see, or NotFound (hidden and missing look alike)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotFound(_("Customer not found."))
    shape, args = visibility_shape(user)

    def build(pk, *visibility):
        # The organization is shown by name: its attributes' and scores' JSON are not
        # decoded (they load on first use if a caller needs them).
        return (
            _visible_by_shape(shape, visibility)
            .select_related("owner", "team", "organization")
            .defer("organization__attributes", "organization__scores")
            .filter(pk=pk)
        )

    try:
        # Compiled once per visibility shape and process (core.fast.compiled_rows).
        rows = compiled_rows(f"customer_for_user:{shape}", build, pk, *args)
    except (ValueError, TypeError):
        rows = []
    if not rows:
        raise NotFound(_("Customer not found."))
    return rows[0]


SORTABLE = {
    # A search's default order: the most recently added matches first. SQLite's full-text
    # index hands its matches over in that order, so a page reads ~50 matches, not all of
    # them (a first name matches 11k customers at 1M; decision 0014).
    "recent": "-pk",
    "name": "name",
    "-name": "-name",
    "created": "created_at",
    "-created": "-created_at",
    "last_contact": "last_contact_at",
    "-last_contact": "-last_contact_at",
    "stage": "stage",
    "-stage": "-stage",
    "city": "city",
    "-city": "-city",
}


@dataclass
class CustomerFilters:
    """What a list, an export or the API can filter on. Empty values mean "any"."""

    q: str = ""
    kind: str = ""
    stage: str = ""
    owner_id: int | None = None
    team_id: int | None = None
    tag: str = ""
    city: str = ""
    country: str = ""
    source: str = ""
    organization_id: int | None = None
    # {custom field key: value}; for multi_choice fields the value must be one of the list.
    attributes: dict[str, str] = field(default_factory=dict)
    sort: str = "name"


def filter_customers(qs: QuerySet[Customer], f: CustomerFilters) -> QuerySet[Customer]:
    if f.q:
        qs = search_filter(qs, f.q)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.team_id:
        qs = qs.filter(team_id=f.team_id)
    if f.tag:
        qs = qs.filter(tags__name=f.tag)
    if f.city:
        # lower(city) = ..., not iexact: SQLite turns iexact into LIKE, which no index answers,
        # and a city nobody lives in then reads every visible row (decision 0013).
        qs = qs.alias(city_lower=Lower("city")).filter(city_lower=f.city.lower())
    if f.country:
        qs = qs.filter(country=f.country.upper())
    if f.source:
        qs = qs.filter(source=f.source)
    if f.organization_id:
        qs = qs.filter(organization_id=f.organization_id)
    if f.attributes:
        defs = {
            cf.key: cf for cf in CustomField.objects.filter(key__in=list(f.attributes), active=True)
        }
        for key, value in f.attributes.items():
            cf = defs.get(key)
            if cf is None or value in ("", None):
                continue
            if cf.type == CustomField.Type.MULTI_CHOICE:
                qs = (
                    qs.filter(**{f"attributes__{key}__contains": [value]})
                    if _json_contains()
                    else qs.filter(**{f"attributes__{key}__icontains": f'"{value}"'})
                )
            elif cf.type == CustomField.Type.BOOLEAN:
                qs = qs.filter(**{f"attributes__{key}": str(value).lower() in {"1", "true", "yes"}})
            elif cf.type == CustomField.Type.NUMBER:
                try:
                    qs = qs.filter(**{f"attributes__{key}": float(value)})
                except ValueError:
                    qs = qs.none()
            else:
                qs = qs.filter(**{f"attributes__{key}": value})
    sort = SORTABLE.get(f.sort, "name")
    if f.city and sort.lstrip("-") == "city":
        # Every row is in that city: by name, not by id, and from the name indexes. In city
        # order PostgreSQL walked the city index from "A" to the filtered city, checking the
        # filter on every row before it (4 s for Madrid at 1M).
        sort = "-name" if sort.startswith("-") else "name"
    return qs.order_by(sort) if sort == "-pk" else qs.order_by(sort, "pk")


# Past this many rows before the page's end, the per-branch reads cost more than one query.
BRANCH_PAGE_MAX = 2_000
# A filter matching fewer rows than this is answered by one query sorting its matches.
FILTER_SORT_MAX = 5_000


# What a list row shows (customers.list_rows) and sorts by, and the owner's name: loading every
# column (custom fields' JSON, audit fields) and the owner's whole row for 51 customers was
# a third of the filtered list's CPU at 1M.
LIST_COLUMNS = (
    "id",
    "name",
    "kind",
    "company_name",
    "email",
    "phone",
    "city",
    "stage",
    "owner_id",
    "last_contact_at",
    "created_at",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)


def _listed(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("owner").only(*LIST_COLUMNS)


def _listed_in_order(page: list[int]) -> list[Customer]:
    """The list rows of the customers ``page`` names, in its order (one deleted meanwhile is
    left out)."""
    rows = _listed(Customer.objects.filter(pk__in=page)).in_bulk()
    return [rows[pk] for pk in page if pk in rows]


def customer_page(user, f: CustomerFilters, *, offset: int, limit: int) -> list[Customer]:
    """Rows ``offset``..``offset + limit`` of the customers ``user`` may see matching ``f``, in
    the list's order, with their owner.

    "Owner = me OR team = mine" in one query cannot be read in sort order from any index, so
    the database sorts every visible row (hundreds of thousands at 1M customers) to return 50.
    Instead each branch of the rule is read on its own, in order and limited, from its
    (owner|team, sort) index; the page is the top of their union, ordered again by the
    database (the same NULL ordering as a single query). Decision 0013."""
    from vinculo.customers import search

    end = offset + limit
    if f.q and f.sort == "recent" and search.backend() == "fts5":
        return _listed_in_order(_recent_matches(user, f, offset=offset, end=end))
    if f.q:
        ids = search.matching_ids(f.q)
        if ids is not None:
            # Few matches: read them by id and sort them, whatever the visibility rule.
            page = _page_of_ids(user, replace(f, q=""), ids, offset=offset, end=end)
            return _listed_in_order(page)
        if search.backend() == "trigram":
            page = _word_page(user, f, offset=offset, end=end)
            if page is not None:
                return _listed_in_order(page)
            # PostgreSQL: the word index's matches, sorted (not an index walk): walking the
            # (owner, name) index checking each row took 0.6 s for a first name. Most recent
            # first, the planner may walk the primary key backwards instead, which it does
            # for common words ("+34 6": 767 -> 1.4 ms, "maria" 27 -> 10 ms at 1M) and not for
            # rare ones, where the index's few matches are cheaper (decision 0014).
            qs = filter_customers(visible_customers(user), f)
            if f.sort != "recent":
                qs = search.sorted_without_index(qs)
            return search.pg_search_rows(_listed(qs)[offset:end])
    branches = visibility_branches(user)
    single = branches is None or len(branches) == 1 or end > BRANCH_PAGE_MAX
    if not single and _probe_filter() and replace(f, q="", sort="") != CustomerFilters(sort=""):
        # A rare filter value (a city nobody lives in) would make each branch walk its whole
        # sort index; a common one ("Madrid": 17%) would make one query sort 100k+ rows. Ask
        # how many rows match, up to a cap: few, one query sorts them; many, the branch walks
        # end soon (decision 0013).
        matching = filter_customers(Customer.objects.filter(merged_into__isnull=True), f)
        single = matching.order_by()[:FILTER_SORT_MAX].count() < FILTER_SORT_MAX
    if single:
        qs = filter_customers(visible_customers(user), f)
        return list(_listed(qs)[offset:end])
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    base = Customer.objects.filter(merged_into__isnull=True)
    pks: set[int] = set()
    order: tuple = ()
    for branch in branches:
        part = filter_customers(base.filter(branch), f)
        order = part.query.order_by
        pks.update(part.values_list("pk", flat=True)[:end])
    if not pks:
        return []
    rows = _listed(Customer.objects.filter(pk__in=pks).order_by(*order))
    return list(rows[offset:end])


# A one-word search's orders the word table answers, as its own columns.
WORD_PAGE_ORDER = {
    "recent": ("-customer_id",),
    "name": ("name", "customer_id"),
    "-name": ("-name", "customer_id"),
}


def _word_page(user, f: CustomerFilters, *, offset: int, end: int) -> list[int] | None:
    """Ids ``offset``..``end`` of a one-word search (PostgreSQL), most recent or by name, from
    the word table: the word's prefix is a range of an index that also holds each customer's
    name, owner and team, so the matches are found, checked against the visibility rule and
    sorted without reading a customer row ("garc" most recent first at 1M: 9.7 -> 1.0 ms;
    "maria" by name 18 -> 5 ms). ``None`` when the search has several words, other filters or
    another order, or asks for a common word most recent first: the customer table answers
    those (decision 0018)."""
    from vinculo.customers import search

    word = search.single_word(f.q)
    order = WORD_PAGE_ORDER.get(f.sort)
    if word is None or order is None or replace(f, q="", sort="") != CustomerFilters(sort=""):
        return None
    if f.sort == "recent" and search.common_prefix(word):
        return None  # the customer table's newest rows hold a page of matches
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    qs = CustomerWord.objects.filter(word__startswith=word)
    visibility = visibility_q(user)
    if visibility is not None:
        qs = qs.filter(visibility)
    # A customer with two words starting with the prefix is listed once (one name, one id).
    fields = ("customer_id",) if f.sort == "recent" else ("name", "customer_id")
    qs = qs.order_by(*order).values_list(*fields).distinct()
    return [row[-1] for row in qs[offset:end]]


def _page_of_ids(user, f: CustomerFilters, ids: list[int], *, offset: int, end: int) -> list:
    """Ids ``offset``..``end`` in the list's order of the customers among ``ids`` (up to
    search.FTS_IDS_MAX of them, SQLite only) that ``user`` may see and ``f`` keeps.

    The ids travel as one JSON parameter (``json_each``): 11k literal ids cost Django ~40 ms
    of Python to bind (in chunks of 999). ``NOT INDEXED`` keeps SQLite from walking the
    owner/team index of every customer the user sees and probing the list; the rows are
    looked up by rowid from the list instead, then sorted (decision 0014)."""
    import json

    from django.db import connection
    from django.db.models.expressions import RawSQL

    listed = RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])
    qs = filter_customers(visible_customers(user).filter(pk__in=listed), f)
    sql, params = qs.values_list("pk", flat=True)[offset:end].query.sql_with_params()
    table = f'FROM "{Customer._meta.db_table}"'
    sql = sql.replace(table, f"{table} NOT INDEXED", 1)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


def _recent_matches(user, f: CustomerFilters, *, offset: int, end: int) -> list[int]:
    """Ids ``offset``..``end`` of the customers matching the search ``f.q`` that ``user`` may
    see and the other filters keep, most recently added first (SQLite). The full-text index
    is read in descending rowid order and each match checked against the rest of the WHERE
    clause until the page is full: ~2 ms for "maria" (11k matches) at 1M, where sorting every
    visible match by name cost 12-30 ms."""
    from vinculo.customers import search

    query = search.fts_query(f.q)
    if not query:
        return []
    table = search.FTS_TABLE
    qs = filter_customers(visible_customers(user), replace(f, q="", sort="recent")).extra(
        tables=[table],
        where=[f'"{Customer._meta.db_table}"."id" = {table}.rowid', f"{table} MATCH %s"],
        params=[query],
        select={"fts_rowid": f"{table}.rowid"},
        order_by=["-fts_rowid"],
    )
    return list(qs.values_list("pk", flat=True)[offset:end])


def _probe_filter() -> bool:
    """Whether a filtered list first counts its matches to choose between one sorted query
    and the branch walks: SQLite only. PostgreSQL has statistics (the expression index gives
    ``lower(city)`` its own) and chooses per branch between walking the branch's sort index
    and sorting a rare value's matches; the count read up to 5,000 matching rows by
    ``lower(city)``, checking each row's stage in the table (35 ms of the 51 for "customers
    in Madrid" at 1M, decision 0014)."""
    from django.db import connection

    return connection.vendor != "postgresql"


def _json_contains() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def search_filter(qs: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Match name, email, phone, company or external id. Replaced by the full-text index
    (customers.search) where available; this is the portable fallback."""
    from vinculo.customers import search

    return search.apply(qs, text)
