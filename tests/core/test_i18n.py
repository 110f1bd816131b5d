"""Spanish UI: the per-user language, the header switch, and the catalog's completeness."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from vinculo.core.catalogs import check_catalog
from vinculo.customers import services as customer_services

pytestmark = pytest.mark.django_db

SPANISH_PO = Path(settings.LOCALE_PATHS[0]) / "es" / "LC_MESSAGES" / "django.po"


def _switch(client, language, next_url="/customers/", url=None):
    return client.post(url or reverse("set_language"), {"language": language, "next": next_url})


def test_header_offers_both_languages_with_the_current_one_selected(rep, client_for):
    html = client_for(rep).get(reverse("customer_list")).content.decode()
    assert 'data-testid="language-switch"' in html
    assert '<option value="en" lang="en" selected>English</option>' in html
    assert '<option value="es" lang="es" >Español</option>' in html


def test_switching_language_is_saved_on_the_user_and_survives_a_new_login(rep, client_for):
    client = client_for(rep)
    response = _switch(client, "es")
    assert response.status_code == 302 and response["Location"] == "/customers/"
    rep.refresh_from_db()
    assert rep.language == "es"
    # A new browser session (no language cookie) still gets the saved language.
    client.logout()
    client.cookies.clear()
    client.force_login(rep)
    response = client.get(reverse("customer_list"))
    assert response["Content-Language"] == "es"
    html = response.content.decode()
    assert '<html lang="es"' in html
    assert "Filtrar clientes" in html and "Filter customers" not in html
    assert '<option value="es" lang="es" selected>Español</option>' in html


def test_saved_language_beats_the_browser_and_the_cookie(rep, client_for):
    rep.language = "es"
    rep.save()
    client = client_for(rep)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("customer_list"), HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert response["Content-Language"] == "es"


def test_django_setlang_route_also_persists_for_a_signed_in_user(rep, client_for):
    rep.language = "es"
    rep.save()
    client = client_for(rep)
    _switch(client, "en", url="/i18n/setlang/")
    rep.refresh_from_db()
    assert rep.language == "en"
    assert client.get(reverse("customer_list"))["Content-Language"] == "en"


def test_unknown_language_changes_nothing_and_unsafe_next_is_refused(rep, client_for):
    rep.language = "es"
    rep.save()
    response = _switch(client_for(rep), "xx", next_url="https://evil.example/")
    assert response["Location"] == "/"
    rep.refresh_from_db()
    assert rep.language == "es"


def test_anonymous_visitor_gets_the_browser_language_on_the_login_page(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert response["Content-Language"] == "es"


# --- the catalog ---------------------------------------------------------------------------


def test_spanish_catalog_has_no_untranslated_fuzzy_or_stale_entries():
    report = check_catalog(SPANISH_PO)
    assert [e.label for e in report.untranslated] == []
    assert [e.label for e in report.fuzzy] == []
    assert [e.label for e in report.bad_placeholders] == []
    assert report.stale_compiled == []  # the committed .mo holds exactly the .po
    assert report.translated > 1000


def test_check_translations_command_passes_on_the_shipped_catalog(capsys):
    call_command("check_translations")
    assert "es: " in capsys.readouterr().out


def test_check_translations_names_every_problem_and_fails(tmp_path, settings, capsys):
    po = tmp_path / "es" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Customers"\nmsgstr "Clientes"\n\n'
        'msgid "Save changes"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Delete"\nmsgstr "Eliminar"\n\n'
        '#, python-format\nmsgid "Edit %(name)s"\nmsgstr "Editar %(nombre)s"\n\n'
        'msgid "%(n)s customer"\nmsgid_plural "%(n)s customers"\n'
        'msgstr[0] "%(n)s cliente"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    settings.LOCALE_PATHS = [tmp_path]
    with pytest.raises(CommandError, match="Incomplete translation catalog: es"):
        call_command("check_translations")
    err = capsys.readouterr().err
    assert "'Save changes'" in err and "'%(n)s customer'" in err  # untranslated, plural too
    assert "'Delete'" in err  # fuzzy
    assert "'Edit %(name)s'" in err  # placeholder renamed in the translation
    assert "django.mo is missing" in err
    assert "'Customers'" not in err


def test_check_translations_names_the_line_of_a_broken_catalog(tmp_path, settings):
    po = tmp_path / "es" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Customers"\nmsgstr Clientes\n')
    settings.LOCALE_PATHS = [tmp_path]
    with pytest.raises(CommandError, match=r"django.po:5"):
        call_command("check_translations")


# --- pages in Spanish ----------------------------------------------------------------------


@pytest.fixture
def spanish_rep(rep):
    rep.language = "es"
    rep.save()
    return rep


def test_spanish_user_sees_my_day_in_spanish(spanish_rep, client_for):
    response = client_for(spanish_rep).get(reverse("home"), follow=True)
    html = response.content.decode()
    assert "Mi día" in html and "Atajos de teclado" in html and "Cerrar sesión" in html
    assert "My day" not in html and "Log out" not in html


def test_spanish_user_sees_customer_list_in_spanish(spanish_rep, client_for):
    customer_services.create_customer(
        actor=spanish_rep, last_name="Ruiz", owner_id=spanish_rep.pk, stage="lost"
    )
    html = client_for(spanish_rep).get(reverse("customer_list")).content.decode()
    assert "Filtrar clientes" in html and "Aplicar filtros" in html
    # A lost customer is "perdido" (its own context), not the opportunity's "perdida".
    assert ">Perdido<" in html
    assert "Apply filters" not in html


def test_spanish_user_sees_the_360_page_in_spanish(spanish_rep, client_for):
    c = customer_services.create_customer(
        actor=spanish_rep, last_name="Núñez", owner_id=spanish_rep.pk, language="en"
    )
    html = client_for(spanish_rep).get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "Cifras clave" in html and "Cronología" in html and "Registrar una interacción" in html
    assert "<dd>Inglés</dd>" in html  # the customer's language, named in Spanish, not "en"
    assert "Key figures" not in html


def test_english_user_keeps_english_pages(rep, client_for):
    rep.language = "en"
    rep.save()
    html = client_for(rep).get(reverse("customer_list"), HTTP_ACCEPT_LANGUAGE="es").content
    assert "Filter customers" in html.decode() and "Filtrar clientes" not in html.decode()


def test_switching_to_spanish_in_the_header_translates_the_next_page(rep, client_for):
    client = client_for(rep)
    response = _switch(client, "es", next_url=reverse("customer_list"))
    html = client.get(response["Location"]).content.decode()
    assert "Filtrar clientes" in html
    response = _switch(client, "en", next_url=reverse("customer_list"))
    html = client.get(response["Location"]).content.decode()
    assert "Filter customers" in html
    rep.refresh_from_db()
    assert rep.language == "en"
