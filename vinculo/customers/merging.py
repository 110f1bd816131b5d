"""Merging duplicate customers, undoing a merge, and dismissing a candidate pair.

A merge keeps one record (the survivor) and hides the other (the loser, ``merged_into`` set).
Everything that points at the loser moves to the survivor *generically*: every one-to-many
relation found in ``Customer._meta.related_objects`` (interactions, tasks, channels,
addresses, organization members, and whatever a future app hangs off a customer) and every
many-to-many (tags are unioned). The audit entry of the merge holds all that is needed to
undo it exactly; ``unmerge`` replays it backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from vinculo.core import audit
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers.duplicates import DISMISSAL_TYPE, dismissed_pairs, pair_key
from vinculo.customers.models import Customer, CustomerEmail, CustomerPhone
from vinculo.customers.services import _resolve_organization

# Fields the user chooses between, per kind ("attributes.<key>" are added per customer pair).
COMMON_FIELDS = (
    "stage",
    "owner_id",
    "team_id",
    "source",
    "language",
    "country",
    "region",
    "city",
    "external_id",
)
PERSON_FIELDS = ("first_name", "last_name", "organization_id", *COMMON_FIELDS)
ORGANIZATION_FIELDS = ("name", *COMMON_FIELDS)
# Restored on undo (when still as the merge left them).
SNAPSHOT_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "organization_id",
    *COMMON_FIELDS,
    "attributes",
    "last_contact_at",
)
# Rows of these models that clash with the survivor's (same address twice) are deleted and
# kept in the audit payload; clashing rows of other models stay with the hidden loser, since
# deleting them could cascade to data an undo cannot bring back.
DELETABLE_ON_CLASH = (CustomerEmail, CustomerPhone)
_CHUNK = 500


def merge_fields(kind: str, *customers: Customer) -> list[str]:
    """The fields offered for a choice when merging customers of ``kind``."""
    base = PERSON_FIELDS if kind == Customer.Kind.PERSON else ORGANIZATION_FIELDS
    keys = sorted({k for c in customers for k in (c.attributes or {})})
    return [*base, *(f"attributes.{k}" for k in keys)]


def field_value(c: Customer, name: str) -> Any:
    if name.startswith("attributes."):
        return (c.attributes or {}).get(name.split(".", 1)[1])
    return getattr(c, name)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def default_choice(survivor: Customer, loser: Customer, name: str) -> str:
    """The survivor's value unless it is empty and the loser's is not."""
    if _empty(field_value(survivor, name)) and not _empty(field_value(loser, name)):
        return "loser"
    return "survivor"


# --- relations, found generically ----


@dataclass
class FkRelation:
    model: type[models.Model]
    field: models.ForeignKey

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field.name}"

    def label(self, n: int) -> str:
        if self.model is Customer:
            if self.field.name == "organization":
                return ngettext("organization member", "organization members", n)
            return ngettext("record merged earlier", "records merged earlier", n)
        opts = self.model._meta
        return str(opts.verbose_name if n == 1 else opts.verbose_name_plural)


@dataclass
class M2mRelation:
    through: type[models.Model]
    source: str  # through FK attname pointing at the customer
    target: str  # through FK attname pointing at the other side
    other: type[models.Model]  # the model on the other side (Tag...)

    def label(self, n: int) -> str:
        opts = self.other._meta
        return str(opts.verbose_name if n == 1 else opts.verbose_name_plural)

    @property
    def key(self) -> str:
        return f"{self.through._meta.label_lower}.{self.source}"


def fk_relations() -> list[FkRelation]:
    """Every one-to-many (and one-to-one) relation pointing at Customer, including hidden ones
    (``related_name="+"``) and records merged earlier into the loser (they follow it to the
    survivor). Custom M2M through models show up here too and are moved like any row; the
    auto-created through tables (tags) are handled by ``m2m_relations``."""
    out = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete) or rel.many_to_many:
            continue
        if rel.related_model._meta.auto_created or not rel.field.concrete:
            continue
        out.append(FkRelation(model=rel.related_model, field=rel.field))
    return out


@dataclass
class GenericRelation:
    """A GenericForeignKey (e.g. Interaction.related) that may point at a customer."""

    model: type[models.Model]
    ct_attname: str
    id_attname: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def label(self, n: int) -> str:
        opts = self.model._meta
        items = str(opts.verbose_name if n == 1 else opts.verbose_name_plural)
        return _("%(items)s about the record") % {"items": items}

    def rows(self, customer_pk: int):
        from django.contrib.contenttypes.models import ContentType

        ct = ContentType.objects.get_for_model(Customer)
        return self.model._base_manager.filter(
            **{self.ct_attname: ct.pk, self.id_attname: customer_pk}
        )


def generic_relations() -> list[GenericRelation]:
    from django.apps import apps
    from django.contrib.contenttypes.fields import GenericForeignKey

    out = []
    for model in apps.get_models():
        for f in model._meta.private_fields:
            if isinstance(f, GenericForeignKey):
                out.append(
                    GenericRelation(
                        model=model,
                        ct_attname=model._meta.get_field(f.ct_field).attname,
                        id_attname=model._meta.get_field(f.fk_field).attname,
                        name=f.name,
                    )
                )
    return out


def m2m_relations() -> list[M2mRelation]:
    """Many-to-many relations (forward like tags, reverse from other apps) with auto-created
    through tables; the customer gains the loser's links (union)."""
    out = []
    fields = list(Customer._meta.many_to_many) + [
        rel.field for rel in Customer._meta.related_objects if rel.many_to_many
    ]
    for f in fields:
        through = f.remote_field.through
        if not through._meta.auto_created:
            continue  # a custom through model is an FK relation, handled there
        if f.model is Customer:  # forward: tags
            source, target = f.m2m_column_name(), f.m2m_reverse_name()
            other = f.related_model
        else:  # reverse from another model
            source, target = f.m2m_reverse_name(), f.m2m_column_name()
            other = f.model
        out.append(M2mRelation(through=through, source=source, target=target, other=other))
    return out


