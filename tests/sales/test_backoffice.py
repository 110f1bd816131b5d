import csv
import io
import json

import pytest

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import ValidationError
from vinculo.sales import backoffice, catalog, orders
from vinculo.sales.models import Product
from vinculo.sales.pricing import CartLine


@pytest.fixture
def confirmed(admin):
    phone = catalog.create_product(
        actor=admin, sku="PH", name="Phone", price="100", stock_on_hand=5
    )
    case = catalog.create_product(actor=admin, sku="CA", name="Case", price="10", stock_on_hand=9)
    kit = catalog.create_product(actor=admin, sku="KIT", name="Kit", price="105", kind="bundle")
    catalog.set_bundle_items(actor=admin, bundle_id=kit.pk, items=[(phone.pk, 1), (case.pk, 1)])
    order = orders.create_order(
        actor=admin,
        customer_id=CustomerFactory().pk,
        lines=[CartLine(kit.pk, 1)],
        external_reference="WEB-1",
    )
    orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
    draft = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(phone.pk, 1)]
    )
    return order, draft


def test_export_confirmed_orders_as_json_and_csv(confirmed):
    order, _draft = confirmed
    rows = backoffice.export_orders()
    assert [r["number"] for r in rows] == [order.number]  # drafts are not exported
    data = json.loads(backoffice.orders_as_json(rows))
    lines = data["orders"][0]["lines"]
    assert [(ln["sku"], ln["bundle_sku"]) for ln in lines] == [
        ("KIT", ""),
        ("PH", "KIT"),
        ("CA", "KIT"),
    ]
    table = list(csv.DictReader(io.StringIO(backoffice.orders_as_csv(rows))))
    assert [r["line_sku"] for r in table] == ["KIT", "PH", "CA"]
    assert {r["external_reference"] for r in table} == {"WEB-1"}


def test_stock_import_applies_good_rows_reports_bad_ones_and_is_idempotent(admin, confirmed):
    data = "sku,stock_on_hand\nph,40\nCA,minus\nNOPE,3\n,4\n"
    report = backoffice.import_stock_levels(actor=admin, data=data)
    assert report.applied == 1
    assert [(e["row"], e["field"]) for e in report.errors] == [
        (3, "stock_on_hand"),
        (4, "sku"),
        (5, "sku"),
    ]
    assert Product.objects.get(sku="PH").stock_on_hand == 40
    assert Product.objects.get(sku="CA").stock_on_hand == 9
    again = backoffice.import_stock_levels(actor=admin, data=data)
    assert (again.applied, again.unchanged) == (0, 1)


def test_status_updates_by_external_reference_run_the_same_transitions(admin, confirmed):
    order, draft = confirmed
    payload = json.dumps(
        {
            "orders": [
                {"reference": "WEB-1", "status": "shipped", "note": "carrier X"},
                {"reference": draft.number, "status": "delivered"},
                {"reference": "MISSING", "status": "paid"},
            ]
        }
    )
    report = backoffice.import_order_updates(actor=admin, data=payload, fmt="json")
    assert report.applied == 1
    assert [e["row"] for e in report.errors] == [2, 3]
    assert "cannot become delivered" in report.errors[0]["message"]
    order.refresh_from_db()
    assert order.status == "shipped"
    assert Product.objects.get(sku="PH").stock_on_hand == 4  # shipped units left the stock
    assert order.status_history.last().note == "carrier X"
    again = backoffice.import_order_updates(actor=admin, data=payload, fmt="json")
    assert (again.applied, again.unchanged) == (0, 1)
    assert Product.objects.get(sku="PH").stock_on_hand == 4


def test_unreadable_update_file_is_refused(admin, db):
    with pytest.raises(ValidationError) as exc:
        backoffice.import_order_updates(actor=admin, data="{not json", fmt="json")
    assert "file" in exc.value.field_errors
