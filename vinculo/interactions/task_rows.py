"""Task rows (My day, the task list, the row a Done/Undo click returns), built in Python.

As template nodes a row cost ~0.2 ms (five links, a date, three translated labels, the csrf
input); thirty rows were a third of My day. One ``str.format`` per row with every typed value
through ``html.escape`` (what Django's ``escape`` calls) gives the same markup for a few µs,
like the pipeline board's cards (sales.board_cards). Decision 0014."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from django.template.backends.utils import csrf_input
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from vinculo.core.fast import fast_date_format, fast_reverse

ROW = (
    '<li id="task-{pk}" class="task-row priority-{priority}{done_class}" data-task="{pk}">\n'
    '  <form method="post" action="{toggle}" class="inline-form"\n'
    '        hx-post="{toggle}" hx-target="#task-{pk}" hx-swap="outerHTML">\n'
    "    {csrf}\n"
    '    <input type="hidden" name="next" value="{here}">\n'
    "{button}"
    "  </form>\n"
    '  <span class="task-title">{title}</span>\n'
    "{customer}"
    '  · <span class="muted">{due} <time datetime="{due_iso}">{due_label}</time></span>\n'
    "{priority_badge}{assignee}{links}{status}"
    "</li>\n"
)
UNDO = (
    '    <input type="hidden" name="done" value="0">\n'
    '    <button type="submit" class="secondary outline small task-undo" aria-label="{label}">'
    "{text}</button>\n"
)
DONE = (
    '    <input type="hidden" name="done" value="1">\n'
    '    <button type="submit" class="outline small task-done" aria-label="{label}">'
    '<span aria-hidden="true">☐</span> {text}</button>\n'
)
LINKS = (
    '  · <a href="{edit}" class="small">{edit_text}</a>\n'
    '  · <a href="{delete}" class="small">{delete_text}</a>\n'
)
BADGES = {2: "priority-high", 0: "priority-low"}


def task_rows_html(
    tasks, *, request, here: str, show_assignee: bool = False, just_toggled: bool = False
) -> SafeString:
    """The ``<li>`` of each task (``customer`` and ``assignee`` loaded); its links come back
    to ``here``."""
    back = "?next=" + quote(here, safe="/")
    words = {
        k: escape(v)
        for k, v in {
            "undo": _("Undo"),
            "done": _("Done"),
            "due": _("due"),
            "edit": _("Edit"),
            "delete": _("Delete"),
        }.items()
    }
    csrf = csrf_input(request)
    out = []
    for t in tasks:
        title = escape(t.title)
        toggle = fast_reverse("task_toggle", [t.pk])
        if t.done_at:
            label = _("Undo: reopen “%(title)s”") % {"title": t.title}
            button = UNDO.format(label=escape(label), text=words["undo"])
            title = f"<s>{title}</s>"
        else:
            label = _("Mark “%(title)s” done") % {"title": t.title}
            button = DONE.format(label=escape(label), text=words["done"])
        customer = ""
        if t.customer_id:
            url = fast_reverse("customer_detail", [t.customer_id])
            customer = f'  · <a href="{url}">{escape(str(t.customer))}</a>\n'
        badge = ""
        if t.priority in BADGES:
            badge = (
                f'  <span class="badge {BADGES[t.priority]}">'
                f"{escape(str(t.get_priority_display()))}</span>\n"
            )
        links = ""
        if not t.done_at:
            links = LINKS.format(
                edit=escape(fast_reverse("task_edit", [t.pk]) + back),
                edit_text=words["edit"],
                delete=escape(fast_reverse("task_delete", [t.pk]) + back),
                delete_text=words["delete"],
            )
        status = ""
        if just_toggled:
            message = _("Task marked done.") if t.done_at else _("Task reopened.")
            status = f'  <span class="visually-hidden" role="status">{escape(message)}</span>\n'
        out.append(
            ROW.format(
                pk=t.pk,
                priority=int(t.priority),
                done_class=" is-done" if t.done_at else "",
                toggle=toggle,
                csrf=csrf,
                here=escape(here),
                button=button,
                title=title,
                customer=customer,
                due=words["due"],
                due_iso=t.due_date.isoformat(),
                due_label=escape(fast_date_format(t.due_date, "SHORT_DATE_FORMAT")),
                priority_badge=badge,
                assignee=f'  · <span class="muted">{escape(str(t.assignee))}</span>\n'
                if show_assignee
                else "",
                links=links,
                status=status,
            )
        )
    # pk, priority and dates are numbers, URLs come from reverse() with integers; every
    # other value is escaped above.
    return mark_safe("".join(out))
