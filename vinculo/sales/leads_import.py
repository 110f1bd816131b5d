"""Lead import from a CSV or XLSX file: map columns by their names, preview every row
without writing, then capture the valid rows, each in its own transaction.

The preview runs the very same ``capture_lead`` the import runs, each row in its own
transaction rolled back at once: the errors, "new customer" or "matched an existing
customer" it shows are what the import does. Rows are rolled back one by one (not the
whole file at the end) so a preview never holds the database's write lock for minutes; the
price is that the preview tracks duplicates within the file itself (a later row with an
earlier row's email or phone is shown as matched), and the owner is only shown after the
import (round-robin turns do not advance during a preview).

Idempotence: each imported lead stores ``form_data["import_key"]`` = a hash of the file's
bytes plus the row number. Re-running the same file skips rows already imported (and an
interrupted import, re-run, carries on where it stopped); a row is never half written
because each row is one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import DataError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.accounts.permissions import require
from vinculo.core.errors import DomainError, ValidationError
from vinculo.core.normalize import fold, normalize_email, normalize_phone
from vinculo.customers.importing import Table, detect_format, read_table
from vinculo.sales import leads
from vinculo.sales.models import Lead

# Above this the web page asks for the command: the preview and the import run in the
# request (a row takes about 23 queries).
MAX_PAGE_ROWS = 500

# Folded header spellings (English and Spanish) per capture field.
COLUMN_SYNONYMS: dict[str, list[str]] = {
    "first_name": ["first name", "firstname", "given name", "nombre", "nombre de pila"],
    "last_name": ["last name", "lastname", "surname", "family name", "apellidos", "apellido"],
    "company": ["company", "organization", "organisation", "empresa", "compania", "account"],
    "email": ["email", "e mail", "mail", "email address", "correo", "correo electronico"],
    "phone": ["phone", "telephone", "mobile", "tel", "telefono", "movil", "phone number"],
    "campaign": ["campaign", "campana", "lead campaign"],
    "source": ["source", "lead source", "origen", "fuente"],
    "acquisition_cost": [
        "cost",
        "cost per lead",
        "acquisition cost",
        "cpl",
        "coste",
        "costo",
        "coste por lead",
    ],
    "currency": ["currency", "moneda", "divisa"],
    "message": ["message", "notes", "note", "comments", "mensaje", "notas", "comentarios"],
    "consent_marketing": ["consent", "marketing consent", "opt in", "consentimiento"],
    "country": ["country", "pais"],
    "region": ["region", "state", "province", "provincia"],
    "city": ["city", "town", "ciudad", "localidad"],
    **{f"utm_{p}": [f"utm {p}"] for p in ("source", "medium", "campaign", "term", "content")},
}
FIELD_LABELS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "company": gettext_lazy("Company"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "campaign": gettext_lazy("Campaign"),
    "source": gettext_lazy("Source"),
    "acquisition_cost": gettext_lazy("Cost per lead"),
    "currency": gettext_lazy("Currency"),
    "message": gettext_lazy("Message"),
    "consent_marketing": gettext_lazy("Marketing consent"),
    "country": gettext_lazy("Country"),
    "region": gettext_lazy("Region"),
    "city": gettext_lazy("City"),
}
_YES = {"1", "yes", "y", "true", "si", "s", "x", "on"}
_NO = {"", "0", "no", "n", "false", "off"}


@dataclass
class LeadImportDefaults:
    """Values for every row of the file; a row's own column (source, campaign, cost) wins."""

    source: str = Lead.Source.IMPORT
    campaign: str = ""
    acquisition_cost: Decimal | str | int = 0
    currency: str = "EUR"
    consent_marketing: bool = False
    consent_text: str = ""


@dataclass
class RowError:
    row: int
    field: str  # the file's column name when the field came from one, else the field name
    message: str
    value: str = ""


@dataclass
class RowResult:
    row: int
    status: str  # "new", "matched", "already_imported" or "error"
    name: str = ""
    email: str = ""
    phone: str = ""
    campaign: str = ""
    source: str = ""
    cost: Decimal | None = None
    owner: str = ""
    lead_id: int | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class LeadImportReport:
    filename: str
    format: str
    encoding: str
    mapping: dict[str, str]  # column -> capture field, mapped columns only
    unknown_columns: list[str]
    rows: list[RowResult] = field(default_factory=list)
    dry_run: bool = True

    def mapped_columns(self) -> list[tuple[str, str]]:
        """(column, what it fills) for the summary, in file order."""
        return [(c, str(FIELD_LABELS.get(t, t))) for c, t in self.mapping.items()]

    def _count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]

    def counts(self) -> dict[str, int]:
        return {
            "rows": len(self.rows),
            "new": self._count("new"),
            "matched": self._count("matched"),
            "valid": self._count("new") + self._count("matched"),
            "already_imported": self._count("already_imported"),
            "invalid": self._count("error"),
        }


