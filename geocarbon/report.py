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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from geocarbon import __version__
from geocarbon.deliverables import data_vintages, translate_note
from geocarbon.io.text_tables import text_table
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
#: (``geocarbon/texts/report.csv``, which translators edit)
TEXT: dict[str, tuple[str, str]] = text_table("report")

#: Above this many communes the report does not list them one by one (the GeoPackage and
#: the CSV files do).
MAX_APPENDIX_COMMUNES = 2000
#: Bars of the flows chart: the EPCIs (or communes) of largest net flow.
FLOW_CHART_BARS = 30

#: What each input is, for the inputs table: key of ``Results.files`` → (French, English).
#: (``geocarbon/texts/input_roles.csv``, which translators edit)
INPUT_ROLES: dict[str, tuple[str, str]] = text_table("input_roles")


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


def phrase(key: str, lang: Language, **fmt: Any) -> str:
    text = TEXT[key][0 if lang == "fr" else 1]
    return text.format(**fmt) if fmt else text


def esc(value: Any) -> str:
    return html.escape(str(value))


def number(value: Any, lang: Language, digits: int = 0) -> str:
    """A number for reading: ``digits`` decimals, thousands separated (French: narrow space
    and decimal comma); empty (NaN) is "no data", never 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if not math.isfinite(v):
        return phrase("no_data", lang)
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
        return esc(value)
    if not math.isfinite(v):
        return phrase("no_data", lang)
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
        f"<th class='t'>{esc(label(c, lang, unit=True))}</th>"
        if c in text_columns
        else f"<th>{esc(label(c, lang, unit=True))}</th>"
        for c in cols
    )
    formatters: dict[str, Any] = {}
    for c in cols:
        col = frame[c]
        if c in text_columns:
            formatters[c] = lambda v: (
                "" if v is None or (isinstance(v, float) and math.isnan(v)) else esc(v)
            )
        elif pd.api.types.is_bool_dtype(col) or c == "complete":
            formatters[c] = lambda v: "" if pd.isna(v) else phrase("yes" if bool(v) else "no", lang)
        elif c.endswith("_share") or "_share_" in c:
            formatters[c] = lambda v: percent(v, lang)
        elif pd.api.types.is_numeric_dtype(col):
            d = _digits(col)
            formatters[c] = lambda v, d=d: number(v, lang, d)
        else:
            formatters[c] = lambda v: "" if pd.isna(v) else esc(v)
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


def kpi(title: str, value: str, note: str = "") -> str:
    small = f"<small>{esc(note)}</small>" if note else ""
    return f"<div class='kpi'><b>{esc(value)}</b><span>{esc(title)}</span>{small}</div>"


def figure(image: str, caption: str) -> str:
    body = image if image.startswith("<svg") else f"<img alt='{esc(caption)}' src='{image}'>"
    return f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def coverage_sentence(row: pd.Series, lang: Language) -> str:
    """Whole or partial, with the row's coverage note."""
    if bool(row.get("complete", True)):
        return phrase("whole", lang)
    note = str(row.get("coverage_note") or "").removeprefix("partial: ")
    if lang == "fr":
        return f"{phrase('partial', lang)} : {translate_note(note)}"
    return f"{phrase('partial', lang)}: {note}"


def _name_of(row: pd.Series, lang: Language) -> str:
    if row.get("level") == "territory":
        return label("territory", lang)
    name = row.get("name")
    return str(name) if isinstance(name, str) and name.strip() else str(row.get("code", ""))


