"""The public charging sections of the territory report (built by :class:`geocarbon.report.ReportBuilder`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geocarbon import report_charts as charts
from geocarbon.labels import Language, label
from geocarbon.report import (
    ReportBuilder,
    coverage_sentence,
    esc,
    figure,
    in_language,
    kpi,
    number,
    percent,
    phrase,
    sources_of,
    target_row,
    target_value,
    target_year,
    with_names,
)


def charging_section(rep: ReportBuilder) -> None:
    r, lang = rep.r, rep.lang
    ind = r.charging.indicators
    rep.section("charging", phrase("charging", lang))
    distances_km = [d / 1000 for d in rep.cfg.charging.distances_m]
    terr = ind[ind["level"] == "territory"]
    if len(terr):
        row = terr.iloc[0]
        coverage = coverage_sentence(row, lang)
        share_col = next(
            (f"ev_pop_share_within_{d:g}km" for d in distances_km if d >= 5),
            f"ev_pop_share_within_{distances_km[-1]:g}km",
        )
        if share_col in row.index:
            rep.kpis.append(kpi(label(share_col, lang), percent(row[share_col], lang), coverage))
        rep.parts.append("<div class='kpis'>")
        for col in ("ev_points", "ev_points_per_100k_inhab", share_col):
            if col in row.index:
                value = percent(row[col], lang) if "share" in col else number(row[col], lang)
                rep.parts.append(kpi(label(col, lang, unit=True), value))
        rep.parts += ["</div>", f"<p>{esc(coverage)}</p>"]
    if any(f"ev_pop_share_within_{d:g}km" in ind.columns for d in distances_km):
        rep.parts.append(
            figure(
                charts.population_by_distance(ind, distances_km, lang),
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
            *[f"ev_pop_share_within_{d:g}km" for d in distances_km],
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
    if not len(r.charging.targets):
        return rows
    for _, t in r.charging.targets.iterrows():
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


#: How the charging figures are computed (French, English).
CHARGING_METHOD = (
    "Recharge : points de recharge publics géolocalisés et contrôlés (puissances, coordonnées), "
    "rattachés à leur commune ; part de la population (grille) à moins de chaque distance du "
    "point le plus proche ; puissance par véhicule électrique (AFIR).",
    "Charging: public charging points located and checked (power, coordinates), joined to "
    "their commune; share of the (gridded) population within each distance of the nearest "
    "point; power per battery electric vehicle (AFIR).",
)
#: Sources of the charging inputs: input role → (French, English).
CHARGING_SOURCES = {
    "charging_points": (
        "Points de recharge : fichier consolidé des IRVE, data.gouv.fr (Licence Ouverte Etalab "
        "2.0).",
        "Charging points: consolidated IRVE file, data.gouv.fr (Etalab Open Licence 2.0).",
    ),
    "population_raster": (
        "Population carroyée : grille fournie au calcul (par exemple INSEE Filosofi, carreaux "
        "de 200 m).",
        "Gridded population: the grid given to the run (e.g. INSEE Filosofi, 200 m cells).",
    ),
    "ev_fleet": (
        "Parc de véhicules électriques : données fournies au calcul (par exemple SDES, parc au "
        "1er janvier).",
        "Electric-vehicle fleet: the data given to the run (e.g. SDES, fleet on 1 January).",
    ),
}


def charging_method_lines(cfg: Any, results: Any, lang: Language) -> list[str]:
    """How the figures were computed (report's method section)."""
    return [in_language(CHARGING_METHOD, lang)]


def charging_source_lines(
    cfg: Any, results: Any, keys: set[str], lang: Language
) -> list[tuple[str, str]]:
    """Sources and attribution of the inputs ``keys``: (input role, sentence) pairs."""
    return sources_of(CHARGING_SOURCES, keys, lang)
