"""Reads of leads, always filtered by what the user may see: a lead is visible when its
customer is, when the user owns it, or when it belongs to the user's team (or a team they
manage). Each function picks its joins, so no page makes a query per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, Count, F, IntegerField, Q, QuerySet, Sum
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from vinculo.core.errors import NotFound
from vinculo.core.fast import fast_date_format, fast_reverse
from vinculo.core.models import AuditEntry
from vinculo.customers.selectors import managed_team_ids, search_filter, visibility_q
from vinculo.interactions.models import Interaction
from vinculo.sales.leads import OPEN_STATUSES
from vinculo.sales.models import Lead
from vinculo.sales.paging import NoIndex, filter_along_sort
from vinculo.sales.selectors import _prefix_q


def visible_leads(user) -> QuerySet[Lead]:
    """Leads ``user`` may see (leads of merged-away customers are never listed)."""
    qs = Lead.objects.filter(customer__merged_into__isnull=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    q = _prefix_q(visibility_q(user), "customer")
    if q is None:
        return qs
    q |= Q(owner_id=user.pk)
    if user.team_id:
        q |= Q(team_id=user.team_id)
    managed = managed_team_ids(user)
    if managed:
        # Managers also triage the unassigned pool (web form leads no rule matched).
        q |= Q(team_id__in=managed) | Q(owner__team_id__in=managed)
        q |= Q(owner__isnull=True, team__isnull=True)
    return qs.filter(q)


def lead_for_user(*, user, pk) -> Lead:
    """One lead the user may see, or NotFound (hidden and missing look alike)."""
    try:
        return (
            visible_leads(user)
            .select_related("customer", "owner", "team", "opportunity")
            .get(pk=pk)
        )
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Lead not found.")) from None


# Each sort's ascending order with its ties; descending reverses every term, so one index
# (lead_list_*) holds both directions and a page is an index walk, not a sort of every visible
# lead (500k at 1M). Score descending, the default, keeps the oldest first among equal scores.
# No sort by name: no index holds leads in their customer's name order.
LEAD_ORDERS = {
    "score": ("score", "-created_at", "-id"),
    "created": ("created_at", "id"),
    "status": ("status", "created_at", "id"),
    "source": ("source", "created_at", "id"),
    "cost": ("acquisition_cost", "created_at", "id"),
}
LEAD_SORTS = set(LEAD_ORDERS)


def _reverse(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


@dataclass
class LeadFilters:
    """What the lead list filters on; empty values mean "any"."""

    q: str = ""
    status: str = ""  # a status, or "open" for new + contacted + qualified
    source: str = ""
    owner_id: int | None = None
    campaign: str = ""
    sort: str = "-score"


def _attribute_filters(f: LeadFilters) -> dict:
    terms: dict = {}
    if f.status == "open":
        terms["status__in"] = OPEN_STATUSES
    elif f.status in Lead.Status.values:
        terms["status"] = f.status
    if f.source in Lead.Source.values:
        terms["source"] = f.source
    if f.owner_id:
        terms["owner_id"] = f.owner_id
    if f.campaign:
        terms["campaign"] = f.campaign
    return terms


def filter_leads(qs: QuerySet[Lead], f: LeadFilters) -> QuerySet[Lead]:
    if f.q:
        qs = _search(qs, f.q)
    qs = filter_along_sort(qs, _attribute_filters(f))
    key = f.sort.lstrip("-")
    if key not in LEAD_ORDERS:
        key, desc = "score", True
    else:
        desc = f.sort.startswith("-")
    order = LEAD_ORDERS[key]
    return qs.order_by(*(map(_reverse, order) if desc else order))


# A search matching up to this many customers (and no campaign) reads their leads by customer.
SEARCH_CUSTOMERS = 1000


def _search(qs: QuerySet[Lead], text: str) -> QuerySet[Lead]:
    """Leads whose customer the customer search finds for ``text`` or whose campaign contains
    it. The customers are searched on their own (the leads' visibility is on ``qs``): matching
    them against the customers of every visible lead read all 500k leads for each search.
    Few customers and no campaign: their leads are read by customer; otherwise the leads are
    walked in the page's order, each one checked against the matches (SQLite; PostgreSQL
    plans it with its statistics)."""
    from vinculo.customers.models import Customer

    matches = search_filter(Customer.objects.all(), text).order_by().values_list("pk", flat=True)
    ids = list(matches[: SEARCH_CUSTOMERS + 1])
    low = text.lower()
    campaigns = [c for c in lead_campaigns() if low in c.lower()]
    if len(ids) <= SEARCH_CUSTOMERS and not campaigns:
        return qs.filter(customer_id__in=ids)
    customers = ids if len(ids) <= SEARCH_CUSTOMERS else matches
    if connection.vendor != "sqlite":
        return qs.filter(Q(customer_id__in=customers) | Q(campaign__in=campaigns))
    qs = qs.alias(
        _plain_customer=NoIndex(F("customer_id"), output_field=IntegerField()),
        _plain_campaign=NoIndex(F("campaign"), output_field=CharField()),
    )
    return qs.filter(Q(_plain_customer__in=customers) | Q(_plain_campaign__in=campaigns))


def lead_campaigns() -> list[str]:
    """Every campaign named on a lead. One index seek per campaign (a recursive query asking
    for the next name each time) instead of DISTINCT, which reads the whole index (500k)."""
    table = connection.ops.quote_name(Lead._meta.db_table)
    column = connection.ops.quote_name(Lead._meta.get_field("campaign").column)
    sql = (
        f"WITH RECURSIVE c(v) AS (SELECT MIN({column}) FROM {table} WHERE {column} > ''"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > c.v)"
        " FROM c WHERE c.v IS NOT NULL) SELECT v FROM c WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def lead_list(user, f: LeadFilters) -> QuerySet[Lead]:
    return filter_leads(visible_leads(user), f).select_related("customer", "owner")


# --- the work queue -----------------------------------------------------------------------------


# The queue's order; index lead_queue_order holds each owner's leads of one status in it.
QUEUE_ORDER = ("-score", "created_at", "id")
# A rep's open-lead count in the team queues stops here ("1,000+"): counting 50k leads per rep
# at 1M would read them all.
TEAM_COUNT_CAP = 1000


# What a queue item shows (label_leads, lead_queue_items), with its customer's name and
# contacts; not whole customer rows with their custom fields' JSON.
QUEUE_FIELDS = (
    "id",
    "version",
    "status",
    "source",
    "campaign",
    "created_at",
    "score",
    "score_fit",
    "score_engagement",
    "score_reasons",
    "owner_id",
    "customer_id",
    "customer__name",
    "customer__company_name",
    "customer__email",
    "customer__phone",
)


def _queue_rows(base: QuerySet[Lead], owner_id: int, limit: int) -> list[Lead]:
    """The first ``limit`` open leads of ``owner_id`` in queue order. "status IN (open)" cannot
    be read in score order from any index, so one query sorted every open lead of the owner
    (~50k at 1M); each status is read in order from lead_queue_order instead (``limit`` ids
    each, with their sort keys), merged here, and only the first ``limit`` are read whole."""
    mine = base.filter(owner_id=owner_id)
    keys: list[tuple] = []
    for status in OPEN_STATUSES:
        branch = mine.filter(status=status).order_by(*QUEUE_ORDER)
        keys.extend(branch.values_list("score", "created_at", "pk")[:limit])
    if not keys:
        return []
    # The three branches merged in queue order here: only the first ``limit`` leads are read
    # whole (not up to 3 x ``limit``).
    keys.sort(key=lambda k: (-k[0], k[1], k[2]))
    ids = [k[2] for k in keys[:limit]]
    return list(
        Lead.objects.filter(pk__in=ids)
        .select_related("customer")
        .only(*QUEUE_FIELDS)
        .order_by(*QUEUE_ORDER)[:limit]
    )


def queue_for(*, user, limit: int) -> list[Lead]:
    """The user's open leads to call first: highest score, then the one waiting longest (the
    first ``limit``). A lead the user owns is visible to them whatever the other branches of
    the rule (visible_leads), so the queue reads the user's leads without them: three
    conditions less to build for each of its four queries, and no managed-teams lookup."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    own = Lead.objects.filter(customer__merged_into__isnull=True)
    return _queue_rows(own, user.pk, limit)


