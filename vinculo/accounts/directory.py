"""Staff and teams as pages list them in filters and labels, kept per process for a few
seconds (core.process_cache, decision 0016). Read-only objects shared between requests: for
showing names and building filter options only, never for permission checks or forms."""

from __future__ import annotations

from vinculo.accounts.models import Team, User
from vinculo.core.process_cache import ProcessCache

# What a name or an option needs; not the password hash and the rest of the row.
_USER_FIELDS = ("id", "username", "first_name", "last_name", "team_id")


def _load_staff() -> list[User]:
    return list(User.objects.filter(is_active=True).only(*_USER_FIELDS).order_by("username"))


def _load_teams() -> list[Team]:
    return list(Team.objects.only("id", "name").order_by("name"))


_staff = ProcessCache("active_staff", _load_staff, models=(User,))
_teams = ProcessCache("teams", _load_teams, models=(Team,))


def active_staff() -> list[User]:
    """Active users by username."""
    return _staff.get()


def active_staff_by_name() -> list[User]:
    """Active users by first name, then username (the sales pages' owner filters)."""
    return sorted(_staff.get(), key=lambda u: (u.first_name, u.username))


def teams() -> list[Team]:
    """Teams by name."""
    return _teams.get()
