"""Pipeline pages: the kanban board and its move endpoint, the opportunity list, detail,
create and edit, the forecast and the sales reports. Thin: parse, check permission, call one
service or selector, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts.directory import active_staff_by_name, teams
from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, NotFound, ValidationError
from vinculo.core.fast import fast_reverse
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.customers.selectors import customer_for_user
from vinculo.sales import pipelines
from vinculo.sales.board_cards import CardPage, cards_html
from vinculo.sales.forecast import forecast, month_start, sales_report
from vinculo.sales.forms import LinesForm, MoveForm, OpportunityForm, lines_as_text
from vinculo.sales.models import Opportunity, Pipeline, Stage
from vinculo.sales.pricing import CartLine, price_cart
from vinculo.sales.selectors import opportunity_for_user, stage_history
from vinculo.sales.selectors_board import CLOSED_SHOWN_DAYS, board_columns, column_cards
from vinculo.sales.selectors_opportunities import (
    OPPORTUNITY_SORTS,
    OpportunityFilters,
    filtered_opportunities,
    opportunity_page,
)

PAGE_SIZE = 25
S = Opportunity.Status


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _pipeline(pipeline_id) -> Pipeline:
    """The board's pipeline (kept per process with its stages, sales.pipelines), else the
    default one."""
    return pipelines.pipelines_shown().pipeline(_int(pipeline_id)) or pipelines.default_pipeline()


# --- board ------------------------------------------------------------------------------------


def _finish_column(col, page: CardPage, *, owner_id: int | None) -> None:
    """The column's card markup and links ("show more", the list filtered to the stage)."""
    stage = col.stage
    owner = f"&owner={owner_id}" if owner_id else ""
    col.html = cards_html(col.cards, col.options, page)
    col.list_url = f"{page.opp_url}?pipeline={stage.pipeline_id}&stage={stage.pk}{owner}"
    if col.more is not None:
        more = fast_reverse("pipeline_column_cards", [stage.pk])
        col.more_url = f"{more}?offset={col.more}{owner}"


def _card_page(request) -> CardPage:
    """What every card needs, computed once per page instead of once per card."""
    return CardPage(
        opp_url=reverse("opportunity_list"),
        can_edit=can(request.user, "customers.edit"),
        csrf_input=csrf_input(request),
        labels={"close": _("Expected close"), "owner": _("Owner"), "move": _("Move")},
    )


def _board_context(request, pipeline: Pipeline, owner_id: int | None, **extra) -> dict:
    shown = pipelines.pipelines_shown()
    # The kept pipeline's prefetched stages; a pipeline made in another process a moment ago
    # (not kept yet) reads its own.
    stages = list((shown.find(pipeline.pk) or pipeline).stages.all())
    owners = active_staff_by_name()
    columns = board_columns(
        request.user,
        stages=stages,
        pipeline_id=pipeline.pk,
        owner_id=owner_id,
        owners={u.pk: str(u) for u in owners},
    )
    page = _card_page(request)
    for col in columns:
        _finish_column(col, page, owner_id=owner_id)
    return {
        "nav": "pipeline",
        "pipeline": pipeline,
        "pipelines": shown.pipelines,
        "stages": stages,
        "columns": columns,
        "owner_id": owner_id,
        "owners": owners,
        "closed_days": CLOSED_SHOWN_DAYS,
        "can_edit": page.can_edit,
        **extra,
    }


@login_required
@domain_errors_to_http
def pipeline_board(request):
    require(request.user, "customers.view")
    pipeline = _pipeline(request.GET.get("pipeline"))
    context = _board_context(request, pipeline, _int(request.GET.get("owner")))
    template = "sales/pipeline_board.html"
    if request.htmx and not request.htmx.history_restore_request:
        template = "sales/pipeline_board_content.html"
    return render(request, template, context)


