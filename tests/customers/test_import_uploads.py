"""Uploaded import files are not kept for ever: deleted when the import finishes or is
cancelled, and by the scheduled cleanup once abandoned (``vinculo clean_import_uploads``)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from vinculo.core.errors import ValidationError
from vinculo.customers import importing
from vinculo.customers.models import Customer, ImportJob

CSV = b"Name,Email\nAna Gil,ana@example.com\nBea Ruiz,bea@example.com\n"


@pytest.fixture(autouse=True)
def _media_and_tasks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _previewed(actor, data=CSV) -> ImportJob:
    job = importing.create_import_job(actor=actor, name="people.csv", data=data)
    importing.save_mapping(actor=actor, job=job, mapping=job.mapping, upsert="email")
    importing.analyse_import(actor=actor, job=job)
    return job


def _stored(job: ImportJob, media: Path) -> Path:
    path = media / job.file.name
    assert path.is_file()
    return path


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_finished_import_deletes_its_uploaded_file(
    client_for, marketer, tmp_path, django_capture_on_commit_callbacks
):
    job = _previewed(marketer)
    path = _stored(job, tmp_path)
    client = client_for(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customer_import_preview", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Customer.objects.count() == 2
    assert not path.exists()
    assert job.file.name == ""
    # The finished import's page still shows its result without the file.
    status = client.get(reverse("customer_import_status", args=[job.pk])).content.decode()
    assert "2 created, 0 updated, 0 skipped" in status


def test_cancel_before_running_deletes_the_file_and_imports_nothing(
    client_for, marketer, tmp_path, django_capture_on_commit_callbacks
):
    job = _previewed(marketer)
    path = _stored(job, tmp_path)
    client = client_for(marketer)
    preview = client.get(reverse("customer_import_preview", args=[job.pk])).content.decode()
    assert 'data-testid="cancel-import"' in preview
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("customer_import_cancel", args=[job.pk]), follow=True)
    assert resp.redirect_chain[-1][0] == reverse("customer_import")
    assert "Import of “people.csv” cancelled; the uploaded file was deleted." in resp.text
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert not path.exists()
    # Running it now is not possible: the pages send the user to the cancelled import's page.
    run = client.post(reverse("customer_import_preview", args=[job.pk]), {"confirm": "1"})
    assert run.url == reverse("customer_import_status", args=[job.pk])
    page = client.get(run.url).content.decode()
    assert "nothing was imported and the uploaded file was deleted" in page
    assert client.get(reverse("customer_import_map", args=[job.pk])).status_code == 302
    assert not Customer.objects.exists()


def test_cancelling_a_running_import_is_refused_and_keeps_its_file(client_for, marketer, tmp_path):
    job = _previewed(marketer)
    path = _stored(job, tmp_path)
    importing.start_import(actor=marketer, job=job, confirmed_invalid=False, enqueue=False)
    resp = client_for(marketer).post(reverse("customer_import_cancel", args=[job.pk]), follow=True)
    assert "The import is running; it cannot be cancelled now." in resp.text
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING
    assert path.exists()


def test_cancelled_failed_import_keeps_imported_rows_and_a_late_worker_writes_nothing(
    marketer, tmp_path, django_capture_on_commit_callbacks
):
    job = _previewed(marketer)
    path = _stored(job, tmp_path)
    importing.start_import(actor=marketer, job=job, confirmed_invalid=False, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    ann = Customer.objects.create(name="Ana Gil", owner=marketer)  # "imported" before failing
    ImportJob.objects.filter(pk=job.pk).update(rows_done=1)
    with django_capture_on_commit_callbacks(execute=True):
        importing.cancel_import(actor=marketer, job=job)
    assert not path.exists()
    assert importing.run_import(job_id=job.pk).status == ImportJob.Status.CANCELLED
    assert list(Customer.objects.all()) == [ann]
    with pytest.raises(ValidationError, match="This import was cancelled"):
        importing.start_import(actor=marketer, job=job, confirmed_invalid=False, enqueue=False)


def test_another_users_import_cannot_be_cancelled(client_for, marketer, manager, tmp_path):
    job = _previewed(marketer)
    path = _stored(job, tmp_path)
    resp = client_for(manager).post(reverse("customer_import_cancel", args=[job.pk]))
    assert resp.status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED and path.exists()


def test_scheduled_cleanup_removes_only_abandoned_uploads(
    settings, marketer, tmp_path, django_capture_on_commit_callbacks, capsys
):
    settings.IMPORT_UPLOADS_KEEP_DAYS = 7
    old_job, recent_job, done_job = _previewed(marketer), _previewed(marketer), _previewed(marketer)
    long_ago = timezone.now() - dt.timedelta(days=8)
    ImportJob.objects.filter(pk__in=[old_job.pk, done_job.pk]).update(updated_at=long_ago)
    ImportJob.objects.filter(pk=done_job.pk).update(status="done")
    old_path, recent_path, done_path = (
        _stored(j, tmp_path) for j in (old_job, recent_job, done_job)
    )
    for p in (old_path, done_path):
        _age(p, 8)
    # A lead import previewed but never confirmed, one in progress, and an unrelated file.
    leads = tmp_path / "imports" / "leads" / "3"
    leads.mkdir(parents=True)
    (abandoned_lead := leads / "a.csv").write_bytes(CSV)
    (fresh_lead := leads / "b.csv").write_bytes(CSV)
    _age(abandoned_lead, 8)
    (other := tmp_path / "avatars" / "x.png").parent.mkdir()
    other.write_bytes(b"png")
    _age(other, 30)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("clean_import_uploads")
    assert "Deleted 3 abandoned import file(s) older than 7 day(s)." in capsys.readouterr().out
    assert not old_path.exists() and not done_path.exists() and not abandoned_lead.exists()
    assert recent_path.exists() and fresh_lead.exists() and other.exists()
    statuses = dict(ImportJob.objects.values_list("pk", "status"))
    assert statuses == {old_job.pk: "cancelled", recent_job.pk: "previewed", done_job.pk: "done"}
    old_job.refresh_from_db()
    assert old_job.updated_at == long_ago  # the list still shows when the user last worked on it

    with django_capture_on_commit_callbacks(execute=True):
        call_command("clean_import_uploads")  # a second run finds nothing more
    assert "Deleted 0 abandoned" in capsys.readouterr().out


def test_cleanup_removes_the_folders_it_empties_but_not_the_imports_root(
    settings, marketer, tmp_path, django_capture_on_commit_callbacks, capsys
):
    settings.IMPORT_UPLOADS_KEEP_DAYS = 7
    imports = tmp_path / "imports"
    # An abandoned job whose file sits in an old month folder, a stray file in another old
    # month, and a lead import never confirmed.
    job = _previewed(marketer)
    (old_month := imports / "2020" / "01").mkdir(parents=True)
    os.replace(_stored(job, tmp_path), old_month / "people.csv")
    ImportJob.objects.filter(pk=job.pk).update(
        file="imports/2020/01/people.csv", updated_at=timezone.now() - dt.timedelta(days=8)
    )
    (stray := imports / "2020" / "02" / "x.csv").parent.mkdir()
    stray.write_bytes(CSV)
    (lead := imports / "leads" / "3" / "a.csv").parent.mkdir(parents=True)
    lead.write_bytes(CSV)
    # A 2021 folder that still holds a recent file stays.
    (kept := imports / "2021" / "05" / "recent.csv").parent.mkdir(parents=True)
    kept.write_bytes(CSV)
    for p in (old_month / "people.csv", stray, lead):
        _age(p, 8)
    this_month = imports / f"{dt.datetime.now():%Y/%m}"  # where a new upload lands: kept
    assert this_month.is_dir()  # the fresh job's upload made it

    with django_capture_on_commit_callbacks(execute=True):
        call_command("clean_import_uploads")
    assert "Deleted 3 abandoned import file(s)" in capsys.readouterr().out
    assert not (imports / "2020").exists()
    assert not (imports / "leads").exists()
    assert kept.exists() and this_month.is_dir()

    # Once everything is gone the imports root itself stays, and so does this month's folder.
    kept.unlink()
    ImportJob.objects.update(updated_at=timezone.now() - dt.timedelta(days=8))
    for p in this_month.iterdir():
        _age(p, 8)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("clean_import_uploads")
    assert not (imports / "2021").exists()
    assert imports.is_dir() and this_month.is_dir() and not any(this_month.iterdir())


def test_cleanup_command_days_option_and_background(
    marketer, tmp_path, db_tasks, capsys, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    job = _previewed(marketer)
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(days=3))
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        call_command("clean_import_uploads", "--days=0")
    call_command("clean_import_uploads", "--background", "--days=2")
    assert "Queued" in capsys.readouterr().out
    assert DBTaskResult.objects.filter(task_path__endswith="clean_import_uploads_task").exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED  # queued, not done here
    with django_capture_on_commit_callbacks(execute=True):
        call_command("clean_import_uploads", "--days=2")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED


def test_bad_keep_days_setting_stops_start_up_naming_the_variable():
    env = {**os.environ, "VINCULO_IMPORT_UPLOADS_KEEP_DAYS": "a week"}
    proc = subprocess.run(
        [sys.executable, "-c", "import vinculo.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "VINCULO_IMPORT_UPLOADS_KEEP_DAYS must be a whole number of days" in proc.stderr
