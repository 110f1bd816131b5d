"""Choice values of custom fields read in the user's language: an admin writes
``value | English label | Spanish label``; the value is what is stored, filtered on,
exported and sent by the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from vinculo.core.errors import ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers import services, services_fields
from vinculo.customers.models import Customer, CustomField

LINES = "urban | Urban | Urbano\nrural|Countryside\nnomad\n\nurban | Again | Otra vez\n"


def _field(admin) -> CustomField:
    return services_fields.create_custom_field(
        actor=admin,
        key="lifestyle",
        label="Lifestyle",
        label_es="Estilo de vida",
        type="choice",
        choices=LINES,
    )


def test_admin_writes_labels_after_the_value_and_sees_them_again_on_edit(admin, client_for):
    client = client_for(admin)
    resp = client.post(
        reverse("customfield_create"),
        {"key": "lifestyle", "label": "Lifestyle", "type": "choice", "group": "other"}
        | {"choices": LINES, "position": 0, "active": "on"},
    )
    assert resp.status_code == 302
    cf = CustomField.objects.get()
    assert cf.choices == ["urban", "rural", "nomad"]  # the first "urban" line wins
    assert cf.choice_labels == {
        "urban": {"en": "Urban", "es": "Urbano"},
        "rural": {"en": "Countryside"},
    }
    form = client.get(reverse("customfield_edit", args=[cf.pk])).content.decode()
    assert "urban | Urban | Urbano\nrural | Countryside\nnomad</textarea>" in form


def test_spanish_user_sees_spanish_labels_on_the_form_detail_and_filter(admin, rep, client_for):
    _field(admin)
    rep.language = "es"
    rep.save(update_fields=["language"])
    c = services.create_customer(
        actor=rep, last_name="Ruiz", owner_id=rep.pk, attributes={"lifestyle": "urban"}
    )
    client = client_for(rep)
    form = client.get(reverse("customer_edit", args=[c.pk])).content.decode()
    assert '<option value="urban" selected>Urbano</option>' in form
    assert '<option value="rural">Countryside</option>' in form  # no Spanish label: English
    assert '<option value="nomad">Nomad</option>' in form  # no label at all: the value
    detail = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Urbano" in detail
    listing = client.get(reverse("customer_list")).content.decode()
    assert '<option value="urban">Urbano</option>' in listing
    filtered = client.get(reverse("customer_list"), {"attr.lifestyle": "urban"})
    assert "Ruiz" in filtered.content.decode()
    assert Customer.objects.get().attributes == {"lifestyle": "urban"}  # the value is stored


def test_english_user_sees_english_labels(admin, rep, client_for):
    _field(admin)
    c = services.create_customer(
        actor=rep, last_name="Ruiz", owner_id=rep.pk, attributes={"lifestyle": "urban"}
    )
    detail = client_for(rep).get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Urban" in detail and "Urbano" not in detail


def test_default_fields_come_with_spanish_labels(db, rep, client_for):
    services_fields.ensure_default_custom_fields()
    rep.language = "es"
    rep.save(update_fields=["language"])
    c = services.create_customer(
        actor=rep,
        last_name="Ruiz",
        owner_id=rep.pk,
        attributes={"income_band": "upper_middle", "interests": ["wine", "travel"]},
    )
    detail = client_for(rep).get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Medio-alto" in detail and "Vino, Viajes" in detail
    assert "upper_middle" not in detail


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("urban | Urban | Urbano | Urbain", "Line 1: write value | English label"),
        ("rural\n | Urban", "Line 2 has a label but no value."),
    ],
)
def test_malformed_choice_lines_are_refused_next_to_the_field(admin, client_for, lines, message):
    resp = client_for(admin).post(
        reverse("customfield_create"),
        {"key": "lifestyle", "label": "Lifestyle", "type": "choice", "group": "other"}
        | {"choices": lines, "position": 0, "active": "on"},
    )
    assert resp.status_code == 200
    assert message in resp.content.decode()
    assert not CustomField.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services_fields.create_custom_field(
            actor=admin, key="x", label="X", type="choice", choices=lines
        )
    assert message in exc.value.field_errors["choices"][0]


def test_editing_choices_replaces_their_labels_and_is_audited(admin):
    cf = _field(admin)
    services_fields.update_custom_field(
        actor=admin, field_id=cf.pk, choices="urban | City | Ciudad\nrural"
    )
    cf.refresh_from_db()
    assert cf.choices == ["urban", "rural"]
    assert cf.choice_labels == {"urban": {"en": "City", "es": "Ciudad"}}
    entry = AuditEntry.objects.filter(object_type="customers.customfield", action="update").get()
    assert "choice_labels" in entry.changes
