"""Writes to customers. Each public function is one atomic business action with its audit row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from vinculo.core import audit
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.normalize import normalize_email, normalize_phone
from vinculo.customers.models import (
    Address,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomField,
    Tag,
)

# Fields a caller may set directly on a customer (the rest are derived or managed elsewhere).
EDITABLE_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "name",
    "organization_id",
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
AUDITED_FIELDS = (*EDITABLE_FIELDS, "attributes", "email", "phone", "company_name")


# --- validation -----------------------------------------------------------------------------


def validate_attributes(values: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Coerce and check custom field values against their definitions. Unknown keys and bad
    values raise ValidationError naming ``attributes.<key>``. Empty values remove the key."""
    defs = {cf.key: cf for cf in CustomField.objects.filter(active=True)}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key, raw in (values or {}).items():
        cf = defs.get(key)
        name = f"attributes.{key}"
        if cf is None:
            errors[name] = [_("Unknown custom field “%(key)s”.") % {"key": key}]
            continue
        if raw in (None, "", []):
            clean[key] = None
            continue
        try:
            clean[key] = _coerce(cf, raw)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if not partial:
        for key, cf in defs.items():
            if cf.required and clean.get(key) in (None, "", []):
                errors.setdefault(f"attributes.{key}", [_("This field is required.")])
    if errors:
        raise ValidationError(_("Some custom fields are invalid."), field_errors=errors)
    return clean


def _coerce(cf: CustomField, raw: Any) -> Any:
    t = CustomField.Type
    if cf.type == t.TEXT:
        return str(raw).strip()[:1000]
    if cf.type == t.NUMBER:
        try:
            number = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("“%(v)s” is not a number.") % {"v": raw}) from None
        if not number.is_finite():
            raise ValueError(_("“%(v)s” is not a number.") % {"v": raw})
        return int(number) if number == number.to_integral_value() else float(number)
    if cf.type == t.DATE:
        if isinstance(raw, dt.date):
            return raw.isoformat()
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(_("“%(v)s” is not a date (YYYY-MM-DD).") % {"v": raw}) from None
    if cf.type == t.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "y", "si", "sí", "on"}:
            return True
        if text in {"0", "false", "no", "n", "off"}:
            return False
        raise ValueError(_("“%(v)s” is not yes or no.") % {"v": raw})
    if cf.type == t.CHOICE:
        value = str(raw).strip()
        if value not in cf.choices:
            raise ValueError(
                _("“%(v)s” is not one of: %(choices)s.")
                % {"v": value, "choices": ", ".join(cf.choices)}
            )
        return value
    if cf.type == t.MULTI_CHOICE:
        items = raw if isinstance(raw, list | tuple) else str(raw).split(";")
        values = [str(v).strip() for v in items if str(v).strip()]
        bad = [v for v in values if v not in cf.choices]
        if bad:
            raise ValueError(
                _("“%(v)s” is not one of: %(choices)s.")
                % {"v": ", ".join(bad), "choices": ", ".join(cf.choices)}
            )
        return sorted(set(values), key=values.index)
    raise ValueError(_("Unsupported field type."))


def _display_name(*, kind: str, name: str, first_name: str, last_name: str) -> str:
    if kind == Customer.Kind.ORGANIZATION:
        return (name or "").strip()
    full = " ".join(p for p in [(first_name or "").strip(), (last_name or "").strip()] if p)
    return full or (name or "").strip()


