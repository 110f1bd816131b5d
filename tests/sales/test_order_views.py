"""Order pages: new order priced by the engine, detail with bundle components, status actions
(confirm refused on short stock, cancel releases stock), list filters/totals/query count,
the customer 360 panel, visibility."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.interactions.models import Interaction
from vinculo.sales import catalog, orders
from vinculo.sales.models import Order, Promotion
from vinculo.sales.pricing import CartLine

ORDERS = "/sales/orders/"


def grid(rows, **extra):
    data = {"lines-TOTAL_FORMS": str(len(rows)), "lines-INITIAL_FORMS": "0", **extra}
    for i, (sku, qty, opts) in enumerate(rows):
        data.update({f"lines-{i}-sku": sku, f"lines-{i}-quantity": qty, f"lines-{i}-options": opts})
    return data


@pytest.fixture
def shop(admin):
    phone = catalog.create_product(
        actor=admin, sku="PH", name="Phone", price="100", cost="60", stock_on_hand=1
    )
    case = catalog.create_product(
        actor=admin, sku="CA", name="Case", price="10", cost="2", stock_on_hand=50
    )
    kit = catalog.create_product(
        actor=admin, sku="KIT", name="Starter kit", price="105", kind="bundle"
    )
    catalog.set_bundle_items(actor=admin, bundle_id=kit.pk, items=[(phone.pk, 1), (case.pk, 2)])
    return phone, case, kit


@pytest.fixture
def customer(rep):
    return CustomerFactory(name="Ana Ruiz", owner=rep, team=rep.team)


def stock(product):
    product.refresh_from_db()
    return product.stock_on_hand, product.stock_reserved


def make_order(actor, customer, product, qty=1, **kwargs):
    return orders.create_order(
        actor=actor, customer_id=customer.pk, lines=[CartLine(product.pk, qty)], **kwargs
    )


def test_new_order_is_priced_by_the_engine_with_the_coupon(client_for, rep, customer, shop):
    Promotion.objects.create(name="Spring", code="SPRING", kind="amount", value="5")
    client = client_for(rep)
    form = client.get(f"{ORDERS}new/?customer={customer.pk}")
    assert form.status_code == 200 and "New order for Ana Ruiz" in form.content.decode()
    resp = client.post(
        f"{ORDERS}new/?customer={customer.pk}",
        grid([("ca", "2", ""), ("", "", "")], channel="phone", coupon_codes="spring"),
    )
    order = Order.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"{ORDERS}{order.pk}/"
    assert (order.status, order.channel, order.coupon_codes) == ("draft", "phone", ["SPRING"])
    assert str(order.discount_total) == "5.00" and str(order.total) == "18.15"  # 15 × 1.21
    html = client.get(resp["Location"]).content.decode()
    assert "Spring" in html and re.search(r"−5[.,]00 EUR", html)
    assert Interaction.objects.filter(customer=customer, subject__contains=order.number)


def test_new_order_refuses_bad_lines_naming_the_row(client_for, rep, customer, shop):
    resp = client_for(rep).post(
        f"{ORDERS}new/?customer={customer.pk}",
        grid([("CA", "1", ""), ("CA", "0", "")], channel="rep"),
    )
    assert resp.status_code == 422
    assert "Ensure this value is greater than or equal to 1." in resp.content.decode()
    assert not Order.objects.exists()


def test_detail_shows_bundle_components_under_their_bundle_and_history(
    client_for, rep, customer, shop
):
    _phone, _case, kit = shop
    order = make_order(rep, customer, kit)
    html = client_for(rep).get(f"{ORDERS}{order.pk}/").content.decode()
    kit_at = html.index("Starter kit")
    assert html.index("↳ Phone") > kit_at and html.index("↳ Case") > kit_at
    assert html.count('data-testid="bundle-component"') == 2
    assert "part of Starter kit" in html
    assert "Status history" in html and "Draft" in html
    # Only the transitions a draft may take are offered.
    assert f"/sales/orders/{order.pk}/status/confirmed/" in html
    assert f"/sales/orders/{order.pk}/status/cancelled/" in html
    assert "/status/shipped/" not in html and "/status/paid/" not in html


def test_confirm_without_stock_names_the_product_and_keeps_the_draft(
    client_for, rep, customer, shop
):
    phone, _case, _kit = shop
    order = make_order(rep, customer, phone, qty=3)  # only 1 in stock
    resp = client_for(rep).post(f"{ORDERS}{order.pk}/status/confirmed/", {"version": order.version})
    assert resp.status_code == 409
    html = resp.content.decode()
    assert "Not enough stock" in html and "Phone: 3 wanted, 1 available" in html
    order.refresh_from_db()
    assert order.status == "draft"
    assert stock(phone) == (1, 0)
    assert list(order.status_history.values_list("to_status", flat=True)) == ["draft"]


def test_confirm_then_cancel_with_confirmation_releases_stock(client_for, rep, customer, shop):
    phone, case, kit = shop
    order = make_order(rep, customer, kit)
    client = client_for(rep)
    resp = client.post(f"{ORDERS}{order.pk}/status/confirmed/", {"version": order.version})
    assert resp.status_code == 302
    assert stock(phone) == (1, 1) and stock(case) == (50, 2)
    detail = client.get(f"{ORDERS}{order.pk}/").content.decode()
    assert f'href="/sales/orders/{order.pk}/status/cancelled/"' in detail  # a link: asks first
    ask = client.get(f"{ORDERS}{order.pk}/status/cancelled/")
    assert ask.status_code == 200 and "stock reserved for it is released" in ask.content.decode()
    assert stock(phone) == (1, 1)  # asking changes nothing
    order.refresh_from_db()
    resp = client.post(
        f"{ORDERS}{order.pk}/status/cancelled/",
        {"version": order.version, "note": "customer changed mind"},
    )
    assert resp.status_code == 302
    assert stock(phone) == (1, 0) and stock(case) == (50, 0)
    html = client.get(f"{ORDERS}{order.pk}/").content.decode()
    assert 'data-testid="order-status">Cancelled<' in html and "customer changed mind" in html
    assert "/status/" not in html  # a cancelled order takes no further action


def test_stale_page_is_refused_and_changes_nothing(client_for, rep, customer, shop):
    _phone, case, _kit = shop
    order = make_order(rep, customer, case)
    orders.set_order_status(actor=rep, order_id=order.pk, status="confirmed")
    resp = client_for(rep).post(f"{ORDERS}{order.pk}/status/paid/", {"version": order.version})
    assert resp.status_code == 409
    assert "changed by someone else" in resp.content.decode()
    assert Order.objects.get(pk=order.pk).status == "confirmed"


def test_transition_not_allowed_is_refused(client_for, rep, customer, shop):
    _phone, case, _kit = shop
    order = make_order(rep, customer, case)
    resp = client_for(rep).post(f"{ORDERS}{order.pk}/status/delivered/")
    assert resp.status_code == 422
    assert "cannot become delivered" in resp.content.decode()
    assert Order.objects.get(pk=order.pk).status == "draft"


def test_status_change_shows_on_the_customer_timeline(client_for, rep, customer, shop):
    _phone, case, _kit = shop
    order = make_order(rep, customer, case)
    client_for(rep).post(f"{ORDERS}{order.pk}/status/confirmed/", {"version": order.version})
    assert Interaction.objects.filter(
        customer=customer, subject=f"Order {order.number} is now confirmed"
    ).exists()


def test_rep_of_another_team_gets_404_and_cannot_act(client_for, rep, rep_b, customer, shop):
    _phone, case, _kit = shop
    order = make_order(rep, customer, case)
    client = client_for(rep_b)
    assert client.get(f"{ORDERS}{order.pk}/").status_code == 404
    assert client.get(f"{ORDERS}{order.pk}/status/cancelled/").status_code == 404
    assert client.post(f"{ORDERS}{order.pk}/status/cancelled/").status_code == 404
    assert client.get(f"{ORDERS}new/?customer={customer.pk}").status_code == 404
    assert Order.objects.get(pk=order.pk).status == "draft"
    assert order.number not in client.get(ORDERS).content.decode()


def test_list_filters_search_and_totals(client_for, manager, rep, customer, shop):
    _phone, case, _kit = shop
    other = CustomerFactory(name="Bodega Sur", owner=manager, team=manager.team)
    a = make_order(rep, customer, case, qty=1)
    b = make_order(manager, other, case, qty=2, channel="web")
    orders.set_order_status(actor=manager, order_id=b.pk, status="confirmed")
    old = make_order(rep, customer, case, qty=3)
    Order.objects.filter(pk=old.pk).update(ordered_at=timezone.now() - dt.timedelta(days=40))
    client = client_for(manager)

    def numbers(**params):
        return {o.number for o in client.get(ORDERS, params).context["page"].object_list}

    assert numbers() == {a.number, b.number, old.number}
    assert numbers(status="confirmed") == {b.number}
    assert numbers(channel="web") == {b.number}
    assert numbers(customer="bodega") == {b.number}
    assert numbers(q=a.number[-6:]) == {a.number}
    since = (timezone.localdate() - dt.timedelta(days=7)).isoformat()
    assert numbers(**{"from": since}) == {a.number, b.number}
    assert numbers(to=(timezone.localdate() - dt.timedelta(days=30)).isoformat()) == {old.number}
    resp = client.get(ORDERS, {"customer_id": customer.pk})
    assert [(t["n"], Decimal(t["total"])) for t in resp.context["totals"]] == [
        (2, Decimal("48.40"))
    ]
    assert "2 orders, 48" in resp.content.decode()
    assert numbers(sort="-total") == {a.number, b.number, old.number}
    assert "No order matches these filters." in client.get(ORDERS, {"q": "zzz"}).content.decode()


def test_order_list_query_count_does_not_grow_with_rows(
    client_for, rep, customer, shop, django_assert_max_num_queries
):
    _phone, case, _kit = shop
    client = client_for(rep)
    make_order(rep, customer, case)
    with django_assert_max_num_queries(12) as few:
        client.get(ORDERS)
    for i in range(15):
        make_order(rep, CustomerFactory(owner=rep, team=rep.team, name=f"C{i}"), case)
    with django_assert_max_num_queries(len(few.captured_queries)):
        resp = client.get(ORDERS)
    assert len(resp.context["page"].object_list) == 16


def test_order_list_pages_without_counting(client_for, rep, customer, shop, monkeypatch):
    from vinculo.sales import views_orders

    _phone, case, _kit = shop
    monkeypatch.setattr(views_orders, "PAGE_SIZE", 2)
    made = sorted((make_order(rep, customer, case) for _ in range(3)), key=lambda o: o.number)
    client = client_for(rep)
    first = client.get(ORDERS, {"sort": "number"})
    page = first.context["page"]
    assert [o.number for o in page.object_list] == [made[0].number, made[1].number]
    assert page.has_next and not page.has_previous
    assert "page=2" in first.content.decode()
    second = client.get(ORDERS, {"sort": "number", "page": "2"}).context["page"]
    assert [o.number for o in second.object_list] == [made[2].number]
    assert not second.has_next and second.has_previous


def test_order_totals_stop_adding_up_past_the_cap(client_for, rep, customer, shop, monkeypatch):
    from vinculo.sales import selectors_orders

    _phone, case, _kit = shop
    monkeypatch.setattr(selectors_orders, "TOTALS_CAP", 2)
    for _ in range(3):
        make_order(rep, customer, case)
    resp = client_for(rep).get(ORDERS)
    assert resp.context["totals"] == [] and resp.context["totals_capped"]
    assert "More than 1,000 orders" in resp.content.decode()
    assert len(resp.context["page"].object_list) == 3


def test_order_list_sorts_by_each_column(client_for, rep, customer, shop):
    _phone, case, _kit = shop
    small, big = make_order(rep, customer, case, qty=1), make_order(rep, customer, case, qty=5)
    client = client_for(rep)
    for sort, first in [("total", small), ("-total", big), ("-ordered", big)]:
        page = client.get(ORDERS, {"sort": sort}).context["page"]
        assert page.object_list[0].pk == first.pk, sort
    for sort in ["status", "-status", "customer"]:  # customer: not sortable, the default
        assert len(client.get(ORDERS, {"sort": sort}).context["page"].object_list) == 2


def test_broad_filters_and_number_prefix_list_the_same_orders(
    client_for, manager, rep, customer, shop, monkeypatch
):
    # A filter matching many orders is checked along the sort's index (SQLite): same rows.
    from vinculo.sales import paging

    _phone, case, _kit = shop
    made = [make_order(rep, customer, case, qty=q) for q in (1, 3, 2)]
    orders.set_order_status(actor=rep, order_id=made[1].pk, status="confirmed")
    client = client_for(manager)
    since = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    queries = [
        {"status": "draft", "sort": "-total"},
        {"from": since, "sort": "total"},
        {"q": made[2].number.lower()},
        {"q": made[2].number[:6], "sort": "number"},
        {"q": made[2].number[-6:], "sort": "-total"},
    ]

    def numbers(params):
        return [o.number for o in client.get(ORDERS, params).context["page"].object_list]

    narrow = [numbers(p) for p in queries]
    monkeypatch.setattr(paging, "BROAD_FILTER", 0)
    assert [numbers(p) for p in queries] == narrow
    assert narrow[0] == [made[2].number, made[0].number]
    assert narrow[2] == [made[2].number] and narrow[4] == [made[2].number]
    assert sorted(narrow[3]) == sorted(o.number for o in made)


def test_a_piece_of_a_number_looks_among_the_latest_orders(
    client_for, rep, customer, shop, monkeypatch
):
    from vinculo.sales import selectors_orders

    _phone, case, _kit = shop
    old, new = make_order(rep, customer, case), make_order(rep, customer, case)
    Order.objects.filter(pk=old.pk).update(ordered_at=timezone.now() - dt.timedelta(days=9))
    monkeypatch.setattr(selectors_orders, "FRAGMENT_SCOPE", 1)
    client = client_for(rep)
    resp = client.get(ORDERS, {"q": old.number[-6:]})
    assert resp.context["page"].object_list == []
    assert "among the latest 20,000 orders" in resp.content.decode()
    assert [o.pk for o in client.get(ORDERS, {"q": new.number[-6:]}).context["page"]] == [new.pk]
    # The whole number (or its start) looks through every order.
    resp = client.get(ORDERS, {"q": old.number})
    assert [o.pk for o in resp.context["page"]] == [old.pk]
    assert "among the latest" not in resp.content.decode()


def test_customer_page_lists_latest_orders_and_quotes(client_for, rep, customer, shop):
    _phone, case, _kit = shop
    order = make_order(rep, customer, case)
    html = client_for(rep).get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="orders"' in html and order.number in html
    assert f"/sales/orders/new/?customer={customer.pk}" in html
    assert f"/sales/quotes/new/?customer={customer.pk}" in html


def test_pick_customer_lists_only_visible_customers(client_for, rep, rep_b, customer):
    CustomerFactory(name="Ana Hidden", owner=rep_b, team=rep_b.team)
    html = client_for(rep).get(f"{ORDERS}new/", {"q": "Ana"}).content.decode()
    assert f"?customer={customer.pk}" in html and "Ana Hidden" not in html
