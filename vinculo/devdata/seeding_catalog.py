"""Seeded catalog: a three-level category tree, products (simple, with variants,
configurable with option rules, bundles), price lists and promotions with coupons.

The catalog is reference data shared by every seed: ``ensure_catalog`` creates it once
(deterministically, sized by the number of customers) and later runs reuse what is there.
The order generator never keeps model instances: ``load_catalog`` reads the catalog back in
SKU order into plain arrays (prices in cents), so orders are the same whether the catalog was
just created or reused. Complementary products (bought together) follow from the SKU order
and ``COMPLEMENTS``, so they need no table of their own.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from vinculo.sales.models import (
    BundleItem,
    Category,
    PriceList,
    PriceListItem,
    Product,
    ProductAttribute,
    ProductOption,
    Promotion,
)

SKU_PREFIX = "SD-"
# top -> middle -> [(leaf, singular noun, (min €, max €), tax %)]
TREE: dict[str, dict[str, list[tuple[str, str, tuple[int, int], int]]]] = {
    "Electrónica": {
        "Telefonía": [
            ("Smartphones", "Smartphone", (150, 1100), 21),
            ("Fundas y protectores", "Funda", (9, 40), 21),
            ("Cargadores", "Cargador", (12, 60), 21),
        ],
        "Informática": [
            ("Portátiles", "Portátil", (450, 1900), 21),
            ("Monitores", "Monitor", (120, 700), 21),
            ("Periféricos", "Teclado", (15, 150), 21),
        ],
        "Audio": [
            ("Auriculares", "Auriculares", (20, 350), 21),
            ("Altavoces", "Altavoz", (30, 400), 21),
        ],
    },
    "Hogar": {
        "Cocina": [
            ("Menaje", "Sartén", (12, 90), 21),
            ("Pequeño electrodoméstico", "Batidora", (25, 250), 21),
            ("Cafeteras", "Cafetera", (40, 600), 21),
        ],
        "Textil hogar": [
            ("Ropa de cama", "Juego de sábanas", (25, 120), 21),
            ("Toallas", "Toalla", (8, 40), 21),
        ],
        "Decoración": [
            ("Iluminación", "Lámpara", (20, 220), 21),
            ("Cuadros", "Lámina", (15, 150), 21),
        ],
    },
    "Moda": {
        "Mujer": [
            ("Vestidos", "Vestido", (25, 180), 21),
            ("Calzado mujer", "Botín", (35, 190), 21),
        ],
        "Hombre": [
            ("Camisas", "Camisa", (20, 110), 21),
            ("Calzado hombre", "Zapato", (40, 200), 21),
        ],
        "Complementos": [
            ("Bolsos", "Bolso", (30, 350), 21),
            ("Relojes", "Reloj", (40, 600), 21),
        ],
    },
    "Deporte": {
        "Running": [
            ("Zapatillas running", "Zapatilla", (50, 200), 21),
            ("Ropa técnica", "Camiseta técnica", (15, 80), 21),
        ],
        "Ciclismo": [
            ("Bicicletas", "Bicicleta", (300, 2500), 21),
            ("Cascos", "Casco", (30, 200), 21),
            ("Accesorios ciclismo", "Luz", (8, 70), 21),
        ],
        "Fitness": [
            ("Pesas", "Mancuerna", (15, 150), 21),
            ("Esterillas", "Esterilla", (12, 60), 21),
        ],
    },
    "Oficina": {
        "Papelería": [
            ("Cuadernos", "Cuaderno", (3, 25), 21),
            ("Bolígrafos", "Bolígrafo", (1, 30), 21),
        ],
        "Mobiliario": [
            ("Sillas", "Silla", (60, 650), 21),
            ("Mesas", "Mesa", (90, 900), 21),
        ],
    },
    "Alimentación": {
        "Café y té": [
            ("Café en grano", "Café", (6, 35), 10),
            ("Té", "Té", (4, 25), 10),
        ],
        "Gourmet": [
            ("Aceite de oliva", "Aceite", (8, 45), 10),
            ("Vinos", "Vino", (6, 90), 21),
        ],
    },
}
# leaf -> leaves whose products are bought with it (market-basket structure)
COMPLEMENTS = {
    "Smartphones": ["Fundas y protectores", "Cargadores"],
    "Portátiles": ["Periféricos"],
    "Monitores": ["Periféricos"],
    "Cafeteras": ["Café en grano"],
    "Zapatillas running": ["Ropa técnica"],
    "Bicicletas": ["Cascos", "Accesorios ciclismo"],
    "Vestidos": ["Bolsos"],
    "Camisas": ["Calzado hombre"],
    "Cuadernos": ["Bolígrafos"],
    "Sillas": ["Mesas"],
    "Aceite de oliva": ["Vinos"],
    "Ropa de cama": ["Toallas"],
    "Pesas": ["Esterillas"],
}
# leaves whose products come in sizes (templates with variants)
SIZED = {
    "Vestidos": ["XS", "S", "M", "L", "XL"],
    "Camisas": ["S", "M", "L", "XL"],
    "Calzado mujer": ["36", "37", "38", "39", "40"],
    "Calzado hombre": ["40", "41", "42", "43", "44", "45"],
    "Zapatillas running": ["39", "40", "41", "42", "43", "44"],
    "Ropa técnica": ["S", "M", "L"],
}
CONFIGURABLE = {"Portátiles", "Bicicletas", "Mesas"}
MODELS = ["Nova", "Atlas", "Brisa", "Cima", "Delta", "Eco", "Faro", "Luna", "Orbe", "Prisma",
          "Roca", "Sol", "Terra", "Vega", "Zen", "Alba", "Iris", "Maya"]  # fmt: skip
PRICE_LISTS = {  # name -> (currency, channel, tag, priority)
    "Tarifa USD": ("USD", "", None, 10),
    "Clientes VIP": ("EUR", "", "vip", 30),
    "Mayorista B2B": ("EUR", "", "b2b", 20),
    "Tienda online": ("EUR", "web", None, 5),
}


def product_count(customers: int) -> int:
    """~500 products for a demo, growing slowly to 2,000 for a million customers."""
    return max(500, min(2000, 500 + customers // 650))


# --- creation --------------------------------------------------------------------------------


def _cents(euros: float) -> int:
    return max(99, int(euros) * 100 + 99 if euros >= 10 else int(euros * 100) // 5 * 5 + 95)


def _dec(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@transaction.atomic
def ensure_catalog(*, customers: int, tags: dict[str, int], anchor: dt.datetime) -> bool:
    """Create the seeded categories, products, price lists and promotions unless seeded
    products already exist. Idempotent; returns whether anything was created."""
    created = _ensure_categories()
    if not Product.objects.filter(sku__startswith=SKU_PREFIX).exists():
        _create_products(product_count(customers), created)
        created_any = True
    else:
        created_any = False
    _ensure_price_lists(tags)
    _ensure_promotions(anchor)
    return created_any


def _ensure_categories() -> dict[str, Category]:
    leaves: dict[str, Category] = {}
    for top, middles in TREE.items():
        t, _ = Category.objects.get_or_create(parent=None, name=top, defaults={"path": top})
        for middle, items in middles.items():
            m, _ = Category.objects.get_or_create(
                parent=t, name=middle, defaults={"path": f"{top}/{middle}"}
            )
            for leaf, *_rest in items:
                leaves[leaf], _ = Category.objects.get_or_create(
                    parent=m, name=leaf, defaults={"path": f"{top}/{middle}/{leaf}"}
                )
    return leaves


def _leaf_specs():
    for middles in TREE.values():
        for items in middles.values():
            yield from items


def _create_products(total: int, leaves: dict[str, Category]) -> None:
    rnd = random.Random(7919)  # the catalog depends on its size only, not on the seed
    specs = list(_leaf_specs())
    per_leaf = max(6, total // len(specs))
    products: list[Product] = []
    variants: list[tuple[Product, str, list[str]]] = []  # (template, attribute, values)
    for li, (leaf, noun, (lo, hi), tax) in enumerate(specs):
        for k in range(per_leaf):
            price = _cents(lo * (hi / lo) ** rnd.random())  # log-uniform: many cheap, few dear
            cost = int(price * rnd.uniform(0.4, 0.75))
            kind = Product.Kind.SIMPLE
            if leaf in SIZED and k % 3 == 0:
                kind = Product.Kind.TEMPLATE
            elif leaf in CONFIGURABLE and k % 10 == 1:
                kind = Product.Kind.CONFIGURABLE
            name = f"{noun} {MODELS[(li + k) % len(MODELS)]} {100 + k * 7 + li}"
            p = Product(
                sku=f"{SKU_PREFIX}{li:02d}-{k:04d}",
                name=name,
                kind=kind,
                category=leaves[leaf],
                price=_dec(price),
                cost=_dec(cost),
                tax_rate=Decimal(tax),
                stock_on_hand=0 if kind == Product.Kind.TEMPLATE else rnd.randrange(0, 400),
                track_stock=kind != Product.Kind.TEMPLATE,
                active=rnd.random() > 0.03,
            )
            products.append(p)
            if kind == Product.Kind.TEMPLATE:
                variants.append((p, "talla", SIZED[leaf]))
    Product.objects.bulk_create(products, batch_size=500)
    _create_variants(rnd, variants)
    _create_options([p for p in products if p.kind == Product.Kind.CONFIGURABLE])
    _create_bundles(rnd, products)


def _create_variants(rnd: random.Random, templates) -> None:
    rows, attrs = [], []
    for template, attribute, values in templates:
        attrs.append(ProductAttribute(product=template, name=attribute, values=values))
        for value in values:
            rows.append(
                Product(
                    sku=f"{template.sku}-{value}",
                    name=f"{template.name} {value}",
                    kind=Product.Kind.VARIANT,
                    category=template.category,
                    parent=template,
                    variant_values={attribute: value},
                    price=template.price,
                    cost=template.cost,
                    tax_rate=template.tax_rate,
                    stock_on_hand=rnd.randrange(0, 120),
                    active=template.active,
                )
            )
    ProductAttribute.objects.bulk_create(attrs)
    Product.objects.bulk_create(rows, batch_size=500)


# (group, code, name, delta €, required group)
OPTIONS = [
    ("Tamaño", "std", "Estándar", 0, True),
    ("Tamaño", "plus", "Plus", 120, True),
    ("Tamaño", "pro", "Pro", 300, True),
    ("Extras", "kit", "Kit de montaje", 25, False),
    ("Garantía", "g3", "Garantía 3 años", 49, False),
    ("Garantía", "g5", "Garantía 5 años", 89, False),
]


def _create_options(configurables: list[Product]) -> None:
    rows = [
        ProductOption(product=p, group=g, code=c, name=n, price_delta=Decimal(d),
                      required_group=req, position=i)
        for p in configurables
        for i, (g, c, n, d, req) in enumerate(OPTIONS)
    ]  # fmt: skip
    ProductOption.objects.bulk_create(rows)
    by_code = {(o.product_id, o.code): o for o in rows}
    requires, excludes = ProductOption.requires.through, ProductOption.excludes.through
    req_rows, exc_rows = [], []
    for p in configurables:
        # "Pro" needs the 5-year warranty; the kit cannot go with the standard size.
        req_rows.append(requires(from_productoption=by_code[p.pk, "pro"],
                                 to_productoption=by_code[p.pk, "g5"]))  # fmt: skip
        a, b = by_code[p.pk, "kit"], by_code[p.pk, "std"]
        exc_rows += [excludes(from_productoption=a, to_productoption=b),
                     excludes(from_productoption=b, to_productoption=a)]  # fmt: skip
    requires.objects.bulk_create(req_rows)
    excludes.objects.bulk_create(exc_rows)


def _create_bundles(rnd: random.Random, products: list[Product]) -> None:
    by_leaf: dict[int, list[Product]] = defaultdict(list)
    for p in products:
        if p.kind == Product.Kind.SIMPLE and p.active:
            by_leaf[p.category_id].append(p)
    names = {c.pk: c.name for c in Category.objects.filter(pk__in=list(by_leaf))}
    leaf_id = {name: pk for pk, name in names.items()}
    bundles, items = [], []
    for i, (leaf, others) in enumerate(sorted(COMPLEMENTS.items())):
        if leaf not in leaf_id:
            continue
        pools = [by_leaf[leaf_id[n]] for n in [leaf, *others] if by_leaf.get(leaf_id.get(n))]
        if len(pools) < 2 or not by_leaf.get(leaf_id[leaf]):
            continue
        parts = [pool[min(2, len(pool) - 1)] for pool in pools]
        main = parts[0]
        price = int(sum(int(p.price * 100) for p in parts) * 0.9)
        bundle = Product(
            sku=f"{SKU_PREFIX}KIT-{i:02d}",
            name=f"Pack {main.name}",
            kind=Product.Kind.BUNDLE,
            category=main.category,
            price=_dec(price),
            cost=sum((p.cost for p in parts), Decimal(0)),
            tax_rate=main.tax_rate,
            track_stock=False,
        )
        bundles.append(bundle)
        items.append((bundle, parts))
    Product.objects.bulk_create(bundles)
    BundleItem.objects.bulk_create(
        BundleItem(bundle=b, component=c, quantity=1) for b, parts in items for c in parts
    )


def _ensure_price_lists(tags: dict[str, int]) -> None:
    sellable = list(
        Product.objects.filter(sku__startswith=SKU_PREFIX)
        .exclude(kind=Product.Kind.VARIANT)
        .order_by("sku")
        .values_list("pk", "price", "category__path")
    )
    for name, (currency, channel, tag, priority) in PRICE_LISTS.items():
        if PriceList.objects.filter(name=name).exists():
            continue
        pl = PriceList.objects.create(
            name=name, currency=currency, channel=channel, priority=priority,
            customer_tag_id=tags.get(tag) if tag else None,
        )  # fmt: skip
        items = []
        for pk, price, path in sellable:
            for qty, factor in _list_prices(name, price, path):
                unit = (price * Decimal(factor)).quantize(price)
                items.append(
                    PriceListItem(price_list=pl, product_id=pk, min_quantity=qty, price=unit)
                )
        PriceListItem.objects.bulk_create(items, batch_size=1000)


def _list_prices(name: str, price: Decimal, path: str) -> list[tuple[int, str]]:
    """(from quantity, factor on the catalog price) of a product in a seeded list."""
    if name == "Tarifa USD":
        return [(1, "1.08")]
    if name == "Clientes VIP":
        return [(1, "0.92")]
    if name == "Mayorista B2B" and price < 300:
        return [(1, "0.95"), (10, "0.90"), (50, "0.85")]
    if name == "Tienda online" and path.startswith("Electrónica"):
        return [(1, "0.97")]
    return []


def promotion_specs(anchor: dt.datetime) -> list[dict]:
    """Coupons: a welcome code, yearly Black Friday and summer codes over the history,
    free shipping over 50 €."""
    tz = timezone.get_current_timezone()
    specs = [
        dict(code="BIENVENIDA10", name="Bienvenida 10 %", kind="percent", value=10,
             first_order_only=True, max_uses_per_customer=1),
        dict(code="ENVIOGRATIS", name="Envío gratis desde 50 €", kind="free_shipping", value=0,
             min_amount=Decimal(50)),
    ]  # fmt: skip
    for year in range(anchor.year - 4, anchor.year + 1):
        bf = dt.datetime(year, 11, 20, tzinfo=tz)
        specs.append(dict(code=f"BLACKFRIDAY{year}", name=f"Black Friday {year}",
                          kind="percent", value=20, valid_from=bf,
                          valid_to=bf + dt.timedelta(days=12)))  # fmt: skip
        summer = dt.datetime(year, 6, 21, tzinfo=tz)
        specs.append(dict(code=f"VERANO{year}", name=f"Verano {year}", kind="percent",
                          value=15, valid_from=summer, valid_to=summer + dt.timedelta(days=70),
                          max_uses_per_customer=1))  # fmt: skip
    return specs


def _ensure_promotions(anchor: dt.datetime) -> None:
    for spec in promotion_specs(anchor):
        spec = dict(spec)
        code = spec.pop("code")
        spec["value"] = Decimal(spec["value"])
        Promotion.objects.get_or_create(code=code, defaults=spec)


# --- reading back ----------------------------------------------------------------------------


@dataclass
class Catalog:
    """The seeded catalog as arrays indexed by position (SKU order); money in cents."""

    ids: list[int] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    price: list[int] = field(default_factory=list)
    cost: list[int] = field(default_factory=list)
    tax_bp: list[int] = field(default_factory=list)  # tax rate in basis points (21 % = 2100)
    stock: list[bool] = field(default_factory=list)  # tracks stock
    leaf_of: list[int] = field(default_factory=list)
    variants: dict[int, list[int]] = field(default_factory=dict)  # template -> variants
    parent_of: dict[int, int] = field(default_factory=dict)  # variant -> template
    options: dict[int, list[tuple[str, str, str, int]]] = field(default_factory=dict)
    components: dict[int, list[int]] = field(default_factory=dict)  # bundle -> components
    leaves: list[str] = field(default_factory=list)
    leaf_table: list[list[int]] = field(default_factory=list)  # popularity table per leaf
    complements: dict[int, list[int]] = field(default_factory=dict)
    # price lists: name -> (priority, currency, channel, tag id, {product: [(min_qty, cents)]})
    lists: list[tuple[int, str, str, int | None, dict[int, list[tuple[int, int]]]]] = field(
        default_factory=list
    )
    promotions: dict[str, tuple[int, str, int, float | None, float | None]] = field(
        default_factory=dict
    )  # code -> (id, kind, value, valid from, valid to)
    list_names: list[str] = field(default_factory=list)  # the name of each of ``lists``


def load_catalog() -> Catalog:
    cat = Catalog()
    rows = list(
        Product.objects.filter(sku__startswith=SKU_PREFIX)
        .order_by("sku")
        .values_list("pk", "sku", "name", "kind", "price", "cost", "tax_rate", "track_stock",
                     "active", "parent_id", "category__name")
    )  # fmt: skip
    pos_of = {}
    leaf_pos: dict[str, int] = {}
    by_leaf: dict[int, list[int]] = defaultdict(list)
    kinds = []
    for i, (pk, sku, name, kind, price, cost, tax, track, active, _parent, leaf) in enumerate(rows):
        pos_of[pk] = i
        cat.ids.append(pk)
        cat.skus.append(sku)
        cat.names.append(name)
        cat.price.append(int(price * 100))
        cat.cost.append(int(cost * 100))
        cat.tax_bp.append(int(tax * 100))
        cat.stock.append(track)
        if leaf not in leaf_pos:
            leaf_pos[leaf] = len(cat.leaves)
            cat.leaves.append(leaf)
        cat.leaf_of.append(leaf_pos[leaf])
        kinds.append(kind)
        if kind == Product.Kind.VARIANT:
            continue
        if active and kind != Product.Kind.BUNDLE:
            by_leaf[leaf_pos[leaf]].append(i)
    for i, row in enumerate(rows):
        parent = row[9]
        if kinds[i] == Product.Kind.VARIANT and parent in pos_of:
            cat.variants.setdefault(pos_of[parent], []).append(i)
            cat.parent_of[i] = pos_of[parent]
    for o in ProductOption.objects.filter(product_id__in=cat.ids).order_by("product", "position"):
        cat.options.setdefault(pos_of[o.product_id], []).append(
            (o.group, o.code, o.name, int(o.price_delta * 100))
        )
    for b in BundleItem.objects.filter(bundle_id__in=cat.ids).order_by("bundle", "component"):
        cat.components.setdefault(pos_of[b.bundle_id], []).append(pos_of[b.component_id])
    # Popularity falls with the rank inside the category (Zipf-like).
    for leaf in range(len(cat.leaves)):
        table = []
        for rank, i in enumerate(by_leaf.get(leaf, [])):
            table += [i] * max(1, int(40 / (rank + 1) ** 0.8))
        cat.leaf_table.append(table)
    bundles_by_leaf = defaultdict(list)
    for b in cat.components:
        bundles_by_leaf[cat.leaf_of[b]].append(b)
    for leaf, others in COMPLEMENTS.items():
        if leaf not in leaf_pos:
            continue
        mains = by_leaf.get(leaf_pos[leaf], [])
        for k, i in enumerate(mains):
            partners = []
            for o in others:
                pool = by_leaf.get(leaf_pos.get(o, -1), [])
                if pool:
                    partners.append(pool[(k * 7) % min(len(pool), 12)])
            cat.complements[i] = partners
    _load_lists(cat, pos_of)
    for p in Promotion.objects.filter(code__isnull=False):
        cat.promotions[p.code] = (
            p.pk, p.kind, int(p.value),
            p.valid_from.timestamp() if p.valid_from else None,
            p.valid_to.timestamp() if p.valid_to else None,
        )  # fmt: skip
    return cat


def _load_lists(cat: Catalog, pos_of: dict[int, int]) -> None:
    named = []
    for pl in PriceList.objects.filter(name__in=list(PRICE_LISTS), active=True):
        prices: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for pid, qty, price in pl.items.order_by("product", "min_quantity").values_list(
            "product_id", "min_quantity", "price"
        ):
            if pid in pos_of:
                prices[pos_of[pid]].append((qty, int(price * 100)))
        named.append(
            ((pl.priority, pl.currency, pl.channel, pl.customer_tag_id, dict(prices)), pl.name)
        )
    named.sort(key=lambda x: -x[0][0])
    cat.lists = [entry for entry, _name in named]
    cat.list_names = [name for _entry, name in named]


def reset_catalog() -> bool:
    """Remove the seeded catalog if no order, quote or opportunity uses it any more."""
    from django.db.models.deletion import ProtectedError

    seeded = Product.objects.filter(sku__startswith=SKU_PREFIX)
    try:
        with transaction.atomic():
            PriceList.objects.filter(name__in=list(PRICE_LISTS)).delete()
            BundleItem.objects.filter(bundle__in=seeded).delete()
            seeded.filter(kind=Product.Kind.VARIANT).delete()
            seeded.delete()
    except ProtectedError:
        return False
    return True