def label_leads(leads: list[Lead], *, queue: bool = False) -> list[Lead]:
    """Give each lead what a list row prints, computed once per page: ``url``, ``name``,
    ``status_label``, ``source_label``, ``owner_label``, ``created_label``, ``cost_label``;
    with ``queue`` also ``status_url``, ``convert_url``, ``waiting``, ``meta``, ``aria_label``,
    ``actions_label``, ``score_line`` and ``reasons`` (each with its kind's label).
    {% url %}, get_FOO_display(), |date and {% blocktranslate %} per row were most of the
    queue's and the list's time (50 rows)."""
    statuses, sources = dict(Lead.Status.choices), dict(Lead.Source.choices)
    kinds = {"fit": _("fit"), "engagement": _("engagement")}
    # Translated once, filled per row.
    waiting, aria = _("waiting %(age)s"), _("%(name)s, score %(score)s")
    actions, score_line = _("Actions for %(name)s"), _("fit %(fit)s · engagement %(engagement)s")
    now = timezone.now()
    for lead in leads:
        lead.url = fast_reverse("lead_detail", [lead.pk])
        lead.name = lead.customer.name
        lead.status_label = statuses.get(lead.status, lead.status)
        lead.source_label = sources.get(lead.source, lead.source)
        if not queue:
            lead.owner_label = str(lead.owner) if lead.owner_id else "—"
            lead.created_label = fast_date_format(
                timezone.localtime(lead.created_at), "SHORT_DATE_FORMAT"
            )
            lead.cost_label = floatformat(lead.acquisition_cost, "2g")
            continue
        lead.status_url = f"{lead.url}status/"
        lead.convert_url = f"{lead.url}convert/"
        lead.waiting = timesince(lead.created_at, now)
        parts = [lead.status_label, lead.source_label]
        if lead.campaign:
            parts.append(lead.campaign)
        parts.append(waiting % {"age": lead.waiting})
        lead.meta = " · ".join(str(p) for p in parts)
        lead.aria_label = aria % {"name": lead.name, "score": lead.score}
        lead.actions_label = actions % {"name": lead.name}
        lead.score_line = score_line % {
            "fit": lead.score_fit,
            "engagement": lead.score_engagement,
        }
        lead.reasons = [
            {
                "kind": kinds["fit"] if r.get("kind") == "fit" else kinds["engagement"],
                "label": r.get("label", ""),
                "points": f"+{r['points']}" if r.get("points", 0) > 0 else r.get("points"),
            }
            for r in lead.score_reasons or []
        ]
    return leads


