"""Customer search. Portable fallback: prefix match on the denormalised columns."""

from __future__ import annotations

from django.db.models import Q, QuerySet


def apply(qs: QuerySet, text: str) -> QuerySet:
    text = (text or "").strip()
    if not text:
        return qs
    digits = "".join(c for c in text if c.isdigit())
    q = (
        Q(name__icontains=text)
        | Q(email__istartswith=text)
        | Q(company_name__icontains=text)
        | Q(external_id=text)
    )
    if len(digits) >= 4:
        q |= Q(phone__contains=digits)
    return qs.filter(q)
