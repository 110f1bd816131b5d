"""Customer pages: the list, the 360° view, create/edit/delete and the channel mini-forms.
Thin: parse, check permission, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts import directory
from vinculo.accounts.models import Team
from vinculo.accounts.permissions import can, require
from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.fast import blank_form_fields, rows_by_id
from vinculo.core.http import add_field_errors, domain_errors_to_http
from vinculo.core.models import AuditEntry
from vinculo.customers import services
from vinculo.customers.filters import filters_from_querydict
from vinculo.customers.forms import (
    GROUP_ORDER,
    AddressForm,
    CustomerForm,
    EmailForm,
    PhoneForm,
    field_label,
    remap_errors,
)
from vinculo.customers.list_rows import rows_html
from vinculo.customers.models import Address, Customer, CustomerEmail, CustomerPhone, CustomField
from vinculo.customers.scores import score_rows
from vinculo.customers.selectors import (
    customer_for_user,
    customer_page,
    visible_customers,
)
from vinculo.customers.selectors_detail import active_fields_shown, detail_figures

PAGE_SIZE = 50
MAX_PAGE = 10_000
MEMBERS_SHOWN = 20
AUDIT_SHOWN = 20
FILTER_KEYS = (
    "q",
    "kind",
    "stage",
    "owner",
    "team",
    "tag",
    "city",
    "country",
    "source",
    "organization",
)


def _active_fields() -> list[CustomField]:
    return list(CustomField.objects.filter(active=True).order_by("group", "position", "key"))


def _query_without(request, *drop: str) -> str:
    qd = request.GET.copy()
    for key in drop:
        qd.pop(key, None)
    return qd.urlencode()


def _has_filters(request) -> bool:
    return any(request.GET.get(k) for k in FILTER_KEYS) or any(
        k.startswith("attr.") and v for k, v in request.GET.items()
    )


# --- list -------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def customer_list(request):
    require(request.user, "customers.view")
    filters = filters_from_querydict(request.GET)
    try:
        page = min(max(int(request.GET.get("page", 1)), 1), MAX_PAGE)
    except ValueError:
        page = 1
    offset = (page - 1) * PAGE_SIZE
    # One row more than a page tells whether there is a next page without a COUNT(*),
    # which would scan the whole (visible) table at 1M rows.
    rows = customer_page(request.user, filters, offset=offset, limit=PAGE_SIZE + 1)
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    base_qs = _query_without(request, "page")
    sort = filters.sort
    columns = []
    for key, label in [
        ("name", _("Name")),
        ("kind", _("Kind")),
        ("company", _("Company")),
        ("email", _("Email")),
        ("phone", _("Phone")),
        ("city", _("City")),
        ("stage", _("Stage")),
        ("owner", _("Owner")),
        ("last_contact", _("Last contact")),
        ("created", _("Created")),
    ]:
        col = {"key": key, "label": label, "sortable": False}
        if key in {"name", "city", "stage", "last_contact", "created"}:
            qd = request.GET.copy()
            qd.pop("page", None)
            qd["sort"] = f"-{key}" if sort == key else key
            col.update(
                sortable=True,
                url="?" + qd.urlencode(),
                direction="ascending"
                if sort == key
                else "descending"
                if sort == f"-{key}"
                else "none",
            )
        columns.append(col)
    context = {
        "nav": "customers",
        "rows": rows,
        "rows_html": rows_html(rows),
        "columns": columns,
        "page": page,
        "has_next": has_next,
        "has_prev": page > 1,
        "next_url": "?" + _join(base_qs, f"page={page + 1}"),
        "prev_url": "?" + _join(base_qs, f"page={page - 1}"),
        "has_filters": _has_filters(request),
        "export_url": "/customers/import/export/" + ("?" + base_qs if base_qs else ""),
        "can_create": can(request.user, "customers.create"),
        "can_export": can(request.user, "customers.export"),
        # The hidden sort input carries only a column the user chose, so typing a search
        # after browsing by name still lists the most recent matches first.
        "sort": request.GET.get("sort", ""),
        "sorted_recent": sort == "recent",
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "customers/_customer_table.html", context)
    else:
        context.update(_filter_options(request))
        response = render(request, "customers/customer_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _join(*parts: str) -> str:
    return "&".join(p for p in parts if p)


FILTER_FORM_KEYS = ("q", "kind", "stage", "owner", "team", "tag", "city", "country", "organization")


def _filter_options(request) -> dict:
    attr_fields = []
    for cf in active_fields_shown():
        if cf.type not in (CustomField.Type.CHOICE, CustomField.Type.BOOLEAN):
            continue
        if cf.type == CustomField.Type.BOOLEAN:
            choices = [("true", _("Yes")), ("false", _("No"))]
        else:
            choices = [(c, cf.choice_label(c, get_language())) for c in cf.choices]
        attr_fields.append(
            {
                "name": f"attr.{cf.key}",
                "id": f"filter-attr-{cf.key}",
                "label": field_label(cf),
                "choices": choices,
                "value": request.GET.get(f"attr.{cf.key}", ""),
            }
        )
    return {
        # Every filter the form shows, present: a missing key in the QueryDict made the
        # template fall back through attribute and index lookups (~20 µs each, 23 a page).
        "f": {key: request.GET.get(key, "") for key in FILTER_FORM_KEYS},
        "kinds": Customer.Kind.choices,
        "stages": Customer.Stage.choices,
        # Kept per process for a few seconds (core.process_cache): shown, not checked.
        "owners": directory.active_staff(),
        "teams": directory.teams(),
        "attr_filters": attr_fields,
    }


# --- 360° -------------------------------------------------------------------------------------


@login_required
@domain_errors_to_http
def customer_detail(request, pk):
    require(request.user, "customers.view")
    customer = customer_for_user(user=request.user, pk=pk)
    context = {"nav": "customers", "customer": customer, **_detail_context(request, customer)}
    return render(request, "customers/customer_detail.html", context)


def _detail_context(request, customer: Customer) -> dict:
    user = request.user
    members = []
    more_members = False
    if customer.is_organization:
        members = list(
            visible_customers(user)
            .filter(organization_id=customer.pk)
            .only("pk", "name", "email", "stage")
            .order_by("name", "pk")[: MEMBERS_SHOWN + 1]
        )
        more_members = len(members) > MEMBERS_SHOWN
        members = members[:MEMBERS_SHOWN]
    fields = active_fields_shown()
    labels = dict(CustomField.Group.choices)
    groups: dict[str, list] = {}
    for cf in fields:
        value = customer.attributes.get(cf.key)
        if isinstance(value, list):
            value = ", ".join(cf.choice_label(str(v), get_language()) for v in value)
        elif isinstance(value, bool):
            value = _("Yes") if value else _("No")
        elif isinstance(value, str) and cf.type == CustomField.Type.CHOICE:
            value = cf.choice_label(value, get_language())
        groups.setdefault(cf.group, []).append({"label": field_label(cf), "value": value})
    # Both counts and the tags in one query (selectors_detail: 3 -> 1).
    shown = detail_figures(customer.pk)
    figures = {"open_tasks": shown.open_tasks, "interactions": shown.interactions}
    return {
        "tags": shown.tags,
        "members": members,
        "more_members": more_members,
        "members_url": reverse("customer_list") + f"?organization={customer.pk}",
        "attribute_groups": [(labels[g], groups[g]) for g in GROUP_ORDER if g in groups],
        "figures": figures,
        "scores": score_rows(customer.scores),
        "can_edit": can(user, "customers.edit"),
        "can_delete": can(user, "customers.delete"),
        "audit_rows": _audit_rows(user, customer, fields) if can(user, "audit.view") else None,
        **_channels_context(customer),
    }


def _blank_fields(form_class, auto_id: str, sent) -> str:
    if sent is not None:
        return ""
    return blank_form_fields(form_class, field_template="customers/_field.html", auto_id=auto_id)


def _emails_of(customer_id: int):
    return CustomerEmail.objects.filter(customer_id=customer_id)


def _phones_of(customer_id: int):
    return CustomerPhone.objects.filter(customer_id=customer_id)


def _addresses_of(customer_id: int):
    return Address.objects.filter(customer_id=customer_id)


def _channels_context(customer: Customer, **forms) -> dict:
    return {
        # Compiled once per process (core.fast.rows_by_id): 3 x ~0.3 ms -> 3 x ~0.1.
        "emails": rows_by_id("customer.emails", _emails_of, customer.pk),
        "phones": rows_by_id("customer.phones", _phones_of, customer.pk),
        "addresses": rows_by_id("customer.addresses", _addresses_of, customer.pk),
        # A form sent back with errors renders itself; the empty "add" forms are rendered
        # once per language (decision 0014) and never built per request.
        "email_form": forms.get("email_form"),
        "phone_form": forms.get("phone_form"),
        "address_form": forms.get("address_form"),
        "email_fields": _blank_fields(EmailForm, "id_email_%s", forms.get("email_form")),
        "phone_fields": _blank_fields(PhoneForm, "id_phone_%s", forms.get("phone_form")),
        "address_fields": _blank_fields(AddressForm, "id_address_%s", forms.get("address_form")),
    }


def _audit_entries_of(customer_id: int):
    return AuditEntry.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")[
        :AUDIT_SHOWN
    ]


def _audit_rows(user, customer: Customer, fields: list[CustomField]) -> list[dict]:
    """The last audit entries of this customer, each with readable field changes.
    Owner, team and organization ids are resolved to names with one query each."""
    # Compiled once (core.fast.rows_by_id); most customers have no entry, and the actors of
    # the others are read with one query.
    entries = rows_by_id("customer.audit", _audit_entries_of, customer.pk)
    if not entries:
        return []
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    actors = get_user_model().objects.in_bulk(actor_ids) if actor_ids else {}
    for e in entries:
        e.actor = actors.get(e.actor_id)
    ids: dict[str, set[int]] = {"owner_id": set(), "team_id": set(), "organization_id": set()}
    for e in entries:
        for name, pair in (e.changes or {}).items():
            if name in ids and isinstance(pair, list):
                ids[name].update(v for v in pair if isinstance(v, int))
    lookups: dict[str, dict] = {
        "kind": dict(Customer.Kind.choices),
        "stage": dict(Customer.Stage.choices),
        "owner_id": {},
        "team_id": {},
        "organization_id": {},
    }
    if ids["owner_id"]:
        users = get_user_model().objects.filter(pk__in=ids["owner_id"])
        lookups["owner_id"] = {u.pk: str(u) for u in users}
    if ids["team_id"]:
        lookups["team_id"] = dict(
            Team.objects.filter(pk__in=ids["team_id"]).values_list("pk", "name")
        )
    if ids["organization_id"]:
        lookups["organization_id"] = dict(
            visible_customers(user).filter(pk__in=ids["organization_id"]).values_list("pk", "name")
        )
    cf_labels = {cf.key: field_label(cf) for cf in fields}
    cf_by_key = {cf.key: cf for cf in fields}
    rows = []
    for e in entries:
        changes = []
        for name, pair in sorted((e.changes or {}).items()):
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            before, after = pair
            if name == "attributes" and isinstance(before or {}, dict):
                before, after = before or {}, after or {}
                changes += [
                    _change(
                        cf_labels.get(key, key),
                        _choice_shown(cf_by_key.get(key), before.get(key)),
                        _choice_shown(cf_by_key.get(key), after.get(key)),
                    )
                    for key in sorted(set(before) | set(after))
                    if before.get(key) != after.get(key)
                ]
                continue
            lookup = lookups.get(name, {})
            changes.append(
                _change(_field_label(name), _looked_up(lookup, before), _looked_up(lookup, after))
            )
        rows.append({"entry": e, "changes": changes})
    return rows


def _looked_up(lookup: dict, value):
    """A stored id or code as its name; lists (tags, channels) are shown as they are (a list
    is no dict key: an edit of the tags made every later page of its customer fail)."""
    return lookup.get(value, value) if isinstance(value, (int, str)) else value


def _choice_shown(cf: CustomField | None, value):
    """A choice field's stored value(s) as their labels in the active language."""
    if cf is None or not cf.choices:
        return value
    if isinstance(value, str):
        return cf.choice_label(value, get_language())
    if isinstance(value, list):
        return [cf.choice_label(str(v), get_language()) for v in value]
    return value


