"""Domain errors raised by services; views and the API turn them into messages and status codes
in one place (`vinculo.core.http`)."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. ``message`` is user-facing (already translated by the raiser)."""

    status_code = 400

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = str(message)
        self.field_errors: dict[str, list[str]] = field_errors or {}

    def as_dict(self) -> dict:
        return {"detail": self.message, "errors": self.field_errors}


class ValidationError(DomainError):
    """Input is invalid; ``field_errors`` names each field and what is wrong with it."""

    status_code = 422

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        return cls(str(message), field_errors={field: [str(message)]})


class PermissionDenied(DomainError):
    status_code = 403


class NotFound(DomainError):
    """The record does not exist *or* the user may not see it: the two look alike on purpose."""

    status_code = 404


class Conflict(DomainError):
    """The record changed since the caller read it (optimistic locking) or a uniqueness clash."""

    status_code = 409
