"""The scenarios section of the territory report (built by :class:`geocarbon.report.ReportBuilder`)."""

from __future__ import annotations

import pandas as pd

from geocarbon import report_charts as charts
from geocarbon.capabilities.carbon_scenarios import scenario_results
from geocarbon.report import ReportBuilder, esc, figure, phrase, table

#: Years of the report's table of flows (those within the trajectories).
TABLE_YEARS = (2030, 2050)
#: EPCI panels per row of the EPCI chart.
EPCI_COLUMNS = 2


def scenarios_section(rep: ReportBuilder) -> None:
    """Trajectories of the territory and of each EPCI, flows in 2030 and 2050, gaps to the
    targets."""
    results, lang = scenario_results(rep.r), rep.lang
    tab = results.table
    base, horizon = results.base_year, int(tab["year"].max())
    rep.section("scenarios", phrase("scenarios", lang, base=base, horizon=horizon))
    rep.parts.append(
        f"<p>{esc(phrase('scenarios_intro', lang, base=base, horizon=horizon, first=base + 1))}</p>"
    )
    has_ranges = "flow_tco2e_per_yr_p5" in tab and tab["flow_tco2e_per_yr_p5"].notna().any()
    if has_ranges:
        rep.parts.append(f"<p class='muted'>{esc(phrase('scenarios_ranges', lang))}</p>")
    territory = tab[tab["level"] == "territory"]
    name = str(territory["name"].iloc[0])
    rep.parts.append(
        figure(
            rep.chart(charts.scenario_trajectories, territory, lang),
            phrase("scenarios_chart", lang, name=name),
        )
    )
    epci = tab[tab["level"] == "epci"]
    if epci["code"].nunique() >= 2:
        rep.parts.append(
            figure(
                rep.chart(charts.scenario_trajectories, epci, lang, columns=EPCI_COLUMNS),
                phrase("scenarios_chart", lang, name="EPCI"),
            )
        )
    years = [y for y in TABLE_YEARS if y in set(tab["year"])] or [horizon]
    rep.parts.append(
        f"<h3>{esc(phrase('scenarios_table', lang, years=', '.join(map(str, years)), base=base))}</h3>"
    )
    rep.parts.append(
        table(year_rows(territory, years), lang, text_columns=["scenario_label", "year"])
    )
    gaps = tab.dropna(subset=["target_tco2e_per_yr"])
    if len(gaps):
        rep.parts.append(f"<h3>{esc(phrase('scenarios_gaps', lang))}</h3>")
        cols = [
            "scenario_label",
            "name",
            "year",
            "flow_tco2e_per_yr",
            "target_tco2e_per_yr",
            "gap_tco2e_per_yr",
        ]
        shown = gaps[cols].assign(year=gaps["year"].astype(str))
        rep.parts.append(table(shown, lang, text_columns=["scenario_label", "name", "year"]))


def year_rows(territory: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Per scenario: the net flow and the stock change of the territory in ``years``."""
    rows = territory[territory["year"].isin(years)]
    rows = rows.assign(year=rows["year"].astype(str))
    return rows[
        [
            "scenario_label",
            "year",
            "flow_tco2e_per_yr",
            "stock_change_tc",
            "land_take_ha_per_yr",
            "forest_area_ha",
        ]
    ]