# --- reading and mapping ----------------------------------------------------------------------


def guess_columns(headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """(column -> capture field, unknown columns). Exact match on the folded header (accents,
    case, ``_``/``-``/``.`` ignored); each field takes the first column that names it."""
    lookup = {name: target for target, names in COLUMN_SYNONYMS.items() for name in names}
    mapping: dict[str, str] = {}
    unknown: list[str] = []
    for header in headers:
        target = lookup.get(re.sub(r"[\s_\-.]+", " ", fold(header)).strip())
        if target and target not in mapping.values():
            mapping[header] = target
        else:
            unknown.append(header)
    return mapping, unknown


def _read(data: bytes, filename: str) -> Table:
    fmt = detect_format(filename, data[:1024])
    if fmt == "vcf":
        raise ValidationError.for_field("file", _("Upload a .csv or .xlsx file."))
    return read_table(data, fmt)


def import_key(data: bytes, row: int) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:24]}:{row}"


def _source(value: str) -> str | None:
    text = fold(value)
    for code, label in Lead.Source.choices:
        if text in {code, fold(str(label)), code.replace("_", " ")}:
            return code
    return None


def _row_values(
    record: dict[str, Any], mapping: dict[str, str], defaults: LeadImportDefaults, n: int
) -> tuple[dict[str, Any], list[RowError]]:
    """The capture_lead arguments of one row (defaults filled in), or the column errors
    this module checks itself (source, consent); the rest is capture_lead's validation."""
    col = {target: column for column, target in mapping.items()}
    values: dict[str, Any] = {
        "source": defaults.source,
        "campaign": defaults.campaign,
        "acquisition_cost": defaults.acquisition_cost,
        "currency": defaults.currency,
        "consent_marketing": defaults.consent_marketing,
        "consent_text": defaults.consent_text,
    }
    errors: list[RowError] = []
    for column, target in mapping.items():
        text = str(record.get(column) or "").strip()
        if "\ufffd" in text:
            errors.append(
                RowError(n, column, _("This cell holds characters that could not be read."), text)
            )
            continue
        if not text:
            continue
        if target == "source":
            code = _source(text)
            if code is None:
                errors.append(RowError(n, column, _("Unknown lead source."), text))
            values["source"] = code or defaults.source
        elif target == "consent_marketing":
            if fold(text) not in _YES | _NO:
                errors.append(RowError(n, column, _("Write yes or no."), text))
            values["consent_marketing"] = fold(text) in _YES
        elif target == "currency":
            if not re.fullmatch(r"[A-Za-z]{3}", text):
                errors.append(RowError(n, column, _("Write a three-letter currency code."), text))
            values["currency"] = text.upper()
        else:
            values[target] = text
    values["_columns"] = col
    return values, errors


def _display(result: RowResult, values: dict[str, Any]) -> None:
    names = [values.get("first_name", ""), values.get("last_name", "")]
    result.name = " ".join(n for n in names if n) or values.get("company", "")
    result.email, result.phone = values.get("email", ""), values.get("phone", "")
    result.campaign = values.get("campaign", "")
    result.source = str(Lead.Source(values["source"]).label)
    try:
        result.cost = Decimal(str(values.get("acquisition_cost") or 0).replace(",", "."))
    except InvalidOperation:
        result.cost = None


def _capture_row(*, actor, key: str, filename: str, values: dict, result: RowResult) -> None:
    """Capture one row (the caller owns the transaction). Fills in ``result``; raises
    ValidationError when capture_lead refuses the row."""
    if connection.vendor == "postgresql":
        # Two runs of the same file at once: the second waits for the first's row, then sees
        # it. (SQLite's IMMEDIATE transactions already serialise writers.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
    if Lead.objects.filter(form_data__import_key=key).exists():
        result.status = "already_imported"
        return
    args = {k: v for k, v in values.items() if not k.startswith("_")}
    captured = leads.capture_lead(
        actor=actor,
        form_data={"import_key": key, "file": filename[:200], "row": result.row},
        **args,
    )
    result.status = "matched" if captured.matched_existing else "new"
    result.lead_id = captured.lead.pk
    result.name = captured.customer.name
    result.owner = str(captured.lead.owner or "")


def _field_errors(exc: DomainError, n: int, values: dict) -> list[RowError]:
    columns = values.get("_columns", {})
    if not exc.field_errors:
        return [RowError(n, "", exc.message)]
    out = []
    for name, messages in exc.field_errors.items():
        column = columns.get(name, name)
        for message in messages:
            out.append(RowError(n, column, str(message), str(values.get(name, "") or "")))
    return out


