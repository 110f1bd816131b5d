"""The sales step of ``seeding.seed``: set up the catalog and pipelines once, then for each
batch of freshly generated customers add their orders, leads and opportunities, written in
the same transaction as the customers. ``finish`` settles stock and sequences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from vinculo.devdata import seeding_catalog, seeding_quotes
from vinculo.devdata.seeding_pipeline import (
    HISTORY_COLS,
    LEAD_COLS,
    OPP_COLS,
    PipelineBatch,
    PipelineGenerator,
    ensure_pipelines,
)
from vinculo.devdata.seeding_quotes import OPP_LINE_COLS, QUOTE_LINE_COLS, QuoteGenerator
from vinculo.devdata.seeding_sales import (
    LINE_COLS,
    ORDER_COLS,
    REDEMPTION_COLS,
    STATUS_COLS,
    OrderGenerator,
    SalesBatch,
)
from vinculo.sales.models import (
    Lead,
    Opportunity,
    OpportunityLine,
    Order,
    OrderLine,
    OrderStatusChange,
    Product,
    PromotionRedemption,
    Quota,
    Quote,
    QuoteLine,
    StageHistory,
)

SEQUENCED = (Order, OrderLine, Lead, Opportunity, Quote)
TABLES = [m._meta.db_table for m in (*SEQUENCED, OrderStatusChange, PromotionRedemption,
                                     StageHistory, Product, QuoteLine, OpportunityLine,
                                     Quota)]  # fmt: skip


@dataclass
class SalesStats:
    products: int = 0
    orders: int = 0
    order_lines: int = 0
    status_changes: int = 0
    redemptions: int = 0
    leads: int = 0
    opportunities: int = 0
    stage_history: int = 0
    opportunity_lines: int = 0
    quotes: int = 0
    quote_lines: int = 0
    quotas: int = 0

    @property
    def rows(self) -> int:
        return (self.orders + self.order_lines + self.status_changes + self.redemptions
                + self.leads + self.opportunities + self.stage_history
                + self.opportunity_lines + self.quotes + self.quote_lines
                + self.quotas)  # fmt: skip


def _max_id(model) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return int(cur.fetchone()[0])


class SalesStep:
    """Does nothing when ``lines_per_customer`` is 0 (customers and timelines only)."""

    def __init__(self, *, seed: int, customers: int, tags: dict[str, int], staff: Any,
                 anchor: dt.datetime, ts: Callable, flag: Callable, lines_per_customer: float,
                 stats: SalesStats) -> None:  # fmt: skip
        self.enabled = lines_per_customer > 0
        self.stats = stats
        self.ts = ts
        self.sales = SalesBatch()
        self.pipe = PipelineBatch()
        if not self.enabled:
            return
        seeding_catalog.ensure_catalog(customers=customers, tags=tags, anchor=anchor)
        catalog = seeding_catalog.load_catalog()
        stats.products = len(catalog.ids)
        reps = sorted(u.pk for name, u in staff.users.items() if name in ("rep", "rep2", "manager"))
        self.seed, self.anchor, self.rep_ids = seed, anchor, reps
        anchor_s = anchor.timestamp()
        self.orders = OrderGenerator(
            seed=seed, catalog=catalog, anchor_s=anchor_s, rep_ids=reps,
            sqlite=connection.vendor == "sqlite",
            lines_per_customer=lines_per_customer, next_order_id=_max_id(Order) + 1,
            next_line_id=_max_id(OrderLine) + 1,
        )  # fmt: skip
        self.catalog = catalog
        self.pipelines = PipelineGenerator(
            seed=seed, setup=ensure_pipelines(), anchor_s=anchor_s, ts=ts, flag=flag,
            next_lead=_max_id(Lead) + 1, next_opp=_max_id(Opportunity) + 1,
        )  # fmt: skip
        self.quotes = QuoteGenerator(seed=seed, orders=self.orders, flag=flag,
                                     next_quote=_max_id(Quote) + 1)  # fmt: skip
        self.quote_cols = seeding_quotes.quote_columns()

    def generate(self, batch, next_iid: int) -> int:
        """Sales rows for the customers of ``batch``; lead and stage-move interactions join
        the batch's interactions and move the customers' ``last_contact_at`` on."""
        if not self.enabled:
            return next_iid
        self.sales, self.pipe = SalesBatch(), PipelineBatch()
        for buyer, team_id in batch.buyers:
            self.orders.customer(self.sales, buyer)
            next_iid = self.pipelines.customer(self.pipe, buyer, team_id, next_iid)
            if self.pipe.deals:
                next_iid = self.quotes.customer(self.sales, self.pipe, buyer, self.pipe.deals,
                                                next_iid)  # fmt: skip
                self.pipe.deals = []
        batch.interactions.extend(self.pipe.interactions)
        contacts = self.pipe.contacts
        for i, (buyer, _team) in enumerate(batch.buyers):
            at = contacts.get(buyer.id)
            if at is None or (buyer.last_contact and buyer.last_contact >= at):
                continue
            row = list(batch.customers[i])
            row[2] = self.ts(max(at, buyer.created))  # updated_at
            row[23] = self.ts(at)  # last_contact_at
            batch.customers[i] = tuple(row)
        return next_iid

    def take(self) -> tuple[SalesBatch, PipelineBatch]:
        """The rows generated for the last batch (handed to ``write``)."""
        rows = (self.sales, self.pipe)
        self.sales, self.pipe = SalesBatch(), PipelineBatch()
        return rows

    def reserved(self) -> dict[int, int]:
        return dict(self.orders.reserved) if self.enabled else {}

    def set_reserved(self, reserved: dict[int, int]) -> None:
        """Reservations counted by a generator that ran in another process."""
        if self.enabled:
            self.orders.reserved.clear()
            self.orders.reserved.update(reserved)

    def write(self, writer, rows: tuple[SalesBatch, PipelineBatch]) -> None:
        if not self.enabled:
            return
        (s, p), st = rows, self.stats
        writer.insert(Opportunity._meta.db_table, OPP_COLS, p.opportunities)
        writer.insert(StageHistory._meta.db_table, HISTORY_COLS, p.history)
        writer.insert(Lead._meta.db_table, LEAD_COLS, p.leads)
        writer.insert(Order._meta.db_table, ORDER_COLS, s.orders)
        writer.insert(OrderLine._meta.db_table, LINE_COLS, s.lines)
        writer.insert(OrderStatusChange._meta.db_table, STATUS_COLS, s.statuses)
        writer.insert(PromotionRedemption._meta.db_table, REDEMPTION_COLS, s.redemptions)
        writer.insert(Quote._meta.db_table, self.quote_cols, s.quotes)
        writer.insert(QuoteLine._meta.db_table, QUOTE_LINE_COLS, s.quote_lines)
        writer.insert(OpportunityLine._meta.db_table, OPP_LINE_COLS, p.opportunity_lines)
        st.orders += len(s.orders)
        st.order_lines += len(s.lines)
        st.status_changes += len(s.statuses)
        st.redemptions += len(s.redemptions)
        st.leads += len(p.leads)
        st.opportunities += len(p.opportunities)
        st.stage_history += len(p.history)
        st.opportunity_lines += len(p.opportunity_lines)
        st.quotes += len(s.quotes)
        st.quote_lines += len(s.quote_lines)

    def finish(self) -> None:
        """Units of confirmed and paid orders are reserved; on-hand grows by as much, so free
        stock (on hand − reserved) is what the catalog started with and never negative. Then
        the reps' monthly quotas, from what they won (``seeding_quotes.ensure_quotas``)."""
        if not self.enabled:
            return
        self.stats.quotas = seeding_quotes.ensure_quotas(
            seed=self.seed, rep_ids=self.rep_ids, anchor=self.anchor
        )
        cat = self.catalog
        rows = [(qty, qty, cat.ids[pos]) for pos, qty in sorted(self.orders.reserved.items())]
        with connection.cursor() as cur:
            cur.executemany(
                f"UPDATE {Product._meta.db_table} SET stock_reserved = stock_reserved + %s, "
                "stock_on_hand = stock_on_hand + %s WHERE id = %s",
                rows,
            )
            if connection.vendor == "postgresql":
                for model in SEQUENCED:
                    t = model._meta.db_table
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {t}))"
                    )


