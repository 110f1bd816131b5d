"""The "API tokens" page: a signed-in user creates, lists and revokes their own tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from vinculo.accounts import tokens
from vinculo.core.errors import ValidationError
from vinculo.core.http import add_field_errors, domain_errors_to_http


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("What is it for?"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("For example “ERP sync” or “my laptop”."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """List the user's tokens; POST creates one and shows its key once, on this response."""
    new_key = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = tokens.create_token(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_field_errors(form, exc)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": tokens.tokens_for_user(user=request.user),
        "nav": "api_tokens",
    }
    response = render(request, "accounts/tokens.html", context, status=201 if new_key else 200)
    if new_key:
        # The page holds a secret: never let a cache or the back button keep it.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@domain_errors_to_http
def revoke_api_token(request, token_id: int):
    token = tokens.revoke_token(actor=request.user, token_id=token_id)
    messages.success(
        request, _("Token %(prefix)s… revoked: it no longer works.") % {"prefix": token.prefix}
    )
    return redirect("api_tokens")
