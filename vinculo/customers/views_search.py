"""Header search-as-you-type: a few visible customers matching the query (HTMX partial), or a
plain page of the same results without JavaScript."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from vinculo.accounts.permissions import require
from vinculo.core.http import domain_errors_to_http
from vinculo.customers import search
from vinculo.customers.selectors import visible_customers

QUICK_LIMIT = 8
MIN_CHARS = 2


@login_required
@require_GET
@domain_errors_to_http
def customer_quick_search(request):
    require(request.user, "customers.view")
    q = (request.GET.get("q") or "").strip()[:100]
    results = []
    if len(q) >= MIN_CHARS:
        qs = visible_customers(request.user).only("id", "name", "company_name", "email", "city")
        results = search.quick(qs, q, limit=QUICK_LIMIT)
    context = {"q": q, "results": results, "min_chars": MIN_CHARS}
    if getattr(request, "htmx", False):
        return render(request, "customers/search_results.html", context)
    return render(request, "customers/search.html", {**context, "nav": "customers"})
