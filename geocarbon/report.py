"""The territory report: one standalone HTML page with the key figures of every step,
the targets, the notices and links to the maps (no computation: it shows results)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from geocarbon import __version__

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:26px;margin-bottom:4px}h2{margin-top:32px;border-bottom:2px solid #2b8a3e;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f1f3f5}td:first-child,th:first-child{text-align:left}.muted{color:#666}.kpi{display:inline-block;
margin:6px 12px 6px 0;padding:10px 14px;background:#f8f9fa;border-radius:6px}.kpi b{display:block;font-size:20px}
ul.notices li{margin:4px 0}
"""


def _table(frame: pd.DataFrame, digits: int = 1) -> str:
    shown = frame.copy()
    shown.columns.name = None
    for col in shown.columns:
        if str(col).endswith("_share") and pd.api.types.is_float_dtype(shown[col]):
            # shares (0-1) as percentages: 0.66 must not read "1"
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.1%}")
        elif pd.api.types.is_float_dtype(shown[col]):
            values = shown[col].dropna()
            d = (
                0
                if len(values) and (values == values.round()).all() and values.abs().max() >= 1
                else digits
            )
            shown[col] = shown[col].map(lambda v, d=d: "" if pd.isna(v) else f"{v:,.{d}f}")
    return shown.to_html(index=False, border=0, escape=True)


def _kpi(label: str, value: str) -> str:
    return f'<div class="kpi"><b>{html.escape(value)}</b><span class="muted">{html.escape(label)}</span></div>'


def _figure(value: Any) -> str:
    """A figure of a KPI box: empty (no data) shown as "no data", never 0."""
    return "no data" if pd.isna(value) else f"{value:,.0f}"


def carbon_coverage(zones: pd.DataFrame, unit: str) -> str:
    """What the carbon figures cover, in words (communes or EPCIs with data, area share)."""
    has = zones["carbon_complete"].astype(bool)
    text = f"Stocks and flows cover {int(has.sum()):,} of the {len(zones):,} {unit} of the run"
    if "area_ha" in zones.columns and zones["area_ha"].notna().any():
        share = zones.loc[has, "area_ha"].sum() / zones["area_ha"].sum()
        text += f" ({share:.1%} of its area)"
    if has.all():
        return text + "."
    return (
        text + f"; the other {unit} have less than 95 % of their area covered by land cover, or "
        "no coefficients: their figures are left empty (see landcover_covered_share and the notices)."
    )


