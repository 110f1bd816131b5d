"""Seeded leads and opportunities, as ``sales.leads`` and ``sales.pipelines`` leave them.

Customers in lifecycle stage "lead" (and some subscribers) have an open lead; customers in
"opportunity" have a converted lead and an open opportunity; some buyers came in through a
lead that became a won opportunity, and organizations also have won and lost deals and
renewals. Every lead capture writes its timeline interaction (related to the lead) and every
stage move its note (related to the opportunity), as the services do; the customer's
``last_contact_at`` follows. Stage history has one row per stay in a stage.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from vinculo.devdata.seeding_sales import DAY, Buyer, money
from vinculo.sales.models import Lead, Opportunity, Pipeline, Stage
from vinculo.sales.pipelines import ensure_default_pipeline

RENEWALS = "Renovaciones"
RENEWAL_STAGES = [("Próximas", 20, False, False), ("Contactado", 50, False, False),
                  ("Renovado", 100, True, False), ("No renovado", 0, False, True)]  # fmt: skip
SOURCES = ["web_form"] * 35 + ["api"] * 8 + ["import"] * 10 + ["manual"] * 12 + \
    ["referral"] * 12 + ["event"] * 10 + ["phone"] * 13  # fmt: skip
SOURCE_LABEL = dict(Lead.Source.choices)
COST_EUR = {"web_form": 25, "api": 15, "import": 2, "manual": 0, "referral": 40, "event": 120,
            "phone": 30}  # fmt: skip
CAMPAIGNS = {
    "web_form": ["Google Ads marca", "Meta Ads prospección", "Newsletter primavera",
                 "Black Friday"],
    "api": ["Comparador de precios", "Afiliados"],
    "event": ["Feria Retail", "Jornada de puertas abiertas"],
    "referral": ["Programa de referidos"],
}  # fmt: skip
UTM = {
    "Google Ads marca": ("google", "cpc"),
    "Meta Ads prospección": ("facebook", "paid_social"),
    "Newsletter primavera": ("newsletter", "email"),
    "Black Friday": ("google", "cpc"),
    "Comparador de precios": ("comparador", "referral"),
    "Afiliados": ("afiliados", "affiliate"),
}
CAPTURE = {"web_form": ("form", "web"), "api": ("form", "web"), "phone": ("call", "phone"),
           "event": ("meeting", "in_person")}  # fmt: skip
LOST_REASONS = ["Precio", "Eligió a la competencia", "Sin presupuesto", "Sin respuesta",
                "Proyecto aplazado"]  # fmt: skip
DEAL_WORDS = ["Renovación de equipos", "Suministro anual", "Ampliación", "Proyecto piloto",
              "Equipamiento oficina", "Pedido marco"]  # fmt: skip

LEAD_COLS = (
    "id", "created_at", "updated_at", "version", "customer_id", "status", "disqualified_reason",
    "source", "campaign", "acquisition_cost", "currency", "utm_source", "utm_medium",
    "utm_campaign", "utm_term", "utm_content", "consent_marketing", "consent_text", "message",
    "form_data", "owner_id", "team_id", "score", "score_fit", "score_engagement",
    "score_reasons", "scored_at", "converted_at", "opportunity_id",
)  # fmt: skip
OPP_COLS = (
    "id", "created_at", "updated_at", "version", "name", "customer_id", "pipeline_id",
    "stage_id", "status", "owner_id", "team_id", "amount", "currency", "amount_from_lines",
    "expected_close_date", "next_step", "source", "lost_reason", "closed_at", "position",
)  # fmt: skip
HISTORY_COLS = ("opportunity_id", "stage_id", "entered_at", "left_at", "user_id")


@dataclass
class PipelineBatch:
    leads: list[tuple] = field(default_factory=list)
    opportunities: list[tuple] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    opportunity_lines: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)
    # customer id -> newest interaction written here (POSIX seconds)
    contacts: dict[int, float] = field(default_factory=dict)
    deals: list[Deal] = field(default_factory=list)  # what the quote step needs to know


@dataclass
class Deal:
    """An opportunity as the quote step sees it: where its row is and when it reached its
    first late stage (Proposal in the sales pipeline), if it did."""

    row: int  # index in ``PipelineBatch.opportunities``
    id: int
    customer_id: int
    outcome: str  # open, won, lost
    late_at: float | None
    closed_at: float | None
    owner_id: int | None
    amount: int  # cents
    lost_reason: str


@dataclass
class PipelineSetup:
    pipeline_id: int
    stages: list[tuple[int, str]]  # open stages in order: (id, name)
    won: tuple[int, str]
    lost: tuple[int, str]
    renewal_id: int
    renewal_stages: list[tuple[int, str]]
    renewal_won: tuple[int, str]
    renewal_lost: tuple[int, str]
    lead_type: int
    opp_type: int


@transaction.atomic
def ensure_pipelines() -> PipelineSetup:
    """The default sales pipeline and a renewals pipeline. Idempotent."""
    sales = ensure_default_pipeline()
    renewals, _created = Pipeline.objects.get_or_create(name=RENEWALS, defaults={"position": 1})
    for pos, (name, prob, won, lost) in enumerate(RENEWAL_STAGES):
        Stage.objects.get_or_create(
            pipeline=renewals, name=name,
            defaults={"position": pos, "probability": prob, "is_won": won, "is_lost": lost},
        )  # fmt: skip

    def split(pipeline):
        stages = list(pipeline.stages.order_by("position", "id"))
        open_ = [(s.pk, s.name) for s in stages if not (s.is_won or s.is_lost)]
        won = next((s.pk, s.name) for s in stages if s.is_won)
        lost = next((s.pk, s.name) for s in stages if s.is_lost)
        return open_, won, lost

    s_open, s_won, s_lost = split(sales)
    r_open, r_won, r_lost = split(renewals)
    return PipelineSetup(
        pipeline_id=sales.pk, stages=s_open, won=s_won, lost=s_lost,
        renewal_id=renewals.pk, renewal_stages=r_open, renewal_won=r_won, renewal_lost=r_lost,
        lead_type=ContentType.objects.get_for_model(Lead).pk,
        opp_type=ContentType.objects.get_for_model(Opportunity).pk,
    )  # fmt: skip


class PipelineGenerator:
    def __init__(self, *, seed: int, setup: PipelineSetup, anchor_s: float, ts, flag,
                 next_lead: int, next_opp: int) -> None:  # fmt: skip
        self.rnd = random.Random(seed * 7_368_787 + 5)
        self.setup = setup
        self.anchor_s = anchor_s
        self.ts, self.flag = ts, flag
        self.next_lead, self.next_opp = next_lead, next_opp
        self.position: dict[int, int] = defaultdict(int)

    def customer(self, out: PipelineBatch, b: Buyer, team_id: int | None,
                 next_iid: int) -> int:  # fmt: skip
        """Leads and opportunities of one customer; returns the next free interaction id."""
        rnd = self.rnd
        stage = b.stage
        if stage == "lead" or (stage == "subscriber" and rnd.random() < 0.2):
            next_iid = self._lead(out, b, team_id, next_iid, converted=None)
        elif stage == "opportunity":
            opp_at = b.created + rnd.uniform(2, 20) * DAY
            if rnd.random() < 0.7:
                oid = self._opportunity(out, b, team_id, opp_at, outcome="open")
                next_iid = self._notes(out, b, oid, next_iid)
                next_iid = self._lead(out, b, team_id, next_iid, converted=(oid, opp_at))
        elif stage in ("customer", "inactive", "lost"):
            if rnd.random() < 0.3:
                opp_at = b.created + rnd.uniform(1, 10) * DAY
                oid = self._opportunity(out, b, team_id, opp_at, outcome="won")
                next_iid = self._notes(out, b, oid, next_iid)
                next_iid = self._lead(out, b, team_id, next_iid, converted=(oid, opp_at))
            if b.is_org:
                for _ in range(int(rnd.random() * 3)):
                    at = rnd.uniform(b.created, self.anchor_s)
                    outcome = ["won", "lost", "lost", "open"][int(rnd.random() * 4)]
                    oid = self._opportunity(out, b, team_id, at, outcome=outcome)
                    next_iid = self._notes(out, b, oid, next_iid)
                if rnd.random() < 0.3:
                    at = self.anchor_s - rnd.uniform(0, 200) * DAY
                    outcome = (
                        "open"
                        if at > self.anchor_s - 45 * DAY
                        else ("won" if stage == "customer" and rnd.random() < 0.75 else "lost")
                    )
                    oid = self._opportunity(out, b, team_id, at, outcome=outcome, renewal=True)
                    next_iid = self._notes(out, b, oid, next_iid)
        return next_iid

    # --- leads -----------------------------------------------------------------------------

    def _lead(self, out: PipelineBatch, b: Buyer, team_id, next_iid: int, *,
              converted: tuple[int, float] | None) -> int:  # fmt: skip
        rnd = self.rnd
        at = b.created
        lid = self.next_lead
        self.next_lead += 1
        source = SOURCES[int(rnd.random() * len(SOURCES))]
        campaigns = CAMPAIGNS.get(source)
        campaign = campaigns[int(rnd.random() * len(campaigns))] if campaigns else ""
        utm_source, utm_medium = UTM.get(campaign, ("", ""))
        base_cost = COST_EUR[source]
        cost = int(rnd.gammavariate(4.0, base_cost * 25)) if base_cost else 0  # cents
        if converted:
            status, reason = "converted", ""
        else:
            old = at < self.anchor_s - 180 * DAY
            weights = ("disqualified",) * 45 + ("contacted",) * 35 + ("qualified",) * 20 \
                if old else ("new",) * 45 + ("contacted",) * 30 + ("qualified",) * 20 + \
                ("disqualified",) * 5  # fmt: skip
            status = weights[int(rnd.random() * len(weights))]
            reason = ["Sin presupuesto", "Fuera de zona", "Datos falsos", "No interesado"][
                int(rnd.random() * 4)] if status == "disqualified" else ""  # fmt: skip
        fit = int(rnd.random() * 50)
        engagement = int(rnd.random() * 50) if status != "disqualified" else 0
        when = self.ts(at)
        updated = self.ts(converted[1] if converted else at + rnd.uniform(0, 30) * DAY
                          if status != "new" else at)  # fmt: skip
        if updated > self.ts(self.anchor_s):
            updated = self.ts(self.anchor_s)
        consent = rnd.random() < 0.6
        currency = "USD" if b.country == "US" else "EUR"
        out.leads.append((
            lid, when, updated, 1 if status == "new" else 2, b.id, status, reason, source,
            campaign, money(cost), currency, utm_source, utm_medium,
            campaign.lower().replace(" ", "-") if utm_source else "", "", "",
            self.flag(consent),
            "Acepto recibir comunicaciones comerciales." if consent else "", "",
            json.dumps({"source": source}), b.owner_id, team_id, fit + engagement, fit,
            engagement, "[]", when, self.ts(converted[1]) if converted else None,
            converted[0] if converted else None,
        ))  # fmt: skip
        kind, channel = CAPTURE.get(source, ("note", "internal"))
        subject = f"New lead from {SOURCE_LABEL[source]}" + (f" — {campaign}" if campaign else "")
        direction = "in" if kind != "note" else "internal"
        out.interactions.append((next_iid, when, when, 1, b.id, kind, channel, direction,
                                 subject[:255], "(no message)", "received" if kind == "form"
                                 else "", None, when, None, self.setup.lead_type,
                                 lid))  # fmt: skip
        self._contact(out, b.id, at)
        return next_iid + 1

    # --- opportunities ---------------------------------------------------------------------

    def _opportunity(self, out: PipelineBatch, b: Buyer, team_id, at: float, *, outcome: str,
                     renewal: bool = False) -> int:  # fmt: skip
        rnd, s = self.rnd, self.setup
        oid = self.next_opp
        self.next_opp += 1
        stages = s.renewal_stages if renewal else s.stages
        won, lost = (s.renewal_won, s.renewal_lost) if renewal else (s.won, s.lost)
        if outcome == "open":
            path = stages[: 1 + int(rnd.random() * len(stages))]
        elif outcome == "won":
            path = [*stages, won]
        else:
            path = [*stages[: 1 + int(rnd.random() * len(stages))], lost]
        # Stays in each stage; closed deals must end before the anchor.
        stays = [rnd.expovariate(1 / (9 * DAY)) + DAY for _ in path]
        end = at + sum(stays[:-1])
        if outcome != "open" and end > self.anchor_s:
            at -= end - self.anchor_s + rnd.uniform(0, 10) * DAY
        if outcome == "open" and end > self.anchor_s:
            at = self.anchor_s - sum(stays[:-1]) - rnd.uniform(0, 5) * DAY
        enter = at
        user = b.owner_id
        self._moves = []
        late, late_at = (len(stages) + 1) // 2, None
        for k, (stage_id, name) in enumerate(path):
            if k == late and k < len(stages) and path[k] == stages[k]:
                late_at = enter
            last = k == len(path) - 1
            leave = None if last else enter + stays[k]
            out.history.append((oid, stage_id, self.ts(enter), self.ts(leave) if leave else None,
                                user))  # fmt: skip
            if k:
                self._moves.append((enter, path[k - 1][1], name))
            if not last:
                enter = leave
        closed_at = enter if outcome != "open" else None
        currency = "USD" if b.country == "US" else "EUR"
        amount = int(rnd.lognormvariate(9.2 if b.is_org else 6.8, 0.8)) * 100
        expected = (
            self.day_of(closed_at)
            if closed_at
            else self.day_of(self.anchor_s + rnd.uniform(5, 90) * DAY)
        )
        name = (f"Renovación {self.day_of(at)[:4]}" if renewal
                else DEAL_WORDS[int(rnd.random() * len(DEAL_WORDS))])  # fmt: skip
        stage_id = path[-1][0]
        self.position[stage_id] += 1
        status = {"open": "open", "won": "won", "lost": "lost"}[outcome]
        lost_reason = LOST_REASONS[int(rnd.random() * len(LOST_REASONS))] \
            if outcome == "lost" else ""  # fmt: skip
        out.deals.append(Deal(len(out.opportunities), oid, b.id, outcome, late_at, closed_at,
                              b.owner_id, amount, lost_reason))  # fmt: skip
        out.opportunities.append((
            oid, self.ts(at), self.ts(enter), len(path), name, b.id,
            s.renewal_id if renewal else s.pipeline_id, stage_id, status, b.owner_id, team_id,
            money(amount), currency, self.flag(False), expected, "",
            "renewal" if renewal else "", lost_reason, self.ts(closed_at) if closed_at else None,
            self.position[stage_id],
        ))  # fmt: skip
        self._opp_name = name
        return oid

    def day_of(self, seconds: float) -> str:
        return self.ts(seconds)[:10]

    def _notes(self, out: PipelineBatch, b: Buyer, oid: int, next_iid: int) -> int:
        """The note ``pipelines.move_opportunity`` writes for each move."""
        for at, old, new in self._moves:
            when = self.ts(at)
            if new in (self.setup.won[1], self.setup.renewal_won[1]):
                subject = f"Opportunity {self._opp_name} won"
            elif new in (self.setup.lost[1], self.setup.renewal_lost[1]):
                subject = f"Opportunity {self._opp_name} lost"
            else:
                subject = f"Opportunity {self._opp_name} moved to {new}"
            out.interactions.append((next_iid, when, when, 1, b.id, "note", "internal",
                                     "internal", subject[:255], f"From {old} to {new}.", "",
                                     None, when, b.owner_id, self.setup.opp_type,
                                     oid))  # fmt: skip
            next_iid += 1
            self._contact(out, b.id, at)
        return next_iid

    @staticmethod
    def _contact(out: PipelineBatch, cid: int, at: float) -> None:
        if at > out.contacts.get(cid, 0.0):
            out.contacts[cid] = at
