"""Writes to staff accounts and teams. Each function is one atomic action with its audit row.

``actor`` must have ``accounts.manage`` (administrators); ``actor=None`` is a system action
(a management command run by an operator)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from vinculo.accounts.models import Role, Team, User
from vinculo.accounts.permissions import require
from vinculo.core import audit
from vinculo.core.errors import NotFound, ValidationError

USER_FIELDS = ("username", "first_name", "last_name", "email", "role", "team_id", "language")
AUDITED_USER_FIELDS = (*USER_FIELDS, "is_active")
TEAM_FIELDS = ("name", "manager_id", "region")


def _require_manage(actor) -> None:
    if actor is not None:
        require(actor, "accounts.manage")


def _clean_user_fields(values: dict, *, instance: User | None) -> dict:
    """Strip and check the editable user fields; raise ValidationError naming each field."""
    errors: dict[str, list[str]] = {}
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "username" in clean:
        username = clean["username"] or ""
        if not username:
            errors["username"] = [_("Enter a username.")]
        else:
            try:
                User.username_validator(username)
            except DjangoValidationError:
                errors["username"] = [
                    _("Use only letters, digits and the characters @ . + - _ in a username.")
                ]
            clash = User.objects.filter(username__iexact=username)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if "username" not in errors and clash.exists():
                errors["username"] = [_("The username “%(u)s” is already taken.") % {"u": username}]
    if clean.get("email"):
        try:
            validate_email(clean["email"])
            clean["email"] = clean["email"].lower()
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if "role" in clean and clean["role"] not in Role.values:
        errors["role"] = [_("Choose a role from the list.")]
    if clean.get("team_id") and not Team.objects.filter(pk=clean["team_id"]).exists():
        errors["team"] = [_("Choose a team from the list.")]
    if clean.get("language") and clean["language"] not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose a language from the list.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    return clean


def _user(user_id: int, *, lock: bool = True) -> User:
    qs = User.objects.select_for_update() if lock else User.objects
    try:
        return qs.get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("User not found.")) from None


@transaction.atomic
def create_user(
    *,
    actor,
    username: str,
    password: str,
    role: str = "sales_rep",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    team_id: int | None = None,
    language: str = "",
    is_active: bool = True,
) -> User:
    """Create a member of staff with a role, a team and a password (checked by the password
    validators in settings). Audited; nothing is written if anything is invalid."""
    _require_manage(actor)
    values = {
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "role": role,
        "team_id": team_id or None,
        "language": language or "",
    }
    errors: dict[str, list[str]] = {}
    try:
        values = _clean_user_fields(values, instance=None)
    except ValidationError as exc:
        errors.update(exc.field_errors)
    # Report a weak password together with the other mistakes, not one round-trip later.
    user = User(**{k: v for k, v in values.items() if k != "team_id"}, is_active=is_active)
    if not password:
        errors["password"] = [_("Enter a password.")]
    else:
        try:
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    user.team_id = values["team_id"]
    user.set_password(password)
    # Administrators also get the Django admin; the role is what the CRM checks.
    user.is_staff = user.role == Role.ADMIN
    user.save()
    audit.record(
        actor=actor,
        action="create",
        obj=user,
        changes={k: [None, v] for k, v in audit.snapshot(user, AUDITED_USER_FIELDS).items()},
    )
    return user


@transaction.atomic
def update_user(*, actor, user_id: int, **changes) -> User:
    """Change a user's username, names, email, role, team, language or active flag.
    An administrator cannot deactivate themselves or drop their own admin role (so there is
    always someone left to undo it)."""
    _require_manage(actor)
    allowed = {*USER_FIELDS, "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    user = _user(user_id)
    if "team_id" in changes:
        changes["team_id"] = changes["team_id"] or None
    clean = _clean_user_fields(changes, instance=user)
    if actor is not None and actor.pk == user.pk:
        if clean.get("is_active") is False:
            raise ValidationError.for_field("is_active", _("You cannot deactivate yourself."))
        if "role" in clean and clean["role"] != Role.ADMIN and user.role == Role.ADMIN:
            raise ValidationError.for_field("role", _("You cannot remove your own admin role."))
    before = audit.snapshot(user, AUDITED_USER_FIELDS)
    for k, v in clean.items():
        setattr(user, k, bool(v) if k == "is_active" else v)
    if "role" in clean and not user.is_superuser:
        user.is_staff = user.role == Role.ADMIN
    changed = audit.diff(before, audit.snapshot(user, AUDITED_USER_FIELDS))
    if changed:
        user.save()
        audit.record(actor=actor, action="update", obj=user, changes=changed)
    return user


@transaction.atomic
def deactivate_user(*, actor, user_id: int) -> User:
    """Stop a user from signing in; their records stay (hand them over first). Idempotent."""
    _require_manage(actor)
    user = _user(user_id)
    if not user.is_active:
        return user
    if actor is not None and actor.pk == user.pk:
        raise ValidationError.for_field("is_active", _("You cannot deactivate yourself."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(actor=actor, action="update", obj=user, changes={"is_active": [True, False]})
    return user


@transaction.atomic
def set_password(*, actor, user_id: int, password: str) -> User:
    """Set a new password (checked by the validators). The password itself is not audited."""
    _require_manage(actor)
    user = _user(user_id)
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError(
            _("Please correct the errors below."), field_errors={"password": list(exc.messages)}
        ) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="update", obj=user, payload={"password_changed": True})
    return user


# --- teams ------------------------------------------------------------------------------------


def _clean_team_fields(values: dict, *, instance: Team | None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "name" in clean:
        if not clean["name"]:
            errors["name"] = [_("Enter a name for the team.")]
        else:
            clash = Team.objects.filter(name__iexact=clean["name"])
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                errors["name"] = [_("A team called “%(n)s” already exists.") % {"n": clean["name"]}]
    if "manager_id" in clean:
        clean["manager_id"] = clean["manager_id"] or None
        if (
            clean["manager_id"]
            and not User.objects.filter(pk=clean["manager_id"], is_active=True).exists()
        ):
            errors["manager"] = [_("Choose an active user as manager.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), field_errors=errors)
    return clean


@transaction.atomic
def create_team(*, actor, name: str, manager_id: int | None = None, region: str = "") -> Team:
    """Create a team with an optional manager and territory. Audited."""
    _require_manage(actor)
    clean = _clean_team_fields(
        {"name": name, "manager_id": manager_id, "region": region}, instance=None
    )
    team = Team.objects.create(**clean)
    audit.record(
        actor=actor,
        action="create",
        obj=team,
        changes={k: [None, v] for k, v in audit.snapshot(team, TEAM_FIELDS).items()},
    )
    return team


@transaction.atomic
def update_team(*, actor, team_id: int, **changes) -> Team:
    """Rename a team, change its manager or territory. Audited."""
    _require_manage(actor)
    unknown = set(changes) - set(TEAM_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    try:
        team = Team.objects.select_for_update().get(pk=team_id)
    except (Team.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Team not found.")) from None
    clean = _clean_team_fields(changes, instance=team)
    before = audit.snapshot(team, TEAM_FIELDS)
    for k, v in clean.items():
        setattr(team, k, v)
    changed = audit.diff(before, audit.snapshot(team, TEAM_FIELDS))
    if changed:
        team.save()
        audit.record(actor=actor, action="update", obj=team, changes=changed)
    return team
