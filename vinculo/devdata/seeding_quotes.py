"""Seeded quotes and sales quotas, as ``sales.quotes`` and a sales manager would leave them.

Quotes: most opportunities that reached a late stage (Proposal, or "Contactado" for
renewals) got one, made a few days after entering it and valid for 30 days. Its lines are
priced for the "rep" channel as ``sales.pricing`` prices them (the order generator's rules:
price list by priority and quantity break, option deltas, tax on the line) and the
opportunity's amount becomes the lines' net amount (subtotal − discounts, tax-free), with
the same product lines, as ``pipelines.set_opportunity_lines`` leaves it. A quote made
during a seeded campaign (Black Friday 20 %, summer 15 %: the dated percentage coupons) often
carries its code when the engine would accept it on every day the quote's story needs it:
the day it was made, the day a won deal accepted it (so its order gets the same discount and
the redemption), and today for one still open; a once-per-customer code only if none of the
customer's orders or other quotes used it. The percentage (rounded per line, half up, as the
engine does) comes off each line before tax. Then:

- won → accepted on the day it was won, with the order ``quotes.accept_quote`` creates
  (channel "rep", the quote's lines and totals, ``external_reference = "quote:<number>"``,
  the usual status path and stock reservation);
- lost → rejected when it was lost, or expired if its validity ran out first;
- open → sent or still a draft, or expired when 30 days went by without an answer (a deal
  stalled for longer was quoted anew in the last month, more often than not).

The timeline gets what the services write: a note when the quote is made, an email when it
is sent and a note when it is accepted, each related to the quote.

Quotas: one per sales rep (and the sales manager) and month from the first month with a won
deal to three months after the anchor, near what the rep wins: the average won amount of the
previous three months (of the whole history, early on), for past months averaged with what
the month really brought (a plan knows the deals in sight), raised 0–25 % as targets are; so
attainment mostly lands between 70 and 110 %, and the month in progress starts low.
Existing quotas are never changed (a quota set by a manager stays).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from vinculo.devdata.seeding_pipeline import Deal, PipelineBatch
from vinculo.devdata.seeding_sales import DAY, RESERVING, Buyer, OrderGenerator, SalesBatch, money
from vinculo.sales.models import Opportunity, Promotion, Quota, Quote

VALID_DAYS = 30  # as quotes.DEFAULT_VALID_DAYS
# Share of the opportunities with a late stage that got a quote, by outcome.
QUOTED = {"won": 0.85, "lost": 0.8, "open": 0.75}
QUOTE_COLS = (
    "id", "created_at", "updated_at", "version", "number", "opportunity_id", "customer_id",
    "status", "valid_until", "currency", "channel", "coupon_codes", "subtotal",
    "discount_total", "tax_total", "shipping", "total", "pricing", "notes", "sent_at",
    "accepted_at", "order_id", "owner_id",
)  # fmt: skip
# Written only where the model has them (a rejected quote's moment and reason).
REJECTION_COLS = ("rejected_at", "rejection_reason")
QUOTE_LINE_COLS = ("quote_id", "product_id", "sku", "name", "option_codes", "quantity",
                   "unit_price", "price_rule", "discount", "tax_rate", "tax",
                   "total")  # fmt: skip
OPP_LINE_COLS = ("opportunity_id", "product_id", "quantity", "option_codes")
NO_SHIPPING = '{"shipping": "0.00"}'
# A quote made while a campaign coupon is valid carries it this often (reps quote the offer).
COUPON_SHARE = 0.6
QUOTA_MONTHS_AHEAD = 3
QUOTA_WINDOW = 3


def quote_columns() -> tuple[str, ...]:
    have = {f.column for f in Quote._meta.concrete_fields}
    return QUOTE_COLS + tuple(c for c in REJECTION_COLS if c in have)


class QuoteGenerator:
    """Quotes for the deals ``PipelineGenerator`` just made, with the orders of the won ones
    (ids and reservations from ``orders``, so they mix with the order history)."""

    def __init__(self, *, seed: int, orders: OrderGenerator, flag, next_quote: int) -> None:
        self.rnd = random.Random(seed * 9_576_890_767 + 3)
        self.seed = seed
        self.og = orders
        self.flag = flag
        self.next_quote = next_quote
        self.made = 0
        self.rejection = len(quote_columns()) > len(QUOTE_COLS)
        self.quote_type = ContentType.objects.get_for_model(Quote).pk
        cat = orders.cat
        self.rules = [_("Price list “%(list)s”") % {"list": n} for n in cat.list_names]
        self.catalog_rule = _("Catalog price")
        self.from_units = _("(from %(n)s units)")
        self.campaigns = self._campaigns()
        self.used: set[str] = set()

    @staticmethod
    def _campaigns() -> list[tuple[str, int, int, float, float, str, bool]]:
        """The seeded coupons a quote may carry: active, dated, a percentage, no minimum, not
        only for a first order, no overall cap: (code, percent, id, from, to, name, once per
        customer), in code order."""
        rows = Promotion.objects.filter(
            active=True, kind="percent", code__isnull=False, valid_from__isnull=False,
            valid_to__isnull=False, first_order_only=False, min_amount__isnull=True,
            max_uses_total__isnull=True, products__isnull=True, categories__isnull=True,
            customer_tag__isnull=True,
        ).order_by("code")  # fmt: skip
        return [
            (p.code, int(p.value), p.pk, p.valid_from.timestamp(), p.valid_to.timestamp(),
             p.name, p.max_uses_per_customer is not None)
            for p in rows
            if p.max_uses_per_customer in (None, 1) and p.value == int(p.value)
        ]  # fmt: skip

    def customer(self, sales: SalesBatch, pipe: PipelineBatch, b: Buyer, deals: list[Deal],
                 next_iid: int) -> int:  # fmt: skip
        """Quotes of one customer's deals; returns the next free interaction id."""
        rnd = self.rnd
        # Once-per-customer codes this customer already redeemed (orders made just before).
        self.used = set(self.og.last_used)
        for deal in deals:
            if deal.late_at is None or rnd.random() >= QUOTED[deal.outcome]:
                continue
            next_iid = self._quote(sales, pipe, b, deal, next_iid)
        return next_iid

    # --- one quote -------------------------------------------------------------------------

    def _quote(self, sales: SalesBatch, pipe: PipelineBatch, b: Buyer, deal: Deal,
               next_iid: int) -> int:  # fmt: skip
        rnd, og = self.rnd, self.og
        anchor = og.anchor_s
        end = deal.closed_at if deal.closed_at is not None else anchor
        made = deal.late_at + rnd.uniform(0.2, 4) * DAY
        if deal.outcome == "open" and made + VALID_DAYS * DAY < anchor and rnd.random() < 0.6:
            made = anchor - rnd.uniform(1, VALID_DAYS - 2) * DAY  # a stalled deal, quoted anew
        if made >= end:  # decided quickly: the quote came soon after the proposal stage
            made = deal.late_at + (end - deal.late_at) * rnd.uniform(0.1, 0.5)
        sent = made + rnd.uniform(600, 2 * DAY)
        if sent >= end:
            sent = made + (end - made) * 0.5
        made_day = og.ts(made)[:10]
        valid_days = VALID_DAYS
        if deal.outcome == "won":  # the validity was extended until the customer signed
            days = int((end - made) // DAY) + 2
            valid_days = max(VALID_DAYS, min(365, days))
        valid_until = dt.date.fromisoformat(made_day) + dt.timedelta(days=valid_days)
        expires_s = dt.datetime.combine(valid_until, dt.time(23, 59), dt.UTC).timestamp()
        lines, subtotal, tax_total = self._lines(b, deal.amount)
        qid = self.next_quote
        self.next_quote += 1
        self.made += 1
        number = f"Q-{og.ymd[int((made - og.base) / DAY)]}-S{self.seed}-{self.made}"
        status, sent_at, accepted_at, rejected_at, reason = "sent", sent, None, None, ""
        order_id, order_no = None, ""
        if deal.outcome == "won":
            status, accepted_at = "accepted", end
        elif deal.outcome == "lost":
            if expires_s < end:
                status = "expired"
            else:
                status, rejected_at, reason = "rejected", end, deal.lost_reason
        elif expires_s < anchor:
            status = "expired"
        elif rnd.random() < 0.25 or sent > anchor:
            status, sent_at = "draft", None
        # The days the coupon must hold: made, accepted (the order), or today while still open.
        days = [made, end] if status == "accepted" else [made]
        if status in ("sent", "draft"):
            days.append(anchor)
        coupon = self._coupon(days)
        discount, pricing, codes = 0, NO_SHIPPING, "[]"
        if coupon is not None:
            lines, discount, tax_total = self._discounted(lines, coupon[1])
            pricing, codes = self._pricing(coupon, discount), json.dumps([coupon[0]])
        if status == "accepted":
            order_id, order_no = self._order(sales, b, deal, number, end, lines, subtotal,
                                             coupon, discount)  # fmt: skip
        version = {"draft": 1, "sent": 2, "expired": 3, "rejected": 3, "accepted": 3}[status]
        last = max(t for t in (made, sent_at, accepted_at, rejected_at) if t is not None)
        if status == "expired":
            last = min(anchor, expires_s + DAY)
        ts = og.ts
        row = (qid, ts(made), ts(last), version, number, deal.id, b.id, status,
               valid_until.isoformat(), "USD" if b.country == "US" else "EUR", "rep", codes,
               subtotal / 100, discount / 100, tax_total / 100, 0.0,
               (subtotal - discount + tax_total) / 100, pricing, "",
               ts(sent_at) if sent_at else None,
               ts(accepted_at) if accepted_at else None, order_id, deal.owner_id)  # fmt: skip
        if self.rejection:
            row += (ts(rejected_at) if rejected_at else None, reason)
        sales.quotes.append(row)
        for pos, qty, unit, sub, tax, rate, opts, rule, disc in lines:
            sales.quote_lines.append((qid, og.cat.ids[pos], og.cat.skus[pos], og.cat.names[pos],
                                      opts, qty, unit / 100, rule, disc / 100, rate / 100,
                                      tax / 100, (sub - disc + tax) / 100))  # fmt: skip
            pipe.opportunity_lines.append((deal.id, og.cat.ids[pos], qty, opts))
        opp = list(pipe.opportunities[deal.row])
        opp[11], opp[13] = money(subtotal - discount), self.flag(True)  # amount, from lines
        pipe.opportunities[deal.row] = tuple(opp)
        return self._timeline(pipe, b, deal, qid, number, subtotal - discount + tax_total, made,
                              sent_at, accepted_at, order_no, next_iid)  # fmt: skip

    def _coupon(self, days: list[float]) -> tuple[str, int, int, str] | None:
        """(code, percent, promotion id, name) of a campaign coupon valid on every one of
        ``days`` (as the engine checks it: from ≤ day < to) and not used up by this customer,
        taken ``COUPON_SHARE`` of the time; else None. A random number is drawn only for a
        quote inside a campaign."""
        for code, pct, pid, start, stop, name, once in self.campaigns:
            if (once and code in self.used) or not all(start <= d < stop for d in days):
                continue
            if self.rnd.random() >= COUPON_SHARE:
                return None
            if once:
                self.used.add(code)
            return code, pct, pid, name
        return None

    @staticmethod
    def _discounted(lines: list[tuple], pct: int) -> tuple[list[tuple], int, int]:
        """The lines with the percentage off each (rounded half up to the cent, as
        ``pricing._discount``) and the tax on what is left; returns (lines, discount, tax)."""
        out, discount, tax_total = [], 0, 0
        for pos, qty, unit, sub, _tax, rate, opts, rule, _disc in lines:
            disc = (sub * pct + 50) // 100
            tax = ((sub - disc) * rate + 5000) // 10000
            out.append((pos, qty, unit, sub, tax, rate, opts, rule, disc))
            discount += disc
            tax_total += tax
        return out, discount, tax_total

    @staticmethod
    def _pricing(coupon: tuple[str, int, int, str], discount: int) -> str:
        """The engine's answer kept on the quote: no shipping, the coupon applied."""
        code, _pct, pid, name = coupon
        promotion = {"promotion_id": pid, "name": name, "code": code, "applied": True,
                     "amount": money(discount), "reason": ""}  # fmt: skip
        return json.dumps({"shipping": "0.00", "promotions": [promotion]}, ensure_ascii=False)

    def _lines(self, b: Buyer, target: int) -> tuple[list[tuple], int, int]:
        """Products near the deal's amount, priced for the rep channel: [(position, quantity,
        unit, subtotal, tax, tax rate in bp, option codes as JSON, price rule, discount)]."""
        rnd, og = self.rnd, self.og
        leaves = og.leaf_org if b.is_org else og.leaf_person
        favourites = [leaves[int(rnd.random() * len(leaves))] for _ in range(2)]
        picked = og._basket(_Wish(favourites), 1 + int(rnd.random() * 4), rnd)
        currency = "USD" if b.country == "US" else "EUR"
        priced = og._priced(picked, float(target), b, currency, "rep", rnd)
        lines, subtotal, tax_total = [], 0, 0
        for pos, qty, unit, sub, _disc, opts in priced:
            _cents, k, reached = og.price_rule(pos, qty, currency, "rep", b.tag_ids)
            rule = self.rules[k] if k >= 0 else self.catalog_rule
            if k >= 0 and reached > 1:
                rule += " " + self.from_units % {"n": reached}
            rate = og.cat.tax_bp[pos]
            tax = (sub * rate + 5000) // 10000
            codes = json.dumps([o["code"] for o in opts])
            lines.append((pos, qty, unit, sub, tax, rate, codes, rule, 0))
            subtotal += sub
            tax_total += tax
        return lines, subtotal, tax_total

    def _order(self, sales: SalesBatch, b: Buyer, deal: Deal, number: str, at: float,
               lines: list[tuple], subtotal: int, coupon: tuple | None,
               discount: int) -> tuple[int, str]:  # fmt: skip
        """The order ``accept_quote`` creates: the quote's lines at the quoted prices, with
        its coupon (redeemed once the order is confirmed, as ``orders`` records it)."""
        og = self.og
        oid = og.next_order
        og.next_order += 1
        og.orders_made += 1
        status, changes, updated = og._statuses(oid, at, "rep", self.rnd)
        priced = [[pos, qty, unit, sub, disc, self._options_of(opts)]
                  for pos, qty, unit, sub, _tax, _rate, opts, _rule, disc in lines]  # fmt: skip
        tax_total, lines_total = og._lines(sales, oid, priced, reserve=status in RESERVING)
        when = og.ts(at)
        order_no = f"SO-{og.ymd[int((at - og.base) / DAY)]}-S{self.seed}-{og.orders_made}"
        owner = deal.owner_id or og.rep_ids[deal.id % len(og.rep_ids)]
        codes, pricing = "[]", NO_SHIPPING
        if coupon is not None:
            codes = json.dumps([coupon[0]])
            applied = {"promotion_id": coupon[2], "amount": money(discount), "applied": True}
            pricing = json.dumps({"shipping": "0.00", "promotions": [applied]})
            if status not in ("draft", "cancelled"):
                sales.redemptions.append((coupon[2], b.id, oid, discount / 100, changes[1][3]))
        sales.orders.append((oid, when, og.ts(updated), len(changes), order_no, b.id, "rep",
                             status, "USD" if b.country == "US" else "EUR", subtotal / 100,
                             discount / 100, tax_total / 100, 0.0, lines_total / 100, codes,
                             pricing, f"quote:{number}", when, owner))  # fmt: skip
        sales.statuses.extend(changes)
        return oid, order_no

    def _options_of(self, codes: str) -> list[dict]:
        return [{"code": c} for c in json.loads(codes)] if codes != "[]" else []

    def _timeline(self, pipe: PipelineBatch, b: Buyer, deal: Deal, qid: int, number: str,
                  total: int, made: float, sent_at: float | None, accepted_at: float | None,
                  order_no: str, next_iid: int) -> int:  # fmt: skip
        """The notes and the email ``create_quote``, ``send_quote`` and ``accept_quote`` log."""
        ts, cur = self.og.ts, "USD" if b.country == "US" else "EUR"
        events = [(made, "note", "internal", "internal",
                   f"Quote {number} made: {money(total)} {cur}", "", "")]  # fmt: skip
        if sent_at is not None:
            events.append((sent_at, "email", "email", "out", f"Your quote {number}",
                           f"Quote {number} sent", "sent"))  # fmt: skip
        if accepted_at is not None:
            events.append((accepted_at, "note", "internal", "internal",
                           f"Quote {number} accepted: order {order_no}", "", ""))  # fmt: skip
        for at, kind, channel, direction, subject, body, outcome in events:
            when = ts(at)
            pipe.interactions.append((next_iid, when, when, 1, b.id, kind, channel, direction,
                                      subject[:255], body, outcome, None, when, deal.owner_id,
                                      self.quote_type, qid))  # fmt: skip
            next_iid += 1
            if at > pipe.contacts.get(b.id, 0.0):
                pipe.contacts[b.id] = at
        return next_iid


class _Wish:
    """What ``OrderGenerator._basket`` reads of a customer: the categories to pick from."""

    __slots__ = ("favourites",)

    def __init__(self, favourites: list[int]) -> None:
        self.favourites = favourites


# --- quotas ----------------------------------------------------------------------------------


def ensure_quotas(*, seed: int, rep_ids: list[int], anchor: dt.datetime) -> int:
    """A monthly quota per rep near what they win (see the module docstring); existing quotas
    are kept. Returns how many were created."""
    if not rep_ids:
        return 0
    won: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    rows = (
        Opportunity.objects.filter(status="won", owner_id__in=rep_ids, closed_at__isnull=False)
        .annotate(m=TruncMonth("closed_at"))
        .values("owner_id", "m")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    first = None
    for r in rows:
        month = r["m"].date() if isinstance(r["m"], dt.datetime) else r["m"]
        won[r["owner_id"]][month] = r["total"] or Decimal(0)
        first = month if first is None or month < first else first
    if first is None:
        return 0
    last = _add_months(anchor.date().replace(day=1), QUOTA_MONTHS_AHEAD)
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = _add_months(m, 1)
    current = anchor.date().replace(day=1)
    past = [m for m in months if m <= current]
    rnd = random.Random(seed * 15_485_863 + 7)
    quotas = []
    for user_id in sorted(rep_ids):
        mine = won.get(user_id, {})
        overall = sum(mine.values(), Decimal(0)) / max(1, len(past))
        for i, month in enumerate(months):
            # Months to come are planned from the last complete months.
            before = [p for p in months[:i] if p < current][-QUOTA_WINDOW:]
            window = [mine.get(p, Decimal(0)) for p in before]
            base = sum(window, Decimal(0)) / len(window) if len(window) >= 3 else overall
            if month < current:  # the plan also knew the month's own deals coming
                base = (base + mine.get(month, Decimal(0))) / 2
            target = base * Decimal(str(round(rnd.uniform(1.0, 1.25), 3)))
            amount = max(Decimal(100), (target / 100).quantize(Decimal(1), ROUND_HALF_UP) * 100)
            quotas.append(Quota(user_id=user_id, month=month, amount=amount, currency="EUR"))
    created = Quota.objects.bulk_create(quotas, ignore_conflicts=True)
    return len(created)


def _add_months(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)
