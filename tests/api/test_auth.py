import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.api.conftest import ApiClient
from tests.customers.factories import CustomerFactory
from vinculo.accounts.models import ApiToken
from vinculo.accounts.tokens import authenticate_token, create_token
from vinculo.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _create_via_command(username, name="ci"):
    out = StringIO()
    call_command("token", "create", username, "--name", name, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_token_command_prints_the_key_on_its_last_line_and_it_authenticates(rep):
    key = _create_via_command("rep")
    assert key.startswith("vin_") and len(key) > 40
    response = ApiClient(key).get("me")
    assert response.status_code == 200
    assert response.json()["username"] == "rep"


def test_token_is_stored_hashed_never_in_clear(rep):
    key = _create_via_command("rep")
    token = ApiToken.objects.get(user=rep)
    assert token.key_hash == ApiToken.hash_key(key)
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert key not in stored
    audit = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert key not in audit


def test_token_list_and_revoke_commands(rep):
    key = _create_via_command("rep", name="erp")
    token = ApiToken.objects.get(user=rep)
    out = StringIO()
    call_command("token", "list", "rep", stdout=out)
    assert "erp" in out.getvalue() and "active" in out.getvalue()
    assert key not in out.getvalue()
    call_command("token", "revoke", str(token.pk), stdout=StringIO())
    assert ApiClient(key).get("me").status_code == 401


def test_revoked_token_is_refused(rep):
    token, key = create_token(user=rep, name="x")
    token.revoked_at = timezone.now()
    token.save()
    response = ApiClient(key).get("customers")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_no_token_or_a_wrong_one_is_401(rep):
    assert ApiClient(None).get("customers").status_code == 401
    assert ApiClient("vin_not-a-real-token").get("customers").status_code == 401
    response = ApiClient("vin_nope").post("customers", {"last_name": "X"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_inactive_user_token_is_refused(rep):
    _token, key = create_token(user=rep, name="x")
    rep.is_active = False
    rep.save()
    assert ApiClient(key).get("me").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(rep):
    token, key = create_token(user=rep, name="x")
    assert authenticate_token(key) == rep
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    authenticate_token(key)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    authenticate_token(key)
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(minutes=1)


def test_session_user_can_read_but_unsafe_calls_need_csrf(rep):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert client.get("/api/v1/me").json()["username"] == "rep"
    response = client.post(
        "/api/v1/customers", json.dumps({"last_name": "Nope"}), content_type="application/json"
    )
    assert response.status_code == 403
    from vinculo.customers.models import Customer

    assert not Customer.objects.filter(last_name="Nope").exists()
    # With the CSRF token (as the docs page sends it) the same call works.
    client.get(reverse("api_tokens"))
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/customers",
        json.dumps({"last_name": "Yes"}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201, response.content


def test_a_bad_token_does_not_fall_back_to_the_session(client, rep):
    client.force_login(rep)
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer vin_wrong"})
    assert response.status_code == 401


def test_tokens_page_creates_shows_once_lists_and_revokes(client_for, rep, rep_b):
    client = client_for(rep)
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 200
    assert "You have no API tokens yet" in response.content.decode()

    response = client.post(reverse("api_tokens"), {"name": "My script"})
    assert response.status_code == 201
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert ApiClient(key).get("me").status_code == 200

    page = client.get(reverse("api_tokens")).content.decode()
    assert "My script" in page and key not in page

    token = ApiToken.objects.get(user=rep)
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert ApiClient(key).get("me").status_code == 401


def test_cannot_revoke_someone_elses_token_from_the_page(client_for, rep, rep_b):
    token, key = create_token(user=rep_b, name="theirs")
    response = client_for(rep).post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiClient(key).get("me").status_code == 200


def test_tokens_endpoint_creates_and_revokes_own_tokens(api_for, rep):
    api = api_for(rep)
    response = api.post("tokens", {"name": "second"})
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("vin_")
    listed = api.get("tokens").json()
    assert {t["name"] for t in listed} == {"test", "second"}
    assert all("key" not in t for t in listed)
    assert api.delete(f"tokens/{body['id']}").status_code == 204
    assert ApiClient(body["key"]).get("me").status_code == 401


def test_openapi_document_lists_the_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/emails",
        "/api/v1/interactions",
        "/api/v1/tasks/{task_id}",
    ):
        assert path in doc["paths"]
    assert "TokenAuth" in doc["components"]["securitySchemes"]


def test_docs_page_is_served(client):
    CustomerFactory()  # no data needed; just make sure the DB is there
    assert client.get("/api/v1/docs").status_code == 200


def test_docs_page_sends_the_csrf_token_for_session_users(client_for, rep):
    page = client_for(rep).get("/api/v1/docs").content.decode()
    # (ninja's bundled template marks it with data-api-csrf; its CDN one inlines the header)
    assert 'data-api-csrf="true"' in page or "X-CSRFToken" in page
