"""Parse list filters from a query string, shared by the list page, export and the API."""

from __future__ import annotations

from django.http import QueryDict

from vinculo.customers.selectors import CustomerFilters


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def filters_from_querydict(qd: QueryDict) -> CustomerFilters:
    """?q=&kind=&stage=&owner=&team=&tag=&city=&country=&source=&organization=&sort=
    plus custom fields as ?attr.<key>=value. Unknown or malformed values are ignored."""
    return CustomerFilters(
        q=(qd.get("q") or "").strip()[:200],
        kind=qd.get("kind") or "",
        stage=qd.get("stage") or "",
        owner_id=_int(qd.get("owner")),
        team_id=_int(qd.get("team")),
        tag=(qd.get("tag") or "").strip(),
        city=(qd.get("city") or "").strip(),
        country=(qd.get("country") or "").strip(),
        source=(qd.get("source") or "").strip(),
        organization_id=_int(qd.get("organization")),
        attributes={k[5:]: v for k, v in qd.items() if k.startswith("attr.") and v},
        # A search lists the most recently added matches first unless a column was chosen.
        sort=qd.get("sort") or ("recent" if (qd.get("q") or "").strip() else "name"),
    )
