"""Quote pages: create from an opportunity with a coupon, live re-pricing, PDF, email,
accept into an order, list filters and query count, visibility."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.customers.factories import CustomerFactory
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, pipelines, quotes
from vinculo.sales.models import Order, Promotion, Quote
from vinculo.sales.pricing import CartLine

QUOTES = "/sales/quotes/"


def grid(rows, **extra):
    """POST data for the lines grid (``rows``: (sku, quantity, options)) plus form fields."""
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0", **extra}
    for i, (sku, qty, opts) in enumerate(rows):
        data.update({f"lines-{i}-sku": sku, f"lines-{i}-quantity": qty, f"lines-{i}-options": opts})
    return data


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def product(admin):
    return catalog.create_product(
        actor=admin, sku="DESK", name="Standing desk", price="500", stock_on_hand=10
    )


@pytest.fixture
def opp(rep, customer, product):
    pipelines.ensure_default_pipeline()
    opp = pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name="Office fit-out")
    pipelines.set_opportunity_lines(
        actor=rep, opportunity_id=opp.pk, lines=[CartLine(product.pk, 2)], expected_version=None
    )
    return opp


@pytest.fixture
def welcome(db):
    return Promotion.objects.create(name="Welcome 10 %", code="HELLO", kind="percent", value="10")


def make_quote(rep, customer, product, qty=1, **kwargs):
    return quotes.create_quote(
        actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, qty)], **kwargs
    )


def test_opportunity_page_offers_create_quote_with_its_lines(client_for, rep, opp):
    page = client_for(rep).get(f"/sales/opportunities/{opp.pk}/").content.decode()
    assert f"/sales/quotes/new/?opportunity={opp.pk}" in page
    form = client_for(rep).get(f"{QUOTES}new/?opportunity={opp.pk}")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'value="DESK"' in html and 'value="2"' in html  # the opportunity's line, copied
    assert "1.210,00" in html or "1,210.00" in html  # 2 × 500 + 21 % VAT, priced up front


def test_create_quote_with_coupon_shows_the_discount(client_for, rep, opp, welcome):
    client = client_for(rep)
    resp = client.post(
        f"{QUOTES}new/?opportunity={opp.pk}",
        grid([("desk", "2", "")], coupon_codes="hello", valid_days="30"),
    )
    quote = Quote.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"{QUOTES}{quote.pk}/"
    assert (quote.opportunity_id, quote.coupon_codes) == (opp.pk, ["HELLO"])
    assert str(quote.discount_total) == "100.00" and str(quote.total) == "1089.00"
    html = client.get(resp["Location"]).content.decode()
    assert "Welcome 10 %" in html and "applied" in html
    assert re.search(r'data-testid="discount-total">−100[.,]00 EUR', html)
    assert re.search(r"1[.,]?089[.,]00 EUR", html)
    assert "Catalog price" in html  # the rule that priced the line
    # Written to the customer's timeline.
    assert Interaction.objects.filter(customer=opp.customer, subject__contains=quote.number)


def test_live_repricing_explains_applied_and_refused_promotions(
    client_for, rep, customer, product, welcome
):
    Promotion.objects.create(
        name="Big spender", kind="amount", value="50", min_amount="5000", stackable=True
    )
    resp = client_for(rep).post(
        f"{QUOTES}price/",
        grid(
            [("DESK", "1", "")], customer=customer.pk, coupon_codes="HELLO, NOPE", valid_days="30"
        ),
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Catalog price" in html
    assert "Welcome 10 %" in html and "−50" in html  # 10 % of 500 applied
    assert "Needs a minimum of" in html  # Big spender refused, with why
    assert "Unknown coupon code “NOPE”" in html
    assert not Quote.objects.exists()  # pricing saves nothing


def test_unknown_sku_is_reported_on_its_line_and_nothing_is_saved(client_for, rep, customer):
    resp = client_for(rep).post(
        f"{QUOTES}new/?customer={customer.pk}",
        grid([("NOPE-1", "1", "")], valid_days="30"),
    )
    assert resp.status_code == 422
    html = resp.content.decode()
    assert "There is no product with SKU NOPE-1." in html
    assert 'aria-invalid="true"' in html
    assert not Quote.objects.exists()


def test_add_a_line_keeps_what_was_typed(client_for, rep, customer, product):
    resp = client_for(rep).post(
        f"{QUOTES}new/?customer={customer.pk}",
        grid([("DESK", "3", "")], valid_days="30", add_line="1"),
    )
    html = resp.content.decode()
    assert 'name="lines-1-sku"' in html and 'value="3"' in html
    assert not Quote.objects.exists()


def test_pdf_download_is_a_pdf_with_the_total(client_for, rep, customer, product):
    quote = make_quote(rep, customer, product, qty=2)
    resp = client_for(rep).get(f"{QUOTES}{quote.pk}/pdf/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert f'filename="{quote.number}.pdf"' in resp["Content-Disposition"]
    text = pdf_text(resp.content)
    assert quote.number in text and re.search(r"1\W?210[.,]00 EUR", text)


def test_email_goes_to_primary_email_with_pdf_and_shows_sent(
    client_for, rep, customer, product, smtp_sink, django_capture_on_commit_callbacks
):
    quote = make_quote(rep, customer, product)
    client = client_for(rep)
    confirm = client.get(f"{QUOTES}{quote.pk}/send/").content.decode()
    assert 'value="inigo@example.es"' in confirm  # the recipient defaults to the primary email
    assert smtp_sink.messages == []  # asking is not sending
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(f"{QUOTES}{quote.pk}/send/", {"to_email": "inigo@example.es"})
    assert resp.status_code == 302
    assert len(smtp_sink.messages) == 1
    sent = smtp_sink.messages[0]
    assert sent["to"] == ["inigo@example.es"]
    pdf = next(sent["msg"].iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert quote.number in pdf_text(pdf.get_content())
    html = client.get(f"{QUOTES}{quote.pk}/").content.decode()
    assert 'data-testid="quote-status">Sent<' in html and "Emailed on" in html


def test_email_with_bad_address_sends_nothing(
    client_for, rep, customer, product, smtp_sink, django_capture_on_commit_callbacks
):
    quote = make_quote(rep, customer, product)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(rep).post(f"{QUOTES}{quote.pk}/send/", {"to_email": "not-an-email"})
    assert resp.status_code == 422
    assert "Send to" in resp.content.decode()
    assert smtp_sink.messages == []
    assert Quote.objects.get(pk=quote.pk).status == "draft"


def test_accept_asks_then_creates_a_draft_order_and_redirects(client_for, rep, customer, product):
    quote = make_quote(rep, customer, product, qty=2)
    client = client_for(rep)
    ask = client.get(f"{QUOTES}{quote.pk}/accept/")
    assert ask.status_code == 200 and "Yes, create the order" in ask.content.decode()
    assert not Order.objects.exists()
    resp = client.post(f"{QUOTES}{quote.pk}/accept/")
    order = Order.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/orders/{order.pk}/"
    assert order.status == "draft" and order.total == quote.total
    assert Quote.objects.get(pk=quote.pk).status == "accepted"
    page = client.get(resp["Location"]).content.decode()
    assert quote.number in page  # the order links back to its quote


def test_accept_refused_when_prices_changed_says_so_and_creates_nothing(
    client_for, rep, customer, product
):
    quote = make_quote(rep, customer, product)
    product.price = "600"
    product.save()
    resp = client_for(rep).post(f"{QUOTES}{quote.pk}/accept/")
    assert resp.status_code == 409
    assert "Prices changed since the quote was made" in resp.content.decode()
    assert not Order.objects.exists()


def test_rep_of_another_team_gets_404(client_for, rep, rep_b, customer, product):
    quote = make_quote(rep, customer, product)
    client = client_for(rep_b)
    for suffix in ("", "pdf/", "send/", "accept/"):
        assert client.get(f"{QUOTES}{quote.pk}/{suffix}").status_code == 404
    assert client.post(f"{QUOTES}{quote.pk}/accept/").status_code == 404
    assert not Order.objects.exists()
    assert quote.number not in client.get(QUOTES).content.decode()


def test_list_filters_by_status_customer_and_owner(client_for, rep, manager, customer, product):
    other = CustomerFactory(name="Zeta SL", owner=manager, team=manager.team)
    draft = make_quote(rep, customer, product)
    accepted = make_quote(manager, other, product)
    quotes.accept_quote(actor=manager, quote_id=accepted.pk)
    client = client_for(manager)

    def numbers(**params):
        resp = client.get(QUOTES, params)
        return {q.number for q in resp.context["page"].object_list}

    assert numbers() == {draft.number, accepted.number}
    assert numbers(status="accepted") == {accepted.number}
    assert numbers(customer="zeta") == {accepted.number}
    assert numbers(owner=rep.pk) == {draft.number}
    assert numbers(sort="total") == {draft.number, accepted.number}
    empty = client.get(QUOTES, {"status": "rejected"}).content.decode()
    assert "No quote matches these filters." in empty


def test_empty_quote_list_says_how_to_start(client_for, rep):
    html = client_for(rep).get(QUOTES).content.decode()
    assert "No quotes yet." in html


def test_quote_list_query_count_does_not_grow_with_rows(
    client_for, rep, customer, product, django_assert_max_num_queries
):
    client = client_for(rep)
    make_quote(rep, customer, product)
    with django_assert_max_num_queries(12) as few:
        client.get(QUOTES)
    for i in range(15):
        other = CustomerFactory(owner=rep, team=rep.team, name=f"C{i}")
        q = make_quote(rep, other, product)
        if i % 3 == 0:
            quotes.accept_quote(actor=rep, quote_id=q.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(QUOTES)
    assert len(resp.context["page"].object_list) == 16
