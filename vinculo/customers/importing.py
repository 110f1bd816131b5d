"""Customer import: read CSV/XLSX/vCard files, map columns, validate every row (dry run) and
run the import one committed row at a time (resumable from ``ImportJob.rows_done``).

Steps, as the UI and the ``import_customers`` command use them:
  create_import_job()  -> checks the upload (size, encoding, header, columns), stores it
  save_mapping()       -> column -> target field, upsert key, what to do with invalid rows
  analyse_import()     -> dry run: validates every row with the same code the run uses
  start_import()       -> marks the job running and enqueues the background task on commit
  run_import()         -> the task body: one transaction per row (row + progress together)
  cancel_import()      -> gives up on an import that is not running; its file is deleted

The uploaded file is kept only while it may still be needed: it is deleted when the import
finishes or is cancelled, and ``clean_abandoned_imports()`` (a scheduled task) deletes the
files of imports left untouched for ``IMPORT_UPLOADS_KEEP_DAYS``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.accounts.permissions import require
from vinculo.core import audit, uploads
from vinculo.core.errors import DomainError, ValidationError
from vinculo.core.normalize import fold, normalize_email, normalize_phone
from vinculo.customers import services
from vinculo.customers.models import Customer, CustomField, ImportJob
from vinculo.customers.selectors import visible_customers

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
FORMATS = ("csv", "xlsx", "vcf")

# Target fields a column can be mapped to (custom fields are added as "attr.<key>").
TARGET_FIELDS: list[tuple[str, Any]] = [
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("name", gettext_lazy("Name (organization or full name)")),
    ("kind", gettext_lazy("Kind (person/organization)")),
    ("company", gettext_lazy("Company (organization)")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("external_id", gettext_lazy("External id")),
    ("stage", gettext_lazy("Lifecycle stage")),
    ("source", gettext_lazy("Source")),
    ("tags", gettext_lazy("Tags (separated by ; or ,)")),
    ("language", gettext_lazy("Language")),
    ("country", gettext_lazy("Country")),
    ("region", gettext_lazy("Region")),
    ("city", gettext_lazy("City")),
    ("street", gettext_lazy("Street")),
    ("postal_code", gettext_lazy("Postal code")),
]
# Several columns may feed these (e.g. "Mobile" and "Work phone"); others take one column.
MULTI_TARGETS = {"email", "phone", "tags"}
NAME_TARGETS = {"first_name", "last_name", "name"}
UPSERT_KEYS = ("external_id", "email", "none")

# Folded header spellings (English and Spanish) per target, for the automatic mapping.
_SYNONYMS: dict[str, list[str]] = {
    "first_name": ["first name", "firstname", "given name", "nombre", "nombre de pila", "forename"],
    "last_name": ["last name", "lastname", "surname", "family name", "apellidos", "apellido"],
    "name": ["name", "full name", "nombre completo", "razon social", "display name", "contacto"],
    "kind": ["kind", "type", "tipo", "customer type", "tipo de cliente"],
    "company": ["company", "organization", "organisation", "empresa", "compania", "account"],
    "email": ["email", "e-mail", "mail", "email address", "correo", "correo electronico"],
    "phone": [
        "phone",
        "telephone",
        "mobile",
        "tel",
        "telefono",
        "movil",
        "celular",
        "phone number",
    ],
    "external_id": ["external id", "id externo", "external_id", "uid", "codigo", "code", "ref"],
    "stage": ["stage", "lifecycle stage", "etapa", "fase", "estado", "status"],
    "source": ["source", "origen", "fuente", "lead source"],
    "tags": ["tags", "etiquetas", "labels", "tag", "etiqueta"],
    "language": ["language", "idioma", "lang", "lengua"],
    "country": ["country", "pais", "country code"],
    "region": ["region", "state", "province", "provincia", "comunidad", "estado/provincia"],
    "city": ["city", "town", "ciudad", "localidad", "municipio", "poblacion"],
    "street": ["street", "address", "direccion", "calle", "domicilio", "street address"],
    "postal_code": ["postal code", "zip", "zip code", "postcode", "codigo postal", "cp"],
}

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


class ImportFileError(ValidationError):
    """The uploaded file cannot be imported at all (wrong type, empty, unreadable...)."""


class ImportInterrupted(Exception):
    """Another runner advanced the job; this one stops without touching it."""


# --- reading files --------------------------------------------------------------------------


@dataclass
class Table:
    """A file read for import: its column names and an iterator factory over its records.
    ``records()`` yields (row number as the user sees it, {column: text} or an error)."""

    format: str
    headers: list[str]
    encoding: str = ""
    delimiter: str = ""
    records: Callable[[], Iterator[tuple[int, dict[str, Any] | DomainError]]] = field(
        default=lambda: iter(())
    )


def detect_format(name: str, head: bytes) -> str:
    """The format from the content first (a ZIP is XLSX, BEGIN:VCARD is vCard), then the name."""
    ext = Path(name or "").suffix.lower().lstrip(".")
    if ext not in FORMATS and ext not in {"vcard", "txt", "tsv"}:
        raise ImportFileError(_("Upload a .csv, .xlsx or .vcf file."))
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if text_head.startswith(b"BEGIN:VCARD"):
        return "vcf"
    if ext == "xlsx":
        raise ImportFileError(_("This file is not a valid Excel (.xlsx) workbook."))
    if ext in {"vcf", "vcard"}:
        raise ImportFileError(_("This file is not a vCard file (it does not start with a card)."))
    return "csv"


_LATIN_SINGLE_BYTE = {"latin_1", "cp1250", "cp1252", "cp1257", "cp850", "cp858", "cp437"}
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding). UTF-8 (with or without BOM) first; a file that is UTF-8 apart from a
    few broken bytes stays UTF-8 (broken characters become U+FFFD and those rows are reported);
    otherwise charset-normalizer decides (Latin-1/cp1252 from Spanish Excel, typically)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportFileError(_("The file's text encoding could not be recognised.")) from None
    if b"\x00" in data[:8192]:
        raise ImportFileError(_("This file is not a text file (it contains binary data)."))
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTIBYTE.search(data[:200_000]):
        return data.decode("utf-8", errors="replace"), "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise ImportFileError(_("The file's text encoding could not be recognised."))
    encoding = best.encoding
    # On short samples the detector cannot tell apart the single-byte Latin code pages
    # (it often says cp1250); our users' files come from Excel on Windows in Spain and Latin
    # America, so all of them are read as cp1252.
    if encoding in _LATIN_SINGLE_BYTE or encoding.startswith(("iso8859", "mac_")):
        encoding = "cp1252"
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return data.decode("latin-1"), "latin-1"


def _sniff_delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines() if ln.strip()][:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t").delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _unique_headers(cells: list[str]) -> list[str]:
    out: list[str] = []
    for i, cell in enumerate(cells):
        name = (cell or "").strip() or _("Column %(n)s") % {"n": i + 1}
        base, n = name, 2
        while name in out:
            name, n = f"{base} ({n})", n + 1
        out.append(name)
    return out


def _check_header(cells: list[Any]) -> None:
    values = [str(c).strip() for c in cells if c not in (None, "") and str(c).strip()]
    if not values:
        raise ImportFileError(_("The file has no header row (the first row is empty)."))
    looks_like_data = [v for v in values if "@" in v or re.fullmatch(r"[\d\s+().,-]+", v)]
    if len(looks_like_data) * 2 >= len(values):
        raise ImportFileError(
            _("The first row must hold the column names, but it looks like data (%(v)s).")
            % {"v": ", ".join(looks_like_data[:3])}
        )
    if len(cells) > MAX_COLUMNS:
        raise ImportFileError(
            _("The file has %(n)s columns; at most %(max)s can be imported.")
            % {"n": len(cells), "max": MAX_COLUMNS}
        )


def _read_csv(data: bytes) -> Table:
    text, encoding = decode_text(data)
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    delimiter = _sniff_delimiter(text[:20_000])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    for cells in reader:
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise ImportFileError(_("The file is empty."))
    _check_header(header)
    headers = _unique_headers(header)

    def records():
        # Row numbers count records as a spreadsheet shows them: the header is row 1.
        seen_header = False
        for n, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            if not seen_header:
                seen_header = any(c.strip() for c in cells)
                continue
            if any(c.strip() for c in cells):
                yield n, dict(zip(headers, cells, strict=False))

    return Table("csv", headers, encoding, delimiter, records)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(data: bytes) -> Table:
    import zipfile

    from openpyxl import load_workbook

    def open_sheet():
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportFileError(_("This file is not a valid Excel (.xlsx) workbook.")) from exc
        return wb, wb.worksheets[0]

    wb, ws = open_sheet()
    header_row, header = 0, None
    for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if any(_cell_text(v) for v in row):
            header_row, header = n, list(row)
            break
    wb.close()
    if header is None:
        raise ImportFileError(_("The file is empty."))
    while header and _cell_text(header[-1]) == "":
        header.pop()  # read-only sheets report trailing empty cells
    _check_header(header)
    headers = _unique_headers([_cell_text(c) for c in header])

    def records():
        wb2, ws2 = open_sheet()
        try:
            for n, row in enumerate(ws2.iter_rows(values_only=True), start=1):
                if n <= header_row:
                    continue
                cells = [_cell_text(v) for v in row]
                if any(cells):
                    yield n, dict(zip(headers, cells, strict=False))
        finally:
            wb2.close()

    return Table("xlsx", headers, "", "", records)


_CARD_RE = re.compile(r"BEGIN:VCARD.*?(?:END:VCARD|(?=BEGIN:VCARD)|\Z)", re.S | re.I)


def _read_vcf(data: bytes) -> Table:
    text, encoding = decode_text(data)
    chunks = _CARD_RE.findall(text)
    if not chunks:
        raise ImportFileError(_("The file is empty."))

    def records():
        for n, chunk in enumerate(chunks, start=1):
            try:
                yield n, vcard_record(chunk)
            except DomainError as exc:
                yield n, exc

    return Table("vcf", ["vCard"], encoding, "", records)


def vcard_record(chunk: str) -> dict[str, Any]:
    """One vCard (3.0 or 4.0) as {target field: value}; raises ValidationError if malformed."""
    import vobject

    if not re.search(r"END:VCARD\s*$", chunk.strip(), re.I):
        raise ValidationError.for_field("vcard", _("The card is not closed with END:VCARD."))
    try:
        card = vobject.readOne(chunk)
    except Exception as exc:  # vobject raises several unrelated types for bad input
        raise ValidationError.for_field(
            "vcard", _("The card could not be read: %(e)s") % {"e": str(exc)[:200]}
        ) from exc
    c = card.contents
    rec: dict[str, Any] = {"email": [], "phone": []}
    if "n" in c:
        n = c["n"][0].value
        rec["first_name"] = " ".join(_as_list(getattr(n, "given", ""))).strip()
        rec["last_name"] = " ".join(_as_list(getattr(n, "family", ""))).strip()
    if "fn" in c:
        rec["name"] = str(c["fn"][0].value).strip()
    if "org" in c:
        org = c["org"][0].value
        rec["company"] = " ".join(_as_list(org)).strip()
    rec["email"] = [str(e.value).strip() for e in c.get("email", []) if str(e.value).strip()]
    rec["phone"] = [
        re.sub(r"^tel:", "", str(t.value).strip(), flags=re.I) for t in c.get("tel", [])
    ]
    if "uid" in c:
        rec["external_id"] = str(c["uid"][0].value).strip()[:100]
    if "adr" in c:
        a = c["adr"][0].value
        rec["street"] = " ".join(_as_list(getattr(a, "street", ""))).strip()
        rec["city"] = " ".join(_as_list(getattr(a, "city", ""))).strip()
        rec["region"] = " ".join(_as_list(getattr(a, "region", ""))).strip()
        rec["postal_code"] = " ".join(_as_list(getattr(a, "code", ""))).strip()
        rec["country"] = " ".join(_as_list(getattr(a, "country", ""))).strip()
    if "kind" in c:  # vCard 4.0 KIND:org
        rec["kind"] = str(c["kind"][0].value).strip()
    no_person_name = not (rec.get("first_name") or rec.get("last_name"))
    if no_person_name and rec.get("company") and rec.get("name", "") in ("", rec["company"]):
        rec["kind"] = "organization"
        rec["name"] = rec.pop("company")
    if rec.get("kind", "").lower() == "org":
        rec["kind"] = "organization"
    return rec


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def read_table(data: bytes, fmt: str) -> Table:
    if fmt == "xlsx":
        return _read_xlsx(data)
    if fmt == "vcf":
        return _read_vcf(data)
    return _read_csv(data)


def job_table(job: ImportJob) -> Table:
    if not job.file.name:
        raise ImportFileError(_("The uploaded file of this import was deleted; upload it again."))
    with job.file.open("rb") as fh:
        data = fh.read()
    return read_table(data, job.format)


# --- mapping --------------------------------------------------------------------------------


def target_choices() -> list[tuple[str, str]]:
    """(value, label) for the mapping selects: the fixed fields, then active custom fields."""
    out = [(k, str(label)) for k, label in TARGET_FIELDS]
    for cf in CustomField.objects.filter(active=True).only("key", "label"):
        out.append((f"attr.{cf.key}", _("Custom field: %(label)s") % {"label": cf.label}))
    return out


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Pre-select a target for each column by fuzzy header matching (English and Spanish).
    Each single-valued target is given to the best-matching column only."""
    from rapidfuzz import fuzz

    targets = dict(_SYNONYMS)
    for cf in CustomField.objects.filter(active=True).only("key", "label", "label_es"):
        names = [cf.key.replace("_", " "), cf.label, cf.label_es]
        targets[f"attr.{cf.key}"] = [fold(n) for n in names if n]
    scored: list[tuple[float, str, str]] = []
    for header in headers:
        h = fold(re.sub(r"[_\-.]+", " ", header))
        for target, names in targets.items():
            best = max(
                (100.0 if h == n else fuzz.ratio(h, n) * 0.9 for n in names if n), default=0.0
            )
            if best >= 80:
                scored.append((best, header, target))
    mapping = {h: "" for h in headers}
    taken: set[str] = set()
    for _score, header, target in sorted(scored, key=lambda s: -s[0]):
        if mapping[header] or (target in taken and target not in MULTI_TARGETS):
            continue
        mapping[header] = target
        taken.add(target)
    return mapping


