"""How the scores that analytics writes back (``Customer.scores``) read on the 360° page.

Each model stores a small dict; this module turns it into a title, a headline and a few
details a person can read ("Churn risk — high (72 %); reasons: ..."), without knowing the
models beyond the names of their usual keys. An unknown score still shows, key by key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

TITLES = {
    "rfm": _("RFM segment"),
    "clusters": _("Cluster"),
    "profitability": _("Profitability"),
    "channel": _("Preferred channel"),
    "habits": _("Habit change"),
    "next_purchase": _("Likely next purchase"),
    "churn": _("Churn risk"),
    "nbo": _("Next best offer"),
    "clv": _("Lifetime value"),
    "cross_sell": _("Cross-sell"),
}
# Keys that make the headline, in order of preference; the first present wins.
HEADLINE_KEYS = (
    "segment",
    "band",
    "description",
    "label",
    "category",
    "channel",
    "clv",
    "net",
    "cluster",
    "changed",
)
PERCENT_KEYS = {"p", "p_alive", "share", "probability", "margin_pct", "confidence"}
HIDDEN_KEYS = {"as_of", "run", "version"}
LABELS = {
    "p": _("probability"),
    "p_alive": _("probability still active"),
    "expected_purchases_1y": _("expected purchases in a year"),
    "clv": _("lifetime value"),
    "reasons": _("reasons"),
    "score": _("score"),
    "share": _("share"),
    "product": _("product"),
    "net": _("net contribution"),
    "margin": _("margin"),
    "revenue": _("revenue"),
    "confidence": _("confidence"),
    "lift": _("lift"),
    "because": _("because they bought"),
    "also": _("also likely"),
    "net_contribution": _("net contribution"),
}


@dataclass
class ScoreRow:
    key: str
    title: str
    headline: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _fmt(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, float):
        if key in PERCENT_KEYS and 0 <= value <= 1:
            return f"{value * 100:.0f} %"
        return f"{value:,.2f}"
    if isinstance(value, list):
        return "; ".join(
            _fmt(key, v) if not isinstance(v, dict) else ", ".join(str(x) for x in v.values())
            for v in value[:3]
        )
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(k, v)}" for k, v in list(value.items())[:3])
    return str(value)


def score_rows(scores: dict[str, Any] | None) -> list[ScoreRow]:
    rows = []
    for key, value in sorted((scores or {}).items()):
        title = str(TITLES.get(key, key.replace("_", " ").capitalize()))
        if not isinstance(value, dict):
            rows.append(ScoreRow(key, title, _fmt(key, value)))
            continue
        shown = {k: v for k, v in value.items() if k not in HIDDEN_KEYS and v not in (None, "")}
        head_key = next((k for k in HEADLINE_KEYS if k in shown), None)
        headline = _fmt(head_key, shown.pop(head_key)) if head_key else ""
        if head_key == "band" and "p" in shown:
            headline = f"{headline} ({_fmt('p', shown.pop('p'))})"
        details = [(str(LABELS.get(k, k.replace("_", " "))), _fmt(k, v)) for k, v in shown.items()]
        rows.append(ScoreRow(key, title, headline or "—", details[:5]))
    return rows
