from importlib import metadata

from django.conf import settings

try:
    _VERSION = metadata.version("vinculo")
except metadata.PackageNotFoundError:  # running from a checkout that is not installed
    _VERSION = "dev"


def ui(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # What the page shell (menus, dialogs) depends on besides the language and section:
        # capabilities follow from the role and the superuser flag (accounts.permissions).
        shell_key = f"{user.role}.{int(user.is_superuser)}.{int(user.is_active)}.{_VERSION}"
    else:
        shell_key = f"anonymous.{_VERSION}"
    return {
        "LANGUAGES": settings.LANGUAGES,
        "VINCULO_DEBUG": settings.DEBUG,
        "SHELL_KEY": shell_key,
        # Rendered menus are kept per process for an hour; not at all while developing, so an
        # edited template shows at once.
        "SHELL_CACHE_SECONDS": 0 if settings.DEBUG else 3600,
    }