def _unique_sets(model: type[models.Model], fk_name: str) -> list[list[str]]:
    """Unique field sets of ``model`` that include the FK: the other fields in each."""
    sets: list[tuple[str, ...]] = [tuple(u) for u in model._meta.unique_together]
    for c in model._meta.constraints:
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None:
            sets.append(tuple(c.fields))
    f = model._meta.get_field(fk_name)
    if f.unique:
        sets.append((fk_name,))
    return [[n for n in s if n != fk_name] for s in sets if fk_name in s]


def _clashing_ids(rel: FkRelation, survivor: Customer, loser: Customer) -> list[int]:
    """Loser rows that would break a unique constraint if moved to the survivor."""
    ids: set[int] = set()
    manager = rel.model._base_manager
    for others in _unique_sets(rel.model, rel.field.name):
        attnames = [rel.model._meta.get_field(n).attname for n in others]
        if not attnames:  # one-to-one: any survivor row clashes
            if manager.filter(**{rel.field.attname: survivor.pk}).exists():
                ids.update(
                    manager.filter(**{rel.field.attname: loser.pk}).values_list("pk", flat=True)
                )
            continue
        taken = set(manager.filter(**{rel.field.attname: survivor.pk}).values_list(*attnames))
        for row in manager.filter(**{rel.field.attname: loser.pk}).values_list("pk", *attnames):
            if tuple(row[1:]) in taken:
                ids.add(row[0])
    return sorted(ids)


def _rows_to_move(rel: FkRelation, survivor: Customer, loser: Customer) -> Any:
    qs = rel.model._base_manager.filter(**{rel.field.attname: loser.pk})
    if rel.model is Customer:
        qs = qs.exclude(pk=survivor.pk)  # the survivor may belong to the loser organization
    return qs


# --- preview ----


