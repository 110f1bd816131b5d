"""Customer export to CSV (streamed) and XLSX, limited to what the user may see and filtered
like the list page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import require
from vinculo.customers.models import Customer, CustomField
from vinculo.customers.selectors import CustomerFilters, filter_customers, visible_customers

CHUNK_SIZE = 2000
COLUMNS = (
    "id",
    "external_id",
    "kind",
    "name",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "stage",
    "owner",
    "team",
    "source",
    "tags",
    "language",
    "country",
    "region",
    "city",
    "created_at",
    "last_contact_at",
)


def export_queryset(*, user, filters: CustomerFilters) -> QuerySet[Customer]:
    """The customers ``user`` may export under ``filters``, with what the rows need joined."""
    require(user, "customers.export")
    qs = filter_customers(visible_customers(user), filters)
    return qs.select_related("owner", "team").prefetch_related("tags")


def _custom_fields() -> list[CustomField]:
    return list(CustomField.objects.filter(active=True).order_by("group", "position", "key"))


def header(custom: list[CustomField]) -> list[str]:
    return [*COLUMNS, *(f"attr.{cf.key}" for cf in custom)]


def _attr(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _local(value: dt.datetime | None) -> dt.datetime | None:
    # Spreadsheets have no time zones: export wall-clock time in the site's zone.
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def rows(qs: QuerySet[Customer], custom: list[CustomField]) -> Iterator[list[Any]]:
    """One list of values per customer, in ``header()`` order; reads in chunks."""
    for c in qs.iterator(chunk_size=CHUNK_SIZE):
        yield [
            c.pk,
            c.external_id or "",
            c.kind,
            c.name,
            c.first_name,
            c.last_name,
            c.company_name,
            c.email,
            c.phone,
            c.stage,
            c.owner.username if c.owner_id else "",
            c.team.name if c.team_id else "",
            c.source,
            ";".join(sorted(t.name for t in c.tags.all())),
            c.language,
            c.country,
            c.region,
            c.city,
            _local(c.created_at),
            _local(c.last_contact_at),
            *(_attr(c.attributes.get(cf.key)) for cf in custom),
        ]


def csv_safe(value: Any) -> str:
    """Neutralise spreadsheet formulas (CSV injection) without mangling E.164 phones."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (
        text[:1] in ("+", "-") and not text[1:].replace(" ", "").isdigit()
    ):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(*, user, filters: CustomerFilters) -> Iterator[str]:
    """CSV lines (UTF-8 with a BOM first, so Excel shows accents) for a StreamingHttpResponse.
    The permission check happens now, not when the first line is sent."""
    qs = export_queryset(user=user, filters=filters)
    custom = _custom_fields()
    writer = csv.writer(_Echo())

    def generate() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header(custom))
        for row in rows(qs, custom):
            yield writer.writerow([csv_safe(v) for v in row])

    return generate()


def write_xlsx(*, user, filters: CustomerFilters, out) -> int:
    """Write the export to ``out`` (a path or binary file) as XLSX in write-only mode;
    returns the number of customers written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    qs = export_queryset(user=user, filters=filters)
    custom = _custom_fields()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Customers")[:31])
    ws.append(header(custom))
    count = 0
    for row in rows(qs, custom):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, even if it starts with "="
            cells.append(cell)
        ws.append(cells)
        count += 1
    wb.save(out)
    return count


def xlsx_bytes(*, user, filters: CustomerFilters) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(user=user, filters=filters, out=buffer)
    return buffer.getvalue()


def write_csv(*, user, filters: CustomerFilters, out) -> int:
    """Write the CSV export to a text file opened with newline=""; returns rows written."""
    count = -1
    for line in csv_stream(user=user, filters=filters):
        out.write(line)
        count += 1
    return count
