"""Seeded order history with the structure analytics looks for.

Each buying customer follows a BG/NBD-style process: a purchase rate λ ~ Gamma (orders per
year) and, after every purchase, a chance p ~ Beta of going quiet for good. Purchase times are
a Poisson process thinned by a seasonal curve (December peak, Black Friday week), starting at
the customer's acquisition (``created_at``). Spend per order follows a Gamma-Gamma model (a
customer-level mean ν ~ Gamma, each order ~ Gamma around ν), a few favourite categories shape
what is bought, complementary products are added together (so basket rules exist), and the
order channel drifts for some customers (store or phone → web or portal). Lifecycle stage
steers the dropout: "inactive" and "lost" customers quit sooner.

Rows are generated per batch of customers (memory stays bounded) with one ``random.Random``
per run, so the same seed gives the same orders. Prices mirror ``sales.pricing``: price list
by priority (currency, channel, customer tag, quantity breaks), options on top, percentage
coupons spread over lines, tax on the discounted amount, order total = lines + shipping.
Order services write no timeline interaction, so neither does the seeder; statuses get the
history rows ``orders.set_order_status`` would write, and stock ends consistent: units of
confirmed or paid orders are reserved, and nothing goes below zero.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

from vinculo.devdata.seeding_catalog import Catalog

DAY = 86400.0
YEAR = 365.25 * DAY
# month -> purchase intensity (1 = an average month)
SEASON = {1: 0.85, 2: 0.8, 3: 0.9, 4: 0.95, 5: 1.0, 6: 0.95, 7: 0.9, 8: 0.75, 9: 0.95,
          10: 1.0, 11: 1.1, 12: 1.8}  # fmt: skip
BLACK_FRIDAY_BOOST = 1.3  # 20 Nov – 1 Dec
BUYING_STAGES = {"customer": (1.0, 12.0), "inactive": (2.0, 4.0), "lost": (3.0, 3.0)}  # p ~ Beta
CHANNELS_PERSON = ["web"] * 50 + ["store"] * 28 + ["phone"] * 10 + ["portal"] * 6 + ["rep"] * 6
CHANNELS_ORG = ["rep"] * 40 + ["web"] * 20 + ["portal"] * 20 + ["phone"] * 15 + ["store"] * 5
DIGITAL = ["web", "web", "portal"]
LEAF_BIAS_ORG = {"Cuadernos": 5, "Bolígrafos": 5, "Sillas": 4, "Mesas": 3, "Portátiles": 4,
                 "Monitores": 4, "Periféricos": 4, "Café en grano": 3, "Té": 2}  # fmt: skip
SHIPPED_CHANNELS = {"web", "phone", "portal"}
RESERVING = {"confirmed", "paid"}  # as orders.RESERVED_STATUSES
FREE_SHIPPING_FROM = 10_000  # cents
SHIPPING = 495
# Orders an average buyer places per year before calibration to ``lines_per_customer``.
BASE_RATE = 7.6

ORDER_COLS = (
    "id", "created_at", "updated_at", "version", "number", "customer_id", "channel", "status",
    "currency", "subtotal", "discount_total", "tax_total", "shipping", "total", "coupon_codes",
    "pricing", "external_reference", "ordered_at", "owner_id",
)  # fmt: skip
LINE_COLS = ("id", "order_id", "product_id", "bundle_line_id", "sku", "name", "options",
             "quantity", "unit_price", "unit_cost", "discount", "tax_rate", "tax",
             "total")  # fmt: skip
STATUS_COLS = ("order_id", "from_status", "to_status", "changed_at", "changed_by_id", "note")
REDEMPTION_COLS = ("promotion_id", "customer_id", "order_id", "amount", "created_at")


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def amount(cents: int) -> float:
    """Cents as a number for the database: c / 100 is the double nearest the decimal, and both
    SQLite (REAL) and PostgreSQL (numeric from its shortest repr) store exactly x.yz."""
    return cents / 100


@dataclass
class Buyer:
    """What the order generator needs of a seeded customer."""

    id: int
    created: float  # POSIX seconds: the acquisition date
    is_org: bool
    stage: str
    owner_id: int | None
    country: str
    tag_ids: frozenset[int]
    last_contact: float | None = None  # the newest interaction already generated


@dataclass
class SalesBatch:
    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    statuses: list[tuple] = field(default_factory=list)
    redemptions: list[tuple] = field(default_factory=list)
    quotes: list[tuple] = field(default_factory=list)
    quote_lines: list[tuple] = field(default_factory=list)


class OrderGenerator:
    def __init__(self, *, seed: int, catalog: Catalog, anchor_s: float, sqlite: bool,
                 rep_ids: list[int], lines_per_customer: float, next_order_id: int,
                 next_line_id: int) -> None:  # fmt: skip
        self.rnd = random.Random(seed * 1_000_003 + 11)
        self.seed = seed
        self.cat = catalog
        self.anchor_s = anchor_s
        self.suffix = "" if sqlite else "+00:00"
        self.rep_ids = rep_ids or [None]
        self.next_order = next_order_id
        self.next_line = next_line_id
        self.orders_made = 0
        self.reserved: dict[int, int] = defaultdict(int)  # product position -> units
        # Once-per-customer coupons the last customer's orders redeemed (seeding_quotes reads it).
        self.last_used: set[str] = set()
        # A buyer is 55 % of customers (stages); ~2.7 lines per order; calibrated rate.
        self.rate_scale = max(0.0, lines_per_customer) / 10.0
        self._days(anchor_s)
        self._leaf_tables()
        self.vip_ids = {t for _p, _c, _ch, t, _x in catalog.lists if t is not None}

    def _days(self, anchor_s: float) -> None:
        """Per-day seasonal intensity, order-number date and date text (UTC days) over the
        whole history: formatting moments by table is several times faster than datetime."""
        day = dt.datetime.fromtimestamp(anchor_s - 6 * YEAR, dt.UTC).date()
        self.base = dt.datetime.combine(day, dt.time(0), dt.UTC).timestamp()
        self.season: list[float] = []
        self.ymd: list[str] = []
        self.day_text: list[str] = []
        for _ in range(int(6 * 365.25) + 3):
            self.day_text.append(day.isoformat() + " ")
            m = SEASON[day.month]
            if (day.month == 11 and day.day >= 20) or (day.month == 12 and day.day == 1):
                m *= BLACK_FRIDAY_BOOST
            self.season.append(m)
            self.ymd.append(day.strftime("%Y%m%d"))
            day += dt.timedelta(days=1)
        self.season_max = max(self.season)

    def ts(self, t: float) -> str:
        d, r = divmod(int(t - self.base), 86400)
        return f"{self.day_text[d]}{r // 3600:02d}:{r // 60 % 60:02d}:{r % 60:02d}{self.suffix}"

    def _leaf_tables(self) -> None:
        cat = self.cat
        usable = [i for i, t in enumerate(cat.leaf_table) if t]
        self.leaf_person = usable
        self.leaf_org = [i for i in usable for _ in range(LEAF_BIAS_ORG.get(cat.leaves[i], 1))]
        self.bundles_by_leaf: dict[int, list[int]] = defaultdict(list)
        for b in cat.components:
            self.bundles_by_leaf[cat.leaf_of[b]].append(b)

    # --- one customer ----------------------------------------------------------------------

    def customer(self, out: SalesBatch, b: Buyer) -> int:
        """Orders of one customer; returns how many were made."""
        self.last_used = set()
        beta = BUYING_STAGES.get(b.stage)
        if beta is None or self.rate_scale <= 0:
            return 0
        rnd = self.rnd
        lam = rnd.gammavariate(1.6, BASE_RATE * self.rate_scale / 1.6) / YEAR  # per second
        if b.is_org:
            lam *= 1.4
        p_drop = rnd.betavariate(*beta)
        nu = rnd.gammavariate(3.0, (450 if b.is_org else 60) / 3.0) * 100  # cents
        leaves = self.leaf_org if b.is_org else self.leaf_person
        favourites = [
            leaves[int(rnd.random() * len(leaves))] for _ in range(1 + int(rnd.random() * 3))
        ]
        table = CHANNELS_ORG if b.is_org else CHANNELS_PERSON
        primary = table[int(rnd.random() * len(table))]
        switch_at, later = math.inf, primary
        if rnd.random() < 0.3:  # habit change, within the first 18 months as a customer
            later = DIGITAL[int(rnd.random() * 3)]
            switch_at = rnd.uniform(b.created, min(self.anchor_s, b.created + 1.5 * YEAR))
        ctx = _Customer(b, favourites, primary, later, switch_at, nu)
        self.last_used = ctx.used
        t = b.created + rnd.expovariate(1 / (3 * DAY))
        made = 0
        rate = lam * self.season_max
        season, base = self.season, self.base
        while t < self.anchor_s and made < 400:
            self._order(out, ctx, t, first=made == 0)
            made += 1
            if rnd.random() < p_drop or rate <= 0:
                break
            while True:  # next purchase: thinning of the seasonal Poisson process
                t += rnd.expovariate(rate)
                if (
                    t >= self.anchor_s
                    or rnd.random() * self.season_max < season[int((t - base) / DAY)]
                ):
                    break
        return made

    # --- one order -------------------------------------------------------------------------

    def _order(self, out: SalesBatch, c: _Customer, t: float, *, first: bool) -> None:
        rnd, cat = self.rnd, self.cat
        b = c.buyer
        channel = c.later if t >= c.switch_at else c.primary
        if rnd.random() < 0.2:
            table = CHANNELS_ORG if b.is_org else CHANNELS_PERSON
            channel = table[int(rnd.random() * len(table))]
        currency = "USD" if b.country == "US" else "EUR"
        z = rnd.gammavariate(6.0, c.nu / 6.0)  # this order's spend (Gamma-Gamma)
        picked = self._basket(c, 1 + _poisson(rnd, 1.1 * min(3.0, z / c.nu)))
        oid = self.next_order
        self.next_order += 1
        self.orders_made += 1
        priced = self._priced(picked, z, b, currency, channel)
        subtotal = sum(p[3] for p in priced)
        codes, pct, promo_id = self._coupons(c, t, first, channel)
        discount = 0
        promo_ids: list[tuple[int, int]] = []
        if pct:
            for p in priced:
                p[4] = p[3] * pct // 100
                discount += p[4]
            promo_ids.append((promo_id, discount))
        shipping = 0
        if channel in SHIPPED_CHANNELS and subtotal - discount < FREE_SHIPPING_FROM:
            shipping = SHIPPING
            free = cat.promotions.get("ENVIOGRATIS")
            if free and free[1] == "free_shipping" and subtotal - discount >= 5000 \
                    and rnd.random() < 0.3:  # fmt: skip
                codes.append("ENVIOGRATIS")
                promo_ids.append((free[0], SHIPPING))
                shipping = 0
        status, changes, updated = self._statuses(oid, t, channel)
        tax_total, lines_total = self._lines(out, oid, priced, reserve=status in RESERVING)
        ts = self.ts
        when = ts(t)
        number = f"SO-{self.ymd[int((t - self.base) / DAY)]}-S{self.seed}-{self.orders_made}"
        owner = None
        if channel == "rep":
            owner = b.owner_id or self.rep_ids[int(rnd.random() * len(self.rep_ids))]
        if promo_ids:
            pricing = json.dumps({"shipping": money(shipping), "promotions": [
                {"promotion_id": pid, "amount": money(cents), "applied": True}
                for pid, cents in promo_ids
            ]})  # fmt: skip
            coupons = json.dumps(codes)
        else:
            pricing = f'{{"shipping": "{money(shipping)}"}}'
            coupons = "[]"
        out.orders.append((oid, when, ts(updated), len(changes), number, b.id, channel, status,
                           currency, subtotal / 100, discount / 100, tax_total / 100,
                           shipping / 100, (lines_total + shipping) / 100, coupons, pricing,
                           None, when, owner))  # fmt: skip
        out.statuses.extend(changes)
        if status not in ("draft", "cancelled"):
            confirmed_at = changes[1][3]
            for pid, cents in promo_ids:
                out.redemptions.append((pid, b.id, oid, cents / 100, confirmed_at))

    def _basket(self, c: _Customer, n: int, rnd: random.Random | None = None) -> list[int]:
        """Up to 8 products, mostly from the favourite categories, with their complements."""
        rnd, cat = rnd or self.rnd, self.cat
        picked: list[int] = []
        for _ in range(min(n, 8)):
            if rnd.random() < 0.7:
                leaf = c.favourites[int(rnd.random() * len(c.favourites))]
            else:
                leaf = self.leaf_person[int(rnd.random() * len(self.leaf_person))]
            bundles = self.bundles_by_leaf.get(leaf)
            if bundles and rnd.random() < 0.03:
                i = bundles[int(rnd.random() * len(bundles))]
            else:
                tab = cat.leaf_table[leaf]
                i = tab[int(rnd.random() * len(tab))]
                variants = cat.variants.get(i)
                if variants:
                    i = variants[int(rnd.random() * len(variants))]
            if i in picked:
                continue
            picked.append(i)
            for partner in cat.complements.get(cat.parent_of.get(i, i), ()):
                if rnd.random() < 0.45 and partner not in picked:
                    variants = cat.variants.get(partner)
                    picked.append(variants[0] if variants else partner)
        return picked

    def _priced(self, picked: list[int], z: float, b: Buyer, currency: str, channel: str,
                rnd: random.Random | None = None) -> list[list]:  # fmt: skip
        """[position, quantity, unit, subtotal, discount, options] per product: quantities
        spread the order's spend (businesses buy in bulk), prices as the engine finds them."""
        rnd, cat = rnd or self.rnd, self.cat
        per_line = z / len(picked)
        cap = 60 if b.is_org else 3
        priced = []
        for i in picked:
            base_price = cat.price[i]
            qty = 1 if base_price >= per_line else min(cap, int(per_line / base_price + 0.5))
            if not b.is_org and rnd.random() < 0.85:
                qty = 1
            unit = self._unit_price(i, qty, currency, channel, b.tag_ids)
            opts: list = []
            if i in cat.options:
                opts, delta = self._options(i, rnd)
                unit += delta
            priced.append([i, qty, unit, unit * qty, 0, opts])
        return priced

    def _lines(self, out: SalesBatch, oid: int, priced: list[list], *,
               reserve: bool) -> tuple[int, int]:  # fmt: skip
        """Order lines (bundles with their component lines); returns (tax, total) in cents.
        Units of an order that holds stock are added to the reservations."""
        cat = self.cat
        tax_total = 0
        lines_total = 0
        for i, qty, unit, sub, disc, opts in priced:
            rate = cat.tax_bp[i]
            tax = ((sub - disc) * rate + 5000) // 10000
            total = sub - disc + tax
            tax_total += tax
            lines_total += total
            lid = self.next_line
            self.next_line += 1
            out.lines.append((lid, oid, cat.ids[i], None, cat.skus[i], cat.names[i],
                              json.dumps(opts, ensure_ascii=False) if opts else "[]", qty,
                              unit / 100, cat.cost[i] / 100, disc / 100, rate / 100, tax / 100,
                              total / 100))  # fmt: skip
            parts = cat.components.get(i)
            for comp in parts or ():
                out.lines.append((self.next_line, oid, cat.ids[comp], lid, cat.skus[comp],
                                  cat.names[comp], "[]", qty, 0, cat.cost[comp] / 100, 0, 0, 0,
                                  0))  # fmt: skip
                self.next_line += 1
            if reserve:
                for unit_pos in parts or (i,):
                    if cat.stock[unit_pos]:
                        self.reserved[unit_pos] += qty
        return tax_total, lines_total

    def _unit_price(self, i: int, qty: int, currency: str, channel: str, tags) -> int:
        return self.price_rule(i, qty, currency, channel, tags)[0]

    def price_rule(self, i: int, qty: int, currency: str, channel: str,
                   tags) -> tuple[int, int, int]:  # fmt: skip
        """As ``pricing._unit_price``: the highest-priority list that applies, the largest
        quantity break reached; else the catalog price (EUR only). Returns (cents, index of
        the list in ``cat.lists`` or -1 for the catalog price, quantity break)."""
        parent = self.cat.parent_of.get(i)
        for k, (_prio, cur, ch, tag, prices) in enumerate(self.cat.lists):
            if cur != currency or (ch and ch != channel) or (tag is not None and tag not in tags):
                continue
            breaks = prices.get(i) or (prices.get(parent) if parent is not None else None)
            if not breaks:
                continue
            best = None
            for min_qty, cents in breaks:
                if min_qty <= qty:
                    best, reached = cents, min_qty
            if best is not None:
                return best, k, reached
        return self.cat.price[i], -1, 1

    def _options(self, i: int, rnd: random.Random | None = None) -> tuple[list[dict], int]:
        """A valid choice: one size (required), the kit only without "std", "pro" with the
        five-year warranty (the rules ``catalog`` creates)."""
        rnd = rnd or self.rnd
        opts = {code: (group, name, delta) for group, code, name, delta in self.cat.options[i]}
        size = ["std", "std", "plus", "pro"][int(rnd.random() * 4)]
        chosen = [size]
        if size != "std" and rnd.random() < 0.3:
            chosen.append("kit")
        if size == "pro":
            chosen.append("g5")
        elif rnd.random() < 0.25:
            chosen.append("g3")
        out, delta = [], 0
        for code in chosen:
            if code in opts:
                group, name, d = opts[code]
                out.append({"code": code, "name": f"{group}: {name}"})
                delta += d
        return out, delta

    def _coupons(self, c: _Customer, t: float, first: bool, channel: str):
        rnd, promos = self.rnd, self.cat.promotions
        codes: list[str] = []
        if first and channel in SHIPPED_CHANNELS and rnd.random() < 0.25:
            code = "BIENVENIDA10"
        else:
            year = dt.datetime.fromtimestamp(t, dt.UTC).year
            code = None
            for name, p_use in ((f"BLACKFRIDAY{year}", 0.45), (f"VERANO{year}", 0.12)):
                promo = promos.get(name)
                if promo and promo[3] <= t < promo[4] and rnd.random() < p_use:
                    if name.startswith("VERANO"):
                        if name in c.used:
                            continue
                        c.used.add(name)
                    code = name
                    break
        if code and code in promos and promos[code][1] == "percent":
            pid, _kind, value, _f, _t = promos[code]
            return [code], value, pid
        return codes, 0, None

    def _statuses(self, oid: int, t: float, channel: str, rnd: random.Random | None = None):
        """The status path with its history rows; stops at whatever is reached by the anchor
        day. Most orders end delivered; a few are cancelled or returned."""
        rnd = rnd or self.rnd
        store = channel == "store"
        steps = [("draft", 0.0), ("confirmed", 30 if store else rnd.uniform(60, 900))]
        r = rnd.random()
        if r < 0.04:
            steps.append(("cancelled", rnd.uniform(600, 2 * DAY)))
        else:
            invoiced = channel in ("rep", "phone") and rnd.random() < 0.5
            steps.append(("paid", 60 if store else rnd.uniform(5, 20) * DAY if invoiced
                          else rnd.uniform(60, 3600)))  # fmt: skip
            steps.append(("shipped", 60 if store else rnd.uniform(0.3, 3) * DAY))
            steps.append(("delivered", 60 if store else rnd.uniform(1, 4) * DAY))
            if r < 0.04 + (0.07 if channel == "web" else 0.025):
                steps.append(("returned", rnd.uniform(3, 25) * DAY))
        changes = []
        before, at, status, last = "", t, "draft", t
        for name, delay in steps:
            at += delay
            if at > self.anchor_s:
                break
            changes.append((oid, before, name, self.ts(at), None, ""))
            before, status, last = name, name, at
        return status, changes, last


class _Customer:
    __slots__ = ("buyer", "favourites", "later", "nu", "primary", "switch_at", "used")

    def __init__(self, buyer, favourites, primary, later, switch_at, nu) -> None:
        self.buyer = buyer
        self.favourites = favourites
        self.primary = primary
        self.later = later
        self.switch_at = switch_at
        self.nu = nu
        self.used: set[str] = set()


def _poisson(rnd: random.Random, mu: float) -> int:
    limit, k, p = math.exp(-mu), 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k
