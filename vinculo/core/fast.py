"""Two Django hot paths made cheap for pages that render many rows (decision 0014).

- ``{% url 'name' obj.pk %}`` costs ~30 µs (``reverse()`` walks the resolver and quotes each
  argument); a list of 50 rows with four links each spent 6 ms on it. ``fast_reverse`` reverses
  a name once with sentinel integers, keeps the result as a format string and fills in the
  real integers afterwards. Anything else (keyword arguments, strings, patterns that refuse
  the sentinel) goes through ``reverse()`` as before. The template builtin
  ``vinculo.core.templatetags.fast_builtins`` makes every ``{% url %}`` use it.
- ``get_FOO_display()`` rebuilds the field's flattened choices, a dict of them and forces
  every lazy label to text on each call (~80 µs with translated choices).
  ``install_cached_choice_labels`` gives every model's ``get_FOO_display`` a per-language
  dict built once.

Both give exactly what Django gives (tests/core/test_fast.py compares them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partialmethod

from django.template.defaultfilters import date as django_date
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.dateformat import re_escaped, re_formatchars
from django.utils.encoding import force_str
from django.utils.formats import get_format
from django.utils.hashable import make_hashable
from django.utils.translation import get_language

_SENTINEL = 7_350_913_481_000  # no real id is this large; digits only, so never quoted
_NO_TEMPLATE = object()
_url_templates: dict[tuple, object] = {}


def fast_reverse(view_name: str, args=(), *, current_app: str | None = None) -> str:
    """``reverse(view_name, args=args)`` for URLs whose arguments are all ints."""
    if not args or any(type(a) is not int or a < 0 for a in args):
        return reverse(view_name, args=args, current_app=current_app)
    key = (view_name, len(args), current_app, get_script_prefix(), get_urlconf())
    template = _url_templates.get(key)
    if template is None:
        template = _url_templates[key] = _url_template(view_name, len(args), current_app)
    if template is _NO_TEMPLATE:
        return reverse(view_name, args=args, current_app=current_app)
    return template.format(*args)


def _url_template(view_name: str, n: int, current_app: str | None):
    sentinels = [str(_SENTINEL + i) for i in range(n)]
    try:
        url = reverse(view_name, args=sentinels, current_app=current_app)
    except NoReverseMatch:
        return _NO_TEMPLATE  # a pattern stricter than "digits" (say [0-9]{4}): plain reverse
    if any(url.count(s) != 1 for s in sentinels):
        return _NO_TEMPLATE
    template = url.replace("{", "{{").replace("}", "}}")
    for i, s in enumerate(sentinels):
        template = template.replace(s, "{" + str(i) + "}")
    return template


# --- choice labels -------------------------------------------------------------------------

_labels: dict[tuple[int, str | None], dict] = {}


def cached_get_FIELD_display(self, field):
    choices = field.choices
    if not isinstance(choices, (list, tuple)):  # callable choices may change: Django's way
        return _django_get_FIELD_display(self, field)
    key = (id(field), get_language())
    labels = _labels.get(key)
    if labels is None:
        labels = _labels[key] = {
            make_hashable(value): force_str(label, strings_only=True)
            for value, label in field.flatchoices
        }
    value = getattr(self, field.attname)
    return force_str(labels.get(make_hashable(value), value), strings_only=True)


def _django_get_FIELD_display(self, field):
    from django.db.models import Model

    return Model._get_FIELD_display(self, field)


def install_cached_choice_labels() -> int:
    """Point every model's Django-made ``get_FOO_display`` at the cached version; a model's
    own ``get_FOO_display`` method is left alone. Returns how many were replaced."""
    from django.apps import apps
    from django.db.models import Model

    replaced = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if getattr(field, "choices", None) is None or not hasattr(field, "attname"):
                continue
            name = f"get_{field.name}_display"
            current = model.__dict__.get(name)
            if isinstance(current, partialmethod) and current.func is Model._get_FIELD_display:
                setattr(model, name, partialmethod(cached_get_FIELD_display, field=field))
                replaced += 1
    return replaced


# --- dates ---------------------------------------------------------------------------------

_DATE_ONLY = {
    "d": lambda v: f"{v.day:02d}",
    "j": lambda v: str(v.day),
    "m": lambda v: f"{v.month:02d}",
    "n": lambda v: str(v.month),
    "Y": lambda v: f"{v.year:04d}",
    "y": lambda v: f"{v.year % 100:02d}",
    "F": lambda v: str(_dates().MONTHS[v.month]),
    "N": lambda v: str(_dates().MONTHS_AP[v.month]),
    "c": lambda v: v.isoformat(),
}
_WITH_TIME = {
    "H": lambda v: f"{v.hour:02d}",
    "G": lambda v: str(v.hour),
    "i": lambda v: f"{v.minute:02d}",
    "s": lambda v: f"{v.second:02d}",
    "P": lambda v: _p(v),
}
_compiled: dict[str, tuple[list, bool] | None] = {}


def _dates():
    from django.utils import dates

    return dates


def _p(v) -> str:
    """Django's ``P``: '1 a.m.', '1:30 p.m.', 'midnight', 'noon'."""
    from django.utils.translation import gettext

    if v.minute == 0 and v.hour == 0:
        return gettext("midnight")
    if v.minute == 0 and v.hour == 12:
        return gettext("noon")
    hour = v.hour % 12 or 12
    f = f"{hour}:{v.minute:02d}" if v.minute else str(hour)
    return f"{f} {gettext('p.m.') if v.hour > 11 else gettext('a.m.')}"