@login_required
@domain_errors_to_http
def pipeline_column_cards(request, stage_id):
    """The next cards of one board column ("Show more", loaded by HTMX)."""
    require(request.user, "customers.view")
    stage = Stage.objects.filter(pk=stage_id).first()
    if stage is None:
        raise NotFound(_("Stage not found."))
    stages = list(Stage.objects.filter(pipeline_id=stage.pipeline_id))
    owner_id = _int(request.GET.get("owner"))
    col = column_cards(
        request.user,
        stages=stages,
        stage=stage,
        owner_id=owner_id,
        offset=_int(request.GET.get("offset")) or 0,
        owners={u.pk: str(u) for u in active_staff_by_name()},
    )
    _finish_column(col, _card_page(request), owner_id=owner_id)
    return render(request, "sales/_board_cards.html", {"col": col})


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_required
@require_POST
@domain_errors_to_http
def opportunity_move(request, pk):
    """Move a card (drag and drop, the "Move to…" select, or the win/lose buttons). A script
    (HX-Request) gets the board back, with 409 on a stale version and 422 when a loss needs
    its reason; a plain form post is redirected, or shown the reason form."""
    require(request.user, "customers.edit")
    opp = opportunity_for_user(user=request.user, pk=pk)
    form = MoveForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    owner_id = data.get("owner")
    partial = bool(request.htmx)
    status, message, lost_opp = 200, "", None
    try:
        if not form.is_valid():
            raise ValidationError.for_field("stage", _("Choose a stage."))
        moved = pipelines.move_opportunity(
            actor=request.user,
            opportunity_id=opp.pk,
            stage_id=data["stage"],
            position=data.get("position"),
            expected_version=data.get("version"),
            lost_reason=data.get("lost_reason") or "",
        )
        message = _("%(name)s is now in %(stage)s.") % {
            "name": moved.name,
            "stage": moved.stage.name,
        }
    except Conflict as exc:
        status, message = 409, exc.message
    except ValidationError as exc:
        status = 422
        if "lost_reason" in exc.field_errors:
            lost_opp = opp
            message = _("Say why %(name)s was lost.") % {"name": opp.name}
        else:
            message = exc.message
    if not partial:
        if status == 422 and lost_opp is not None:
            return render(
                request,
                "sales/opportunity_lose.html",
                {"opp": opp, "stage_id": data.get("stage"), "next": _safe_next(request)},
                status=422,
            )
        if status == 200:
            messages.success(request, message)
        else:
            messages.error(request, message)
        return redirect(
            _safe_next(request) or reverse("pipeline_board") + f"?pipeline={opp.pipeline_id}"
        )
    context = _board_context(
        request,
        opp.pipeline,
        owner_id,
        board_message=message,
        board_error=status != 200,
        moved_id=opp.pk,
        lost_opp=lost_opp,
        lost_stage_id=data.get("stage"),
    )
    return render(request, "sales/pipeline_board_content.html", context, status=status)


# --- list -------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def opportunity_list(request):
    require(request.user, "customers.view")
    g = request.GET
    f = OpportunityFilters(
        pipeline=_int(g.get("pipeline")),
        stage=_int(g.get("stage")),
        owner=_int(g.get("owner")),
        status=g.get("status") if g.get("status") in S.values else "",
        close_month=g.get("close_month") or "",
    )
    try:
        dt.datetime.strptime(f.close_month, "%Y-%m")
    except ValueError:
        f.close_month = ""
    sort = g.get("sort") or "close"
    key = sort.lstrip("-")
    if key not in OPPORTUNITY_SORTS:
        sort, key = "close", "close"
    shown = pipelines.pipelines_shown().pipelines  # kept per process, stages prefetched
    owners = active_staff_by_name()
    # A stage names its pipeline: with both, one index holds the stage in closing order.
    scoped = f
    if f.stage and not f.pipeline:
        in_pipeline = {s.pk: p.pk for p in shown for s in p.stages.all()}
        scoped = replace(f, pipeline=in_pipeline.get(f.stage))
    page = opportunity_page(
        filtered_opportunities(request.user, scoped, sort=sort),
        f=scoped,
        sort=sort,
        page=g.get("page"),
        size=PAGE_SIZE,
        pipelines=shown,
        owners={u.pk: str(u) for u in owners},
    )
    base = g.copy()
    base.pop("page", None)
    columns = []
    for k, label in [
        ("name", _("Name")),
        ("customer", _("Customer")),
        ("stage", _("Stage")),
        ("amount", _("Amount")),
        ("close", _("Expected close")),
        ("owner", _("Owner")),
        ("status", _("Status")),
    ]:
        col = {"key": k, "label": label, "sortable": k in OPPORTUNITY_SORTS}
        if k in OPPORTUNITY_SORTS:
            qd = base.copy()
            qd["sort"] = f"-{k}" if sort == k else k
            col["url"] = "?" + qd.urlencode()
            col["direction"] = (
                "ascending" if sort == k else "descending" if sort == f"-{k}" else "none"
            )
        columns.append(col)
    return render(
        request,
        "sales/opportunity_list.html",
        {
            "nav": "opportunities",
            "page": page,
            "columns": columns,
            "base_qs": base.urlencode(),
            "pipelines": shown,
            "owners": owners,
            "statuses": S.choices,
            "f": f,
            "has_filters": f.any,
            "can_edit": can(request.user, "customers.edit"),
        },
    )