def _check_core(c: Customer) -> None:
    errors: dict[str, list[str]] = {}
    if c.kind not in Customer.Kind.values:
        errors["kind"] = [_("Choose person or organization.")]
    if c.stage not in Customer.Stage.values:
        errors["stage"] = [_("“%(v)s” is not a lifecycle stage.") % {"v": c.stage}]
    if not c.name:
        field = "name" if c.kind == Customer.Kind.ORGANIZATION else "last_name"
        errors[field] = [_("Enter a name.")]
    if c.country and (len(c.country) != 2 or not c.country.isalpha()):
        errors["country"] = [_("Use a two-letter country code (ES, MX, US...).")]
    if c.organization_id and c.organization_id == c.pk:
        errors["organization_id"] = [_("A customer cannot belong to itself.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)


def _resolve_organization(c: Customer) -> None:
    if not c.organization_id:
        c.company_name = "" if c.kind == Customer.Kind.PERSON else c.company_name
        return
    org = Customer.objects.filter(pk=c.organization_id, kind=Customer.Kind.ORGANIZATION).first()
    if org is None:
        raise ValidationError.for_field("organization_id", _("Choose an existing organization."))
    c.company_name = org.name


# --- create / update / delete ---------------------------------------------------------------


@transaction.atomic
def create_customer(
    *,
    actor,
    kind: str = Customer.Kind.PERSON,
    first_name: str = "",
    last_name: str = "",
    name: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    tags: Iterable[str] = (),
    attributes: dict[str, Any] | None = None,
    **fields: Any,
) -> Customer:
    """Create a customer with its channels and custom field values; atomic, audited.
    The first email/phone given becomes the primary one."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    c = Customer(
        kind=kind, first_name=(first_name or "").strip(), last_name=(last_name or "").strip()
    )
    for key, value in fields.items():
        setattr(c, key, value.strip() if isinstance(value, str) else value)
    c.name = _display_name(kind=c.kind, name=name, first_name=c.first_name, last_name=c.last_name)
    c.country = (c.country or "").upper()
    c.external_id = c.external_id or None
    if c.owner_id and not c.team_id:
        from django.contrib.auth import get_user_model

        c.team_id = (
            get_user_model().objects.filter(pk=c.owner_id).values_list("team_id", flat=True).first()
        )
    _check_core(c)
    _resolve_organization(c)
    clean_emails = _clean_list(emails, normalize_email, "emails")
    clean_phones = _clean_list(phones, normalize_phone, "phones")
    c.attributes = {k: v for k, v in validate_attributes(attributes or {}).items() if v is not None}
    c.email = clean_emails[0] if clean_emails else ""
    c.phone = clean_phones[0] if clean_phones else ""
    try:
        with transaction.atomic():
            c.save()
    except IntegrityError:
        raise ValidationError.for_field(
            "external_id", _("Another customer already has this external id.")
        ) from None
    CustomerEmail.objects.bulk_create(
        CustomerEmail(customer=c, email=e, is_primary=i == 0) for i, e in enumerate(clean_emails)
    )
    CustomerPhone.objects.bulk_create(
        CustomerPhone(customer=c, number=p, is_primary=i == 0) for i, p in enumerate(clean_phones)
    )
    if any(n and n.strip() for n in tags or ()):  # a new customer has no tags to clear
        _set_tags(c, tags)
    audit.record(
        actor=actor,
        action="create",
        obj=c,
        customer_id=c.pk,
        changes={k: [None, v] for k, v in audit.snapshot(c, AUDITED_FIELDS).items() if v},
    )
    return c


def _clean_list(values: Iterable[str], fn, field: str) -> list[str]:
    out: list[str] = []
    errors: list[str] = []
    for v in values or ():
        if not v or not str(v).strip():
            continue
        try:
            n = fn(str(v), field=field)
        except ValidationError as exc:
            errors.extend(exc.field_errors.get(field, [exc.message]))
            continue
        if n not in out:
            out.append(n)
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors={field: errors})
    return out


def _set_tags(c: Customer, names: Iterable[str]) -> None:
    names = sorted({n.strip()[:60] for n in names or () if n and n.strip()})
    if not names:
        c.tags.clear()
        return
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    c.tags.set(existing.values())


def lock_customer(*, customer_id: int, expected_version: int | None) -> Customer:
    """Row-lock a customer and check the caller's version (optimistic locking)."""
    c = Customer.objects.select_for_update().get(pk=customer_id)
    if expected_version is not None and int(expected_version) != c.version:
        raise Conflict(
            _(
                "This customer was changed by someone else since you opened it "
                "(version %(theirs)s, yours %(yours)s). Reload to see their changes, "
                "then apply yours again."
            )
            % {"theirs": c.version, "yours": expected_version}
        )
    return c


@transaction.atomic
def update_customer(
    *,
    actor,
    customer_id: int,
    expected_version: int | None,
    tags: Iterable[str] | None = None,
    attributes: dict[str, Any] | None = None,
    replace_attributes: bool = False,
    **changes: Any,
) -> Customer:
    """Change customer fields; refuses a stale ``expected_version`` with Conflict. Atomic and
    audited (field, before, after). ``attributes`` are merged unless ``replace_attributes``."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    c = lock_customer(customer_id=customer_id, expected_version=expected_version)
    before = audit.snapshot(c, AUDITED_FIELDS)
    before_tags = sorted(c.tags.values_list("name", flat=True))
    for key, value in changes.items():
        setattr(c, key, value.strip() if isinstance(value, str) else value)
    c.country = (c.country or "").upper()
    c.external_id = c.external_id or None
    c.name = _display_name(
        kind=c.kind,
        name=changes.get("name", c.name),
        first_name=c.first_name,
        last_name=c.last_name,
    )
    _check_core(c)
    _resolve_organization(c)
    if attributes is not None:
        clean = validate_attributes(attributes, partial=not replace_attributes)
        merged = {} if replace_attributes else dict(c.attributes)
        merged.update(clean)
        c.attributes = {k: v for k, v in merged.items() if v is not None}
    c.version += 1
    try:
        with transaction.atomic():
            c.save()
    except IntegrityError:
        raise ValidationError.for_field(
            "external_id", _("Another customer already has this external id.")
        ) from None
    if c.kind == Customer.Kind.ORGANIZATION and before["name"] != c.name:
        Customer.objects.filter(organization=c).update(company_name=c.name)
    changes_diff = audit.diff(before, audit.snapshot(c, AUDITED_FIELDS))
    if tags is not None:
        _set_tags(c, tags)
        after_tags = sorted(c.tags.values_list("name", flat=True))
        if after_tags != before_tags:
            changes_diff["tags"] = [before_tags, after_tags]
    if changes_diff:
        audit.record(actor=actor, action="update", obj=c, customer_id=c.pk, changes=changes_diff)
    return c


@transaction.atomic
def delete_customer(*, actor, customer_id: int, expected_version: int | None = None) -> None:
    """Delete a customer and what hangs off it; the audit entry keeps a snapshot."""
    c = lock_customer(customer_id=customer_id, expected_version=expected_version)
    snap = audit.snapshot(c, AUDITED_FIELDS)
    audit.record(
        actor=actor,
        action="delete",
        obj=c,
        customer_id=c.pk,
        changes={k: [v, None] for k, v in snap.items() if v},
    )
    try:
        with transaction.atomic():
            c.delete()
    except ProtectedError as exc:
        kinds = sorted({str(o._meta.verbose_name_plural) for o in exc.protected_objects})
        raise Conflict(
            _(
                "This customer cannot be deleted while it has %(what)s. Merge it into another "
                "customer or mark it inactive instead."
            )
            % {"what": ", ".join(kinds)}
        ) from None


# --- channels -------------------------------------------------------------------------------


def _refresh_primary(c: Customer) -> None:
    email = c.emails.order_by("-is_primary", "id").values_list("email", flat=True).first() or ""
    phone = c.phones.order_by("-is_primary", "id").values_list("number", flat=True).first() or ""
    if (email, phone) != (c.email, c.phone):
        c.email, c.phone = email, phone
    c.version += 1
    c.save(update_fields=["email", "phone", "version", "updated_at"])


@transaction.atomic
def add_email(
    *,
    actor,
    customer_id: int,
    email: str,
    kind: str = "work",
    is_primary: bool = False,
    expected_version: int | None = None,
) -> CustomerEmail:
    """Add an email address (validated, normalised); the first one becomes primary."""
    c = lock_customer(customer_id=customer_id, expected_version=expected_version)
    value = normalize_email(email)
    if c.emails.filter(email=value).exists():
        raise ValidationError.for_field("email", _("This customer already has that address."))
    is_primary = is_primary or not c.emails.exists()
    if is_primary:
        c.emails.update(is_primary=False)
    obj = CustomerEmail.objects.create(customer=c, email=value, kind=kind, is_primary=is_primary)
    _refresh_primary(c)
    audit.record(
        actor=actor, action="update", obj=c, customer_id=c.pk, changes={"emails": [None, value]}
    )
    return obj


@transaction.atomic
def remove_email(*, actor, customer_id: int, email_id: int) -> None:
    c = lock_customer(customer_id=customer_id, expected_version=None)
    obj = c.emails.filter(pk=email_id).first()
    if obj is None:
        raise ValidationError.for_field("email", _("No such address on this customer."))
    obj.delete()
    if obj.is_primary:
        nxt = c.emails.order_by("id").first()
        if nxt:
            nxt.is_primary = True
            nxt.save(update_fields=["is_primary", "updated_at"])
    _refresh_primary(c)
    audit.record(
        actor=actor, action="update", obj=c, customer_id=c.pk, changes={"emails": [obj.email, None]}
    )


@transaction.atomic
def add_phone(
    *,
    actor,
    customer_id: int,
    number: str,
    kind: str = "mobile",
    is_primary: bool = False,
    expected_version: int | None = None,
) -> CustomerPhone:
    """Add a phone number, normalised to E.164; the first one becomes primary."""
    c = lock_customer(customer_id=customer_id, expected_version=expected_version)
    value = normalize_phone(number, region=c.country or None)
    if c.phones.filter(number=value).exists():
        raise ValidationError.for_field("phone", _("This customer already has that number."))
    is_primary = is_primary or not c.phones.exists()
    if is_primary:
        c.phones.update(is_primary=False)
    obj = CustomerPhone.objects.create(customer=c, number=value, kind=kind, is_primary=is_primary)
    _refresh_primary(c)
    audit.record(
        actor=actor, action="update", obj=c, customer_id=c.pk, changes={"phones": [None, value]}
    )
    return obj


@transaction.atomic
def remove_phone(*, actor, customer_id: int, phone_id: int) -> None:
    c = lock_customer(customer_id=customer_id, expected_version=None)
    obj = c.phones.filter(pk=phone_id).first()
    if obj is None:
        raise ValidationError.for_field("phone", _("No such number on this customer."))
    obj.delete()
    if obj.is_primary:
        nxt = c.phones.order_by("id").first()
        if nxt:
            nxt.is_primary = True
            nxt.save(update_fields=["is_primary", "updated_at"])
    _refresh_primary(c)
    audit.record(
        actor=actor,
        action="update",
        obj=c,
        customer_id=c.pk,
        changes={"phones": [obj.number, None]},
    )


@transaction.atomic
def add_address(*, actor, customer_id: int, is_primary: bool = False, **fields: Any) -> Address:
    allowed = {"kind", "street", "postal_code", "city", "region", "country"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    c = lock_customer(customer_id=customer_id, expected_version=None)
    addr = Address(customer=c, **{k: (v or "").strip() for k, v in fields.items()})
    addr.country = addr.country.upper()
    if not (addr.street or addr.city):
        raise ValidationError.for_field("street", _("Enter at least a street or a city."))
    if addr.kind not in Address.Kind.values:
        raise ValidationError.for_field("kind", _("Choose an address type."))
    addr.is_primary = is_primary or not c.addresses.exists()
    if addr.is_primary:
        c.addresses.update(is_primary=False)
    addr.save()
    audit.record(
        actor=actor,
        action="update",
        obj=c,
        customer_id=c.pk,
        changes={"addresses": [None, str(addr)]},
    )
    return addr


@transaction.atomic
def remove_address(*, actor, customer_id: int, address_id: int) -> None:
    c = lock_customer(customer_id=customer_id, expected_version=None)
    addr = c.addresses.filter(pk=address_id).first()
    if addr is None:
        raise ValidationError.for_field("address", _("No such address on this customer."))
    addr.delete()
    audit.record(
        actor=actor,
        action="update",
        obj=c,
        customer_id=c.pk,
        changes={"addresses": [str(addr), None]},
    )


def note_contact(*, customer_id: int, at: dt.datetime | None = None) -> None:
    """Move ``last_contact_at`` forward (never back). Called by interactions.services."""
    at = at or timezone.now()
    from django.db.models import Q

    Customer.objects.filter(pk=customer_id).filter(
        Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at)
    ).update(last_contact_at=at)


def _scores_target() -> tuple[str, str, str, bool]:
    """The database alias, quoted table and id column of the customers, and whether the
    database is PostgreSQL: what the scores' raw statements need."""
    db = router.db_for_write(Customer)
    ops = connections[db].ops
    table, id_col = (
        ops.quote_name(Customer._meta.db_table),
        ops.quote_name(Customer._meta.pk.column),
    )
    return db, table, id_col, connections[db].vendor == "postgresql"


def _check_score_name(model: str) -> None:
    if not model or not model.replace("_", "").isalnum():
        raise ValidationError(_("A score name has only letters, digits and underscores."))


def clear_scores(*, model: str, keep: Iterable[int] = (), batch: int = 500) -> int:
    """Take ``Customer.scores[model]`` away from every customer who has it, except the ids in
    ``keep`` (a model whose new run scores fewer customers than the last one); other models'
    scores stay. Returns how many customers lost it. Like ``write_scores``: no audit row, and
    ``version`` and ``updated_at`` do not move."""
    _check_score_name(model)
    keep = set(keep)
    ids = sorted(
        pk
        for pk in Customer.objects.filter(scores__has_key=model).values_list("pk", flat=True)
        if pk not in keep
    )
    db, table, id_col, postgres = _scores_target()
    cleared = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with transaction.atomic(using=db), connections[db].cursor() as cursor:
            if postgres:
                cursor.execute(
                    f"UPDATE {table} SET scores = scores - %s::text WHERE {id_col} = ANY(%s)",
                    [model, chunk],
                )
            else:
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} SET scores = json_remove(scores, %s) "
                    f"WHERE {id_col} IN ({marks})",
                    [f'$."{model}"', *chunk],
                )
            cleared += max(cursor.rowcount, 0)
    return cleared