@dataclass
class MergePlan:
    """What a merge would do, for the confirmation step."""

    moves: list[tuple[str, int]] = field(default_factory=list)  # (label, count)
    dropped: list[tuple[str, int]] = field(default_factory=list)  # duplicates dropped
    kept_on_loser: list[tuple[str, int]] = field(default_factory=list)
    links_added: list[tuple[str, int]] = field(default_factory=list)  # e.g. tags


def plan_merge(*, survivor: Customer, loser: Customer) -> MergePlan:
    """Count, per relation, the rows that would move (one count query per relation)."""
    plan = MergePlan()
    for rel in fk_relations():
        clashes = _clashing_ids(rel, survivor, loser)
        n = _rows_to_move(rel, survivor, loser).exclude(pk__in=clashes).count()
        if n:
            plan.moves.append((rel.label(n), n))
        if clashes:
            target = plan.dropped if rel.model in DELETABLE_ON_CLASH else plan.kept_on_loser
            target.append((rel.label(len(clashes)), len(clashes)))
    for g in generic_relations():
        n = g.rows(loser.pk).count()
        if n:
            plan.moves.append((g.label(n), n))
    for m in m2m_relations():
        n = len(_m2m_missing(m, survivor, loser))
        if n:
            plan.links_added.append((m.label(n), n))
    return plan


def _m2m_missing(m: M2mRelation, survivor: Customer, loser: Customer) -> list[int]:
    rows = m.through._base_manager
    have = set(rows.filter(**{m.source: survivor.pk}).values_list(m.target, flat=True))
    theirs = rows.filter(**{m.source: loser.pk}).values_list(m.target, flat=True)
    return sorted(set(theirs) - have)


# --- merge ----


@dataclass
class MergeResult:
    survivor: Customer
    loser: Customer
    audit_entry: AuditEntry


def _lock_pair(a_id: int, b_id: int) -> dict[int, Customer]:
    """Row-lock two customers, the lower id first (the house's fixed order)."""
    out = {}
    for pk in sorted((a_id, b_id)):
        c = Customer.objects.select_for_update().filter(pk=pk).first()
        if c is None:
            raise NotFound(_("Customer not found."))
        out[pk] = c
    return out


def _refresh_channels(c: Customer) -> None:
    """Keep the denormalised primary email/phone columns in step with the channel rows."""
    c.email = c.emails.order_by("-is_primary", "id").values_list("email", flat=True).first() or ""
    c.phone = c.phones.order_by("-is_primary", "id").values_list("number", flat=True).first() or ""


def _serialise_row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: audit._jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _move(model: type[models.Model], ids: list[int], attname: str, to_pk: int, **extra) -> None:
    now = timezone.now()
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        extra["updated_at"] = now  # moved rows must be picked up again by the ETL watermark
    for i in range(0, len(ids), _CHUNK):
        model._base_manager.filter(pk__in=ids[i : i + _CHUNK]).update(**{attname: to_pk}, **extra)


