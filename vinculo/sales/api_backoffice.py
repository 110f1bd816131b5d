"""``/backoffice``: the link to the ERP / warehouse system over HTTP, the same services as the
back-office page (``sales.backoffice``): pull the orders to fulfil, push stock levels and
order status updates. Updates are idempotent (repeating one changes nothing) and applied row
by row: a bad row is reported with its row number, field and message, and the others apply.
Needs the ``sales.backoffice`` capability (administrators and sales managers)."""

from __future__ import annotations

import datetime as dt
import json

from ninja import Query, Router, Schema

from vinculo.accounts.permissions import require
from vinculo.sales import backoffice
from vinculo.sales.api_common import ERRORS

router = Router(tags=["back office"])


class ExportQuery(Schema):
    since: dt.datetime | None = None


class StockLevelIn(Schema):
    sku: str
    stock_on_hand: int | str


class OrderUpdateIn(Schema):
    reference: str
    status: str
    note: str = ""


class RowErrorOut(Schema):
    row: int
    field: str
    message: str


class UpdateReportOut(Schema):
    applied: int
    unchanged: int
    errors: list[RowErrorOut]


def _report(report: backoffice.UpdateReport) -> dict:
    return {"applied": report.applied, "unchanged": report.unchanged, "errors": report.errors}


@router.get("/orders", response={200: list[dict], **ERRORS}, summary="Orders to fulfil")
def export_orders(request, query: Query[ExportQuery]):
    """Confirmed and later orders (changed since `since`, if given) with their lines; bundle
    components carry `bundle_sku`."""
    require(request.auth, "sales.backoffice")
    return backoffice.export_orders(since=query.since)


@router.post("/stock", response={200: UpdateReportOut, **ERRORS}, summary="Set stock levels")
def import_stock(request, payload: list[StockLevelIn]):
    require(request.auth, "sales.backoffice")
    data = json.dumps([row.dict() for row in payload])
    return _report(backoffice.import_stock_levels(actor=request.auth, data=data, fmt="json"))


@router.post(
    "/order-updates", response={200: UpdateReportOut, **ERRORS}, summary="Order status updates"
)
def import_order_updates(request, payload: list[OrderUpdateIn]):
    """`reference` is the order's external reference or its number; the status moves run the
    same transitions as the UI (stock effects included)."""
    require(request.auth, "sales.backoffice")
    data = json.dumps([row.dict() for row in payload])
    return _report(backoffice.import_order_updates(actor=request.auth, data=data, fmt="json"))
