"""Customer export: CSV (streamed, UTF-8 with BOM) and XLSX, filtered and limited to what the
user may see."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from tests.customers.factories import CustomerFactory
from vinculo.customers.models import CustomField, Tag


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def book(rep, rep_b):
    CustomField.objects.create(
        key="interests", label="Interests", type="multi_choice", choices=["golf", "wine"]
    )
    mine = CustomerFactory(
        first_name="José",
        last_name="Núñez",
        name="José Núñez",
        owner=rep,
        team=rep.team,
        stage="lead",
        email="jose@example.com",
        phone="+34612345678",
        attributes={"interests": ["golf", "wine"]},
    )
    mine.tags.add(Tag.objects.create(name="vip"))
    CustomerFactory(name="Ana Cliente", owner=rep, team=rep.team, stage="customer")
    CustomerFactory(name="Hidden B", owner=rep_b, team=rep_b.team, stage="lead")
    return mine


def csv_rows(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # BOM: Excel opens the accents correctly
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_rep_csv_export_has_only_visible_customers(client_for, rep, book):
    response = client_for(rep).get(reverse("customer_export"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert {r["name"] for r in rows} == {"José Núñez", "Ana Cliente"}  # not rep_b's
    jose = next(r for r in rows if r["name"] == "José Núñez")
    assert jose["owner"] == "rep"
    assert jose["team"] == "Team A"
    assert jose["tags"] == "vip"
    assert jose["phone"] == "+34612345678"
    assert jose["attr.interests"] == "golf;wine"
    assert list(rows[0])[:4] == ["id", "external_id", "kind", "name"]


def test_export_applies_list_filters(client_for, rep, book):
    rows = csv_rows(
        client_for(rep).get(reverse("customer_export"), {"format": "csv", "stage": "lead"})
    )
    assert [r["name"] for r in rows] == ["José Núñez"]


def test_xlsx_export_opens_with_openpyxl(client_for, marketer, book):
    response = client_for(marketer).get(reverse("customer_export"), {"format": "xlsx"})
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    values = list(wb.worksheets[0].iter_rows(values_only=True))
    header, data = values[0], values[1:]
    assert header[3] == "name" and header[-1] == "attr.interests"
    assert {r[3] for r in data} == {"José Núñez", "Ana Cliente", "Hidden B"}  # marketer sees all


def test_formulas_are_neutralised(client_for, marketer):
    CustomerFactory(name='=HYPERLINK("http://evil")', phone="+34612345678")
    rows = csv_rows(client_for(marketer).get(reverse("customer_export"), {"format": "csv"}))
    assert rows[0]["name"].startswith("'=")
    assert rows[0]["phone"] == "+34612345678"
    response = client_for(marketer).get(reverse("customer_export"), {"format": "xlsx"})
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert ws.cell(row=2, column=4).data_type == "s"


def test_export_without_format_shows_a_form_keeping_filters(client_for, rep):
    page = client_for(rep).get(reverse("customer_export"), {"stage": "lead"})
    assert page.status_code == 200
    assert 'name="stage" value="lead"' in page.content.decode()


def test_user_without_export_capability_is_refused(client_for, agent, book):
    response = client_for(agent).get(reverse("customer_export"), {"format": "csv"})
    assert response.status_code == 403
    assert b"jose@example.com" not in response.content


@pytest.mark.parametrize("n", [3, 30])
def test_export_queries_do_not_grow_with_rows(
    client_for, marketer, django_assert_max_num_queries, n
):
    for i in range(n):
        CustomerFactory(name=f"C{i}", owner=marketer).tags.add(
            Tag.objects.get_or_create(name=f"t{i % 3}")[0]
        )
    client = client_for(marketer)
    with django_assert_max_num_queries(8):
        rows = csv_rows(client.get(reverse("customer_export"), {"format": "csv"}))
    assert len(rows) == n


def test_export_command_respects_user_visibility(rep, book, tmp_path):
    out = tmp_path / "out.xlsx"
    call_command("export_customers", "--format=xlsx", f"--out={out}", "--user=rep")
    ws = load_workbook(out, read_only=True).worksheets[0]
    names = {r[3] for r in list(ws.iter_rows(values_only=True))[1:]}
    assert names == {"José Núñez", "Ana Cliente"}

    out_csv = tmp_path / "leads.csv"
    call_command(
        "export_customers", "--format=csv", f"--out={out_csv}", "--user=rep", "--stage=lead"
    )
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert [r["name"] for r in rows] == ["José Núñez"]
