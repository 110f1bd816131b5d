import datetime as dt

import pytest
from django.utils import timezone

from tests.accounts.factories import TeamFactory, UserFactory
from vinculo.core.errors import ValidationError
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions import services as interaction_services
from vinculo.interactions.models import Interaction
from vinculo.sales import leads
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule


def test_web_form_capture_creates_lead_customer_and_timeline_entry(admin):
    result = leads.capture_lead(
        actor=None,
        source="web_form",
        first_name="Ana",
        last_name="López",
        company="Frutas SL",
        email="Ana@Frutas.es",
        phone="600 111 222",
        message="Quiero un presupuesto",
        campaign="Primavera",
        acquisition_cost="12.50",
        consent_marketing=True,
        consent_text="Acepto recibir ofertas",
        utm_source="google",
        utm_medium="cpc",
    )
    lead, customer = result.lead, result.customer
    assert not result.matched_existing
    assert (customer.name, customer.email, customer.phone, customer.stage) == (
        "Ana López",
        "ana@frutas.es",
        "+34600111222",
        "lead",
    )
    assert customer.company_name == "Frutas SL"
    assert Customer.objects.filter(kind="organization", name="Frutas SL").count() == 1
    assert (lead.campaign, str(lead.acquisition_cost), lead.utm_source, lead.consent_marketing) == (
        "Primavera",
        "12.50",
        "google",
        True,
    )
    entry = Interaction.objects.get(customer=customer)
    assert (entry.kind, entry.direction, entry.body) == ("form", "in", "Quiero un presupuesto")
    assert entry.related == lead


def test_capture_attaches_to_existing_customer_with_same_email(rep):
    existing = customer_services.create_customer(
        actor=rep,
        first_name="Ana",
        last_name="López",
        emails=["x@y.es", "ana@frutas.es"],
        owner_id=rep.pk,
    )
    result = leads.capture_lead(
        actor=None, source="api", first_name="A.", last_name="Lopez", email="ANA@frutas.es"
    )
    assert result.matched_existing and result.customer == existing
    assert Customer.objects.count() == 1
    assert result.lead.owner == rep  # the customer's owner keeps the lead


@pytest.mark.parametrize(
    "data,field",
    [
        ({"first_name": "Ana"}, "email"),
        ({"first_name": "Ana", "email": "not-an-email"}, "email"),
        ({"email": "a@b.es"}, "last_name"),
        ({"first_name": "Ana", "email": "a@b.es", "acquisition_cost": "-3"}, "acquisition_cost"),
    ],
)
def test_invalid_capture_names_the_field_and_writes_nothing(db, data, field):
    with pytest.raises(ValidationError) as exc:
        leads.capture_lead(actor=None, source="web_form", **data)
    assert field in exc.value.field_errors
    assert not Lead.objects.exists() and not Customer.objects.exists()
    assert not Interaction.objects.exists()


def test_assignment_by_territory_then_round_robin(db):
    north, south = TeamFactory(name="Norte"), TeamFactory(name="Sur")
    n1 = UserFactory(username="n1", team=north)
    s1, s2 = UserFactory(username="s1", team=south), UserFactory(username="s2", team=south)
    UserFactory(username="s3", team=south, is_active=False)
    AssignmentRule.objects.create(
        name="Galicia", kind="territory", team=north, match_value="Galicia", position=0
    )
    AssignmentRule.objects.create(name="Everyone else", kind="round_robin", team=south, position=1)
    galician = leads.capture_lead(
        actor=None, first_name="Xosé", email="x@gal.es", region="Galicia"
    ).lead
    others = [
        leads.capture_lead(actor=None, first_name=f"P{i}", email=f"p{i}@x.es").lead
        for i in range(3)
    ]
    assert galician.owner == n1 and galician.customer.owner == n1
    assert [lead.owner for lead in others] == [s1, s2, s1]
    assert all(lead.team == south for lead in others)


