"""Back-office page: export of confirmed orders, stock and order-status uploads with a dry-run
preview and a per-row error report, access for admins and managers only."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.sales import catalog, orders
from vinculo.sales.models import Order, Product
from vinculo.sales.pricing import CartLine

BO = "/sales/backoffice/"


@pytest.fixture
def products(admin):
    return (
        catalog.create_product(actor=admin, sku="A-1", name="Apple", price="1", stock_on_hand=5),
        catalog.create_product(actor=admin, sku="B-2", name="Banana", price="2", stock_on_hand=7),
    )


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/plain")


def level(sku: str) -> int:
    return Product.objects.get(sku=sku).stock_on_hand


def test_only_admins_and_managers_reach_the_back_office(client_for, rep, manager, admin):
    assert client_for(rep).get(BO).status_code == 403
    assert client_for(rep).get(f"{BO}export/").status_code == 403
    assert client_for(manager).get(BO).status_code == 200
    html = client_for(admin).get(BO).content.decode()
    assert "the valid rows are still applied" in html  # the page states what happens


def test_export_confirmed_orders_as_csv_and_json(client_for, manager, products):
    apple, _banana = products
    customer = CustomerFactory()
    confirmed = orders.create_order(
        actor=manager, customer_id=customer.pk, lines=[CartLine(apple.pk, 2)]
    )
    orders.set_order_status(actor=manager, order_id=confirmed.pk, status="confirmed")
    draft = orders.create_order(
        actor=manager, customer_id=customer.pk, lines=[CartLine(apple.pk, 1)]
    )
    client = client_for(manager)
    resp = client.get(f"{BO}export/", {"format": "csv"})
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert "attachment" in resp["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert [(r["number"], r["line_sku"], r["line_quantity"]) for r in rows] == [
        (confirmed.number, "A-1", "2")
    ]
    data = json.loads(client.get(f"{BO}export/", {"format": "json"}).content)
    assert [o["number"] for o in data["orders"]] == [confirmed.number]
    assert draft.number not in resp.content.decode()
    future = client.get(f"{BO}export/", {"format": "json", "since": "2999-01-01"})
    assert json.loads(future.content) == {"orders": []}
    bad = client.get(f"{BO}export/", {"format": "xml"})
    assert bad.status_code == 422 and "Select a valid choice" in bad.content.decode()


def test_stock_file_with_a_bad_row_previews_row_and_field_then_applies_the_valid_rows(
    client_for, manager, products
):
    client = client_for(manager)
    text = "sku,stock_on_hand\nA-1,40\nB-2,many\nZZZ,3\n"
    resp = client.post(f"{BO}preview/", {"kind": "stock", "file": upload("stock.csv", text)})
    assert resp.status_code == 200
    html = resp.content.decode()
    report = resp.context["report"]
    assert (report.applied, report.unchanged) == (1, 0)
    assert [(e["row"], e["field"]) for e in report.errors] == [(3, "stock_on_hand"), (4, "sku")]
    assert "“many” is not a stock level." in html and "Unknown SKU “ZZZ”." in html
    assert "Apply 1 row" in html
    # The preview is a dry run: nothing changed, nothing audited.
    assert (level("A-1"), level("B-2")) == (5, 7)
    assert not AuditEntry.objects.filter(payload__source="back office").exists()
    resp = client.post(f"{BO}apply/", resp.context["apply_form"].initial)
    assert resp.status_code == 200
    assert resp.context["report"].applied == 1 and len(resp.context["report"].errors) == 2
    assert (level("A-1"), level("B-2")) == (40, 7)
    assert AuditEntry.objects.filter(payload__source="back office").count() == 1
    # Uploading the same file again changes nothing.
    again = client.post(f"{BO}preview/", {"kind": "stock", "file": upload("stock.csv", text)})
    assert (again.context["report"].applied, again.context["report"].unchanged) == (0, 1)
    assert "Nothing to apply." in again.content.decode()


def test_order_status_json_updates_run_the_transitions(client_for, manager, products):
    apple, _banana = products
    order = orders.create_order(
        actor=manager,
        customer_id=CustomerFactory().pk,
        lines=[CartLine(apple.pk, 2)],
        external_reference="ERP-77",
    )
    orders.set_order_status(actor=manager, order_id=order.pk, status="confirmed")
    payload = json.dumps(
        {
            "orders": [
                {"reference": "ERP-77", "status": "shipped", "note": "DHL 123"},
                {"reference": "NOPE", "status": "paid"},
            ]
        }
    )
    client = client_for(manager)
    resp = client.post(f"{BO}preview/", {"kind": "orders", "file": upload("upd.json", payload)})
    assert [(e["row"], e["field"]) for e in resp.context["report"].errors] == [(2, "reference")]
    assert Order.objects.get(pk=order.pk).status == "confirmed"
    client.post(f"{BO}apply/", resp.context["apply_form"].initial)
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.status_history.last().note == "DHL 123"
    assert level("A-1") == 3  # shipped: out of stock


def test_unreadable_files_are_refused_with_a_message(client_for, manager, products):
    client = client_for(manager)
    resp = client.post(f"{BO}preview/", {"kind": "stock", "file": upload("s.json", "{oops")})
    assert resp.status_code == 422 and "Not valid JSON" in resp.content.decode()
    latin1 = SimpleUploadedFile("s.csv", "sku,stock_on_hand\nÑ,1\n".encode("latin-1"))
    resp = client.post(f"{BO}preview/", {"kind": "stock", "file": latin1})
    assert resp.status_code == 422 and "must be UTF-8" in resp.content.decode()
    resp = client.post(f"{BO}preview/", {"kind": "stock", "file": upload("e.csv", " \n")})
    assert resp.status_code == 422 and "The file is empty." in resp.content.decode()
    assert (level("A-1"), level("B-2")) == (5, 7)


def test_rep_cannot_upload(client_for, rep, products):
    resp = client_for(rep).post(
        f"{BO}preview/", {"kind": "stock", "file": upload("s.csv", "sku,stock_on_hand\nA-1,0\n")}
    )
    assert resp.status_code == 403
    resp = client_for(rep).post(
        f"{BO}apply/",
        {"kind": "stock", "format": "csv", "name": "s.csv", "data": "sku,stock_on_hand\nA-1,0\n"},
    )
    assert resp.status_code == 403
    assert level("A-1") == 5
