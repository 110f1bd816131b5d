"""The lead import's uploaded file waits between preview and confirm only: confirming or
cancelling deletes it (the scheduled cleanup of abandoned ones is in
tests/customers/test_import_uploads.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from vinculo.sales.models import Lead

IMPORT = "/sales/leads/import/"
CSV = b"Nombre,Apellidos,Correo\nAna,Gil,ana@example.com\nLuis,Paz,luis@example.com\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _uploaded(tmp_path):
    return sorted(p for p in (tmp_path / "imports" / "leads").rglob("*") if p.is_file())


def _preview(client, name="ferias.csv"):
    resp = client.post(IMPORT, {"file": SimpleUploadedFile(name, CSV), "source": "import"})
    assert resp.status_code == 200
    return resp


def test_cancel_after_preview_deletes_the_file_and_imports_nothing(client_for, marketer, tmp_path):
    client = client_for(marketer)
    page = _preview(client).content.decode()
    assert 'data-testid="cancel-import"' in page
    assert len(_uploaded(tmp_path)) == 1
    resp = client.post(reverse("lead_import_cancel"), follow=True)
    assert resp.redirect_chain[-1][0] == IMPORT
    assert "Import cancelled: nothing was imported and the file was deleted." in resp.text
    assert _uploaded(tmp_path) == []
    assert client.post(reverse("lead_import_confirm")).status_code == 410
    assert not Lead.objects.exists()


def test_confirm_and_a_second_preview_leave_no_file_behind(client_for, marketer, tmp_path):
    client = client_for(marketer)
    _preview(client, "one.csv")
    first = _uploaded(tmp_path)
    _preview(client, "two.csv")  # the first preview's file is replaced, not kept
    second = _uploaded(tmp_path)
    assert len(second) == 1 and second != first
    assert client.post(reverse("lead_import_confirm")).status_code == 200
    assert Lead.objects.count() == 2
    assert _uploaded(tmp_path) == []


def test_rep_cannot_cancel_another_flow(client_for, rep):
    assert client_for(rep).post(reverse("lead_import_cancel")).status_code == 403