def test_score_is_fit_plus_engagement_with_reasons(rep):
    LeadScoringRule.objects.create(
        label="Spain", field="country", operator="eq", value="es", points=10
    )
    LeadScoringRule.objects.create(
        label="Big company", field="attributes.employees", operator="gte", value=50, points=20
    )
    LeadScoringRule.objects.create(
        label="Came from a referral",
        field="lead.source",
        operator="eq",
        value="referral",
        points=15,
    )
    LeadScoringRule.objects.create(
        label="Gmail", field="email", operator="contains", value="@gmail.", points=-5
    )
    lead = leads.capture_lead(
        actor=None, source="referral", first_name="Eva", email="eva@gmail.com", country="ES"
    ).lead
    # A referral is recorded by a colleague (a note), not an inbound contact: no engagement.
    assert (lead.score_fit, lead.score_engagement, lead.score) == (20, 0, 20)
    labels = {r["label"]: r["points"] for r in lead.score_reasons}
    assert labels == {
        "Spain": 10,
        "Came from a referral": 15,
        "Gmail": -5,
    }
    for _ in range(6):
        interaction_services.log_interaction(
            actor=rep, customer_id=lead.customer_id, kind="web_visit", direction="in"
        )
    lead = leads.score_lead(lead=lead)
    # 6 inbound contacts × 10 are capped at 30; 6 visits × 3 = 18 capped at 15.
    assert (lead.score_engagement, lead.score) == (45, 65)
    later = leads.score_lead(lead=lead, now=timezone.now() + dt.timedelta(days=31))
    assert later.score_engagement == 0  # engagement decays out of the 30-day window


def test_disqualify_needs_a_reason(rep):
    lead = leads.capture_lead(actor=rep, first_name="Eva", email="eva@x.es").lead
    with pytest.raises(ValidationError) as exc:
        leads.set_lead_status(actor=rep, lead_id=lead.pk, status="disqualified")
    assert "reason" in exc.value.field_errors
    lead = leads.set_lead_status(
        actor=rep, lead_id=lead.pk, status="disqualified", reason="No budget"
    )
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "No budget")


def test_convert_keeps_history_and_opens_an_opportunity(rep):
    from vinculo.sales.models import StageHistory

    lead = leads.capture_lead(
        actor=rep, source="web_form", first_name="Eva", email="eva@x.es", message="Need 20 chairs"
    ).lead
    leads.set_lead_status(actor=rep, lead_id=lead.pk, status="qualified")
    opp = leads.convert_lead(
        actor=rep,
        lead_id=lead.pk,
        opportunity_name="20 chairs",
        amount="1500",
        expected_close_date=dt.date(2027, 1, 31),
    )
    lead.refresh_from_db()
    customer = Customer.objects.get(pk=lead.customer_id)
    assert (lead.status, lead.opportunity) == ("converted", opp)
    assert customer.stage == "opportunity"
    assert (opp.customer, opp.stage.name, str(opp.amount)) == (customer, "Qualification", "1500.00")
    assert StageHistory.objects.filter(opportunity=opp, left_at__isnull=True).count() == 1
    # The capture stays on the same customer's timeline.
    assert Interaction.objects.filter(customer=customer, kind="form").exists()
    with pytest.raises(ValidationError):
        leads.convert_lead(actor=rep, lead_id=lead.pk)


def test_lead_no_rule_matches_goes_to_who_captured_it_web_leads_to_the_managers_pool(
    rep, rep_b, manager
):
    from vinculo.sales.selectors_leads import visible_leads

    by_hand = leads.capture_lead(actor=rep, first_name="Eva", email="eva@example.es").lead
    assert (by_hand.owner_id, by_hand.team_id) == (rep.pk, rep.team_id)
    assert by_hand.customer.owner_id == rep.pk
    assert by_hand in visible_leads(rep)

    web = leads.capture_lead(actor=None, source="web_form", first_name="Pau", email="p@x.es").lead
    assert web.owner_id is None
    assert web in visible_leads(manager)  # the unassigned pool, to triage
    assert web not in visible_leads(rep) and web not in visible_leads(rep_b)
    assert by_hand not in visible_leads(rep_b)
