"""Template builtins (settings.TEMPLATES ``builtins``): ``{% url %}`` and ``|date`` made cheap.

Same syntax and output as Django's tag; integer-only arguments skip ``reverse()`` after the
first use of a name (vinculo.core.fast, decision 0014)."""

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from vinculo.core.fast import fast_date_format, fast_reverse

register = template.Library()


class FastURLNode(defaulttags.URLNode):
    def render(self, context):
        if self.kwargs:
            return super().render(context)
        args = [arg.resolve(context) for arg in self.args]
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = fast_reverse(view_name, args, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)
    node.__class__ = FastURLNode
    return node


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's ``date`` filter, with common formats compiled once (vinculo.core.fast)."""
    return fast_date_format(value, arg)