def _change(label: str, before, after) -> dict:
    return {"field": label, "before": _show(before), "after": _show(after)}


def _field_label(name: str) -> str:
    extra = {
        "emails": _("Email addresses"),
        "phones": _("Phone numbers"),
        "addresses": _("Addresses"),
        "tags": _("Tags"),
    }
    if name in extra:
        return extra[name]
    try:
        return str(Customer._meta.get_field(name.removesuffix("_id")).verbose_name).capitalize()
    except Exception:  # an unknown name in an old entry: show it as stored
        return name


def _show(value) -> str:
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


# --- create / edit / delete -------------------------------------------------------------------


def _organizations(user):
    return visible_customers(user).filter(kind=Customer.Kind.ORGANIZATION)


def _org_options(user) -> list[Customer]:
    # A <datalist> of the first organizations by name: enough to pick from, cheap at 1M rows.
    return list(_organizations(user).only("pk", "name").order_by("name", "pk")[:200])


def _redirect_after_save(request, pk: int):
    # Handing a customer to another team hides it from the editor: land on the list then.
    if visible_customers(request.user).filter(pk=pk).exists():
        return redirect("customer_detail", pk=pk)
    messages.info(request, _("The customer now belongs to someone you cannot see."))
    return redirect("customer_list")


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_create(request):
    require(request.user, "customers.create")
    fields = _active_fields()
    if request.method == "POST":
        form = CustomerForm(
            request.POST,
            custom_fields=fields,
            creating=True,
            organizations=_organizations(request.user),
        )
        if form.is_valid():
            try:
                customer = services.create_customer(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Customer created."))
                return _redirect_after_save(request, customer.pk)
    else:
        initial = {"owner_id": request.user.pk, "team_id": request.user.team_id}
        initial["stage"] = Customer.Stage.LEAD
        form = CustomerForm(initial=initial, custom_fields=fields, creating=True)
    return render(
        request,
        "customers/customer_form.html",
        {"nav": "customers", "form": form, "org_options": _org_options(request.user)},
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk):
    require(request.user, "customers.edit")
    customer = customer_for_user(user=request.user, pk=pk)
    fields = _active_fields()
    conflict = None
    if request.method == "POST":
        form = CustomerForm(
            request.POST,
            custom_fields=fields,
            creating=False,
            organizations=_organizations(request.user),
            current_organization_id=customer.organization_id,
        )
        if form.is_valid():
            try:
                services.update_customer(
                    actor=request.user,
                    customer_id=customer.pk,
                    expected_version=form.cleaned_data.get("version") or customer.version,
                    **form.service_kwargs(),
                )
            except Conflict as exc:
                conflict = exc.message
            except ValidationError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("Changes saved."))
                return _redirect_after_save(request, customer.pk)
    else:
        form = CustomerForm(
            initial=CustomerForm.initial_for(customer, fields), custom_fields=fields, creating=False
        )
    return render(
        request,
        "customers/customer_form.html",
        {
            "nav": "customers",
            "form": form,
            "customer": customer,
            "conflict": conflict,
            "org_options": _org_options(request.user),
        },
    )


