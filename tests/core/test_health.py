def test_healthz_reports_database_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"


def test_pages_require_login(client, db):
    response = client.get("/customers/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
