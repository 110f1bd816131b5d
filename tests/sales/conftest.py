"""Fixtures shared by the sales tests (the users come from tests/conftest.py)."""

from __future__ import annotations

import pytest

from vinculo.customers import services as customer_services


@pytest.fixture
def customer(rep):
    """A person the rep owns, with accents in the name and one email (quotes are sent to it)."""
    return customer_services.create_customer(
        actor=rep,
        first_name="Íñigo",
        last_name="Peña",
        emails=["inigo@example.es"],
        owner_id=rep.pk,
    )
