"""Customer import: upload checks, mapping, dry run, confirmed background run, resumability."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from vinculo.core.models import AuditEntry
from vinculo.customers import importing, services
from vinculo.customers.models import Customer, CustomField, ImportJob

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _media_and_tasks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def upload(client, name, data=None):
    data = (DATA / name).read_bytes() if data is None else data
    return client.post(reverse("customer_import"), {"file": SimpleUploadedFile(name, data)})


def post_mapping(client, job, upsert="none", **overrides):
    """Submit the mapping page with the pre-selected targets (optionally overridden)."""
    data = {"upsert": upsert}
    for i, header in enumerate(job.options["headers"]):
        data[f"col_{i}"] = overrides.get(header, job.mapping.get(header, ""))
    response = client.post(reverse("customer_import_map", args=[job.pk]), data)
    if response.status_code == 302:
        client.get(response.url)  # the browser follows to the preview, which runs the dry run
    return response


def run(client, job, django_capture_on_commit_callbacks, confirm=True):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customer_import_preview", args=[job.pk]), {"confirm": "1"} if confirm else {}
        )
    job.refresh_from_db()
    return response


def import_file(client, name, capture, data=None, upsert="none"):
    response = upload(client, name, data)
    assert response.status_code == 302, response.content.decode()[:500]
    job = ImportJob.objects.latest("pk")
    client.get(response.url)  # the mapping page, or for a vCard the preview (dry run)
    if job.format != "vcf":
        assert post_mapping(client, job, upsert=upsert).status_code == 302
    run(client, job, capture)
    return job


# --- upload and mapping -----------------------------------------------------------------


def test_upload_preselects_spanish_headers_and_shows_samples(client_for, marketer):
    client = client_for(marketer)
    response = upload(client, "good_utf8.csv")
    job = ImportJob.objects.get()
    assert response.url == reverse("customer_import_map", args=[job.pk])
    assert job.format == "csv" and job.created_by == marketer
    assert job.mapping == {
        "Nombre": "first_name",
        "Apellidos": "last_name",
        "Correo": "email",
        "Teléfono": "phone",
        "Ciudad": "city",
        "Empresa": "company",
        "Etiquetas": "tags",
        "ID externo": "external_id",
    }
    page = client.get(response.url)
    assert page.status_code == 200
    assert "jose@example.com" in page.content.decode()
    assert 'for="col_0"' in page.content.decode()  # every select has its label
    assert not Customer.objects.exists()


def test_custom_fields_are_offered_and_matched_by_label(client_for, marketer):
    CustomField.objects.create(key="income_band", label="Income band", type="text")
    client = client_for(marketer)
    upload(client, "x.csv", b"Name,Income band\nAna,high\n")
    job = ImportJob.objects.get()
    assert job.mapping == {"Name": "name", "Income band": "attr.income_band"}
    assert (
        'value="attr.income_band"'
        in client.get(reverse("customer_import_map", args=[job.pk])).content.decode()
    )


def test_choice_cells_may_use_the_english_or_spanish_label(
    client_for, marketer, django_capture_on_commit_callbacks
):
    CustomField.objects.create(
        key="area",
        label="Area",
        type="choice",
        choices=["urban", "suburban", "rural_area"],
        choice_labels={
            "urban": {"en": "Urban", "es": "Urbano"},
            "suburban": {"en": "Suburban", "es": "Residencial"},
            "rural_area": {"en": "Countryside", "es": "Campo rústico"},
        },
    )
    CustomField.objects.create(
        key="channels",
        label="Channels",
        type="multi_choice",
        choices=["email", "phone"],
        choice_labels={"phone": {"en": "Phone", "es": "Teléfono"}},
    )
    data = (
        "Name,Area,Channels\n"
        "Ana,URBANO,email\n"
        "Bea,residencial,TELÉFONO; Email\n"
        "Carla,campo rustico,\n"
        "Dora,Countryside,telefono\n"
        "Eva,urban,\n"
        "Flor,Downtown,phone\n"
        "Gina,Urbano,fax\n"
    ).encode()
    job = import_file(client_for(marketer), "choices.csv", django_capture_on_commit_callbacks, data)

    stored = {c.name: c.attributes for c in Customer.objects.all()}
    assert stored == {
        "Ana": {"area": "urban", "channels": ["email"]},
        "Bea": {"area": "suburban", "channels": ["phone", "email"]},
        "Carla": {"area": "rural_area"},
        "Dora": {"area": "rural_area", "channels": ["phone"]},
        "Eva": {"area": "urban"},
    }
    errors = {e["row"]: e for e in job.errors}
    assert sorted(errors) == [7, 8]
    assert errors[7]["field"] == "attr.area" and errors[7]["value"] == "Downtown"
    assert "urban, suburban, rural_area" in errors[7]["message"]
    assert errors[8]["field"] == "attr.channels"
    assert "“fax” is not one of: email, phone" in errors[8]["message"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("garbage.csv", bytes(range(256)) * 20, "binary"),
        ("noheader.csv", b"ana@example.com,600111222\nbea@example.com,600111333\n", "column"),
        ("wide.csv", (",".join(f"c{i}" for i in range(201)) + "\n").encode(), "201 columns"),
        ("notes.txt.pdf", b"%PDF-1.4", ".csv, .xlsx or .vcf"),
        ("header_only.csv", b"Nombre,Correo\n", "no rows"),
        ("fake.xlsx", b"Name\nAna\n", "Excel"),
    ],
)
def test_unusable_files_are_refused_with_a_message(client_for, marketer, name, data, message):
    response = upload(client_for(marketer), name, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_too_large_file_is_refused(client_for, marketer, monkeypatch):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 20)
    response = upload(client_for(marketer), "good_utf8.csv")
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("who", ["agent", "rep"])
def test_user_without_import_capability_is_refused(client_for, request, who):
    user = request.getfixturevalue(who)
    client = client_for(user)
    assert client.get(reverse("customer_import")).status_code == 403
    assert upload(client, "good_utf8.csv").status_code == 403
    assert not ImportJob.objects.exists()
    assert not Customer.objects.exists()


def test_other_users_job_is_not_found(client_for, marketer, manager):
    upload(client_for(marketer), "good_utf8.csv")
    job = ImportJob.objects.get()
    client = client_for(manager)
    for url in ("customer_import_map", "customer_import_preview", "customer_import_status"):
        assert client.get(reverse(url, args=[job.pk])).status_code == 404
    assert client.post(reverse("customer_import_preview", args=[job.pk])).status_code == 404
    assert not Customer.objects.exists()


def test_missing_name_column_is_an_error_at_the_mapping_step(client_for, marketer):
    client = client_for(marketer)
    upload(client, "no_name_column.csv")
    job = ImportJob.objects.get()
    response = post_mapping(client, job)
    assert response.status_code == 400
    assert "Map at least one column to a name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED
    assert not Customer.objects.exists()


# --- good files ------------------------------------------------------------------------


def test_utf8_csv_import_creates_customers_and_organization(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    upload(client, "good_utf8.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job)
    preview = client.get(reverse("customer_import_preview", args=[job.pk])).content.decode()
    assert 'data-count="to_create">3<' in preview
    assert "All rows are valid" in preview
    assert not Customer.objects.exists()  # the dry run wrote nothing

    response = run(client, job, django_capture_on_commit_callbacks)
    assert response.url == reverse("customer_import_status", args=[job.pk])
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_total, job.rows_done, job.created_count, job.skipped_count) == (3, 3, 3, 0)
    jose = Customer.objects.get(external_id="EXT-1")
    assert jose.name == "José Núñez"
    assert jose.city == "Málaga"
    assert jose.phone == "+34612345678"
    assert jose.email == "jose@example.com"
    assert jose.owner == marketer
    assert sorted(jose.tags.values_list("name", flat=True)) == ["golf", "vip"]
    acme = Customer.objects.get(kind="organization")  # found-or-created once for two rows
    assert acme.name == "Acme S.L."
    assert set(acme.members.values_list("external_id", flat=True)) == {"EXT-1", "EXT-2"}
    assert jose.company_name == "Acme S.L."
    entry = AuditEntry.objects.get(action="import")
    assert entry.actor == marketer
    assert entry.payload["job_id"] == job.pk
    assert entry.payload["created"] == 3
    assert AuditEntry.objects.filter(action="create").count() == 4  # 3 people + 1 organization
    status = client.get(reverse("customer_import_status", args=[job.pk])).content.decode()
    assert "3 created, 0 updated, 0 skipped" in status
    assert 'hx-trigger="every 1s"' not in status


def test_cp1252_semicolon_file_keeps_accents(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    upload(client, "good_cp1252_semicolon.csv")
    job = ImportJob.objects.get()
    assert job.options["delimiter"] == ";"
    assert job.options["encoding"] == "cp1252"
    assert job.mapping["Teléfono"] == "phone"
    post_mapping(client, job)
    run(client, job, django_capture_on_commit_callbacks)
    assert set(Customer.objects.filter(kind="person").values_list("name", "city")) == {
        ("José Núñez", "Málaga"),
        ("Lucía Peña", "Cádiz"),
        ("Ana Ibáñez", "A Coruña"),
    }


def test_utf8_bom_and_tab_delimiter_are_understood(client_for, marketer):
    data = "\ufeffNombre\tCorreo\nÁlvaro\talvaro@example.com\n".encode()
    upload(client_for(marketer), "tabs.csv", data)
    job = ImportJob.objects.get()
    assert job.options["delimiter"] == "\t"
    assert job.mapping == {"Nombre": "first_name", "Correo": "email"}


def test_xlsx_import(client_for, marketer, django_capture_on_commit_callbacks):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["First name", "Last name", "E-mail", "Mobile", "Stage", "Country"])
    ws.append(["Íñigo", "Ruiz", "inigo@example.com", 612345678, "Cliente", "España"])
    ws.append(["Marta", "Gil", "marta@example.com", None, "lead", "MX"])
    buffer = io.BytesIO()
    wb.save(buffer)
    job = import_file(
        client_for(marketer), "contacts.xlsx", django_capture_on_commit_callbacks, buffer.getvalue()
    )
    assert job.format == "xlsx"
    assert job.created_count == 2
    inigo = Customer.objects.get(email="inigo@example.com")
    assert (inigo.name, inigo.phone, inigo.stage, inigo.country) == (
        "Íñigo Ruiz",
        "+34612345678",
        "customer",
        "ES",
    )


def test_vcard_3_and_4_are_mapped_automatically(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    response = upload(client, "contacts_v3.vcf")
    job = ImportJob.objects.get()
    assert response.url == reverse("customer_import_preview", args=[job.pk])
    assert 'data-count="to_create">2<' in client.get(response.url).content.decode()
    run(client, job, django_capture_on_commit_callbacks)
    jose = Customer.objects.get(external_id="v3-jose")
    assert (jose.first_name, jose.last_name, jose.phone) == ("José", "Núñez", "+34612345678")
    assert jose.company_name == "Acme S.L."
    address = jose.addresses.get()
    assert (address.street, address.city, address.postal_code, address.country) == (
        "Calle Mayor 1",
        "Madrid",
        "28013",
        "ES",
    )
    globex = Customer.objects.get(external_id="v3-globex")
    assert globex.kind == "organization" and globex.name == "Globex"

    job4 = import_file(client, "contacts_v4.vcf", django_capture_on_commit_callbacks)
    assert job4.created_count == 1
    lucia = Customer.objects.get(email="lucia@example.com")
    assert lucia.name == "Lucía Peña"
    assert lucia.phone == "+34699111222"
    assert lucia.external_id == "urn:uuid:4f1c2b7e-0000-4000-8000-000000000001"


def test_malformed_vcard_is_reported_and_the_others_imported(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    client.get(upload(client, "malformed.vcf").url)
    job = ImportJob.objects.get()
    assert [(e["row"], e["field"]) for e in job.errors] == [(2, "vcard")]
    run(client, job, django_capture_on_commit_callbacks)
    assert set(Customer.objects.values_list("name", flat=True)) == {"Ana Uno", "Bea Dos"}
    assert job.skipped_count == 1


# --- invalid rows, duplicates, upserts ------------------------------------------------------


def test_bad_encoding_bytes_are_reported_for_their_row(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    upload(client, "bad_encoding.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job)
    job.refresh_from_db()
    assert {e["row"] for e in job.errors} == {3}
    assert "Unreadable" in job.errors[0]["message"]
    run(client, job, django_capture_on_commit_callbacks)
    assert set(Customer.objects.values_list("name", "city")) == {
        ("José Núñez", "Málaga"),
        ("Íñigo Ruiz", "León"),
    }


def test_invalid_emails_need_confirmation_and_are_skipped(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    upload(client, "invalid_emails.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job)
    page = client.get(reverse("customer_import_preview", args=[job.pk])).content.decode()
    assert "the 2 invalid rows will be skipped and listed in the error report" in page
    assert 'name="confirm"' in page
    job.refresh_from_db()
    assert [(e["row"], e["field"], e["value"]) for e in job.errors] == [
        (3, "email", "not-an-email"),
        (5, "email", "dora@@example"),
    ]

    refused = run(client, job, django_capture_on_commit_callbacks, confirm=False)
    assert refused.status_code == 400
    assert job.status == ImportJob.Status.PREVIEWED
    assert not Customer.objects.exists()

    run(client, job, django_capture_on_commit_callbacks)
    assert set(Customer.objects.values_list("name", flat=True)) == {"Ana Uno", "Carla Tres"}
    assert (job.created_count, job.skipped_count) == (2, 2)

    report = client.get(reverse("customer_import_errors", args=[job.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Row", "Field", "Message", "Value"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("3", "email", "not-an-email"),
        ("5", "email", "dora@@example"),
    ]


def test_duplicate_rows_in_the_file_are_reported_and_skipped(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    upload(client, "duplicates.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job)
    job.refresh_from_db()
    assert job.options["preview"]["duplicates"] == 2
    assert [(e["row"], e["field"], e["message"]) for e in job.errors] == [
        (4, "email", "Duplicate of row 2; skipped."),
        (5, "external_id", "Duplicate of row 3; skipped."),
    ]
    run(client, job, django_capture_on_commit_callbacks)
    assert set(Customer.objects.values_list("name", flat=True)) == {"Ana Uno", "Bea Dos"}


def test_possible_duplicates_of_existing_customers_are_counted(client_for, marketer):
    services.create_customer(actor=marketer, last_name="Núñez", phones=["612345678"])
    client = client_for(marketer)
    upload(client, "good_utf8.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job)
    job.refresh_from_db()
    assert job.options["preview"]["possible_duplicates"] == 1
    assert job.options["possible_duplicates"][0]["row"] == 2


def test_upsert_by_email_updates_instead_of_duplicating(
    client_for, marketer, django_capture_on_commit_callbacks
):
    ana = services.create_customer(
        actor=marketer, first_name="Ana", last_name="Uno", emails=["ana@example.com"], city="Madrid"
    )
    data = "Nombre,Apellidos,Correo,Ciudad,Teléfono\nAna,Uno,ANA@example.com,Sevilla,699111222\n"
    job = import_file(
        client_for(marketer),
        "update.csv",
        django_capture_on_commit_callbacks,
        data.encode(),
        upsert="email",
    )
    assert (job.created_count, job.updated_count) == (0, 1)
    assert Customer.objects.count() == 1
    ana.refresh_from_db()
    assert ana.city == "Sevilla"
    assert ana.phone == "+34699111222"
    assert ana.version > 1


def test_reimport_with_upsert_key_creates_nothing_new(
    client_for, marketer, django_capture_on_commit_callbacks
):
    client = client_for(marketer)
    first = import_file(
        client, "good_utf8.csv", django_capture_on_commit_callbacks, upsert="external_id"
    )
    assert first.created_count == 3
    count = Customer.objects.count()
    second = import_file(
        client, "good_utf8.csv", django_capture_on_commit_callbacks, upsert="external_id"
    )
    assert (second.created_count, second.updated_count) == (0, 3)
    assert Customer.objects.count() == count
    # Re-running a finished job does nothing at all.
    importing.run_import(job_id=second.pk)
    assert Customer.objects.count() == count
    assert AuditEntry.objects.filter(action="import").count() == 2


def test_interrupted_run_keeps_whole_rows_and_resumes(marketer, monkeypatch):
    data = "Name,Email,Street\n" + "".join(
        f"Person {i},p{i}@example.com,Calle {i}\n" for i in range(1, 7)
    )
    job = importing.create_import_job(actor=marketer, name="six.csv", data=data.encode())
    importing.save_mapping(actor=marketer, job=job, mapping=job.mapping, upsert="email")
    importing.analyse_import(actor=marketer, job=job)
    importing.start_import(actor=marketer, job=job, confirmed_invalid=False)

    real_add_address = importing._add_address

    def failing(*, actor, customer, row):
        if row.row == 5:  # the 4th data row: its customer is already created when this fails
            raise RuntimeError("disk full")
        return real_add_address(actor=actor, customer=customer, row=row)

    monkeypatch.setattr(importing, "_add_address", failing)
    with pytest.raises(RuntimeError):
        importing.run_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.rows_done == 3
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "p1@example.com",
        "p2@example.com",
        "p3@example.com",
    ]
    assert all(c.addresses.count() == 1 for c in Customer.objects.all())
    assert not AuditEntry.objects.filter(action="create", object_repr="Person 4").exists()

    monkeypatch.setattr(importing, "_add_address", real_add_address)
    job = importing.run_import(job_id=job.pk)
    assert job.status == ImportJob.Status.DONE
    assert Customer.objects.count() == 6
    assert job.created_count == 6


def test_status_page_polls_while_running(client_for, marketer):
    job = importing.create_import_job(actor=marketer, name="a.csv", data=b"Name\nAna\nBea\n")
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=2, rows_done=1)
    client = client_for(marketer)
    page = client.get(reverse("customer_import_status", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<progress id="import-bar" value="1" max="2"' in page
    partial = client.get(reverse("customer_import_status", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "1 of 2 rows" in partial.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_preview_queries_do_not_grow_with_errors(
    client_for, marketer, django_assert_max_num_queries, n
):
    data = "Name,Email\n" + "".join(f"P{i},bad{i}\n" for i in range(n))
    client = client_for(marketer)
    upload(client, "bad.csv", data.encode())
    job = ImportJob.objects.get()
    post_mapping(client, job)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("customer_import_preview", args=[job.pk]))
    assert page.status_code == 200
    assert f'data-count="invalid">{n}<' in page.content.decode()


# --- management command ---------------------------------------------------------------------


def test_import_command_dry_run_and_real_run(marketer, capsys):
    with pytest.raises(SystemExit) as exc:
        call_command(
            "import_customers", str(DATA / "invalid_emails.csv"), "--user=marketer", "--dry-run"
        )
    assert exc.value.code == 1
    assert "invalid 2" in capsys.readouterr().out
    assert not Customer.objects.exists()

    call_command("import_customers", str(DATA / "good_utf8.csv"), "--user=marketer")
    out = capsys.readouterr().out
    assert "3 created, 0 updated, 0 skipped" in out
    assert Customer.objects.filter(kind="person").count() == 3


def test_external_id_of_another_customer_is_an_error_in_the_preview(client_for, marketer):
    services.create_customer(actor=marketer, last_name="Ya existe", external_id="EXT-2")
    client = client_for(marketer)
    upload(client, "good_utf8.csv")
    job = ImportJob.objects.get()
    post_mapping(client, job, upsert="email")
    job.refresh_from_db()
    assert [(e["row"], e["field"]) for e in job.errors] == [(3, "external_id")]
    assert job.options["preview"]["to_create"] == 2


def _started_job(actor, rows=4):
    data = "Name,Email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(1, rows + 1))
    job = importing.create_import_job(actor=actor, name="people.csv", data=data.encode())
    importing.save_mapping(actor=actor, job=job, mapping=job.mapping, upsert="none")
    importing.analyse_import(actor=actor, job=job)
    return importing.start_import(actor=actor, job=job, confirmed_invalid=False, enqueue=False)


def test_second_runner_of_the_same_job_never_writes_a_row_twice(marketer):
    job = _started_job(marketer)
    inner: list = []

    def progress(j):
        if not inner:  # while the first runner is at row 1, another one starts
            inner.append(importing.run_import(job_id=j.pk))

    importing.run_import(job_id=job.pk, progress=progress)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Customer.objects.count() == 4
    assert job.created_count == 4


def test_stalled_running_job_can_be_resumed_from_the_preview(
    client_for, marketer, django_capture_on_commit_callbacks
):
    job = _started_job(marketer)
    client = client_for(marketer)
    run(client, job, django_capture_on_commit_callbacks)
    assert not Customer.objects.exists()  # still "running": a second click does nothing
    status_url = reverse("customer_import_status", args=[job.pk])
    assert 'hx-trigger="every 1s"' in client.get(status_url).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=job.updated_at - importing.STALL_AFTER * 2
    )
    status = client.get(status_url).content.decode()
    assert "no progress for a while" in status
    assert 'hx-trigger="every 1s"' not in status
    run(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE
    assert Customer.objects.count() == 4


def test_import_command_resumes_a_failed_job(marketer, capsys):
    job = _started_job(marketer)
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    call_command("import_customers", f"--resume={job.pk}", "--user=marketer")
    assert "4 created" in capsys.readouterr().out
    assert Customer.objects.count() == 4


def test_big_file_is_checked_in_the_background_while_the_preview_polls(
    client_for, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(importing, "INLINE_ANALYSIS_BYTES", 10)
    client = client_for(marketer)
    upload(client, "invalid_emails.csv")
    job = ImportJob.objects.get()
    url = reverse("customer_import_preview", args=[job.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("customer_import_map", args=[job.pk]),
            {"upsert": "none", "col_0": "first_name", "col_1": "last_name", "col_2": "email"},
        )
        assert response.url == url
        page = client.get(url).content.decode()
    assert "Checking every row" in page
    assert 'hx-trigger="every 1s"' in page
    assert len(callbacks) == 1
    callbacks[0]()  # the worker runs the dry run
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED
    page = client.get(url).content.decode()
    assert 'data-count="invalid">2<' in page
    assert 'hx-trigger="every 1s"' not in page