def with_names(frame: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """Rows with a readable name (the territory's, else the code when a zone has none); the
    code column is dropped when every name is the code (EPCIs without names)."""
    out = frame.copy()
    out["name"] = [_name_of(r, lang) for _, r in out.iterrows()]
    zones = out[out["level"] != "territory"]
    if len(zones) and (zones["name"].astype(str) == zones["code"].astype(str)).all():
        out = out.drop(columns="code")
    return out


def in_language(pair: tuple[str, str], lang: Language) -> str:
    """The French or English text of a (French, English) pair."""
    return pair[0] if lang == "fr" else pair[1]


def target_value(indicator: str, lang: Language, v: Any) -> str:
    """A value of the targets table as read: shares in %, counts without decimals."""
    if "share" in indicator:
        return percent(v, lang)
    if indicator == "points":  # a count: no decimals
        return number(v, lang, 0)
    d = 2 if indicator in ("kw_per_bev", "pv_kwp_per_inhab") else 1
    return number(v, lang, d)


def target_year(v: Any) -> str:
    """The year of a target, or nothing."""
    return "" if v is None or pd.isna(v) else str(int(v))


def target_row(theme: str, indicator: str, own_label: str, *cells: str) -> str:
    """One ``<tr>`` of the targets table: theme, indicator (with the pipeline's own label),
    value, target, year, gap, potential, status."""
    name = esc(indicator) + (
        f"<br><span class='muted'>{esc(own_label)}</span>" if own_label else ""
    )
    value, target, year, gap, potential, status = cells
    cls = (
        "reached"
        if status.startswith(("atteint", "reached", "le potentiel couvre", "the potential covers"))
        else "missed"
    )
    return (
        f"<tr><td class='t'>{esc(theme)}</td><td class='t'>{name}</td><td>{esc(value)}</td>"
        f"<td>{esc(target)}</td><td>{esc(year)}</td><td>{esc(gap)}</td><td>{esc(potential)}</td>"
        f"<td class='t {cls}'>{esc(status)}</td></tr>"
    )


def _plot_frame(communes: Any) -> Any:
    """Commune polygons in metres for the static maps (a geographic layer is projected to a
    local equal-area CRS)."""
    geo = communes[communes.geometry.notna() & ~communes.geometry.is_empty]
    if geo.crs is not None and not geo.crs.is_projected:
        from geocarbon.geo import local_equal_area_crs

        geo = geo.to_crs(local_equal_area_crs(geo))
    return geo


def _simplify_m(cfg: Any) -> float:
    """Tolerance [m] of the geometry the maps show (``cfg.maps.simplify_m``)."""
    maps_cfg = getattr(cfg, "maps", None)
    return float(getattr(maps_cfg, "simplify_m", 20.0))


def _simplified_map_frames(geo: Any, simplify_m: float) -> tuple[Any, Any]:
    """The communes of the static maps and their EPCIs' outline (None unless the communes
    are in two EPCIs or more), simplified as the interactive maps are
    (:func:`geocarbon.maps.simplified_geometry`, tolerance ``simplify_m`` [m]); their
    geometry as :func:`prepare_map_geometry` computed it beforehand, when it did."""
    # the key (a checksum of every boundary) only where some geometry was prepared
    prepared = _MAP_GEOMETRY.get(_map_geometry_key(geo, simplify_m)) if _MAP_GEOMETRY else None
    simplified, outline = prepared or _map_geometry(geo, simplify_m)
    shown = geo.copy()
    shown[geo.geometry.name] = simplified
    return shown, outline


def _map_geometry(geo: Any, simplify_m: float) -> tuple[Any, Any]:
    """The simplified geometry of the communes ``geo`` (in their order) and their EPCIs'
    outline (see :func:`_simplified_map_frames`).

    The outline is dissolved from the full-detail communes, then simplified: dissolving
    polygons simplified one by one would leave slivers along their shared edges."""
    from geocarbon.maps import simplified_geometry

    outline = None
    if "epci_code" in geo.columns:
        codes = geo["epci_code"]
        if codes.notna().any() and codes.nunique() > 1:
            outline = geo[["epci_code", "geometry"]].dissolve("epci_code")
            outline[outline.geometry.name] = simplified_geometry(
                outline.geometry, simplify_m
            ).values
    return simplified_geometry(geo.geometry, simplify_m).values, outline


#: The static maps' geometry computed beforehand (:func:`prepare_map_geometry`), by
#: :func:`_map_geometry_key`.
_MAP_GEOMETRY: dict[str, tuple[Any, Any]] = {}


def _map_geometry_key(geo: Any, simplify_m: float) -> str:
    """What the static maps' geometry of ``geo`` depends on, as a SHA-256 digest: the
    communes' geometry (in order: :func:`geocarbon.geo.geometry_digest`), CRS and EPCI
    codes, and the tolerance."""
    import hashlib

    from geocarbon.geo import geometry_digest

    crs = geo.crs.to_wkt() if geo.crs is not None else None
    digest = hashlib.sha256(repr((simplify_m, crs, geo.geometry.name)).encode())
    if "epci_code" in geo.columns:
        digest.update(repr(geo["epci_code"].tolist()).encode())
    digest.update(geometry_digest(geo.geometry.values))
    return digest.hexdigest()


def prepare_map_geometry(cfg: Any, communes: Any) -> None:
    """Compute the static maps' geometry of ``communes`` (as read: a report of results on
    the same communes finds it ready) in this process, e.g. in the process that will draw
    the report, while the results are computed."""
    if not _has_boundaries(communes):
        return
    geo = _plot_frame(communes)
    simplify_m = _simplify_m(cfg)
    _MAP_GEOMETRY.clear()  # one territory at a time
    _MAP_GEOMETRY[_map_geometry_key(geo, simplify_m)] = _map_geometry(geo, simplify_m)


def _has_boundaries(communes: Any) -> bool:
    return (
        "geometry" in communes.columns
        and hasattr(communes, "geometry")
        and bool(communes.geometry.notna().any())
        and bool((~communes.geometry.is_empty).any())
    )


# ----------------------------------------------------------------------------------------
# sections


class ReportBuilder:
    """The territory report being built: its sections (``parts``), table of contents and
    key figures; capabilities append their sections with its helpers."""

    def __init__(
        self, cfg: Any, results: Any, lang: Language, figures: Figures = "all"
    ) -> None:
        self.cfg = cfg
        self.r = results
        self.lang = lang
        self.figures: Figures = figures
        self.toc: list[tuple[str, str]] = []
        self.parts: list[str] = []
        self.kpis: list[str] = []
        #: The static maps drawn (``figures="maps"``), each as its ``<figure>``, in order.
        self.static_maps: list[str] = []
        self.maps_geo = _plot_frame(results.communes) if _has_boundaries(results.communes) else None
        self.epci_outline = None
        if self.maps_geo is not None and figures != "charts":
            self.maps_geo, self.epci_outline = _simplified_map_frames(
                self.maps_geo, _simplify_m(cfg)
            )

    def chart(self, draw: Callable[..., str], *args: Any, **kwargs: Any) -> str:
        """The chart ``draw(*args, **kwargs)`` (an image); nothing (``""``) where this
        builder draws the static maps only (``figures="maps"``)."""
        return "" if self.figures == "maps" else draw(*args, **kwargs)

    def section(self, anchor: str, title: str) -> None:
        self.toc.append((anchor, title))
        self.parts.append(f"<h2 id='{anchor}'>{esc(title)}</h2>")

    def static_map(
        self, column: str, caption: str, *, diverging: bool = False, unit: str = ""
    ) -> None:
        geo = self.maps_geo
        if geo is None or column not in geo.columns or not geo[column].notna().any():
            return
        if self.figures == "charts":  # drawn by another process: its place is kept
            self.parts.append(static_map_slot(len(self.static_maps)))
            self.static_maps.append("")
            return
        from geocarbon import report_charts as charts  # matplotlib: imported when drawn

        legend = unit or label(column, self.lang, unit=True)
        image = charts.theme_map(
            geo, column, legend, diverging=diverging, language=self.lang, outline=self.epci_outline
        )
        self.parts.append(figure(image, caption))
        self.static_maps.append(self.parts[-1])

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
            f"<h3>{esc(phrase('per_epci', self.lang))}</h3>",
            table(
                rows,
                self.lang,
                text_columns=("name", "code", "coverage_note"),
                total_row=len(rows) - 1,
            ),
        ]

    # -- targets ----------------------------------------------------------------------------
    def targets(self) -> None:
        """The targets of every capability, in the PCAET indicator form."""
        from geocarbon import capabilities

        lang = self.lang
        rows = [row for c in capabilities.computed(self.r) for row in c.targets(self)]
        if not rows:
            return
        self.section("targets", phrase("targets", lang))
        head = "".join(
            f"<th{' class=t' if k in ('theme', 'indicator', 'status') else ''}>{esc(phrase(k, lang))}</th>"
            for k in ("theme", "indicator", "value", "target", "year", "gap", "potential", "status")
        )
        self.parts += [
            f"<p class='muted'>{esc(phrase('targets_intro', lang))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
        ]

    # -- per commune ------------------------------------------------------------------------
    def communes_table(self) -> None:
        """Every commune, one table per capability (identity columns repeated, the commune's
        EPCI, population and area in the first), so that each table fits the A4 column when
        printed."""
        from geocarbon import capabilities

        r, lang = self.r, self.lang
        c = pd.DataFrame(r.communes.drop(columns="geometry", errors="ignore"))

        def present(wanted: Sequence[str]) -> list[str]:
            return [
                w for w in wanted if w in c.columns and (c[w].notna().any() or w.endswith("_code"))
            ]

        general = present(("epci_code", "population", "area_ha"))
        tables = [
            (theme, cols)
            for cap in capabilities.computed(r)
            for theme, wanted in cap.commune_columns(r)
            if (cols := present(wanted))
        ]
        if tables:
            tables[0] = (tables[0][0], general + tables[0][1])
        elif general:
            tables = [("population", general)]
        ident = [w for w in ("commune_code", "commune_name") if w in c.columns]
        if len(c) == 0 or "commune_code" not in ident or not tables:
            return
        rows = c.sort_values("commune_code")
        self.section("communes", phrase("tables", lang))
        if len(rows) > MAX_APPENDIX_COMMUNES:
            self.parts.append(
                f"<p>{esc(phrase('too_many_communes', lang, n=number(len(rows), lang)))}</p>"
            )
            return
        self.parts += [
            # open: a closed <details> prints empty in Chromium (print CSS cannot open it)
            "<details open>",
            f"<summary>{esc(phrase('communes_details', lang))} — {number(len(rows), lang)} {phrase('communes_word', lang)}</summary>",
        ]
        for theme, cols in tables:
            title = label("population", lang) if theme == "population" else phrase(theme, lang)
            self.parts += [
                f"<h3>{esc(title)}</h3>",
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
        self.section("method", phrase("method", lang))
        self.parts.append("<ul>")
        for text in method_lines(self.cfg, self.r, lang):
            self.parts.append(f"<li>{esc(text)}</li>")
        self.parts.append("</ul>")
        sources = source_lines(self.cfg, self.r, {f.key for f in files} or set(self.r.files), lang)
        if sources:
            title = "Sources et attributions" if lang == "fr" else "Sources and attribution"
            self.parts.append(f"<h3>{esc(title)}</h3><ul>")
            self.parts += [f"<li>{esc(s)}</li>" for s in sources]
            self.parts.append("</ul>")

    def inputs(self, files: Sequence[InputFact]) -> None:
        lang = self.lang
        if not files:
            return
        self.section("inputs", phrase("inputs", lang))
        head = "".join(
            f"<th class='t'>{esc(phrase(k, lang))}</th>"
            for k in ("role", "file", "modified", "sha256")
        )
        body = "".join(
            f"<tr><td class='t'>{esc(_input_role(f.key, lang))}</td><td class='t'>{esc(f.name)}</td>"
            f"<td class='t'>{esc(f.modified)}</td><td class='t'><code>{esc(f.sha256)}</code></td></tr>"
            for f in files
        )
        self.parts += [
            f"<p class='muted'>{esc(phrase('inputs_intro', lang))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
        ]

    def notices(self) -> None:
        lang = self.lang
        self.section("notices", phrase("notices", lang))
        if not self.r.notices:
            self.parts.append(f"<p>{esc(phrase('no_notice', lang))}</p>")
            return
        items = "".join(
            f"<li>{esc(without_paths(notice_text(n, lang)))}</li>" for n in self.r.notices
        )
        self.parts += [
            f"<p class='muted'>{esc(phrase('notices_intro', lang))}</p>",
            f"<ul class='notices'>{items}</ul>",
        ]


def _input_role(key: str, lang: Language) -> str:
    base = key.split(".")[0].split("[")[0]
    names = INPUT_ROLES.get(key) or INPUT_ROLES.get(base)
    return names[0 if lang == "fr" else 1] if names else label(key, lang)


def method_lines(cfg: Any, results: Any, lang: Language) -> list[str]:
    """How each figure of the run was computed, in a sentence per step (each capability's),
    then what empty values mean."""
    from geocarbon import capabilities

    out = [line for c in capabilities.computed(results) for line in c.method_lines(cfg, results, lang)]
    out.append(
        "Les valeurs absentes (données manquantes ou couverture insuffisante) sont laissées "
        "vides, jamais mises à zéro ; chaque ligne dit ce qu'elle couvre."
        if lang == "fr"
        else "Missing values (no data, or coverage too low) are left empty, never set to zero; "
        "each row says what it covers."
    )
    return out


#: Order of the sources list: each line's rank (land cover, boundaries, population,
#: coefficients, buildings, weather, charging points, population grid, vehicle fleet).
SOURCE_RANKS = {
    "landcover": 10,
    "communes": 20,
    "population": 30,
    "coefficients": 40,
    "buildings": 50,
    "weather": 60,
    "charging_points": 70,
    "population_raster": 80,
    "population_grid": 80,
    "ev_fleet": 90,
}


def source_lines(cfg: Any, results: Any, keys: set[str], lang: Language) -> list[str]:
    """Sources, licences and attribution of the inputs the run used: the communes' and each
    capability's (:data:`SOURCE_RANKS` orders them), then who produced the report."""
    from geocarbon import capabilities

    fr = lang == "fr"
    ranked: list[tuple[int, str]] = []
    if "communes" in keys:
        ranked.append((
            SOURCE_RANKS["communes"],
            "Limites communales : IGN Admin Express (Licence Ouverte Etalab 2.0) ou fichier "
            "équivalent fourni au calcul."
            if fr
            else "Commune boundaries: IGN Admin Express (Etalab Open Licence 2.0) or the "
            "equivalent file given to the run.",
        ))  # fmt: skip
    if "commune_table" in keys or "population" in results.communes.columns:
        ranked.append((
            SOURCE_RANKS["population"],
            "Population et appartenance aux EPCI : INSEE / table des communes d'ALDO (Licence "
            "Ouverte Etalab 2.0)."
            if fr
            else "Population and EPCI membership: INSEE / ALDO's commune table (Etalab Open "
            "Licence 2.0).",
        ))  # fmt: skip
    for capability in capabilities.computed(results):
        ranked += [
            (SOURCE_RANKS.get(key, 100), text)
            for key, text in capability.source_lines(cfg, results, keys, lang)
        ]
    out = [text for _, text in sorted(ranked, key=lambda pair: pair[0])]
    out.append(phrase("produced", lang, version=__version__))
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
    return report_page(cfg, results, report_body(cfg, results, files), maps)


@dataclass(frozen=True)
class ReportBody:
    """The sections of a report (charts and static maps drawn), without the links to the
    interactive maps: what takes time to make, made before the maps are written.

    Attributes
    ----------
    toc
        (anchor, title) of every section, in order.
    kpis
        The key-figure boxes of the capabilities (HTML).
    parts
        The sections (HTML), in order.
    """

    toc: tuple[tuple[str, str], ...]
    kpis: tuple[str, ...]
    parts: tuple[str, ...]


#: What a report builder draws: every figure, the charts only (each static map's place kept
#: by :func:`static_map_slot`), or the static maps only (the charts left out).
Figures = Literal["all", "charts", "maps"]


def static_map_slot(index: int) -> str:
    """The place of the ``index``-th static map in a report drawn with ``figures="charts"``
    (no text of an input can hold it: the report escapes ``<``)."""
    return f"<!--geocarbon static map {index}-->"


def with_static_maps(body: ReportBody, maps: Sequence[str]) -> ReportBody | None:
    """``body`` (drawn with ``figures="charts"``) with its static maps ``maps`` (drawn with
    ``figures="maps"``) in their places; None when the two do not match (then draw the
    whole report again)."""
    slots = {static_map_slot(i): i for i in range(len(maps))}
    found = [p for p in body.parts if p.startswith("<!--geocarbon static map ")]
    if len(found) != len(maps) or any(p not in slots for p in found):
        return None
    parts = tuple(maps[slots[p]] if p in slots else p for p in body.parts)
    return ReportBody(body.toc, body.kpis, parts)


def report_body(
    cfg: Any, results: Any, files: Sequence[InputFact] = (), figures: Figures = "all"
) -> ReportBody:
    """The sections of the report of ``results`` (see :func:`territory_report`); with
    ``figures="charts"`` or ``"maps"``, part of its figures (:data:`Figures`)."""
    rep = report_builder(cfg, results, files, figures)
    return ReportBody(tuple(rep.toc), tuple(rep.kpis), tuple(rep.parts))


def static_maps(cfg: Any, results: Any, files: Sequence[InputFact] = ()) -> list[str]:
    """The static maps of the report of ``results`` (each as its ``<figure>``), in the order
    of the report, drawn without its charts."""
    return report_builder(cfg, results, files, "maps").static_maps


def report_builder(
    cfg: Any, results: Any, files: Sequence[InputFact] = (), figures: Figures = "all"
) -> ReportBuilder:
    """The report of ``results`` built, every section appended (:class:`ReportBuilder`)."""
    from geocarbon import capabilities

    report_cfg = getattr(cfg, "report", None)
    lang: Language = getattr(report_cfg, "language", "fr") or "fr"
    rep = ReportBuilder(cfg, results, lang, figures)
    for capability in capabilities.computed(results):
        capability.report_sections(rep)
    if figures == "maps":
        return rep  # the sections below hold no figure
    rep.targets()
    rep.communes_table()
    rep.method(files)
    rep.inputs(files)
    rep.notices()
    return rep


def report_page(cfg: Any, results: Any, body: ReportBody, maps: list[str]) -> str:
    """The HTML page of a run from its sections ``body`` (:func:`report_body`) and the file
    names of its interactive maps ``maps`` (see :func:`territory_report`)."""
    report_cfg = getattr(cfg, "report", None)
    lang: Language = getattr(report_cfg, "language", "fr") or "fr"
    head_kpis = _head_kpis(results, lang)
    subtitle = _subtitle(cfg, lang)
    toc = "".join(f"<li><a href='#{a}'>{esc(t)}</a></li>" for a, t in body.toc)
    links = _map_links(maps, lang)
    page = [
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(cfg.name)} — {esc(phrase('title', lang))}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{esc(cfg.name)}</h1><p class='sub'>{esc(cfg.description)}</p>"
        f"<p class='muted'>{esc(' — '.join(subtitle))}</p></header>",
        f"<nav><b>{esc(phrase('contents', lang))}</b><ol>{toc}</ol></nav>",
        f"<h2 id='key' class='first'>{esc(phrase('key_figures', lang))}</h2>",
        "<div class='kpis'>" + "".join(head_kpis) + "</div>",
        "<div class='kpis'>" + "".join(body.kpis) + "</div>",
        links,
        *body.parts,
        "</body></html>",
    ]
    return "\n".join(p for p in page if p)


