"""The territory report: one self-contained HTML page (styles, charts and map images inline,
nothing fetched) with the key figures of every step and what they cover, charts, static maps,
tables per EPCI and per commune, the targets in the PCAET indicator form, the method, sources
and licences, the inputs and the notices. In French (PCAET vocabulary) or English, printable
on A4. No computation and no file access: it shows results.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geocarbon import __version__
from geocarbon import report_charts as charts
from geocarbon.deliverables import coefficient_set, data_vintages, translate_note
from geocarbon.labels import Language, label
from geocarbon.notice_texts import notice_text

_STYLE = """
*{box-sizing:border-box}
body{font:14px/1.5 "DejaVu Sans",system-ui,sans-serif;max-width:1040px;margin:24px auto;padding:0 18px;color:#1f2933}
h1{font-size:26px;margin:0 0 4px}h2{margin-top:36px;border-bottom:2px solid #2b8a3e;padding-bottom:4px;font-size:20px}
h3{font-size:16px;margin:22px 0 6px}
.sub{color:#52606d;margin:0 0 12px}.muted{color:#616e7c;font-size:12.5px}td .muted{font-size:0.92em}
nav ol{columns:2;font-size:13px;margin:8px 0 0}
table{border-collapse:collapse;margin:6px 0 14px;font-size:12px;width:100%}
.wide{overflow-x:auto}
th,td{border:1px solid #cbd2d9;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f0f4f8;font-weight:600}td.t,th.t{text-align:left}
tr.total td{font-weight:700;background:#f8f9fa}
.kpis{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.kpi{flex:1 1 180px;padding:10px 12px;background:#f8f9fa;border-left:4px solid #2b8a3e;border-radius:4px}
.kpi b{display:block;font-size:19px}.kpi span{display:block;font-size:12px;color:#52606d}
.kpi small{display:block;font-size:11px;color:#7b8794;margin-top:2px}
figure{margin:10px 0 16px;break-inside:avoid;page-break-inside:avoid}
figure svg,figure img{max-width:100%;height:auto}figcaption{font-size:12px;color:#52606d}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;font-size:13px}
.sign{background:#e7f5ff;border-left:4px solid #1971c2;padding:6px 10px;font-size:13px}
ul.notices li{margin:4px 0;font-size:13px}code{font-size:11.5px;word-break:break-all}
details summary{cursor:pointer;font-weight:600;margin:8px 0}
.reached{color:#2b8a3e}.missed{color:#c92a2a}
@page{size:A4;margin:15mm 12mm 16mm}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10.5pt}
 nav{display:none}
 h2{break-before:page;page-break-before:always}h2.first{break-before:auto;page-break-before:auto}
 h2,h3{break-after:avoid;page-break-after:avoid}
 table{font-size:7.5pt;page-break-inside:auto}tr{break-inside:avoid;page-break-inside:avoid}
 thead{display:table-header-group}
 th,td{padding:2px 3px;word-break:normal;overflow-wrap:normal;hyphens:auto}
 th{font-size:7pt;font-weight:600}
 table.many{font-size:6.8pt}table.many th{font-size:6.3pt}
 td{white-space:nowrap}td.t{white-space:normal}
 .wide{overflow:visible}
 details{display:block}details>summary{display:none}details>*{display:block}
 a{color:inherit;text-decoration:none}
}
"""

#: Sentences of the report: key → (French, English). Labels of ids come from
#: :mod:`geocarbon.labels`.
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Rapport territorial", "Territory report"),
    "contents": ("Sommaire", "Contents"),
    "key_figures": ("Chiffres clés", "Key figures"),
    "stocks": ("Stocks de carbone", "Carbon stocks"),
    "carbon": ("Carbone : stocks et flux", "Carbon: stocks and flows"),
    "flows": ("Flux de carbone", "Carbon flows"),
    "pv": ("Photovoltaïque en toiture", "Rooftop photovoltaics"),
    "charging": ("Recharge publique", "Public charging"),
    "targets": ("Objectifs", "Targets"),
    "tables": ("Tableaux par commune", "Tables per commune"),
    "method": ("Méthode, sources et licences", "Method, sources and licences"),
    "inputs": ("Données d'entrée", "Inputs"),
    "notices": ("Avertissements", "Notices"),
    "maps": ("Cartes interactives", "Interactive maps"),
    "data_vintage": ("Millésime des données", "Data vintage"),
    "no_data": ("sans donnée", "no data"),
    "whole": (
        "Ces chiffres couvrent tout le territoire.",
        "These figures cover the whole territory.",
    ),
    "partial": ("Ces chiffres sont partiels", "These figures are partial"),
    "partial_rows": (
        "les lignes marquées « Complet = Non » ne sont pas le chiffre de leur commune ou EPCI.",
        "rows marked Complete = No are not the figure of their commune or EPCI.",
    ),
    "cover": ("Les stocks et flux couvrent", "Stocks and flows cover"),
    "of_the": ("sur les", "of the"),
    "of_run": ("du calcul", "of the run"),
    "of_area": ("de sa surface", "of its area"),
    "cover_rest": (
        "les autres ont moins de 95 % de leur surface couverte par l'occupation du sol, ou pas de "
        "coefficients : leurs chiffres sont laissés vides (voir les avertissements).",
        "the other ones have less than 95 % of their area covered by land cover, or no "
        "coefficients: their figures are left empty (see the notices).",
    ),
    "sign": (
        "Convention de signe : un flux positif est une séquestration (absorption de CO2 par le "
        "territoire), un flux négatif une émission.",
        "Sign convention: a positive flow is sequestration (CO2 taken up by the territory), a "
        "negative flow an emission.",
    ),
    "stocks_chart": (
        "Stocks de carbone par occupation du sol et réservoir",
        "Carbon stocks by land use and pool",
    ),
    "stocks_map": ("Densité de carbone par commune", "Carbon density per commune"),
    "flows_chart": (
        "Flux nets par catégorie PCAET",
        "Net flows by PCAET category",
    ),
    "luc_chart": (
        "Matrice des changements d'occupation des sols (surface changée par an)",
        "Land-use change matrix (area changed per year)",
    ),
    "flows_map": ("Flux net par commune", "Net flow per commune"),
    "pv_roof_chart": ("Potentiel par forme de toit", "Potential by roof form"),
    "pv_commune_chart": ("Communes au plus fort potentiel", "Communes with the largest potential"),
    "pv_map": ("Potentiel photovoltaïque par commune", "Photovoltaic potential per commune"),
    "charging_chart": (
        "Part de la population selon la distance au point de recharge le plus proche",
        "Share of the population by distance to the nearest charging point",
    ),
    "charging_map": (
        "Points de recharge pour 100 000 habitants par commune",
        "Charging points per 100,000 inhabitants per commune",
    ),
    "per_epci": ("Par EPCI et pour le territoire", "Per EPCI and for the territory"),
    "by_category": ("Par occupation du sol", "By land use"),
    "roof_forms": ("Par forme de toit", "By roof form"),
    "yields": ("Productibles retenus", "Yields used"),
    "communes_details": (
        "Toutes les communes (cliquer pour déplier ; imprimé en annexe)",
        "Every commune (click to expand; printed as an appendix)",
    ),
    "coefficients": ("Coefficients", "Coefficients"),
    "inputs_intro": (
        "Fichiers lus par le calcul, avec leur date de modification et leur empreinte SHA-256 "
        "(run.json en donne le chemin complet).",
        "Files the run read, with their modification date and SHA-256 fingerprint (run.json "
        "gives their full path).",
    ),
    "notices_intro": (
        "Ce que le calcul a dû réparer, remplacer ou laisser de côté (détails dans run.json).",
        "What the run had to repair, substitute or leave out (details in run.json).",
    ),
    "no_notice": ("Aucun avertissement.", "No notice."),
    "produced": (
        "Produit par geocarbon {version}. Les chiffres sont ceux des fichiers livrés à côté de ce "
        "rapport (sequestration.csv, geocarbon.gpkg…).",
        "Produced by geocarbon {version}. The figures are those of the files delivered beside this "
        "report (sequestration.csv, geocarbon.gpkg…).",
    ),
    "targets_intro": (
        "Au format des indicateurs du PCAET : valeur actuelle, objectif, année et écart "
        "(objectif − valeur ; négatif ou nul : atteint).",
        "In the PCAET indicator form: current value, target, year and gap (target − value; zero "
        "or negative: reached).",
    ),
    "file": ("Fichier", "File"),
    "role": ("Rôle", "Role"),
    "modified": ("Fichier modifié le", "File modified"),
    "sha256": ("SHA-256", "SHA-256"),
    "theme": ("Thème", "Theme"),
    "indicator": ("Indicateur", "Indicator"),
    "value": ("Valeur", "Value"),
    "target": ("Objectif", "Target"),
    "year": ("Année", "Year"),
    "gap": ("Écart", "Gap"),
    "status": ("Statut", "Status"),
    "reached": ("atteint", "reached"),
    "not_reached": ("non atteint", "not reached"),
    "potential": ("Potentiel", "Potential"),
    "potential_covers": ("le potentiel couvre l'objectif", "the potential covers the target"),
    "potential_short": ("le potentiel ne couvre pas l'objectif", "the potential falls short"),
    "not_checked": (
        "non vérifié : les données ne couvrent qu'une partie du territoire (voir pv_targets.csv)",
        "not checked: the data cover part of the territory only (see pv_targets.csv)",
    ),
    "no_existing": (
        "installations existantes non fournies",
        "existing installations not given",
    ),
    "yes": ("Oui", "Yes"),
    "no": ("Non", "No"),
    "epcis": ("EPCI", "EPCIs"),
    "communes_word": ("communes", "communes"),
    "period": ("Période", "Period"),
    "flows_title": ("Flux de carbone {period}", "Carbon flows {period}"),
    "top_communes": ("les {n} premières", "the top {n}"),
    "largest_flows": (
        "les {n} plus grands flux nets, en valeur absolue",
        "the {n} largest net flows, in absolute value",
    ),
    "too_many_communes": (
        "Les {n} communes ne sont pas listées ici (trop nombreuses pour un rapport imprimé) : "
        "leurs chiffres sont dans geocarbon.gpkg et les fichiers CSV livrés avec ce rapport.",
        "The {n} communes are not listed here (too many for a printed report): their figures "
        "are in geocarbon.gpkg and the CSV files delivered with this report.",
    ),
}

#: Above this many communes the report does not list them one by one (the GeoPackage and
#: the CSV files do).
MAX_APPENDIX_COMMUNES = 2000
#: Bars of the flows chart: the EPCIs (or communes) of largest net flow.
FLOW_CHART_BARS = 30

#: What each input is, for the inputs table: key of ``Results.files`` → (French, English).
INPUT_ROLES: dict[str, tuple[str, str]] = {
    "communes": ("Communes (contours)", "Communes (boundaries)"),
    "commune_table": ("Table des communes", "Commune table"),
    "epci_names": ("Noms des EPCI", "EPCI names"),
    "landcover": ("Occupation du sol", "Land cover"),
    "landcover_before": ("Occupation du sol initiale", "Start-date land cover"),
    "forest_map": ("Carte des essences forestières", "Forest-type map"),
    "areas": ("Table des surfaces", "Area table"),
    "change_table": ("Table des changements d'occupation", "Land-use change table"),
    "buildings": ("Bâtiments", "Buildings"),
    "weather": ("Fichier météo", "Weather file"),
    "irradiation_raster": ("Irradiation", "Irradiation"),
    "charging_points": ("Points de recharge (IRVE)", "Charging points (IRVE)"),
    "population_raster": ("Grille de population", "Population grid"),
    "ev_fleet": ("Parc de véhicules électriques", "Electric-vehicle fleet"),
}


@dataclass(frozen=True)
class InputFact:
    """An input file as the report lists it: its role key, file name (never a local path),
    modification date (``YYYY-MM-DD``) and SHA-256."""

    key: str
    name: str
    modified: str
    sha256: str


_LOCAL_PATH = re.compile(
    r"(?<![\w.])(?:/|[A-Za-z]:\\)(?:[^\s/\\:;,'\"()<>]+[/\\])+([^\s/\\:;,'\"()<>]*)"
)


def without_paths(text: str) -> str:
    """``text`` with every absolute local path shortened to its last name
    (``<folder>/aldo`` → ``aldo``, ``<drive>:\\<folder>\\irve.csv`` → ``irve.csv``): the report is
    handed on, the folders of the machine that ran it mean nothing there."""

    def short(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        parts = [p for p in re.split(r"[/\\]", match.group(0)) if p]
        return parts[-1] if parts else match.group(0)

    return _LOCAL_PATH.sub(short, text)


def _t(key: str, lang: Language, **fmt: Any) -> str:
    text = TEXT[key][0 if lang == "fr" else 1]
    return text.format(**fmt) if fmt else text


def _esc(value: Any) -> str:
    return html.escape(str(value))


def number(value: Any, lang: Language, digits: int = 0) -> str:
    """A number for reading: ``digits`` decimals, thousands separated (French: narrow space
    and decimal comma); empty (NaN) is "no data", never 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if not math.isfinite(v):
        return _t("no_data", lang)
    if v == 0:
        v = 0.0  # no "-0"
    text = f"{v:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "−")


def percent(value: Any, lang: Language) -> str:
    """A share (0–1) as a percentage with one decimal."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if not math.isfinite(v):
        return _t("no_data", lang)
    return number(v * 100, lang, 1) + ("\u202f%" if lang == "fr" else " %")


def _digits(values: pd.Series) -> int:
    """Decimals for reading a column: none from 100 up, one from 1, two below."""
    finite = pd.to_numeric(values, errors="coerce").abs()
    finite = finite[np.isfinite(finite)]
    if finite.empty:
        return 0
    top = float(finite.max())
    if top >= 100:
        return 0
    if (finite == finite.round()).all():
        return 0
    return 1 if top >= 1 else 2


def table(
    frame: pd.DataFrame,
    lang: Language,
    *,
    text_columns: Sequence[str] = (),
    total_row: int | None = None,
) -> str:
    """An HTML table: headers from :func:`geocarbon.labels.label` (with units), shares as
    percentages, numbers rounded for reading, text escaped, booleans as yes/no."""
    if "complete" in frame.columns and "coverage_note" in frame.columns:
        notes = frame["coverage_note"].fillna("").astype(str).str.strip()
        if frame["complete"].fillna(False).astype(bool).all() and (notes == "").all():
            # every row whole: the two columns would say nothing (the text says it)
            frame = frame.drop(columns=["complete", "coverage_note"])
        elif lang == "fr":
            frame = frame.assign(coverage_note=notes.map(translate_note))
    cols = list(frame.columns)
    head = "".join(
        f"<th class='t'>{_esc(label(c, lang, unit=True))}</th>"
        if c in text_columns
        else f"<th>{_esc(label(c, lang, unit=True))}</th>"
        for c in cols
    )
    formatters: dict[str, Any] = {}
    for c in cols:
        col = frame[c]
        if c in text_columns:
            formatters[c] = lambda v: (
                "" if v is None or (isinstance(v, float) and math.isnan(v)) else _esc(v)
            )
        elif pd.api.types.is_bool_dtype(col) or c == "complete":
            formatters[c] = lambda v: "" if pd.isna(v) else _t("yes" if bool(v) else "no", lang)
        elif c.endswith("_share") or "_share_" in c:
            formatters[c] = lambda v: percent(v, lang)
        elif pd.api.types.is_numeric_dtype(col):
            d = _digits(col)
            formatters[c] = lambda v, d=d: number(v, lang, d)
        else:
            formatters[c] = lambda v: "" if pd.isna(v) else _esc(v)
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = "".join(
            f"<td class='t'>{formatters[c](row[c])}</td>"
            if c in text_columns
            else f"<td>{formatters[c](row[c])}</td>"
            for c in cols
        )
        cls = " class='total'" if total_row is not None and i == total_row else ""
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f"<div class='wide'><table{' class=many' if len(cols) > 9 else ''}><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _kpi(title: str, value: str, note: str = "") -> str:
    small = f"<small>{_esc(note)}</small>" if note else ""
    return f"<div class='kpi'><b>{_esc(value)}</b><span>{_esc(title)}</span>{small}</div>"


def _figure(image: str, caption: str) -> str:
    body = image if image.startswith("<svg") else f"<img alt='{_esc(caption)}' src='{image}'>"
    return f"<figure>{body}<figcaption>{_esc(caption)}</figcaption></figure>"


def carbon_coverage(zones: pd.DataFrame, unit: str, lang: Language = "en") -> str:
    """What the carbon figures cover, in words (communes or EPCIs with data, area share)."""
    has = zones["carbon_complete"].astype(bool)
    text = (
        f"{_t('cover', lang)} {number(int(has.sum()), lang)} {_t('of_the', lang)} "
        f"{number(len(zones), lang)} {unit} {_t('of_run', lang)}"
    )
    if "area_ha" in zones.columns and zones["area_ha"].notna().any():
        share = zones.loc[has, "area_ha"].sum() / zones["area_ha"].sum()
        text += f" ({percent(share, lang)} {_t('of_area', lang)})"
    if has.all():
        return text + "."
    return text + "; " + _t("cover_rest", lang)


def _coverage_sentence(row: pd.Series, lang: Language) -> str:
    """Whole or partial, with the row's coverage note."""
    if bool(row.get("complete", True)):
        return _t("whole", lang)
    note = str(row.get("coverage_note") or "").removeprefix("partial: ")
    if lang == "fr":
        return f"{_t('partial', lang)} : {translate_note(note)}"
    return f"{_t('partial', lang)}: {note}"


def _name_of(row: pd.Series, lang: Language) -> str:
    if row.get("level") == "territory":
        return label("territory", lang)
    name = row.get("name")
    return str(name) if isinstance(name, str) and name.strip() else str(row.get("code", ""))


def _with_names(frame: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """Rows with a readable name (the territory's, else the code when a zone has none); the
    code column is dropped when every name is the code (EPCIs without names)."""
    out = frame.copy()
    out["name"] = [_name_of(r, lang) for _, r in out.iterrows()]
    zones = out[out["level"] != "territory"]
    if len(zones) and (zones["name"].astype(str) == zones["code"].astype(str)).all():
        out = out.drop(columns="code")
    return out


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


def _plot_frame(communes: Any) -> Any:
    """Commune polygons in metres for the static maps (a geographic layer is projected to a
    local equal-area CRS)."""
    geo = communes[communes.geometry.notna() & ~communes.geometry.is_empty]
    if geo.crs is not None and not geo.crs.is_projected:
        from geocarbon.geo import local_equal_area_crs

        geo = geo.to_crs(local_equal_area_crs(geo))
    return geo


def _has_boundaries(communes: Any) -> bool:
    return (
        "geometry" in communes.columns
        and hasattr(communes, "geometry")
        and bool(communes.geometry.notna().any())
        and bool((~communes.geometry.is_empty).any())
    )


# ----------------------------------------------------------------------------------------
# sections


class _Report:
    def __init__(self, cfg: Any, results: Any, lang: Language) -> None:
        self.cfg = cfg
        self.r = results
        self.lang = lang
        self.toc: list[tuple[str, str]] = []
        self.parts: list[str] = []
        self.kpis: list[str] = []
        self.maps_geo = _plot_frame(results.communes) if _has_boundaries(results.communes) else None
        self.epci_outline = None
        if self.maps_geo is not None and "epci_code" in self.maps_geo.columns:
            codes = self.maps_geo["epci_code"]
            if codes.notna().any() and codes.nunique() > 1:
                self.epci_outline = self.maps_geo[["epci_code", "geometry"]].dissolve("epci_code")

    def section(self, anchor: str, title: str) -> None:
        self.toc.append((anchor, title))
        self.parts.append(f"<h2 id='{anchor}'>{_esc(title)}</h2>")

    def static_map(
        self, column: str, caption: str, *, diverging: bool = False, unit: str = ""
    ) -> None:
        geo = self.maps_geo
        if geo is None or column not in geo.columns or not geo[column].notna().any():
            return
        legend = unit or label(column, self.lang, unit=True)
        image = charts.theme_map(
            geo, column, legend, diverging=diverging, language=self.lang, outline=self.epci_outline
        )
        self.parts.append(_figure(image, caption))

    # -- carbon stocks --------------------------------------------------------------------
    def stocks(self) -> None:
        r, lang = self.r, self.lang
        c = r.communes
        zones = r.zones if r.zones is not None else c
        unit = _t("epcis", lang) if r.zones is not None else _t("communes_word", lang)
        with_data = zones[zones["carbon_complete"].astype(bool)]
        stock = float(with_data["stock_tc"].sum()) if len(with_data) else float("nan")
        area = float(with_data["landcover_area_ha"].sum()) if len(with_data) else float("nan")
        coverage = carbon_coverage(zones, unit, lang)
        self.kpis.append(_kpi(label("stock_tc", lang, unit=True), number(stock, lang), coverage))
        self.section("stocks", _t("stocks", lang))
        self.parts += [
            "<div class='kpis'>",
            _kpi(label("stock_tc", lang, unit=True), number(stock, lang)),
            _kpi(
                label("stock_tc_per_ha", lang, unit=True),
                number(stock / area, lang, 1) if area and area > 0 else _t("no_data", lang),
            ),
            _kpi(label("landcover_area_ha", lang, unit=True), number(area, lang)),
            "</div>",
            f"<p>{_esc(coverage)}</p>",
            f"<p class='muted'>{_esc(_t('coefficients', lang))}{' :' if lang == 'fr' else ':'} "
            f"{_esc(without_paths(coefficient_set(self.cfg, r, lang)))}</p>",
        ]
        summary = r.summary
        self.parts.append(
            _figure(charts.stocks_by_category(summary, lang), _t("stocks_chart", lang))
        )
        if r.carbon_level == "commune":
            self.static_map("stock_tc_per_ha", _t("stocks_map", lang))
        rows = summary[summary["category"] != "total"]
        by_cat = rows.pivot_table(
            index="category", columns="pool", values="stock_tc", aggfunc="sum"
        )
        pools = [p for p in ("soil", "litter", "live_biomass", "dead_wood") if p in by_cat.columns]
        by_cat = by_cat[pools]
        area_by = rows.groupby("category")["area_ha"].first()
        out = pd.DataFrame({"category": [label(k, lang) for k in by_cat.index]})
        out["area_ha"] = area_by.reindex(by_cat.index).to_numpy()
        for p in pools:
            out[p] = by_cat[p].to_numpy()
        out["stock_tc"] = by_cat.sum(axis=1).to_numpy()
        out["stock_tc_per_ha"] = out["stock_tc"] / out["area_ha"].where(out["area_ha"] > 0)
        out = out.sort_values("stock_tc", ascending=False)
        area_total = float(out["area_ha"].sum())
        total: dict[str, Any] = {"category": label("total", lang), "area_ha": area_total}
        for p in [*pools, "stock_tc"]:
            total[p] = float(out[p].sum())
        total["stock_tc_per_ha"] = total["stock_tc"] / area_total if area_total > 0 else np.nan
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
        out = out.rename(columns={p: f"stock_{p}_tc" for p in pools})
        self.parts += [
            f"<h3>{_esc(_t('by_category', lang))}</h3>",
            table(out, lang, text_columns=("category",), total_row=len(out) - 1),
        ]

    # -- carbon flows ---------------------------------------------------------------------
    def flows(self) -> None:
        r, lang = self.r, self.lang
        seq = r.sequestration
        terr = seq[seq["level"] == "territory"].iloc[0]
        period = str(terr["period"])
        coverage = _coverage_sentence(terr, lang)
        self.kpis.append(
            _kpi(
                f"{label('flow_tco2e_per_yr', lang, unit=True)} {period}",
                number(terr["total"], lang),
                coverage,
            )
        )
        self.section("flows", _t("flows_title", lang, period=period))
        self.parts.append(f"<p class='sign'>{_esc(_t('sign', lang))}</p>")
        self.parts.append("<div class='kpis'>")
        for cat in ("total", "forest", "agricultural_soils", "other_soils", "wood_products"):
            self.parts.append(_kpi(label(cat, lang, unit=True), number(terr[cat], lang)))
        self.parts.append("</div>")
        text = coverage
        if not bool(terr["complete"]):
            text += "; " + _t("partial_rows", lang)
        self.parts.append(f"<p>{_esc(text)}</p>")
        caption = _t("flows_chart", lang)
        level = "epci" if (seq["level"] == "epci").sum() >= 2 else "commune"
        n_zones = int(((seq["level"] == level) & seq["total"].notna()).sum())
        if n_zones > FLOW_CHART_BARS:
            caption += f" ({_t('largest_flows', lang, n=FLOW_CHART_BARS)})"
        self.parts.append(_figure(charts.flows_by_epci(seq, lang, top_n=FLOW_CHART_BARS), caption))
        if r.flows is not None and (r.flows["flow_kind"] == "landuse_change").any():
            self.parts.append(
                _figure(charts.landuse_change_matrix(r.flows, lang), _t("luc_chart", lang))
            )
        if r.carbon_level == "commune":
            self.static_map("flow_tco2e_per_yr", _t("flows_map", lang), diverging=True)
        rows = _with_names(seq[seq["level"] != "commune"], lang)
        cols = [
            c
            for c in (
                "name",
                "code",
                "forest",
                "agricultural_soils",
                "other_soils",
                "wood_products",
                "total",
                "landcover_covered_share",
                "complete",
                "coverage_note",
            )
            if c in rows.columns
        ]
        self.epci_table(rows[cols])

    def epci_table(self, rows: pd.DataFrame) -> None:
        """The EPCI and territory rows of a theme (its last row: the territory, in bold)."""
        rows = rows.copy()
        if "code" in rows.columns:
            rows.loc[rows["code"] == "territory", "code"] = ""
            names = rows["name"].astype("string").fillna("").str.strip() if "name" in rows else None
            if names is not None and (names != "").all() and (names != rows["code"]).all():
                # every EPCI named: its SIREN is in the commune tables and the spreadsheet;
                # without it the table fits the printed page
                rows = rows.drop(columns="code")
        self.parts += [
            f"<h3>{_esc(_t('per_epci', self.lang))}</h3>",
            table(
                rows,
                self.lang,
                text_columns=("name", "code", "coverage_note"),
                total_row=len(rows) - 1,
            ),
        ]

    # -- rooftop PV -------------------------------------------------------------------------
    def pv(self) -> None:
        r, lang = self.r, self.lang
        pv = r.pv
        levels = getattr(pv, "levels", None)
        self.section("pv", _t("pv", lang))
        terr = None
        if levels is not None and (levels["level"] == "territory").any():
            terr = levels[levels["level"] == "territory"].iloc[0]
        if terr is not None:
            coverage = _coverage_sentence(terr, lang)
            self.kpis.append(
                _kpi(label("pv_mwp", lang, unit=True), number(terr["pv_mwp"], lang, 1), coverage)
            )
            self.parts += [
                "<div class='kpis'>",
                _kpi(label("pv_mwp", lang, unit=True), number(terr["pv_mwp"], lang, 1)),
                _kpi(label("pv_mwh_per_yr", lang, unit=True), number(terr["pv_mwh_per_yr"], lang)),
                _kpi(label("pv_buildings", lang), number(terr["pv_buildings"], lang)),
                "</div>",
                f"<p>{_esc(coverage)}</p>",
            ]
        self.parts.append(
            _figure(charts.pv_by_roof_form(pv.summary, lang), _t("pv_roof_chart", lang))
        )
        if levels is not None and (levels["level"] == "commune").sum() > 1:
            n = min(15, int((levels["level"] == "commune").sum()))
            self.parts.append(
                _figure(
                    charts.pv_by_commune(levels, lang, top_n=n),
                    f"{_t('pv_commune_chart', lang)} ({_t('top_communes', lang, n=n)})",
                )
            )
        self.static_map("pv_mwp", _t("pv_map", lang))
        if levels is not None:
            rows = _with_names(levels[levels["level"] != "commune"], lang)
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
            self.epci_table(rows[cols])
        summary = pv.summary.copy()
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
        summary = summary[cols].rename(
            columns={
                "group": "pv_group",
                "buildings": "pv_buildings",
                "buildings_with_potential": "pv_buildings_with_potential",
                "usable_m2": "pv_usable_m2",
                "mwp": "pv_mwp",
                "mwh_per_yr": "pv_mwh_per_yr",
            }
        )
        self.parts += [
            f"<h3>{_esc(_t('roof_forms', lang))}</h3>",
            table(summary, lang, text_columns=("pv_group",)),
        ]
        yields = pv.yields.copy()
        if len(yields):
            yields["case"] = [label(str(c), lang) for c in yields["case"]]
            if "azimuth_deg" in yields.columns:
                yields["azimuth_deg"] = [_azimuth_text(v, lang) for v in yields["azimuth_deg"]]
            yields = yields.rename(columns={"case": "pv_case", "azimuth_deg": "azimuth_deg_text"})
            self.parts += [
                f"<h3>{_esc(_t('yields', lang))}</h3>",
                table(yields, lang, text_columns=("pv_case", "azimuth_deg_text")),
            ]

    # -- charging ---------------------------------------------------------------------------
    def charging(self) -> None:
        r, lang = self.r, self.lang
        ind = r.charging.indicators
        self.section("charging", _t("charging", lang))
        distances_km = [d / 1000 for d in self.cfg.charging.distances_m]
        terr = ind[ind["level"] == "territory"]
        if len(terr):
            row = terr.iloc[0]
            coverage = _coverage_sentence(row, lang)
            share_col = next(
                (f"ev_pop_share_within_{d:g}km" for d in distances_km if d >= 5),
                f"ev_pop_share_within_{distances_km[-1]:g}km",
            )
            if share_col in row.index:
                self.kpis.append(
                    _kpi(label(share_col, lang), percent(row[share_col], lang), coverage)
                )
            self.parts.append("<div class='kpis'>")
            for col in ("ev_points", "ev_points_per_100k_inhab", share_col):
                if col in row.index:
                    value = percent(row[col], lang) if "share" in col else number(row[col], lang)
                    self.parts.append(_kpi(label(col, lang, unit=True), value))
            self.parts += ["</div>", f"<p>{_esc(coverage)}</p>"]
        if any(f"ev_pop_share_within_{d:g}km" in ind.columns for d in distances_km):
            self.parts.append(
                _figure(
                    charts.population_by_distance(ind, distances_km, lang),
                    _t("charging_chart", lang),
                )
            )
        self.static_map("ev_points_per_100k_inhab", _t("charging_map", lang))
        rows = _with_names(ind[ind["level"] != "commune"], lang)
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
        self.epci_table(rows[cols])

    # -- targets ----------------------------------------------------------------------------
    def targets(self) -> None:
        r, lang = self.r, self.lang
        rows: list[str] = []

        def fmt(indicator: str, v: Any) -> str:
            if "share" in indicator:
                return percent(v, lang)
            if indicator == "points":  # a count: no decimals
                return number(v, lang, 0)
            d = 2 if indicator in ("kw_per_bev", "pv_kwp_per_inhab") else 1
            return number(v, lang, d)

        def year(v: Any) -> str:
            return "" if v is None or pd.isna(v) else str(int(v))

        if r.pv is not None and len(r.pv.targets):
            for _, t in r.pv.targets.iterrows():
                ind = str(t["indicator"])
                covers = t["potential_covers_target"]
                # empty: the data do not decide it (partial coverage): say so, never "short"
                status = (
                    _t("not_checked", lang)
                    if covers is None or pd.isna(covers)
                    else _t("potential_covers" if bool(covers) else "potential_short", lang)
                )
                if pd.isna(t.get("existing")):
                    status = (
                        f"{status} ; {_t('no_existing', lang)}"
                        if lang == "fr"
                        else f"{status}; {_t('no_existing', lang)}"
                    )
                rows.append(
                    self._target_row(
                        _t("pv", lang),
                        label(ind, lang, unit=True),
                        str(t.get("label") or ""),
                        fmt(ind, t.get("existing")),
                        fmt(ind, t["target"]),
                        year(t["year"]),
                        fmt(ind, t.get("gap_to_target")),
                        fmt(ind, t["potential"]),
                        status,
                    )
                )
        if r.charging is not None and len(r.charging.targets):
            for _, t in r.charging.targets.iterrows():
                ind = str(t["indicator"])
                reached = t.get("reached")
                status = (
                    ""
                    if pd.isna(reached)
                    else _t("reached" if bool(reached) else "not_reached", lang)
                )
                rows.append(
                    self._target_row(
                        _t("charging", lang),
                        label(ind, lang, unit=True),
                        str(t.get("label") or ""),
                        fmt(ind, t["value"]),
                        fmt(ind, t["target"]),
                        year(t["year"]),
                        fmt(ind, t["gap"]),
                        "",
                        status,
                    )
                )
        if not rows:
            return
        self.section("targets", _t("targets", lang))
        head = "".join(
            f"<th{' class=t' if k in ('theme', 'indicator', 'status') else ''}>{_esc(_t(k, lang))}</th>"
            for k in ("theme", "indicator", "value", "target", "year", "gap", "potential", "status")
        )
        self.parts += [
            f"<p class='muted'>{_esc(_t('targets_intro', lang))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
        ]

    @staticmethod
    def _target_row(theme: str, indicator: str, own_label: str, *cells: str) -> str:
        name = _esc(indicator) + (
            f"<br><span class='muted'>{_esc(own_label)}</span>" if own_label else ""
        )
        value, target, year, gap, potential, status = cells
        cls = (
            "reached"
            if status.startswith(
                ("atteint", "reached", "le potentiel couvre", "the potential covers")
            )
            else "missed"
        )
        return (
            f"<tr><td class='t'>{_esc(theme)}</td><td class='t'>{name}</td><td>{_esc(value)}</td>"
            f"<td>{_esc(target)}</td><td>{_esc(year)}</td><td>{_esc(gap)}</td><td>{_esc(potential)}</td>"
            f"<td class='t {cls}'>{_esc(status)}</td></tr>"
        )

    # -- per commune ------------------------------------------------------------------------
    def communes_table(self) -> None:
        """Every commune, one table per theme (identity columns repeated), so that each
        table fits the A4 column when printed."""
        r, lang = self.r, self.lang
        c = pd.DataFrame(r.communes.drop(columns="geometry", errors="ignore"))
        themes: list[tuple[str, list[str]]] = [
            (
                "carbon",
                [
                    "epci_code",
                    "population",
                    "area_ha",
                    "stock_tc",
                    "stock_tc_per_ha",
                    "flow_tco2e_per_yr",
                    "landcover_covered_share",
                ],
            ),
            ("pv", ["pv_mwp", "pv_mwh_per_yr", "pv_kwp_per_inhab"]),
            (
                "charging",
                [
                    "ev_points",
                    "ev_points_per_100k_inhab",
                    "ev_pop_share_within_5km",
                    "ev_mean_distance_m",
                ],
            ),
        ]
        if r.carbon_level != "commune":
            themes[0] = (
                "communes_word",
                [w for w in themes[0][1] if not w.startswith(("stock_", "flow_", "landcover_"))],
            )
        ident = [w for w in ("commune_code", "commune_name") if w in c.columns]
        tables: list[tuple[str, list[str]]] = []
        for theme, wanted in themes:
            cols = [
                w
                for w in wanted
                if w in c.columns and (c[w].notna().any() or w.endswith("_code"))
            ]
            if any(not w.endswith("_code") and w != "population" for w in cols) or (
                theme == "communes_word" and cols
            ):
                tables.append((theme, cols))
        if len(c) == 0 or "commune_code" not in ident or not tables:
            return
        rows = c.sort_values("commune_code")
        self.section("communes", _t("tables", lang))
        if len(rows) > MAX_APPENDIX_COMMUNES:
            self.parts.append(
                f"<p>{_esc(_t('too_many_communes', lang, n=number(len(rows), lang)))}</p>"
            )
            return
        self.parts += [
            # open: a closed <details> prints empty in Chromium (print CSS cannot open it)
            "<details open>",
            f"<summary>{_esc(_t('communes_details', lang))} — {number(len(rows), lang)} {_t('communes_word', lang)}</summary>",
        ]
        for theme, cols in tables:
            title = _t(theme, lang) if theme != "communes_word" else label("population", lang)
            self.parts += [
                f"<h3>{_esc(title)}</h3>",
                table(
                    rows[ident + cols],
                    lang,
                    text_columns=("commune_code", "commune_name", "epci_code"),
                ),
            ]
        self.parts.append("</details>")

    # -- method, sources, inputs, notices ---------------------------------------------------
    def method(self, files: Sequence[InputFact]) -> None:
        lang = self.lang
        self.section("method", _t("method", lang))
        self.parts.append("<ul>")
        for text in method_lines(self.cfg, self.r, lang):
            self.parts.append(f"<li>{_esc(text)}</li>")
        self.parts.append("</ul>")
        sources = source_lines(self.cfg, self.r, {f.key for f in files} or set(self.r.files), lang)
        if sources:
            title = "Sources et attributions" if lang == "fr" else "Sources and attribution"
            self.parts.append(f"<h3>{_esc(title)}</h3><ul>")
            self.parts += [f"<li>{_esc(s)}</li>" for s in sources]
            self.parts.append("</ul>")

    def inputs(self, files: Sequence[InputFact]) -> None:
        lang = self.lang
        if not files:
            return
        self.section("inputs", _t("inputs", lang))
        head = "".join(
            f"<th class='t'>{_esc(_t(k, lang))}</th>"
            for k in ("role", "file", "modified", "sha256")
        )
        body = "".join(
            f"<tr><td class='t'>{_esc(_input_role(f.key, lang))}</td><td class='t'>{_esc(f.name)}</td>"
            f"<td class='t'>{_esc(f.modified)}</td><td class='t'><code>{_esc(f.sha256)}</code></td></tr>"
            for f in files
        )
        self.parts += [
            f"<p class='muted'>{_esc(_t('inputs_intro', lang))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
        ]

    def notices(self) -> None:
        lang = self.lang
        self.section("notices", _t("notices", lang))
        if not self.r.notices:
            self.parts.append(f"<p>{_esc(_t('no_notice', lang))}</p>")
            return
        items = "".join(
            f"<li>{_esc(without_paths(notice_text(n, lang)))}</li>" for n in self.r.notices
        )
        self.parts += [
            f"<p class='muted'>{_esc(_t('notices_intro', lang))}</p>",
            f"<ul class='notices'>{items}</ul>",
        ]


def _input_role(key: str, lang: Language) -> str:
    base = key.split(".")[0].split("[")[0]
    names = INPUT_ROLES.get(key) or INPUT_ROLES.get(base)
    return names[0 if lang == "fr" else 1] if names else label(key, lang)


def method_lines(cfg: Any, results: Any, lang: Language) -> list[str]:
    """How each figure of the run was computed, in a sentence per step."""
    fr = lang == "fr"
    out: list[str] = []
    if results.summary is not None:
        out.append(
            "Stocks : surface de chaque occupation du sol par commune (pixels de la carte "
            "d'occupation du sol, ou table de surfaces) multipliée par les stocks de référence "
            "par hectare de chaque réservoir (sol 0–30 cm, litière, biomasse vivante, bois mort)."
            if fr
            else "Stocks: area of each land use per commune (land-cover pixels, or an area table) "
            "times the reference stock per hectare of each pool (soil 0–30 cm, litter, live "
            "biomass, dead wood)."
        )
    if results.sequestration is not None:
        out.append(
            "Flux : changements d'occupation des sols entre les deux dates (différence de stocks "
            "répartie sur la période), croissance forestière nette des prélèvements, N2O des sols "
            "déstockés ; regroupés selon les catégories du PCAET (Forêt, Sols agricoles, Autres "
            "sols, Produits bois), en tCO2e par an, comme l'outil ALDO de l'ADEME."
            if fr
            else "Flows: land-use changes between the two dates (stock difference spread over the "
            "period), forest growth net of harvest, N2O of soils losing carbon; grouped in the "
            "PCAET categories (forest, agricultural soils, other soils, wood products), in tCO2e "
            "per year, as ADEME's ALDO tool does."
        )
    if results.pv is not None:
        out.append(
            "Photovoltaïque : surface de toit utilisable de chaque bâtiment (selon la forme du "
            "toit et les exclusions) × puissance surfacique, × productible annuel calculé à partir "
            "du fichier météo pour l'inclinaison et l'orientation retenues."
            if fr
            else "Photovoltaics: usable roof area of each building (by roof form and exclusions) × "
            "power per m², × annual yield computed from the weather file for the tilt and "
            "orientation used."
        )
    if results.charging is not None:
        out.append(
            "Recharge : points de recharge publics géolocalisés et contrôlés (puissances, "
            "coordonnées), rattachés à leur commune ; part de la population (grille) à moins de "
            "chaque distance du point le plus proche ; puissance par véhicule électrique (AFIR)."
            if fr
            else "Charging: public charging points located and checked (power, coordinates), "
            "joined to their commune; share of the (gridded) population within each distance of "
            "the nearest point; power per battery electric vehicle (AFIR)."
        )
    out.append(
        "Les valeurs absentes (données manquantes ou couverture insuffisante) sont laissées "
        "vides, jamais mises à zéro ; chaque ligne dit ce qu'elle couvre."
        if fr
        else "Missing values (no data, or coverage too low) are left empty, never set to zero; "
        "each row says what it covers."
    )
    return out


def source_lines(cfg: Any, results: Any, keys: set[str], lang: Language) -> list[str]:
    """Sources, licences and attribution of the inputs the run used."""
    fr = lang == "fr"
    out: list[str] = []
    nomenclature = getattr(getattr(cfg, "landcover", None), "nomenclature", None)
    if "landcover" in keys and nomenclature == "clc":
        out.append(
            "Occupation du sol : Corine Land Cover, © Union européenne, programme Copernicus "
            "Land Monitoring Service, Agence européenne pour l'environnement (données libres, "
            "citation de la source requise)."
            if fr
            else "Land cover: Corine Land Cover, © European Union, Copernicus Land Monitoring "
            "Service, European Environment Agency (free data, source attribution required)."
        )
    elif "landcover" in keys:
        out.append(
            "Occupation du sol : carte fournie au calcul (voir Données d'entrée)."
            if fr
            else "Land cover: the map given to the run (see Inputs)."
        )
    if "communes" in keys:
        out.append(
            "Limites communales : IGN Admin Express (Licence Ouverte Etalab 2.0) ou fichier "
            "équivalent fourni au calcul."
            if fr
            else "Commune boundaries: IGN Admin Express (Etalab Open Licence 2.0) or the "
            "equivalent file given to the run."
        )
    if "commune_table" in keys or "population" in results.communes.columns:
        out.append(
            "Population et appartenance aux EPCI : INSEE / table des communes d'ALDO (Licence "
            "Ouverte Etalab 2.0)."
            if fr
            else "Population and EPCI membership: INSEE / ALDO's commune table (Etalab Open "
            "Licence 2.0)."
        )
    coeffs = without_paths(str(results.coefficient_set or ""))
    described = without_paths(coefficient_set(cfg, results, lang)) if cfg is not None else coeffs
    if results.summary is not None:
        if (
            "aldo" in coeffs.lower()
            or getattr(getattr(cfg, "carbon", None), "coefficients", "") == "aldo"
        ):
            out.append(
                "Stocks et flux de référence : outil ALDO, ADEME (Licence Ouverte Etalab 2.0)."
                if fr
                else "Reference stocks and flows: ALDO tool, ADEME (Etalab Open Licence 2.0)."
            )
        else:
            out.append(
                f"Coefficients : {described} (valeurs par défaut du GIEC, lignes directrices 2006 "
                "et raffinement 2019)."
                if fr
                else f"Coefficients: {described} (IPCC default values, 2006 guidelines and 2019 "
                "refinement)."
            )
    if "buildings" in keys:
        out.append(
            "Bâtiments : IGN BD TOPO® (Licence Ouverte Etalab 2.0) ou fichier équivalent fourni "
            "au calcul."
            if fr
            else "Buildings: IGN BD TOPO® (Etalab Open Licence 2.0) or the equivalent file given "
            "to the run."
        )
    if "weather" in keys:
        out.append(
            "Météo : fichier d'année type (EPW) fourni au calcul ; citer son producteur "
            "(par exemple PVGIS, Commission européenne)."
            if fr
            else "Weather: typical-year file (EPW) given to the run; credit its producer (e.g. "
            "PVGIS, European Commission)."
        )
    if "charging_points" in keys:
        out.append(
            "Points de recharge : fichier consolidé des IRVE, data.gouv.fr (Licence Ouverte "
            "Etalab 2.0)."
            if fr
            else "Charging points: consolidated IRVE file, data.gouv.fr (Etalab Open Licence 2.0)."
        )
    if "population_raster" in keys:
        out.append(
            "Population carroyée : grille fournie au calcul (par exemple INSEE Filosofi, "
            "carreaux de 200 m)."
            if fr
            else "Gridded population: the grid given to the run (e.g. INSEE Filosofi, 200 m cells)."
        )
    if "ev_fleet" in keys:
        out.append(
            "Parc de véhicules électriques : données fournies au calcul (par exemple SDES, "
            "parc au 1er janvier)."
            if fr
            else "Electric-vehicle fleet: the data given to the run (e.g. SDES, fleet on 1 "
            "January)."
        )
    out.append(_t("produced", lang, version=__version__))
    return out


def territory_report(
    cfg: Any,
    results: Any,
    maps: list[str],
    files: Sequence[InputFact] = (),
) -> str:
    """The HTML page of a run, self-contained (every style and image inline).

    Parameters
    ----------
    cfg : PipelineConfig
        The pipeline (``cfg.report.language``: ``fr`` or ``en``).
    results : Results
        What was computed.
    maps : list of str
        File names of the interactive maps written in ``maps/``.
    files : sequence of InputFact
        The inputs to list (names, dates, checksums); the data date is the latest of their
        modification dates.

    Returns
    -------
    str
        The page; the same arguments give the same text.
    """
    report_cfg = getattr(cfg, "report", None)
    lang: Language = getattr(report_cfg, "language", "fr") or "fr"
    rep = _Report(cfg, results, lang)
    if results.summary is not None:
        rep.stocks()
    if results.sequestration is not None:
        rep.flows()
    if results.pv is not None:
        rep.pv()
    if results.charging is not None:
        rep.charging()
    rep.targets()
    rep.communes_table()
    rep.method(files)
    rep.inputs(files)
    rep.notices()

    c = results.communes
    head_kpis = [_kpi(label("communes", lang), number(len(c), lang))]
    if getattr(results, "zones", None) is not None:
        head_kpis.append(_kpi(_t("epcis", lang), number(len(results.zones), lang)))
    elif "epci_code" in c.columns and c["epci_code"].notna().any():
        head_kpis.append(_kpi(_t("epcis", lang), number(c["epci_code"].nunique(), lang)))
    if "area_ha" in c.columns and c["area_ha"].notna().any():
        head_kpis.append(_kpi(label("area_ha", lang, unit=True), number(c["area_ha"].sum(), lang)))
    if "population" in c.columns and c["population"].notna().any():
        head_kpis.append(_kpi(label("population", lang), number(c["population"].sum(), lang)))

    subtitle = [_t("title", lang)]
    vintages = data_vintages(cfg, lang)
    if vintages:
        subtitle.append(f"{_t('data_vintage', lang)}{' : ' if lang == 'fr' else ': '}{vintages}")
    subtitle.append(f"geocarbon {__version__}")
    toc = "".join(f"<li><a href='#{a}'>{_esc(t)}</a></li>" for a, t in rep.toc)
    links = ""
    if maps:
        colon = " : " if lang == "fr" else ": "
        anchors = " · ".join(
            f"<a href='maps/{_esc(m)}'>{_esc(_map_title(m, lang))}</a>" for m in maps
        )
        links = f"<p>{_esc(_t('maps', lang))}{colon}{anchors}</p>"
    page = [
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_esc(cfg.name)} — {_esc(_t('title', lang))}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{_esc(cfg.name)}</h1><p class='sub'>{_esc(cfg.description)}</p>"
        f"<p class='muted'>{_esc(' — '.join(subtitle))}</p></header>",
        f"<nav><b>{_esc(_t('contents', lang))}</b><ol>{toc}</ol></nav>",
        f"<h2 id='key' class='first'>{_esc(_t('key_figures', lang))}</h2>",
        "<div class='kpis'>" + "".join(head_kpis) + "</div>",
        "<div class='kpis'>" + "".join(rep.kpis) + "</div>",
        links,
        *rep.parts,
        "</body></html>",
    ]
    return "\n".join(p for p in page if p)


def _map_title(file_name: str, lang: Language) -> str:
    stem = file_name.removesuffix(".html")
    key = {
        "carbon_stocks": "stocks",
        "carbon_flows": "flows",
        "rooftop_pv": "pv",
        "charging": "charging",
    }.get(stem)
    return _t(key, lang) if key else stem.replace("_", " ")
