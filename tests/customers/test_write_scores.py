"""``write_scores`` sets one model's key inside the database (no read-modify-write in Python):
what the analytics models rely on at 1M customers."""

import pytest

from tests.customers.factories import CustomerFactory
from vinculo.core.errors import ValidationError
from vinculo.customers.models import Customer
from vinculo.customers.services import write_scores


def test_scores_cross_batches_and_only_existing_customers_are_counted(db):
    customers = CustomerFactory.create_batch(7)
    scores = {c.pk: {"segment": "loyal", "r": i} for i, c in enumerate(customers)}
    scores[10**9] = {"segment": "ghost"}  # deleted since the warehouse saw it: skipped
    assert write_scores(model="rfm", scores=scores, batch=3) == 7
    stored = dict(Customer.objects.values_list("pk", "scores"))
    assert stored == {c.pk: {"rfm": {"segment": "loyal", "r": i}} for i, c in enumerate(customers)}


def test_a_rerun_replaces_the_key_and_none_clears_it_keeping_other_models(db):
    a, b = CustomerFactory(), CustomerFactory()
    write_scores(model="churn", scores={a.pk: {"p": 0.8}, b.pk: {"p": 0.2}})
    write_scores(model="rfm", scores={a.pk: {"segment": "lost"}, b.pk: {"segment": "new"}})
    write_scores(model="rfm", scores={a.pk: None, b.pk: {"segment": "champions"}})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.scores == {"churn": {"p": 0.8}, "rfm": None}
    assert b.scores == {"churn": {"p": 0.2}, "rfm": {"segment": "champions"}}


def test_text_with_quotes_and_accents_survives_the_json_round_trip(db):
    c = CustomerFactory()
    value = {"description": 'Compra "a menudo", señal fuerte', "reasons": [{"feature": "ñ"}]}
    write_scores(model="clusters", scores={c.pk: value})
    c.refresh_from_db()
    assert c.scores == {"clusters": value}


def test_a_bad_score_name_is_refused_and_nothing_written(db):
    c = CustomerFactory()
    with pytest.raises(ValidationError):
        write_scores(model='rfm"; DROP', scores={c.pk: 1})
    c.refresh_from_db()
    assert c.scores == {}
