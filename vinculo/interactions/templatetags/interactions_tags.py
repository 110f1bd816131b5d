"""Panels the 360° page embeds (the quick log form and the timeline) and small filters the
timeline templates use."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from vinculo.accounts.permissions import can

register = template.Library()

KIND_ICONS = {
    "call": "📞",
    "email": "✉️",
    "letter": "📮",
    "fax": "📠",
    "sms": "💬",
    "chat": "🗨️",
    "meeting": "🤝",
    "web_visit": "🌐",
    "form": "📝",
    "note": "🗒️",
}


@register.simple_tag(takes_context=True)
def quick_log_form(context, customer):
    """{% quick_log_form customer %}: the keyboard-first form to log a contact (nothing for
    users without the ``interactions.log`` capability)."""
    from vinculo.interactions.views import render_quick_log_panel

    return render_quick_log_panel(context.get("request"), customer)


@register.simple_tag(takes_context=True)
def timeline_panel(context, customer):
    """{% timeline_panel customer %}: the first page of the customer's timeline with filters."""
    from vinculo.interactions.views import render_timeline_panel

    return render_timeline_panel(context.get("request"), customer)


@register.simple_tag(takes_context=True)
def user_can(context, capability: str) -> bool:
    """{% user_can "interactions.log" as can_log %}"""
    request = context.get("request")
    return bool(request is not None and can(request.user, capability))


@register.filter
def kind_icon(kind: str) -> str:
    return KIND_ICONS.get(kind, "•")


@register.filter
def first_lines(text: str, count: int = 3) -> str:
    """The first ``count`` non-empty lines of ``text`` (an ellipsis when there is more)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    out = "\n".join(lines[:count])
    if len(out) > 400:
        out = out[:400].rstrip() + "…"
    elif len(lines) > count:
        out += "\n…"
    return out


@register.filter
def duration(seconds) -> str:
    """90 -> "1 min 30 s"; 3900 -> "1 h 5 min"."""
    if seconds in (None, ""):
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes:
        parts.append(_("%(n)d min") % {"n": minutes})
    if secs and not hours:
        parts.append(_("%(n)d s") % {"n": secs})
    return " ".join(parts) or _("0 min")


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def widget_with_errors(field):
    """Render a bound field's widget; with errors, point aria-describedby at the message so
    screen readers read it when the input gets focus."""
    if not field.errors:
        return field.as_widget()
    return field.as_widget(
        attrs={"aria-invalid": "true", "aria-describedby": f"{field.auto_id}-errors"}
    )


@register.simple_tag
def timeline_items(items):
    """{% timeline_items items %}: the items' markup (interactions.timeline_items)."""
    from vinculo.interactions.timeline_items import timeline_items_html

    return timeline_items_html(items)
