"""Lead pages: the list, "My queue", detail, status quick actions, conversion, manual entry,
cost per lead, set-up screens, the re-scoring job and the handover of sales records."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.core.management import call_command
from django.utils import timezone

from tests.accounts.factories import UserFactory
from tests.customers.factories import CustomerFactory
from vinculo.accounts.models import Role
from vinculo.core.models import AuditEntry
from vinculo.interactions import handover as ho
from vinculo.interactions import services as interaction_services
from vinculo.sales import handover as sales_handover
from vinculo.sales import leads, pipelines
from vinculo.sales.models import AssignmentRule, Lead, LeadScoringRule, LeadWebForm, Opportunity

LIST, QUEUE = "/sales/leads/", "/sales/leads/queue/"
FIT = {"label": "Spain", "points": 10, "kind": "fit"}
ENGAGED = {"label": "2 × web visit", "points": 6, "kind": "engagement"}


def make_lead(owner, *, score=0, reasons=(), name=None, age_days=0, **kwargs) -> Lead:
    customer = CustomerFactory(
        owner=owner, team=owner.team if owner else None, **({"name": name} if name else {})
    )
    lead = Lead.objects.create(
        customer=customer,
        owner=owner,
        team=owner.team if owner else None,
        score=score,
        score_fit=sum(r["points"] for r in reasons if r["kind"] == "fit"),
        score_engagement=sum(r["points"] for r in reasons if r["kind"] == "engagement"),
        score_reasons=list(reasons),
        **kwargs,
    )
    if age_days:
        Lead.objects.filter(pk=lead.pk).update(
            created_at=timezone.now() - dt.timedelta(days=age_days)
        )
        lead.refresh_from_db()
    return lead


# --- queue ------------------------------------------------------------------------------------


def test_queue_orders_by_score_then_age_and_shows_the_reasons(client_for, rep, rep_b):
    low = make_lead(rep, score=5, name="Low Score")
    young = make_lead(rep, score=16, reasons=[FIT, ENGAGED], name="Young Hot")
    old = make_lead(rep, score=16, reasons=[FIT, ENGAGED], name="Old Hot", age_days=3)
    make_lead(rep, score=99, name="Closed One", status=Lead.Status.DISQUALIFIED)
    make_lead(rep_b, score=80, name="Someone Else")
    resp = client_for(rep).get(QUEUE)
    assert resp.status_code == 200
    assert [lead.pk for lead in resp.context["leads"]] == [old.pk, young.pk, low.pk]
    html = resp.content.decode()
    assert html.index("Old Hot") < html.index("Young Hot") < html.index("Low Score")
    assert "Closed One" not in html and "Someone Else" not in html
    assert "fit 10 · engagement 6" in html
    assert "Spain: +10" in html and "2 × web visit: +6" in html
    # Quick actions are real buttons, reachable by keyboard, and tied to their lead.
    assert html.count('data-action="contacted"') == 3
    assert 'tabindex="0"' in html and "lead_queue.js" in html


def test_manager_sees_each_reps_queue(client_for, manager, rep, rep_b):
    make_lead(rep, score=40, reasons=[FIT], name="Rep Lead")
    make_lead(rep_b, score=50, name="Other Team Lead")
    resp = client_for(manager).get(QUEUE)
    team = {q.rep.username: q for q in resp.context["team"]}
    assert set(team) == {"manager", "rep"}
    assert [lead.customer.name for lead in team["rep"].leads] == ["Rep Lead"]
    html = resp.content.decode()
    assert "Rep Lead" in html and "Other Team Lead" not in html
    # A rep manages no team: no team section.
    assert client_for(rep).get(QUEUE).context["team"] == []


def test_queue_and_list_query_counts_do_not_grow_with_rows(
    client_for, manager, rep, django_assert_max_num_queries
):
    def count(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    client = client_for(manager)
    for i in range(3):
        make_lead(rep, score=i, reasons=[FIT], name=f"Acme Rep {i}")
        make_lead(manager, score=i, name=f"Acme Manager {i}")
    # The searched page must list rows on both counts (an empty page skips its query).
    few = {p: count(p) for p in (QUEUE, LIST, LIST + "?q=Acme&status=open")}
    assert len(client.get(LIST + "?q=Acme&status=open").context["page"]) == 6
    for i in range(30):
        make_lead(rep, score=i, reasons=[FIT, ENGAGED], name=f"Acme Rep {i + 3}")
        make_lead(manager, score=i, name=f"Acme Manager {i + 3}")
    for path, n in few.items():
        with django_assert_max_num_queries(n):
            assert client.get(path).status_code == 200


# --- list and visibility ----------------------------------------------------------------------


def test_list_filters_sorts_and_paginates(client_for, manager, rep):
    make_lead(rep, score=10, name="Alpha Web", source="web_form", campaign="Spring")
    make_lead(rep, score=30, name="Beta Call", source="phone")
    make_lead(manager, score=20, name="Gamma Web", source="web_form", status="qualified")
    c = client_for(manager)
    names = lambda r: [lead.customer.name for lead in r.context["page"]]  # noqa: E731
    assert names(c.get(LIST)) == ["Beta Call", "Gamma Web", "Alpha Web"]
    assert names(c.get(LIST + "?source=web_form&sort=score")) == ["Alpha Web", "Gamma Web"]
    assert names(c.get(LIST + f"?owner={rep.pk}&sort=-score")) == ["Beta Call", "Alpha Web"]
    assert names(c.get(LIST + "?status=qualified")) == ["Gamma Web"]
    assert names(c.get(LIST + "?q=Spring")) == ["Alpha Web"]
    resp = c.get(LIST + "?source=event")
    assert "No lead matches these filters." in resp.content.decode()
    for i in range(26):
        make_lead(rep, score=0, name=f"Filler {i}")
    resp = c.get(LIST + "?page=2&sort=-score")
    assert resp.context["page"].number == 2 and len(resp.context["page"]) == 4
    assert 'rel="prev"' in resp.content.decode()


def test_empty_list_invites_to_add_a_lead(client_for, rep):
    html = client_for(rep).get(LIST).content.decode()
    assert "No leads yet" in html and "/sales/leads/new/" in html


def test_rep_cannot_see_another_teams_leads(client_for, rep, rep_b):
    theirs = make_lead(rep_b, score=90, name="Hidden Lead")
    c = client_for(rep)
    assert "Hidden Lead" not in c.get(LIST).content.decode()
    assert c.get(f"{LIST}{theirs.pk}/").status_code == 404
    assert c.get(f"{LIST}{theirs.pk}/convert/").status_code == 404
    resp = c.post(f"{LIST}{theirs.pk}/status/", {"status": "contacted"})
    assert resp.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "new" and not AuditEntry.objects.filter(object_id=theirs.pk).exists()
    assert client_for(rep_b).get(f"{LIST}{theirs.pk}/").status_code == 200


# --- quick actions ----------------------------------------------------------------------------


def test_mark_contacted_and_qualify_from_the_queue(client_for, rep):
    lead = make_lead(rep, score=10)
    c = client_for(rep)
    resp = c.post(f"{LIST}{lead.pk}/status/", {"status": "contacted", "version": 1, "next": QUEUE})
    assert resp.status_code == 302 and resp["Location"] == QUEUE
    lead.refresh_from_db()
    assert lead.status == "contacted"
    resp = c.post(f"{LIST}{lead.pk}/status/", {"status": "qualified", "version": lead.version})
    lead.refresh_from_db()
    assert lead.status == "qualified" and resp["Location"] == f"{LIST}{lead.pk}/"


def test_stale_quick_action_is_refused(client_for, rep):
    lead = make_lead(rep)
    leads.set_lead_status(actor=rep, lead_id=lead.pk, status="contacted")
    resp = client_for(rep).post(
        f"{LIST}{lead.pk}/status/",
        {"status": "qualified", "version": 1, "next": QUEUE},
        follow=True,
    )
    assert "changed by someone else" in resp.content.decode()
    lead.refresh_from_db()
    assert lead.status == "contacted"


def test_disqualify_requires_a_reason(client_for, rep):
    lead = make_lead(rep)
    c = client_for(rep)
    resp = c.post(f"{LIST}{lead.pk}/status/", {"status": "disqualified", "reason": "  "})
    assert resp.status_code == 422
    html = resp.content.decode()
    assert "Say why the lead is disqualified." in html and 'name="reason"' in html
    lead.refresh_from_db()
    assert lead.status == "new" and lead.version == 1
    assert not AuditEntry.objects.filter(object_type="sales.lead", object_id=lead.pk).exists()
    resp = c.post(
        f"{LIST}{lead.pk}/status/",
        {"status": "disqualified", "reason": "No budget this year", "next": QUEUE},
    )
    assert resp.status_code == 302
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "No budget this year")
    assert lead not in c.get(QUEUE).context["leads"]  # off the queue
    detail = c.get(f"{LIST}{lead.pk}/").content.decode()
    assert "No budget this year" in detail


def test_service_agent_cannot_act_without_edit_rights(client_for, analyst):
    lead = make_lead(None)
    resp = client_for(analyst).post(f"{LIST}{lead.pk}/status/", {"status": "contacted"})
    assert resp.status_code == 403
    lead.refresh_from_db()
    assert lead.status == "new"


# --- detail and conversion --------------------------------------------------------------------


def test_detail_shows_source_cost_utm_consent_and_score_breakdown(client_for, rep):
    lead = make_lead(
        rep,
        score=16,
        reasons=[FIT, ENGAGED],
        source="web_form",
        campaign="Spring",
        acquisition_cost=Decimal("4.50"),
        utm_source="google",
        utm_medium="cpc",
        consent_marketing=True,
        consent_text="Send me offers",
    )
    html = client_for(rep).get(f"{LIST}{lead.pk}/").content.decode()
    for text in ("Web form", "Spring", "4.50 EUR", "utm_source", "google", "cpc"):
        assert text in html
    assert "Send me offers" in html
    assert "Fit: 10" in html and "Engagement: 6" in html and "2 × web visit: +6" in html


def test_convert_creates_the_opportunity_and_keeps_the_history(client_for, rep):
    pipeline = pipelines.ensure_default_pipeline()
    lead = leads.capture_lead(
        actor=rep, source="web_form", first_name="Eva", last_name="Ruiz", email="eva@x.es"
    ).lead
    Lead.objects.filter(pk=lead.pk).update(owner=rep, team=rep.team)
    c = client_for(rep)
    c.post(f"{LIST}{lead.pk}/status/", {"status": "qualified"})
    lead.refresh_from_db()
    confirm = c.get(f"{LIST}{lead.pk}/convert/")
    assert confirm.status_code == 200
    assert 'name="pipeline"' in confirm.content.decode()
    resp = c.post(
        f"{LIST}{lead.pk}/convert/",
        {
            "name": "Chairs for Eva",
            "pipeline": pipeline.pk,
            "amount": "1500",
            "expected_close_date": "2027-01-31",
            "version": lead.version,
        },
    )
    opp = Opportunity.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/opportunities/{opp.pk}/"
    assert (opp.name, opp.amount, opp.expected_close_date) == (
        "Chairs for Eva",
        Decimal("1500.00"),
        dt.date(2027, 1, 31),
    )
    lead.refresh_from_db()
    assert (lead.status, lead.opportunity_id) == ("converted", opp.pk)
    detail = c.get(f"{LIST}{lead.pk}/").content.decode()
    history = re.search(r'data-testid="lead-history">(.*?)</ol>', detail, re.S).group(1)
    assert "Lead captured" in history
    assert "New → Qualified" in history and "Qualified → Converted" in history
    assert "New lead from Web form" in history  # the capture on the customer's timeline
    assert "Chairs for Eva" in detail
    # A converted lead cannot be converted twice.
    again = c.post(f"{LIST}{lead.pk}/convert/", {"name": "x", "pipeline": pipeline.pk})
    assert again.status_code == 302 and Opportunity.objects.count() == 1


def test_convert_with_bad_input_names_the_field(client_for, rep):
    pipeline = pipelines.ensure_default_pipeline()
    lead = make_lead(rep)
    resp = client_for(rep).post(
        f"{LIST}{lead.pk}/convert/",
        {"name": "", "pipeline": pipeline.pk, "amount": "-5", "expected_close_date": "31/31"},
    )
    assert resp.status_code == 422
    assert set(resp.context["form"].errors) == {"name", "amount", "expected_close_date"}
    assert not Opportunity.objects.exists()
    lead.refresh_from_db()
    assert lead.status == "new"


# --- manual entry -----------------------------------------------------------------------------


def test_manual_entry_creates_a_lead_and_names_bad_fields(client_for, rep):
    c = client_for(rep)
    resp = c.post(
        LIST + "new/", {"first_name": "Eva", "email": "nope", "source": "manual", "currency": "EUR"}
    )
    assert resp.status_code == 422 and "email" in resp.context["form"].errors
    assert not Lead.objects.exists()
    resp = c.post(
        LIST + "new/",
        {
            "first_name": "Eva",
            "email": "eva@x.es",
            "source": "event",
            "campaign": "Fair 2027",
            "acquisition_cost": "12",
            "currency": "EUR",
        },
    )
    lead = Lead.objects.get()
    assert resp["Location"] == f"{LIST}{lead.pk}/"
    assert (lead.source, lead.campaign, lead.acquisition_cost) == (
        "event",
        "Fair 2027",
        Decimal("12.00"),
    )


# --- cost per lead ----------------------------------------------------------------------------


def test_cost_per_lead_by_source_and_campaign(client_for, manager):
    for cost, status in (("10", "new"), ("20", "converted"), ("30", "new")):
        make_lead(
            manager, source="web_form", campaign="Spring", acquisition_cost=cost, status=status
        )
    make_lead(manager, source="event", campaign="Fair", acquisition_cost="100")
    resp = client_for(manager).get(LIST + "costs/")
    rows = {(r.source, r.campaign): r for r in resp.context["rows"]}
    spring = rows[("web_form", "Spring")]
    assert (spring.leads, spring.converted, spring.cost) == (3, 1, Decimal("60"))
    assert spring.cost_per_lead == Decimal("20.00") and spring.cost_per_conversion == 60
    assert rows[("event", "Fair")].cost_per_conversion is None
    html = resp.content.decode()
    assert "20.00 EUR" in html and "33.3 %" in html


# --- set-up -----------------------------------------------------------------------------------


def test_reps_cannot_open_the_setup(client_for, rep):
    c = client_for(rep)
    assert c.get(LIST + "setup/").status_code == 403
    assert c.post(LIST + "setup/scoring/new/", {"label": "x"}).status_code == 403
    assert not LeadScoringRule.objects.exists()


def test_manager_creates_edits_and_deletes_a_scoring_rule(client_for, manager):
    c = client_for(manager)
    bad = c.post(
        LIST + "setup/scoring/new/",
        {"label": "Big", "field": "nonsense", "operator": "gte", "value": "lots", "points": 5},
    )
    assert bad.status_code == 422
    assert set(bad.context["form"].errors) == {"field", "value"}
    assert not LeadScoringRule.objects.exists()
    resp = c.post(
        LIST + "setup/scoring/new/",
        {
            "label": "Iberia",
            "field": "country",
            "operator": "in",
            "value": "ES, PT",
            "points": 10,
            "position": 0,
            "active": "on",
        },
    )
    assert resp.status_code == 302
    rule = LeadScoringRule.objects.get()
    assert rule.value == ["ES", "PT"]
    edit = c.get(f"{LIST}setup/scoring/{rule.pk}/")
    assert 'value="ES, PT"' in edit.content.decode()
    c.post(
        f"{LIST}setup/scoring/{rule.pk}/",
        {
            "label": "Iberia",
            "field": "country",
            "operator": "in",
            "value": "ES, PT",
            "points": 15,
            "position": 0,
            "active": "on",
        },
    )
    rule.refresh_from_db()
    assert rule.points == 15
    confirm = c.get(f"{LIST}setup/scoring/{rule.pk}/delete/")
    assert confirm.status_code == 200 and "Iberia" in confirm.content.decode()
    assert LeadScoringRule.objects.exists()  # the GET only asks
    c.post(f"{LIST}setup/scoring/{rule.pk}/delete/")
    assert not LeadScoringRule.objects.exists()
    actions = list(
        AuditEntry.objects.filter(object_type="sales.leadscoringrule")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_assignment_rule_needs_its_territory(client_for, admin, team_a):
    c = client_for(admin)
    resp = c.post(
        LIST + "setup/assignment/new/",
        {"name": "North", "kind": "territory", "team": team_a.pk, "match_value": "", "position": 0},
    )
    assert resp.status_code == 422 and "match_value" in resp.context["form"].errors
    c.post(
        LIST + "setup/assignment/new/",
        {
            "name": "North",
            "kind": "territory",
            "team": team_a.pk,
            "match_value": "Galicia",
            "position": 0,
            "active": "on",
        },
    )
    assert AssignmentRule.objects.get().match_value == "Galicia"
    html = c.get(LIST + "setup/").content.decode()
    assert "North" in html and "Galicia" in html


def test_web_form_setup_shows_the_address_to_embed(client_for, admin):
    c = client_for(admin)
    c.post(
        LIST + "setup/forms/new/",
        {
            "name": "Pricing page",
            "source": "web_form",
            "acquisition_cost": "3",
            "currency": "eur",
            "active": "on",
        },
    )
    form = LeadWebForm.objects.get()
    assert form.currency == "EUR" and len(form.key) >= 24
    assert f"/forms/lead/{form.key}/" in c.get(LIST + "setup/").content.decode()


# --- re-scoring and handover ------------------------------------------------------------------


def test_rescoring_job_updates_open_leads_only(rep, db):
    LeadScoringRule.objects.create(
        label="Spain", field="country", operator="eq", value="ES", points=10
    )
    open_lead = make_lead(rep)
    closed = make_lead(rep, status=Lead.Status.DISQUALIFIED)
    interaction_services.log_interaction(
        actor=rep, customer_id=open_lead.customer_id, kind="web_visit", direction="in"
    )
    call_command("rescore_leads")
    open_lead.refresh_from_db()
    closed.refresh_from_db()
    assert open_lead.score == 10 + 10 + 3 and open_lead.scored_at is not None
    assert closed.score == 0 and closed.scored_at is None


def test_rescoring_command_in_the_background_queues_and_leaves_scores(rep, db_tasks, capsys):
    from django_tasks_db.models import DBTaskResult

    LeadScoringRule.objects.create(
        label="Spain", field="country", operator="eq", value="ES", points=10
    )
    lead = make_lead(rep)
    call_command("rescore_leads", "--background")
    assert "Queued: the task worker will re-score the open leads." in capsys.readouterr().out
    assert DBTaskResult.objects.filter(task_path__endswith="rescore_leads_task").count() == 1
    lead.refresh_from_db()
    assert lead.scored_at is None  # queued, not done here


def test_rescore_button_queues_the_task(client_for, manager, db_tasks):
    from django_tasks_db.models import DBTaskResult

    resp = client_for(manager).post(LIST + "setup/rescore/")
    assert resp.status_code == 302
    assert DBTaskResult.objects.filter(task_path__endswith="rescore_leads_task").count() == 1


def test_handover_moves_open_opportunities_and_open_leads(admin, rep, team_a):
    sales_handover.register()  # another test may have replaced the registration
    rep2 = UserFactory(username="rep2", role=Role.SALES_REP, team=team_a)
    pipelines.ensure_default_pipeline()
    customer = CustomerFactory(owner=rep, team=team_a)
    open_opp = pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name="Open")
    won_opp = pipelines.create_opportunity(actor=rep, customer_id=customer.pk, name="Won")
    Opportunity.objects.filter(pk=won_opp.pk).update(status=Opportunity.Status.WON)
    open_lead = make_lead(rep, status=Lead.Status.CONTACTED)
    closed_lead = make_lead(rep, status=Lead.Status.DISQUALIFIED)
    preview = ho.handover_preview(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert (preview.counts["opportunities"], preview.counts["leads"]) == (1, 1)
    result = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert result.ids["opportunities"] == [open_opp.pk] and result.ids["leads"] == [open_lead.pk]
    owners = dict(Opportunity.objects.values_list("name", "owner_id"))
    assert owners == {"Open": rep2.pk, "Won": rep.pk}
    open_lead.refresh_from_db()
    closed_lead.refresh_from_db()
    assert (open_lead.owner_id, open_lead.version) == (rep2.pk, 2)
    assert closed_lead.owner_id == rep.pk
    # Idempotent: a second run finds nothing left.
    again = ho.handover(actor=admin, from_user_id=rep.pk, to_user_id=rep2.pk)
    assert not again.moved_anything


def test_navigation_shows_leads_and_queue_by_capability(client_for, rep, analyst):
    html = client_for(rep).get(LIST).content.decode()
    assert 'href="/sales/leads/"' in html and 'href="/sales/leads/queue/"' in html
    html = client_for(analyst).get(LIST).content.decode()
    assert 'href="/sales/leads/"' in html and 'href="/sales/leads/queue/"' not in html


def test_team_queue_shows_the_top_leads_per_rep_and_their_total(manager, rep):
    from vinculo.sales.selectors_leads import team_queues

    for score in range(5):
        make_lead(rep, score=score)
    make_lead(manager, score=7)
    queues = {q.rep.username: q for q in team_queues(user=manager, per_rep=3)}
    assert [lead.score for lead in queues["rep"].leads] == [4, 3, 2]
    assert queues["rep"].total == 5
    assert (queues["manager"].total, len(queues["manager"].leads)) == (1, 1)


def test_queue_mixes_open_statuses_in_score_order(client_for, rep):
    # Each open status is read on its own (index order), then merged: the order must not care.
    qualified = make_lead(rep, score=30, status=Lead.Status.QUALIFIED)
    new = make_lead(rep, score=20)
    contacted = make_lead(rep, score=25, status=Lead.Status.CONTACTED)
    old_new = make_lead(rep, score=30, age_days=2)
    make_lead(rep, score=99, status=Lead.Status.CONVERTED)
    leads = client_for(rep).get(QUEUE).context["leads"]
    assert [lead.pk for lead in leads] == [old_new.pk, qualified.pk, contacted.pk, new.pk]


def test_team_queue_counts_stop_at_the_cap(client_for, manager, rep, monkeypatch):
    from vinculo.sales import selectors_leads

    monkeypatch.setattr(selectors_leads, "TEAM_COUNT_CAP", 2)
    for score in range(3):
        make_lead(rep, score=score)
    resp = client_for(manager).get(QUEUE)
    team = {q.rep.username: q for q in resp.context["team"]}
    assert team["rep"].capped and len(team["rep"].leads) == 3
    assert "more than 1,000 open leads" in resp.content.decode()


def test_broad_filters_list_the_same_leads(client_for, manager, rep, monkeypatch):
    # A filter matching many leads is checked row by row along the sort's index (SQLite):
    # same rows, same order as the indexed filter.
    from vinculo.sales import paging

    make_lead(rep, score=10, name="Alpha Web", source="web_form", campaign="Spring")
    make_lead(rep, score=30, name="Beta Call", source="phone", status="contacted")
    make_lead(manager, score=20, name="Gamma Web", source="web_form", status="qualified")
    make_lead(rep, score=40, name="Delta Won", status="converted")
    c = client_for(manager)
    urls = [
        LIST + "?status=open",
        LIST + f"?status=open&owner={rep.pk}",
        LIST + "?source=web_form&sort=created",
        LIST + "?campaign=Spring",
        LIST + "?status=converted&sort=-cost",
    ]
    names = lambda url: [lead.customer.name for lead in c.get(url).context["page"]]  # noqa: E731
    narrow = {url: names(url) for url in urls}
    monkeypatch.setattr(paging, "BROAD_FILTER", 0)
    assert {url: names(url) for url in urls} == narrow
    assert narrow[LIST + f"?status=open&owner={rep.pk}"] == ["Beta Call", "Alpha Web"]


def test_search_finds_customers_and_campaigns_on_both_paths(client_for, manager, rep, monkeypatch):
    from vinculo.sales import selectors_leads

    make_lead(rep, score=10, name="Alpha Web", campaign="Spring Fair")
    make_lead(rep, score=30, name="Beta Spring", campaign="")
    make_lead(manager, score=20, name="Gamma Web", campaign="Autumn")
    c = client_for(manager)

    def names(q):
        return [lead.customer.name for lead in c.get(LIST, {"q": q}).context["page"]]

    assert names("gamma") == ["Gamma Web"]  # few customers, no campaign: by customer
    assert names("spring") == ["Beta Spring", "Alpha Web"]  # a campaign too: walked
    assert names("fair") == ["Alpha Web"]
    monkeypatch.setattr(selectors_leads, "SEARCH_CUSTOMERS", 0)  # many customers: walked
    assert names("gamma") == ["Gamma Web"] and names("zzz") == []
    assert selectors_leads.lead_campaigns() == ["Autumn", "Spring Fair"]
