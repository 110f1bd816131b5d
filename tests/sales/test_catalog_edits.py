"""Catalog edit services: category rename/move with its subtree, price list items (ambiguous
breaks refused), promotion edits and coupon code batches — each refusal writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vinculo.core.errors import ValidationError
from vinculo.core.models import AuditEntry
from vinculo.sales import catalog, pricelist_edits, pricelists, promotions
from vinculo.sales.models import Category, PromotionCode


@pytest.fixture
def tree(admin):
    a = catalog.create_category(actor=admin, name="A")
    b = catalog.create_category(actor=admin, name="B", parent_id=a.pk)
    c = catalog.create_category(actor=admin, name="C", parent_id=b.pk)
    return a, b, c


def paths():
    return sorted(Category.objects.values_list("path", flat=True))


def test_move_category_rewrites_the_whole_subtree(admin, tree):
    a, b, _c = tree
    catalog.update_category(actor=admin, category_id=b.pk, parent_id=None)
    assert paths() == ["A", "B", "B/C"]
    catalog.update_category(actor=admin, category_id=b.pk, name="Bee", parent_id=a.pk)
    assert paths() == ["A", "A/Bee", "A/Bee/C"]
    assert AuditEntry.objects.filter(object_id=b.pk, action="update").count() == 2


def test_category_cannot_move_under_itself_or_a_descendant(admin, tree):
    a, _b, c = tree
    for parent in (a, c):
        with pytest.raises(ValidationError) as exc:
            catalog.update_category(actor=admin, category_id=a.pk, parent_id=parent.pk)
        assert "parent_id" in exc.value.field_errors
    assert paths() == ["A", "A/B", "A/B/C"]


def test_category_rename_clash_and_slash_refused(admin, tree):
    a, b, _c = tree
    catalog.create_category(actor=admin, name="D", parent_id=a.pk)
    with pytest.raises(ValidationError, match="already exists"):
        catalog.update_category(actor=admin, category_id=b.pk, name="D")
    with pytest.raises(ValidationError):
        catalog.update_category(actor=admin, category_id=b.pk, name="x/y")
    assert paths() == ["A", "A/B", "A/B/C", "A/D"]


def test_price_item_same_break_refused_other_break_accepted(admin):
    mug = catalog.create_product(actor=admin, sku="MUG", name="Mug", price="10")
    price_list = pricelists.create_price_list(actor=admin, name="Retail")
    pricelist_edits.save_price_item(
        actor=admin, price_list_id=price_list.pk, product_id=mug.pk, min_quantity=5, price="9"
    )
    with pytest.raises(ValidationError) as exc:
        pricelist_edits.save_price_item(
            actor=admin, price_list_id=price_list.pk, product_id=mug.pk, min_quantity=5, price="8"
        )
    assert exc.value.field_errors["min_quantity"][0].startswith("“MUG” already has a price")
    pricelist_edits.save_price_item(
        actor=admin, price_list_id=price_list.pk, product_id=mug.pk, min_quantity=10, price="8"
    )
    assert list(price_list.items.values_list("min_quantity", "price")) == [
        (5, Decimal("9.00")),
        (10, Decimal("8.00")),
    ]


def test_update_price_list_validates_and_audits(admin):
    price_list = pricelists.create_price_list(actor=admin, name="Retail")
    with pytest.raises(ValidationError) as exc:
        pricelist_edits.update_price_list(
            actor=admin, price_list_id=price_list.pk, name="", channel="fax", currency="E"
        )
    assert set(exc.value.field_errors) == {"name", "channel", "currency"}
    pricelist_edits.update_price_list(
        actor=admin, price_list_id=price_list.pk, name="Phone deals", channel="phone"
    )
    price_list.refresh_from_db()
    assert (price_list.name, price_list.channel) == ("Phone deals", "phone")
    entry = AuditEntry.objects.filter(object_id=price_list.pk, action="update").get()
    assert entry.changes["channel"] == ["", "phone"]


def test_generated_codes_never_clash_with_a_promotion_code(admin):
    promo = pricelists.create_promotion(actor=admin, name="P", kind="percent", value="5")
    codes = promotions.generate_coupon_codes(actor=admin, promotion_id=promo.pk, count=50)
    assert len({c.code for c in codes}) == 50
    assert all(set(c.code) <= set(promotions.CODE_ALPHABET) for c in codes)
    other = pricelists.create_promotion(actor=admin, name="Q", kind="percent", value="5")
    with pytest.raises(ValidationError) as exc:
        promotions.update_promotion(
            actor=admin,
            promotion_id=other.pk,
            name="Q",
            kind="percent",
            value="5",
            code=codes[0].code.lower(),
        )
    assert exc.value.field_errors["code"] == [f"The coupon code “{codes[0].code}” is taken."]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"count": 0}, "count"), ({"prefix": "no spaces"}, "prefix"), ({"length": 3}, "length")],
)
def test_bad_coupon_batch_names_its_field_and_writes_nothing(admin, kwargs, field):
    promo = pricelists.create_promotion(actor=admin, name="P", kind="percent", value="5")
    with pytest.raises(ValidationError) as exc:
        promotions.generate_coupon_codes(
            actor=admin, promotion_id=promo.pk, **{"count": 5, **kwargs}
        )
    assert field in exc.value.field_errors
    assert not PromotionCode.objects.exists()
