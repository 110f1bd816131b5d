"""Timeline items (the 360° page and the timeline's own pages), built in Python.

As template nodes an item cost ~0.25 ms (four labels, three dates, the body's first lines,
its follow-up tasks); the first page of a timeline was a fifth of the 360° page. One
``str.format`` per item with every typed value through ``html.escape`` (what Django's
``escape`` calls) gives the same markup, like the pipeline board's cards
(sales.board_cards). Decision 0014."""

from __future__ import annotations

from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _

from vinculo.core.fast import fast_date_format
from vinculo.interactions.templatetags.interactions_tags import KIND_ICONS, duration, first_lines

ITEM = (
    '<li class="timeline-item kind-{kind}" id="interaction-{pk}" data-interaction="{pk}">\n'
    "  <article>\n"
    '    <header class="timeline-item-head">\n'
    '      <span class="timeline-kind"><span aria-hidden="true">{icon}</span> {kind_label}'
    "</span>\n"
    '      <span class="badge">{channel}</span>\n'
    '      <span class="muted">{direction}</span>\n'
    "{outcome}{duration}"
    '      <span class="timeline-when"><time datetime="{iso}" data-relative title="{full}">'
    '{short}</time> · <span class="muted">{full}</span></span>\n'
    "    </header>\n"
    "{subject}{body}"
    '    <footer class="timeline-item-foot muted">\n'
    "      {by}\n"
    "{follow_ups}"
    "    </footer>\n"
    "  </article>\n"
    "</li>\n"
)
FOLLOW_UP = '      <span class="timeline-follow-up">· {open}{text}{close}</span>\n'


def timeline_items_html(items) -> SafeString:
    """The ``<li>`` of each interaction (``user`` loaded, ``follow_ups`` prefetched)."""
    system = escape(_("by the system"))
    done = escape(_("done"))
    out = []
    for i in items:
        when = timezone.localtime(i.occurred_at)
        full = escape(fast_date_format(when, "DATETIME_FORMAT"))
        outcome = ""
        if i.outcome:
            outcome = (
                f'      <span class="badge outcome">{escape(str(i.get_outcome_display()))}</span>\n'
            )
        length = ""
        if i.duration_seconds is not None:
            length = f'      <span class="muted">{escape(duration(i.duration_seconds))}</span>\n'
        subject = ""
        if i.subject:
            subject = f'    <p class="timeline-subject"><strong>{escape(i.subject)}</strong></p>\n'
        body = ""
        if i.body:
            text = escape(normalize_newlines(first_lines(i.body, 3))).replace("\n", "<br>")
            body = f'    <p class="timeline-body">{text}</p>\n'
        by = _("by %(user)s") % {"user": escape(str(i.user))} if i.user_id else system
        tasks = []
        for task in i.follow_ups.all():
            due = escape(fast_date_format(task.due_date, "SHORT_DATE_FORMAT"))
            text = _("Task “%(title)s”, due %(due)s") % {"title": escape(task.title), "due": due}
            tasks.append(
                FOLLOW_UP.format(
                    open="<s>" if task.done_at else "",
                    text=text,
                    close=f"</s> {done}" if task.done_at else "",
                )
            )
        out.append(
            ITEM.format(
                kind=escape(i.kind),
                pk=i.pk,
                icon=KIND_ICONS.get(i.kind, "•"),
                kind_label=escape(str(i.get_kind_display())),
                channel=escape(str(i.get_channel_display())),
                direction=escape(str(i.get_direction_display())),
                outcome=outcome,
                duration=length,
                iso=when.isoformat(),
                full=full,
                short=escape(fast_date_format(when, "SHORT_DATETIME_FORMAT")),
                subject=subject,
                body=body,
                by=by,
                follow_ups="".join(tasks),
            )
        )
    # pk is a number and dates are formatted by us; every typed value is escaped above.
    return mark_safe("".join(out))
