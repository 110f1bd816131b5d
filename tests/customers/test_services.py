import pytest

from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers import services
from vinculo.customers.models import Customer, CustomField


@pytest.fixture
def fields(db):
    CustomField.objects.create(
        key="income_band",
        label="Income",
        type="choice",
        choices=["low", "mid", "high"],
        group="demographic",
    )
    CustomField.objects.create(key="household_size", label="Household", type="number")
    CustomField.objects.create(
        key="interests",
        label="Interests",
        type="multi_choice",
        choices=["golf", "wine", "travel"],
        group="psychographic",
    )


def test_create_customer_normalises_channels_and_audits(rep):
    c = services.create_customer(
        actor=rep,
        first_name=" Lucía ",
        last_name="Núñez",
        emails=["Lucia@Example.COM"],
        phones=["612 345 678"],
        owner_id=rep.pk,
        tags=["vip"],
    )
    assert c.name == "Lucía Núñez"
    assert c.email == "lucia@example.com"
    assert c.phone == "+34612345678"
    assert c.team_id == rep.team_id  # inherits the owner's team
    assert list(c.tags.values_list("name", flat=True)) == ["vip"]
    entry = AuditEntry.objects.get(customer_id=c.pk, action="create")
    assert entry.actor == rep
    assert entry.changes["name"] == [None, "Lucía Núñez"]


def test_create_customer_rejects_bad_email_and_writes_nothing(rep):
    with pytest.raises(ValidationError) as exc:
        services.create_customer(actor=rep, last_name="X", emails=["not-an-email"])
    assert "emails" in exc.value.field_errors
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_custom_fields_are_typed(rep, fields):
    c = services.create_customer(
        actor=rep,
        last_name="Ruiz",
        attributes={"income_band": "mid", "household_size": "3", "interests": "golf; wine"},
    )
    assert c.attributes == {
        "income_band": "mid",
        "household_size": 3,
        "interests": ["golf", "wine"],
    }
    with pytest.raises(ValidationError) as exc:
        services.update_customer(
            actor=rep,
            customer_id=c.pk,
            expected_version=c.version,
            attributes={"income_band": "rich"},
        )
    assert "attributes.income_band" in exc.value.field_errors


def test_stale_version_is_refused_with_conflict(rep):
    c = services.create_customer(actor=rep, last_name="García")
    services.update_customer(actor=rep, customer_id=c.pk, expected_version=1, city="Sevilla")
    with pytest.raises(Conflict):
        services.update_customer(actor=rep, customer_id=c.pk, expected_version=1, city="Cádiz")
    c.refresh_from_db()
    assert c.city == "Sevilla"
    assert c.version == 2


def test_update_audits_before_and_after(rep):
    c = services.create_customer(actor=rep, last_name="García", city="Lugo")
    services.update_customer(actor=rep, customer_id=c.pk, expected_version=1, city="Vigo")
    entry = AuditEntry.objects.filter(customer_id=c.pk, action="update").get()
    assert entry.changes == {"city": ["Lugo", "Vigo"]}


def test_person_takes_company_name_from_organization(rep):
    org = services.create_customer(actor=rep, kind="organization", name="Acme SL")
    p = services.create_customer(actor=rep, last_name="Pérez", organization_id=org.pk)
    assert p.company_name == "Acme SL"
    services.update_customer(
        actor=rep, customer_id=org.pk, expected_version=org.version, name="Acme Iberia SL"
    )
    p.refresh_from_db()
    assert p.company_name == "Acme Iberia SL"
