"""Customer search by name, company, email, phone and external id, fast at 1M rows.

Both backends answer the same question: every word of the query is a *prefix* of some word
of the customer's name, company, email, phone digits or external id (accents and case
ignored, so "jose garc" finds "José García"). A query that looks like a phone number (≥4
digits and only phone punctuation) is matched on the digits alone, with or without the
country code ("+34 612" and "612 34" both find +34612345678).

- SQLite: an FTS5 external-content table ``customers_customer_fts`` kept in step by triggers
  (migration 0002), tokenizer ``unicode61 remove_diacritics 2`` and prefix indexes.
- PostgreSQL: ``search_doc``, a column kept by trigger with ``vinculo_customer_search_doc(...)``
  (an IMMUTABLE SQL function that folds accents with unaccent and keeps one space-separated
  word per token), and ``search_words``, its words as a tsvector. The list search matches
  word prefixes against ``search_words`` (GIN index, ``'garc':*``); the header's quick search
  asks ``search_doc`` for names *starting* with the query (``LIKE ' jo%'``, a range of a btree
  index), then for any word starting with it (``LIKE '% jo%'``, through the GIN trigram index
  or by reading rows until it has a handful).
- Anything else: the portable ``icontains`` fallback.

``apply(qs, text)`` filters a queryset the caller has already restricted (visibility stays
applied). ``quick(qs, text)`` is the header's as-you-type variant: a handful of rows, those
whose name starts with the query first, with bounded work however common the prefix.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, Expression, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from vinculo.core.normalize import fold
from vinculo.core.process_cache import ProcessCache

FTS_TABLE = "customers_customer_fts"
PG_DOC = "vinculo_customer_search_doc"
# Words are runs of letters/digits, like FTS5's unicode61 tokenizer.
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_PHONE_RE = re.compile(r"^[\d\s+().\-/]+$")
MAX_TERMS = 6


def terms(text: str) -> list[str]:
    """The folded words of a query ("José-Luis  GARCÍA" -> ["jose", "luis", "garcia"])."""
    return _WORD_RE.findall(fold(text))[:MAX_TERMS]


def phone_digits(text: str) -> str:
    """The digits of a phone-looking query with ≥4 digits, else ""."""
    text = (text or "").strip()
    if not _PHONE_RE.match(text):
        return ""
    digits = "".join(c for c in text if c.isdigit())
    return digits if len(digits) >= 4 else ""


def backend() -> str:
    if connection.vendor == "sqlite" and sqlite_index_exists():
        return "fts5"
    if connection.vendor == "postgresql":
        return "trigram"
    return "portable"


_fts_checked: dict[str, bool] = {}


def sqlite_index_exists() -> bool:
    key = str(connection.settings_dict.get("NAME"))
    if not _fts_checked.get(key):
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=%s", [FTS_TABLE])
            # Only remember a positive answer: the table appears once migrations have run.
            _fts_checked[key] = cur.fetchone() is not None
    return _fts_checked[key]


# --- query builders ------------------------------------------------------------------------


def _fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts_query(text: str, *, name_prefix: bool = False) -> str:
    """FTS5 MATCH expression: every word as a prefix (AND). With ``name_prefix`` the first word
    must start the name (``name : ^"jo"*``)."""
    digits = phone_digits(text)
    if digits:
        return f"phone : {_fts_quote(digits)}*"
    words = terms(text)
    if not words:
        return ""
    parts = [f"{_fts_quote(w)}*" for w in words]
    if name_prefix:
        parts[0] = f"name : ^{parts[0]}"
    return " AND ".join(parts)


class _SearchDoc(Expression):
    """The ``search_doc`` column that PostgreSQL keeps by trigger (not a model field: it is
    derived data, like the SQLite FTS table), qualified with the query's base alias."""

    output_field = TextField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.search_doc", []


