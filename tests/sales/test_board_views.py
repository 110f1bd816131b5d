"""Board, move endpoint, list, detail, create/edit, forecast and reports pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.customers.factories import CustomerFactory
from vinculo.interactions.models import Interaction
from vinculo.sales import pipelines
from vinculo.sales.models import Opportunity, Stage, StageHistory

BOARD = "/sales/pipeline/"
LIST = "/sales/opportunities/"


@pytest.fixture
def sales(db):
    return pipelines.ensure_default_pipeline()


def stage(pipeline, name):
    return Stage.objects.get(pipeline=pipeline, name=name)


def make_opps(owner, n, *, amount="100", **kwargs):
    customer = CustomerFactory(owner=owner, team=owner.team)
    return [
        pipelines.create_opportunity(
            actor=owner, customer_id=customer.pk, name=f"Deal {i}", amount=amount, **kwargs
        )
        for i in range(n)
    ]


def test_board_renders_columns_with_totals(client_for, rep, sales):
    make_opps(rep, 2, amount="1000")
    make_opps(rep, 1, amount="500", stage_id=stage(sales, "Proposal").pk)
    resp = client_for(rep).get(BOARD)
    assert resp.status_code == 200
    html = resp.content.decode()
    for name in ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"):
        assert f'data-testid="column-{name.lower().replace(" ", "-")}"' in html
    cols = {c.stage.name: c for c in resp.context["columns"]}
    assert (cols["Qualification"].count, cols["Qualification"].total) == (2, Decimal("2000"))
    assert cols["Qualification"].weighted == Decimal("200.00")
    assert (cols["Proposal"].count, cols["Proposal"].weighted) == (1, Decimal("250.00"))
    assert "2 opportunities" in html and "weighted 250.00" in html
    assert 'id="move-' in html and "Deal 0" in html


def test_board_shows_a_stage_or_pipeline_change_at_once(client_for, rep, manager, sales):
    """Pipelines and stages are kept per process (sales.pipelines.pipelines_shown); a change
    saved in the process shows on the next page, another process's within seconds."""
    client = client_for(rep)
    assert 'data-testid="column-proposal"' in client.get(BOARD).content.decode()
    proposal = stage(sales, "Proposal")
    proposal.name = "Offer sent"
    proposal.save(update_fields=["name"])
    html = client.get(BOARD).content.decode()
    assert 'data-testid="column-offer-sent"' in html
    assert 'data-testid="column-proposal"' not in html
    other = pipelines.create_pipeline(actor=manager, name="Renewals", stages=[("Due", 50)])
    html = client.get(BOARD, {"pipeline": other.pk}).content.decode()
    assert 'data-testid="column-due"' in html and 'data-testid="column-offer-sent"' not in html
    assert ">Renewals</option>" in html
    # The opportunity list's stage filter too.
    html = client.get(LIST).content.decode()
    assert ">Offer sent</option>" in html and ">Due</option>" in html


