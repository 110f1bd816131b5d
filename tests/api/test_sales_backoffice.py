"""The back-office link over HTTP: the ERP pulls orders to fulfil and pushes stock levels and
order status updates, row by row, idempotently."""

from tests.sales.test_backoffice import confirmed  # noqa: F401  (fixture)
from vinculo.sales.models import Product


def test_erp_pulls_orders_and_pushes_stock_and_status(api_for, admin, confirmed):  # noqa: F811
    order, _draft = confirmed
    api = api_for(admin)

    pulled = api.get("backoffice/orders")
    assert pulled.status_code == 200
    [row] = pulled.json()
    assert (row["external_reference"], row["status"]) == ("WEB-1", "confirmed")
    assert {ln["sku"]: ln["bundle_sku"] for ln in row["lines"]} == {
        "KIT": "",
        "PH": "KIT",
        "CA": "KIT",
    }

    stock = api.post(
        "backoffice/stock",
        [{"sku": "CA", "stock_on_hand": 40}, {"sku": "NOPE", "stock_on_hand": 3}],
    )
    assert stock.status_code == 200
    body = stock.json()
    assert body["applied"] == 1 and body["errors"][0]["row"] == 2
    assert body["errors"][0]["field"] == "sku"
    assert Product.objects.get(sku="CA").stock_on_hand == 40

    update = [{"reference": "WEB-1", "status": "shipped", "note": "carrier X"}]
    assert api.post("backoffice/order-updates", update).json()["applied"] == 1
    again = api.post("backoffice/order-updates", update).json()
    assert (again["applied"], again["unchanged"]) == (0, 1)
    order.refresh_from_db()
    assert order.status == "shipped"


def test_a_rep_cannot_use_the_back_office_link(api_for, rep, confirmed):  # noqa: F811
    api = api_for(rep)
    assert api.get("backoffice/orders").status_code == 403
    assert api.post("backoffice/stock", [{"sku": "CA", "stock_on_hand": 0}]).status_code == 403
    assert Product.objects.get(sku="CA").stock_on_hand == 9


def test_malformed_update_names_the_field(api_for, admin, db):
    response = api_for(admin).post("backoffice/order-updates", [{"status": "paid"}])
    assert response.status_code == 422
    assert any("reference" in key for key in response.json()["errors"])
