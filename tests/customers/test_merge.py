"""Merging two customers, undoing it, and the merge screens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from vinculo.core.errors import Conflict, ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers import merging
from vinculo.customers.models import Address, Customer, CustomerEmail, CustomerPhone, Tag
from vinculo.customers.selectors import visible_customers
from vinculo.customers.services import add_address, create_customer
from vinculo.interactions.models import Interaction, Task
from vinculo.interactions.services import create_task, log_interaction


@pytest.fixture
def pair(manager):
    """Two records of the same person, each with a bit of everything."""
    org_a = create_customer(actor=manager, kind="organization", name="Acme", owner_id=manager.pk)
    org_b = create_customer(actor=manager, kind="organization", name="ACME SL", owner_id=manager.pk)
    survivor = create_customer(
        actor=manager,
        first_name="Marta",
        last_name="Sanz",
        emails=["marta@acme.example", "shared@example.com"],
        phones=["611 000 111"],
        tags=["vip", "golf"],
        city="",
        source="web",
        owner_id=manager.pk,
        organization_id=org_a.pk,
    )
    loser = create_customer(
        actor=manager,
        first_name="Marta",
        last_name="Sanz Ruiz",
        emails=["SHARED@example.com", "marta@home.example"],
        phones=["622 000 222"],
        tags=["golf", "newsletter"],
        city="Madrid",
        source="fair",
        external_id="ERP-9",
        stage="customer",
        owner_id=manager.pk,
    )
    member = create_customer(
        actor=manager, first_name="Pepe", last_name="Gil", organization_id=org_b.pk
    )
    for c in (survivor, loser):
        log_interaction(actor=manager, customer_id=c.pk, kind="note", body=f"about {c.pk}")
    old = timezone.now() - dt.timedelta(days=3)
    log_interaction(
        actor=manager, customer_id=loser.pk, kind="call", occurred_at=old, follow_up_title="Call"
    )
    create_task(
        actor=manager,
        title="Send offer",
        due_date=dt.date.today(),
        assignee_id=manager.pk,
        customer_id=loser.pk,
    )
    add_address(actor=manager, customer_id=survivor.pk, street="Calle 1", city="Madrid")
    add_address(actor=manager, customer_id=loser.pk, street="Calle 2", city="Madrid")
    survivor.refresh_from_db()
    loser.refresh_from_db()
    return {"survivor": survivor, "loser": loser, "org_a": org_a, "org_b": org_b, "member": member}


def merge_orgs(manager, pair, **kw):
    """Merge the two organizations (members move)."""
    a, b = pair["org_a"], pair["org_b"]
    return merging.merge_customers(actor=manager, survivor_id=a.pk, loser_id=b.pk, **kw)


def state(*customers):
    """Per customer: counts of each relation and field values, to compare before/after."""
    out = {}
    for c in customers:
        c = Customer.objects.get(pk=c.pk)
        out[c.pk] = {
            "interactions": sorted(
                Interaction.objects.filter(customer=c).values_list("pk", flat=True)
            ),
            "tasks": sorted(Task.objects.filter(customer=c).values_list("pk", flat=True)),
            "emails": sorted(
                CustomerEmail.objects.filter(customer=c).values_list("email", "is_primary")
            ),
            "phones": sorted(
                CustomerPhone.objects.filter(customer=c).values_list("number", "is_primary")
            ),
            "addresses": sorted(Address.objects.filter(customer=c).values_list("pk", "is_primary")),
            "members": sorted(
                Customer.objects.filter(organization=c).values_list("pk", "company_name")
            ),
            "tags": sorted(c.tags.values_list("name", flat=True)),
            "fields": {
                f: getattr(c, f)
                for f in (
                    "name",
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "company_name",
                    "organization_id",
                    "stage",
                    "owner_id",
                    "team_id",
                    "source",
                    "city",
                    "external_id",
                    "attributes",
                    "last_contact_at",
                    "merged_into_id",
                )
            },
        }
    return out


def test_merge_moves_everything_to_survivor(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    moved_interactions = Interaction.objects.filter(customer=lo).count()
    result = merging.merge_customers(
        actor=manager,
        survivor_id=s.pk,
        loser_id=lo.pk,
        field_choices={"last_name": "loser", "source": "survivor"},
        expected_versions=(s.version, lo.version),
    )
    s.refresh_from_db()
    lo.refresh_from_db()
    assert Interaction.objects.filter(customer=s).count() == 1 + moved_interactions
    assert Task.objects.filter(customer=s).count() == 2
    assert sorted(s.emails.values_list("email", flat=True)) == [
        "marta@acme.example",
        "marta@home.example",
        "shared@example.com",
    ]
    assert s.emails.filter(is_primary=True).count() == 1
    assert s.email == "marta@acme.example"  # the survivor keeps its primary
    assert sorted(s.phones.values_list("number", flat=True)) == ["+34611000111", "+34622000222"]
    assert s.addresses.count() == 2 and s.addresses.filter(is_primary=True).count() == 1
    assert sorted(s.tags.values_list("name", flat=True)) == ["golf", "newsletter", "vip"]
    # chosen values, defaults (empty survivor value -> loser's) and the survivor's own
    assert s.last_name == "Sanz Ruiz" and s.name == "Marta Sanz Ruiz"
    assert s.source == "web"
    assert s.city == "Madrid" and s.external_id == "ERP-9"
    assert s.company_name == "Acme"
    assert s.last_contact_at == max(x for x in [lo.last_contact_at, s.last_contact_at] if x)
    # the loser is hidden, and nothing is left on it
    assert lo.merged_into_id == s.pk and lo.external_id is None
    assert not visible_customers(manager).filter(pk=lo.pk).exists()
    assert not Interaction.objects.filter(customer=lo).exists()
    assert not CustomerEmail.objects.filter(customer=lo).exists()
    entry = result.audit_entry
    assert entry.action == "merge" and entry.customer_id == s.pk and entry.actor == manager
    assert entry.payload["loser_id"] == lo.pk
    assert entry.changes["last_name"] == ["Sanz", "Sanz Ruiz"]


def test_merge_moves_organization_members(manager, pair):
    member = pair["member"]
    merge_orgs(manager, pair)
    member.refresh_from_db()
    assert member.organization_id == pair["org_a"].pk
    assert member.company_name == "Acme"
    assert Customer.objects.filter(organization=pair["org_a"]).count() == 2


def test_same_email_on_both_sides_does_not_crash_and_undo_restores_it(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    before = state(s, lo)
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    assert CustomerEmail.objects.filter(email="shared@example.com").count() == 1
    assert entry.payload["deleted"][0]["data"]["email"] == "shared@example.com"
    merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    assert state(s, lo) == before


def test_stale_version_is_refused_and_nothing_changes(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    before = state(s, lo)
    audits = AuditEntry.objects.count()
    with pytest.raises(Conflict):
        merging.merge_customers(
            actor=manager,
            survivor_id=s.pk,
            loser_id=lo.pk,
            expected_versions=(s.version - 1, lo.version),
        )
    assert state(s, lo) == before
    assert AuditEntry.objects.count() == audits


def test_refuses_self_merge_merged_away_and_person_with_organization(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    with pytest.raises(Conflict):
        merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=s.pk)
    with pytest.raises(ValidationError):
        merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=pair["org_a"].pk)
    merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk)
    with pytest.raises(Conflict):
        merging.merge_customers(actor=manager, survivor_id=pair["member"].pk, loser_id=lo.pk)


def test_unmerge_restores_everything_exactly(manager, pair):
    s, lo, member = pair["survivor"], pair["loser"], pair["member"]
    people_before = state(s, lo)
    orgs_before = state(pair["org_a"], pair["org_b"], member)
    entry = merging.merge_customers(
        actor=manager, survivor_id=s.pk, loser_id=lo.pk, field_choices={"first_name": "loser"}
    ).audit_entry
    org_entry = merge_orgs(manager, pair).audit_entry
    merging.unmerge(actor=manager, audit_entry_id=org_entry.pk)
    restored = merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    assert restored.pk == lo.pk
    assert state(s, lo) == people_before
    assert state(pair["org_a"], pair["org_b"], member) == orgs_before
    entry.refresh_from_db()
    assert entry.undone_at is not None
    assert AuditEntry.objects.filter(action="unmerge", customer_id=s.pk).exists()
    assert visible_customers(manager).filter(pk=lo.pk).exists()


def test_undo_twice_is_a_conflict(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    with pytest.raises(Conflict, match="already been undone"):
        merging.unmerge(actor=manager, audit_entry_id=entry.pk)


def test_undo_refused_when_survivor_was_merged_away_since(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    third = create_customer(actor=manager, first_name="Marta", last_name="S.", owner_id=manager.pk)
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    merging.merge_customers(actor=manager, survivor_id=third.pk, loser_id=s.pk)
    with pytest.raises(Conflict, match="Undo that merge first"):
        merging.unmerge(actor=manager, audit_entry_id=entry.pk)


def test_custom_attribute_choice(manager):
    from vinculo.customers.models import CustomField

    CustomField.objects.create(key="size", label="Size", type="number")
    a = create_customer(actor=manager, last_name="A", attributes={"size": 3}, owner_id=manager.pk)
    b = create_customer(actor=manager, last_name="A", attributes={"size": 5}, owner_id=manager.pk)
    merging.merge_customers(
        actor=manager, survivor_id=a.pk, loser_id=b.pk, field_choices={"attributes.size": "loser"}
    )
    a.refresh_from_db()
    assert a.attributes == {"size": 5}


# --- screens ------------------------------------------------------------------------------------


def test_merge_screens_compare_confirm_merge_and_undo(manager, pair, client_for):
    s, lo = pair["survivor"], pair["loser"]
    client = client_for(manager)
    url = reverse("duplicate_merge", args=[s.pk, lo.pk])
    resp = client.get(url)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'name="choice_last_name"' in html and "Sanz Ruiz" in html
    form = {
        "survivor_version": s.version,
        "loser_version": lo.version,
        "choice_last_name": "loser",
    }
    resp = client.post(url, {**form, "step": "confirm"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "2 interactions" in html and "2 tasks" in html and "1 email address<" in html
    assert "1 tag" in html  # newsletter is added
    assert "will be hidden" in html
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    resp = client.post(url, {**form, "step": "merge"})
    assert resp.status_code == 302
    assert resp["Location"] == reverse("customer_detail", args=[s.pk])
    page = client.get(resp["Location"])
    assert page.status_code == 200
    assert 'data-testid="undo-merge"' in page.content.decode()  # the message's Undo button
    lo.refresh_from_db()
    s.refresh_from_db()
    assert lo.merged_into_id == s.pk and s.last_name == "Sanz Ruiz"
    entry = AuditEntry.objects.get(action="merge", customer_id=s.pk)
    resp = client.post(reverse("duplicate_unmerge", args=[entry.pk]))
    assert resp.status_code == 302
    lo.refresh_from_db()
    assert lo.merged_into_id is None


def test_merge_screen_with_stale_version_shows_conflict(manager, pair, client_for):
    s, lo = pair["survivor"], pair["loser"]
    url = reverse("duplicate_merge", args=[s.pk, lo.pk])
    resp = client_for(manager).post(
        url, {"step": "merge", "survivor_version": s.version - 1, "loser_version": lo.version}
    )
    assert resp.status_code == 409
    assert 'data-testid="merge-error"' in resp.content.decode()
    lo.refresh_from_db()
    assert lo.merged_into_id is None


def test_rep_without_merge_capability_gets_403_and_nothing_changes(rep, client_for, manager):
    a = create_customer(actor=rep, last_name="Gil", emails=["g@example.com"], owner_id=rep.pk)
    b = create_customer(actor=rep, last_name="Gil", emails=["g@example.com"], owner_id=rep.pk)
    client = client_for(rep)
    url = reverse("duplicate_merge", args=[a.pk, b.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"step": "merge"}).status_code == 403
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="merge").exists()
    entry = merging.merge_customers(actor=manager, survivor_id=a.pk, loser_id=b.pk).audit_entry
    assert client.post(reverse("duplicate_unmerge", args=[entry.pk])).status_code == 403
    b.refresh_from_db()
    assert b.merged_into_id == a.pk


def test_merge_of_customers_the_user_cannot_see_is_404(manager, rep_b, client_for):
    a = create_customer(actor=rep_b, last_name="Gil", owner_id=rep_b.pk)
    b = create_customer(actor=rep_b, last_name="Gil", owner_id=rep_b.pk)
    resp = client_for(manager).post(
        reverse("duplicate_merge", args=[a.pk, b.pk]), {"step": "merge"}
    )
    assert resp.status_code == 404
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_tags_are_unioned_without_touching_the_tag_table(manager, pair):
    tags = Tag.objects.count()
    merging.merge_customers(
        actor=manager, survivor_id=pair["survivor"].pk, loser_id=pair["loser"].pk
    )
    assert Tag.objects.count() == tags


def test_records_merged_earlier_follow_and_come_back(manager, pair):
    s, lo = pair["survivor"], pair["loser"]
    older = create_customer(actor=manager, first_name="M.", last_name="Sanz", owner_id=manager.pk)
    merging.merge_customers(actor=manager, survivor_id=lo.pk, loser_id=older.pk)
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    older.refresh_from_db()
    assert older.merged_into_id == s.pk  # no chain through a hidden record
    merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    older.refresh_from_db()
    assert older.merged_into_id == lo.pk


def test_undo_keeps_edits_made_after_the_merge(manager, pair):
    from vinculo.customers.services import update_customer

    s, lo = pair["survivor"], pair["loser"]
    entry = merging.merge_customers(
        actor=manager, survivor_id=s.pk, loser_id=lo.pk, field_choices={"source": "loser"}
    ).audit_entry
    update_customer(actor=manager, customer_id=s.pk, expected_version=None, stage="lost")
    merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    s.refresh_from_db()
    assert s.stage == "lost"  # edited since: kept
    assert s.source == "web"  # untouched since: restored


def test_undo_button_twice_shows_a_message(manager, pair, client_for):
    s, lo = pair["survivor"], pair["loser"]
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    client = client_for(manager)
    url = reverse("duplicate_unmerge", args=[entry.pk])
    assert client.post(url).status_code == 302
    resp = client.post(url, follow=True)
    assert "already been undone" in resp.content.decode()
    assert AuditEntry.objects.filter(action="unmerge", customer_id=s.pk).count() == 1


def test_every_foreign_key_to_customer_in_any_app_is_moved_by_merge():
    """A future app's FK (even with related_name="+") is picked up without touching merging."""
    from django.apps import apps

    expected = {
        f"{model._meta.label_lower}.{f.name}"
        for model in apps.get_models(include_auto_created=False)
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is Customer
    }
    assert expected <= {rel.key for rel in merging.fk_relations()}
    assert "interactions.interaction.customer" in expected


