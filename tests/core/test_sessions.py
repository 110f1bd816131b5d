"""Signed-in sessions read through vinculo.core.sessions behave as Django's do."""

from __future__ import annotations

import datetime as dt

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone


def test_a_signed_in_user_stays_signed_in_until_the_session_expires(rep, client):
    client.force_login(rep)
    assert client.get(reverse("customer_list")).status_code == 200
    # The session outlives its expiry date: the next page asks to sign in again.
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(reverse("customer_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_signing_out_ends_the_session_and_an_unknown_cookie_is_a_visitor(rep, client):
    client.force_login(rep)
    client.post(reverse("logout"))
    assert client.get(reverse("customer_list")).status_code == 302
    client.cookies["sessionid"] = "x" * 32  # a key that was never issued
    assert client.get(reverse("customer_list")).status_code == 302
    client.force_login(rep)  # and a new sign-in works with the stale cookie gone
    assert client.get(reverse("customer_list")).status_code == 200