# --- detail, create, edit ---------------------------------------------------------------------


def _priced_lines(opp: Opportunity) -> tuple[list, str]:
    """The product lines with the pricing engine's explanation (read-only re-pricing)."""
    lines = list(opp.lines.select_related("product"))
    if not lines:
        return [], ""
    cart = [CartLine(ln.product_id, ln.quantity, tuple(ln.option_codes)) for ln in lines]
    try:
        result = price_cart(
            lines=cart, customer_id=opp.customer_id, channel="rep", currency=opp.currency
        )
    except ValidationError as exc:
        return [(ln, None) for ln in lines], exc.message
    return list(zip(lines, result.lines, strict=False)), ""


def _render_detail(request, opp: Opportunity, *, lines_form=None, status: int = 200):
    now = timezone.now()
    history = []
    for h in stage_history(opportunity_id=opp.pk):
        days = ((h.left_at or now) - h.entered_at).total_seconds() / 86400
        history.append({"row": h, "days": round(days, 1)})
    lines, pricing_error = _priced_lines(opp)
    if lines_form is None:
        lines_form = LinesForm(
            initial={"lines": lines_as_text(ln for ln, _p in lines), "version": opp.version}
        )
    closing = {s.is_won: s for s in opp.pipeline.stages.filter(Q(is_won=True) | Q(is_lost=True))}
    return render(
        request,
        "sales/opportunity_detail.html",
        {
            "nav": "opportunities",
            "opp": opp,
            "history": history,
            "lines": lines,
            "pricing_error": pricing_error,
            "lines_form": lines_form,
            "won_stage": closing.get(True),
            "lost_stage": closing.get(False),
            "open_stages": [s for s in opp.pipeline.stages.all() if not (s.is_won or s.is_lost)],
            "can_edit": can(request.user, "customers.edit"),
        },
        status=status,
    )


@login_required
@domain_errors_to_http
def opportunity_detail(request, pk):
    require(request.user, "customers.view")
    return _render_detail(request, opportunity_for_user(user=request.user, pk=pk))