def write_scores(*, model: str, scores: Mapping[int, Any], batch: int = 5000) -> int:
    """Store analytics results under ``Customer.scores[model]`` for the given customer ids and
    return how many customers were written. Other models' scores are kept.

    Scores are derived data, not an edit by a person: no audit row, and neither ``version``
    nor ``updated_at`` moves (a score run must not turn someone's open form stale, nor make
    the warehouse re-extract every customer). Each batch is atomic; re-running is harmless.

    One SQL statement sets the one key inside the database (SQLite ``json_set``, PostgreSQL
    ``jsonb ||``) instead of reading every customer's scores into Python and writing them
    back with ``bulk_update``: at 1M customers that round trip took minutes per model (a
    2,000-row ``CASE WHEN`` per batch), and a concurrent run of another model could not
    lose its key between the read and the write."""
    _check_score_name(model)
    ids = sorted(scores)
    db, table, id_col, postgres = _scores_target()
    written = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        values = [json.dumps(scores[i]) for i in chunk]
        with transaction.atomic(using=db), connections[db].cursor() as cursor:
            if postgres:
                cursor.execute(
                    f"UPDATE {table} AS c SET scores = coalesce(c.scores, '{{}}'::jsonb) "
                    "|| jsonb_build_object(%s::text, v.val::jsonb) "
                    f"FROM unnest(%s::bigint[], %s::text[]) AS v(id, val) WHERE c.{id_col} = v.id",
                    [model, chunk, values],
                )
            else:
                path = f'$."{model}"'
                cursor.executemany(
                    f"UPDATE {table} SET scores = json_set(coalesce(scores, '{{}}'), %s, json(%s)) "
                    f"WHERE {id_col} = %s",
                    [(path, value, i) for i, value in zip(chunk, values, strict=True)],
                )
            written += max(cursor.rowcount, 0)
    return written
