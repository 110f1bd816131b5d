"""Staff pages (users, teams, role matrix) and the staff services behind them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.accounts.factories import TeamFactory, UserFactory
from vinculo.accounts import services
from vinculo.accounts.models import Role, Team, User
from vinculo.core.errors import PermissionDenied, ValidationError
from vinculo.core.models import AuditEntry

STAFF_PAGES = [
    ("staff_users", []),
    ("staff_user_create", []),
    ("staff_teams", []),
    ("staff_team_create", []),
    ("staff_roles", []),
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _error_after(html: str, field_id: str) -> str:
    """The error message rendered right after the field with ``field_id``."""
    m = re.search(rf'id="{field_id}".*?<small id="{field_id}_error"[^>]*>(.*?)</small>', html, re.S)
    return m.group(1) if m else ""


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "rep", "agent", "marketer", "analyst"])
@pytest.mark.parametrize(("name", "args"), STAFF_PAGES)
def test_staff_pages_are_admin_only(client_for, request, who, name, args):
    user = request.getfixturevalue(who)
    assert client_for(user).get(reverse(name, args=args)).status_code == 403


def test_non_admin_cannot_create_users(client_for, manager):
    response = client_for(manager).post(
        reverse("staff_user_create"),
        {"username": "sneaky", "password": "a-long-pass-123", "role": Role.ADMIN},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()
    with pytest.raises(PermissionDenied):
        services.create_user(actor=manager, username="sneaky", password="a-long-pass-123")


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("staff_users"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("name", "args"), STAFF_PAGES)
def test_admin_sees_staff_pages(client_for, admin, name, args):
    assert client_for(admin).get(reverse(name, args=args)).status_code == 200


# --- users ------------------------------------------------------------------------------------


def test_user_list_shows_role_team_and_searches(client_for, admin, rep, rep_b):
    client = client_for(admin)
    html = client.get(reverse("staff_users")).content.decode()
    assert "rep_b" in html and "Team B" in html and "Sales rep" in html
    html = client.get(reverse("staff_users"), {"q": "rep_b"}).content.decode()
    rows = re.findall(r'data-testid="user-row">.*?</tr>', html, re.S)
    assert len(rows) == 1 and "rep_b" in rows[0]


def test_user_list_paginates(client_for, admin):
    for i in range(55):
        UserFactory(username=f"staff{i:02d}")
    client = client_for(admin)
    first = client.get(reverse("staff_users")).content.decode()
    assert first.count('data-testid="user-row"') == 50
    second = client.get(reverse("staff_users"), {"page": 2}).content.decode()
    assert second.count('data-testid="user-row"') == 6  # 55 + the admin


def test_user_list_query_count_does_not_grow(client_for, admin, django_assert_max_num_queries):
    team = TeamFactory(name="Field")
    client = client_for(admin)
    for n in (3, 30):
        for i in range(n):
            UserFactory(username=f"u{n}_{i}", team=team)
        with django_assert_max_num_queries(8):
            assert client.get(reverse("staff_users")).status_code == 200


def test_admin_creates_a_user_with_role_team_and_password(client_for, admin, team_a):
    response = client_for(admin).post(
        reverse("staff_user_create"),
        {
            "username": "lucia",
            "password": "correct-horse-42",
            "first_name": "Lucía",
            "last_name": "Pérez",
            "email": "Lucia@Example.com",
            "role": Role.SALES_MANAGER,
            "team": team_a.pk,
            "language": "es",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="lucia")
    assert (user.role, user.team, user.language, user.email) == (
        Role.SALES_MANAGER,
        team_a,
        "es",
        "lucia@example.com",
    )
    assert user.check_password("correct-horse-42") and user.is_active
    entry = AuditEntry.objects.get(object_type="accounts.user", object_id=user.pk)
    assert entry.action == "create" and entry.actor == admin
    assert "password" not in entry.changes


def test_duplicate_username_is_shown_next_to_the_field(client_for, admin, rep):
    response = client_for(admin).post(
        reverse("staff_user_create"),
        {"username": "REP", "password": "correct-horse-42", "role": Role.SALES_REP},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "already taken" in _error_after(html, "id_username")
    assert 'aria-invalid="true"' in html
    assert User.objects.filter(username__iexact="rep").count() == 1


def test_all_create_mistakes_are_reported_at_once(client_for, admin, rep):
    response = client_for(admin).post(
        reverse("staff_user_create"),
        {"username": "rep", "password": "x", "role": Role.SALES_REP},
    )
    html = response.content.decode()
    assert "already taken" in _error_after(html, "id_username")
    assert "too short" in _error_after(html, "id_password")


def test_weak_password_is_refused_and_nothing_is_written(client_for, admin):
    response = client_for(admin).post(
        reverse("staff_user_create"),
        {"username": "weak", "password": "short", "role": Role.SALES_REP},
    )
    assert response.status_code == 422
    assert "too short" in _error_after(response.content.decode(), "id_password")
    assert not User.objects.filter(username="weak").exists()
    assert not AuditEntry.objects.exists()


def test_admin_edits_a_user(client_for, admin, rep, team_b):
    client = client_for(admin)
    page = client.get(reverse("staff_user_edit", args=[rep.pk]))
    assert page.status_code == 200 and 'value="rep"' in page.content.decode()
    response = client.post(
        reverse("staff_user_edit", args=[rep.pk]),
        {
            "username": "rep",
            "first_name": "Ana",
            "last_name": "García",
            "email": "ana@example.com",
            "role": Role.SALES_MANAGER,
            "team": team_b.pk,
            "language": "",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.role, rep.team, rep.is_active, rep.first_name) == (
        Role.SALES_MANAGER,
        team_b,
        False,  # the checkbox was left unticked
        "Ana",
    )
    entry = AuditEntry.objects.get(action="update", object_id=rep.pk)
    assert entry.changes["role"] == [Role.SALES_REP, Role.SALES_MANAGER]
    assert entry.changes["is_active"] == [True, False]


def test_edit_to_a_taken_username_shows_the_error(client_for, admin, rep, rep_b):
    response = client_for(admin).post(
        reverse("staff_user_edit", args=[rep.pk]),
        {"username": "rep_b", "role": Role.SALES_REP, "is_active": "on"},
    )
    assert response.status_code == 422
    assert "already taken" in _error_after(response.content.decode(), "id_username")
    rep.refresh_from_db()
    assert rep.username == "rep"


def test_admin_cannot_deactivate_themselves(admin):
    with pytest.raises(ValidationError) as exc:
        services.update_user(actor=admin, user_id=admin.pk, is_active=False)
    assert "is_active" in exc.value.field_errors
    admin.refresh_from_db()
    assert admin.is_active


def test_deactivate_user_is_idempotent_and_audited(admin, rep):
    services.deactivate_user(actor=admin, user_id=rep.pk)
    services.deactivate_user(actor=admin, user_id=rep.pk)
    rep.refresh_from_db()
    assert not rep.is_active
    assert AuditEntry.objects.filter(object_id=rep.pk, action="update").count() == 1


def test_edit_of_missing_user_is_404(client_for, admin):
    assert client_for(admin).get(reverse("staff_user_edit", args=[999999])).status_code == 404


# --- teams ------------------------------------------------------------------------------------


def test_admin_creates_and_edits_a_team(client_for, admin, manager):
    client = client_for(admin)
    response = client.post(
        reverse("staff_team_create"),
        {"name": "North", "manager": manager.pk, "region": "Galicia"},
    )
    assert response.status_code == 302
    team = Team.objects.get(name="North")
    assert (team.manager, team.region) == (manager, "Galicia")
    assert AuditEntry.objects.filter(object_type="accounts.team", action="create").exists()

    html = client.get(reverse("staff_teams")).content.decode()
    assert "North" in html and "Galicia" in html

    response = client.post(
        reverse("staff_team_edit", args=[team.pk]), {"name": "North-West", "region": "Asturias"}
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.manager, team.region) == ("North-West", None, "Asturias")


def test_duplicate_team_name_is_shown_next_to_the_field(client_for, admin, team_a):
    response = client_for(admin).post(reverse("staff_team_create"), {"name": "team a"})
    assert response.status_code == 422
    assert "already exists" in _error_after(response.content.decode(), "id_name")
    assert Team.objects.count() == 1


# --- role matrix ------------------------------------------------------------------------------


def _cell(html: str, cap: str, role: str) -> str:
    m = re.search(rf'<td data-cap="{re.escape(cap)}" data-role="{role}">(.*?)</td>', html, re.S)
    assert m, (cap, role)
    return m.group(1)


def test_role_matrix_marks_what_each_role_may_do(client_for, admin):
    html = client_for(admin).get(reverse("staff_roles")).content.decode()
    assert "Merge duplicate customers" in html
    assert "✓" in _cell(html, "customers.merge", Role.SALES_MANAGER)
    assert "✓" not in _cell(html, "customers.merge", Role.SALES_REP)
    assert "✓" in _cell(html, "accounts.manage", Role.ADMIN)
    assert "✓" not in _cell(html, "accounts.manage", Role.SALES_MANAGER)


# --- Django admin -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "accounts/user",
        "accounts/team",
        "accounts/apitoken",
        "customers/customer",
        "customers/customfield",
        "customers/importjob",
        "interactions/interaction",
        "interactions/task",
        "core/auditentry",
    ],
)
def test_django_admin_lists_and_searches_the_models(client_for, admin, rep, model):
    from tests.customers.factories import CustomerFactory

    CustomerFactory(owner=rep, team=rep.team)
    client = client_for(admin)
    assert client.get(f"/admin/{model}/").status_code == 200
    assert client.get(f"/admin/{model}/", {"q": "x"}).status_code == 200


def test_audit_entries_are_read_only_in_the_admin(client_for, admin):
    assert client_for(admin).get("/admin/core/auditentry/add/").status_code == 403
