"""Writes to custom field definitions (admin only). Values live in ``Customer.attributes``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import require
from vinculo.core import audit
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer, CustomField

FIELD_ATTRS = ("key", "label", "label_es", "type", "group", "choices", "required", "position")
AUDITED = (*FIELD_ATTRS, "active")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
CHOICE_TYPES = {CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE}


def _clean_choices(choices: Iterable[str] | str | None) -> list[str]:
    if isinstance(choices, str):
        choices = choices.splitlines()
    out: list[str] = []
    for c in choices or ():
        c = str(c).strip()
        if c and c not in out:
            out.append(c[:100])
    return out


def _validate(cf: CustomField) -> None:
    errors: dict[str, list[str]] = {}
    if not _KEY_RE.match(cf.key or ""):
        errors["key"] = [
            _("Use lower-case letters, digits and underscores, starting with a letter.")
        ]
    elif CustomField.objects.filter(key=cf.key).exclude(pk=cf.pk).exists():
        errors["key"] = [_("Another custom field already uses this key.")]
    if not (cf.label or "").strip():
        errors["label"] = [_("Enter a label.")]
    if cf.type not in CustomField.Type.values:
        errors["type"] = [_("Choose a field type.")]
    if cf.group not in CustomField.Group.values:
        errors["group"] = [_("Choose a group.")]
    if cf.type in CHOICE_TYPES and not cf.choices:
        errors["choices"] = [_("Enter at least one choice, one per line.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)


def _has_values(key: str) -> bool:
    return Customer.objects.filter(attributes__has_key=key).exists()


@transaction.atomic
def create_custom_field(
    *,
    actor,
    key: str,
    label: str,
    label_es: str = "",
    type: str = CustomField.Type.TEXT,
    group: str = CustomField.Group.OTHER,
    choices: Iterable[str] | str | None = None,
    required: bool = False,
    position: int = 0,
    active: bool = True,
) -> CustomField:
    """Define a new custom field (admin only); atomic, audited. Keys are unique slugs."""
    require(actor, "customfields.manage")
    cf = CustomField(
        key=(key or "").strip().lower(),
        label=(label or "").strip(),
        label_es=(label_es or "").strip(),
        type=type,
        group=group,
        choices=_clean_choices(choices) if type in CHOICE_TYPES else [],
        required=bool(required),
        position=int(position or 0),
        active=bool(active),
    )
    _validate(cf)
    cf.save()
    audit.record(
        actor=actor,
        action="create",
        obj=cf,
        changes={k: [None, v] for k, v in audit.snapshot(cf, AUDITED).items() if v},
    )
    return cf


@transaction.atomic
def update_custom_field(*, actor, field_id: int, **changes: Any) -> CustomField:
    """Change a custom field definition (admin only); atomic, audited. Changing the key or
    the type of a field that customers already have values for is refused: the stored values
    would no longer match their definition."""
    require(actor, "customfields.manage")
    unknown = set(changes) - set(AUDITED)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    cf = CustomField.objects.select_for_update().get(pk=field_id)
    before = audit.snapshot(cf, AUDITED)
    for name, value in changes.items():
        if name == "choices":
            value = _clean_choices(value)
        elif name in {"key", "label", "label_es"}:
            value = (value or "").strip()
            value = value.lower() if name == "key" else value
        elif name in {"required", "active"}:
            value = bool(value)
        elif name == "position":
            value = int(value or 0)
        setattr(cf, name, value)
    if cf.type not in CHOICE_TYPES:
        cf.choices = []
    if cf.type != before["type"] and _has_values(before["key"]):
        raise ValidationError.for_field(
            "type",
            _(
                "Customers already have values for this field, so its type cannot change. "
                "Create a new field instead."
            ),
        )
    if cf.key != before["key"] and _has_values(before["key"]):
        raise ValidationError.for_field(
            "key",
            _("Customers already have values for this field, so its key cannot change."),
        )
    _validate(cf)
    cf.save()
    changed = audit.diff(before, audit.snapshot(cf, AUDITED))
    if changed:
        audit.record(actor=actor, action="update", obj=cf, changes=changed)
    return cf


# The demographic and psychographic attributes every install starts with (idempotent).
DEFAULT_FIELDS: list[dict[str, Any]] = [
    {
        "key": "birth_date",
        "label": "Birth date",
        "label_es": "Fecha de nacimiento",
        "type": "date",
        "group": "demographic",
    },
    {
        "key": "gender",
        "label": "Gender",
        "label_es": "Género",
        "type": "choice",
        "group": "demographic",
        "choices": ["female", "male", "non_binary", "undisclosed"],
    },
    {
        "key": "occupation",
        "label": "Occupation",
        "label_es": "Ocupación",
        "type": "text",
        "group": "demographic",
    },
    {
        "key": "income_band",
        "label": "Income band",
        "label_es": "Nivel de ingresos",
        "type": "choice",
        "group": "demographic",
        "choices": ["low", "lower_middle", "middle", "upper_middle", "high"],
    },
    {
        "key": "household_size",
        "label": "Household size",
        "label_es": "Tamaño del hogar",
        "type": "number",
        "group": "demographic",
    },
    {
        "key": "interests",
        "label": "Interests",
        "label_es": "Intereses",
        "type": "multi_choice",
        "group": "psychographic",
        "choices": [
            "sports",
            "travel",
            "technology",
            "cooking",
            "music",
            "reading",
            "fashion",
            "outdoors",
            "gaming",
            "wine",
        ],
    },
    {
        "key": "lifestyle",
        "label": "Lifestyle",
        "label_es": "Estilo de vida",
        "type": "choice",
        "group": "psychographic",
        "choices": ["urban", "suburban", "rural", "nomad"],
    },
    {
        "key": "values",
        "label": "Values",
        "label_es": "Valores",
        "type": "multi_choice",
        "group": "psychographic",
        "choices": ["sustainability", "price", "quality", "convenience", "innovation", "tradition"],
    },
    {
        "key": "preferred_brands",
        "label": "Preferred brands",
        "label_es": "Marcas preferidas",
        "type": "text",
        "group": "psychographic",
    },
]


@transaction.atomic
def ensure_default_custom_fields() -> list[CustomField]:
    """Create the default demographic/psychographic fields that are missing. Idempotent:
    existing fields (even ones an admin changed or deactivated) are left as they are."""
    existing = set(CustomField.objects.values_list("key", flat=True))
    created = []
    for position, spec in enumerate(DEFAULT_FIELDS, start=1):
        if spec["key"] in existing:
            continue
        cf = CustomField.objects.create(position=position * 10, **spec)
        audit.record(
            actor=None,
            action="create",
            obj=cf,
            changes={k: [None, v] for k, v in audit.snapshot(cf, AUDITED).items() if v},
        )
        created.append(cf)
    return created
