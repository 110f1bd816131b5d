"""``/customers``: list (keyset-paginated, the same filters as the list page), read, create,
update with optimistic locking, delete, and the email/phone/address sub-resources.

Every read and write first goes through ``visible_customers``/``customer_for_user``: a
customer the caller may not see answers 404, exactly like a missing one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from vinculo.accounts.permissions import require
from vinculo.core.api import DEFAULT_LIMIT, MAX_LIMIT, ErrorOut, keyset_page
from vinculo.core.errors import NotFound, ValidationError
from vinculo.customers import services
from vinculo.customers.filters import filters_from_querydict
from vinculo.customers.models import Customer
from vinculo.customers.selectors import customer_for_user, filter_customers, visible_customers

router = Router(tags=["customers"])

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

# sort -> (ordering fields with their cursor type, descending). Only non-null columns: a
# keyset over a nullable column would need NULL handling that no index serves.
SORTS: dict[str, tuple[tuple[tuple[str, str], ...], bool]] = {
    "name": ((("name", "str"), ("id", "int")), False),
    "-name": ((("name", "str"), ("id", "int")), True),
    "id": ((("id", "int"),), False),
    "-id": ((("id", "int"),), True),
    "created": ((("id", "int"),), False),  # ids grow with creation time
    "-created": ((("id", "int"),), True),
    "stage": ((("stage", "str"), ("id", "int")), False),
    "-stage": ((("stage", "str"), ("id", "int")), True),
    "city": ((("city", "str"), ("id", "int")), False),
    "-city": ((("city", "str"), ("id", "int")), True),
}


# --- schemas ----------------------------------------------------------------------------------


class EmailOut(Schema):
    id: int
    email: str
    kind: str
    is_primary: bool
    verified_at: dt.datetime | None


class PhoneOut(Schema):
    id: int
    number: str
    kind: str
    is_primary: bool
    verified_at: dt.datetime | None


class AddressOut(Schema):
    id: int
    kind: str
    street: str
    postal_code: str
    city: str
    region: str
    country: str
    is_primary: bool


class CustomerListItem(Schema):
    id: int
    kind: str
    name: str
    company_name: str
    email: str
    phone: str
    stage: str
    owner_id: int | None
    team_id: int | None
    organization_id: int | None
    city: str
    country: str
    tags: list[str]
    last_contact_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_tags(obj: Customer) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class CustomerOut(CustomerListItem):
    first_name: str
    last_name: str
    external_id: str | None
    source: str
    language: str
    region: str
    attributes: dict[str, Any]
    scores: dict[str, Any]
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut]


class CustomerPage(Schema):
    items: list[CustomerListItem]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class CustomerListQuery(Schema):
    q: str = Field("", description="Search name, email, phone, company, external id")
    kind: str = ""
    stage: str = ""
    owner: int | None = None
    team: int | None = None
    tag: str = ""
    city: str = ""
    country: str = ""
    source: str = ""
    organization: int | None = None
    sort: str = Field("name", description=", ".join(SORTS))
    cursor: str | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class AddressIn(Schema):
    kind: str = "home"
    street: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    is_primary: bool = False


class CustomerCreateIn(Schema):
    kind: str = Customer.Kind.PERSON
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    organization_id: int | None = None
    stage: str = Customer.Stage.LEAD
    owner_id: int | None = Field(None, description="Defaults to you")
    team_id: int | None = None
    source: str = ""
    language: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    external_id: str | None = None
    emails: list[str] = Field([], description="The first one becomes the primary address")
    phones: list[str] = Field([], description="Normalised to E.164; the first is primary")
    addresses: list[AddressIn] = []
    tags: list[str] = []
    attributes: dict[str, Any] = Field({}, description="Custom field values by key")


class CustomerPatchIn(Schema):
    version: int = Field(..., description="The version you read; a stale one answers 409")
    kind: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    organization_id: int | None = None
    stage: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    source: str | None = None
    language: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    external_id: str | None = None
    tags: list[str] | None = Field(None, description="Replaces all tags when given")
    attributes: dict[str, Any] | None = Field(
        None, description="Merged into the current values; null or empty removes a key"
    )


class EmailIn(Schema):
    email: str
    kind: str = "work"
    is_primary: bool = False


class PhoneIn(Schema):
    number: str
    kind: str = "mobile"
    is_primary: bool = False


# --- helpers ----------------------------------------------------------------------------------


def _detail(user, pk: int) -> Customer:
    c = customer_for_user(user=user, pk=pk)
    prefetch_related_objects([c], "emails", "phones", "addresses", "tags")
    return c


# Fields whose null means "clear it" rather than "leave it": the rest become "" when null.
_NULLABLE = {"organization_id", "owner_id", "team_id", "external_id"}


# What a list row reads (CustomerListItem): leaves the JSON columns on disk.
_LIST_COLUMNS = (
    "id",
    "kind",
    "name",
    "company_name",
    "email",
    "phone",
    "stage",
    "owner",
    "team",
    "organization",
    "city",
    "country",
    "last_contact_at",
    "created_at",
    "updated_at",
    "version",
)


# --- endpoints --------------------------------------------------------------------------------


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List customers")
def list_customers(request, query: Query[CustomerListQuery]):
    """Customers you may see, filtered like the list page (plus `attr.<key>=value` for
    custom fields). Keyset-paginated: fast at any depth, and no total count."""
    require(request.auth, "customers.view")
    if query.sort not in SORTS:
        raise ValidationError.for_field(
            "sort", _("Sort by one of: %(s)s.") % {"s": ", ".join(SORTS)}
        )
    filters = filters_from_querydict(request.GET)
    qs = (
        filter_customers(visible_customers(request.auth), filters)
        .only(*_LIST_COLUMNS)
        .prefetch_related("tags")
    )
    order, descending = SORTS[query.sort]
    rows, next_cursor = keyset_page(
        qs,
        key=f"customers:{query.sort}",
        order=order,
        descending=descending,
        cursor=query.cursor,
        limit=query.limit,
    )
    return {"items": rows, "next_cursor": next_cursor}


@router.get("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="One customer")
def get_customer(request, customer_id: int):
    customer = _detail(request.auth, customer_id)
    require(request.auth, "customers.view")
    return customer


@router.post("", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def create_customer(request, payload: CustomerCreateIn):
    require(request.auth, "customers.create")
    data = payload.dict()
    addresses = data.pop("addresses")
    if data["owner_id"] is None:
        data["owner_id"] = request.auth.pk
    # One transaction: an invalid address leaves no half-created customer behind.
    with transaction.atomic():
        customer = services.create_customer(actor=request.auth, **data)
        for address in addresses:
            services.add_address(actor=request.auth, customer_id=customer.pk, **address)
    customer.refresh_from_db()
    prefetch_related_objects([customer], "emails", "phones", "addresses", "tags")
    return Status(201, customer)


@router.patch("/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="Update")
def update_customer(request, customer_id: int, payload: CustomerPatchIn):
    """Change the fields you send. `version` must be the one you read: if someone changed
    the customer since, nothing is written and the answer is 409."""
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    for key, value in changes.items():
        if value is None and key not in _NULLABLE | {"tags", "attributes"}:
            changes[key] = ""
    services.update_customer(
        actor=request.auth, customer_id=customer.pk, expected_version=version, **changes
    )
    return _detail(request.auth, customer.pk)


@router.delete("/{customer_id}", response={204: None, **ERRORS}, summary="Delete a customer")
def delete_customer(request, customer_id: int, version: int | None = None):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.delete")
    services.delete_customer(actor=request.auth, customer_id=customer.pk, expected_version=version)
    return Status(204, None)


# --- sub-resources ----------------------------------------------------------------------------


@router.post("/{customer_id}/emails", response={201: EmailOut, **ERRORS}, summary="Add email")
def add_email(request, customer_id: int, payload: EmailIn):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    return Status(
        201, services.add_email(actor=request.auth, customer_id=customer.pk, **payload.dict())
    )


@router.delete(
    "/{customer_id}/emails/{email_id}", response={204: None, **ERRORS}, summary="Remove email"
)
def remove_email(request, customer_id: int, email_id: int):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    if not customer.emails.filter(pk=email_id).exists():
        raise NotFound(_("Email address not found."))
    services.remove_email(actor=request.auth, customer_id=customer.pk, email_id=email_id)
    return Status(204, None)


@router.post("/{customer_id}/phones", response={201: PhoneOut, **ERRORS}, summary="Add phone")
def add_phone(request, customer_id: int, payload: PhoneIn):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    return Status(
        201, services.add_phone(actor=request.auth, customer_id=customer.pk, **payload.dict())
    )


@router.delete(
    "/{customer_id}/phones/{phone_id}", response={204: None, **ERRORS}, summary="Remove phone"
)
def remove_phone(request, customer_id: int, phone_id: int):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    if not customer.phones.filter(pk=phone_id).exists():
        raise NotFound(_("Phone number not found."))
    services.remove_phone(actor=request.auth, customer_id=customer.pk, phone_id=phone_id)
    return Status(204, None)


@router.post(
    "/{customer_id}/addresses", response={201: AddressOut, **ERRORS}, summary="Add address"
)
def add_address(request, customer_id: int, payload: AddressIn):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    address = services.add_address(actor=request.auth, customer_id=customer.pk, **payload.dict())
    return Status(201, address)


@router.delete(
    "/{customer_id}/addresses/{address_id}",
    response={204: None, **ERRORS},
    summary="Remove address",
)
def remove_address(request, customer_id: int, address_id: int):
    customer = customer_for_user(user=request.auth, pk=customer_id)
    require(request.auth, "customers.edit")
    if not customer.addresses.filter(pk=address_id).exists():
        raise NotFound(_("Address not found."))
    services.remove_address(actor=request.auth, customer_id=customer.pk, address_id=address_id)
    return Status(204, None)
