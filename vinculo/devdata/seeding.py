"""Deterministic demo and scale data: staff and teams, customers with channels, addresses,
tags and custom attributes, interactions on every channel and follow-up tasks; then, per
batch, their sales history (catalog, leads, opportunities, orders: ``sales_step``).

Seeding bypasses the services for speed (a million customers in minutes): rows go in with
``executemany`` (SQLite) or ``COPY`` (PostgreSQL), one transaction per batch. What the
services would derive is derived here the same way: ``name`` is "first last", ``email`` and
``phone`` mirror the primary channel (normalised, E.164), ``company_name`` is the
organization's name, ``team`` is the owner's team, ``last_contact_at`` is the newest
interaction, and the search index ends up exactly as the triggers would have written it.

Same ``customers``, ``seed`` and ``anchor`` day -> same data (ids aside). Seeded customers
carry ``external_id = "seed-<seed>-<n>"`` so ``reset_seeded()`` can remove them, and only them.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import queue as pyqueue
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from vinculo.accounts.models import Role, Team, User
from vinculo.customers import search
from vinculo.customers.models import Address, Customer, CustomerEmail, CustomerPhone, CustomField
from vinculo.customers.models import Tag as TagModel
from vinculo.devdata import pools as P
from vinculo.devdata import sales_step
from vinculo.devdata.seeding_sales import Buyer
from vinculo.interactions.models import Interaction, Task

SEED_PREFIX = "seed-"
DEMO_PASSWORD = "vinculo-demo"
DEMO_TEAMS = [
    ("Ventas Norte", "Norte"),
    ("Ventas Sur", "Sur"),
    ("Atención al cliente", ""),
    ("Marketing", ""),
]
# username, role, team, first, last, manages team, superuser
DEMO_USERS = [
    ("admin", Role.ADMIN, None, "Ada", "Admin", False, True),
    ("manager", Role.SALES_MANAGER, "Ventas Norte", "Marta", "Gestora", True, False),
    ("rep", Role.SALES_REP, "Ventas Norte", "Raúl", "Vendedor", False, False),
    ("rep2", Role.SALES_REP, "Ventas Sur", "Rocío", "Comercial", False, False),
    ("agent", Role.SERVICE_AGENT, "Atención al cliente", "Alba", "Agente", False, False),
    ("marketer", Role.MARKETER, "Marketing", "Mario", "Marketing", False, False),
    ("analyst", Role.ANALYST, None, "Ana", "Analista", False, False),
]
# Who owns seeded customers, and how often (the rest have no owner).
OWNER_WEIGHTS = {"rep": 32, "rep2": 32, "manager": 8, "agent": 10, None: 18}


# --- staff -----------------------------------------------------------------------------------


@dataclass
class DemoStaff:
    teams: dict[str, Team]
    users: dict[str, User]
    created_users: list[str] = field(default_factory=list)


@transaction.atomic
def ensure_demo_staff() -> DemoStaff:
    """Teams and one user per role (password ``vinculo-demo``). Idempotent: existing teams and
    users are kept as they are (passwords included)."""
    teams = {}
    for name, region in DEMO_TEAMS:
        teams[name], _ = Team.objects.get_or_create(name=name, defaults={"region": region})
    users: dict[str, User] = {}
    created: list[str] = []
    password = None
    for username, role, team, first, last, manages, superuser in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            password = password or make_password(DEMO_PASSWORD)  # hashing is slow: once
            user = User.objects.create(
                username=username,
                role=role,
                team=teams.get(team) if team else None,
                first_name=first,
                last_name=last,
                email=f"{username}@vinculo.example",
                is_staff=superuser,
                is_superuser=superuser,
                password=password,
            )
            created.append(username)
        users[username] = user
        if manages and teams[team].manager_id is None:
            teams[team].manager = user
            teams[team].save(update_fields=["manager"])
    return DemoStaff(teams=teams, users=users, created_users=created)


# --- the generator ---------------------------------------------------------------------------

KIND_WEIGHTS = {
    "call": 26,
    "email": 24,
    "letter": 3,
    "fax": 1,
    "sms": 8,
    "chat": 7,
    "meeting": 6,
    "web_visit": 12,
    "form": 4,
    "note": 9,
}
CHANNEL = {
    "call": "phone",
    "email": "email",
    "letter": "post",
    "fax": "fax",
    "sms": "sms",
    "chat": "chat",
    "meeting": "in_person",
    "web_visit": "web",
    "form": "web",
    "note": "internal",
}
CALL_OUTCOMES = (
    ["connected"] * 30
    + ["no_answer"] * 14
    + ["voicemail"] * 10
    + ["busy"] * 4
    + ["wrong_number"] * 1
    + ["interested"] * 12
    + ["not_interested"] * 8
    + ["callback"] * 10
    + ["resolved"] * 11
)
SUBJECTS = {
    "es": {
        "call": [
            "Llamada de seguimiento",
            "Consulta sobre factura",
            "Presentación de producto",
            "Renovación de contrato",
            "Incidencia en el pedido",
        ],
        "email": [
            "Propuesta comercial",
            "Re: presupuesto",
            "Confirmación de pedido",
            "Información solicitada",
            "Bienvenida",
        ],
        "letter": ["Carta de bienvenida", "Condiciones generales", "Aviso de renovación"],
        "fax": ["Pedido firmado", "Albarán"],
        "sms": ["Recordatorio de cita", "Código de descuento", "Pedido enviado"],
        "chat": ["Chat: duda sobre envío", "Chat: cambio de talla", "Chat: estado del pedido"],
        "meeting": ["Reunión de presentación", "Visita comercial", "Revisión trimestral"],
        "web_visit": ["Visita a /precios", "Visita a /productos", "Visita a /contacto"],
        "form": ["Formulario de contacto", "Solicitud de demo", "Alta en newsletter"],
        "note": [
            "Prefiere que le llamen por la tarde",
            "Cliente interesado en la gama alta",
            "Pendiente de aprobación interna",
            "Ha cambiado de proveedor",
        ],
    },
    "en": {
        "call": [
            "Follow-up call",
            "Billing question",
            "Product walkthrough",
            "Contract renewal",
            "Order issue",
        ],
        "email": [
            "Commercial proposal",
            "Re: quote",
            "Order confirmation",
            "Requested info",
            "Welcome",
        ],
        "letter": ["Welcome letter", "Terms and conditions", "Renewal notice"],
        "fax": ["Signed order", "Delivery note"],
        "sms": ["Appointment reminder", "Discount code", "Order shipped"],
        "chat": ["Chat: shipping question", "Chat: size exchange", "Chat: order status"],
        "meeting": ["Intro meeting", "Sales visit", "Quarterly review"],
        "web_visit": ["Visited /pricing", "Visited /products", "Visited /contact"],
        "form": ["Contact form", "Demo request", "Newsletter sign-up"],
        "note": [
            "Prefers afternoon calls",
            "Interested in the premium range",
            "Waiting for internal approval",
            "Switched supplier",
        ],
    },
}
TASK_TITLES = {
    "es": [
        "Llamar para seguimiento",
        "Enviar presupuesto",
        "Preparar propuesta",
        "Confirmar reunión",
        "Revisar incidencia",
        "Enviar catálogo",
    ],
    "en": [
        "Call to follow up",
        "Send quote",
        "Prepare proposal",
        "Confirm meeting",
        "Review issue",
        "Send catalogue",
    ],
}
STAGES = ["subscriber", "lead", "opportunity", "customer", "inactive", "lost"]
STAGE_WEIGHTS = [10, 25, 10, 40, 10, 5]
HISTORY_DAYS = 3 * 365
# From this many customers, rows are generated in a child process while this one writes.
AHEAD_FROM = 50_000
_utc = dt.datetime.fromtimestamp


def _table_of(items: list, weights: list[int]) -> list:
    """A lookup table with each item repeated by its weight: picking is one random() call
    (``random.choices`` rebuilds cumulative weights on every call)."""
    return [item for item, w in zip(items, weights, strict=True) for _ in range(w)]


def _pick(rnd: random.Random, table: list):
    return table[int(rnd.random() * len(table))]


ES_CITY_TABLE = _table_of(list(P.ES_CITIES), P.ES_CITY_WEIGHTS)
US_CITY_TABLE = _table_of(list(P.US_AREAS), P.US_CITY_WEIGHTS)
DOMAIN_TABLES = {
    lang: _table_of(P.PERSONAL_DOMAINS[lang], P.PERSONAL_DOMAIN_WEIGHTS) for lang in ("es", "en")
}
STAGE_TABLE = _table_of(STAGES, STAGE_WEIGHTS)
SOURCE_TABLE = _table_of(P.SOURCES, P.SOURCE_WEIGHTS)
HOUSEHOLD_TABLE = _table_of([1, 2, 3, 4, 5, 6], [25, 30, 20, 17, 6, 2])
KIND_TABLE = _table_of(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))
PRIORITY_TABLE = _table_of([0, 1, 2], [2, 6, 2])


@dataclass
class SeedStats:
    customers: int = 0
    organizations: int = 0
    emails: int = 0
    phones: int = 0
    addresses: int = 0
    tag_links: int = 0
    interactions: int = 0
    tasks: int = 0
    sales: sales_step.SalesStats = field(default_factory=sales_step.SalesStats)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return (
            self.customers
            + self.emails
            + self.phones
            + self.addresses
            + self.tag_links
            + self.interactions
            + self.tasks
            + self.sales.rows
        )

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class _Batch:
    customers: list[tuple] = field(default_factory=list)
    emails: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    tag_links: list[tuple] = field(default_factory=list)
    interactions: list[tuple] = field(default_factory=list)
    tasks: list[tuple] = field(default_factory=list)
    buyers: list[tuple[Buyer, int | None]] = field(default_factory=list)  # for the sales step


CUSTOMER_COLS = (
    "id", "created_at", "updated_at", "version", "kind", "first_name", "last_name", "name",
    "organization_id", "company_name", "email", "phone", "external_id", "stage", "owner_id",
    "team_id", "source", "language", "country", "region", "city", "attributes", "scores",
    "last_contact_at", "merged_into_id",
)  # fmt: skip
EMAIL_COLS = ("created_at", "updated_at", "customer_id", "email", "kind", "is_primary",
              "verified_at")  # fmt: skip
PHONE_COLS = ("created_at", "updated_at", "customer_id", "number", "kind", "is_primary",
              "verified_at")  # fmt: skip
ADDRESS_COLS = ("created_at", "updated_at", "customer_id", "kind", "street", "postal_code",
                "city", "region", "country", "is_primary")  # fmt: skip
TAG_COLS = ("customer_id", "tag_id")
INTERACTION_COLS = (
    "id", "created_at", "updated_at", "version", "customer_id", "kind", "channel", "direction",
    "subject", "body", "outcome", "duration_seconds", "occurred_at", "user_id",
    "related_type_id", "related_id",
)  # fmt: skip
TASK_COLS = ("created_at", "updated_at", "version", "title", "notes", "customer_id",
             "interaction_id", "due_date", "assignee_id", "created_by_id", "priority",
             "done_at")  # fmt: skip


class _Generator:
    """Produces the rows of customer ordinals ``start..stop`` from one ``random.Random``."""

    def __init__(self, *, seed: int, ipc: float, staff: DemoStaff, tags: dict[str, int],
                 fields: list[CustomField], anchor: dt.datetime, vendor: str,
                 n_customers: int) -> None:  # fmt: skip
        self.seed = seed
        self.rnd = random.Random(seed)
        self.ipc = ipc
        self.pools = P.build_pools(seed)
        self.anchor = anchor
        self.anchor_s = anchor.timestamp()
        self.today = timezone.localtime(anchor).date()
        self.vendor = vendor
        self.sqlite = vendor == "sqlite"
        self.tags = tags
        self.tag_ids = sorted(tags.values())
        self.fields = fields
        self.owner_table = _table_of(
            [staff.users[u] if u else None for u in OWNER_WEIGHTS], list(OWNER_WEIGHTS.values())
        )
        self.staff_ids = sorted(u.pk for u in staff.users.values())
        self.orgs: list[tuple[int, str, str]] = []  # (id, name, email domain)
        # Bounded open tasks: ~40 per owner however big the base, like a real to-do list.
        expected_task_customers = max(1, n_customers * 0.2)
        self.p_open = min(0.35, 40 * len(staff.users) / expected_task_customers)

    # value formatting per database; moments are POSIX seconds (floats are much cheaper
    # than aware datetimes at millions of rows)
    def ts(self, value: float | None):
        if value is None:
            return None
        text = _utc(int(value), dt.UTC).isoformat(" ")
        # SQLite stores naive UTC text, as Django writes it; PostgreSQL reads the offset.
        return text[:-6] if self.sqlite else text

    def day(self, value: dt.date):
        return value.isoformat() if self.vendor == "sqlite" else value

    def flag(self, value: bool):
        return int(value) if self.vendor == "sqlite" else value

    def moment(self, days_ago_max: float, days_ago_min: float = 0.0) -> float:
        return self.anchor_s - self.rnd.uniform(days_ago_min * 86400, days_ago_max * 86400)

    # --- one customer ----------------------------------------------------------------------

    def customer(self, batch: _Batch, cid: int, ordinal: int, next_iid: int) -> int:
        rnd = self.rnd
        lang = "es" if rnd.random() < 0.7 else "en"
        pool = self.pools[lang]
        is_org = rnd.random() < 0.15
        if lang == "es":
            city = _pick(rnd, ES_CITY_TABLE)
            region, postal_prefix, _landline = P.ES_CITIES[city]
            postal = f"{postal_prefix}{rnd.randrange(0, 1000):03d}"
        else:
            city = _pick(rnd, US_CITY_TABLE)
            region, _area = P.US_AREAS[city]
            postal = f"{rnd.randrange(10000, 99999)}"
        owner = _pick(rnd, self.owner_table)
        owner_id = owner.pk if owner else None
        team_id = owner.team_id if owner else None
        created = self.moment(HISTORY_DAYS + 200, 30)
        organization_id, company = None, ""
        if is_org:
            kind, first, last = "organization", "", ""
            word = rnd.choice(pool.company_words)
            other = rnd.choice(pool.company_words)
            suffix = rnd.choice(P.COMPANY_SUFFIXES[lang])
            name = f"{word} {other} {suffix}" if rnd.random() < 0.4 else f"{word} {suffix}"
            if rnd.random() < 0.3:
                sector = rnd.choice(
                    ["Logística", "Consultores", "Distribuciones", "Tecnología", "Alimentación"]
                    if lang == "es"
                    else ["Logistics", "Consulting", "Supply", "Technologies", "Foods"]
                )
                name = f"{word} {sector} {suffix}"
            # As customers.services leaves it: only members carry the organization's name.
            company = ""
            domain = f"{P.slug(word)}{P.slug(other)[:4] if rnd.random() < 0.5 else ''}" + (
                ".es" if lang == "es" else ".com"
            )
            box = rnd.choice(
                ["info", "contacto", "ventas", "administracion", "hola"]
                if lang == "es"
                else ["info", "contact", "sales", "billing", "hello"]
            )
            emails = [(f"{box}@{domain}", "work")]
            self.orgs.append((cid, name, domain))
        else:
            kind = "person"
            female = rnd.random() < 0.5
            first = rnd.choice(pool.female_first if female else pool.male_first)
            last = rnd.choice(pool.last)
            if lang == "es" and rnd.random() < 0.75:
                second = rnd.choice(pool.last)
                if second != last:
                    last = f"{last} {second}"
            name = f"{first} {last}"
            emails = []
            if self.orgs and rnd.random() < 0.35:
                org_id, org_name, domain = self.orgs[rnd.randrange(len(self.orgs))]
                organization_id, company = org_id, org_name
                emails.append((f"{P.slug(first)}.{P.slug(last.split()[0])}@{domain}", "work"))
            if rnd.random() < 0.92:
                local = self._local_part(first, last)
                dom = _pick(rnd, DOMAIN_TABLES[lang])
                emails.append((f"{local}@{dom}", "home"))
            if emails and rnd.random() < 0.15:
                # A second private address for some people.
                dom = _pick(rnd, DOMAIN_TABLES[lang])
                extra = f"{self._local_part(first, last)}{rnd.randrange(1, 99)}@{dom}"
                if extra not in [e for e, _ in emails]:
                    emails.append((extra, "home"))
            if rnd.random() < 0.5 and len(emails) > 1:
                emails.reverse()  # the private address is often the primary one
        phones = []
        if rnd.random() < 0.9:
            phones.append(self._phone(lang, city, mobile=not is_org))
            if rnd.random() < 0.25:
                extra = self._phone(lang, city, mobile=is_org)
                if extra not in phones:
                    phones.append(extra)
        stage = _pick(rnd, STAGE_TABLE)
        source = _pick(rnd, SOURCE_TABLE)
        attributes = self._attributes(lang, is_org, created)
        # interactions and tasks first: last_contact_at depends on them
        last_contact, next_iid = self._interactions(batch, cid, next_iid, lang, owner_id, phones,
                                                    emails, created)  # fmt: skip
        c_ts = self.ts(created)
        batch.customers.append(
            (
                cid,
                c_ts,
                self.ts(max(created, last_contact or created)),
                1,
                kind,
                first,
                last,
                name,
                organization_id,
                company,
                emails[0][0] if emails else "",
                phones[0] if phones else "",
                f"{SEED_PREFIX}{self.seed}-{ordinal}",
                stage,
                owner_id,
                team_id,
                source,
                lang,
                "ES" if lang == "es" else "US",
                region,
                city,
                json.dumps(attributes, ensure_ascii=False),
                "{}",
                self.ts(last_contact),
                None,
            )
        )
        for i, (email, ekind) in enumerate(emails):
            verified = c_ts if rnd.random() < 0.4 else None
            batch.emails.append((c_ts, c_ts, cid, email, ekind, self.flag(i == 0), verified))
        for i, number in enumerate(phones):
            pkind = "work" if is_org else ("mobile" if i == 0 else rnd.choice(["home", "work"]))
            batch.phones.append((c_ts, c_ts, cid, number, pkind, self.flag(i == 0), None))
        if rnd.random() < (0.9 if is_org else 0.6):
            street = f"{rnd.choice(pool.streets)}, {rnd.randrange(1, 200)}"
            if lang == "en":
                street = f"{rnd.randrange(1, 9999)} {rnd.choice(pool.streets)}"
            akind = "billing" if is_org else "home"
            country = "ES" if lang == "es" else "US"
            batch.addresses.append((c_ts, c_ts, cid, akind, street, postal, city, region, country,
                                    self.flag(True)))  # fmt: skip
            if rnd.random() < 0.12:
                akind2 = "shipping" if is_org else "work"
                street2 = f"{rnd.choice(pool.streets)}, {rnd.randrange(1, 200)}"
                batch.addresses.append((c_ts, c_ts, cid, akind2, street2, postal, city, region,
                                        country, self.flag(False)))  # fmt: skip
        tag_ids: list[int] = []
        if self.tag_ids and rnd.random() < 0.4:
            tag_ids = sorted(set(rnd.sample(self.tag_ids, rnd.randint(1, 3))))
            for tag_id in tag_ids:
                batch.tag_links.append((cid, tag_id))
        buyer = Buyer(id=cid, created=created, is_org=is_org, stage=stage, owner_id=owner_id,
                      country="ES" if lang == "es" else "US", tag_ids=frozenset(tag_ids),
                      last_contact=last_contact)  # fmt: skip
        batch.buyers.append((buyer, team_id))
        return next_iid

    def _local_part(self, first: str, last: str) -> str:
        rnd = self.rnd
        f, surname = P.slug(first), P.slug(last.split()[0])
        style = rnd.randrange(6)
        if style == 0:
            local = f"{f}.{surname}"
        elif style == 1:
            local = f"{f}{surname}"
        elif style == 2:
            local = f"{f[0]}{surname}"
        elif style == 3:
            local = f"{f}_{surname}{rnd.randrange(1, 99)}"
        elif style == 4:
            local = f"{f}.{surname}{rnd.randrange(60, 100)}"
        else:
            local = f"{surname}.{f}"
        return local or "cliente"

    def _phone(self, lang: str, city: str, *, mobile: bool) -> str:
        rnd = self.rnd
        if lang == "es":
            if mobile:
                if rnd.random() < 0.85:
                    return f"+346{rnd.randrange(10_000_000, 100_000_000)}"
                return f"+347{rnd.randrange(1, 5)}{rnd.randrange(1_000_000, 10_000_000)}"
            landline = P.ES_CITIES[city][2]
            rest = 9 - len(landline)
            return f"+34{landline}{rnd.randrange(10 ** (rest - 1) * 2, 10**rest)}"
        area = P.US_AREAS[city][1]
        return f"+1{area}{rnd.randrange(200, 999)}{rnd.randrange(0, 10000):04d}"

    def _attributes(self, lang: str, is_org: bool, created: float) -> dict[str, Any]:
        if is_org:
            return {}
        rnd = self.rnd
        out: dict[str, Any] = {}
        for cf in self.fields:
            if rnd.random() < 0.25:  # not every customer has every attribute
                continue
            value = self._attribute(cf, lang)
            if value not in (None, "", []):
                out[cf.key] = value
        return out

    def _attribute(self, cf: CustomField, lang: str) -> Any:
        rnd = self.rnd
        key, t = cf.key, cf.type
        if key == "birth_date" and t == CustomField.Type.DATE:
            age_days = rnd.randrange(18 * 365, 85 * 365)
            return (self.today - dt.timedelta(days=age_days)).isoformat()
        if key == "occupation" and t == CustomField.Type.TEXT:
            return rnd.choice(P.OCCUPATIONS[lang])
        if key == "household_size" and t == CustomField.Type.NUMBER:
            return _pick(rnd, HOUSEHOLD_TABLE)
        if key == "preferred_brands" and t == CustomField.Type.TEXT:
            return ", ".join(rnd.sample(P.BRANDS, rnd.randint(1, 3)))
        if t == CustomField.Type.CHOICE and cf.choices:
            return rnd.choice(cf.choices)
        if t == CustomField.Type.MULTI_CHOICE and cf.choices:
            picked = rnd.sample(cf.choices, rnd.randint(1, min(3, len(cf.choices))))
            return [c for c in cf.choices if c in picked]
        if t == CustomField.Type.BOOLEAN:
            return rnd.random() < 0.5
        if t == CustomField.Type.NUMBER:
            return rnd.randrange(0, 100)
        if t == CustomField.Type.DATE:
            return (self.today - dt.timedelta(days=rnd.randrange(0, 3650))).isoformat()
        if t == CustomField.Type.TEXT:
            return rnd.choice(P.OCCUPATIONS[lang])
        return None

    # --- timeline --------------------------------------------------------------------------

    def _interactions(self, batch: _Batch, cid: int, next_iid: int, lang: str,
                      owner_id: int | None, phones: list[str], emails: list[str],
                      created: float) -> tuple[float | None, int]:  # fmt: skip
        rnd = self.rnd
        n = int(rnd.triangular(0, self.ipc * 2, self.ipc) + 0.5) if self.ipc > 0 else 0
        span_days = max(1.0, (self.anchor_s - created) / 86400)
        last: float | None = None
        last_iid: int | None = None
        for _ in range(n):
            kind = _pick(rnd, KIND_TABLE)
            if kind in ("call", "sms", "fax") and not phones:
                kind = "email" if emails else "note"
            if kind == "email" and not emails:
                kind = "note"
            at = self.moment(span_days)
            user_id = owner_id if (owner_id and rnd.random() < 0.8) else rnd.choice(self.staff_ids)
            direction, outcome, duration = self._shape(kind)
            if kind in ("web_visit", "form"):
                user_id = None
            subject = rnd.choice(SUBJECTS[lang][kind])
            body = ""
            if kind == "note" or rnd.random() < 0.2:
                body = subject + "."
            ts = self.ts(at)
            batch.interactions.append(
                (next_iid, ts, ts, 1, cid, kind, CHANNEL[kind], direction, subject, body,
                 outcome, duration, ts, user_id, None, None)
            )  # fmt: skip
            if last is None or at > last:
                last, last_iid = at, next_iid
            next_iid += 1
        if rnd.random() < 0.2:
            self._task(batch, cid, lang, owner_id, last_iid)
        return last, next_iid

    def _shape(self, kind: str) -> tuple[str, str, int | None]:
        rnd = self.rnd
        if kind == "call":
            outcome = rnd.choice(CALL_OUTCOMES)
            direction = "in" if rnd.random() < 0.35 else "out"
            if outcome in ("no_answer", "busy", "wrong_number"):
                return direction, outcome, rnd.randrange(0, 40)
            if outcome == "voicemail":
                return "out", outcome, rnd.randrange(15, 90)
            return direction, outcome, int(rnd.lognormvariate(5.3, 0.7)) % 3600 + 20
        if kind in ("email", "sms"):
            direction = "in" if rnd.random() < 0.3 else "out"
            return direction, "received" if direction == "in" else "sent", None
        if kind in ("letter", "fax"):
            direction = "in" if rnd.random() < 0.15 else "out"
            return direction, "received" if direction == "in" else "sent", None
        if kind == "chat":
            return (
                "in",
                rnd.choice(["resolved"] * 4 + ["callback", "interested"]),
                (rnd.randrange(60, 1500)),
            )
        if kind == "meeting":
            outcome = rnd.choice(["interested", "interested", "not_interested", "callback", ""])
            return "out", outcome, rnd.choice([1800, 2700, 3600, 3600, 5400])
        if kind == "web_visit":
            return "in", "", rnd.randrange(10, 900)
        if kind == "form":
            return "in", "received", None
        return "internal", "", None

    def _task(self, batch: _Batch, cid: int, lang: str, owner_id: int | None,
              iid: int | None) -> None:  # fmt: skip
        rnd = self.rnd
        assignee = owner_id or rnd.choice(self.staff_ids)
        title = rnd.choice(TASK_TITLES[lang])
        is_open = rnd.random() < self.p_open
        if is_open:
            due = self.today + dt.timedelta(days=rnd.randint(-7, 14))
            done_at = None
        else:
            due = self.today - dt.timedelta(days=rnd.randint(1, HISTORY_DAYS))
        due_s = self.anchor_s - (self.today - due).days * 86400
        if not is_open:
            done_at = self.ts(due_s - rnd.randrange(0, 8 * 3600))
        created = self.ts(due_s - rnd.randint(1, 10) * 86400)
        priority = _pick(rnd, PRIORITY_TABLE)
        batch.tasks.append((created, created, 1, title, "", cid, iid, self.day(due), assignee,
                            assignee, priority, done_at))  # fmt: skip


# --- writing ---------------------------------------------------------------------------------


def _table(model) -> str:
    return model._meta.db_table


class _Writer:
    def __init__(self) -> None:
        self.vendor = connection.vendor

    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(cols)
        if self.vendor == "postgresql":
            with connection.cursor() as cur:
                raw = cur.cursor
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        marks = ", ".join(["?"] * len(cols))
        connection.ensure_connection()
        connection.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _max_id(model) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_table(model)}")
        return int(cur.fetchone()[0])


def _sync_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for model in (Customer, Interaction):
            t = _table(model)
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {t}))"
            )


def _ensure_tags() -> dict[str, int]:
    TagModel.objects.bulk_create([TagModel(name=n) for n in P.TAGS], ignore_conflicts=True)
    return dict(TagModel.objects.filter(name__in=P.TAGS).values_list("name", "pk"))


def _custom_fields() -> list[CustomField]:
    try:
        from vinculo.customers.services_fields import ensure_default_custom_fields
    except ImportError:
        pass
    else:
        ensure_default_custom_fields()
    return list(CustomField.objects.filter(active=True).order_by("key"))


def seeded_count(seed: int | None = None) -> int:
    prefix = SEED_PREFIX if seed is None else f"{SEED_PREFIX}{seed}-"
    return Customer.objects.filter(external_id__startswith=prefix).count()


def seed(
    *,
    customers: int,
    seed: int = 1,
    interactions_per_customer: float = 5,
    lines_per_customer: float = 10,
    batch: int = 10_000,
    anchor: dt.datetime | None = None,
    progress: Callable[[int, SeedStats], None] | None = None,
) -> SeedStats:
    """Insert ``customers`` customers (and their channels, addresses, tags, interactions and
    tasks) generated from ``seed``, with the sales history (catalog, leads, opportunities and
    about ``lines_per_customer`` order lines per customer; 0 for none, see
    ``devdata.sales_step``). Commits every ``batch`` customers; not idempotent by itself:
    seeding the same seed twice is refused (call ``reset_seeded`` first)."""
    from vinculo.core.errors import Conflict

    if seeded_count(seed):
        raise Conflict(f"Customers from seed {seed} already exist; reset them first (--reset).")
    started = time.perf_counter()
    staff = ensure_demo_staff()
    tags = _ensure_tags()
    fields = _custom_fields()
    anchor = anchor or timezone.make_aware(
        dt.datetime.combine(timezone.localdate(), dt.time(18, 0))
    )
    writer = _Writer()
    gen = _Generator(seed=seed, ipc=interactions_per_customer, staff=staff, tags=tags,
                     fields=fields, anchor=anchor, vendor=writer.vendor,
                     n_customers=customers)  # fmt: skip
    stats = SeedStats()
    next_cid = _max_id(Customer) + 1
    next_iid = _max_id(Interaction) + 1
    sales = sales_step.SalesStep(seed=seed, customers=customers, tags=tags, staff=staff,
                                 anchor=anchor, ts=gen.ts, flag=gen.flag,
                                 lines_per_customer=lines_per_customer,
                                 stats=stats.sales)  # fmt: skip
    through = _table(Customer.tags.through)
    large = customers >= 50_000
    batches = _generate(gen, sales, customers, batch, next_cid, next_iid)
    if customers >= AHEAD_FROM and not connection.in_atomic_block and _can_fork():
        batches = _ahead(batches, sales)
    with _bulk_mode(large=large):
        for size, first_cid, last_cid, b, sales_rows in batches:
            with transaction.atomic():
                writer.insert(_table(Customer), CUSTOMER_COLS, b.customers)
                writer.insert(_table(CustomerEmail), EMAIL_COLS, b.emails)
                writer.insert(_table(CustomerPhone), PHONE_COLS, b.phones)
                writer.insert(_table(Address), ADDRESS_COLS, b.addresses)
                writer.insert(through, TAG_COLS, b.tag_links)
                writer.insert(_table(Interaction), INTERACTION_COLS, b.interactions)
                writer.insert(_table(Task), TASK_COLS, b.tasks)
                sales.write(writer, sales_rows)
                if writer.vendor == "sqlite":
                    _index_range(first_cid, last_cid)
            stats.customers += size
            stats.organizations += sum(1 for r in b.customers if r[4] == "organization")
            stats.emails += len(b.emails)
            stats.phones += len(b.phones)
            stats.addresses += len(b.addresses)
            stats.tag_links += len(b.tag_links)
            stats.interactions += len(b.interactions)
            stats.tasks += len(b.tasks)
            stats.seconds = time.perf_counter() - started
            if progress:
                progress(size, stats)
        sales.finish()
    _sync_sequences()
    stats.seconds = time.perf_counter() - started
    return stats


def _generate(gen: _Generator, sales: sales_step.SalesStep, customers: int, batch: int,
              next_cid: int, next_iid: int):  # fmt: skip
    """Batches of rows to write: (size, first id, last id, customer rows, sales rows)."""
    done = 0
    while done < customers:
        size = min(batch, customers - done)
        b = _Batch()
        first_cid = next_cid
        for ordinal in range(done, done + size):
            next_iid = gen.customer(b, next_cid, ordinal, next_iid)
            next_cid += 1
        next_iid = sales.generate(b, next_iid)
        b.buyers = []  # only the generators need them
        yield size, first_cid, next_cid - 1, b, sales.take()
        done += size


def _can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


def _ahead(batches, sales: sales_step.SalesStep):
    """Generate in a forked child process, at most two batches ahead, while this process
    writes: generating and writing take about as long each, so a large seed takes ~40 %
    less time on two cores. The child inherits the generators (same rows, same order); it
    never touches the database connection and leaves with ``os._exit``."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=2)

    def produce() -> None:
        try:
            for item in batches:
                queue.put(("batch", item))
            queue.put(("end", sales.reserved()))
        except BaseException as exc:  # report to the parent instead of dying silently
            queue.put(("error", repr(exc)))
        finally:
            queue.close()
            queue.join_thread()
            os._exit(0)

    child = ctx.Process(target=produce, daemon=True)
    child.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=5)
            except pyqueue.Empty:
                if not child.is_alive():
                    raise RuntimeError("The seeding worker stopped unexpectedly.") from None
                continue
            if kind == "error":
                raise RuntimeError(f"The seeding worker failed: {payload}")
            if kind == "end":
                sales.set_reserved(payload)
                return
            yield payload
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _index_range(first: int, last: int) -> None:
    """Index freshly inserted customers in the FTS table (the triggers are off meanwhile)."""
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {search.FTS_TABLE}(rowid, {search._FTS_COLS}) "
            f"SELECT id, {search._FTS_VALUES.format(p='c')} FROM customers_customer c "
            "WHERE id BETWEEN %s AND %s",
            [first, last],
        )


