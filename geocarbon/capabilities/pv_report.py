"""The rooftop PV sections of the territory report (built by :class:`geocarbon.report.ReportBuilder`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from geocarbon import report_charts as charts
from geocarbon.labels import Language, label
from geocarbon.report import (
    ReportBuilder,
    coverage_sentence,
    esc,
    figure,
    kpi,
    number,
    phrase,
    table,
    target_row,
    target_value,
    target_year,
    with_names,
)


def _azimuth_text(value: Any, lang: Language) -> str:
    """Azimuths of the yields table: "180", "mean 90/…/270", "as pitched" (in French too)."""
    if isinstance(value, (int, float)) and math.isfinite(value):
        return number(value, lang, 0 if float(value).is_integer() else 1)
    text = str(value)
    if lang == "fr":
        text = text.replace("mean ", "moyenne ").replace("as pitched", "comme les toits en pente")
    return text


#: Groups of the PV summary → display-name ids.
PV_GROUPS = {
    "all": "all",
    "roof flat": "flat",
    "roof pitched": "pitched",
    "roof unknown": "unknown",
    "public buildings": "public_buildings",
    "large roofs (> threshold)": "large_roofs",
}


def pv_section(rep: ReportBuilder) -> None:
    """The rooftop PV section: key figures, charts, map, EPCI table, roof forms, yields."""
    lang = rep.lang
    pv = rep.r.parts["pv"]
    levels = getattr(pv, "levels", None)
    rep.section("pv", phrase("pv", lang))
    if levels is not None and (levels["level"] == "territory").any():
        _pv_key_figures(rep, levels[levels["level"] == "territory"].iloc[0])
    rep.parts.append(
        figure(rep.chart(charts.pv_by_roof_form, pv.summary, lang), phrase("pv_roof_chart", lang))
    )
    if levels is not None and (levels["level"] == "commune").sum() > 1:
        n = min(15, int((levels["level"] == "commune").sum()))
        rep.parts.append(
            figure(
                rep.chart(charts.pv_by_commune, levels, lang, top_n=n),
                f"{phrase('pv_commune_chart', lang)} ({phrase('top_communes', lang, n=n)})",
            )
        )
    rep.static_map("pv_mwp", phrase("pv_map", lang))
    if levels is not None:
        rows = with_names(levels[levels["level"] != "commune"], lang)
        cols = [
            c
            for c in (
                "name",
                "code",
                "pv_buildings",
                "pv_mwp",
                "pv_mwh_per_yr",
                "pv_kwp_per_inhab",
                "pv_covered_share",
                "complete",
                "coverage_note",
            )
            if c in rows.columns
        ]
        rep.epci_table(rows[cols])
    rep.parts += [
        f"<h3>{esc(phrase('roof_forms', lang))}</h3>",
        table(_roof_form_table(pv.summary, lang), lang, text_columns=("pv_group",)),
    ]
    if len(pv.yields):
        rep.parts += [
            f"<h3>{esc(phrase('yields', lang))}</h3>",
            table(
                _yields_table(pv.yields, lang), lang, text_columns=("pv_case", "azimuth_deg_text")
            ),
        ]


def _pv_key_figures(rep: ReportBuilder, territory_row: pd.Series) -> None:
    """The territory's installable power [MWp] (also among the report's key figures),
    annual energy [MWh/yr] and buildings, with what the building data cover."""
    lang = rep.lang
    coverage = coverage_sentence(territory_row, lang)
    mwp = number(territory_row["pv_mwp"], lang, 1)
    rep.kpis.append(kpi(label("pv_mwp", lang, unit=True), mwp, coverage))
    rep.parts += [
        "<div class='kpis'>",
        kpi(label("pv_mwp", lang, unit=True), mwp),
        kpi(label("pv_mwh_per_yr", lang, unit=True), number(territory_row["pv_mwh_per_yr"], lang)),
        kpi(label("pv_buildings", lang), number(territory_row["pv_buildings"], lang)),
        "</div>",
        f"<p>{esc(coverage)}</p>",
    ]


def _roof_form_table(pv_summary: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """The PV summary by roof form for the report: groups by their display names, columns
    named as the report's labels (areas [m²], power [MWp], energy [MWh/yr])."""
    summary = pv_summary.copy()
    summary["group"] = [label(PV_GROUPS.get(str(g), str(g)), lang) for g in summary["group"]]
    cols = [
        c
        for c in (
            "group",
            "buildings",
            "buildings_with_potential",
            "usable_m2",
            "mwp",
            "mwh_per_yr",
        )
        if c in summary.columns
    ]
    return summary[cols].rename(
        columns={
            "group": "pv_group",
            "buildings": "pv_buildings",
            "buildings_with_potential": "pv_buildings_with_potential",
            "usable_m2": "pv_usable_m2",
            "mwp": "pv_mwp",
            "mwh_per_yr": "pv_mwh_per_yr",
        }
    )


def _yields_table(pv_yields: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """The yield per roof form [kWh/kWp] for the report: cases by their display names,
    azimuths [degrees] as text."""
    yields = pv_yields.drop(columns=[c for c in pv_yields.columns if c.startswith("weather_")])
    yields["case"] = [label(str(c), lang) for c in yields["case"]]
    if "azimuth_deg" in yields.columns:
        yields["azimuth_deg"] = [_azimuth_text(v, lang) for v in yields["azimuth_deg"]]
    return yields.rename(columns={"case": "pv_case", "azimuth_deg": "azimuth_deg_text"})


def pv_target_rows(rep: ReportBuilder) -> list[str]:
    """Rows of the report's targets table (PCAET indicator form)."""
    r, lang = rep.r, rep.lang
    rows: list[str] = []
    if not len(r.parts["pv"].targets):
        return rows
    for _, t in r.parts["pv"].targets.iterrows():
        ind = str(t["indicator"])
        covers = t["potential_covers_target"]
        # empty: the data do not decide it (partial coverage): say so, never "short"
        status = (
            phrase("not_checked", lang)
            if covers is None or pd.isna(covers)
            else phrase("potential_covers" if bool(covers) else "potential_short", lang)
        )
        if pd.isna(t.get("existing")):
            status = (
                f"{status} ; {phrase('no_existing', lang)}"
                if lang == "fr"
                else f"{status}; {phrase('no_existing', lang)}"
            )
        rows.append(
            target_row(
                phrase("pv", lang),
                label(ind, lang, unit=True),
                str(t.get("label") or ""),
                target_value(ind, lang, t.get("existing")),
                target_value(ind, lang, t["target"]),
                target_year(t["year"]),
                target_value(ind, lang, t.get("gap_to_target")),
                target_value(ind, lang, t["potential"]),
                status,
            )
        )
    return rows