def _run(
    *,
    actor,
    data: bytes,
    filename: str,
    defaults: LeadImportDefaults | None,
    dry_run: bool,
    max_rows: int | None,
) -> LeadImportReport:
    defaults = defaults or LeadImportDefaults()
    if defaults.source not in Lead.Source.values:
        raise ValidationError.for_field("source", _("Unknown lead source."))
    table = _read(data, filename)
    mapping, unknown = guess_columns(table.headers)
    if not {"email", "phone"} & set(mapping.values()):
        raise ValidationError.for_field(
            "file",
            _("No column holds an email or a phone (found: %(cols)s).")
            % {"cols": ", ".join(table.headers)},
        )
    report = LeadImportReport(
        filename=filename,
        format=table.format,
        encoding=table.encoding,
        mapping=mapping,
        unknown_columns=unknown,
        dry_run=dry_run,
    )
    records = list(table.records())
    if max_rows is not None and len(records) > max_rows:
        raise ValidationError.for_field(
            "file",
            _(
                "The file has %(rows)s rows; the page imports up to %(n)s. Split it or use "
                "the command (vinculo import_leads)."
            )
            % {"rows": len(records), "n": max_rows},
        )
    seen: dict[tuple[str, str], RowResult] = {}  # contact -> first valid row (preview)
    with leads.rules_cached():  # the rules are read once for the whole file
        for n, record in records:
            result = RowResult(row=n, status="error")
            report.rows.append(result)
            if isinstance(record, DomainError):
                result.errors = _field_errors(record, n, {})
                continue
            values, errors = _row_values(record, mapping, defaults, n)
            _display(result, values)
            if errors:
                result.errors = errors
                continue
            _process_row(
                actor=actor,
                key=import_key(data, n),
                filename=filename,
                values=values,
                result=result,
                dry_run=dry_run,
            )
            if dry_run and result.status in ("new", "matched"):
                _mark_duplicate_in_file(result, values, seen)
    return report


class _Rollback(Exception):
    pass


def _process_row(
    *, actor, key: str, filename: str, values: dict, result: RowResult, dry_run: bool
) -> None:
    """One row, one transaction: committed by the import, rolled back by the preview (so a
    long preview never holds the database for the whole file)."""
    try:
        with transaction.atomic():
            _capture_row(actor=actor, key=key, filename=filename, values=values, result=result)
            if dry_run:
                raise _Rollback
    except _Rollback:
        result.lead_id = None
    except ValidationError as exc:
        result.status = "error"
        result.errors = _field_errors(exc, result.row, values)
    except DataError:  # a value longer than its column on PostgreSQL
        result.status = "error"
        result.errors = [RowError(result.row, "", _("A value in this row is too long."))]


def _mark_duplicate_in_file(
    result: RowResult, values: dict, seen: dict[tuple[str, str], RowResult]
) -> None:
    """The preview rolls each row back, so a later row with the same email or phone as an
    earlier one would look new; the import attaches it to the earlier row's customer."""
    keys = []
    for name, fn in (("email", normalize_email), ("phone", normalize_phone)):
        if values.get(name):
            with contextlib.suppress(ValidationError):
                keys.append((name, fn(values[name], field=name)))
    first = next((seen[k] for k in keys if k in seen), None)
    if first is not None:
        result.status, result.owner = "matched", first.owner
    for k in keys:
        seen.setdefault(k, result)


def _check_actor(actor) -> None:
    # actor=None is the command run without --user (an operator at the shell).
    if actor is not None:
        require(actor, "customers.import")


class _Rollback(Exception):
    pass


def preview_lead_import(
    *,
    actor,
    data: bytes,
    filename: str,
    defaults: LeadImportDefaults | None = None,
    max_rows: int | None = None,
) -> LeadImportReport:
    """Dry run: every row goes through capture_lead in its own transaction, rolled back, so
    nothing is written (no customer, lead, timeline entry, audit row or on-commit side
    effect); a row repeating an earlier row's email or phone is shown as matched."""
    _check_actor(actor)
    return _run(
        actor=actor,
        data=data,
        filename=filename,
        defaults=defaults,
        dry_run=True,
        max_rows=max_rows,
    )


def import_leads(
    *,
    actor,
    data: bytes,
    filename: str,
    defaults: LeadImportDefaults | None = None,
    max_rows: int | None = None,
) -> LeadImportReport:
    """Capture the valid rows, each in its own transaction; rows with errors are skipped and
    reported. Idempotent: rows of the same file already imported are skipped."""
    _check_actor(actor)
    return _run(
        actor=actor,
        data=data,
        filename=filename,
        defaults=defaults,
        dry_run=False,
        max_rows=max_rows,
    )


def error_report_rows(errors: list[RowError]) -> Iterator[list[str]]:
    """The error report as CSV rows: row, column, message, value."""
    yield [_("Row"), _("Column"), _("Message"), _("Value")]
    for e in errors:
        yield [str(e.row), e.field, e.message, e.value]