@dataclass
class RepQueue:
    rep: object
    leads: list[Lead] = field(default_factory=list)
    total: int = 0  # at most TEAM_COUNT_CAP + 1
    capped: bool = False  # more than TEAM_COUNT_CAP open leads


def team_queues(*, user, per_rep: int = 20) -> list[RepQueue]:
    """For a manager: each member of the teams they manage with their top ``per_rep`` open
    leads and how many they have (counted up to TEAM_COUNT_CAP). Five queries per member, each
    reading at most ``per_rep`` or TEAM_COUNT_CAP index entries whatever the number of leads."""
    managed = managed_team_ids(user)
    if not managed:
        return []
    reps = list(
        get_user_model()
        .objects.filter(team_id__in=managed, is_active=True)
        .order_by("first_name", "username")
    )
    base = visible_leads(user)
    queues = []
    for rep in reps:
        total = (
            base.filter(owner_id=rep.pk, status__in=OPEN_STATUSES)
            .order_by()[: TEAM_COUNT_CAP + 1]
            .count()
        )
        queues.append(
            RepQueue(
                rep=rep,
                leads=_queue_rows(base, rep.pk, per_rep) if total else [],
                total=total,
                capped=total > TEAM_COUNT_CAP,
            )
        )
    return queues


# --- detail -------------------------------------------------------------------------------------


