"""Plotly figures for the dashboards, built in Python from selector data and rendered as a
``<div>`` plus an inline script; the Plotly bundle itself is served from static/vendor
(copied from the plotly package by ``make assets``), never from a CDN."""

from __future__ import annotations

from collections import defaultdict

import plotly.graph_objects as go
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from vinculo.analytics.selectors import Dashboard, Drill

CONFIG = {"displaylogo": False, "responsive": True}
LAYOUT = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 50},
    "height": 360,
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.2},
}


def to_html(fig: go.Figure, div_id: str) -> SafeString:
    # Axis ticks and hover values with the reader's decimal mark and grouping ("1.234,5").
    separators = f"{get_format('DECIMAL_SEPARATOR')}{get_format('THOUSAND_SEPARATOR')}"
    fig.update_layout(**LAYOUT, separators=separators)
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG, div_id=div_id)
    # Plotly's own markup; the data inside it is JSON-encoded by Plotly.
    return mark_safe(html)


def _f(value) -> float | None:
    return None if value is None else float(value)


def _month(value) -> str:
    """A month as its label "2026-11": a category, so one month is not drawn as a day's
    worth of timestamps and the forecast's months line up with the history's."""
    return value.strftime("%Y-%m") if hasattr(value, "strftime") else str(value)[:7]


