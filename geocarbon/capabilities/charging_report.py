"""The public charging sections of the territory report (built by :class:`geocarbon.report.ReportBuilder`)."""

from __future__ import annotations

import pandas as pd

from geocarbon import report_charts as charts
from geocarbon.charging.indicators import share_column
from geocarbon.labels import label
from geocarbon.report import (
    ReportBuilder,
    coverage_sentence,
    esc,
    figure,
    kpi,
    number,
    percent,
    phrase,
    target_row,
    target_value,
    target_year,
    with_names,
)


def charging_section(rep: ReportBuilder) -> None:
    r, lang = rep.r, rep.lang
    ind = r.parts["charging"].indicators
    rep.section("charging", phrase("charging", lang))
    distances_m = list(rep.cfg.charging.distances_m)
    terr = ind[ind["level"] == "territory"]
    if len(terr):
        row = terr.iloc[0]
        coverage = coverage_sentence(row, lang)
        share_col = next(
            (share_column(d) for d in distances_m if d >= 5000),
            share_column(distances_m[-1]),
        )
        if share_col in row.index:
            rep.kpis.append(kpi(label(share_col, lang), percent(row[share_col], lang), coverage))
        rep.parts.append("<div class='kpis'>")
        for col in ("ev_points", "ev_points_per_100k_inhab", share_col):
            if col in row.index:
                value = percent(row[col], lang) if "share" in col else number(row[col], lang)
                rep.parts.append(kpi(label(col, lang, unit=True), value))
        rep.parts += ["</div>", f"<p>{esc(coverage)}</p>"]
    if any(share_column(d) in ind.columns for d in distances_m):
        rep.parts.append(
            figure(
                rep.chart(
                    charts.population_by_distance,
                    ind,
                    [(d, share_column(d)) for d in distances_m],
                    lang,
                ),
                phrase("charging_chart", lang),
            )
        )
    rep.static_map("ev_points_per_100k_inhab", phrase("charging_map", lang))
    rows = with_names(ind[ind["level"] != "commune"], lang)
    cols = [
        c
        for c in (
            "name",
            "code",
            "ev_points",
            "ev_kw",
            "ev_points_per_100k_inhab",
            *[share_column(d) for d in distances_m],
            "ev_mean_distance_m",
            "ev_kw_per_bev",
            "population_covered_share",
            "complete",
            "coverage_note",
        )
        if c in rows.columns
    ]
    rep.epci_table(rows[cols])


def charging_target_rows(rep: ReportBuilder) -> list[str]:
    """Rows of the report's targets table (PCAET indicator form)."""
    r, lang = rep.r, rep.lang
    rows: list[str] = []
    if not len(r.parts["charging"].targets):
        return rows
    for _, t in r.parts["charging"].targets.iterrows():
        ind = str(t["indicator"])
        reached = t.get("reached")
        status = (
            "" if pd.isna(reached) else phrase("reached" if bool(reached) else "not_reached", lang)
        )
        rows.append(
            target_row(
                phrase("charging", lang),
                label(ind, lang, unit=True),
                str(t.get("label") or ""),
                target_value(ind, lang, t["value"]),
                target_value(ind, lang, t["target"]),
                target_year(t["year"]),
                target_value(ind, lang, t["gap"]),
                "",
                status,
            )
        )
    return rows