@transaction.atomic
def merge_customers(
    *,
    actor,
    survivor_id: int,
    loser_id: int,
    field_choices: dict[str, str] | None = None,
    expected_versions: tuple[int | None, int | None] | None = None,
) -> MergeResult:
    """Merge ``loser_id`` into ``survivor_id``: move every related row, union tags, apply the
    chosen field values, hide the loser. Atomic; one audit entry (action "merge") on the
    survivor holds what ``unmerge`` needs. Refuses (Conflict) a self-merge, a merged-away
    customer, or versions that changed since the caller read them."""
    if int(survivor_id) == int(loser_id):
        raise Conflict(_("A customer cannot be merged with itself."))
    locked = _lock_pair(int(survivor_id), int(loser_id))
    survivor, loser = locked[int(survivor_id)], locked[int(loser_id)]
    if survivor.merged_into_id or loser.merged_into_id:
        raise Conflict(_("One of these customers has already been merged into another one."))
    if expected_versions is not None:
        for c, expected in zip((survivor, loser), expected_versions, strict=True):
            if expected is not None and int(expected) != c.version:
                raise Conflict(
                    _(
                        "“%(name)s” was changed by someone else since you opened this page. "
                        "Reload and review the merge again."
                    )
                    % {"name": c.name}
                )
    if survivor.kind != loser.kind:
        raise ValidationError(_("A person cannot be merged with an organization."))

    before = audit.snapshot(survivor, SNAPSHOT_FIELDS)
    loser_before = audit.snapshot(loser, ("external_id",))
    payload: dict[str, Any] = {
        "survivor_id": survivor.pk,
        "loser_id": loser.pk,
        "survivor_before": before,
        "loser_before": loser_before,
        "moved": {},
        "unprimaried": {},
        "deleted": [],
        "kept_on_loser": {},
        "links_added": {},
    }
    _move_relations(survivor, loser, payload)
    _apply_choices(survivor, loser, field_choices or {})
    if loser.last_contact_at and (
        not survivor.last_contact_at or loser.last_contact_at > survivor.last_contact_at
    ):
        survivor.last_contact_at = loser.last_contact_at
    if survivor.organization_id == loser.pk:
        survivor.organization_id = loser.organization_id
    if survivor.organization_id == survivor.pk:
        survivor.organization_id = None

    # The loser gives up its external id first when the survivor takes it (unique column).
    loser.merged_into = survivor
    if survivor.external_id and survivor.external_id == loser.external_id:
        loser.external_id = None
    _refresh_channels(loser)
    loser.version += 1
    loser.save()
    _resolve_organization(survivor)
    _refresh_channels(survivor)
    survivor.version += 1
    survivor.save()
    member_ids = payload["moved"].get("customers.customer.organization", [])
    if member_ids:
        Customer.objects.filter(pk__in=member_ids).update(company_name=survivor.name)

    after = audit.snapshot(survivor, SNAPSHOT_FIELDS)
    payload["survivor_after"] = after
    entry = audit.record(
        actor=actor,
        action="merge",
        obj=survivor,
        customer_id=survivor.pk,
        object_repr=_("%(loser)s merged into %(survivor)s")
        % {"loser": loser.name, "survivor": survivor.name},
        changes=audit.diff(before, after),
        payload=payload,
    )
    audit.record(
        actor=actor,
        action="merge",
        obj=loser,
        customer_id=loser.pk,
        changes={"merged_into": [None, survivor.pk]},
        payload={"merge_entry_id": entry.pk},
    )
    return MergeResult(survivor=survivor, loser=loser, audit_entry=entry)


def _move_relations(survivor: Customer, loser: Customer, payload: dict[str, Any]) -> None:
    for rel in fk_relations():
        clashes = _clashing_ids(rel, survivor, loser)
        if clashes and rel.model in DELETABLE_ON_CLASH:
            for obj in rel.model._base_manager.filter(pk__in=clashes):
                payload["deleted"].append(
                    {"model": rel.model._meta.label_lower, "data": _serialise_row(obj)}
                )
            rel.model._base_manager.filter(pk__in=clashes).delete()
        elif clashes:
            payload["kept_on_loser"][rel.key] = clashes
        ids = sorted(
            _rows_to_move(rel, survivor, loser).exclude(pk__in=clashes).values_list("pk", flat=True)
        )
        if not ids:
            continue
        extra = {}
        if _has_primary_flag(rel.model):
            # The survivor keeps its own primary email/phone/address when it has one.
            flag_owner = {rel.field.attname: survivor.pk, "is_primary": True}
            if rel.model._base_manager.filter(**flag_owner).exists():
                flagged = list(
                    rel.model._base_manager.filter(pk__in=ids, is_primary=True).values_list(
                        "pk", flat=True
                    )
                )
                if flagged:
                    payload["unprimaried"][rel.model._meta.label_lower] = flagged
                    rel.model._base_manager.filter(pk__in=flagged).update(is_primary=False)
        _move(rel.model, ids, rel.field.attname, survivor.pk, **extra)
        payload["moved"][rel.key] = ids
    for m in m2m_relations():
        missing = _m2m_missing(m, survivor, loser)
        if missing:
            m.through._base_manager.bulk_create(
                [m.through(**{m.source: survivor.pk, m.target: t}) for t in missing]
            )
            payload["links_added"][m.key] = missing
    for g in generic_relations():  # records that *concern* the loser now concern the survivor
        ids = sorted(g.rows(loser.pk).values_list("pk", flat=True))
        if ids:
            _move(g.model, ids, g.id_attname, survivor.pk)
            payload.setdefault("moved_generic", {})[g.key] = ids