@login_required
@domain_errors_to_http
@require_http_methods(["GET", "POST"])
def customer_delete(request, pk):
    require(request.user, "customers.delete")
    customer = customer_for_user(user=request.user, pk=pk)
    if request.method == "POST":
        services.delete_customer(actor=request.user, customer_id=customer.pk)
        messages.success(request, _("Customer “%(name)s” deleted.") % {"name": customer.name})
        return redirect("customer_list")
    return render(
        request,
        "customers/customer_confirm_delete.html",
        {"nav": "customers", "customer": customer},
    )


# --- channels (HTMX mini-forms on the 360° page) ----------------------------------------------


def _channels_response(request, customer: Customer, error: str = "", **forms) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "customers/_channels.html",
            {
                "customer": customer,
                "can_edit": True,
                "channel_error": error,
                **_channels_context(customer, **forms),
            },
        )
    if error:
        messages.error(request, error)
    for form in forms.values():
        for errors in form.errors.values():
            for msg in errors:
                messages.error(request, msg)
    return redirect("customer_detail", pk=customer.pk)


def _channel_action(request, pk, form_class, form_key: str, auto_id: str, call, mapping):
    require(request.user, "customers.edit")
    customer = customer_for_user(user=request.user, pk=pk)
    form = form_class(request.POST, auto_id=auto_id)
    if form.is_valid():
        try:
            call(customer, form.cleaned_data)
        except ValidationError as exc:
            add_field_errors(form, remap_errors(exc, mapping))
        else:
            return _channels_response(request, customer)
    return _channels_response(request, customer, **{form_key: form})