class _bulk_mode:
    """SQLite: FTS triggers off (rows are indexed per batch by ``_index_range``) and
    ``synchronous=OFF`` while seeding. PostgreSQL: for a large load, the search indexes and
    the word table's triggers are dropped, and the indexes and the word table built once at
    the end, which is much faster than updating them per row."""

    def __init__(self, *, large: bool) -> None:
        self.large = large
        self.vendor = connection.vendor
        self.fts = self.vendor == "sqlite" and search.sqlite_index_exists()
        # PRAGMAs cannot change inside a transaction (e.g. when called from a test).
        self.tuned = not connection.in_atomic_block

    def __enter__(self):
        with connection.cursor() as cur:
            if self.vendor == "sqlite":
                if self.tuned:
                    cur.execute("PRAGMA synchronous=OFF")
                    cur.execute("PRAGMA cache_size=-400000")  # 400 MB: index pages stay in memory
                if self.fts:
                    search.sqlite_ensure(cur)
                    search.sqlite_drop_triggers(cur)
            elif self.vendor == "postgresql" and self.large:
                for name in search.PG_INDEX_NAMES:
                    cur.execute(f"DROP INDEX IF EXISTS {name}")
                search.pg_words_suspend(cur)
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cur:
            if self.vendor == "sqlite":
                if self.fts:
                    search.sqlite_ensure(cur, rebuild_if_missing=False)
                if self.tuned:
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA cache_size=-64000")
            elif self.vendor == "postgresql":
                if self.large:
                    search.pg_ensure(cur)
                    search.pg_words_ensure(cur, fill=True)
                # VACUUM (outside a transaction) also sets the visibility map, as autovacuum
                # would soon after a real load: without it an index-only scan reads the table.
                verb = "VACUUM (ANALYZE)" if self.tuned else "ANALYZE"
                tables = [
                    "customers_customer",
                    search.WORD_TABLE,
                    "interactions_interaction",
                    "interactions_task",
                ]
                for table in [*tables, *sales_step.TABLES]:
                    cur.execute(f"{verb} {table}")
        return False


