"""API test helpers: a client that sends a bearer token for a given user."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from vinculo.accounts.tokens import create_token


class ApiClient:
    """Thin JSON wrapper over Django's test client, authenticated with a bearer token."""

    def __init__(self, key: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def _call(self, method: str, path: str, data=None, **params):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        fn = getattr(self.client, method)
        if method in {"get", "delete"} and data is None:
            return fn(url, params or None, headers=self.headers)
        return fn(url, json.dumps(data), content_type="application/json", headers=self.headers)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, data):
        return self._call("post", path, data)

    def patch(self, path, data):
        return self._call("patch", path, data)

    def put(self, path, data):
        return self._call("put", path, data)

    def delete(self, path, **params):
        if params:
            from urllib.parse import urlencode

            path = f"{path}?{urlencode(params)}"
        return self._call("delete", path)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every test makes several users; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_for(db):
    """api_for(user) -> an ApiClient sending a fresh token of ``user``."""

    def _make(user):
        _token, key = create_token(user=user, name="test")
        return ApiClient(key)

    return _make
