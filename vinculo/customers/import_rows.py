"""Customer import, step 3: validating each row with the normalisers the services use, and
planning the run (upsert matches, duplicates inside the file, possible duplicates of existing
customers). Writes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from vinculo.core.errors import DomainError, ValidationError
from vinculo.core.normalize import fold, normalize_email, normalize_phone
from vinculo.customers import services
from vinculo.customers.import_files import Table
from vinculo.customers.import_mapping import MULTI_TARGETS
from vinculo.customers.models import Customer, CustomField, ImportJob

_KINDS: dict[str, str] = {
    "person": "person",
    "persona": "person",
    "individual": "person",
    "contact": "person",
    "contacto": "person",
    "organization": "organization",
    "organisation": "organization",
    "organizacion": "organization",
    "company": "organization",
    "empresa": "organization",
}
_STAGES = {
    "suscriptor": "subscriber",
    "cliente": "customer",
    "oportunidad": "opportunity",
    "inactivo": "inactive",
    "perdido": "lost",
    "prospecto": "lead",
}
_COUNTRIES = {
    "spain": "ES",
    "espana": "ES",
    "mexico": "MX",
    "argentina": "AR",
    "colombia": "CO",
    "chile": "CL",
    "peru": "PE",
    "portugal": "PT",
    "france": "FR",
    "francia": "FR",
    "germany": "DE",
    "alemania": "DE",
    "italy": "IT",
    "italia": "IT",
    "united kingdom": "GB",
    "reino unido": "GB",
    "united states": "US",
    "usa": "US",
    "estados unidos": "US",
}
_LANGUAGES = {"spanish": "es", "espanol": "es", "castellano": "es", "english": "en", "ingles": "en"}


# --- validating one row ---------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    field: str
    message: str
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message, "value": self.value}


@dataclass
class CleanRow:
    """A validated row, ready for customers.services."""

    row: int
    kind: str = "person"
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    company: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # stage, source, language, country...
    address: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    external_id: str = ""


_SCALAR_FIELDS = ("stage", "source", "language", "country", "region", "city")


def _record_values(record: dict[str, Any], mapping: dict[str, str] | None) -> dict[str, Any]:
    """{target: value} for a record; vCard records already come keyed by target."""
    if mapping is None:
        return record
    out: dict[str, Any] = {}
    for column, target in mapping.items():
        if not target:
            continue
        value = record.get(column, "")
        value = "" if value is None else str(value).strip()
        if target in MULTI_TARGETS:
            sep = r"[;,]" if target in {"tags", "email"} else r";"
            out.setdefault(target, []).extend(p.strip() for p in re.split(sep, value) if p.strip())
        elif value:
            out[target] = value
    return out


def clean_row(
    n: int, values: dict[str, Any], *, custom: dict[str, CustomField]
) -> tuple[CleanRow, list[RowError]]:
    """Validate one row with the normalisers and coercions the services use; never writes."""
    errors: list[RowError] = []
    row = CleanRow(row=n)

    def err(fld: str, message: str, value: Any = "") -> None:
        errors.append(RowError(n, fld, str(message), str(value)[:200]))

    for fld, value in values.items():
        if isinstance(value, str) and "\ufffd" in value:
            err(
                fld, _("Unreadable characters (the file has bytes that are not valid text)."), value
            )
    kind = values.get("kind", "")
    if kind:
        row.kind = _KINDS.get(fold(kind), "")
        if not row.kind:
            err("kind", _("Use “person” or “organization”."), kind)
    row.first_name = values.get("first_name", "")[:100]
    row.last_name = values.get("last_name", "")[:150]
    row.name = values.get("name", "")[:255]
    row.company = values.get("company", "")[:255]
    if row.kind == Customer.Kind.ORGANIZATION and not row.name:
        row.name = row.company or " ".join(p for p in [row.first_name, row.last_name] if p)
        row.company = ""
    if not (row.first_name or row.last_name or row.name):
        err("name", _("Enter a name."))
    row.external_id = values.get("external_id", "")[:100]
    for fld in _SCALAR_FIELDS:
        if values.get(fld):
            row.fields[fld] = values[fld]
    stage = row.fields.get("stage")
    if stage:
        folded = fold(stage)
        value = _STAGES.get(folded) or next(
            (v for v, label in Customer.Stage.choices if folded in {v, fold(str(label))}), None
        )
        if value is None:
            err("stage", _("“%(v)s” is not a lifecycle stage.") % {"v": stage}, stage)
            row.fields.pop("stage")
        else:
            row.fields["stage"] = value
    country = row.fields.get("country")
    if country:
        code = country.upper() if len(country) == 2 else _COUNTRIES.get(fold(country), "")
        if not code.isalpha() or len(code) != 2:
            err("country", _("Use a two-letter country code (ES, MX, US...)."), country)
            row.fields.pop("country")
        else:
            row.fields["country"] = code
    language = row.fields.get("language")
    if language:
        row.fields["language"] = _LANGUAGES.get(fold(language), language.lower())[:8]
    for fld in ("region", "city", "source"):
        if fld in row.fields:
            row.fields[fld] = row.fields[fld][:100]
    for raw in values.get("email", []):
        try:
            email = normalize_email(raw)
        except ValidationError as exc:
            err("email", exc.field_errors.get("email", [exc.message])[0], raw)
            continue
        if email not in row.emails:
            row.emails.append(email)
    region = row.fields.get("country") or None
    for raw in values.get("phone", []):
        try:
            phone = normalize_phone(raw, region=region)
        except ValidationError as exc:
            err("phone", exc.field_errors.get("phone", [exc.message])[0], raw)
            continue
        if phone not in row.phones:
            row.phones.append(phone)
    row.tags = [t[:60] for t in values.get("tags", []) if t]
    for fld in ("street", "postal_code"):
        if values.get(fld):
            row.address[fld] = values[fld][: 255 if fld == "street" else 20]
    for target, value in values.items():
        if not target.startswith("attr.") or not value:
            continue
        key = target[5:]
        cf = custom.get(key)
        if cf is None:
            continue
        try:
            row.attributes[key] = services._coerce(cf, _choice_values(cf, value))
        except ValueError as exc:
            err(target, str(exc), value)
    return row, errors


def _choice_lookup(cf: CustomField) -> dict[str, str]:
    """{folded value or label: stored value} for a choice field, built once per definition
    (the same CustomField objects serve every row of a file)."""
    lookup = getattr(cf, "_import_lookup", None)
    if lookup is None:
        lookup = {}
        for value in cf.choices or []:
            labels = (cf.choice_labels or {}).get(value) or {}
            for name in (*labels.values(), value):
                lookup.setdefault(fold(str(name)), value)
        for value in cf.choices or []:
            lookup[fold(value)] = value  # a value wins over another choice's label
        cf._import_lookup = lookup  # type: ignore[attr-defined]
    return lookup


def _choice_values(cf: CustomField, raw: Any) -> Any:
    """A choice cell written as a value or as its English or Spanish label, in any case and
    with or without accents, turned into the stored value(s); anything unknown is passed on
    unchanged so the service's error names it and lists the accepted values."""
    if cf.type not in (CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE):
        return raw
    lookup = _choice_lookup(cf)
    if cf.type == CustomField.Type.CHOICE:
        text = str(raw).strip()
        return lookup.get(fold(text), text)
    items = raw if isinstance(raw, list | tuple) else str(raw).split(";")
    parts = [str(p).strip() for p in items if str(p).strip()]
    return [lookup.get(fold(p), p) for p in parts]


