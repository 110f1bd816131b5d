"""Dimension sources of the warehouse: customers, products and their category hierarchy,
users, teams and channels."""

from __future__ import annotations

from collections.abc import Iterable

from vinculo.analytics.warehouse.sources import DECIMAL, RATE, Col, Source, local_date, register


def _customers():
    from vinculo.customers.models import Customer

    return Customer.objects.all()


def _products():
    from vinculo.sales.models import Product

    return Product.objects.all()


def _category_rows() -> Iterable[tuple]:
    """Categories with their hierarchy flattened into levels 1-3 (deeper levels roll up
    into level 3's path)."""
    from vinculo.sales.models import Category

    cats = {c["id"]: c for c in Category.objects.values("id", "name", "parent_id", "path")}
    for cid, c in sorted(cats.items()):
        chain, seen, node = [], set(), c
        while node is not None and node["id"] not in seen:  # a cycle never loops forever
            seen.add(node["id"])
            chain.append(node["name"])
            node = cats.get(node["parent_id"])
        chain.reverse()
        levels = [*chain[:2], "/".join(chain[2:]) or None] if len(chain) > 2 else chain
        levels += [None] * (3 - len(levels))
        yield (cid, c["name"], c["parent_id"], c["path"] or "/".join(chain), len(chain), *levels)


def _user_rows() -> Iterable[tuple]:
    from django.contrib.auth import get_user_model

    for u in get_user_model().objects.select_related("team").order_by("pk"):
        yield (
            u.pk,
            u.username,
            u.get_full_name() or u.username,
            u.role,
            u.team_id,
            u.team.name if u.team else None,
            u.is_active,
        )


def _team_rows() -> Iterable[tuple]:
    from vinculo.accounts.models import Team

    yield from Team.objects.order_by("pk").values_list("pk", "name", "region", "manager_id")


def _channel_rows() -> Iterable[tuple]:
    """Every channel code used by orders or interactions, with its label (in English: the
    warehouse is language-neutral; pages translate the code)."""
    from django.utils import translation

    from vinculo.interactions.models import Interaction
    from vinculo.sales.models import Order

    with translation.override("en"):
        seen: dict[str, tuple] = {}
        for used_by, choices in (("order", Order.Channel), ("interaction", Interaction.Channel)):
            for code, label in choices.choices:
                if code in seen:
                    seen[code] = (code, seen[code][1], "both")
                else:
                    seen[code] = (code, str(label), used_by)
    return sorted(seen.values())


register(
    Source(
        name="customers",
        table="dim_customer",
        key="customer_id",
        kind="dimension",
        queryset=_customers,
        watermark="updated_at",
        columns=(
            Col("customer_id", "BIGINT", "id"),
            Col("kind", "VARCHAR"),
            Col("name", "VARCHAR"),
            Col("company_name", "VARCHAR"),
            Col("organization_id", "BIGINT"),
            Col("lifecycle_stage", "VARCHAR", "stage"),
            Col("acquisition_source", "VARCHAR", "source"),
            Col("country", "VARCHAR"),
            Col("region", "VARCHAR"),
            Col("city", "VARCHAR"),
            Col("language", "VARCHAR"),
            Col("owner_id", "BIGINT"),
            Col("team_id", "BIGINT"),
            Col("merged_into_id", "BIGINT"),
            Col("acquired_at", "TIMESTAMP", "created_at"),
            Col("acquired_date", "DATE", None, local_date("acquired_at")),
            Col("last_contact_at", "TIMESTAMP"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="products",
        table="dim_product",
        key="product_id",
        kind="dimension",
        queryset=_products,
        watermark="updated_at",
        columns=(
            Col("product_id", "BIGINT", "id"),
            Col("sku", "VARCHAR"),
            Col("name", "VARCHAR"),
            Col("kind", "VARCHAR"),
            Col("parent_id", "BIGINT"),
            Col("category_id", "BIGINT"),
            # Filled from dim_category after each refresh (a renamed category updates them).
            Col("category_path", "VARCHAR", None, "NULL"),
            Col("category_l1", "VARCHAR", None, "NULL"),
            Col("category_l2", "VARCHAR", None, "NULL"),
            Col("category_l3", "VARCHAR", None, "NULL"),
            Col("price", DECIMAL),
            Col("cost", DECIMAL),
            Col("currency", "VARCHAR"),
            Col("tax_rate", RATE),
            Col("active", "BOOLEAN"),
            Col("updated_at", "TIMESTAMP"),
        ),
    )
)

register(
    Source(
        name="categories",
        table="dim_category",
        key="category_id",
        kind="dimension",
        rows=_category_rows,
        columns=(
            Col("category_id", "BIGINT"),
            Col("name", "VARCHAR"),
            Col("parent_id", "BIGINT"),
            Col("path", "VARCHAR"),
            Col("depth", "INTEGER"),
            Col("category_l1", "VARCHAR"),
            Col("category_l2", "VARCHAR"),
            Col("category_l3", "VARCHAR"),
        ),
    )
)

register(
    Source(
        name="users",
        table="dim_user",
        key="user_id",
        kind="dimension",
        rows=_user_rows,
        columns=(
            Col("user_id", "BIGINT"),
            Col("username", "VARCHAR"),
            Col("full_name", "VARCHAR"),
            Col("role", "VARCHAR"),
            Col("team_id", "BIGINT"),
            Col("team_name", "VARCHAR"),
            Col("is_active", "BOOLEAN"),
        ),
    )
)

register(
    Source(
        name="teams",
        table="dim_team",
        key="team_id",
        kind="dimension",
        rows=_team_rows,
        columns=(
            Col("team_id", "BIGINT"),
            Col("name", "VARCHAR"),
            Col("territory", "VARCHAR"),
            Col("manager_id", "BIGINT"),
        ),
    )
)

register(
    Source(
        name="channels",
        table="dim_channel",
        key="channel",
        kind="dimension",
        rows=_channel_rows,
        columns=(
            Col("channel", "VARCHAR"),
            Col("label", "VARCHAR"),
            Col("used_by", "VARCHAR"),
        ),
    )
)