class _WordsMatch(Expression):
    """``search_words @@ to_tsquery('simple', '<w1>':* & '<w2>':* ...)``: every word of the
    query is a prefix of a word of the document (the ``search_words`` tsvector, kept by the
    same trigger as ``search_doc``)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, words: list[str]):
        super().__init__()
        # Words are runs of letters and digits (terms(), phone_digits()): nothing in them is
        # tsquery syntax, and each stays one lexeme ('simple' parses it whole).
        self.query = " & ".join(f"'{w}':*" for w in words)

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{alias}.search_words @@ to_tsquery('simple'::regconfig, %s)", [self.query]


def _pg_filter(
    qs: QuerySet, text: str, *, name_prefix: bool = False, words_index: bool = True
) -> QuerySet:
    digits = phone_digits(text)
    words = [digits] if digits else terms(text)
    if not words:
        return qs.none()
    if words_index and not name_prefix:
        # The word index answers "garc" from the lexemes starting with it (3,851 rows at
        # 1M), where the trigram index hands over every row holding " ga", "gar" and "arc"
        # to recheck; and a row's stored tsvector is cheap to test, so walking the list's
        # sort index stays an option for the planner when a word is common ("maria").
        return qs.filter(_WordsMatch(words))
    qs = qs.alias(_search_doc=_SearchDoc())
    for i, w in enumerate(words):
        if name_prefix and i == 0 and not digits:
            # The document starts with " <name>": " jo%" is "the name starts with jo".
            qs = qs.filter(_search_doc__startswith=f" {w}")
        else:
            qs = qs.filter(_search_doc__contains=f" {w}")
    return qs


# --- public API --------------------------------------------------------------------------


def sorted_without_index(qs: QuerySet) -> QuerySet:
    """``qs`` in the same order, through expressions no index matches (PostgreSQL list
    search). Ordered by name, the planner walks the (owner, name) index filtering each row by
    the trigram condition, expecting matches early; a first name sorts late ("María": 200k
    rows walked, 0.6 s at 1M). Unable to walk an index, it takes the trigram index's matches
    and sorts them (top-N): 30-130 ms. ``COALESCE(x, x)`` keeps the NULL ordering of ``x``
    (decision 0014)."""
    from django.db.models import F
    from django.db.models.functions import Coalesce

    order = []
    for name in qs.query.order_by:
        field = name.lstrip("-")
        if field == "pk":
            order.append(name)
            continue
        expr = Coalesce(F(field), F(field))
        order.append(expr.desc() if name.startswith("-") else expr.asc())
    return qs.order_by(*order)


def apply(qs: QuerySet, text: str) -> QuerySet:
    """``qs`` filtered to customers matching ``text`` (all of its words)."""
    text = (text or "").strip()
    if not text:
        return qs
    kind = backend()
    if kind == "fts5":
        query = fts_query(text)
        if not query:
            return qs.none()
        return qs.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [query])
        )
    if kind == "trigram":
        return _pg_filter(qs, text)
    return portable(qs, text)


# The planner's cost of a random page read while it plans a PostgreSQL list search. With the
# default (4, a spinning disk) it walks the primary key backwards testing every row for a
# rare word too: "garc" (3,851 matches at 1M) read 30k rows, 11.6 ms; priced as the cached or
# SSD read it is, it takes the word index's matches for a rare word (7.6 ms) and still walks
# the key for a common one ("maria": 4.9 ms either way). Decision 0017.
PG_SEARCH_RANDOM_PAGE_COST = "1.1"


def pg_search_rows(qs: QuerySet) -> list:
    """``list(qs)`` for a PostgreSQL list search, planned with PG_SEARCH_RANDOM_PAGE_COST
    (set for this one statement: reset after it, whatever happens)."""
    from django.db import DatabaseError, connections

    conn = connections[qs.db]
    with conn.cursor() as cursor:
        cursor.execute(f"SET random_page_cost = {PG_SEARCH_RANDOM_PAGE_COST}")
    try:
        return list(qs)
    finally:
        try:
            with conn.cursor() as cursor:
                cursor.execute("RESET random_page_cost")
        except DatabaseError:  # an aborted transaction: its rollback undoes the SET
            pass


# Up to this many matches, a list search on SQLite filters by the literal ids (looked up by
# primary key, then sorted) instead of walking a sort index probing the match list.
FTS_IDS_MAX = 20_000


def matching_ids(text: str, *, cap: int = FTS_IDS_MAX) -> list[int] | None:
    """The ids of every customer matching ``text`` when the SQLite index has at most ``cap``
    of them; ``None`` when there are more or another backend answers (callers then use
    ``apply``). A rare word ("maria": 11k of 1M) would otherwise make SQLite walk a visibility
    index in name order until the page is full: most of that index (decision 0013)."""
    if backend() != "fts5":
        return None
    query = fts_query((text or "").strip())
    if not query:
        return []
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s", [query, cap + 1]
        )
        ids = [row[0] for row in cur.fetchall()]
    return None if len(ids) > cap else ids


def portable(qs: QuerySet, text: str) -> QuerySet:
    """The naive fallback (and the benchmark's baseline): icontains over the columns."""
    digits = "".join(c for c in text if c.isdigit())
    q = (
        Q(name__icontains=text)
        | Q(email__istartswith=text)
        | Q(company_name__icontains=text)
        | Q(external_id=text)
    )
    if len(digits) >= 4:
        q |= Q(phone__contains=digits)
    return qs.filter(q)


def _name_prefix(qs: QuerySet, text: str) -> QuerySet:
    kind = backend()
    if kind == "fts5":
        query = fts_query(text, name_prefix=True)
        return qs.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [query])
        )
    if kind == "trigram":
        return _pg_filter(qs, text, name_prefix=True)
    first = terms(text)[0]
    return qs.filter(name__istartswith=first)