def territory_report(cfg: Any, results: Any, maps: list[str]) -> str:
    """HTML page of a run (``cfg``: PipelineConfig, ``results``: Results)."""
    c = results.communes
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(cfg.name)} — geocarbon report</title>"
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(cfg.name)}</h1><p class='muted'>{html.escape(cfg.description)} — geocarbon {__version__}. "
        "Flows: positive = sequestration, negative = emission.</p>",
        _kpi("communes", f"{len(c):,}"),
    ]
    if c["area_ha"].notna().any():
        parts.append(_kpi("area (ha)", f"{c['area_ha'].sum():,.0f}"))
    if getattr(results, "zones", None) is not None:
        parts.append(_kpi("EPCIs", f"{len(results.zones):,}"))
    if maps:
        links = " · ".join(
            f"<a href='maps/{m}'>{html.escape(m.removesuffix('.html').replace('_', ' '))}</a>"
            for m in maps
        )
        parts.append(f"<p>Interactive maps: {links}</p>")
    if results.summary is not None:
        total = results.summary[results.summary["category"] == "total"]
        zones = results.zones if getattr(results, "zones", None) is not None else c
        with_data = zones[zones["carbon_complete"].astype(bool)]
        stock = with_data["stock_tc"].sum()
        area = with_data["landcover_area_ha"].sum()
        parts += [
            "<h2>Carbon stocks</h2>",
            _kpi("total stock (tC)", f"{stock:,.0f}" if len(with_data) else "no data"),
            _kpi("mean density (tC/ha)", f"{stock / area:,.1f}" if area > 0 else "no data"),
            f"<p>{html.escape(carbon_coverage(zones, 'EPCIs' if zones is not c else 'communes'))}</p>",
            f"<p class='muted'>Coefficients: {html.escape(str(results.coefficient_set))}.</p>",
            _table(total[["pool", "stock_tc", "stock_tc_per_ha"]]),
        ]
        by_cat = results.summary[results.summary["category"] != "total"].pivot_table(
            index="category", columns="pool", values="stock_tc", aggfunc="sum"
        )
        by_cat["total_tc"] = by_cat.sum(axis=1)
        parts.append(_table(by_cat.reset_index().sort_values("total_tc", ascending=False), 0))
    if results.sequestration is not None:
        seq = results.sequestration
        terr = seq[seq["level"] == "territory"].iloc[0]
        parts += [
            f"<h2>Carbon flows {html.escape(str(terr['period']))} (tCO2e/yr)</h2>",
            _kpi("net flow", _figure(terr["total"])),
            _kpi("forest", _figure(terr["forest"])),
            _kpi("agricultural soils", _figure(terr["agricultural_soils"])),
            _kpi("other soils", _figure(terr["other_soils"])),
            _kpi("wood products", _figure(terr["wood_products"])),
            "<p>"
            + html.escape(
                "These figures cover the whole territory."
                if bool(terr["complete"])
                else "These figures are partial: "
                f"{str(terr['coverage_note']).removeprefix('partial: ') or 'see coverage_note'}; "
                "rows flagged complete = false in sequestration.csv are not the figure of their "
                "commune or EPCI."
            )
            + "</p>",
            "<p class='muted'>Per commune, EPCI and territory in sequestration.csv (the emissions calculator's input).</p>",
            _table(
                seq.loc[
                    seq["level"] != "commune",
                    [
                        c
                        for c in seq.columns
                        if c not in ("period", "communes_in_epci", "communes_with_data")
                    ],
                ],
                0,
            ),
        ]
    if results.pv is not None:
        levels = getattr(results.pv, "levels", None)
        parts += ["<h2>Rooftop photovoltaics</h2>"]
        if levels is not None:
            cols = [
                c
                for c in (
                    "level",
                    "code",
                    "name",
                    "pv_buildings",
                    "pv_mwp",
                    "pv_mwh_per_yr",
                    "pv_covered_share",
                    "complete",
                    "coverage_note",
                )
                if c in levels.columns
            ]
            parts.append(_table(levels[levels["level"] != "commune"][cols], 1))
        parts += [
            _table(results.pv.summary, 1),
            _table(results.pv.yields, 0),
        ]
        if len(results.pv.targets):
            parts += ["<h3>Targets</h3>", _table(results.pv.targets, 2)]
    if results.charging is not None:
        ind = results.charging.indicators
        cols = [
            col
            for col in (
                "level",
                "code",
                "communes",
                "communes_with_point",
                "ev_stations",
                "ev_points",
                "ev_kw",
                "ev_points_per_100k_inhab",
                "ev_pop_share_within_5km",
                "ev_pop_share_within_10km",
                "ev_mean_distance_m",
                "population_covered_share",
                "complete",
                "coverage_note",
            )
            if col in ind.columns
        ]
        parts += ["<h2>Public charging</h2>", _table(ind[ind["level"] != "commune"][cols], 2)]
        if len(results.charging.targets):
            parts += ["<h3>Targets</h3>", _table(results.charging.targets, 2)]
    if results.notices:
        items = "".join(f"<li>{html.escape(str(n))}</li>" for n in results.notices)
        parts += [
            "<h2>Notices</h2><p class='muted'>What the run had to repair, substitute or leave out (details in run.json).</p>",
            f"<ul class='notices'>{items}</ul>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
