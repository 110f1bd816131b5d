"""A marketer imports a fair's lead list: opens the import from the lead list, uploads a CSV,
reads the preview (one row with an error, named by row and column), confirms, and downloads
the error report."""

from __future__ import annotations

from playwright.sync_api import expect

from vinculo.sales.models import Lead

CSV = (
    "Nombre,Apellidos,Correo,Teléfono,Campaña\n"
    "Ana,García,ana@frutas.es,,Feria\n"
    "Luis,Pérez,,600111222,Feria\n"
    "Sin,Contacto,,,Feria\n"
)


def test_import_leads_from_the_list(page, login, marketer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    path = tmp_path / "feria.csv"
    path.write_text(CSV, encoding="utf-8")
    login(marketer)
    page.goto("/sales/leads/")
    page.get_by_role("button", name="Import leads").click()
    page.get_by_label("File (.csv or .xlsx)").set_input_files(str(path))
    page.get_by_label("Cost per lead").fill("5")
    page.get_by_role("button", name="Preview").click()

    counts = page.get_by_test_id("import-counts")
    expect(counts).to_contain_text("3 rows")
    expect(counts).to_contain_text("2 valid")
    expect(counts).to_contain_text("1 with errors")
    bad = page.locator("[data-testid=import-row][data-status=error]")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("Correo: Give an email address or a phone number.")
    assert not Lead.objects.exists()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the error report (CSV)").click()
    report = download.value.path().read_text(encoding="utf-8-sig")
    assert "4,Correo,Give an email address or a phone number." in report

    page.get_by_role("button", name="Import 2 leads").click()
    expect(page.get_by_test_id("import-counts")).to_contain_text("2 leads imported")
    assert Lead.objects.filter(campaign="Feria", acquisition_cost=5).count() == 2
