"""The page shell (menus and dialogs) is rendered once per language, role and section and
reused; what varies per request is not (decision 0016)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from vinculo.accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _nav(html: str) -> str:
    return html.split('<header class="app-header', 1)[1].split("</nav>", 1)[0]


def test_menus_follow_the_role_after_another_role_rendered_them(client_for, admin, rep):
    admin_html = client_for(admin).get(reverse("customer_list")).content.decode()
    assert "Staff and teams" in _nav(admin_html)
    rep_html = client_for(rep).get(reverse("customer_list")).content.decode()
    assert "Staff and teams" not in _nav(rep_html)
    assert "My queue" in _nav(rep_html)
    # A role change shows at once, not when a cached menu expires.
    rep.role = Role.ANALYST
    rep.save(update_fields=["role"])
    analyst_html = client_for(rep).get(reverse("customer_list")).content.decode()
    assert "My queue" not in _nav(analyst_html)
    assert 'id="quick-log-dialog"' not in analyst_html  # analysts cannot log interactions


def test_menus_follow_the_language_and_the_current_section(client_for, rep):
    client = client_for(rep)
    html = client.get(reverse("customer_list")).content.decode()
    current = re.findall(r'<a href="([^"]+)" aria-current="page"', _nav(html))
    assert current == [reverse("customer_list")]
    html = client.get(reverse("my_day")).content.decode()
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', _nav(html)) == [reverse("my_day")]
    rep.language = "es"
    rep.save(update_fields=["language"])
    html = client.get(reverse("my_day")).content.decode()
    assert "Mi día" in _nav(html) and "Clientes" in _nav(html)
    assert "Atajos de teclado" in html  # the shortcuts dialog, in Spanish too


def test_per_request_parts_are_not_reused(client_for, rep, manager):
    client = client_for(rep)
    first = client.get(reverse("customer_list"), {"q": "ana"}).content.decode()
    assert 'name="q" autocomplete="off"' in first
    assert 'value="ana"' in first
    assert f"({rep.username})" in first
    second = client_for(manager).get(reverse("customer_list"), {"q": "luis"}).content.decode()
    assert 'value="luis"' in second and 'value="ana"' not in second
    assert f"({manager.username})" in second and f"({rep.username})" not in second
    # The language switch returns to the page it was used on.
    assert 'name="next" value="/customers/?q=luis"' in second
