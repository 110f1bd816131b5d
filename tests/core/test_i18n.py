"""Spanish UI: the per-user language, the header switch, and the catalog's completeness."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


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
    assert '<html lang="es"' in response.content.decode()


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
