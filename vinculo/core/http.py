"""Turn domain errors into responses in one place, for HTML views."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.http import Http404, HttpResponse

from vinculo.core.errors import DomainError, NotFound, PermissionDenied


def domain_errors_to_http(view):
    """Decorator for HTML views: NotFound -> 404, PermissionDenied -> 403; other domain errors
    are left for the view to render into its form (it knows where each field is)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            return HttpResponse(exc.message, status=403)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponse(exc.message, status=exc.status_code)

    return wrapper


def add_field_errors(form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Copy a domain error's field messages onto a Django form (unknown fields -> non-field).
    ``field_map`` renames a service's argument to the form's field (``{"owner_id": "owner"}``)."""
    if not exc.field_errors:
        form.add_error(None, exc.message)
        return
    for field, msgs in exc.field_errors.items():
        field = (field_map or {}).get(field, field)
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