@login_required
@domain_errors_to_http
@require_POST
def customer_add_email(request, pk):
    return _channel_action(
        request,
        pk,
        EmailForm,
        "email_form",
        "id_email_%s",
        lambda c, d: services.add_email(actor=request.user, customer_id=c.pk, **d),
        {},
    )


@login_required
@domain_errors_to_http
@require_POST
def customer_add_phone(request, pk):
    return _channel_action(
        request,
        pk,
        PhoneForm,
        "phone_form",
        "id_phone_%s",
        lambda c, d: services.add_phone(actor=request.user, customer_id=c.pk, **d),
        {"phone": "number"},
    )


@login_required
@domain_errors_to_http
@require_POST
def customer_add_address(request, pk):
    return _channel_action(
        request,
        pk,
        AddressForm,
        "address_form",
        "id_address_%s",
        lambda c, d: services.add_address(actor=request.user, customer_id=c.pk, **d),
        {},
    )


def _remove(request, pk, call):
    require(request.user, "customers.edit")
    customer = customer_for_user(user=request.user, pk=pk)
    try:
        call(customer)
    except ValidationError as exc:
        return _channels_response(request, customer, error=exc.message)
    return _channels_response(request, customer)


@login_required
@domain_errors_to_http
@require_POST
def customer_remove_email(request, pk, item_id):
    return _remove(
        request,
        pk,
        lambda c: services.remove_email(actor=request.user, customer_id=c.pk, email_id=item_id),
    )


@login_required
@domain_errors_to_http
@require_POST
def customer_remove_phone(request, pk, item_id):
    return _remove(
        request,
        pk,
        lambda c: services.remove_phone(actor=request.user, customer_id=c.pk, phone_id=item_id),
    )


@login_required
@domain_errors_to_http
@require_POST
def customer_remove_address(request, pk, item_id):
    return _remove(
        request,
        pk,
        lambda c: services.remove_address(actor=request.user, customer_id=c.pk, address_id=item_id),
    )
