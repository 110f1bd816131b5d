"""What each role may do. One table, read by views, the API and commands through ``can()``."""

from __future__ import annotations

from vinculo.accounts.models import Role

# Capabilities are coarse verbs on areas; record-level visibility is applied separately
# (vinculo.customers.selectors.visible_customers).
_ALL = "*"
ROLE_CAPABILITIES: dict[str, set[str]] = {
    Role.ADMIN: {_ALL},
    Role.SALES_MANAGER: {
        "customers.view",
        "customers.edit",
        "customers.create",
        "customers.delete",
        "customers.import",
        "customers.export",
        "customers.merge",
        "interactions.log",
        "tasks.manage",
        "accounts.handover",
        "audit.view",
        # Products, categories, price lists and promotions (create/edit); everyone reads them.
        "catalog.manage",
        # Back office: confirmed orders export, stock levels and order status imports.
        "sales.backoffice",
        # Lead scoring rules, assignment rules and website lead forms.
        "leads.configure",
        # Aggregate analytics dashboards (/analytics/).
        "analytics.view",
    },
    Role.SALES_REP: {
        "customers.view",
        "customers.edit",
        "customers.create",
        "customers.export",
        "interactions.log",
        "tasks.manage",
        "audit.view",
    },
    Role.SERVICE_AGENT: {
        "customers.view",
        "customers.edit",
        "interactions.log",
        "tasks.manage",
        "audit.view",
    },
    Role.MARKETER: {
        "customers.view",
        "customers.edit",
        "customers.create",
        "customers.import",
        "customers.export",
        "interactions.log",
        "tasks.manage",
        "analytics.view",
    },
    Role.ANALYST: {"customers.view", "customers.export", "audit.view", "analytics.view"},
}
# Capabilities only an administrator has (listed for docs and the role matrix page).
ADMIN_ONLY = {
    "customfields.manage",
    "accounts.manage",
    "tokens.manage_all",
    # Enqueue a warehouse refresh from the analytics pages.
    "analytics.refresh",
}


def can(user, capability: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    caps = ROLE_CAPABILITIES.get(user.role, set())
    return _ALL in caps or capability in caps


def require(user, capability: str) -> None:
    """Raise core.errors.PermissionDenied unless ``user`` has ``capability``."""
    from django.utils.translation import gettext as _

    from vinculo.core.errors import PermissionDenied

    if not can(user, capability):
        raise PermissionDenied(_("You do not have permission to do this."))


def sees_all_customers(user) -> bool:
    return user.is_superuser or user.role in {Role.ADMIN, Role.MARKETER, Role.ANALYST}