# --- reset -----------------------------------------------------------------------------------


@transaction.atomic
def reset_seeded() -> int:
    """Delete every seeded customer and what hangs off it; other customers are untouched
    (their links to seeded organizations are cleared, as deleting through the ORM would)."""
    seeded = Customer.objects.filter(external_id__startswith=SEED_PREFIX)
    ids = seeded.values("pk")
    n = seeded.count()
    if not n:
        return 0
    sales_step.reset_sales(ids)
    Task.objects.filter(customer_id__in=ids).delete()
    Task.objects.filter(interaction__customer_id__in=ids).update(interaction=None)
    Interaction.objects.filter(customer_id__in=ids)._raw_delete(Interaction.objects.db)
    for model in (CustomerEmail, CustomerPhone, Address):
        model.objects.filter(customer_id__in=ids)._raw_delete(model.objects.db)
    Customer.tags.through.objects.filter(customer_id__in=ids)._raw_delete(Customer.objects.db)
    # Non-seeded people in seeded organizations keep their record, not the link.
    Customer.objects.filter(organization__in=ids).exclude(
        external_id__startswith=SEED_PREFIX
    ).update(organization=None, company_name="")
    Customer.objects.filter(organization__in=ids).update(organization=None)
    handled = {Interaction, Task, CustomerEmail, CustomerPhone, Address, Customer.tags.through}
    handled.add(Customer)
    for rel in Customer._meta.related_objects:
        if rel.related_model in handled or rel.many_to_many:
            continue
        qs = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": ids})
        if rel.field.remote_field.on_delete.__name__ == "CASCADE":
            qs.delete()
        elif rel.field.null:
            qs.update(**{rel.field.name: None})
    Customer.objects.filter(merged_into__in=ids).update(merged_into=None)
    seeded._raw_delete(Customer.objects.db)
    sales_step.reset_catalog()
    return n


# --- demo ------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    staff: DemoStaff
    seeded: SeedStats | None


def run_demo(*, customers: int = 3000, seed: int = 2026, progress=None) -> DemoResult:
    """Teams, one login per role and ``customers`` customers if the database has none.
    Idempotent: a second run changes nothing."""
    staff = ensure_demo_staff()
    _custom_fields()
    stats = None
    if customers > 0 and not Customer.objects.exists():
        stats = seed(customers=customers, seed=seed, progress=progress)
    return DemoResult(staff=staff, seeded=stats)
