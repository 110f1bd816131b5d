"""The fast paths in vinculo.core.fast show users exactly what Django would: the same links,
the same choice labels and the same dates, in English and in Spanish."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from decimal import Decimal

import pytest
from django.apps import apps
from django.db.models import Model
from django.template import engines
from django.template.defaultfilters import date as django_date
from django.template.defaultfilters import floatformat
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.timesince import timesince

from vinculo.core.fast import GroupedAmount, Timesince, fast_date_format, fast_reverse

LANGS = ["en", "es"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("customer_detail", [1]),
        ("customer_detail", [987654321]),
        ("task_toggle", [42]),
        ("customer_remove_email", [7, 12]),
        ("customer_remove_phone", [7, 3]),
    ],
)
def test_fast_reverse_gives_django_links(name, args):
    assert fast_reverse(name, args) == reverse(name, args=args)
    assert fast_reverse(name, args) == reverse(name, args=args)  # from the cached template


def test_fast_reverse_falls_back_for_anything_but_integers():
    assert fast_reverse("customer_detail", ["5"]) == reverse("customer_detail", args=["5"])
    assert fast_reverse("customer_list") == reverse("customer_list")
    with pytest.raises(NoReverseMatch):
        fast_reverse("customer_detail", [True])
    with pytest.raises(NoReverseMatch):
        fast_reverse("no_such_page", [1])


def test_url_tag_renders_what_djangos_did():
    tpl = engines["django"].from_string(
        "{% url 'customer_detail' pk %}|{% url 'customer_remove_email' pk 9 %}|"
        "{% url 'customer_detail' pk=pk %}|{% url 'customer_list' %}|"
        "{% url 'no_such_page' 1 as missing %}[{{ missing }}]|"
        "{% url 'customer_detail' pk as u %}{{ u }}"
    )
    out = tpl.render({"pk": 31})
    assert out == (
        f"{reverse('customer_detail', args=[31])}|{reverse('customer_remove_email', args=[31, 9])}|"
        f"{reverse('customer_detail', kwargs={'pk': 31})}|{reverse('customer_list')}|[]|"
        f"{reverse('customer_detail', args=[31])}"
    )
    with pytest.raises(NoReverseMatch):
        engines["django"].from_string("{% url 'no_such_page' 1 %}").render({})


def _choice_fields():
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if getattr(field, "choices", None) and hasattr(field, "attname"):
                yield model, field


def test_every_choice_label_matches_django_in_both_languages():
    checked = 0
    for model, field in _choice_fields():
        values = [value for value, _ in field.flatchoices] + ["not-a-choice", None]
        for lang in LANGS:
            with translation.override(lang):
                for value in values:
                    obj = model.__new__(model)
                    obj.__dict__[field.attname] = value
                    ours = getattr(obj, f"get_{field.name}_display")()
                    assert ours == Model._get_FIELD_display(obj, field), (model, field, value)
                    checked += 1
    assert checked > 100  # customers, interactions, tasks, sales...


def test_choice_labels_follow_the_language():
    from vinculo.interactions.models import Task

    task = Task(priority=2)
    with translation.override("en"):
        english = task.get_priority_display()
    with translation.override("es"):
        spanish = task.get_priority_display()
    assert english == "High" and spanish != english


MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
VALUES = [
    dt.date(2026, 1, 5),
    dt.date(1999, 12, 31),
    dt.datetime(2026, 11, 30, 0, 0, tzinfo=MADRID),
    dt.datetime(2026, 11, 30, 12, 0, tzinfo=MADRID),
    dt.datetime(2026, 11, 30, 13, 30, 5, tzinfo=MADRID),
    dt.datetime(2026, 3, 1, 9, 5),
    dt.datetime(2026, 7, 4, 23, 59, 59, 123456, tzinfo=MADRID),
]
FORMATS = [
    None,
    "SHORT_DATE_FORMAT",
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "Y-m-d",
    "c",
    "j N Y, H:i",
    r"j \d\e F \d\e Y",
    "D, d M Y",  # not covered by the fast path: Django formats it
    "y/n/j G:i:s P",
]


@pytest.mark.parametrize("lang", LANGS)
def test_dates_read_as_django_formats_them(lang):
    with translation.override(lang):
        for value in VALUES:
            for fmt in FORMATS:
                try:
                    expected = django_date(value, fmt)
                except TypeError:  # time specifiers on a date: Django refuses, so do we
                    with pytest.raises(TypeError):
                        fast_date_format(value, fmt)
                    continue
                assert fast_date_format(value, fmt) == expected, (value, fmt)


def test_date_filter_in_templates_uses_local_time():
    tpl = engines["django"].from_string('{{ when|date:"SHORT_DATETIME_FORMAT" }}')
    utc = dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC)  # 00:30 next day in Madrid
    with translation.override("es"):
        assert tpl.render({"when": utc}) == "02/06/2026 00:30"
    assert engines["django"].from_string("{{ x|date }}").render({"x": None}) == ""


def test_blank_forms_render_once_per_language_as_django_would():
    from django.template.loader import get_template

    from vinculo.core.fast import blank_form_fields
    from vinculo.customers.forms import AddressForm

    def fresh():
        tpl = get_template("customers/_field.html")
        return "".join(tpl.render({"field": f}) for f in AddressForm(auto_id="a_%s"))

    rendered = {}
    for lang in ["en", "es", "en"]:
        with translation.override(lang):
            html = blank_form_fields(
                AddressForm, field_template="customers/_field.html", auto_id="a_%s"
            )
            assert html == fresh()
            rendered[lang] = html
    assert rendered["en"] != rendered["es"]  # the labels follow the language
    assert 'id="a_street"' in rendered["en"]


@pytest.mark.parametrize("lang", LANGS)
def test_ages_read_as_django_writes_them(lang):
    # A board card says how long it has been in its stage; every age a card can show, from
    # the future to years, calendar months of every length, in both languages.
    rnd = random.Random(7)
    nows = [
        dt.datetime(2026, 3, 31, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 2, 29, 23, 59, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Madrid")),
    ]
    with translation.override(lang):
        for now in nows:
            since = Timesince(now)
            seconds = [-60, 0, 30, 59, 60, 61, 3599, 3600, 86399, 86400, 604800, 2678400]
            seconds += [rnd.randint(0, 4 * 365 * 86400) for _ in range(400)]
            for s in seconds:
                d = (now - dt.timedelta(seconds=s)).astimezone(dt.UTC)
                assert since(d) == timesince(d, now), (now, s)


@pytest.mark.parametrize("lang", LANGS)
def test_amounts_read_as_django_writes_them(lang):
    values = ["0.00", "-0.00", "0.01", "-0.01", "999.99", "1000.00", "-1234567.80", "12.5", "7"]
    values += [f"{random.Random(i).randint(-(10**9), 10**9) / 100:.2f}" for i in range(200)]
    with translation.override(lang):
        amount = GroupedAmount()
        for v in values:
            assert amount(Decimal(v)) == floatformat(Decimal(v), "2g"), v