def quick(qs: QuerySet, text: str, *, limit: int = 8) -> list:
    """Up to ``limit`` matches for as-you-type search: names starting with the query first,
    then other matches, each group by name. No ORDER BY in SQL, so the database stops after
    ``limit`` rows instead of sorting every match of a one-letter prefix."""
    text = (text or "").strip()
    if not text or not (terms(text) or phone_digits(text)):
        return []
    qs = qs.order_by()
    fts = backend() == "fts5"
    first: list = []
    # A query starting with a number is not a name: the name-prefix pass would only make FTS
    # filter every phone token starting with those digits by column and position. Nor is one
    # with "@" (an email): on PostgreSQL " info%" rechecked every document holding "info"
    # (94 ms at 1M) to find no name.
    if not phone_digits(text) and not terms(text)[0].isdigit() and "@" not in text:
        if fts:
            first = _fts_rows(qs, fts_query(text, name_prefix=True), limit)
        else:
            first = list(_name_prefix(qs, text)[:limit])
        first.sort(key=lambda c: (fold(c.name), c.pk))
    rest: list = []
    if len(first) < limit:
        seen = {c.pk for c in first}
        if fts:
            rest = _fts_rows(qs, fts_query(text), limit - len(first), exclude=seen)
        elif backend() == "trigram":
            # Unordered and limited, the planner reads rows until it has enough, or takes an
            # index's matches for a rare prefix. One word: the word index ("612": 3.5 ms at
            # 1M, 27 on the trigram index). Several: LIKE per word, the trigram index
            # ("34 6" on the word index: two very common prefixes whose combined share the
            # planner underestimated, 0.5 s).
            one_word = bool(phone_digits(text)) or len(terms(text)) == 1
            matches = _pg_filter(qs, text, words_index=one_word)
            rest = list(matches.exclude(pk__in=seen)[: limit - len(first)])
        else:
            rest = list(apply(qs, text).exclude(pk__in=seen)[: limit - len(first)])
        rest.sort(key=lambda c: (fold(c.name), c.pk))
    return first + rest


FTS_CHUNK_FIRST = 256
FTS_CHUNK_MAX = 4096


def _fts_rows(qs: QuerySet, query: str, limit: int, *, exclude: set | frozenset = frozenset()):
    """Up to ``limit`` rows of ``qs`` matching the FTS ``query``, reading the matches in growing
    chunks of rowids. ``pk IN (SELECT rowid ... MATCH)`` lets SQLite walk a visibility index
    (hundreds of thousands of rows) probing a list of every match (a million for "+34 6"):
    seconds. A chunk of literal ids is looked up by primary key, and a common prefix stops
    after the first chunk (decision 0013)."""
    if not query or limit <= 0:
        return []
    found: list = []
    offset, chunk = 0, FTS_CHUNK_FIRST
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s OFFSET %s"
    while len(found) < limit:
        with connection.cursor() as cur:
            cur.execute(sql, [query, chunk, offset])
            ids = [row[0] for row in cur.fetchall()]
        wanted = [pk for pk in ids if pk not in exclude]
        if wanted:
            found += list(qs.filter(pk__in=wanted)[: limit - len(found)])
        if len(ids) < chunk:
            break
        offset += chunk
        chunk = min(chunk * 4, FTS_CHUNK_MAX)
    return found


# --- index maintenance (SQLite) ------------------------------------------------------------

# The FTS row of a customer. Column names match customers_customer (external content), but
# ``phone`` holds the digits with and without the country code (1-3 digits), so a local
# number matches too. Triggers and the bulk rebuild use these same expressions: an FTS5
# 'delete' must be given exactly the values that were indexed.
_FTS_VALUES = (
    "{p}.name, {p}.company_name, {p}.email, "
    "CASE WHEN {p}.phone = '' THEN '' ELSE "
    "replace({p}.phone, '+', '') || ' ' || substr(replace({p}.phone, '+', ''), 2) || ' ' || "
    "substr(replace({p}.phone, '+', ''), 3) || ' ' || substr(replace({p}.phone, '+', ''), 4) "
    "END, coalesce({p}.external_id, '')"
)
_FTS_COLS = "name, company_name, email, phone, external_id"

SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        {_FTS_COLS},
        content='customers_customer', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')""",
]
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ai AFTER INSERT ON customers_customer
    BEGIN
        INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLS}) VALUES (new.id, {_FTS_VALUES.format(p="new")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_ad AFTER DELETE ON customers_customer
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLS})
        VALUES ('delete', old.id, {_FTS_VALUES.format(p="old")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS customers_customer_fts_au
    AFTER UPDATE OF name, company_name, email, phone, external_id ON customers_customer
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLS})
        VALUES ('delete', old.id, {_FTS_VALUES.format(p="old")});
        INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLS}) VALUES (new.id, {_FTS_VALUES.format(p="new")});
    END""",
]
SQLITE_TRIGGER_NAMES = (
    "customers_customer_fts_ai",
    "customers_customer_fts_ad",
    "customers_customer_fts_au",
)
SQLITE_DROP = [
    *(f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGER_NAMES),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def sqlite_rebuild(cursor) -> None:
    """Re-index every customer (after a bulk load with triggers off, or if in doubt)."""
    cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
    cursor.execute(
        f"INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLS}) "
        f"SELECT id, {_FTS_VALUES.format(p='c')} FROM customers_customer c"
    )


def sqlite_drop_triggers(cursor) -> None:
    for name in SQLITE_TRIGGER_NAMES:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def sqlite_ensure(cursor, *, rebuild_if_missing: bool = True) -> bool:
    """Create the FTS table and triggers if missing (idempotent). A table rebuild by a later
    migration drops the triggers with the old table: re-creating them also re-indexes.
    Returns True when something had to be (re)created."""
    cursor.execute(
        "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name IN (%s, %s, %s)",
        list(SQLITE_TRIGGER_NAMES),
    )
    missing = cursor.fetchone()[0] != len(SQLITE_TRIGGER_NAMES)
    for sql in SQLITE_CREATE + SQLITE_TRIGGERS:
        cursor.execute(sql)
    if missing and rebuild_if_missing:
        sqlite_rebuild(cursor)
    return missing


# --- index maintenance (PostgreSQL) --------------------------------------------------------

PG_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # IMMUTABLE so it can be indexed: the dictionary is named explicitly (unaccent(text) alone
    # depends on search_path and is only STABLE).
    f"""CREATE OR REPLACE FUNCTION {PG_DOC}(
            p_name text, p_company text, p_email text, p_phone text, p_external_id text)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT ' ' || trim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary,
                   coalesce(p_name, '') || ' ' || coalesce(p_company, '') || ' ' ||
                   coalesce(p_email, '') || ' ' || coalesce(p_external_id, ''))),
                   '[^[:alnum:]]+', ' ', 'g'))
            || CASE WHEN coalesce(p_phone, '') = '' THEN '' ELSE
               ' ' || replace(p_phone, '+', '') || ' ' || substr(replace(p_phone, '+', ''), 2)
               || ' ' || substr(replace(p_phone, '+', ''), 3)
               || ' ' || substr(replace(p_phone, '+', ''), 4) END
        $$""",
    # Evaluating the function per row at query time costs ~50 µs a row: keep its result in a
    # column written by trigger (a GENERATED column would block later ALTERs of these fields).
    "ALTER TABLE customers_customer ADD COLUMN IF NOT EXISTS search_doc text NOT NULL DEFAULT ''",
    # The document's words as a tsvector (one lexeme per word, 'simple': no stemming, no stop
    # words), for the list search's word-prefix match (see _pg_filter).
    "ALTER TABLE customers_customer ADD COLUMN IF NOT EXISTS search_words tsvector",
    f"""CREATE OR REPLACE FUNCTION {PG_DOC}_trg() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.search_doc := {PG_DOC}(
                NEW.name, NEW.company_name, NEW.email, NEW.phone, NEW.external_id);
            NEW.search_words := to_tsvector('simple'::regconfig, NEW.search_doc);
            RETURN NEW;
        END $$""",
    "DROP TRIGGER IF EXISTS customers_customer_search_doc ON customers_customer",
    f"""CREATE TRIGGER customers_customer_search_doc
        BEFORE INSERT OR UPDATE OF name, company_name, email, phone, external_id
        ON customers_customer FOR EACH ROW EXECUTE FUNCTION {PG_DOC}_trg()""",
    "DROP INDEX IF EXISTS customer_search_trgm",
]
PG_INDEX = [
    "CREATE INDEX IF NOT EXISTS customer_search_doc_trgm ON customers_customer "
    "USING gin (search_doc gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_search_words ON customers_customer "
    "USING gin (search_words)",
    # "The name starts with": LIKE ' gar%' as a range of this index, read until the few rows
    # asked for are found (0.3 ms at 1M; the trigram index built a 12k-row bitmap, 20 ms).
    "CREATE INDEX IF NOT EXISTS customer_search_doc_prefix ON customers_customer "
    "(search_doc text_pattern_ops)",
]
PG_BACKFILL = [
    f"""UPDATE customers_customer
    SET search_doc = {PG_DOC}(name, company_name, email, phone, external_id)
    WHERE search_doc = ''""",
    """UPDATE customers_customer SET search_words = to_tsvector('simple'::regconfig, search_doc)
    WHERE search_words IS NULL""",
]
PG_INDEX_NAMES = ("customer_search_doc_trgm", "customer_search_words", "customer_search_doc_prefix")


def pg_ensure(cursor) -> None:
    """Create (or upgrade to) the current PostgreSQL search objects; idempotent."""
    for sql in PG_CREATE + PG_BACKFILL + PG_INDEX:
        cursor.execute(sql)


PG_DROP = [
    *(f"DROP INDEX IF EXISTS {name}" for name in PG_INDEX_NAMES),
    "DROP TRIGGER IF EXISTS customers_customer_search_doc ON customers_customer",
    f"DROP FUNCTION IF EXISTS {PG_DOC}_trg()",
    "ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_words",
    "ALTER TABLE customers_customer DROP COLUMN IF EXISTS search_doc",
    f"DROP FUNCTION IF EXISTS {PG_DOC}(text, text, text, text, text)",
]


# --- the word table (PostgreSQL) -----------------------------------------------------------
# customers_customerword (models.CustomerWord): one row per word of each live customer's
# search_words, with the customer's name, owner and team, kept by the triggers below. A
# one-word list search (most recent first or by name; selectors._word_page) reads a word
# prefix as a range of one btree index that holds the name and the visibility columns too (an
# index-only scan), instead of visiting every match's customer row to test its owner and read
# its name: "garc" most recent first at 1M 9.7 -> 1.0 ms, "maria" by name 18 -> 5 ms.
# Decision 0018.

WORD_TABLE = "customers_customerword"
# Longer words are kept as their first WORD_MAX characters: a btree entry has a size limit,
# and a prefix query of at most WORD_MAX characters matches the cut word as it would the whole.
WORD_MAX = 200
PG_WORDS_FUNCTION = "vinculo_customer_words_trg"
PG_WORDS_TRIGGERS = (
    "customers_customer_words_ins",
    "customers_customer_words_upd",
    "customers_customer_words_del",
)
PG_WORDS_INDEX = "customer_word_prefix"
_WORDS_OF = f"""SELECT DISTINCT left(w, {WORD_MAX}) AS word
    FROM unnest(tsvector_to_array({{doc}})) AS w"""
PG_WORDS_CREATE = [
    f"""CREATE OR REPLACE FUNCTION {PG_WORDS_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                DELETE FROM {WORD_TABLE} WHERE customer_id = OLD.id;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.merged_into_id IS NULL THEN
                INSERT INTO {WORD_TABLE} (customer_id, word, name, owner_id, team_id)
                SELECT NEW.id, words.word, NEW.name, NEW.owner_id, NEW.team_id
                FROM ({_WORDS_OF.format(doc="NEW.search_words")}) AS words;
            END IF;
            RETURN NULL;
        END $$""",
    *(f"DROP TRIGGER IF EXISTS {name} ON customers_customer" for name in PG_WORDS_TRIGGERS),
    f"""CREATE TRIGGER {PG_WORDS_TRIGGERS[0]} AFTER INSERT ON customers_customer
        FOR EACH ROW WHEN (NEW.merged_into_id IS NULL) EXECUTE FUNCTION {PG_WORDS_FUNCTION}()""",
    # Only when something the table holds changes: an interaction's last_contact_at or a
    # stage change leaves the words alone.
    f"""CREATE TRIGGER {PG_WORDS_TRIGGERS[1]} AFTER UPDATE ON customers_customer
        FOR EACH ROW WHEN (
            OLD.search_words IS DISTINCT FROM NEW.search_words
            OR OLD.name IS DISTINCT FROM NEW.name
            OR OLD.owner_id IS DISTINCT FROM NEW.owner_id
            OR OLD.team_id IS DISTINCT FROM NEW.team_id
            OR OLD.merged_into_id IS DISTINCT FROM NEW.merged_into_id
            OR OLD.id <> NEW.id)
        EXECUTE FUNCTION {PG_WORDS_FUNCTION}()""",
    f"""CREATE TRIGGER {PG_WORDS_TRIGGERS[2]} AFTER DELETE ON customers_customer
        FOR EACH ROW EXECUTE FUNCTION {PG_WORDS_FUNCTION}()""",
]
PG_WORDS_FILL = [
    f"TRUNCATE {WORD_TABLE}",
    f"""INSERT INTO {WORD_TABLE} (customer_id, word, name, owner_id, team_id)
    SELECT c.id, words.word, c.name, c.owner_id, c.team_id
    FROM customers_customer c
    CROSS JOIN LATERAL ({_WORDS_OF.format(doc="c.search_words")}) AS words
    WHERE c.merged_into_id IS NULL""",
]
PG_WORDS_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {PG_WORDS_INDEX} ON {WORD_TABLE} "
    "(word text_pattern_ops, name, customer_id) INCLUDE (owner_id, team_id)"
)


def pg_words_ensure(cursor, *, fill: bool) -> None:
    """Create the word table's triggers and index (idempotent); with ``fill``, first rebuild
    its rows from every live customer (after a bulk load made without the triggers, or when
    the table is new)."""
    if fill:
        cursor.execute(f"DROP INDEX IF EXISTS {PG_WORDS_INDEX}")
        for sql in PG_WORDS_FILL:
            cursor.execute(sql)
    for sql in [*PG_WORDS_CREATE, PG_WORDS_INDEX_SQL]:
        cursor.execute(sql)


def pg_words_suspend(cursor) -> None:
    """Before a bulk load: no word triggers nor index (``pg_words_ensure(fill=True)`` after)."""
    for name in PG_WORDS_TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON customers_customer")
    cursor.execute(f"DROP INDEX IF EXISTS {PG_WORDS_INDEX}")


def pg_words_drop(cursor) -> None:
    pg_words_suspend(cursor)
    cursor.execute(f"DROP FUNCTION IF EXISTS {PG_WORDS_FUNCTION}()")


# A word prefix with at least this many entries (estimated from PostgreSQL's statistics),
# listed most recent first, is answered from the customer table instead: its matches are
# dense enough that walking the primary key from the newest customer finds a page sooner
# than the word table reads and sorts them all. At 1M (estimate: word table / customer walk)
# "juan" 10.3k: 11.8 / 2.8 ms, "maria" 8.7k: 4.2 / 3.3, "luis" 8.7k: 2.7 / 3.3, "gomez"
# 6.6k: 1.6 / 6.5, "garc" 6.2k: 1.0 / 9.7 (decision 0018).
WORD_WALK_MIN = 8_000


def _word_frequencies() -> dict[str, int]:
    """The word table's most common words (PostgreSQL's statistics: up to 100 with the
    default statistics target) and about how many entries each has; empty before the table's
    first ANALYZE (autovacuum runs it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.most_common_vals::text::text[], s.most_common_freqs, c.reltuples
            FROM pg_stats s JOIN pg_class c ON c.oid = %s::regclass
            WHERE s.schemaname = current_schema() AND s.tablename = %s AND s.attname = 'word'""",
            [WORD_TABLE, WORD_TABLE],
        )
        row = cursor.fetchone()
    if not row or not row[0]:
        return {}
    words, freqs, total = row
    return {w: int(f * max(total, 0)) for w, f in zip(words, freqs, strict=False)}


_frequencies = ProcessCache("search.word_frequencies", _word_frequencies, models=(), ttl=600)


def common_prefix(word: str) -> bool:
    """Whether ``word`` starts words that fill at least WORD_WALK_MIN entries of the word
    table (counting only the statistics' most common words: a lower bound)."""
    return sum(n for w, n in _frequencies.get().items() if w.startswith(word)) >= WORD_WALK_MIN


def single_word(text: str) -> str | None:
    """The one word a list search asks for (or a phone query's digits), cut to WORD_MAX; None
    when it has several words or none."""
    digits = phone_digits(text)
    words = [digits] if digits else terms(text)
    return words[0][:WORD_MAX] if len(words) == 1 else None
