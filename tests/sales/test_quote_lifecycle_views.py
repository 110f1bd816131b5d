"""Quote pages for a quote's life after it is made: edit a draft with the lines grid, record
a rejection after confirming, revise into a new draft, expired quotes, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from vinculo.customers import services as customer_services
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, quotes
from vinculo.sales.models import Order, Quote
from vinculo.sales.pricing import CartLine

QUOTES = "/sales/quotes/"


def grid(rows, **extra):
    """POST data for the lines grid (``rows``: (sku, quantity, options)) plus form fields."""
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0", **extra}
    for i, (sku, qty, opts) in enumerate(rows):
        data.update({f"lines-{i}-sku": sku, f"lines-{i}-quantity": qty, f"lines-{i}-options": opts})
    return data


@pytest.fixture
def product(admin):
    return catalog.create_product(
        actor=admin, sku="DESK", name="Standing desk", price="500", stock_on_hand=10
    )


@pytest.fixture
def chair(admin):
    return catalog.create_product(
        actor=admin, sku="CHAIR", name="Chair", price="100", stock_on_hand=10
    )


def make(rep, customer, product, status=None, **kwargs) -> Quote:
    quote = quotes.create_quote(
        actor=rep, customer_id=customer.pk, lines=[CartLine(product.pk, 1)], **kwargs
    )
    if status:
        Quote.objects.filter(pk=quote.pk).update(status=status)
        quote.refresh_from_db()
    return quote


def in_days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


# --- which actions the quote page offers --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "offered", "not_offered"),
    [
        ("draft", {"edit/", "accept/", "send/"}, {"reject/", "revise/"}),
        ("sent", {"reject/", "revise/", "accept/"}, {"edit/"}),
        ("rejected", {"revise/"}, {"edit/", "reject/", "accept/", "send/"}),
        ("expired", {"revise/"}, {"edit/", "reject/", "accept/", "send/"}),
        ("accepted", set(), {"edit/", "reject/", "revise/", "accept/", "send/"}),
    ],
)
def test_quote_page_offers_the_actions_its_status_allows(
    client_for, rep, customer, product, status, offered, not_offered
):
    quote = make(rep, customer, product, status=status)
    html = client_for(rep).get(f"{QUOTES}{quote.pk}/").content.decode()
    for action in offered:
        assert f"{QUOTES}{quote.pk}/{action}" in html, action
    for action in not_offered:
        assert f"{QUOTES}{quote.pk}/{action}" not in html, action


def test_analyst_sees_no_change_buttons_and_is_refused(client_for, analyst, admin, product):
    customer = customer_services.create_customer(actor=admin, first_name="Ana", last_name="Ruiz")
    quote = make(admin, customer, product, status="sent")
    client = client_for(analyst)
    html = client.get(f"{QUOTES}{quote.pk}/").content.decode()
    assert "reject/" not in html and "revise/" not in html
    assert client.post(f"{QUOTES}{quote.pk}/reject/", {"reason": "No"}).status_code == 403
    assert client.post(f"{QUOTES}{quote.pk}/revise/").status_code == 403
    assert client.get(f"{QUOTES}{quote.pk}/edit/").status_code == 403
    assert Quote.objects.get().status == "sent" and Quote.objects.count() == 1


def test_another_teams_rep_gets_404_and_changes_nothing(client_for, rep, rep_b, customer, product):
    draft = make(rep, customer, product)
    sent = make(rep, customer, product, status="sent")
    client = client_for(rep_b)
    assert client.get(f"{QUOTES}{draft.pk}/edit/").status_code == 404
    assert client.post(f"{QUOTES}{draft.pk}/edit/", grid([("DESK", 3, "")])).status_code == 404
    assert client.post(f"{QUOTES}{sent.pk}/reject/", {"reason": "No"}).status_code == 404
    assert client.post(f"{QUOTES}{sent.pk}/revise/").status_code == 404
    assert Quote.objects.count() == 2 and Quote.objects.get(pk=sent.pk).status == "sent"
    assert Quote.objects.get(pk=draft.pk).lines.get().quantity == 1


# --- edit ---------------------------------------------------------------------------------------


def test_edit_form_shows_the_lines_and_saves_repriced(client_for, rep, customer, product, chair):
    quote = make(rep, customer, product, notes="Old")
    client = client_for(rep)
    page = client.get(f"{QUOTES}{quote.pk}/edit/")
    html = page.content.decode()
    assert page.status_code == 200 and f"Edit quote {quote.number}" in html
    assert 'value="DESK"' in html and "605.00" in html  # current line, priced
    resp = client.post(
        f"{QUOTES}{quote.pk}/edit/",
        grid(
            [("DESK", 2, ""), ("chair", 1, "")],
            valid_until=in_days(7),
            notes="New terms",
            coupon_codes="",
            version=quote.version,
            quote_channel="rep",
        ),
    )
    assert resp.status_code == 302 and resp["Location"] == f"{QUOTES}{quote.pk}/"
    quote.refresh_from_db()
    assert [(ln.sku, ln.quantity) for ln in quote.lines.all()] == [("DESK", 2), ("CHAIR", 1)]
    assert str(quote.total) == "1331.00" and quote.notes == "New terms"
    assert quote.valid_until.isoformat() == in_days(7)


def test_edit_with_a_stale_form_says_someone_else_saved_and_keeps_theirs(
    client_for, rep, manager, customer, product
):
    quote = make(rep, customer, product)
    stale = quote.version
    client_for(manager).post(
        f"{QUOTES}{quote.pk}/edit/",
        grid([("DESK", 4, "")], valid_until=in_days(5), version=stale),
    )
    resp = client_for(rep).post(
        f"{QUOTES}{quote.pk}/edit/",
        grid([("DESK", 9, "")], valid_until=in_days(5), version=stale),
    )
    assert resp.status_code == 409
    assert "changed by someone else" in resp.content.decode()
    assert Quote.objects.get(pk=quote.pk).lines.get().quantity == 4


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ([("NOPE", 1, "")], {"valid_until": in_days(3)}, "There is no product with SKU NOPE."),
        ([("DESK", 1, "")], {"valid_until": in_days(-2)}, "valid until a day in the past"),
        ([("DESK", 1, "")], {"valid_until": "soon"}, "Enter a valid date."),
        ([], {"valid_until": in_days(3)}, "Add at least one product line."),
    ],
)
def test_edit_errors_are_shown_and_nothing_is_saved(
    client_for, rep, customer, product, rows, extra, message
):
    quote = make(rep, customer, product)
    resp = client_for(rep).post(
        f"{QUOTES}{quote.pk}/edit/", grid(rows, version=quote.version, **extra)
    )
    assert resp.status_code == 422
    assert message in resp.content.decode()
    fresh = Quote.objects.get(pk=quote.pk)
    assert (fresh.version, fresh.total, fresh.valid_until) == (
        quote.version,
        quote.total,
        quote.valid_until,
    )


def test_live_preview_of_an_edit_uses_the_edit_form(client_for, rep, customer, product):
    resp = client_for(rep).post(
        f"{QUOTES}price/",
        grid([("DESK", 3, "")], customer=customer.pk, valid_until=in_days(3), quote_channel="rep"),
    )
    assert resp.status_code == 200 and "1,815.00" in resp.content.decode()


def test_a_sent_quote_cannot_be_edited(client_for, rep, customer, product):
    quote = make(rep, customer, product, status="sent")
    resp = client_for(rep).post(
        f"{QUOTES}{quote.pk}/edit/", grid([("DESK", 5, "")], valid_until=in_days(3)), follow=True
    )
    assert "Only a draft quote can be edited" in resp.content.decode()
    assert Quote.objects.get(pk=quote.pk).lines.get().quantity == 1


# --- reject -------------------------------------------------------------------------------------


def test_reject_asks_for_the_reason_then_marks_it_and_notes_the_timeline(
    client_for, rep, customer, product
):
    quote = make(rep, customer, product, status="sent")
    client = client_for(rep)
    ask = client.get(f"{QUOTES}{quote.pk}/reject/")
    assert ask.status_code == 200 and "Yes, mark it rejected" in ask.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == "sent"  # asking changes nothing
    empty = client.post(f"{QUOTES}{quote.pk}/reject/", {"reason": " ", "version": quote.version})
    assert empty.status_code == 422
    assert "Say why the customer rejected the quote." in empty.content.decode()
    resp = client.post(
        f"{QUOTES}{quote.pk}/reject/", {"reason": "Chose a competitor", "version": quote.version}
    )
    assert resp.status_code == 302
    page = client.get(resp["Location"]).content.decode()
    assert "Rejected" in page and "Chose a competitor" in page
    note = Interaction.objects.filter(customer=customer, kind="note").latest("id")
    assert note.subject == f"Quote {quote.number} rejected: Chose a competitor"


def test_reject_a_draft_is_refused_with_the_reason(client_for, rep, customer, product):
    quote = make(rep, customer, product)
    resp = client_for(rep).post(f"{QUOTES}{quote.pk}/reject/", {"reason": "No"})
    assert resp.status_code == 422 and "this one was never sent" in resp.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == "draft"


# --- revise and expiry --------------------------------------------------------------------------


def test_revise_opens_the_new_draft_and_both_pages_link_each_other(
    client_for, rep, customer, product
):
    quote = make(rep, customer, product, status="rejected")
    client = client_for(rep)
    resp = client.post(f"{QUOTES}{quote.pk}/revise/")
    revision = Quote.objects.exclude(pk=quote.pk).get()
    assert resp.status_code == 302 and resp["Location"] == f"{QUOTES}{revision.pk}/edit/"
    assert revision.revises_id == quote.pk and revision.status == "draft"
    assert quote.number in client.get(f"{QUOTES}{revision.pk}/").content.decode()
    original = client.get(f"{QUOTES}{quote.pk}/").content.decode()
    assert "Revised by" in original and revision.number in original


def test_a_revised_quote_points_to_its_revision_and_accepting_it_is_refused(
    client_for, rep, customer, product
):
    quote = make(rep, customer, product, status="sent")
    client = client_for(rep)
    client.post(f"{QUOTES}{quote.pk}/revise/")
    revision = Quote.objects.exclude(pk=quote.pk).get()
    html = client.get(f"{QUOTES}{quote.pk}/").content.decode()
    assert 'data-testid="quote-replaced"' in html
    assert f'Quote <a href="{QUOTES}{revision.pk}/">{revision.number}</a> replaces this one' in html
    assert f"{quote.pk}/accept/" not in html and f"{quote.pk}/send/" not in html
    resp = client.post(f"{QUOTES}{quote.pk}/accept/")
    assert resp.status_code == 422
    assert f"Quote {revision.number} replaces this one; accept that one instead." in resp.text
    assert not Order.objects.exists()
    assert Quote.objects.get(pk=quote.pk).status == "sent"
    assert 'data-testid="quote-replaced"' not in client.get(f"{QUOTES}{revision.pk}/").text


def test_a_quote_past_its_date_says_so_and_accepting_it_is_refused(
    client_for, rep, customer, product
):
    quote = make(rep, customer, product, status="sent")
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - dt.timedelta(1))
    client = client_for(rep)
    html = client.get(f"{QUOTES}{quote.pk}/").content.decode()
    assert "This quote expired on" in html and f"{quote.pk}/accept/" not in html
    resp = client.post(f"{QUOTES}{quote.pk}/accept/")
    assert resp.status_code == 422 and "This quote expired on" in resp.content.decode()
    assert not Order.objects.exists()


def test_list_filters_by_the_new_statuses(client_for, rep, customer, product):
    rejected = make(rep, customer, product, status="rejected")
    expired = make(rep, customer, product, status="expired")
    make(rep, customer, product)
    client = client_for(rep)
    html = client.get(QUOTES).content.decode()
    assert 'value="rejected"' in html and 'value="expired"' in html
    for quote in (rejected, expired):
        page = client.get(QUOTES, {"status": quote.status}).context["page"]
        assert [q.number for q in page.object_list] == [quote.number]
