"""Customer import, step 1: reading an uploaded file. CSV (encoding and delimiter detected),
XLSX (first sheet) and vCard 3.0/4.0 become a ``Table``: column names and the records, each
numbered as the user sees the row. Pure: no database access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from vinculo.core.errors import DomainError, ValidationError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
FORMATS = ("csv", "xlsx", "vcf")


class ImportFileError(ValidationError):
    """The uploaded file cannot be imported at all (wrong type, empty, unreadable...)."""


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