def _compile(fmt: str):
    """Django's format string as pieces (literal text or a function of the value), or None
    when it uses a specifier this fast path does not cover."""
    pieces, needs_time = [], False
    for i, piece in enumerate(re_formatchars.split(fmt)):
        if i % 2:
            fn = _DATE_ONLY.get(piece)
            if fn is None:
                fn = _WITH_TIME.get(piece)
                if fn is None:
                    return None
                needs_time = True
            pieces.append(fn)
        elif piece:
            pieces.append(re_escaped.sub(r"\1", piece))
    return pieces, needs_time


def fast_date_format(value, arg: str | None = None) -> str:
    """What Django's ``|date:arg`` filter gives, without building a DateFormat per value."""
    if value in (None, ""):
        return ""
    if not isinstance(value, dt.date):
        return django_date(value, arg)
    fmt = get_format(arg or "DATE_FORMAT")
    compiled = _compiled.get(fmt, False)
    if compiled is False:
        compiled = _compiled[fmt] = _compile(str(fmt))
    if compiled is None or (compiled[1] and not isinstance(value, dt.datetime)):
        return django_date(value, arg)
    return "".join(p if type(p) is str else p(value) for p in compiled[0])


# --- blank forms ---------------------------------------------------------------------------

_blank_forms: dict[tuple, str] = {}


def blank_form_fields(
    form_class, *, field_template: str, auto_id: str, fields: tuple[str, ...] = ()
) -> str:
    """The fields of an unbound ``form_class`` rendered through ``field_template``, once per
    language: a page that always offers the same empty form (add an email to this
    customer...) does not render its widgets on every request. Only for forms whose blank
    rendering depends on nothing but the language (no per-request initial values).
    ``fields``: only these, in this order (default: all)."""
    from django.template.loader import get_template
    from django.utils.safestring import mark_safe

    key = (form_class, field_template, auto_id, fields, get_language())
    html = _blank_forms.get(key)
    if html is None:
        template = get_template(field_template)
        form = form_class(auto_id=auto_id)
        bound = [form[name] for name in fields] if fields else list(form)
        html = _blank_forms[key] = mark_safe(
            "".join(template.render({"field": field}) for field in bound)
        )
    return html


