"""API authentication (bearer tokens and the signed-in session) and the ``/me`` and
``/tokens`` endpoints."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from vinculo.accounts import tokens
from vinculo.core.api import ErrorOut

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer vin_...``; revoked tokens and inactive users fail (401)."""

    def authenticate(self, request: HttpRequest, token: str):
        return tokens.authenticate_token(token.strip())


class SessionAuth(APIKeyCookie):
    """The Django session, so the interactive docs work for a signed-in user. Unsafe methods
    must carry the CSRF token, exactly as a form post would. A request that sends an
    Authorization header is judged by it alone: a bad token never falls back to the cookie."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # csrf=True also tells the docs page to send the X-CSRFToken header.
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Ninja would check CSRF here for every request, even one with no session at all
        # (turning a missing token into a 403); it is checked in authenticate() instead.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        if "authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method in _UNSAFE and check_csrf(request) is not None:
            raise HttpError(403, _("CSRF check failed."))
        return user


def api_auth() -> list:
    return [TokenAuth(), SessionAuth()]


router = Router(tags=["account"])


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    team_id: int | None
    language: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIn(Schema):
    name: str = ""


class TokenCreatedOut(TokenOut):
    key: str


@router.get("/me", response=MeOut, summary="The user the request is authenticated as")
def me(request):
    return request.auth


@router.get("/tokens", response=list[TokenOut], summary="Your API tokens")
def list_tokens(request):
    return list(tokens.tokens_for_user(user=request.auth))


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, 422: ErrorOut},
    summary="Create an API token (the key is shown only in this response)",
)
def create_token(request, payload: TokenIn):
    token, key = tokens.create_token(user=request.auth, name=payload.name)
    token.key = key
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None, 404: ErrorOut}, summary="Revoke")
def revoke_token(request, token_id: int):
    tokens.revoke_token(actor=request.auth, token_id=token_id)
    return Status(204, None)