@login_required
@require_POST
@domain_errors_to_http
def opportunity_lines(request, pk):
    """Replace the product lines; the amount is re-priced by the pricing engine."""
    require(request.user, "customers.edit")
    opp = opportunity_for_user(user=request.user, pk=pk)
    form = LinesForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            pipelines.set_opportunity_lines(
                actor=request.user,
                opportunity_id=opp.pk,
                lines=form.cleaned_data["lines"],
                expected_version=form.cleaned_data.get("version"),
            )
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
        except ValidationError as exc:
            form.add_error("lines", exc.message)
            for msgs in exc.field_errors.values():
                for msg in msgs:
                    if msg != exc.message:
                        form.add_error("lines", msg)
        else:
            messages.success(request, _("Product lines saved and priced."))
            return redirect("opportunity_detail", pk=opp.pk)
    return _render_detail(request, opp, lines_form=form, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def opportunity_create(request):
    require(request.user, "customers.edit")
    customer = customer_for_user(user=request.user, pk=request.GET.get("customer"))
    if not Pipeline.objects.exists():
        pipelines.ensure_default_pipeline()
    form = OpportunityForm(
        request.POST or None,
        initial={"pipeline": pipelines.default_pipeline(), "currency": "EUR"},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                opp = pipelines.create_opportunity(
                    actor=request.user,
                    customer_id=customer.pk,
                    name=d["name"],
                    pipeline_id=d["pipeline"].pk,
                    stage_id=d["stage"].pk if d.get("stage") else None,
                    owner_id=d["owner"].pk if d.get("owner") else None,
                    amount=d.get("amount"),
                    currency=d.get("currency") or "EUR",
                    expected_close_date=d.get("expected_close_date"),
                    next_step=d.get("next_step") or "",
                    source=d.get("source") or "",
                )
            except ValidationError as exc:
                add_field_errors(
                    form, exc, {"stage_id": "stage", "pipeline_id": "pipeline", "owner_id": "owner"}
                )
            else:
                messages.success(request, _("Opportunity created."))
                return redirect("opportunity_detail", pk=opp.pk)
        status = 422
    return render(
        request,
        "sales/opportunity_form.html",
        {"nav": "opportunities", "form": form, "customer": customer, "opp": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors_to_http
def opportunity_edit(request, pk):
    require(request.user, "customers.edit")
    opp = opportunity_for_user(user=request.user, pk=pk)
    initial = {
        "name": opp.name,
        "amount": opp.amount,
        "currency": opp.currency,
        "expected_close_date": opp.expected_close_date,
        "next_step": opp.next_step,
        "source": opp.source,
        "owner": opp.owner_id,
        "version": opp.version,
    }
    form = OpportunityForm(request.POST or None, initial=initial, creating=False)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            changes = {
                k: d.get(k)
                for k in ("name", "currency", "expected_close_date", "next_step", "source")
            }
            changes["owner_id"] = d["owner"].pk if d.get("owner") else request.user.pk
            if d.get("amount") is not None and d["amount"] != opp.amount:
                changes["amount"] = d["amount"]
            try:
                pipelines.update_opportunity(
                    actor=request.user,
                    opportunity_id=opp.pk,
                    expected_version=d.get("version"),
                    **changes,
                )
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            except ValidationError as exc:
                add_field_errors(form, exc, {"owner_id": "owner"})
                status = 422
            else:
                messages.success(request, _("Opportunity saved."))
                return redirect("opportunity_detail", pk=opp.pk)
        else:
            status = 422
    return render(
        request,
        "sales/opportunity_form.html",
        {"nav": "opportunities", "form": form, "customer": opp.customer, "opp": opp},
        status=status,
    )


# --- forecast and reports ---------------------------------------------------------------------


@login_required
@domain_errors_to_http
def forecast_view(request):
    require(request.user, "customers.view")
    g = request.GET
    try:
        start = dt.datetime.strptime(g.get("start") or "", "%Y-%m").date()
    except ValueError:
        start = month_start(timezone.localdate())
    months = min(max(_int(g.get("months")) or 3, 1), 12)
    group_by = g.get("group") if g.get("group") in {"owner", "team", "pipeline"} else "owner"
    f = forecast(
        user=request.user,
        start=start,
        months=months,
        group_by=group_by,
        pipeline_id=_int(g.get("pipeline")),
        team_id=_int(g.get("team")),
        owner_id=_int(g.get("owner")),
    )
    by_month = [
        {
            "month": total.month,
            "rows": [r for r in f.rows if r.month == total.month],
            "total": total,
        }
        for total in f.totals
    ]
    return render(
        request,
        "sales/forecast.html",
        {
            "nav": "forecast",
            "forecast": f,
            "by_month": by_month,
            "start": start,
            "months": months,
            "group_by": group_by,
            "groups": [("owner", _("Rep")), ("team", _("Team")), ("pipeline", _("Pipeline"))],
            "pipelines": Pipeline.objects.all(),
            "teams": teams(),
            "owners": active_staff_by_name(),
            "f": {k: _int(g.get(k)) for k in ("pipeline", "team", "owner")},
        },
    )


@login_required
@domain_errors_to_http
def sales_reports(request):
    require(request.user, "customers.view")
    g = request.GET
    created_from = _date(g.get("from"))
    created_to = _date(g.get("to"))
    report = sales_report(
        user=request.user,
        pipeline_id=_int(g.get("pipeline")),
        created_from=created_from,
        created_to=created_to,
    )
    return render(
        request,
        "sales/reports.html",
        {
            "nav": "reports",
            "report": report,
            "pipelines": Pipeline.objects.all(),
            "created_from": created_from,
            "created_to": created_to,
        },
    )


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
