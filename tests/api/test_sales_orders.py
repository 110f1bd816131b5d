"""``/api/v1/quotes`` and ``/api/v1/orders``: priced by the engine, PDF and email, accept
into an order, status moves with their stock effects, optimistic locking, visibility."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.api.sales_data import customer_of, make_catalog
from vinculo.sales import orders, pipelines
from vinculo.sales.models import Order, Product, Promotion, Quote
from vinculo.sales.pricing import CartLine


@pytest.fixture
def products(admin):
    Promotion.objects.create(name="Bienvenida", code="HOLA", kind="percent", value="10")
    return make_catalog(admin)


def _order(user, customer, products, qty=1, **extra):
    return orders.create_order(
        actor=user, customer_id=customer.pk, lines=[CartLine(products["sofa"].pk, qty)], **extra
    )


def test_create_order_is_priced_by_the_engine(api_for, rep, products):
    customer = customer_of(rep)
    response = api_for(rep).post(
        "orders",
        {
            "customer_id": customer.pk,
            "channel": "phone",
            "lines": [{"sku": "SOFA", "quantity": 5}, {"sku": "LAMP", "quantity": 2}],
            "coupon_codes": ["hola"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["channel"], body["coupon_codes"]) == ("draft", "phone", ["HOLA"])
    assert [(ln["sku"], ln["unit_price"], ln["discount"]) for ln in body["lines"]] == [
        ("SOFA", "450.00", "225.00"),
        ("LAMP", "40.00", "8.00"),
    ]
    assert (body["subtotal"], body["discount_total"], body["total"]) == (
        "2330.00",
        "233.00",
        "2537.37",
    )
    assert [(h["from_status"], h["to_status"]) for h in body["status_history"]] == [("", "draft")]
    assert body["allowed_statuses"] == ["cancelled", "confirmed"]
    assert body["pricing"]["lines"][0]["price_rule"] == "Price list “Volume” (from 5 units)"


def test_create_order_errors_name_the_field(api_for, rep, rep_b, products):
    api = api_for(rep)
    customer = customer_of(rep)
    response = api.post(
        "orders", {"customer_id": customer.pk, "channel": "fax", "lines": [{"sku": "SOFA"}]}
    )
    assert response.status_code == 422 and "channel" in response.json()["errors"]
    response = api.post("orders", {"customer_id": customer.pk, "lines": []})
    assert response.json()["errors"] == {"lines": ["The cart is empty."]}
    response = api.post("orders", {"customer_id": customer.pk})
    assert response.status_code == 422 and "lines" in response.json()["errors"]
    hidden = customer_of(rep_b)
    response = api.post("orders", {"customer_id": hidden.pk, "lines": [{"sku": "SOFA"}]})
    assert response.status_code == 404
    assert not Order.objects.exists()


def test_status_moves_reserve_stock_and_refuse_a_stale_version(api_for, rep, products):
    order = _order(rep, customer_of(rep), products, qty=3)
    api = api_for(rep)
    response = api.post(
        f"orders/{order.pk}/status", {"status": "confirmed", "version": order.version}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "confirmed" and body["allowed_statuses"] == [
        "cancelled",
        "paid",
        "shipped",
    ]
    assert Product.objects.get(sku="SOFA").stock_reserved == 3
    stale = api.post(f"orders/{order.pk}/status", {"status": "cancelled", "version": order.version})
    assert stale.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "confirmed"
    response = api.post(f"orders/{order.pk}/status", {"status": "delivered"})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "status": ["An order that is confirmed cannot become delivered."]
    }
    response = api.post(
        f"orders/{order.pk}/status", {"status": "cancelled", "note": "Changed mind"}
    )
    assert response.status_code == 200
    assert response.json()["status_history"][-1]["note"] == "Changed mind"
    assert Product.objects.get(sku="SOFA").stock_reserved == 0


def test_confirm_without_stock_is_409_and_reserves_nothing(api_for, rep, products):
    order = _order(rep, customer_of(rep), products, qty=11)  # 10 on hand
    response = api_for(rep).post(f"orders/{order.pk}/status", {"status": "confirmed"})
    assert response.status_code == 409
    assert "Sofa: 11 wanted, 10 available" in response.json()["detail"]
    assert Order.objects.get(pk=order.pk).status == "draft"
    assert Product.objects.get(sku="SOFA").stock_reserved == 0


def test_another_teams_orders_are_hidden(api_for, rep, rep_b, products):
    theirs = _order(rep_b, customer_of(rep_b), products)
    mine = _order(rep, customer_of(rep), products, channel="web")
    api = api_for(rep)
    assert [o["id"] for o in api.get("orders").json()["items"]] == [mine.pk]
    assert api.get(f"orders/{theirs.pk}").status_code == 404
    assert api.post(f"orders/{theirs.pk}/status", {"status": "cancelled"}).status_code == 404
    assert Order.objects.get(pk=theirs.pk).status == "draft"
    assert [o["id"] for o in api.get("orders", channel="web").json()["items"]] == [mine.pk]
    assert api.get("orders", channel="rep").json()["items"] == []
    assert api.get("orders", status="draft", q=mine.number[-4:]).json()["items"][0]["id"] == mine.pk
    assert api.get("orders", status="lost").status_code == 422


def test_quote_from_opportunity_with_coupon_pdf_email_and_accept(
    api_for, rep, products, smtp_sink, django_capture_on_commit_callbacks
):
    customer = customer_of(rep)
    pipelines.ensure_default_pipeline()
    opp = pipelines.create_opportunity(
        actor=rep,
        customer_id=customer.pk,
        name="Living room",
        lines=[CartLine(products["sofa"].pk, 2)],
    )
    api = api_for(rep)
    response = api.post("quotes", {"opportunity_id": opp.pk, "coupon_codes": ["HOLA", "NOPE"]})
    assert response.status_code == 201, response.content
    quote = response.json()
    assert quote["opportunity_id"] == opp.pk and quote["status"] == "draft"
    assert [(ln["sku"], ln["quantity"], ln["price_rule"]) for ln in quote["lines"]] == [
        ("SOFA", 2, "Catalog price")
    ]
    assert quote["total"] == "1088.78"  # (999.80 - 99.98) × 1.21
    refused = [p for p in quote["pricing"]["promotions"] if not p["applied"]]
    assert refused == [
        {
            "promotion_id": None,
            "name": "NOPE",
            "code": "NOPE",
            "applied": False,
            "amount": "0.00",
            "reason": "Unknown coupon code “NOPE”.",
        }
    ]
    pdf = api.get(f"quotes/{quote['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert quote["number"] in text and "1,088.78" in text
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"quotes/{quote['id']}/send", {})
    assert response.status_code == 200 and response.json()["status"] == "sent"
    assert [m["to"] for m in smtp_sink.messages] == [[customer.email]]
    response = api.post(f"quotes/{quote['id']}/accept", {})
    assert response.status_code == 201
    order = response.json()
    assert (order["total"], order["status"]) == ("1088.78", "draft")
    again = api.post(f"quotes/{quote['id']}/accept", {})
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert Order.objects.count() == 1
    assert api.get(f"quotes/{quote['id']}").json()["order_id"] == order["id"]


def test_quote_refusals_send_nothing(
    api_for, rep, rep_b, products, smtp_sink, django_capture_on_commit_callbacks
):
    api = api_for(rep)
    pipelines.ensure_default_pipeline()
    empty = pipelines.create_opportunity(actor=rep, customer_id=customer_of(rep).pk, name="E")
    response = api.post("quotes", {"opportunity_id": empty.pk})
    assert response.json()["errors"] == {"lines": ["Add products to the opportunity first."]}
    assert api.post("quotes", {}).status_code == 422
    response = api.post("quotes", {"customer_id": customer_of(rep_b).pk, "lines": [{"sku": "X"}]})
    assert response.status_code == 404
    nobody = customer_of(rep, emails=[])
    quote = api.post("quotes", {"customer_id": nobody.pk, "lines": [{"sku": "LAMP"}]}).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"quotes/{quote['id']}/send", {})
    assert response.status_code == 422 and "to_email" in response.json()["errors"]
    assert smtp_sink.messages == []
    assert Quote.objects.get(pk=quote["id"]).status == "draft"


def test_another_teams_quotes_are_hidden(api_for, rep, rep_b, products):
    theirs = api_for(rep_b).post(
        "quotes", {"customer_id": customer_of(rep_b).pk, "lines": [{"sku": "LAMP"}]}
    )
    api = api_for(rep)
    qid = theirs.json()["id"]
    assert api.get("quotes").json()["items"] == []
    for response in (
        api.get(f"quotes/{qid}"),
        api.get(f"quotes/{qid}/pdf"),
        api.post(f"quotes/{qid}/send", {}),
        api.post(f"quotes/{qid}/accept", {}),
    ):
        assert response.status_code == 404
    assert not Order.objects.exists()


def test_lists_query_count_does_not_grow_with_rows(
    api_for, rep, products, django_assert_max_num_queries
):
    from vinculo.sales import quotes

    customer = customer_of(rep)
    api = api_for(rep)

    def add(n):
        for _ in range(n):
            _order(rep, customer, products)
            quotes.create_quote(
                actor=rep, customer_id=customer.pk, lines=[CartLine(products["lamp"].pk, 1)]
            )

    add(2)
    for path in ("orders", "quotes"):
        with django_assert_max_num_queries(5):
            assert len(api.get(path).json()["items"]) == 2
    add(15)
    for path in ("orders", "quotes"):
        with django_assert_max_num_queries(5):
            assert len(api.get(path).json()["items"]) == 17