def reset_sales(customer_ids) -> None:
    """Raw-delete the sales rows of the given customers (a subquery of ids): orders with
    their lines, history and redemptions, quotes, leads, opportunities with their history."""
    db = Order.objects.db
    orders = Order.objects.filter(customer_id__in=customer_ids).values("pk")
    Quote.objects.filter(order__in=orders).update(order=None)
    quotes = Quote.objects.filter(customer_id__in=customer_ids)
    QuoteLine.objects.filter(quote__in=quotes.values("pk"))._raw_delete(db)
    quotes._raw_delete(db)
    PromotionRedemption.objects.filter(order__in=orders)._raw_delete(db)
    PromotionRedemption.objects.filter(customer_id__in=customer_ids)._raw_delete(db)
    OrderStatusChange.objects.filter(order__in=orders)._raw_delete(db)
    OrderLine.objects.filter(order__in=orders, bundle_line__isnull=False)._raw_delete(db)
    OrderLine.objects.filter(order__in=orders)._raw_delete(db)
    Order.objects.filter(customer_id__in=customer_ids)._raw_delete(db)
    opps = Opportunity.objects.filter(customer_id__in=customer_ids).values("pk")
    Lead.objects.filter(opportunity__in=opps).update(opportunity=None)
    Quote.objects.filter(opportunity__in=opps).update(opportunity=None)
    Lead.objects.filter(customer_id__in=customer_ids)._raw_delete(db)
    StageHistory.objects.filter(opportunity__in=opps)._raw_delete(db)
    OpportunityLine.objects.filter(opportunity__in=opps)._raw_delete(db)
    Opportunity.objects.filter(customer_id__in=customer_ids)._raw_delete(db)


def reset_catalog() -> bool:
    return seeding_catalog.reset_catalog()