def executive(d: Dashboard) -> dict[str, SafeString]:
    months = d.tables["revenue"].rows
    fig = go.Figure()
    fig.add_bar(
        x=[_month(r["month"]) for r in months],
        y=[_f(r["revenue"]) for r in months],
        name=_("Revenue"),
    )
    fig.add_scatter(
        x=[_month(r["month"]) for r in months],
        y=[_f(r["margin"]) for r in months],
        name=_("Margin"),
        mode="lines+markers",
    )
    fc = d.series.get("forecast")
    if fc:
        x = [_month(p["month"]) for p in fc]
        if all(p["lower"] is not None and p["upper"] is not None for p in fc):
            fig.add_scatter(
                x=x,
                y=[p["upper"] for p in fc],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
            fig.add_scatter(
                x=x,
                y=[p["lower"] for p in fc],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                name=_("Forecast interval"),
            )
        fig.add_scatter(
            x=x, y=[p["mean"] for p in fc], mode="lines", name=_("Forecast"), line={"dash": "dash"}
        )
    fig.update_xaxes(type="category", categoryorder="category ascending")
    fig.update_layout(title=_("Revenue by month"), yaxis_title=_("Revenue"))
    pipe = d.tables["pipeline"].rows
    pfig = go.Figure()
    x = [_month(r["month"]) for r in pipe]
    pfig.add_bar(x=x, y=[_f(r["open_amount"]) for r in pipe], name=_("Open amount"))
    pfig.add_bar(
        x=x, y=[_f(r["weighted_by_probability"]) for r in pipe], name=_("Weighted by probability")
    )
    pfig.add_bar(x=x, y=[_f(r["won_amount"]) for r in pipe], name=_("Won"))
    pfig.update_xaxes(type="category")
    pfig.update_layout(title=_("Pipeline forecast (expected close month)"), barmode="group")
    return {"revenue": to_html(fig, "chart-revenue"), "pipeline": to_html(pfig, "chart-pipeline")}


def sales(d: Dashboard, drill: Drill) -> dict[str, SafeString]:
    funnel = d.tables["funnel"].rows
    ffig = go.Figure(
        go.Funnel(y=[r["stage"] for r in funnel], x=[r["opportunities"] for r in funnel])
    )
    ffig.update_layout(title=_("Pipeline funnel"))
    rows = d.tables["drill"].rows
    bfig = go.Figure()
    bfig.add_bar(
        x=[r["label"] for r in rows], y=[_f(r["revenue"]) for r in rows], name=_("Revenue")
    )
    bfig.add_bar(x=[r["label"] for r in rows], y=[_f(r["margin"]) for r in rows], name=_("Margin"))
    bfig.update_layout(
        title=d.tables["drill"].title, barmode="group", xaxis_title=drill.level.label
    )
    return {"funnel": to_html(ffig, "chart-funnel"), "drill": to_html(bfig, "chart-drill")}


def service(d: Dashboard) -> dict[str, SafeString]:
    by_channel: dict[str, list] = defaultdict(list)
    for r in d.series["monthly"]:
        by_channel[r["channel"]].append(r)
    table = d.tables["channels"]
    fig = go.Figure()
    for channel, rows in sorted(by_channel.items()):
        fig.add_bar(
            x=[_month(r["month"]) for r in rows],
            y=[r["interactions"] for r in rows],
            name=table.label("channel", channel),
        )
    fig.update_xaxes(type="category", categoryorder="category ascending")
    fig.update_layout(title=_("Interactions by channel and month"), barmode="stack")
    return {"channels": to_html(fig, "chart-channels")}


def marketing(d: Dashboard) -> dict[str, SafeString]:
    per_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in d.tables["leads"].rows:
        per_source[r["source"]][0] += r["leads"]
        per_source[r["source"]][1] += r["converted"]
    sources = sorted(per_source, key=lambda s: -per_source[s][0])
    x = [d.tables["leads"].label("source", s) for s in sources]
    fig = go.Figure()
    fig.add_bar(x=x, y=[per_source[s][0] for s in sources], name=_("Leads"))
    fig.add_bar(x=x, y=[per_source[s][1] for s in sources], name=_("Converted"))
    fig.update_layout(title=_("Leads by source"), barmode="group")
    return {"leads": to_html(fig, "chart-leads")}


def customer_value(d: Dashboard) -> dict[str, SafeString]:
    grid = [[0] * 5 for _r in range(5)]
    for cell in d.series["rfm"]:
        grid[cell["r"] - 1][cell["f"] - 1] = cell["customers"]
    rfm = go.Figure(
        go.Heatmap(
            z=grid,
            x=[1, 2, 3, 4, 5],
            y=[1, 2, 3, 4, 5],
            colorscale="Blues",
            hovertemplate=_("R %{y} · F %{x}: %{z} customers") + "<extra></extra>",
        )
    )
    # Quintiles and months are labels, not a continuous scale.
    rfm.update_xaxes(type="category")
    rfm.update_yaxes(type="category")
    rfm.update_layout(
        title=_("RFM grid"), xaxis_title=_("Frequency quintile"), yaxis_title=_("Recency quintile")
    )

    def month(c) -> str:
        return c["cohort"].strftime("%Y-%m")

    cohorts = sorted({month(c) for c in d.series["cohorts"]})
    ages = sorted({c["age"] for c in d.series["cohorts"]})
    cells = {(month(c), c["age"]): _f(c["retention_pct"]) for c in d.series["cohorts"]}
    ret = go.Figure(
        go.Heatmap(
            z=[[cells.get((c, a)) for a in ages] for c in cohorts],
            x=ages,
            y=cohorts,
            colorscale="Greens",
            hovertemplate=_("%{y}, month %{x}: %{z} %") + "<extra></extra>",
        )
    )
    ret.update_xaxes(type="category")
    ret.update_yaxes(type="category")
    ret.update_layout(
        title=_("Cohort retention (% of the cohort buying)"),
        xaxis_title=_("Months after the first order"),
        yaxis_title=_("First order month"),
    )
    out = {"rfm": to_html(rfm, "chart-rfm"), "cohorts": to_html(ret, "chart-cohorts")}
    if d.series["clv"]:
        clv = go.Figure(go.Histogram(x=d.series["clv"], nbinsx=40, name=_("Customers")))
        clv.update_layout(
            title=_("Customer lifetime value"), xaxis_title=_("CLV"), yaxis_title=_("Customers")
        )
        out["clv"] = to_html(clv, "chart-clv")
    return out
