"""The lead queue's items, built in Python.

"My queue" draws 50 leads of ~30 values each, with three forms per lead; as template nodes
that was ~170 µs a lead, 9 ms of a page's 20 ms budget. One ``str.format`` per lead with the
user's values through ``html.escape`` (what Django's ``escape`` calls) gives the same markup
for a few µs, as the board's cards do (``board_cards``). Each value is prepared by
``selectors_leads.label_leads``; the labels, the csrf input and the "next" address are the
same for every lead and passed in once. Decision 0014."""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

ITEM = (
    '  <li class="queue-item" tabindex="0" data-testid="queue-item" aria-label="{aria}">\n'
    "    <article>\n"
    '      <header class="sales-head">\n'
    "        <div>\n"
    '          <a class="lead-name" href="{url}"><strong>{name}</strong></a>\n'
    "          {company}\n"
    "          <br><small>{meta}</small>\n"
    "          <br><small>{contact}</small>\n"
    "        </div>\n"
    '        <details class="lead-score">\n'
    '          <summary><strong class="score" data-testid="score">{score}</strong>'
    ' <span class="muted small">{score_line}</span></summary>\n'
    "          {reasons}\n"
    "        </details>\n"
    "      </header>\n"
    "{actions}"
    "    </article>\n"
    "  </li>\n"
)
COMPANY = '<span class="muted"> · {}</span>'
REASONS = '<ul class="reasons">\n            {}\n          </ul>'
REASON = '<li><span class="badge">{kind}</span> {label}: {points}</li>'
NO_REASON = '<p class="muted small">{}</p>'
STATUS_FORM = (
    '        <form method="post" action="{status_url}"{cls}>{csrf}\n'
    '          <input type="hidden" name="status" value="{status}">'
    '<input type="hidden" name="version" value="{version}">'
    '<input type="hidden" name="next" value="{next}">\n'
    "{extra}"
    '          <button type="submit" class="{button}" data-action="{status}">{label}</button>\n'
    "        </form>\n"
)
DISQUALIFY_EXTRA = (
    '          <label for="dq-{pk}" class="visually-hidden">{why}</label>\n'
    '          <input type="text" id="dq-{pk}" name="reason" maxlength="255" required'
    ' placeholder="{reason}">\n'
)
ACTIONS = (
    '      <div class="lead-actions" role="group" aria-label="{label}">\n'
    "{forms}"
    '        <a href="{convert_url}" role="button" class="small" data-action="convert">'
    "{convert}</a>\n"
    "{disqualify}"
    "      </div>\n"
)


def _labels() -> dict[str, str]:
    return {
        k: escape(v)
        for k, v in {
            "contacted": _("Mark contacted"),
            "qualified": _("Qualify"),
            "convert": _("Convert"),
            "why": _("Why disqualify?"),
            "reason": _("Reason to disqualify"),
            "disqualify": _("Disqualify"),
            "no_reason": _("No rule matched and no recent engagement."),
        }.items()
    }


def _contact(customer) -> str:
    phone = escape(customer.phone or "")
    email = escape(customer.email or "")
    parts = []
    if phone:
        parts.append(f'<a href="tel:{phone}">{phone}</a>')
    if email:
        parts.append(f'<a href="mailto:{email}">{email}</a>')
    return " · ".join(parts)


def queue_items_html(leads, *, can_edit: bool, csrf_input: SafeString, next_url: str) -> SafeString:
    """The ``<li>`` of each lead of "My queue" (``leads`` labelled by ``label_leads``)."""
    t = _labels()
    nxt = escape(next_url)
    out = []
    for lead in leads:
        c = lead.customer
        if lead.reasons:
            reasons = REASONS.format(
                "".join(
                    REASON.format(
                        kind=escape(str(r["kind"])),
                        label=escape(str(r["label"])),
                        points=escape(str(r["points"])),
                    )
                    for r in lead.reasons
                )
            )
        else:
            reasons = NO_REASON.format(t["no_reason"])
        actions = ""
        if can_edit:
            common = {"status_url": lead.status_url, "csrf": csrf_input, "next": nxt}
            common["version"] = lead.version
            forms = ""
            if lead.status == "new":
                forms += STATUS_FORM.format(
                    **common,
                    cls="",
                    status="contacted",
                    extra="",
                    button="secondary small",
                    label=t["contacted"],
                )
            if lead.status in ("new", "contacted"):
                forms += STATUS_FORM.format(
                    **common,
                    cls="",
                    status="qualified",
                    extra="",
                    button="secondary small",
                    label=t["qualified"],
                )
            disqualify = STATUS_FORM.format(
                **common,
                cls=' class="disqualify"',
                status="disqualified",
                extra=DISQUALIFY_EXTRA.format(pk=lead.pk, why=t["why"], reason=t["reason"]),
                button="outline small",
                label=t["disqualify"],
            )
            actions = ACTIONS.format(
                label=escape(lead.actions_label),
                forms=forms,
                convert_url=lead.convert_url,
                convert=t["convert"],
                disqualify=disqualify,
            )
        out.append(
            ITEM.format(
                aria=escape(lead.aria_label),
                url=lead.url,
                name=escape(lead.name),
                company=COMPANY.format(escape(c.company_name)) if c.company_name else "",
                meta=escape(lead.meta),
                contact=_contact(c),
                score=lead.score,
                score_line=escape(lead.score_line),
                reasons=reasons,
                actions=actions,
            )
        )
    return mark_safe("".join(out))