def _head_kpis(results: Any, lang: Language) -> list[str]:
    """The territory's key figures heading the report: communes, EPCIs, area [ha] and
    population (each only when known), as KPI boxes."""
    communes = results.communes
    head_kpis = [kpi(label("communes", lang), number(len(communes), lang))]
    from geocarbon import capabilities

    n_epci_zones = next(
        (n for c in capabilities.computed(results) if (n := c.epci_count(results)) is not None),
        None,
    )
    if n_epci_zones is not None:
        head_kpis.append(kpi(phrase("epcis", lang), number(n_epci_zones, lang)))
    elif "epci_code" in communes.columns and communes["epci_code"].notna().any():
        n_epci = communes["epci_code"].nunique()
        head_kpis.append(kpi(phrase("epcis", lang), number(n_epci, lang)))
    if "area_ha" in communes.columns and communes["area_ha"].notna().any():
        area_ha = communes["area_ha"].sum()
        head_kpis.append(kpi(label("area_ha", lang, unit=True), number(area_ha, lang)))
    if "population" in communes.columns and communes["population"].notna().any():
        population = communes["population"].sum()
        head_kpis.append(kpi(label("population", lang), number(population, lang)))
    return head_kpis


def _subtitle(cfg: Any, lang: Language) -> list[str]:
    """The parts of the report's subtitle: its title, the data vintages (when known) and
    the geocarbon version."""
    subtitle = [phrase("title", lang)]
    vintages = data_vintages(cfg, lang)
    if vintages:
        subtitle.append(f"{phrase('data_vintage', lang)}{' : ' if lang == 'fr' else ': '}{vintages}")
    subtitle.append(f"geocarbon {__version__}")
    return subtitle


def _map_links(maps: list[str], lang: Language) -> str:
    """A paragraph linking the interactive maps written in ``maps/`` ('' without maps)."""
    if not maps:
        return ""
    colon = " : " if lang == "fr" else ": "
    anchors = " · ".join(f"<a href='maps/{esc(m)}'>{esc(_map_title(m, lang))}</a>" for m in maps)
    return f"<p>{esc(phrase('maps', lang))}{colon}{anchors}</p>"


def _map_title(file_name: str, lang: Language) -> str:
    """The title of an interactive map, from the capability that writes it."""
    from geocarbon import capabilities

    stem = file_name.removesuffix(".html")
    for capability in capabilities.all_capabilities():
        key = capability.map_titles().get(stem)
        if key:
            return phrase(key, lang)
    return stem.replace("_", " ")