def test_move_endpoint_moves_and_records_history(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    proposal = stage(sales, "Proposal")
    resp = client_for(rep).post(
        f"{LIST}{opp.pk}/move/",
        {"stage": proposal.pk, "position": 0, "version": opp.version},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 200
    assert "is now in Proposal" in resp.content.decode()
    opp.refresh_from_db()
    assert opp.stage == proposal
    assert list(
        StageHistory.objects.filter(opportunity=opp).values_list("stage__name", flat=True)
    ) == [
        "Qualification",
        "Proposal",
    ]


def test_plain_form_move_redirects_to_the_board(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    resp = client_for(rep).post(
        f"{LIST}{opp.pk}/move/", {"stage": stage(sales, "Negotiation").pk, "version": 1}
    )
    assert resp.status_code == 302 and resp["Location"].startswith(BOARD)
    opp.refresh_from_db()
    assert opp.stage.name == "Negotiation"


def test_stale_version_gives_409_and_the_board(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    pipelines.update_opportunity(
        actor=rep, opportunity_id=opp.pk, expected_version=opp.version, next_step="Call"
    )
    resp = client_for(rep).post(
        f"{LIST}{opp.pk}/move/",
        {"stage": stage(sales, "Proposal").pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 409
    html = resp.content.decode()
    assert 'id="pipeline-board"' in html and "changed by someone else" in html
    opp.refresh_from_db()
    assert opp.stage.name == "Qualification"


def test_moving_to_lost_asks_for_the_reason(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    lost = stage(sales, "Lost")
    client = client_for(rep)
    resp = client.post(
        f"{LIST}{opp.pk}/move/", {"stage": lost.pk, "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert resp.status_code == 422
    assert 'id="lost-reason"' in resp.content.decode()
    opp.refresh_from_db()
    assert opp.status == "open"
    resp = client.post(
        f"{LIST}{opp.pk}/move/",
        {"stage": lost.pk, "version": 1, "lost_reason": "Chose a competitor"},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 200
    opp.refresh_from_db()
    assert (opp.status, opp.lost_reason) == ("lost", "Chose a competitor")
    # Without a script, the reason form is a page of its own.
    (other,) = make_opps(rep, 1)
    resp = client.post(f"{LIST}{other.pk}/move/", {"stage": lost.pk, "version": 1})
    assert resp.status_code == 422 and 'name="lost_reason"' in resp.content.decode()


def test_rep_cannot_move_another_teams_opportunity(client_for, rep, rep_b, sales):
    (opp,) = make_opps(rep_b, 1)
    client = client_for(rep)
    resp = client.post(
        f"{LIST}{opp.pk}/move/",
        {"stage": stage(sales, "Won").pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 404
    opp.refresh_from_db()
    assert opp.stage.name == "Qualification" and opp.status == "open"
    assert StageHistory.objects.filter(opportunity=opp).count() == 1
    assert not Interaction.objects.filter(customer=opp.customer).exists()
    assert client.get(f"{LIST}{opp.pk}/").status_code == 404
    assert "Deal 0" not in client.get(BOARD).content.decode()


def test_analyst_can_read_but_not_move(client_for, analyst, rep, sales):
    (opp,) = make_opps(rep, 1)
    client = client_for(analyst)
    assert client.get(BOARD).status_code == 200
    resp = client.post(f"{LIST}{opp.pk}/move/", {"stage": stage(sales, "Won").pk})
    assert resp.status_code == 403
    opp.refresh_from_db()
    assert opp.status == "open"


@pytest.mark.parametrize("url", [BOARD, LIST])
def test_query_count_does_not_grow_with_opportunities(
    client_for, rep, sales, django_assert_max_num_queries, url
):
    client = client_for(rep)
    make_opps(rep, 3)
    with django_assert_max_num_queries(10):
        assert client.get(url).status_code == 200
    make_opps(rep, 27)
    make_opps(rep, 5, stage_id=stage(sales, "Proposal").pk)
    with django_assert_max_num_queries(10):
        resp = client.get(url)
    assert resp.status_code == 200
    html = resp.content.decode()
    if url == BOARD:
        # The first 20 cards of a column, and a way to the next ones.
        assert html.count('class="board-card"') == 20 + 5
        assert html.count('class="board-more"') == 1
    else:
        assert len(resp.context["page"].object_list) == 25


def test_show_more_loads_the_next_cards_of_a_column(
    client_for, rep, sales, django_assert_max_num_queries
):
    opps = make_opps(rep, 23)
    client = client_for(rep)
    html = client.get(BOARD).content.decode()
    qualification = stage(sales, "Qualification")
    more = f"/sales/pipeline/stages/{qualification.pk}/cards/?offset=20"
    assert f'hx-get="{more}"' in html
    # Same amount and position: the newest (highest id) last.
    shown = [o for o in opps if f'id="opp-card-{o.pk}"' in html]
    assert shown == opps[:20]
    with django_assert_max_num_queries(8):
        resp = client.get(more, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    rest = resp.content.decode()
    assert [o for o in opps if f'id="opp-card-{o.pk}"' in rest] == opps[20:]
    assert "board-more" not in rest and "No opportunities here" not in rest
    assert f'action="{LIST}{opps[21].pk}/move/"' in rest  # the move form is there too


def test_show_more_stops_at_the_cap_and_points_to_the_list(client_for, rep, sales, monkeypatch):
    from vinculo.sales import selectors_board

    monkeypatch.setattr(selectors_board, "MORE_MAX", 22)
    make_opps(rep, 25)
    qualification = stage(sales, "Qualification")
    html = (
        client_for(rep)
        .get(f"/sales/pipeline/stages/{qualification.pk}/cards/", {"offset": 20})
        .content.decode()
    )
    assert html.count('class="board-card"') == 2 and "hx-get" not in html
    assert f'href="{LIST}?pipeline={sales.pk}&amp;stage={qualification.pk}"' in html


def test_a_big_column_counts_up_to_the_cap(client_for, rep, sales, monkeypatch):
    from vinculo.sales import selectors_board

    monkeypatch.setattr(selectors_board, "COUNT_CAP", 4)
    make_opps(rep, 5, amount="10")
    make_opps(rep, 4, amount="10", stage_id=stage(sales, "Proposal").pk)
    resp = client_for(rep).get(BOARD)
    cols = {c.stage.name: c for c in resp.context["columns"]}
    assert cols["Qualification"].capped and cols["Qualification"].count_text == "4+ opportunities"
    assert not cols["Proposal"].capped and cols["Proposal"].total == Decimal("40.00")
    html = resp.content.decode()
    assert "4+ opportunities" in html and "weighted 20.00" in html


def test_board_counts_add_own_team_and_capped_columns(
    client_for, admin, rep, rep_b, team_a, sales, monkeypatch
):
    # On PostgreSQL a column the user's own cards fill past the cap is counted from them
    # alone; the others count every visible card, the team's included.
    from tests.accounts.factories import UserFactory
    from vinculo.accounts.models import Role
    from vinculo.sales import selectors_board

    monkeypatch.setattr(selectors_board, "COUNT_CAP", 4)
    teammate = UserFactory(username="teammate", role=Role.SALES_REP, team=team_a)
    proposal, negotiation = stage(sales, "Proposal"), stage(sales, "Negotiation")
    make_opps(rep, 2, amount="10")
    make_opps(teammate, 3, amount="10")  # Qualification: 5 visible, past the cap
    make_opps(rep, 5, amount="10", stage_id=proposal.pk)  # own cards alone past it
    make_opps(rep, 1, amount="10", stage_id=negotiation.pk)
    make_opps(teammate, 1, amount="5", stage_id=negotiation.pk)
    make_opps(rep_b, 2, amount="10", stage_id=negotiation.pk)  # another team's: hidden
    client = client_for(rep)
    cols = {c.stage.name: c for c in client.get(BOARD).context["columns"]}
    assert cols["Qualification"].capped and cols["Proposal"].capped
    assert (cols["Negotiation"].count, cols["Negotiation"].total) == (2, Decimal("15.00"))
    cols = {c.stage.name: c for c in client.get(BOARD, {"owner": rep.pk}).context["columns"]}
    assert (cols["Qualification"].count, cols["Qualification"].total) == (2, Decimal("20.00"))
    assert cols["Proposal"].capped and cols["Negotiation"].count == 1
    # Someone who sees every customer: every column counted from the index alone.
    cols = {c.stage.name: c for c in client_for(admin).get(BOARD).context["columns"]}
    assert cols["Qualification"].capped and cols["Proposal"].capped
    assert (cols["Negotiation"].count, cols["Negotiation"].total) == (4, Decimal("35.00"))
    cols = {
        c.stage.name: c
        for c in client_for(admin).get(BOARD, {"owner": teammate.pk}).context["columns"]
    }
    assert (cols["Qualification"].count, cols["Negotiation"].total) == (3, Decimal("5.00"))


def test_closed_columns_show_the_recently_closed_newest_first(client_for, rep, sales):
    won = stage(sales, "Won")
    old, recent, newest = make_opps(rep, 3)
    for opp in (old, recent, newest):
        pipelines.move_opportunity(actor=rep, opportunity_id=opp.pk, stage_id=won.pk)
    now = timezone.now()
    Opportunity.objects.filter(pk=old.pk).update(closed_at=now - dt.timedelta(days=31))
    Opportunity.objects.filter(pk=recent.pk).update(closed_at=now - dt.timedelta(days=2))
    html = client_for(rep).get(BOARD).content.decode()
    assert f'id="opp-card-{old.pk}"' not in html
    assert html.index(f'id="opp-card-{newest.pk}"') < html.index(f'id="opp-card-{recent.pk}"')
    col = {c.stage.name: c for c in client_for(rep).get(BOARD).context["columns"]}["Won"]
    assert col.count == 2


def test_list_filters_sorts_paginates_and_empty_state(client_for, rep, sales):
    client = client_for(rep)
    resp = client.get(LIST)
    assert "No opportunities yet" in resp.content.decode()
    make_opps(rep, 30, expected_close_date=dt.date(2026, 5, 10))
    (big,) = make_opps(rep, 1, amount="9999", expected_close_date=dt.date(2026, 6, 1))
    resp = client.get(LIST, {"sort": "-amount"})
    page = resp.context["page"]
    assert page.object_list[0] == big and page.has_next  # one row more, no COUNT(*)
    resp = client.get(LIST, {"sort": "-amount", "page": 2})
    assert len(resp.context["page"].object_list) == 6 and not resp.context["page"].has_next
    resp = client.get(LIST, {"close_month": "2026-06"})
    assert list(resp.context["page"].object_list) == [big]
    resp = client.get(LIST, {"status": "won"})
    assert "No opportunity matches these filters" in resp.content.decode()


@pytest.mark.parametrize("sort", ["stage", "-stage"])
def test_list_sorts_by_stage_position_across_pages(client_for, rep, sales, sort):
    proposal, qualification = stage(sales, "Proposal"), stage(sales, "Qualification")
    early = make_opps(rep, 20)
    late = make_opps(rep, 10, stage_id=proposal.pk)
    client = client_for(rep)
    first = client.get(LIST, {"sort": sort}).context["page"]
    second = client.get(LIST, {"sort": sort, "page": 2}).context["page"]
    rows = list(first.object_list) + list(second.object_list)
    expected = early + late if sort == "stage" else late[::-1] + early[::-1]
    assert rows == expected and first.has_next and not second.has_next
    assert {o.stage_label for o in first.object_list[:1]} <= {qualification.name, proposal.name}
    only = client.get(LIST, {"sort": sort, "stage": proposal.pk}).context["page"]
    assert list(only.object_list) == (late if sort == "stage" else late[::-1])


def test_detail_shows_history_and_close_buttons(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    pipelines.move_opportunity(
        actor=rep, opportunity_id=opp.pk, stage_id=stage(sales, "Proposal").pk
    )
    resp = client_for(rep).get(f"{LIST}{opp.pk}/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Stage history" in html and "Qualification" in html and "Proposal" in html
    assert "Mark as won" in html and "Mark as lost" in html


def test_win_from_detail_redirects_back(client_for, rep, sales):
    (opp,) = make_opps(rep, 1)
    detail = f"{LIST}{opp.pk}/"
    resp = client_for(rep).post(
        f"{detail}move/", {"stage": stage(sales, "Won").pk, "version": 1, "next": detail}
    )
    assert resp.status_code == 302 and resp["Location"] == detail
    opp.refresh_from_db()
    assert opp.status == "won"


def test_create_from_customer_and_edit_with_version(client_for, rep, sales):
    customer = CustomerFactory(owner=rep, team=rep.team, stage="lead")
    client = client_for(rep)
    url = f"{LIST}new/?customer={customer.pk}"
    assert client.get(url).status_code == 200
    resp = client.post(
        url,
        {"name": "Big deal", "pipeline": sales.pk, "amount": "1200", "currency": "EUR"},
    )
    opp = Opportunity.objects.get(name="Big deal")
    assert resp.status_code == 302 and resp["Location"] == f"{LIST}{opp.pk}/"
    assert (opp.customer, opp.owner, opp.stage.name) == (customer, rep, "Qualification")
    edit = f"{LIST}{opp.pk}/edit/"
    resp = client.post(
        edit, {"name": "Bigger deal", "amount": "1500", "currency": "EUR", "version": 1}
    )
    assert resp.status_code == 302
    resp = client.post(edit, {"name": "Stale", "amount": "1", "currency": "EUR", "version": 1})
    assert resp.status_code == 409 and "changed by someone else" in resp.content.decode()
    opp.refresh_from_db()
    assert (opp.name, opp.amount) == ("Bigger deal", Decimal("1500.00"))


def test_create_for_hidden_customer_is_404(client_for, rep, rep_b, sales):
    customer = CustomerFactory(owner=rep_b, team=rep_b.team)
    resp = client_for(rep).post(
        f"{LIST}new/?customer={customer.pk}", {"name": "X", "pipeline": sales.pk}
    )
    assert resp.status_code == 404
    assert not Opportunity.objects.exists()


def test_forecast_and_reports_pages(client_for, manager, rep, sales):
    make_opps(rep, 2, amount="1000", expected_close_date=dt.date.today())
    client = client_for(manager)
    resp = client.get("/sales/forecast/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Weighted by probability" in html and "Weighted by win rate" in html
    assert "2,000.00" in html and "200.00" in html
    resp = client.get("/sales/reports/", {"pipeline": sales.pk})
    assert resp.status_code == 200
    assert "Funnel" in resp.content.decode() and "By source" in resp.content.decode()


def test_lines_are_priced_and_explained_on_the_detail(client_for, admin, rep, sales):
    from vinculo.sales import catalog

    catalog.create_product(actor=admin, sku="PH-1", name="Phone", price="100")
    (opp,) = make_opps(rep, 1)
    client = client_for(rep)
    url = f"{LIST}{opp.pk}/lines/"
    resp = client.post(url, {"lines": "ph-1 3\nNOPE 1", "version": opp.version})
    assert resp.status_code == 422 and "no product with SKU NOPE" in resp.content.decode()
    opp.refresh_from_db()
    assert opp.amount == Decimal("100.00") and not opp.lines.exists()
    resp = client.post(url, {"lines": "ph-1 3", "version": opp.version})
    assert resp.status_code == 302
    opp.refresh_from_db()
    assert opp.amount == Decimal("300.00") and opp.amount_from_lines
    html = client.get(f"{LIST}{opp.pk}/").content.decode()
    assert "How it was priced" in html and "Phone" in html and "PH-1 3" in html
    resp = client.post(url, {"lines": "ph-1 1", "version": 1})
    assert resp.status_code == 409
    opp.refresh_from_db()
    assert opp.amount == Decimal("300.00")


def test_board_filters_by_owner_and_manager_sees_the_team(client_for, manager, rep, sales):
    make_opps(rep, 1)
    mine = pipelines.create_opportunity(
        actor=manager, customer_id=CustomerFactory(owner=manager).pk, name="Manager deal"
    )
    client = client_for(manager)
    html = client.get(BOARD).content.decode()
    assert "Deal 0" in html and "Manager deal" in html
    html = client.get(BOARD, {"owner": manager.pk}).content.decode()
    assert "Deal 0" not in html and f'id="opp-card-{mine.pk}"' in html


def test_standard_pipeline_and_stages_read_in_the_users_language(client_for, rep, sales):
    rep.language = "es"
    rep.save(update_fields=["language"])
    html = client_for(rep).get("/sales/pipeline/").content.decode()
    assert "Embudo: Ventas" in html or "Ventas" in html
    assert "Calificación" in html and "Negociación" in html and "Ganada" in html
    assert ">Qualification <" not in html
    # A stage someone named themselves is shown as typed.
    stage = Stage.objects.filter(is_won=False, is_lost=False).first()
    stage.name = "Demo booked"
    stage.save()
    assert "Demo booked" in client_for(rep).get("/sales/pipeline/").content.decode()


def test_board_sql_reused_only_for_the_same_visibility(client_for, rep, rep_b, sales):
    (mine,) = make_opps(rep, 1)
    (theirs,) = make_opps(rep_b, 1)
    for _ in range(2):  # the second round reads the compiled SQL of the first
        html_b = client_for(rep_b).get(BOARD).content.decode()
        html = client_for(rep).get(BOARD).content.decode()
        assert f'id="opp-card-{theirs.pk}"' in html_b and f'id="opp-card-{mine.pk}"' not in html_b
        assert f'id="opp-card-{mine.pk}"' in html and f'id="opp-card-{theirs.pk}"' not in html
        html = client_for(rep).get(BOARD, {"owner": rep_b.pk}).content.decode()
        assert 'class="board-card"' not in html


def test_list_broad_filters_give_the_same_rows_along_the_sort(client_for, rep, sales, monkeypatch):
    from vinculo.sales import selectors_opportunities

    proposal = stage(sales, "Proposal")
    make_opps(rep, 3)
    wanted = make_opps(rep, 4, stage_id=proposal.pk)
    client = client_for(rep)
    params = {"stage": proposal.pk, "owner": rep.pk, "sort": "name"}
    narrow = list(client.get(LIST, params).context["page"].object_list)
    monkeypatch.setattr(selectors_opportunities, "BROAD_FILTER", 2)  # now "broad"
    broad = list(client.get(LIST, params).context["page"].object_list)
    assert narrow == broad and set(broad) == set(wanted)