def test_records_about_the_loser_follow_it_and_come_back(manager, pair):
    s, lo, org = pair["survivor"], pair["loser"], pair["org_a"]
    about = log_interaction(
        actor=manager, customer_id=org.pk, kind="note", body="referral", related=lo
    )
    entry = merging.merge_customers(actor=manager, survivor_id=s.pk, loser_id=lo.pk).audit_entry
    about.refresh_from_db()
    assert about.related_id == s.pk and about.customer_id == org.pk
    merging.unmerge(actor=manager, audit_entry_id=entry.pk)
    about.refresh_from_db()
    assert about.related_id == lo.pk


def test_undo_button_in_the_merge_message_works_with_csrf_enforced(manager, pair):
    """The Undo form inside the success message carries Django's own csrf input, so pressing it
    on a real (CSRF-checking) browser session undoes the merge instead of answering 403."""
    s, lo = pair["survivor"], pair["loser"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)
    url = reverse("duplicate_merge", args=[s.pk, lo.pk])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(url).text)[1]
    resp = browser.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "step": "merge",
            "survivor_version": s.version,
            "loser_version": lo.version,
        },
    )
    assert resp.status_code == 302
    page = browser.get(resp["Location"]).text
    undo = re.search(
        r'<form method="post" action="([^"]+)" class="inline-form">'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">'
        r'<button[^>]*data-testid="undo-merge"',
        page,
    )
    assert undo, "the merge message has no Undo form with a csrf input"
    assert browser.post(undo[1], {}).status_code == 403  # no token: refused, nothing undone
    lo.refresh_from_db()
    assert lo.merged_into_id == s.pk
    resp = browser.post(undo[1], {"csrfmiddlewaretoken": undo[2]})
    assert resp.status_code == 302
    lo.refresh_from_db()
    assert lo.merged_into_id is None
