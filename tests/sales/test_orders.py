import datetime as dt

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import Conflict, ValidationError
from vinculo.sales import catalog, orders
from vinculo.sales.models import Order, Product, Promotion
from vinculo.sales.pricing import CartLine, price_cart


@pytest.fixture
def shop(admin):
    phone = catalog.create_product(
        actor=admin, sku="PH", name="Phone", price="100", cost="60", stock_on_hand=5
    )
    case = catalog.create_product(
        actor=admin, sku="CA", name="Case", price="10", cost="2", stock_on_hand=50
    )
    kit = catalog.create_product(
        actor=admin, sku="KIT", name="Starter kit", price="105", kind="bundle"
    )
    catalog.set_bundle_items(actor=admin, bundle_id=kit.pk, items=[(phone.pk, 1), (case.pk, 2)])
    return phone, case, kit


def stock(product):
    product.refresh_from_db()
    return product.stock_on_hand, product.stock_reserved


def test_bundle_line_is_priced_once_and_split_into_components(admin, shop):
    phone, case, kit = shop
    order = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(kit.pk, 2)]
    )
    bundle_line = order.lines.get(bundle_line__isnull=True)
    assert (bundle_line.sku, bundle_line.quantity, str(bundle_line.unit_price)) == (
        "KIT",
        2,
        "105.00",
    )
    components = {
        ln.sku: (ln.quantity, str(ln.unit_price), str(ln.unit_cost))
        for ln in bundle_line.components.all()
    }
    assert components == {"PH": (2, "0.00", "60.00"), "CA": (4, "0.00", "2.00")}
    assert str(order.total) == "254.10"  # 210 + 21% VAT
    assert orders.stock_lines(order) == {phone.pk: 2, case.pk: 4}
    assert list(order.status_history.values_list("to_status", flat=True)) == ["draft"]


def test_confirm_reserves_cancel_releases(admin, shop):
    phone, case, kit = shop
    order = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(kit.pk, 2)]
    )
    orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
    assert stock(phone) == (5, 2) and stock(case) == (50, 4)
    orders.set_order_status(actor=admin, order_id=order.pk, status="cancelled", note="changed mind")
    assert stock(phone) == (5, 0) and stock(case) == (50, 0)
    order.refresh_from_db()
    assert [(h.from_status, h.to_status) for h in order.status_history.all()] == [
        ("", "draft"),
        ("draft", "confirmed"),
        ("confirmed", "cancelled"),
    ]


def test_ship_takes_stock_out_and_return_puts_it_back(admin, shop):
    phone, _case, _kit = shop
    order = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(phone.pk, 3)]
    )
    for status in ("confirmed", "paid", "shipped"):
        orders.set_order_status(actor=admin, order_id=order.pk, status=status)
    assert stock(phone) == (2, 0)
    orders.set_order_status(actor=admin, order_id=order.pk, status="delivered")
    orders.set_order_status(actor=admin, order_id=order.pk, status="returned")
    assert stock(phone) == (5, 0)


def test_short_stock_refuses_confirmation_and_reserves_nothing(admin, shop):
    phone, case, kit = shop
    order = orders.create_order(
        actor=admin,
        customer_id=CustomerFactory().pk,
        lines=[CartLine(case.pk, 1), CartLine(kit.pk, 6)],
    )
    with pytest.raises(Conflict) as exc:
        orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
    assert "Phone: 6 wanted, 5 available" in exc.value.message
    assert stock(phone) == (5, 0) and stock(case) == (50, 0)
    order.refresh_from_db()
    assert order.status == "draft"


def test_illegal_transition_is_refused(admin, shop):
    phone, *_ = shop
    order = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(phone.pk, 1)]
    )
    with pytest.raises(ValidationError) as exc:
        orders.set_order_status(actor=admin, order_id=order.pk, status="delivered")
    assert exc.value.field_errors["status"] == ["An order that is draft cannot become delivered."]


def test_confirm_records_redemption_and_limit_then_applies(admin, shop):
    phone, *_ = shop
    Promotion.objects.create(
        name="One only", code="ONE", kind="amount", value="10", max_uses_total=1
    )
    first = orders.create_order(
        actor=admin,
        customer_id=CustomerFactory().pk,
        lines=[CartLine(phone.pk, 1)],
        coupon_codes=["one"],
    )
    assert str(first.discount_total) == "10.00"
    orders.set_order_status(actor=admin, order_id=first.pk, status="confirmed")
    result = price_cart(lines=[CartLine(phone.pk, 1)], coupon_codes=["ONE"])
    assert not result.applied and result.promotions[0].reason == "This promotion has been used up."
    # Cancelling gives the use back.
    orders.set_order_status(actor=admin, order_id=first.pk, status="cancelled")
    assert price_cart(lines=[CartLine(phone.pk, 1)], coupon_codes=["ONE"]).applied


def test_confirm_refuses_when_a_promotion_expired_since_the_draft(admin, shop):
    phone, *_ = shop
    promo = Promotion.objects.create(name="Flash", code="FLASH", kind="percent", value="50")
    order = orders.create_order(
        actor=admin,
        customer_id=CustomerFactory().pk,
        lines=[CartLine(phone.pk, 1)],
        coupon_codes=["FLASH"],
    )
    promo.valid_to = timezone.now() - dt.timedelta(minutes=1)
    promo.save()
    with pytest.raises(Conflict) as exc:
        orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed")
    assert "Flash" in exc.value.message
    assert stock(phone) == (5, 0)


def test_external_reference_makes_creation_idempotent(admin, shop):
    phone, *_ = shop
    customer = CustomerFactory()
    a = orders.create_order(
        actor=admin,
        customer_id=customer.pk,
        lines=[CartLine(phone.pk, 1)],
        external_reference="SHOP-42",
    )
    b = orders.create_order(
        actor=admin,
        customer_id=customer.pk,
        lines=[CartLine(phone.pk, 1)],
        external_reference="SHOP-42",
    )
    assert a.pk == b.pk and Order.objects.count() == 1


def test_stale_version_is_refused(admin, shop):
    phone, *_ = shop
    order = orders.create_order(
        actor=admin, customer_id=CustomerFactory().pk, lines=[CartLine(phone.pk, 1)]
    )
    orders.set_order_status(actor=admin, order_id=order.pk, status="confirmed", expected_version=1)
    with pytest.raises(Conflict):
        orders.set_order_status(
            actor=admin, order_id=order.pk, status="cancelled", expected_version=1
        )
    assert Product.objects.get(pk=phone.pk).stock_reserved == 1


def test_customer_with_orders_cannot_be_deleted(admin, shop):
    from vinculo.core.models import AuditEntry
    from vinculo.customers.models import Customer
    from vinculo.customers.services import delete_customer

    phone, *_ = shop
    customer = CustomerFactory()
    orders.create_order(actor=admin, customer_id=customer.pk, lines=[CartLine(phone.pk, 1)])
    with pytest.raises(Conflict) as exc:
        delete_customer(actor=admin, customer_id=customer.pk)
    assert "orders" in exc.value.message
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(customer_id=customer.pk, action="delete").exists()