# --- queries compiled once -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A queryset compiled once: its SQL, where its integer arguments go in the parameters,
    and what turns a row into model objects (ModelIterable's work, without recompiling)."""

    db: str
    sql: str
    params: tuple
    at: tuple[tuple[int, int], ...]  # (position in params, index in args)
    compiler: object
    model: type
    init_list: tuple[str, ...]
    start: int
    end: int
    populators: tuple
    annotations: tuple[tuple[str, int], ...]
    prefetch: tuple


_compiled_queries: dict[str, object] = {}


def _compile_query(build, nargs: int):
    from django.db.models.query import ModelIterable, get_related_populators

    sentinels = [_SENTINEL + i for i in range(nargs)]
    qs = build(*sentinels)
    if qs._iterable_class is not ModelIterable or qs._known_related_objects or qs.query.extra:
        return _NO_TEMPLATE
    compiler = qs.query.get_compiler(using=qs.db)
    try:
        sql, params = compiler.as_sql()
    except Exception:  # EmptyResultSet and the like: the ORM knows what to do
        return _NO_TEMPLATE
    at = []
    for pos, p in enumerate(params):
        if type(p) is int and _SENTINEL <= p < _SENTINEL + nargs:
            at.append((pos, p - _SENTINEL))
    # Every argument is a parameter and no sentinel was written into the SQL itself.
    if sorted({i for _, i in at}) != list(range(nargs)) or any(str(s) in sql for s in sentinels):
        return _NO_TEMPLATE
    select, klass_info = compiler.select, compiler.klass_info
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    return _Compiled(
        db=qs.db,
        sql=sql,
        params=tuple(params),
        at=tuple(at),
        compiler=compiler,
        model=klass_info["model"],
        init_list=tuple(f[0].target.attname for f in select[start:end]),
        start=start,
        end=end,
        populators=tuple(get_related_populators(klass_info, select, qs.db)),
        annotations=tuple((compiler.annotation_col_map or {}).items()),
        prefetch=tuple(qs._prefetch_related_lookups),
    )


def compiled_rows(key: str, build, *args: int) -> list:
    """``list(build(*args))`` for a queryset whose varying parameters are integers (ids):
    compiled once per process with sentinel values, then run with the arguments put in their
    places. Building and compiling a queryset is most of a small query's CPU (~0.3 ms against
    ~0.1 to run it; decision 0014). Rows become objects as the ORM makes them:
    ``select_related``, ``only``/``defer``, annotations and ``prefetch_related`` included.
    ``key`` names one query *shape*: a caller whose SQL changes with something other than the
    arguments (a user's role, the number of ids in a list) puts that in the key. Querysets it
    cannot reproduce (``values()``, ``extra``, an argument that is not a plain parameter) run
    through the ORM as before."""
    from django.db import connections
    from django.db.models import prefetch_related_objects

    if any(type(a) is not int for a in args):
        return list(build(*args))
    entry = _compiled_queries.get(key)
    if entry is None:
        entry = _compiled_queries[key] = _compile_query(build, len(args))
    if entry is _NO_TEMPLATE:
        return list(build(*args))
    params = list(entry.params)
    for pos, i in entry.at:
        params[pos] = args[i]
    db = entry.db
    with connections[db].cursor() as cursor:
        cursor.execute(entry.sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    objs = []
    from_db, init_list, start, end = entry.model.from_db, entry.init_list, entry.start, entry.end
    for row in entry.compiler.results_iter([rows]):
        obj = from_db(db, init_list, row[start:end])
        for populator in entry.populators:
            populator.populate(row, obj)
        for name, col in entry.annotations:
            setattr(obj, name, row[col])
        objs.append(obj)
    if entry.prefetch:
        prefetch_related_objects(objs, *entry.prefetch)
    return objs


def rows_by_id(key: str, build, value: int) -> list:
    """``compiled_rows`` for a queryset whose one varying parameter is an id."""
    return compiled_rows(key, build, value)


# --- "3 days, 4 hours" and "1,234.50" for many rows ------------------------------------------


class Timesince:
    """``django.utils.timesince.timesince(d, now)`` for many ``d`` and one ``now``, in the
    active language: the same words, ~5x cheaper. Django's version translates each unit and
    the ", " separator, builds the non-breaking spaces and converts ``now``'s time zone on
    every call (6-12 µs; a board of 120 cards spent ~1.5 ms on it). Here each unit text is
    made once per number; the arithmetic is Django's, step for step."""

    def __init__(self, now: dt.datetime):
        from django.utils.timesince import TIME_STRINGS, TIME_STRINGS_KEYS
        from django.utils.translation import gettext

        self.now = now
        self._now_in: dict = {}
        self._strings, self._keys = TIME_STRINGS, TIME_STRINGS_KEYS
        self._texts: dict[tuple[int, int], str] = {}
        self._sep = gettext(", ")

    def _unit(self, i: int, num: int) -> str:
        text = self._texts.get((i, num))
        if text is None:
            from django.utils.html import avoid_wrapping

            text = avoid_wrapping(self._strings[self._keys[i]] % {"num": num})
            self._texts[(i, num)] = text
        return text

    def __call__(self, d: dt.datetime) -> str:
        from django.utils.timesince import MONTHS_DAYS, TIME_CHUNKS

        if type(d) is not dt.datetime or d.tzinfo is None or self.now.tzinfo is None:
            from django.utils.timesince import timesince

            return timesince(d, self.now)
        now = self._now_in.get(d.tzinfo)
        if now is None:
            now = self._now_in[d.tzinfo] = self.now.astimezone(d.tzinfo)
        delta = now - d
        if delta.days * 86400 + delta.seconds <= 0:
            return self._unit(5, 0)
        total_months = (now.year - d.year) * 12 + (now.month - d.month)
        if d.day > now.day or (d.day == now.day and d.time() > now.time()):
            total_months -= 1
        years, months = divmod(total_months, 12)
        if years or months:
            pivot_year, pivot_month = d.year + years, d.month + months
            if pivot_month > 12:
                pivot_month -= 12
                pivot_year += 1
            pivot = dt.datetime(
                pivot_year,
                pivot_month,
                min(MONTHS_DAYS[pivot_month - 1], d.day),
                d.hour,
                d.minute,
                d.second,
                tzinfo=d.tzinfo,
            )
        else:
            pivot = d
        remaining = (now - pivot).total_seconds()
        partials = [years, months]
        for chunk in TIME_CHUNKS:
            count = int(remaining // chunk)
            partials.append(count)
            remaining -= chunk * count
        i = next((i for i, value in enumerate(partials) if value), None)
        if i is None:
            return self._unit(5, 0)
        first = self._unit(i, partials[i])
        if i + 1 < len(partials) and partials[i + 1]:
            return first + self._sep + self._unit(i + 1, partials[i + 1])
        return first


class GroupedAmount:
    """``floatformat(amount, "2g")`` (two decimals, always grouped) in the active language
    for many amounts: Python's own grouping with the locale's separators swapped in, when the
    amount has exactly two decimals and the locale groups by three; Django's
    ``numberformat.format`` otherwise (same text either way)."""

    def __init__(self):
        from django.utils.formats import get_format

        self.dec = get_format("DECIMAL_SEPARATOR")
        self.grouping = get_format("NUMBER_GROUPING")
        self.sep = get_format("THOUSAND_SEPARATOR")
        self._table = str.maketrans({",": self.sep, ".": self.dec})

    def __call__(self, value) -> str:
        from decimal import Decimal

        if (
            type(value) is Decimal
            and self.grouping == 3
            and value  # Django writes 0 for -0.00
            and value.as_tuple().exponent == -2
        ):
            return f"{value:,f}".translate(self._table)
        from django.utils import numberformat

        return numberformat.format(value, self.dec, 2, self.grouping, self.sep, force_grouping=True)
