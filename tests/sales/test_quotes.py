import io
import re

import pytest
from pypdf import PdfReader

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import Conflict, ValidationError
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, quotes
from vinculo.sales.models import Order, Promotion, Quote
from vinculo.sales.pricing import CartLine


@pytest.fixture
def product(admin):
    return catalog.create_product(
        actor=admin, sku="SOFA", name="Sofá «Núñez»", price="499.90", stock_on_hand=10
    )


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_quote_pdf_shows_lines_rules_and_totals(rep, product, customer):
    Promotion.objects.create(name="Bienvenida", code="HOLA", kind="percent", value="10")
    quote = quotes.create_quote(
        actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, 2)], coupon_codes=["hola"]
    )
    assert str(quote.total) == "1088.78"  # (999.80 - 99.98) × 1.21
    text = pdf_text(quotes.render_quote_pdf(quote, language="es"))
    assert quote.number in text
    assert "Sofá «Núñez»" in text and "Íñigo Peña" in text
    assert "Precio de catálogo" in text or "Catalog price" in text
    assert re.search(r"1\W?088,78 EUR", text)  # Spanish number format: decimal comma
    assert "Bienvenida" in text


def test_send_quote_emails_the_pdf_after_commit_and_logs_it(
    rep, product, customer, smtp_sink, django_capture_on_commit_callbacks
):
    quote = quotes.create_quote(actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, 1)])
    with django_capture_on_commit_callbacks(execute=True):
        quotes.send_quote(actor=rep, quote_id=quote.pk)
    assert len(smtp_sink.messages) == 1
    sent = smtp_sink.messages[0]
    assert sent["to"] == ["inigo@example.es"]
    assert quote.number in sent["msg"]["Subject"]
    pdf = next(p for p in sent["msg"].iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert quote.number in pdf_text(pdf.get_content())
    quote.refresh_from_db()
    assert quote.status == "sent"
    log = Interaction.objects.get(customer=customer, kind="email")
    assert log.direction == "out" and log.related == quote


def test_failed_send_sends_nothing(rep, product, smtp_sink, django_capture_on_commit_callbacks):
    nobody = CustomerFactory()  # no email address
    quote = quotes.create_quote(actor=rep, customer_id=nobody.pk, lines=[CartLine(product.pk, 1)])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        quotes.send_quote(actor=rep, quote_id=quote.pk)
    assert "to_email" in exc.value.field_errors
    assert smtp_sink.messages == []
    quote.refresh_from_db()
    assert quote.status == "draft"
    assert not Interaction.objects.filter(customer=nobody, kind="email").exists()


def test_accept_creates_the_order_once(rep, product, customer):
    quote = quotes.create_quote(actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, 3)])
    order = quotes.accept_quote(actor=rep, quote_id=quote.pk)
    assert order.total == quote.total and order.lines.get().quantity == 3
    assert quotes.accept_quote(actor=rep, quote_id=quote.pk) == order
    assert Order.objects.count() == 1
    assert Quote.objects.get(pk=quote.pk).status == "accepted"


def test_accept_refuses_when_prices_changed(rep, product, customer):
    quote = quotes.create_quote(actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, 1)])
    product.price = "549.90"
    product.save()
    with pytest.raises(Conflict):
        quotes.accept_quote(actor=rep, quote_id=quote.pk)
    assert not Order.objects.exists()
    assert Quote.objects.get(pk=quote.pk).status == "draft"