def _has_primary_flag(model: type[models.Model]) -> bool:
    return any(
        f.name == "is_primary" and isinstance(f, models.BooleanField)
        for f in model._meta.concrete_fields
    )


def _apply_choices(survivor: Customer, loser: Customer, choices: dict[str, str]) -> None:
    names = merge_fields(survivor.kind, survivor, loser)
    unknown = set(choices) - set(names)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    attributes = dict(survivor.attributes or {})
    for name in names:
        choice = choices.get(name) or default_choice(survivor, loser, name)
        if choice not in ("survivor", "loser"):
            raise ValidationError.for_field(name, _("Choose which value to keep."))
        if choice == "survivor":
            continue
        value = field_value(loser, name)
        if name.startswith("attributes."):
            key = name.split(".", 1)[1]
            if _empty(value):
                attributes.pop(key, None)
            else:
                attributes[key] = value
        else:
            setattr(survivor, name, value)
    survivor.attributes = attributes
    if survivor.kind == Customer.Kind.PERSON:
        full = " ".join(p for p in [survivor.first_name, survivor.last_name] if p)
        survivor.name = full or survivor.name


# --- undo ----


@transaction.atomic
def unmerge(*, actor, audit_entry_id: int) -> Customer:
    """Undo a merge exactly: move the recorded rows back, restore deleted channel rows,
    the survivor's field values (those not edited since) and tags, and show the loser again.
    Refuses (Conflict) when already undone or when the survivor has been merged away since.
    Returns the restored customer."""
    entry = (
        AuditEntry.objects.select_for_update()
        .filter(pk=audit_entry_id, action="merge", object_type="customers.customer")
        .first()
    )
    if entry is None or "loser_id" not in (entry.payload or {}):
        raise NotFound(_("Merge not found."))
    if entry.undone_at:
        raise Conflict(_("This merge has already been undone."))
    p = entry.payload
    locked = _lock_pair(p["survivor_id"], p["loser_id"])
    survivor, loser = locked[p["survivor_id"]], locked[p["loser_id"]]
    if survivor.merged_into_id:
        raise Conflict(
            _("“%(name)s” has since been merged into another customer. Undo that merge first.")
            % {"name": survivor.name}
        )
    if loser.merged_into_id != survivor.pk:
        raise Conflict(_("“%(name)s” is no longer merged here.") % {"name": loser.name})

    fk_by_key = {rel.key: rel for rel in fk_relations()}
    for key, ids in p.get("moved", {}).items():
        rel = fk_by_key.get(key)
        if rel is None:
            continue
        still_here = list(
            rel.model._base_manager.filter(
                pk__in=ids, **{rel.field.attname: survivor.pk}
            ).values_list("pk", flat=True)
        )
        _move(rel.model, still_here, rel.field.attname, loser.pk)
    generic_by_key = {g.key: g for g in generic_relations()}
    for key, ids in p.get("moved_generic", {}).items():
        g = generic_by_key.get(key)
        if g is not None:
            still_here = list(g.rows(survivor.pk).filter(pk__in=ids).values_list("pk", flat=True))
            _move(g.model, still_here, g.id_attname, loser.pk)
    from django.apps import apps

    for label, ids in p.get("unprimaried", {}).items():
        apps.get_model(label)._base_manager.filter(pk__in=ids).update(is_primary=True)
    for row in p.get("deleted", []):
        model = apps.get_model(row["model"])
        data = {
            f.attname: f.to_python(row["data"].get(f.attname))
            for f in model._meta.concrete_fields
            if f.attname in row["data"]
        }
        obj = model(**data)
        obj.save_base(raw=True, force_insert=True)  # keeps created_at/updated_at as they were
    m2m_by_key = {m.key: m for m in m2m_relations()}
    for key, targets in p.get("links_added", {}).items():
        m = m2m_by_key.get(key)
        if m is not None:
            m.through._base_manager.filter(
                **{m.source: survivor.pk, f"{m.target}__in": targets}
            ).delete()

    _restore_survivor(survivor, p)
    loser.merged_into = None
    loser.external_id = p.get("loser_before", {}).get("external_id")
    if loser.external_id and loser.external_id == survivor.external_id:
        survivor.external_id = None
    _resolve_organization(survivor)
    _refresh_channels(survivor)
    survivor.version += 1
    survivor.save()
    _refresh_channels(loser)
    loser.version += 1
    loser.save()
    member_ids = p.get("moved", {}).get("customers.customer.organization", [])
    if member_ids:
        Customer.objects.filter(pk__in=member_ids, organization_id=loser.pk).update(
            company_name=loser.name
        )

    entry.undone_at = timezone.now()
    entry.save(update_fields=["undone_at"])
    audit.record(
        actor=actor,
        action="unmerge",
        obj=survivor,
        customer_id=survivor.pk,
        object_repr=_("%(loser)s split from %(survivor)s")
        % {"loser": loser.name, "survivor": survivor.name},
        payload={"merge_entry_id": entry.pk, "loser_id": loser.pk},
    )
    audit.record(
        actor=actor,
        action="unmerge",
        obj=loser,
        customer_id=loser.pk,
        changes={"merged_into": [survivor.pk, None]},
        payload={"merge_entry_id": entry.pk},
    )
    return loser


