import pytest

from tests.customers.factories import CustomerFactory
from vinculo.core.models import AuditEntry
from vinculo.customers import services
from vinculo.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_create_read_update_delete_customer(api_for, manager):
    api = api_for(manager)
    response = api.post(
        "customers",
        {
            "first_name": "Ana",
            "last_name": "García",
            "stage": "customer",
            "emails": ["Ana@Example.COM", "ana.work@example.com"],
            "phones": ["+34 600 111 222"],
            "addresses": [{"kind": "billing", "street": "Gran Vía 1", "city": "Madrid"}],
            "tags": ["vip", "madrid"],
            "city": "Madrid",
            "country": "es",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    cid = body["id"]
    assert body["name"] == "Ana García"
    assert body["email"] == "ana@example.com"
    assert [e["email"] for e in body["emails"]] == ["ana@example.com", "ana.work@example.com"]
    assert body["phones"][0]["number"] == "+34600111222"
    assert body["addresses"][0]["street"] == "Gran Vía 1"
    assert body["tags"] == ["madrid", "vip"]
    assert body["owner_id"] == manager.pk  # defaults to the caller, so they can see it
    assert body["country"] == "ES"
    assert body["created_at"].endswith(("Z", "+00:00"))
    assert AuditEntry.objects.filter(object_id=cid, action="create").exists()

    got = api.get(f"customers/{cid}").json()
    assert got["version"] == 1 and got["attributes"] == {}

    response = api.patch(f"customers/{cid}", {"version": 1, "city": "Sevilla", "tags": ["vip"]})
    assert response.status_code == 200, response.content
    assert response.json()["city"] == "Sevilla"
    assert response.json()["tags"] == ["vip"]
    assert response.json()["version"] == 2

    assert api.delete(f"customers/{cid}").status_code == 204
    assert not Customer.objects.filter(pk=cid).exists()
    assert api.get(f"customers/{cid}").status_code == 404


def test_invalid_email_is_422_naming_the_field(api_for, rep):
    response = api_for(rep).post("customers", {"last_name": "X", "emails": ["not-an-email"]})
    assert response.status_code == 422
    body = response.json()
    assert "emails" in body["errors"]
    assert body["detail"]
    assert not Customer.objects.exists()


def test_wrong_type_is_422_naming_the_field(api_for, rep):
    response = api_for(rep).post("customers", {"last_name": "X", "tags": "not-a-list"})
    assert response.status_code == 422
    assert "tags" in response.json()["errors"]
    response = api_for(rep).get("customers", limit="many")
    assert response.status_code == 422
    assert "limit" in response.json()["errors"]
    assert not Customer.objects.exists()


def test_missing_name_is_422_from_the_service(api_for, rep):
    response = api_for(rep).post("customers", {"city": "Madrid"})
    assert response.status_code == 422
    assert "last_name" in response.json()["errors"]


def test_an_invalid_address_leaves_no_customer_behind(api_for, rep):
    response = api_for(rep).post(
        "customers", {"last_name": "Half", "addresses": [{"kind": "moon", "city": "X"}]}
    )
    assert response.status_code == 422
    assert not Customer.objects.filter(last_name="Half").exists()


def test_stale_version_is_409_and_nothing_is_overwritten(api_for, rep):
    c = services.create_customer(actor=rep, last_name="Lopez", owner_id=rep.pk, city="Madrid")
    services.update_customer(actor=rep, customer_id=c.pk, expected_version=1, city="Bilbao")
    response = api_for(rep).patch(f"customers/{c.pk}", {"version": 1, "city": "Cádiz"})
    assert response.status_code == 409
    assert response.json()["detail"]
    c.refresh_from_db()
    assert (c.city, c.version) == ("Bilbao", 2)


def test_patch_requires_version(api_for, rep):
    c = CustomerFactory(owner=rep, team=rep.team)
    response = api_for(rep).patch(f"customers/{c.pk}", {"city": "X"})
    assert response.status_code == 422
    assert "version" in response.json()["errors"]


def test_another_teams_customer_is_404_and_unchanged(api_for, rep, rep_b):
    theirs = CustomerFactory(owner=rep_b, team=rep_b.team, city="Valencia")
    api = api_for(rep)
    assert api.get(f"customers/{theirs.pk}").status_code == 404
    assert api.patch(f"customers/{theirs.pk}", {"version": 1, "city": "X"}).status_code == 404
    assert api.delete(f"customers/{theirs.pk}").status_code == 404
    assert api.post(f"customers/{theirs.pk}/emails", {"email": "a@b.es"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.city, theirs.version, theirs.email) == ("Valencia", 1, "")
    assert not AuditEntry.objects.filter(customer_id=theirs.pk).exists()
    listed = api.get("customers").json()["items"]
    assert theirs.pk not in [row["id"] for row in listed]


def test_analyst_cannot_create_and_nothing_is_written(api_for, analyst):
    response = api_for(analyst).post("customers", {"last_name": "Nope"})
    assert response.status_code == 403
    assert not Customer.objects.exists()
    assert not AuditEntry.objects.filter(object_type="customers.customer").exists()


def test_rep_cannot_delete(api_for, rep):
    c = CustomerFactory(owner=rep, team=rep.team)
    assert api_for(rep).delete(f"customers/{c.pk}").status_code == 403
    assert Customer.objects.filter(pk=c.pk).exists()


def test_channel_and_address_sub_resources(api_for, rep):
    c = services.create_customer(actor=rep, last_name="Ruiz", owner_id=rep.pk)
    api = api_for(rep)
    response = api.post(f"customers/{c.pk}/emails", {"email": "ruiz@example.com"})
    assert response.status_code == 201
    email_id = response.json()["id"]
    assert response.json()["is_primary"] is True
    response = api.post(f"customers/{c.pk}/phones", {"number": "600 222 333"})
    assert response.status_code == 201
    phone_id = response.json()["id"]
    assert response.json()["number"] == "+34600222333"
    response = api.post(f"customers/{c.pk}/addresses", {"street": "Calle Mayor 3"})
    assert response.status_code == 201
    address_id = response.json()["id"]
    detail = api.get(f"customers/{c.pk}").json()
    assert detail["email"] == "ruiz@example.com" and detail["phone"] == "+34600222333"
    assert len(detail["addresses"]) == 1

    assert api.post(f"customers/{c.pk}/emails", {"email": "bad@"}).status_code == 422
    assert api.delete(f"customers/{c.pk}/emails/{email_id}").status_code == 204
    assert api.delete(f"customers/{c.pk}/emails/{email_id}").status_code == 404
    assert api.delete(f"customers/{c.pk}/phones/{phone_id}").status_code == 204
    assert api.delete(f"customers/{c.pk}/addresses/{address_id}").status_code == 204
    detail = api.get(f"customers/{c.pk}").json()
    assert (detail["emails"], detail["phones"], detail["addresses"]) == ([], [], [])


def _walk(api, **params):
    seen, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = api.get("customers", **query)
        assert response.status_code == 200, response.content
        body = response.json()
        seen.extend(row["id"] for row in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return seen, pages


@pytest.mark.parametrize("sort", ["name", "-name", "id", "-created", "city"])
def test_cursor_pagination_walks_every_row_exactly_once(api_for, admin, sort):
    # Repeated names and cities so the id tie-breaker matters.
    for i in range(25):
        CustomerFactory(name=f"Customer {i % 7}", city=f"City {i % 3}")
    seen, pages = _walk(api_for(admin), limit=10, sort=sort)
    assert pages == 3
    assert len(seen) == 25
    assert set(seen) == set(Customer.objects.values_list("pk", flat=True))


def test_cursor_pagination_follows_the_filters(api_for, admin):
    for i in range(12):
        CustomerFactory(stage="lead" if i % 2 else "customer", name=f"N{i}")
    seen, _pages = _walk(api_for(admin), limit=5, stage="lead")
    assert len(seen) == 6
    assert set(Customer.objects.filter(pk__in=seen).values_list("stage", flat=True)) == {"lead"}


def test_search_and_filters_match_the_list_page(api_for, admin):
    CustomerFactory(name="Zoe Alvarez", city="Bilbao")
    CustomerFactory(name="Mario Ruiz", city="Madrid")
    api = api_for(admin)
    assert [r["name"] for r in api.get("customers", q="alva").json()["items"]] == ["Zoe Alvarez"]
    assert [r["name"] for r in api.get("customers", city="madrid").json()["items"]] == [
        "Mario Ruiz"
    ]


def test_bad_cursor_or_sort_is_422(api_for, admin):
    api = api_for(admin)
    response = api.get("customers", cursor="garbage!")
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]
    assert "sort" in api.get("customers", sort="password").json()["errors"]
    # A cursor made for one ordering is refused by another.
    for i in range(3):
        CustomerFactory(name=f"C{i}")
    cursor = api.get("customers", limit=1, sort="name").json()["next_cursor"]
    assert api.get("customers", cursor=cursor, sort="-id").status_code == 422


def test_limit_is_capped(api_for, admin):
    assert api_for(admin).get("customers", limit=201).status_code == 422


def test_list_query_count_does_not_grow_with_rows(api_for, rep, django_assert_max_num_queries):
    api = api_for(rep)
    for i in range(3):
        c = CustomerFactory(owner=rep, team=rep.team, name=f"A{i}")
        c.tags.create(name=f"t{i}")
    with django_assert_max_num_queries(8):
        assert len(api.get("customers").json()["items"]) == 3
    for i in range(30):
        c = CustomerFactory(owner=rep, team=rep.team, name=f"B{i}")
        c.tags.create(name=f"u{i}")
    with django_assert_max_num_queries(8):
        assert len(api.get("customers").json()["items"]) == 33


def test_custom_field_values_are_validated_and_returned(api_for, rep):
    from vinculo.customers.models import CustomField

    CustomField.objects.create(key="seats", label="Seats", type=CustomField.Type.NUMBER)
    api = api_for(rep)
    response = api.post("customers", {"last_name": "Bad", "attributes": {"seats": "many"}})
    assert response.status_code == 422
    assert "attributes.seats" in response.json()["errors"]
    assert not Customer.objects.exists()
    response = api.post("customers", {"last_name": "Good", "attributes": {"seats": "12"}})
    assert response.status_code == 201
    cid = response.json()["id"]
    assert response.json()["attributes"] == {"seats": 12}
    response = api.patch(f"customers/{cid}", {"version": 1, "attributes": {"seats": 15}})
    assert response.json()["attributes"] == {"seats": 15}
    listed = api.get("customers", **{"attr.seats": "15"}).json()["items"]
    assert [row["id"] for row in listed] == [cid]


def test_unparsable_body_is_a_json_error(api_for, rep):
    api = api_for(rep)
    response = api.client.post(
        "/api/v1/customers", "{oops", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Customer.objects.exists()
