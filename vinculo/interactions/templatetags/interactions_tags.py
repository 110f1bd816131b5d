"""Panels the 360° page embeds: the quick log form and the timeline (owned by interactions)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def quick_log_form(context, customer):
    return format_html('<div id="quick-log-panel" data-customer="{}"></div>', customer.pk)


@register.simple_tag(takes_context=True)
def timeline_panel(context, customer):
    return format_html('<div id="timeline-panel" data-customer="{}"></div>', customer.pk)
