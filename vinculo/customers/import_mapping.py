"""Customer import, step 2: mapping the file's columns to customer fields (built-in fields
and active custom fields), guessed from the headings in English or Spanish."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vinculo.core.errors import ValidationError
from vinculo.core.normalize import fold
from vinculo.customers.models import CustomField

# Target fields a column can be mapped to (custom fields are added as "attr.<key>").
TARGET_FIELDS: list[tuple[str, Any]] = [
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("name", gettext_lazy("Name (organization or full name)")),
    ("kind", gettext_lazy("Kind (person/organization)")),
    ("company", gettext_lazy("Company (organization)")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("external_id", gettext_lazy("External id")),
    ("stage", gettext_lazy("Lifecycle stage")),
    ("source", gettext_lazy("Source")),
    ("tags", gettext_lazy("Tags (separated by ; or ,)")),
    ("language", gettext_lazy("Language")),
    ("country", gettext_lazy("Country")),
    ("region", gettext_lazy("Region")),
    ("city", gettext_lazy("City")),
    ("street", gettext_lazy("Street")),
    ("postal_code", gettext_lazy("Postal code")),
]
# Several columns may feed these (e.g. "Mobile" and "Work phone"); others take one column.
MULTI_TARGETS = {"email", "phone", "tags"}
NAME_TARGETS = {"first_name", "last_name", "name"}
UPSERT_KEYS = ("external_id", "email", "none")

# Folded header spellings (English and Spanish) per target, for the automatic mapping.
_SYNONYMS: dict[str, list[str]] = {
    "first_name": ["first name", "firstname", "given name", "nombre", "nombre de pila", "forename"],
    "last_name": ["last name", "lastname", "surname", "family name", "apellidos", "apellido"],
    "name": ["name", "full name", "nombre completo", "razon social", "display name", "contacto"],
    "kind": ["kind", "type", "tipo", "customer type", "tipo de cliente"],
    "company": ["company", "organization", "organisation", "empresa", "compania", "account"],
    "email": ["email", "e-mail", "mail", "email address", "correo", "correo electronico"],
    "phone": [
        "phone",
        "telephone",
        "mobile",
        "tel",
        "telefono",
        "movil",
        "celular",
        "phone number",
    ],
    "external_id": ["external id", "id externo", "external_id", "uid", "codigo", "code", "ref"],
    "stage": ["stage", "lifecycle stage", "etapa", "fase", "estado", "status"],
    "source": ["source", "origen", "fuente", "lead source"],
    "tags": ["tags", "etiquetas", "labels", "tag", "etiqueta"],
    "language": ["language", "idioma", "lang", "lengua"],
    "country": ["country", "pais", "country code"],
    "region": ["region", "state", "province", "provincia", "comunidad", "estado/provincia"],
    "city": ["city", "town", "ciudad", "localidad", "municipio", "poblacion"],
    "street": ["street", "address", "direccion", "calle", "domicilio", "street address"],
    "postal_code": ["postal code", "zip", "zip code", "postcode", "codigo postal", "cp"],
}


def target_choices() -> list[tuple[str, str]]:
    """(value, label) for the mapping selects: the fixed fields, then active custom fields."""
    out = [(k, str(label)) for k, label in TARGET_FIELDS]
    for cf in CustomField.objects.filter(active=True).only("key", "label"):
        out.append((f"attr.{cf.key}", _("Custom field: %(label)s") % {"label": cf.label}))
    return out


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Pre-select a target for each column by fuzzy header matching (English and Spanish).
    Each single-valued target is given to the best-matching column only."""
    from rapidfuzz import fuzz

    targets = dict(_SYNONYMS)
    for cf in CustomField.objects.filter(active=True).only("key", "label", "label_es"):
        names = [cf.key.replace("_", " "), cf.label, cf.label_es]
        targets[f"attr.{cf.key}"] = [fold(n) for n in names if n]
    scored: list[tuple[float, str, str]] = []
    for header in headers:
        h = fold(re.sub(r"[_\-.]+", " ", header))
        for target, names in targets.items():
            best = max(
                (100.0 if h == n else fuzz.ratio(h, n) * 0.9 for n in names if n), default=0.0
            )
            if best >= 80:
                scored.append((best, header, target))
    mapping = {h: "" for h in headers}
    taken: set[str] = set()
    for _score, header, target in sorted(scored, key=lambda s: -s[0]):
        if mapping[header] or (target in taken and target not in MULTI_TARGETS):
            continue
        mapping[header] = target
        taken.add(target)
    return mapping


def check_mapping(mapping: dict[str, str], *, fmt: str) -> None:
    """Refuse a mapping with unknown targets, a single-valued target twice, or no name."""
    if fmt == "vcf":
        return
    valid = {k for k, _label in TARGET_FIELDS} | {
        f"attr.{k}" for k in CustomField.objects.filter(active=True).values_list("key", flat=True)
    }
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if target not in valid:
            errors[column] = [_("“%(t)s” is not a field you can import into.") % {"t": target}]
        elif target in used and target not in MULTI_TARGETS:
            errors[column] = [
                _("“%(t)s” is already taken by column “%(c)s”.") % {"t": target, "c": used[target]}
            ]
        used.setdefault(target, column)
    if not NAME_TARGETS & set(used):
        errors["__all__"] = [
            _(
                "Map at least one column to a name (first name, last name or name): "
                "without a name no customer can be created."
            )
        ]
    if errors:
        raise ValidationError(_("The column mapping is incomplete."), field_errors=errors)