def merge_entry_for_user(*, user, audit_entry_id: int) -> AuditEntry:
    """The audit entry of a merge whose survivor ``user`` may see, or NotFound."""
    from vinculo.customers.selectors import customer_for_user

    entry = AuditEntry.objects.filter(
        pk=audit_entry_id, action="merge", object_type="customers.customer"
    ).first()
    if entry is None or "loser_id" not in (entry.payload or {}):
        raise NotFound(_("Merge not found."))
    customer_for_user(user=user, pk=entry.customer_id)
    return entry


def _restore_survivor(survivor: Customer, p: dict[str, Any]) -> None:
    """Put back the survivor's pre-merge values, except fields edited after the merge."""
    before, after = p.get("survivor_before", {}), p.get("survivor_after", {})
    current = audit.snapshot(survivor, SNAPSHOT_FIELDS)
    for name in SNAPSHOT_FIELDS:
        if name not in before or current.get(name) != after.get(name):
            continue
        f = Customer._meta.get_field(name)
        value = before[name]
        if name != "attributes" and value is not None:
            value = f.to_python(value)
        setattr(survivor, f.attname, value)


# --- "not a duplicate" ----


@transaction.atomic
def dismiss_pair(*, actor, customer_ids: Iterable[int]) -> bool:
    """Mark two customers as "not a duplicate" for everyone. Idempotent: returns False when
    the pair was already dismissed (nothing written)."""
    a, b = (int(x) for x in customer_ids)
    if a == b:
        raise ValidationError(_("Choose two different customers."))
    key = pair_key(a, b)
    if key in dismissed_pairs():
        return False
    audit.record(
        actor=actor,
        action="update",
        object_type=DISMISSAL_TYPE,
        object_id=key[0],
        customer_id=key[0],
        object_repr=_("Not a duplicate: #%(a)s and #%(b)s") % {"a": key[0], "b": key[1]},
        payload={"pair": list(key)},
    )
    return True
