"""The board's card markup, built in Python.

A board draws up to 120 cards of ~28 values each; as template nodes that was ~100 µs a card,
12 ms a page of a 20 ms budget (``format_html``, escaping each argument the Django way, still
~40 µs). One ``str.format`` per card with the user's values through ``html.escape`` (what
Django's ``escape`` calls) gives the same markup for a few µs. Everything a card shows is
prepared by ``selectors_board``; what is the same for every card (labels, the csrf input, the
stage options) is passed in once. Decision 0014."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from vinculo.sales.selectors_board import Card

CARD = (
    '<li class="board-card" id="opp-card-{pk}" tabindex="-1" data-opp-id="{pk}"'
    ' data-version="{version}" data-move-url="{move_url}" draggable="{draggable}">\n'
    '  <p><a href="{url}"><strong>{name}</strong></a></p>\n'
    "  <p>{customer}</p>\n"
    "  <p>{amount} {currency}</p>\n"
    '  <p class="muted">{close_label}: {close}</p>\n'
    '  <p class="muted">{owner_label}: {owner}</p>\n'
    "{age}{form}</li>\n"
)
AGE = '  <p class="muted">{}</p>\n'
FORM = (
    '  <form method="post" action="{move_url}" class="move-form">{csrf}\n'
    '    <input type="hidden" name="version" value="{version}">\n'
    '    <label for="move-{pk}" class="visually-hidden">{move_label}</label>\n'
    '    <select id="move-{pk}" name="stage" data-testid="move-select-{pk}">{options}</select>\n'
    '    <button type="submit" class="small">{move}</button>\n'
    "  </form>\n"
)


@dataclass
class CardPage:
    """What every card of a page shares."""

    opp_url: str  # "/sales/opportunities/"
    can_edit: bool
    csrf_input: SafeString
    labels: dict[str, str]  # close, owner, move


def cards_html(cards: list[Card], options: SafeString, page: CardPage) -> SafeString:
    """The ``<li>`` of each card of one column (``options``: its "Move to…" choices)."""
    draggable = "true" if page.can_edit else "false"
    labels = {k: escape(v) for k, v in page.labels.items()}
    out = []
    for c in cards:
        url = f"{page.opp_url}{c.pk}/"
        form = ""
        if page.can_edit:
            form = FORM.format(
                move_url=url + "move/",
                csrf=page.csrf_input,
                version=c.version,
                pk=c.pk,
                move_label=escape(c.move_label),
                options=options,
                move=labels["move"],
            )
        out.append(
            CARD.format(
                pk=c.pk,
                version=c.version,
                move_url=url + "move/",
                draggable=draggable,
                url=url,
                name=escape(c.name),
                customer=escape(c.customer),
                amount=c.amount,
                currency=escape(c.currency),
                close_label=labels["close"],
                close=escape(c.close),
                owner_label=labels["owner"],
                owner=escape(c.owner),
                age=AGE.format(escape(c.age)) if c.age else "",
                form=form,
            )
        )
    # pk and version are digits, the amount is digits and separators, the URL prefix comes
    # from reverse(); every other value is escaped above.
    return mark_safe("".join(out))