@dataclass
class LeadEvent:
    at: object
    kind: str  # "audit" | "interaction"
    title: str
    detail: str = ""
    user: object = None


def lead_history(lead: Lead) -> list[LeadEvent]:
    """The lead's status changes (from the audit log) and what happened with its customer
    since it came in (the customer's interactions), newest first."""
    events: list[LeadEvent] = []
    entries = (
        AuditEntry.objects.filter(object_type=Lead._meta.label_lower, object_id=lead.pk)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    labels = dict(Lead.Status.choices)
    current = Lead.Status.NEW
    last_disqualified = None
    for e in entries:
        status = e.changes.get("status")
        if e.action == AuditEntry.Action.CREATE:
            title = _("Lead captured")
        elif status:
            # A conversion records its "before" as "open": name the status it really left.
            before = status[0] if status[0] in labels else current
            current = status[1]
            title = _("Status: %(before)s → %(after)s") % {
                "before": labels.get(before, before),
                "after": labels.get(status[1], status[1]),
            }
        else:
            title = e.get_action_display()
        events.append(LeadEvent(at=e.created_at, kind="audit", title=title, user=e.actor))
        if status and status[1] == Lead.Status.DISQUALIFIED:
            last_disqualified = events[-1]
    if last_disqualified is not None and lead.status == Lead.Status.DISQUALIFIED:
        last_disqualified.detail = lead.disqualified_reason
    interactions = Interaction.objects.filter(
        customer_id=lead.customer_id, occurred_at__gte=lead.created_at
    ).select_related("user")[:50]
    for i in interactions:
        events.append(
            LeadEvent(
                at=i.occurred_at,
                kind="interaction",
                title=f"{i.get_kind_display()} · {i.subject}".strip(" ·"),
                detail=i.body[:300],
                user=i.user,
            )
        )
    events.sort(key=lambda ev: ev.at, reverse=True)
    return events


# --- cost per lead ------------------------------------------------------------------------------


@dataclass
class CostRow:
    source: str
    source_label: str
    campaign: str
    currency: str
    leads: int
    converted: int
    cost: Decimal

    @property
    def cost_per_lead(self) -> Decimal:
        return (self.cost / self.leads).quantize(Decimal("0.01")) if self.leads else Decimal("0")

    @property
    def cost_per_conversion(self) -> Decimal | None:
        if not self.converted:
            return None
        return (self.cost / self.converted).quantize(Decimal("0.01"))

    @property
    def conversion_rate(self) -> float:
        return round(100 * self.converted / self.leads, 1) if self.leads else 0.0


def cost_per_lead(user, *, created_from=None, created_to=None) -> list[CostRow]:
    """Leads, conversions and acquisition cost by source and campaign (one query)."""
    qs = visible_leads(user)
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    rows = (
        qs.values("source", "campaign", "currency")
        .annotate(
            n=Count("pk"),
            converted=Count("pk", filter=Q(status=Lead.Status.CONVERTED)),
            cost=Sum("acquisition_cost"),
        )
        .order_by("source", "campaign", "currency")
    )
    labels = dict(Lead.Source.choices)
    return [
        CostRow(
            source=r["source"],
            source_label=str(labels.get(r["source"], r["source"])),
            campaign=r["campaign"],
            currency=r["currency"],
            leads=r["n"],
            converted=r["converted"],
            cost=r["cost"] or Decimal("0"),
        )
        for r in rows
    ]
