"""Staff management pages (administrators) and the handover pages (managers, administrators).

Thin views: parse the form, check the capability, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from vinculo.accounts import services
from vinculo.accounts.forms import (
    StaffSearchForm,
    TeamForm,
    UserCreateForm,
    UserEditForm,
)
from vinculo.accounts.models import Role, Team, User
from vinculo.accounts.permissions import ADMIN_ONLY, ROLE_CAPABILITIES, require
from vinculo.core.errors import DomainError, NotFound, PermissionDenied
from vinculo.core.http import add_field_errors, domain_errors_to_http

PER_PAGE = 50

# Human descriptions of the capabilities in ROLE_CAPABILITIES, for the role matrix page.
# A capability missing here is still shown, by its code.
CAPABILITY_DESCRIPTIONS = {
    "customers.view": gettext_lazy("See customers and their 360° view"),
    "customers.edit": gettext_lazy("Edit customers"),
    "customers.create": gettext_lazy("Create customers"),
    "customers.delete": gettext_lazy("Delete customers"),
    "customers.import": gettext_lazy("Import customers from files"),
    "customers.export": gettext_lazy("Export customers"),
    "customers.merge": gettext_lazy("Merge duplicate customers"),
    "interactions.log": gettext_lazy("Log calls, emails, meetings and notes"),
    "tasks.manage": gettext_lazy("Create and complete follow-up tasks"),
    "accounts.handover": gettext_lazy("Hand over a colleague's customers and tasks"),
    "audit.view": gettext_lazy("See the change history"),
    "catalog.manage": gettext_lazy("Create and edit products, price lists and promotions"),
    "customfields.manage": gettext_lazy("Define custom fields"),
    "accounts.manage": gettext_lazy("Manage users, teams and roles"),
    "tokens.manage_all": gettext_lazy("Manage everyone's API tokens"),
    "analytics.view": gettext_lazy("See the analytics dashboards"),
    "analytics.refresh": gettext_lazy("Refresh the analytics warehouse from the dashboards"),
}


def _page(request, qs, per_page: int = PER_PAGE):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def _querystring(request, **drop) -> str:
    """The current query string without ``page`` (for pagination and sort links)."""
    params = request.GET.copy()
    params.pop("page", None)
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


# --- users ------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def staff_users(request):
    require(request.user, "accounts.manage")
    form = StaffSearchForm(request.GET or None)
    qs = User.objects.select_related("team").order_by("username")
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            q = d["q"].strip()
            qs = qs.filter(
                Q(username__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(email__icontains=q)
            )
        if d["role"]:
            qs = qs.filter(role=d["role"])
        if d["team"]:
            qs = qs.filter(team=d["team"])
        if d["active"]:
            qs = qs.filter(is_active=d["active"] == "1")
    return render(
        request,
        "accounts/staff_users.html",
        {
            "nav": "staff",
            "form": form,
            "page": _page(request, qs),
            "qs": _querystring(request),
        },
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def staff_user_create(request):
    require(request.user, "accounts.manage")
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(
                actor=request.user, password=form.cleaned_data["password"], **form.service_kwargs()
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            add_field_errors(form, exc)
        else:
            messages.success(request, _("User %(user)s created.") % {"user": user.username})
            return redirect("staff_users")
    return render(
        request,
        "accounts/staff_user_form.html",
        {"nav": "staff", "form": form, "creating": True},
        status=422 if form.errors else 200,
    )


def _get_user(pk) -> User:
    try:
        return User.objects.select_related("team").get(pk=pk)
    except User.DoesNotExist:
        raise NotFound(_("User not found.")) from None


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def staff_user_edit(request, pk: int):
    require(request.user, "accounts.manage")
    target = _get_user(pk)
    form = UserEditForm(request.POST or None, initial=UserEditForm.initial_for(target))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user(actor=request.user, user_id=target.pk, **form.service_kwargs())
            if form.cleaned_data["password"]:
                services.set_password(
                    actor=request.user, user_id=target.pk, password=form.cleaned_data["password"]
                )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            add_field_errors(form, exc)
        else:
            messages.success(request, _("User %(user)s saved.") % {"user": target.username})
            return redirect("staff_users")
    return render(
        request,
        "accounts/staff_user_form.html",
        {"nav": "staff", "form": form, "creating": False, "target": target},
        status=422 if form.errors else 200,
    )


# --- teams ------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def staff_teams(request):
    require(request.user, "accounts.manage")
    from django.db.models import Count

    qs = (
        Team.objects.select_related("manager").annotate(n_members=Count("members")).order_by("name")
    )
    return render(
        request,
        "accounts/staff_teams.html",
        {"nav": "staff", "page": _page(request, qs), "qs": _querystring(request)},
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def staff_team_create(request):
    return _team_form(request, team=None)


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def staff_team_edit(request, pk: int):
    require(request.user, "accounts.manage")
    try:
        team = Team.objects.get(pk=pk)
    except Team.DoesNotExist:
        raise NotFound(_("Team not found.")) from None
    return _team_form(request, team=team)


def _team_form(request, *, team: Team | None):
    require(request.user, "accounts.manage")
    initial = (
        {"name": team.name, "manager": team.manager_id, "region": team.region} if team else None
    )
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if team is None:
                team = services.create_team(actor=request.user, **form.service_kwargs())
            else:
                services.update_team(actor=request.user, team_id=team.pk, **form.service_kwargs())
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            add_field_errors(form, exc)
        else:
            messages.success(request, _("Team %(team)s saved.") % {"team": team.name})
            return redirect("staff_teams")
    return render(
        request,
        "accounts/staff_team_form.html",
        {"nav": "staff", "form": form, "team": team},
        status=422 if form.errors else 200,
    )


# --- role matrix ------------------------------------------------------------------------------


def role_matrix() -> tuple[list, list]:
    """(roles, rows) where each row is (code, description, [(role, granted) per role])."""
    roles = list(Role)
    codes: set[str] = set(ADMIN_ONLY)
    for caps in ROLE_CAPABILITIES.values():
        codes |= {c for c in caps if c != "*"}
    rows = []
    for code in sorted(codes):
        granted = []
        for role in roles:
            caps = ROLE_CAPABILITIES.get(role, set())
            granted.append((role, "*" in caps or code in caps))
        rows.append((code, CAPABILITY_DESCRIPTIONS.get(code, code), granted))
    return roles, rows


@login_required
@domain_errors_to_http
def staff_roles(request):
    require(request.user, "accounts.manage")
    roles, rows = role_matrix()
    return render(
        request, "accounts/staff_roles.html", {"nav": "staff", "roles": roles, "rows": rows}
    )
