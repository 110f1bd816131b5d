"""Custom field administration and custom fields on the customer form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import PermissionDenied, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers import services, services_fields
from vinculo.customers.models import Customer, CustomField

FIELD_DATA = {
    "key": "lifestyle",
    "label": "Lifestyle",
    "label_es": "Estilo de vida",
    "type": "choice",
    "group": "psychographic",
    "choices": "urban\nrural\n\nurban\n",
    "position": 5,
    "active": "on",
}


# --- admin pages ------------------------------------------------------------------------------


def test_admin_creates_a_custom_field(admin, client_for):
    client = client_for(admin)
    assert "No custom fields yet" in client.get(reverse("customfield_list")).content.decode()
    response = client.post(reverse("customfield_create"), FIELD_DATA)
    assert response.status_code == 302
    cf = CustomField.objects.get()
    assert (cf.key, cf.type, cf.group, cf.choices) == (
        "lifestyle",
        "choice",
        "psychographic",
        ["urban", "rural"],
    )
    assert cf.active and cf.label_es == "Estilo de vida"
    assert AuditEntry.objects.filter(object_type="customers.customfield", action="create").exists()
    html = client.get(reverse("customfield_list")).content.decode()
    assert "Lifestyle" in html and "urban, rural" in html


@pytest.mark.parametrize("role_user", ["rep", "manager", "analyst"])
def test_only_admins_manage_custom_fields(role_user, request, client_for):
    client = client_for(request.getfixturevalue(role_user))
    assert client.get(reverse("customfield_list")).status_code == 403
    assert client.post(reverse("customfield_create"), FIELD_DATA).status_code == 403
    assert not CustomField.objects.exists()


def test_choice_field_without_choices_is_refused_next_to_the_field(admin, client_for):
    data = {**FIELD_DATA, "choices": ""}
    response = client_for(admin).post(reverse("customfield_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_choices_error"' in html
    assert "at least one choice" in html
    assert not CustomField.objects.exists()


def test_duplicate_or_bad_key_is_refused(admin, client_for):
    CustomField.objects.create(key="lifestyle", label="Lifestyle")
    client = client_for(admin)
    response = client.post(reverse("customfield_create"), FIELD_DATA)
    assert "already uses this key" in response.content.decode()
    response = client.post(reverse("customfield_create"), {**FIELD_DATA, "key": "9-bad"})
    assert 'id="id_key_error"' in response.content.decode()
    assert CustomField.objects.count() == 1


def test_edit_custom_field_and_type_change_refused_when_values_exist(admin, client_for):
    cf = CustomField.objects.create(key="occupation", label="Occupation", type="text")
    client = client_for(admin)
    url = reverse("customfield_edit", args=[cf.pk])
    assert 'value="occupation"' in client.get(url).content.decode()
    data = {"key": "occupation", "label": "Job", "type": "text", "group": "demographic"}
    data["position"] = 1
    assert client.post(url, data).status_code == 302
    cf.refresh_from_db()
    assert (cf.label, cf.group) == ("Job", "demographic")

    CustomerFactory(attributes={"occupation": "Baker"})
    response = client.post(url, {**data, "type": "number"})
    assert response.status_code == 200
    assert "cannot change" in response.content.decode()
    cf.refresh_from_db()
    assert cf.type == "text"


def test_service_refuses_non_admin(rep):
    with pytest.raises(PermissionDenied):
        services_fields.create_custom_field(actor=rep, key="x", label="X")
    assert not CustomField.objects.exists()


def test_type_change_allowed_while_no_customer_has_a_value(admin):
    cf = services_fields.create_custom_field(actor=admin, key="size", label="Size")
    services_fields.update_custom_field(actor=admin, field_id=cf.pk, type="number")
    cf.refresh_from_db()
    assert cf.type == "number"
    with pytest.raises(ValidationError) as exc:
        services_fields.update_custom_field(actor=admin, field_id=cf.pk, type="multi_choice")
    assert "choices" in exc.value.field_errors


def test_ensure_default_custom_fields_is_idempotent(db):
    created = services_fields.ensure_default_custom_fields()
    assert len(created) == 9
    assert services_fields.ensure_default_custom_fields() == []
    fields = {cf.key: cf for cf in CustomField.objects.all()}
    assert fields["gender"].choices == ["female", "male", "non_binary", "undisclosed"]
    assert fields["interests"].type == "multi_choice" and "wine" in fields["interests"].choices
    assert fields["birth_date"].type == "date" and fields["birth_date"].group == "demographic"
    assert fields["lifestyle"].group == "psychographic"
    assert fields["household_size"].label_es == "Tamaño del hogar"


# --- custom fields on the customer form ---------------------------------------------------------


@pytest.fixture
def defaults(db):
    services_fields.ensure_default_custom_fields()
    CustomField.objects.create(key="newsletter", label="Newsletter", type="boolean")


def _create_data(**attrs) -> dict:
    return {"kind": "person", "last_name": "García", "stage": "lead", **attrs}


def test_customer_form_renders_custom_fields_by_type_and_group(defaults, rep, client_for):
    html = client_for(rep).get(reverse("customer_create")).content.decode()
    assert 'type="date" name="attr_birth_date"' in html
    assert '<select name="attr_gender"' in html
    assert 'type="checkbox" name="attr_interests" value="wine"' in html
    assert 'type="checkbox" name="attr_newsletter"' in html
    assert 'name="attr_household_size"' in html
    for group in ("Demographic", "Psychographic", "Other"):
        assert f"<legend>{group}</legend>" in html
    assert html.index("Demographic</legend>") < html.index("Psychographic</legend>")


def test_customer_form_saves_typed_custom_fields(defaults, rep, client_for):
    data = _create_data(
        attr_birth_date="1990-04-02",
        attr_gender="female",
        attr_household_size="3",
        attr_interests=["wine", "travel"],
        attr_newsletter="on",
    )
    data["owner_id"] = rep.pk
    response = client_for(rep).post(reverse("customer_create"), data)
    assert response.status_code == 302
    c = Customer.objects.get()
    interests = c.attributes.pop("interests")
    assert set(interests) == {"wine", "travel"}
    assert c.attributes == {
        "birth_date": "1990-04-02",
        "gender": "female",
        "household_size": 3,
        "newsletter": True,
    }
    # The 360° page shows them in their group.
    html = client_for(rep).get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Birth date" in html and "1990-04-02" in html
    assert "Female" in html


def test_customer_form_rejects_badly_typed_custom_field_values(defaults, rep, client_for):
    data = _create_data(attr_household_size="lots", attr_gender="robot")
    response = client_for(rep).post(reverse("customer_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_attr_household_size_error"' in html
    assert 'id="id_attr_gender_error"' in html
    assert not Customer.objects.exists()


def test_service_error_on_a_custom_field_lands_next_to_it(defaults, rep, client_for):
    # A required field the form knows about but leaves empty is refused by the form...
    CustomField.objects.filter(key="occupation").update(required=True)
    response = client_for(rep).post(reverse("customer_create"), _create_data())
    assert 'id="id_attr_occupation_error"' in response.content.decode()
    assert not Customer.objects.exists()


def test_edit_keeps_values_of_inactive_fields(defaults, rep, client_for):
    c = services.create_customer(
        actor=rep, last_name="Ruiz", owner_id=rep.pk, attributes={"occupation": "Baker"}
    )
    CustomField.objects.filter(key="occupation").update(active=False)
    data = {
        "kind": "person",
        "last_name": "Ruiz",
        "stage": c.stage,
        "owner_id": rep.pk,
        "version": c.version,
        "attr_gender": "male",
    }
    assert client_for(rep).post(reverse("customer_edit", args=[c.pk]), data).status_code == 302
    c.refresh_from_db()
    assert c.attributes == {"occupation": "Baker", "gender": "male"}


def test_custom_field_labels_follow_the_user_language(defaults, rep, client_for):
    rep.language = "es"
    rep.save()
    c = services.create_customer(
        actor=rep, last_name="Ruiz", owner_id=rep.pk, attributes={"household_size": 2}
    )
    html = client_for(rep).get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Tamaño del hogar" in html
    form = client_for(rep).get(reverse("customer_edit", args=[c.pk])).content.decode()
    assert "Fecha de nacimiento" in form
