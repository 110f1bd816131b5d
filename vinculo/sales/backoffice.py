"""The link to the back office: export confirmed orders (CSV or JSON) and take stock levels
and order status updates back (file or API), idempotent by external reference."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import DomainError, ValidationError
from vinculo.sales import orders as order_services
from vinculo.sales.models import Order, Product

EXPORT_STATUSES = (Order.Status.CONFIRMED, Order.Status.PAID)
ORDER_FIELDS = [
    "number",
    "external_reference",
    "status",
    "channel",
    "ordered_at",
    "customer_id",
    "customer_name",
    "currency",
    "subtotal",
    "discount_total",
    "tax_total",
    "shipping",
    "total",
]
LINE_FIELDS = ["sku", "name", "quantity", "unit_price", "discount", "tax", "total", "bundle_sku"]


def export_orders(*, statuses: Iterable[str] = EXPORT_STATUSES, since=None) -> list[dict]:
    """Orders to fulfil, each with its lines (bundle components carry ``bundle_sku``)."""
    qs = (
        Order.objects.filter(status__in=list(statuses))
        .select_related("customer")
        .prefetch_related("lines__bundle_line")
        .order_by("ordered_at", "id")
    )
    if since is not None:
        qs = qs.filter(updated_at__gte=since)
    out = []
    for o in qs:
        row = {
            "number": o.number,
            "external_reference": o.external_reference or "",
            "status": o.status,
            "channel": o.channel,
            "ordered_at": o.ordered_at.isoformat() if o.ordered_at else "",
            "customer_id": o.customer_id,
            "customer_name": o.customer.name,
            "currency": o.currency,
            "subtotal": str(o.subtotal),
            "discount_total": str(o.discount_total),
            "tax_total": str(o.tax_total),
            "shipping": str(o.shipping),
            "total": str(o.total),
            "lines": [
                {
                    "sku": ln.sku,
                    "name": ln.name,
                    "quantity": ln.quantity,
                    "unit_price": str(ln.unit_price),
                    "discount": str(ln.discount),
                    "tax": str(ln.tax),
                    "total": str(ln.total),
                    "bundle_sku": ln.bundle_line.sku if ln.bundle_line_id else "",
                }
                for ln in o.lines.all()
            ],
        }
        out.append(row)
    return out


def orders_as_json(rows: list[dict]) -> str:
    return json.dumps({"orders": rows}, ensure_ascii=False, indent=2)


def orders_as_csv(rows: list[dict]) -> str:
    """One CSV row per order line, the order's fields repeated (what ERPs import)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(ORDER_FIELDS + [f"line_{f}" for f in LINE_FIELDS])
    for row in rows:
        for line in row["lines"]:
            writer.writerow([row[f] for f in ORDER_FIELDS] + [line[f] for f in LINE_FIELDS])
    return buf.getvalue()


@dataclass
class UpdateReport:
    applied: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row": n, "field": f, "message": m}


def _rows(data: str | bytes, fmt: str, key: str) -> Iterator[tuple[int, dict]]:
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig")
    if fmt == "json":
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValidationError.for_field(
                "file", _("Not valid JSON: %(e)s") % {"e": exc}
            ) from None
        items = parsed.get(key, []) if isinstance(parsed, dict) else parsed
        if not isinstance(items, list):
            raise ValidationError.for_field("file", _("Expected a list of updates."))
        for i, item in enumerate(items, start=1):
            yield i, item if isinstance(item, dict) else {}
    elif fmt == "csv":
        for i, item in enumerate(csv.DictReader(io.StringIO(data)), start=2):
            yield i, {k.strip(): (v or "").strip() for k, v in item.items() if k}
    else:
        raise ValidationError.for_field("format", _("Use csv or json."))


def import_stock_levels(*, actor, data: str | bytes, fmt: str = "csv") -> UpdateReport:
    """Set ``stock_on_hand`` per SKU (rows: sku, stock_on_hand). Each row is applied on its
    own; a bad row is reported (row, field, message) and the others still apply. Setting the
    same level again changes nothing (idempotent)."""
    report = UpdateReport()
    for row_no, row in _rows(data, fmt, "stock"):
        sku = str(row.get("sku", "")).strip().upper()
        raw = str(row.get("stock_on_hand", "")).strip()
        if not sku:
            report.errors.append({"row": row_no, "field": "sku", "message": _("Missing SKU.")})
            continue
        try:
            level = int(raw)
            if level < 0:
                raise ValueError
        except ValueError:
            report.errors.append(
                {
                    "row": row_no,
                    "field": "stock_on_hand",
                    "message": _("“%(v)s” is not a stock level.") % {"v": raw},
                }
            )
            continue
        with transaction.atomic():
            product = Product.objects.select_for_update().filter(sku=sku).first()
            if product is None:
                report.errors.append(
                    {
                        "row": row_no,
                        "field": "sku",
                        "message": _("Unknown SKU “%(sku)s”.") % {"sku": sku},
                    }
                )
                continue
            if product.stock_on_hand == level:
                report.unchanged += 1
                continue
            before = product.stock_on_hand
            product.stock_on_hand = level
            product.version += 1
            product.save(update_fields=["stock_on_hand", "version", "updated_at"])
            audit.record(
                actor=actor,
                action="update",
                obj=product,
                changes={"stock_on_hand": [before, level]},
                payload={"source": "back office"},
            )
            report.applied += 1
    return report


def import_order_updates(*, actor, data: str | bytes, fmt: str = "csv") -> UpdateReport:
    """Apply status updates from the back office (rows: reference, status, note), where
    reference is the order's external reference or its number. Runs the same transitions as
    the UI (stock effects included); repeating an update is a no-op."""
    report = UpdateReport()
    for row_no, row in _rows(data, fmt, "orders"):
        ref = str(
            row.get("reference") or row.get("external_reference") or row.get("number") or ""
        ).strip()
        status = str(row.get("status", "")).strip().lower()
        order = (
            (
                Order.objects.filter(external_reference=ref).first()
                or Order.objects.filter(number=ref).first()
            )
            if ref
            else None
        )
        if order is None:
            report.errors.append(
                {
                    "row": row_no,
                    "field": "reference",
                    "message": _("No order “%(ref)s”.") % {"ref": ref},
                }
            )
            continue
        if order.status == status:
            report.unchanged += 1
            continue
        try:
            order_services.set_order_status(
                actor=actor, order_id=order.pk, status=status, note=str(row.get("note", ""))[:255]
            )
        except ValidationError as exc:
            msgs = [m for ms in exc.field_errors.values() for m in ms] or [exc.message]
            report.errors.append({"row": row_no, "field": "status", "message": " ".join(msgs)})
            continue
        except DomainError as exc:  # Conflict (stock short...): report the row, keep going
            report.errors.append(
                {"row": row_no, "field": "status", "message": getattr(exc, "message", str(exc))}
            )
            continue
        report.applied += 1
    return report
