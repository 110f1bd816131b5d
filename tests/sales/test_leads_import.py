"""Lead import: column mapping, preview without writing, per-row import with errors named by
row and column, duplicates in the file and against existing customers, idempotent re-runs,
the page flow with its error report, and the ``import_leads`` command."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from vinculo.core.errors import ValidationError
from vinculo.core.models import AuditEntry
from vinculo.customers import services as customer_services
from vinculo.customers.models import Customer
from vinculo.interactions.models import Interaction
from vinculo.sales import leads_import
from vinculo.sales.leads_import import LeadImportDefaults, import_leads, preview_lead_import
from vinculo.sales.models import Lead

CSV = (
    "Nombre,Apellidos,Empresa,Correo,Teléfono,Campaña,Coste,Color favorito\n"
    "Ana,García,Frutas SL,ana@frutas.es,+34 600 111 222,Feria 2026,12.50,azul\n"
    "Luis,Pérez,,luis@example.com,,,,\n"
    "Sin,Contacto,,,,,,\n"
    "Eva,Ruiz,,eva@@bad,,,,\n"
    "Ana,García,Frutas SL,ana@frutas.es,,Feria 2026,,\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def csv_bytes(text: str = CSV, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def errors_by_row(report) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for e in report.errors:
        out.setdefault(e.row, []).append((e.field, e.message))
    return out


# --- service ------------------------------------------------------------------------------------


def test_columns_are_matched_by_spanish_and_english_names_and_unknown_ones_listed():
    mapping, unknown = leads_import.guess_columns(
        ["Nombre", "Last name", "E-mail", "Teléfono", "utm_source", "Cost", "Color favorito"]
    )
    assert mapping == {
        "Nombre": "first_name",
        "Last name": "last_name",
        "E-mail": "email",
        "Teléfono": "phone",
        "utm_source": "utm_source",
        "Cost": "acquisition_cost",
    }
    assert unknown == ["Color favorito"]


def test_preview_reports_each_row_and_writes_nothing(marketer):
    report = preview_lead_import(actor=marketer, data=csv_bytes(), filename="ferias.csv")
    assert [r.status for r in report.rows] == ["new", "new", "error", "error", "matched"]
    assert report.unknown_columns == ["Color favorito"]
    errors = errors_by_row(report)
    # Rows are numbered as a spreadsheet shows them: the header is row 1.
    assert errors[4] == [("Correo", "Give an email address or a phone number.")]
    assert [field for field, _m in errors[5]] == ["Correo"]
    assert report.counts()["valid"] == 3 and report.counts()["invalid"] == 2
    assert not Lead.objects.exists()
    assert not Customer.objects.exists()
    assert not Interaction.objects.exists()
    assert not AuditEntry.objects.filter(object_type__contains="lead").exists()


def test_import_writes_valid_rows_with_defaults_and_file_values(marketer):
    report = import_leads(
        actor=marketer,
        data=csv_bytes(),
        filename="ferias.csv",
        defaults=LeadImportDefaults(campaign="Lista marzo", acquisition_cost="3"),
    )
    assert report.counts() == {
        "rows": 5,
        "new": 2,
        "matched": 1,
        "valid": 3,
        "already_imported": 0,
        "invalid": 2,
    }
    ana = Lead.objects.filter(customer__first_name="Ana").order_by("pk")
    assert ana.count() == 2
    first = ana[0]
    assert (first.source, first.campaign, first.acquisition_cost) == (
        "import",
        "Feria 2026",
        Decimal("12.50"),
    )
    luis = Lead.objects.get(customer__first_name="Luis")
    assert (luis.campaign, luis.acquisition_cost) == ("Lista marzo", Decimal("3.00"))
    assert luis.form_data["row"] == 3
    assert not Customer.objects.filter(last_name__in=["Contacto", "Ruiz"]).exists()


def test_duplicate_rows_in_the_file_share_one_customer(marketer):
    import_leads(actor=marketer, data=csv_bytes(), filename="ferias.csv")
    people = Customer.objects.filter(kind="person", first_name="Ana")
    assert people.count() == 1
    assert people.get().leads.count() == 2
    assert Customer.objects.filter(kind="organization", name="Frutas SL").count() == 1


def test_existing_customer_is_matched_by_email(marketer, rep):
    existing = customer_services.create_customer(
        actor=rep, first_name="Luis", last_name="Pérez", emails=["LUIS@example.com"]
    )
    report = preview_lead_import(actor=marketer, data=csv_bytes(), filename="f.csv")
    assert report.rows[1].status == "matched"
    import_leads(actor=marketer, data=csv_bytes(), filename="f.csv")
    assert Lead.objects.get(customer__first_name="Luis").customer == existing
    assert Customer.objects.filter(first_name="Luis").count() == 1


def test_reimporting_the_same_file_does_not_duplicate(marketer):
    import_leads(actor=marketer, data=csv_bytes(), filename="ferias.csv")
    again = import_leads(actor=marketer, data=csv_bytes(), filename="ferias-copy.csv")
    assert Lead.objects.count() == 3
    assert Customer.objects.filter(kind="person").count() == 2
    assert again.counts()["already_imported"] == 3 and again.counts()["valid"] == 0


def test_interrupted_import_resumes_without_half_rows(marketer, monkeypatch):
    """A failure in the middle of row 3 leaves rows 2 complete and nothing of row 3; the
    re-run imports the rest once."""
    from vinculo.sales import leads

    real = leads._apply_score  # runs after the row's customer is written
    calls = {"n": 0}

    def crash_on_second(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kw)

    monkeypatch.setattr(leads, "_apply_score", crash_on_second)
    with pytest.raises(RuntimeError):
        import_leads(actor=marketer, data=csv_bytes(), filename="f.csv")
    assert list(Lead.objects.values_list("customer__first_name", flat=True)) == ["Ana"]
    assert not Customer.objects.filter(first_name="Luis").exists()
    monkeypatch.setattr(leads, "_apply_score", real)
    import_leads(actor=marketer, data=csv_bytes(), filename="f.csv")
    assert Lead.objects.count() == 3


def test_xlsx_file(marketer):
    data = xlsx_bytes(
        [
            ["First name", "Last name", "Email", "Phone", "Source", "Cost", "utm_campaign"],
            ["Marta", "Gil", "marta@example.com", "600123123", "Event", 7.5, "spring"],
            ["Bad", "Source", "b@example.com", None, "telepathy", None, None],
        ]
    )
    report = import_leads(actor=marketer, data=data, filename="leads.xlsx")
    lead = Lead.objects.get()
    assert (lead.source, lead.acquisition_cost, lead.utm_campaign) == (
        "event",
        Decimal("7.50"),
        "spring",
    )
    assert lead.customer.phones.get().number == "+34600123123"
    assert errors_by_row(report) == {3: [("Source", "Unknown lead source.")]}


def test_latin1_file_keeps_accents(marketer):
    text = "Nombre;Apellidos;Correo\nJosé;Núñez;jose@example.com\n"
    import_leads(actor=marketer, data=csv_bytes(text, "latin-1"), filename="excel.csv")
    customer = Lead.objects.get().customer
    assert (customer.first_name, customer.last_name) == ("José", "Núñez")


def test_file_without_email_or_phone_column_is_refused(marketer):
    with pytest.raises(ValidationError) as exc:
        preview_lead_import(actor=marketer, data=b"Name,City\nAna,Madrid\n", filename="x.csv")
    assert "email" in exc.value.message
    with pytest.raises(ValidationError):
        preview_lead_import(actor=marketer, data=b"PK\x03\x04junk", filename="x.xlsx")


def test_rep_cannot_import_with_the_service(rep):
    from vinculo.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_leads(actor=rep, data=csv_bytes(), filename="f.csv")
    assert not Lead.objects.exists()


# --- page ---------------------------------------------------------------------------------------

IMPORT = "/sales/leads/import/"


def upload(client, data=None, name="ferias.csv", **fields):
    payload = {"file": SimpleUploadedFile(name, data or csv_bytes()), "source": "import"}
    payload.update(fields)
    return client.post(IMPORT, payload)


def test_page_flow_upload_preview_confirm_shows_counts(client_for, marketer):
    client = client_for(marketer)
    assert client.get(IMPORT).status_code == 200
    resp = upload(client, campaign="Feria", acquisition_cost="2")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "5 rows" in html and "3 valid (2 new customers, 1 added to existing customers)" in html
    assert "2 with errors" in html
    assert "Valid rows will be imported, rows with errors are skipped" in html
    assert "Give an email address or a phone number." in html
    assert "Color favorito" in html  # the unknown column is listed
    assert not Lead.objects.exists()

    report = client.get(reverse("lead_import_errors"))
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Column", "Message", "Value"]
    assert ["4", "Correo", "Give an email address or a phone number.", ""] in rows
    assert [r[:2] for r in rows[1:]] == [["4", "Correo"], ["5", "Correo"]]

    resp = client.post(reverse("lead_import_confirm"))
    assert resp.status_code == 200
    assert "3 leads imported" in resp.content.decode()
    assert Lead.objects.count() == 3
    assert Lead.objects.get(customer__first_name="Luis").campaign == "Feria"
    # The stored upload is gone: confirming again cannot import twice.
    again = client.post(reverse("lead_import_confirm"))
    assert again.status_code == 410
    assert Lead.objects.count() == 3


def test_lead_list_links_to_import_for_importers_only(client_for, marketer, rep):
    assert IMPORT in client_for(marketer).get("/sales/leads/").content.decode()
    assert IMPORT not in client_for(rep).get("/sales/leads/").content.decode()


def test_rep_without_import_capability_gets_403(client_for, rep):
    client = client_for(rep)
    assert client.get(IMPORT).status_code == 403
    assert upload(client).status_code == 403
    assert client.post(reverse("lead_import_confirm")).status_code == 403
    assert not Lead.objects.exists() and not Customer.objects.exists()


def test_unreadable_file_is_refused_on_the_upload_page(client_for, marketer):
    resp = upload(client_for(marketer), data=b"Name,City\nAna,Madrid\n")
    assert resp.status_code == 422
    assert "No column holds an email or a phone" in resp.content.decode()


def test_preview_query_count_does_not_grow_with_error_rows(
    client_for, marketer, django_assert_max_num_queries
):
    """Rows refused before capture (unknown source) cost no queries: 200 bad rows preview
    with the queries of a handful."""
    client = client_for(marketer)
    bad = "Nombre,Correo,Origen\n" + "".join(f"A{i},a{i}@x.es,telepathy\n" for i in range(200))
    with django_assert_max_num_queries(15):
        resp = upload(client, data=bad.encode())
    assert "200 with errors" in resp.content.decode()


# --- command ------------------------------------------------------------------------------------


def test_command_dry_run_then_import_prints_summary_and_errors(tmp_path, marketer):
    path = tmp_path / "ferias.csv"
    path.write_bytes(csv_bytes())
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_leads", str(path), "--dry-run", "--campaign", "X", stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert "Dry run: 5 rows, would import 3 (2 new customers, 1 existing customers)" in text
    assert "row 4 [Correo]: Give an email address or a phone number." in text
    assert "Ignored columns: Color favorito" in text
    assert not Lead.objects.exists()

    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "import_leads", str(path), "--cost", "4", "--user", marketer.username, stdout=out
        )
    assert "imported 3" in out.getvalue()
    luis = Lead.objects.get(customer__first_name="Luis")
    assert (luis.acquisition_cost, luis.owner) == (Decimal("4.00"), marketer)

    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_leads", str(path), stdout=out)
    assert "3 already imported" in out.getvalue()
    assert Lead.objects.count() == 3


def test_page_refuses_files_over_its_row_limit_and_names_the_command(
    client_for, marketer, monkeypatch
):
    monkeypatch.setattr(leads_import, "MAX_PAGE_ROWS", 2)
    resp = upload(client_for(marketer))
    assert resp.status_code == 422
    assert "the page imports up to 2" in resp.content.decode()
    assert "vinculo import_leads" in resp.content.decode()
    assert not Lead.objects.exists()
