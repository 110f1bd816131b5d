"""Shared pieces of the REST API: error handlers (domain errors and Ninja's own validation
errors become JSON in one place), keyset ("cursor") pagination and common schemas.

Kept free of app imports: ``core`` sits below every app. Authentication lives in
``vinculo.accounts.api`` and the NinjaAPI instance in ``vinculo.api``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from vinculo.core.errors import DomainError
from vinculo.core.errors import ValidationError as DomainValidationError

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


# --- schemas ----------------------------------------------------------------------------------


class ErrorOut(Schema):
    """Every error response: a message and, for invalid input, the messages per field."""

    detail: str
    errors: dict[str, list[str]] = {}


# --- error handlers ---------------------------------------------------------------------------

# Where Ninja says an input came from; stripped so field names read like the schema's.
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_name(loc: Sequence[Any], body_params: set[str]) -> str:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        source = parts.pop(0)
        # A body schema parameter ("payload") is not a field the client sent.
        if source == "body" and len(parts) > 1 and parts[0] in body_params:
            parts.pop(0)
    return ".".join(str(p) for p in parts) or "__all__"


def validation_errors_to_fields(
    errors: list[dict[str, Any]], body_params: set[str] | None = None
) -> dict[str, list[str]]:
    """Ninja/pydantic error list -> {"field.path": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    for err in errors:
        name = _field_name(err.get("loc", ()), body_params or {"payload", "data", "body"})
        out.setdefault(name, []).append(str(err.get("msg", _("Invalid value."))))
    return out


def install_error_handlers(api) -> None:
    """Register the handlers that turn every expected failure into ``ErrorOut`` JSON."""

    def respond(request, status: int, detail: str, errors: dict | None = None):
        return api.create_response(
            request, {"detail": detail, "errors": errors or {}}, status=status
        )

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        return respond(request, exc.status_code, exc.message, exc.field_errors)

    @api.exception_handler(NinjaValidationError)
    def ninja_validation_error(request, exc: NinjaValidationError):
        return respond(
            request,
            422,
            _("Please correct the errors below."),
            validation_errors_to_fields(exc.errors),
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc: AuthenticationError):
        response = respond(request, 401, _("Authentication required: send a valid API token."))
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        # Unparsable JSON (400), failed CSRF check (403), throttling (429)...
        return respond(request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, 404, _("Not found."))

    @api.exception_handler(ObjectDoesNotExist)
    def does_not_exist(request, exc):
        # A record vanished between the visibility check and the service's row lock.
        return respond(request, 404, _("Not found."))


# --- keyset pagination ------------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def encode_cursor(key: str, values: Sequence[Any]) -> str:
    raw = json.dumps([key, *[_encode_value(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, key: str, n: int) -> list[Any]:
    """The values stored in ``cursor``; a cursor made for another ordering, or garbage, is a
    ValidationError on the ``cursor`` field."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(data, list) or len(data) != n + 1 or data[0] != key:
            raise ValueError
        return data[1:]
    except (ValueError, UnicodeDecodeError, binascii.Error, TypeError):
        raise DomainValidationError.for_field(
            "cursor", _("This cursor is not valid for this list; start again without it.")
        ) from None


def _parse(value: Any, kind: str) -> Any:
    if value is None:
        raise ValueError
    if kind == "datetime":
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        return value
    if not isinstance(value, str):
        raise ValueError
    return value


def keyset_page(
    qs: QuerySet,
    *,
    key: str,
    order: Sequence[tuple[str, str]],
    descending: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """One page of ``qs`` ordered by ``order`` (field, type) all ascending or all descending;
    the last field must be unique (the primary key). Seeks past the cursor with a row-value
    comparison written as OR-ed ANDs plus a bound on the leading column (portable, and an
    index on the leading column serves it as a range scan). No COUNT: one query of
    ``limit + 1`` rows tells whether there is a next page.

    Returns (rows, next_cursor). ``key`` names the ordering so a cursor from another ordering
    is refused instead of silently skipping rows. Fields must be non-null."""
    fields = [f for f, _t in order]
    qs = qs.order_by(*[f"-{f}" if descending else f for f in fields])
    if cursor:
        raw = decode_cursor(cursor, key, len(order))
        try:
            values = [_parse(v, t) for v, (_f, t) in zip(raw, order, strict=True)]
        except (ValueError, TypeError):
            raise DomainValidationError.for_field(
                "cursor", _("This cursor is not valid for this list; start again without it.")
            ) from None
        op = "lt" if descending else "gt"
        seek = Q()
        for i, field in enumerate(fields):
            term = Q(**{f"{field}__{op}": values[i]})
            for prev, value in zip(fields[:i], values[:i], strict=True):
                term &= Q(**{prev: value})
            seek |= term
        # The redundant bound on the leading column is what lets the database start an index
        # range scan at the cursor instead of filtering every row before it.
        qs = qs.filter(Q(**{f"{fields[0]}__{op}e": values[0]}), seek)
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(key, [getattr(last, f) for f in fields])