def _create_errors(row: CleanRow, custom: dict[str, CustomField]) -> list[RowError]:
    """What would stop create_customer for a row that matches no customer."""
    errors = [
        RowError(row.row, f"attr.{key}", _("This field is required."))
        for key, cf in custom.items()
        if cf.required and row.attributes.get(key) in (None, "", [])
    ]
    if row.external_id and Customer.objects.filter(external_id=row.external_id).exists():
        message = _("Another customer already has this external id.")
        errors.append(RowError(row.row, "external_id", message, row.external_id))
    return errors


# --- planning: upsert matches and duplicates inside the file ----------------------------------


@dataclass
class Plan:
    """What a pass over the file found; filled by both the dry run and the real run."""

    rows_total: int = 0
    to_create: int = 0
    to_update: int = 0
    invalid: int = 0
    duplicates: int = 0
    possible_duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "rows_total": self.rows_total,
            "to_create": self.to_create,
            "to_update": self.to_update,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "possible_duplicates": len(self.possible_duplicates),
        }


class _Seen:
    """Emails and external ids already met in the file -> the row that had them first."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], int] = {}

    def duplicate_of(self, row: CleanRow) -> RowError | None:
        for fld, value in [("external_id", row.external_id), *(("email", e) for e in row.emails)]:
            if value and (fld, value.lower()) in self.keys:
                first = self.keys[(fld, value.lower())]
                return RowError(
                    row.row, fld, _("Duplicate of row %(n)s; skipped.") % {"n": first}, value
                )
        return None

    def add(self, row: CleanRow) -> None:
        for fld, value in [("external_id", row.external_id), *(("email", e) for e in row.emails)]:
            if value:
                self.keys.setdefault((fld, value.lower()), row.row)


def find_match(qs, row: CleanRow, upsert: str) -> tuple[int | None, RowError | None]:
    """The existing customer (id) this row updates under the upsert key, if any."""
    if upsert == "external_id" and row.external_id:
        ids = list(qs.filter(external_id=row.external_id).values_list("pk", flat=True)[:2])
    elif upsert == "email" and row.emails:
        email = row.emails[0]
        ids = sorted(
            set(qs.filter(Q(email=email) | Q(emails__email=email)).values_list("pk", flat=True)[:5])
        )
    else:
        return None, None
    if len(ids) > 1:
        return None, RowError(
            row.row,
            upsert,
            _("Several customers match (%(ids)s); merge them first.")
            % {"ids": ", ".join(f"#{i}" for i in ids)},
            row.external_id if upsert == "external_id" else row.emails[0],
        )
    return (ids[0] if ids else None), None


def _possible_duplicate(qs, row: CleanRow) -> int | None:
    if not (row.emails or row.phones):
        return None
    q = Q()
    if row.emails:
        q |= Q(email__in=row.emails) | Q(emails__email__in=row.emails)
    if row.phones:
        q |= Q(phone__in=row.phones) | Q(phones__number__in=row.phones)
    return qs.filter(q).values_list("pk", flat=True).first()


def _custom_defs() -> dict[str, CustomField]:
    return {cf.key: cf for cf in CustomField.objects.filter(active=True)}


def _mapping_for(job: ImportJob) -> dict[str, str] | None:
    return None if job.format == "vcf" else job.mapping


def iter_clean_rows(
    job: ImportJob, table: Table, custom: dict[str, CustomField]
) -> Iterator[tuple[int, CleanRow | None, list[RowError]]]:
    """(row number, clean row or None, errors) for each record of the file, in order."""
    mapping = _mapping_for(job)
    for n, record in table.records():
        if isinstance(record, DomainError):
            msgs = [(f, m) for f, ms in record.field_errors.items() for m in ms] or [
                ("vcard", record.message)
            ]
            yield n, None, [RowError(n, f, m) for f, m in msgs]
            continue
        row, errors = clean_row(n, _record_values(record, mapping), custom=custom)
        yield n, row, errors