def check_mapping(mapping: dict[str, str], *, fmt: str) -> None:
    """Refuse a mapping with unknown targets, a single-valued target twice, or no name."""
    if fmt == "vcf":
        return
    valid = {k for k, _label in TARGET_FIELDS} | {
        f"attr.{k}" for k in CustomField.objects.filter(active=True).values_list("key", flat=True)
    }
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if target not in valid:
            errors[column] = [_("“%(t)s” is not a field you can import into.") % {"t": target}]
        elif target in used and target not in MULTI_TARGETS:
            errors[column] = [
                _("“%(t)s” is already taken by column “%(c)s”.") % {"t": target, "c": used[target]}
            ]
        used.setdefault(target, column)
    if not NAME_TARGETS & set(used):
        errors["__all__"] = [
            _(
                "Map at least one column to a name (first name, last name or name): "
                "without a name no customer can be created."
            )
        ]
    if errors:
        raise ValidationError(_("The column mapping is incomplete."), field_errors=errors)


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
            row.attributes[key] = services._coerce(cf, value)
        except ValueError as exc:
            err(target, str(exc), value)
    return row, errors


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


# --- services: create job, save mapping, dry run, start, run --------------------------------


@transaction.atomic
def create_import_job(*, actor, name: str, data: bytes) -> ImportJob:
    """Check an uploaded file and store it as a new ImportJob (status "uploaded"; a vCard file
    is mapped automatically). Refuses empty, binary, headerless, too large or too wide files."""
    require(actor, "customers.import")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportFileError(
            _("The file is too large (%(size)s MB); the limit is %(max)s MB.")
            % {"size": len(data) // (1024 * 1024), "max": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    fmt = detect_format(name, data[:4096])
    table = read_table(data, fmt)
    if next(iter(table.records()), None) is None:
        raise ImportFileError(_("The file has column names but no rows to import."))
    job = ImportJob(created_by=actor, original_name=Path(name).name[:255], format=fmt)
    job.options = {
        "upsert": "external_id" if fmt == "vcf" else "none",
        "invalid": "skip",
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "headers": table.headers,
    }
    if fmt == "vcf":
        job.status = ImportJob.Status.MAPPED
    else:
        job.mapping = guess_mapping(table.headers)
    job.file.save(f"import-{Path(name).stem[:40] or 'file'}.{fmt}", ContentFile(data), save=False)
    job.save()
    return job


@transaction.atomic
def save_mapping(*, actor, job: ImportJob, mapping: dict[str, str], upsert: str) -> ImportJob:
    """Store the column mapping and upsert key; refuses a mapping without any name column."""
    require(actor, "customers.import")
    _check_editable(job)
    if upsert not in UPSERT_KEYS:
        raise ValidationError.for_field("upsert", _("Choose how to match existing customers."))
    headers = job.options.get("headers", [])
    mapping = {h: (mapping.get(h) or "") for h in headers} if job.format != "vcf" else {}
    check_mapping(mapping, fmt=job.format)
    job.mapping = mapping
    job.options = {
        **{k: v for k, v in job.options.items() if k != "analysis_queued"},
        "upsert": upsert,
        "invalid": "skip",
    }
    job.status = ImportJob.Status.MAPPED
    job.save(update_fields=["mapping", "options", "status", "updated_at"])
    return job


def _check_editable(job: ImportJob) -> None:
    if job.status == ImportJob.Status.CANCELLED:
        raise ValidationError(_("This import was cancelled; upload the file again to import it."))
    if job.status in {ImportJob.Status.RUNNING, ImportJob.Status.DONE} or job.rows_done:
        raise ValidationError(_("This import has already run; upload the file again to redo it."))


# Files up to this size are checked while the user waits; bigger ones by the worker.
INLINE_ANALYSIS_BYTES = 2 * 1024 * 1024


def analysis_runs_inline(job: ImportJob) -> bool:
    return job.file.size <= INLINE_ANALYSIS_BYTES


@transaction.atomic
def request_analysis(*, actor, job: ImportJob) -> None:
    """Queue the dry run of a big file for the background worker (once per mapping)."""
    require(actor, "customers.import")
    if job.options.get("analysis_queued"):
        return
    job.options = {**job.options, "analysis_queued": True}
    job.save(update_fields=["options", "updated_at"])
    from vinculo.customers.tasks import analyse_import_task

    job_id = job.pk
    transaction.on_commit(lambda: analyse_import_task.enqueue(job_id))


def analyse_import(*, actor, job: ImportJob) -> Plan:
    """Dry run: validate every row, find upsert matches, duplicates inside the file and
    possible duplicates of existing customers. Writes nothing but the job's report."""
    require(actor, "customers.import")
    check_mapping(job.mapping, fmt=job.format)
    plan = Plan()
    qs = visible_customers(actor)
    upsert = job.options.get("upsert", "none")
    custom = _custom_defs()
    seen = _Seen()
    for n, row, errors in iter_clean_rows(job, job_table(job), custom):
        plan.rows_total += 1
        match = None
        if row is not None and not errors:
            dup = seen.duplicate_of(row)
            if dup:
                plan.duplicates += 1
                plan.errors.append(dup)
                continue
            seen.add(row)
            match, match_err = find_match(qs, row, upsert)
            if match_err:
                errors = [match_err]
            elif match is None:
                errors = _create_errors(row, custom)
        if errors:
            plan.invalid += 1
            plan.errors.extend(errors)
            continue
        if match:
            plan.to_update += 1
            continue
        plan.to_create += 1
        existing = _possible_duplicate(qs, row) if row else None
        if existing:
            plan.possible_duplicates.append({"row": n, "customer_id": existing})
    job.rows_total = plan.rows_total
    job.errors = [e.as_dict() for e in plan.errors]
    job.options = {
        **{k: v for k, v in job.options.items() if k != "analysis_queued"},
        "preview": plan.counts(),
        "possible_duplicates": plan.possible_duplicates[:200],
    }
    job.status = ImportJob.Status.PREVIEWED
    job.save(update_fields=["rows_total", "errors", "options", "status", "updated_at"])
    return plan


@transaction.atomic
def start_import(
    *, actor, job: ImportJob, confirmed_invalid: bool, enqueue: bool = True
) -> ImportJob:
    """Mark a previewed (or failed) job as running and enqueue the background run once this
    commits (``enqueue=False`` when the caller runs it itself, like the command). With invalid
    rows in the preview the user must confirm they will be skipped."""
    require(actor, "customers.import")
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportJob.Status.RUNNING and not is_stalled(job):
        return job  # already started: a double click does not enqueue twice
    if job.status == ImportJob.Status.DONE:
        raise ValidationError(_("This import has already run."))
    if job.status == ImportJob.Status.CANCELLED:
        raise ValidationError(_("This import was cancelled; upload the file again to import it."))
    if job.status not in {
        ImportJob.Status.PREVIEWED,
        ImportJob.Status.FAILED,
        ImportJob.Status.RUNNING,
    }:
        raise ValidationError(_("Check the preview before running the import."))
    preview = job.options.get("preview", {})
    if (preview.get("invalid") or preview.get("duplicates")) and not confirmed_invalid:
        raise ValidationError.for_field(
            "confirm", _("Confirm that the invalid rows will be skipped.")
        )
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status", "updated_at"])
    if enqueue:
        from vinculo.customers.tasks import run_import_task

        job_id = job.pk
        transaction.on_commit(lambda: run_import_task.enqueue(job_id))
    return job


STALL_AFTER = dt.timedelta(minutes=10)


def is_stalled(job: ImportJob) -> bool:
    """A running job whose progress has not moved for a while (its worker died): the user
    may resume it. Each committed row touches ``updated_at``."""
    return job.status == ImportJob.Status.RUNNING and job.updated_at < timezone.now() - STALL_AFTER


def run_import(*, job_id: int, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Import every row after ``rows_done``: each row and the job's progress commit together,
    so an interruption never leaves half a row and a re-run continues where it stopped.
    With an upsert key the same file imported again updates instead of duplicating."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in {ImportJob.Status.DONE, ImportJob.Status.CANCELLED}:
        return job
    actor = job.created_by
    require(actor, "customers.import")
    fields = ["status", "updated_at"]
    if job.rows_done == 0:
        job.errors, job.created_count, job.updated_count, job.skipped_count = [], 0, 0, 0
        fields += ["errors", "created_count", "updated_count", "skipped_count"]
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=fields)
    try:
        _run_rows(job, actor, progress)
    except ImportInterrupted:
        return ImportJob.objects.get(pk=job.pk)
    except Exception:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
        job.status = ImportJob.Status.FAILED
        raise
    with transaction.atomic():
        job.status = ImportJob.Status.DONE
        _discard_file(job)  # every row is in the database now; the file is not needed
        job.save()
        audit.record(
            actor=actor,
            action="import",
            obj=job,
            object_type="customers.importjob",
            payload={
                "job_id": job.pk,
                "file": job.original_name,
                "rows_total": job.rows_total,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
            },
        )
    return job


_PROGRESS_FIELDS = [
    "rows_total",
    "rows_done",
    "created_count",
    "updated_count",
    "skipped_count",
    "updated_at",
]


def _run_rows(job: ImportJob, actor, progress) -> None:
    qs = visible_customers(actor)
    upsert = job.options.get("upsert", "none")
    custom = _custom_defs()
    seen = _Seen()
    table = job_table(job)
    rows = list(iter_clean_rows(job, table, custom))
    job.rows_total = len(rows)
    for index, (_n, row, errors) in enumerate(rows, start=1):
        dup = None
        if row is not None and not errors:
            dup = seen.duplicate_of(row)
            if dup is None:
                seen.add(row)
        if index <= job.rows_done:
            continue  # committed by an earlier run: only rebuild the in-file key memory
        with transaction.atomic():
            # Two runners of one job (a resumed job whose old task wakes up) must not write a
            # row twice: the job row is locked and its progress checked before each row.
            locked = ImportJob.objects.select_for_update().values_list("rows_done", "status")
            done, status = locked.get(pk=job.pk)
            if done != index - 1 or status == ImportJob.Status.CANCELLED:
                raise ImportInterrupted(_("Another run of this import is in progress."))
            if row is not None and not errors and dup is not None:
                errors = [dup]
            if not errors and row is not None:
                errors = _write_row(actor=actor, qs=qs, row=row, upsert=upsert, job=job)
            if errors:
                job.skipped_count += 1
                job.errors = [*job.errors, *(e.as_dict() for e in errors)]
            job.rows_done = index
            # The error list is rewritten only when it grows (it can be long).
            job.save(update_fields=[*_PROGRESS_FIELDS, *(["errors"] if errors else [])])
        if progress:
            progress(job)


def _write_row(*, actor, qs, row: CleanRow, upsert: str, job: ImportJob) -> list[RowError]:
    """Create or update the customer for one clean row (inside the caller's transaction).
    Domain errors become row errors, rolled back to a savepoint so nothing partial stays."""
    try:
        with transaction.atomic():
            match, match_err = find_match(qs, row, upsert)
            if match_err:
                return [match_err]
            if match is None:
                _create_from_row(actor=actor, qs=qs, row=row)
                job.created_count += 1
            else:
                _update_from_row(actor=actor, qs=qs, row=row, customer_id=match)
                job.updated_count += 1
    except DomainError as exc:
        pairs = [(f, m) for f, ms in exc.field_errors.items() for m in ms] or [("", exc.message)]
        return [RowError(row.row, f, m) for f, m in pairs]
    return []


def _organization_id(*, actor, qs, name: str) -> int | None:
    if not name:
        return None
    org_id = (
        qs.filter(kind=Customer.Kind.ORGANIZATION, name__iexact=name)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if org_id:
        return org_id
    org = services.create_customer(
        actor=actor,
        kind=Customer.Kind.ORGANIZATION,
        name=name,
        owner_id=actor.pk,
        source="import",
    )
    return org.pk


def _create_from_row(*, actor, qs, row: CleanRow) -> Customer:
    fields = dict(row.fields)
    c = services.create_customer(
        actor=actor,
        kind=row.kind,
        first_name=row.first_name,
        last_name=row.last_name,
        name=row.name,
        emails=row.emails,
        phones=row.phones,
        tags=row.tags,
        attributes=row.attributes,
        external_id=row.external_id or None,
        organization_id=_organization_id(actor=actor, qs=qs, name=row.company),
        owner_id=actor.pk,
        **fields,
    )
    _add_address(actor=actor, customer=c, row=row)
    return c


def _update_from_row(*, actor, qs, row: CleanRow, customer_id: int) -> Customer:
    """Fill in what the row brings (empty cells never blank a field); channels and tags are
    added to the customer's, not replacing them."""
    changes: dict[str, Any] = dict(row.fields)
    for fld in ("first_name", "last_name", "name"):
        if getattr(row, fld):
            changes[fld] = getattr(row, fld)
    if row.external_id:
        changes["external_id"] = row.external_id
    if row.company:
        changes["organization_id"] = _organization_id(actor=actor, qs=qs, name=row.company)
    current = Customer.objects.get(pk=customer_id)
    tags = None
    if row.tags:
        existing = list(current.tags.values_list("name", flat=True))
        tags = sorted({*existing, *row.tags})
    c = services.update_customer(
        actor=actor,
        customer_id=customer_id,
        expected_version=None,
        tags=tags,
        attributes=row.attributes or None,
        **changes,
    )
    have_emails = set(c.emails.values_list("email", flat=True))
    for email in row.emails:
        if email not in have_emails:
            services.add_email(actor=actor, customer_id=c.pk, email=email)
    have_phones = set(c.phones.values_list("number", flat=True))
    for phone in row.phones:
        if phone not in have_phones:
            services.add_phone(actor=actor, customer_id=c.pk, number=phone)
    _add_address(actor=actor, customer=c, row=row)
    return c


def _add_address(*, actor, customer: Customer, row: CleanRow) -> None:
    if not row.address:
        return
    fields = {
        "street": row.address.get("street", ""),
        "postal_code": row.address.get("postal_code", ""),
        "city": row.fields.get("city", ""),
        "region": row.fields.get("region", ""),
        "country": row.fields.get("country", ""),
    }
    if customer.addresses.filter(**fields).exists():
        return
    services.add_address(actor=actor, customer_id=customer.pk, kind="other", **fields)


# --- cancelling and cleaning up -------------------------------------------------------------


def _discard_file(job: ImportJob) -> None:
    """Forget the job's stored file (the caller saves the job) and delete it once the
    transaction commits: a rolled-back cancel keeps the file."""
    name = job.file.name
    if not name:
        return
    job.file.name = ""
    transaction.on_commit(lambda: uploads.delete_stored_file(name))


@transaction.atomic
def cancel_import(*, actor, job: ImportJob) -> ImportJob:
    """Cancel an import that is not running: status "cancelled" and its uploaded file deleted.
    Rows an interrupted run already imported stay imported. Idempotent."""
    require(actor, "customers.import")
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status == ImportJob.Status.CANCELLED:
        return job
    if job.status == ImportJob.Status.DONE:
        raise ValidationError(_("This import has already run; there is nothing to cancel."))
    if job.status == ImportJob.Status.RUNNING and not is_stalled(job):
        raise ValidationError(_("The import is running; it cannot be cancelled now."))
    job.status = ImportJob.Status.CANCELLED
    _discard_file(job)
    job.save(update_fields=["status", "file", "updated_at"])
    return job


def clean_abandoned_imports(*, older_than: dt.timedelta) -> int:
    """Delete the uploaded files of imports untouched for ``older_than``: an import that never
    finished becomes "cancelled"; a finished one just loses its file. Files in the import
    uploads folder that no import job refers to (a lead import previewed but never confirmed)
    are deleted too. Returns the number of files deleted. Idempotent; each import is changed
    in its own transaction."""
    cutoff = timezone.now() - older_than
    discarded: set[str] = set()
    stale = ImportJob.objects.filter(updated_at__lt=cutoff).exclude(file="")
    for pk in stale.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=pk)
            if not job.file.name or job.updated_at >= cutoff:
                continue  # touched meanwhile
            if job.status != ImportJob.Status.DONE:
                job.status = ImportJob.Status.CANCELLED
            discarded.add(job.file.name)
            _discard_file(job)
            # updated_at is left alone: the list keeps showing when the user last worked on it
            job.save(update_fields=["status", "file"])
    deleted = len(discarded)
    # Deleted on commit above; the rest of the folder is what no import job refers to.
    keep = discarded | set(ImportJob.objects.exclude(file="").values_list("file", flat=True))
    for name in uploads.stored_files_older_than(uploads.IMPORT_UPLOADS_DIR, cutoff):
        if name not in keep and uploads.delete_stored_file(name):
            deleted += 1
    return deleted


# --- reports --------------------------------------------------------------------------------


def error_report_rows(job: ImportJob) -> Iterator[list[str]]:
    """The error report as CSV rows: row, field, message, value."""
    yield [_("Row"), _("Field"), _("Message"), _("Value")]
    for e in job.errors or []:
        yield [str(e.get("row", "")), e.get("field", ""), e.get("message", ""), e.get("value", "")]


def jobs_for_user(user):
    """Import jobs a user may see: their own, or all for an administrator."""
    qs = ImportJob.objects.select_related("created_by")
    if getattr(user, "is_admin_role", False):
        return qs
    return qs.filter(created_by=user)
