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
SETTABLE = (*FIELD_ATTRS, "active")
AUDITED = (*SETTABLE, "choice_labels")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
CHOICE_TYPES = {CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE}


CHOICE_LANGUAGES = ("en", "es")  # the label columns of a choice line, after the value


def _clean_choices(
    choices: Iterable[str] | str | None,
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Choice lines -> (values, labels). A line is ``value``, ``value | English label`` or
    ``value | English label | Spanish label``; the value is what is stored and exported, the
    labels are how it reads on screen. Blank lines and repeated values are dropped."""
    if isinstance(choices, str):
        choices = choices.splitlines()
    values: list[str] = []
    labels: dict[str, dict[str, str]] = {}
    for n, line in enumerate(choices or (), start=1):
        parts = [p.strip() for p in str(line).split("|")]
        value, names = parts[0][:100], parts[1:]
        if len(names) > len(CHOICE_LANGUAGES):
            raise ValidationError.for_field(
                "choices",
                _("Line %(n)s: write value | English label | Spanish label (at most two “|”).")
                % {"n": n},
            )
        if not value:
            if any(names):
                raise ValidationError.for_field(
                    "choices", _("Line %(n)s has a label but no value.") % {"n": n}
                )
            continue
        if value in values:
            continue
        values.append(value)
        named = {lang: name[:100] for lang, name in zip(CHOICE_LANGUAGES, names, strict=False)}
        if any(named.values()):
            labels[value] = {lang: name for lang, name in named.items() if name}
    return values, labels


def choice_lines(cf: CustomField) -> str:
    """The definition's choices as the admin form shows them (the inverse of parsing)."""
    lines = []
    for value in cf.choices or []:
        names = (cf.choice_labels or {}).get(value) or {}
        parts = [value, *(names.get(lang, "") for lang in CHOICE_LANGUAGES)]
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


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
    values, labels = _clean_choices(choices) if type in CHOICE_TYPES else ([], {})
    cf = CustomField(
        key=(key or "").strip().lower(),
        label=(label or "").strip(),
        label_es=(label_es or "").strip(),
        type=type,
        group=group,
        choices=values,
        choice_labels=labels,
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
    unknown = set(changes) - set(SETTABLE)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    cf = CustomField.objects.select_for_update().get(pk=field_id)
    before = audit.snapshot(cf, AUDITED)
    for name, value in changes.items():
        if name == "choices":
            value, cf.choice_labels = _clean_choices(value)
        elif name in {"key", "label", "label_es"}:
            value = (value or "").strip()
            value = value.lower() if name == "key" else value
        elif name in {"required", "active"}:
            value = bool(value)
        elif name == "position":
            value = int(value or 0)
        setattr(cf, name, value)
    if cf.type not in CHOICE_TYPES:
        cf.choices, cf.choice_labels = [], {}
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


def _labels(**names: tuple[str, str]) -> dict[str, dict[str, str]]:
    return {value: {"en": en, "es": es} for value, (en, es) in names.items()}


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
        "choice_labels": _labels(
            female=("Female", "Mujer"),
            male=("Male", "Hombre"),
            non_binary=("Non-binary", "No binario"),
            undisclosed=("Prefers not to say", "Prefiere no decirlo"),
        ),
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
        "choice_labels": _labels(
            low=("Low", "Bajo"),
            lower_middle=("Lower middle", "Medio-bajo"),
            middle=("Middle", "Medio"),
            upper_middle=("Upper middle", "Medio-alto"),
            high=("High", "Alto"),
        ),
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
        "choice_labels": _labels(
            sports=("Sports", "Deporte"),
            travel=("Travel", "Viajes"),
            technology=("Technology", "Tecnología"),
            cooking=("Cooking", "Cocina"),
            music=("Music", "Música"),
            reading=("Reading", "Lectura"),
            fashion=("Fashion", "Moda"),
            outdoors=("Outdoors", "Aire libre"),
            gaming=("Gaming", "Videojuegos"),
            wine=("Wine", "Vino"),
        ),
    },
    {
        "key": "lifestyle",
        "label": "Lifestyle",
        "label_es": "Estilo de vida",
        "type": "choice",
        "group": "psychographic",
        "choices": ["urban", "suburban", "rural", "nomad"],
        "choice_labels": _labels(
            urban=("Urban", "Urbano"),
            suburban=("Suburban", "Residencial"),
            rural=("Rural", "Rural"),
            nomad=("Nomad", "Nómada"),
        ),
    },
    {
        "key": "values",
        "label": "Values",
        "label_es": "Valores",
        "type": "multi_choice",
        "group": "psychographic",
        "choices": ["sustainability", "price", "quality", "convenience", "innovation", "tradition"],
        "choice_labels": _labels(
            sustainability=("Sustainability", "Sostenibilidad"),
            price=("Price", "Precio"),
            quality=("Quality", "Calidad"),
            convenience=("Convenience", "Comodidad"),
            innovation=("Innovation", "Innovación"),
            tradition=("Tradition", "Tradición"),
        ),
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
