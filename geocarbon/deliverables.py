"""The calculator deliverable: ``sequestration.csv`` as a French climate-plan officer reads it.

``sequestration.csv`` stays the machine-readable table (ids as headers, full precision,
``.`` decimals). Beside it, :func:`calculator_spreadsheet` builds what a PCAET officer
pastes into an emissions calculator: headers from :mod:`geocarbon.labels` with their
units and the sign convention, one sheet per level (communes, EPCI, territory), values
rounded for reading (tCO2e/yr to the unit, shares in per cent), and on every row the
period and what the row covers (complete yes/no, coverage note). A first sheet ("Lisez-moi")
states the sign convention, the period, the coefficient set, the method and the run date.

Everything here is pure: the writers are in :mod:`geocarbon.io.spreadsheets`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from geocarbon import __version__
from geocarbon.carbon.flows import wood_products_shown
from geocarbon.config import FlowsConfig, PipelineConfig
from geocarbon.labels import Language, label
from geocarbon.territory import COVERAGE_MIN

Kind = Literal["text", "tco2e_per_yr", "percent", "count"]

#: The PCAET categories and the net total [tCO2e/yr], in the order of ``sequestration.csv``.
FIGURES = ["forest", "agricultural_soils", "other_soils", "wood_products", "total"]

#: Levels of ``sequestration.csv``, each a sheet, with the label of the sheet.
LEVELS = {"commune": "communes", "epci": "epci", "territory": "territory"}

#: Creation and modification date written in the workbook's properties, so that the same
#: inputs give the same bytes (the run date is in the "Lisez-moi" sheet).
WORKBOOK_TIMESTAMP = dt.datetime(2000, 1, 1)


@dataclass(frozen=True)
class SequestrationFigures:
    """What the calculator spreadsheet shows."""

    sequestration: pd.DataFrame | None
    """The sequestration table per commune, EPCI and territory [tCO2e/yr] (None: a run
    without flows)."""
    communes: pd.DataFrame
    """The run's communes (``commune_code``, ``epci_code``, ``epci_name`` when known)."""
    coefficient_set: str = ""
    """Where the reference stocks come from, as the run named it."""


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its id in ``sequestration.csv``, its header, its kind."""

    key: str
    header: str
    kind: Kind


@dataclass(frozen=True)
class Sheet:
    """A table to write: title, columns and rows of rounded values (None: no data)."""

    title: str
    columns: list[Column]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Spreadsheet:
    """The calculator deliverable of a run.

    Attributes
    ----------
    format : str
        ``xlsx`` (``sequestration.xlsx``) or ``csv_semicolon`` (``sequestration_fr.csv``).
    readme : Sheet
        Two columns (what, value): sign convention, period, coefficient set, method, run date.
    sheets : list of Sheet
        One per level present (communes, EPCI, territory).
    flat : Sheet
        Every level in one table (with a level column): the ``csv_semicolon`` file.
    """

    format: Literal["xlsx", "csv_semicolon"]
    readme: Sheet
    sheets: list[Sheet]
    flat: Sheet
    created: dt.datetime = field(default=WORKBOOK_TIMESTAMP)

    @property
    def filename(self) -> str:
        """Name of the file written beside ``sequestration.csv``."""
        return "sequestration.xlsx" if self.format == "xlsx" else "sequestration_fr.csv"


def run_date() -> dt.date:
    """The date of the run (UTC), or the date of ``$SOURCE_DATE_EPOCH`` when set (for
    reproducible outputs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.datetime.now(tz=dt.UTC).date()


def data_vintages(cfg: Any, language: Language) -> str:
    """The years the figures describe, as the pipeline declares them (``landcover.year``,
    ``areas.year``, ``flows.start_year``–``end_year``): e.g. "occupation du sol 2018 ;
    changements 2012–2018". Empty when the pipeline declares none (a PV- or charging-only run).

    These are the data's own years, not the files' modification dates (a copied file has the
    day of its copy)."""
    fr = language == "fr"
    parts: list[str] = []
    year = None
    if getattr(cfg, "landcover", None) is not None:
        year = cfg.landcover.year
    elif getattr(cfg, "areas", None) is not None:
        year = cfg.areas.year
    if year is not None:
        parts.append(f"occupation du sol {year}" if fr else f"land cover {year}")
    flows = getattr(cfg, "flows", None)
    if flows is not None:
        period = f"{flows.start_year}–{flows.end_year}"
        parts.append(f"changements {period}" if fr else f"changes {period}")
    return (" ; " if fr else "; ").join(parts)


def round_half_away(value: Any, digits: int = 0) -> float | int | None:
    """``value`` rounded half away from zero (2.5 → 3, -2.5 → -3), as accountants round;
    None for no data (NaN, None); never "-0".

    Examples
    --------
    >>> round_half_away(2.5), round_half_away(-2.5), round_half_away(-0.4), round_half_away(0.12345, 1)
    (3, -3, 0, 0.1)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    scale = 10**digits
    x = float(value) * scale
    rounded = math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)
    if rounded == 0:
        rounded = 0
    if digits == 0:
        return int(rounded)
    return round(rounded / scale, digits)


def headers(language: Language, level: str) -> dict[str, Column]:
    """The columns a sheet may hold, by id of ``sequestration.csv``, with their headers."""
    sign = label("sign_short", language)
    unit = "tCO2e/an" if language == "fr" else "tCO2e/yr"
    code = {"commune": "commune_code", "epci": "epci_code", "territory": "code"}[level]
    cols = [
        Column("level", label("level", language), "text"),
        Column("code", label(code, language), "text"),
        Column("name", label("name", language), "text"),
        Column("epci_code", label("epci_code", language), "text"),
        Column("epci_name", label("epci_name", language), "text"),
        Column("period", label("period", language), "text"),
        *[Column(k, label(k, language, unit=True), "tco2e_per_yr") for k in FIGURES[:-1]],
        Column("total", f"{label('total', language)} ({unit}, {sign})", "tco2e_per_yr"),
        Column(
            "landcover_covered_share",
            f"{label('landcover_covered_share', language)} (%)",
            "percent",
        ),
        Column("communes_in_run", label("communes_in_run", language), "count"),
        Column("communes_in_epci", label("communes_in_epci", language), "count"),
        Column("communes_with_data", label("communes_with_data", language), "count"),
        Column("complete", label("complete", language), "text"),
        Column("coverage_note", label("coverage_note", language), "text"),
    ]
    return {c.key: c for c in cols}


#: Columns of each level's sheet (those absent from the table, or empty throughout, are
#: left out, but the PCAET figures, always kept).
SHEET_COLUMNS = {
    "commune": ["code", "name", "epci_code", "epci_name", "period", *FIGURES,
                "landcover_covered_share", "complete", "coverage_note"],
    "epci": ["code", "name", "period", *FIGURES, "landcover_covered_share", "communes_in_run",
             "communes_in_epci", "communes_with_data", "complete", "coverage_note"],
    "territory": ["name", "period", *FIGURES, "landcover_covered_share", "communes_in_run",
                  "communes_with_data", "complete", "coverage_note"],
}  # fmt: skip

FLAT_COLUMNS = ["level", "code", "name", "period", *FIGURES, "landcover_covered_share",
                "communes_in_run", "communes_in_epci", "communes_with_data", "complete",
                "coverage_note"]  # fmt: skip


def _cell(value: Any, kind: Kind, language: Language, key: str) -> Any:
    """One value as shown: figures to the unit, shares in per cent (0.1), yes/no, notes
    in the sheet's language; None for no data."""
    if key == "complete":
        if pd.isna(value):
            return None
        return label("yes" if bool(value) else "no", language)
    if key == "coverage_note":
        text = "" if pd.isna(value) else str(value)
        return translate_note(text) if language == "fr" else text
    if kind == "tco2e_per_yr" or kind == "count":
        return round_half_away(value)
    if kind == "percent":
        return round_half_away(None if pd.isna(value) else float(value) * 100, 1)
    if pd.isna(value):
        return None
    return str(value)


def _with_epci(table: pd.DataFrame, communes: pd.DataFrame | None) -> pd.DataFrame:
    """Commune rows with their EPCI (code, name) from the run's commune table."""
    if communes is None or "epci_code" not in communes.columns:
        return table
    keep = ["commune_code", "epci_code"] + (["epci_name"] if "epci_name" in communes else [])
    epci = (
        pd.DataFrame(communes[keep])
        .drop_duplicates("commune_code")
        .set_index("commune_code")
        .reindex(table["code"].astype(str))
    )
    out = table.copy()
    for col in epci.columns:
        out[col] = epci[col].to_numpy()
    return out


def _sheet(
    title: str,
    table: pd.DataFrame,
    keys: list[str],
    columns: dict[str, Column],
    language: Language,
) -> Sheet:
    # the PCAET figures are always there (an empty one, e.g. wood products not computed,
    # stays an empty column: dropping it would hide that the total leaves it out)
    kept = {"coverage_note", "complete", *FIGURES}
    present = [
        k
        for k in keys
        if k in table.columns
        and (k in kept or table[k].notna().any())
        and not (table[k].astype(str).eq("").all() and k not in kept)
    ]
    cols = [columns[k] for k in present]
    rows = [
        [_cell(value, c.kind, language, c.key) for value, c in zip(record, cols, strict=True)]
        for record in table[present].itertuples(index=False, name=None)
    ]
    return Sheet(title, cols, rows)


def readme_sheet(
    cfg: PipelineConfig,
    figures: SequestrationFigures,
    sheets: list[Sheet],
    date: dt.date,
    language: Language,
) -> Sheet:
    """The first sheet: what the figures are, their sign, period, coefficients and method."""
    assert cfg.flows is not None
    rows: list[tuple[str, str]] = [
        *_readme_figure_rows(cfg, figures, language),
        (
            label("method", language),
            _method_text(
                cfg.flows,
                language,
                wood_products_shown(cfg.flows.wood_products, figures.sequestration),
            ),
        ),
        *_readme_reading_rows(language),
        (label("sheets", language), ", ".join(s.title for s in sheets)),
        *(
            [(label("data_vintage", language), vintages)]
            if (vintages := data_vintages(cfg, language))
            else []
        ),
        (label("run_date", language), date.isoformat()),
        (label("produced_by", language), f"geocarbon {__version__}"),
    ]
    what = Column("what", label("readme", language), "text")
    value = Column("value", "", "text")
    return Sheet(label("readme", language), [what, value], [list(r) for r in rows])


def _readme_figure_rows(
    cfg: PipelineConfig, figures: SequestrationFigures, language: Language
) -> list[tuple[str, str]]:
    """The read-me rows saying what the figures are: title, sign convention, unit, period
    and coefficient set."""
    assert cfg.flows is not None
    fr = language == "fr"
    period = f"{cfg.flows.start_year}-{cfg.flows.end_year}"
    years = f"{cfg.flows.years:g}"
    return [
        (label("sequestration_title", language), cfg.name),
        (
            label("sign_convention", language),
            "positif = séquestration (carbone retiré de l'atmosphère) ; négatif = émission"
            if fr
            else "positive = sequestration (carbon removed from the atmosphere); negative = emission",
        ),
        (
            label("unit", language),
            "tCO2e/an : moyenne annuelle sur la période"
            if fr
            else "tCO2e/yr: annual average over the period",
        ),
        (
            label("period", language),
            f"{period} ({years} ans, entre les deux dates d'occupation du sol)"
            if fr
            else f"{period} ({years} years, between the two land-cover dates)",
        ),
        (label("coefficient_set", language), coefficient_set(cfg, figures.coefficient_set, language)),
    ]


def _method_text(flows: FlowsConfig, language: Language, wood: str) -> str:
    """The method in one paragraph: ALDO's land-use change rules, forest growth net of
    harvest (with the harvest scenario), wood products (``wood``:
    :func:`geocarbon.carbon.flows.wood_products_shown`), and ALDO's slips when reproduced."""
    published = flows.aldo_published
    if language == "fr":
        return (
            "Changements d'occupation des sols selon les règles de l'outil ALDO de l'ADEME "
            "(surface changée par an × variation de stock × 44/12, N2O des sols), croissance "
            "forestière nette des prélèvements"
            + (
                f" (scénario : prélèvements × {flows.harvest_factor:g})".replace(".", ",")
                if flows.harvest_factor != 1
                else ""
            )
            + {
                "harvest": ", produits bois (approche récolte)",
                "consumption": ", produits bois (approche consommation : part de la population)",
                "none": ", sans les produits bois",
                "not_computed": ", sans les produits bois (non calculés : le jeu de coefficients "
                "n'a pas les parts régionales de la récolte)",
            }[wood]
            + (" ; avec les écarts des chiffres publiés par ALDO." if published else ".")
        )
    return (
        "Land-use changes by the rules of ADEME's ALDO tool (changed area per year × "
        "stock change × 44/12, soil N2O), forest growth net of harvest"
        + (f" (scenario: harvest × {flows.harvest_factor:g})" if flows.harvest_factor != 1 else "")
        + {
            "harvest": ", wood products (harvest approach)",
            "consumption": ", wood products (consumption approach: population share)",
            "none": ", without wood products",
            "not_computed": ", without wood products (not computed: the coefficient set has no "
            "regional shares of the harvest)",
        }[wood]
        + ("; with the slips of ALDO's published figures." if published else ".")
    )


def _readme_reading_rows(language: Language) -> list[tuple[str, str]]:
    """The read-me rows on how to read the figures: PCAET categories, coverage, rounding
    and the machine-readable file."""
    fr = language == "fr"
    return [
        (
            "",
            "Flux rattachés à l'occupation finale du sol, regroupés selon les catégories du "
            "PCAET : Forêt, Sols agricoles (cultures, prairies, vergers, vignes), Autres sols "
            "(sols artificiels, zones humides), Produits bois."
            if fr
            else "Flows are reported under the final land use, grouped in the PCAET categories: "
            "Forest, Agricultural soils (cropland, grassland, orchards, vineyards), Other soils "
            "(artificial land, wetlands), Wood products.",
        ),
        (
            label("coverage", language),
            (
                f"Une commune est calculée quand l'occupation du sol en couvre au moins "
                f"{COVERAGE_MIN:.0%}".replace("%", " %")
                + " ; sinon ses valeurs sont laissées vides (pas de donnée, jamais 0). Les lignes "
                "EPCI et Territoire somment les communes avec données ; « Complet = Non » signale "
                "une ligne qui ne couvre pas toute la commune, tout l'EPCI ou tout le territoire "
                "(la colonne Couverture dit pourquoi)."
            )
            if fr
            else (
                f"A commune is computed when valid land cover covers at least {COVERAGE_MIN:.0%} "
                "of it; otherwise its figures are left empty (no data, never 0). EPCI and "
                "territory rows sum the communes with data; 'Complete = No' marks a row that is "
                "not the whole commune, EPCI or territory (the Coverage column says why)."
            ),
        ),
        (
            label("rounding", language),
            "Flux arrondis à la tonne (chaque colonne séparément : la somme des catégories "
            "arrondies peut différer du total d'une unité) ; parts en %, à 0,1 près."
            if fr
            else "Flows rounded to the tonne (each column separately: the rounded categories "
            "may differ from the total by one unit); shares in %, to 0.1.",
        ),
        (
            label("machine_file", language),
            "sequestration.csv (mêmes valeurs, non arrondies ; séparateur virgule, point décimal)"
            if fr
            else "sequestration.csv (the same values, unrounded; comma separator, decimal point)",
        ),
    ]


def coefficient_set(cfg: PipelineConfig, origin: str, language: Language) -> str:
    """The coefficient set in words, naming files, never absolute local paths (``origin``:
    the set as the run named it)."""
    fr = language == "fr"
    c = getattr(cfg, "carbon", None)
    if c is None:  # a configuration without a carbon section: the set as the run named it
        return origin
    if c.coefficients == "aldo":
        folder = Path(c.aldo_dir).name if c.aldo_dir is not None else ""
        text = (
            f"Tables de l'outil ALDO de l'ADEME (dossier {folder})"
            if fr
            else f"ADEME ALDO tool tables (folder {folder})"
        )
    elif c.generic_table is not None:
        text = (
            f"Coefficients génériques du fichier {c.generic_table.name}"
            if fr
            else f"Generic coefficients from {c.generic_table.name}"
        )
    else:
        name = Path(origin.split()[-1]).name if origin else "generic_ipcc.csv"
        text = (
            f"Coefficients génériques GIEC intégrés à geocarbon ({name})"
            if fr
            else f"Generic IPCC-based coefficients built into geocarbon ({name})"
        )
    if c.overrides:
        n = len(c.overrides)
        text += (
            f" ; {n} valeur(s) remplacée(s) par la configuration (carbon.overrides)"
            if fr
            else f"; {n} value(s) replaced by the configuration (carbon.overrides)"
        )
    return text


def calculator_spreadsheet(
    cfg: PipelineConfig, figures: SequestrationFigures, date: dt.date | None = None
) -> Spreadsheet | None:
    """The deliverable chosen by ``report.spreadsheet`` (None: 'none', or a run without flows).

    Parameters
    ----------
    cfg : PipelineConfig
        The run's configuration (``report.language``, ``report.spreadsheet``, ``flows``).
    figures : SequestrationFigures
        The run's sequestration table [tCO2e/yr], communes and coefficient set.
    date : date, optional
        The run date written in the first sheet (default: :func:`run_date`).
    """
    fmt = cfg.report.spreadsheet
    table = figures.sequestration
    if fmt == "none" or table is None or cfg.flows is None:
        return None
    language: Language = cfg.report.language
    sheets = []
    for level, title_key in LEVELS.items():
        rows = table[table["level"] == level].reset_index(drop=True)
        if rows.empty:
            continue
        if level == "commune":
            rows = _with_epci(rows, figures.communes)
        sheets.append(
            _sheet(
                label(title_key, language),
                rows,
                SHEET_COLUMNS[level],
                headers(language, level),
                language,
            )
        )
    flat_table = table.assign(
        level=table["level"].map(lambda v: label(str(v), language)),
        code=table["code"].where(table["level"] != "territory", ""),
    )
    flat = _sheet("", flat_table, FLAT_COLUMNS, headers(language, "territory"), language)
    flat = Sheet(
        "",
        [Column("code", label("code", language), "text") if c.key == "code" else c
         for c in flat.columns],
        flat.rows,
    )  # fmt: skip
    readme = readme_sheet(cfg, figures, sheets, date or run_date(), language)
    return Spreadsheet(fmt, readme, sheets, flat)


# --- coverage notes in French -------------------------------------------------------------

_WHAT_FR = {"land cover": "l'occupation du sol", "area table": "la table des surfaces"}
_WHAT = r"(land cover|area table)"
_PCT = r"(\d+(?:\.\d+)?)%"

#: English phrases of the coverage notes (see :func:`geocarbon.territory.level_rows`) and
#: their French; a phrase not listed stays in English.
_NOTE_PHRASES: list[tuple[str, str]] = [
    (rf"{_WHAT} covers {_PCT} of the commune: figures sum the part covered",
     r"\1 couvre \2 % de la commune : les valeurs somment la partie couverte"),
    (rf"{_WHAT} covers {_PCT} of the commune: figures left empty \(below {_PCT}\)",
     r"\1 couvre \2 % de la commune : valeurs laissées vides (moins de \3 %)"),
    (r"no land cover for this commune", "pas d'occupation du sol pour cette commune"),
    (r"no area table for this commune", "commune absente de la table des surfaces"),
    (r"\? \(EPCI size unknown: no commune table\)",
     "? (taille de l'EPCI inconnue : pas de table des communes)"),
    (r"(\d+) of the (\S+) communes of the EPCI in the run",
     r"\1 des \2 communes de l'EPCI dans le calcul"),
    (r"(\d+) communes in the run, of (\S+) in the EPCI",
     r"\1 communes dans le calcul, sur \2 dans l'EPCI"),
    (r"\((\d+) absent from the commune layer: outside it, or another commune vintage\)",
     r"(\1 absentes de la couche des communes : hors de celle-ci, ou d'un autre millésime)"),
    (rf"{_WHAT} for (\d+) of (\d+) communes", r"\1 pour \2 des \3 communes"),
    (r"(\d+) of them only partly covered", r"dont \1 couvertes en partie seulement"),
    (r"(\d+) commune\(s\) of the run absent from the commune table are counted in it "
     r"\(the EPCI of their neighbours\)",
     r"\1 commune(s) du calcul absente(s) de la table des communes, comptée(s) dans l'EPCI de "
     r"leurs voisines"),
    (rf"absent from the {_WHAT}: no land cover, figures left empty",
     r"absent de \1 : pas d'occupation du sol, valeurs laissées vides"),
    (r"not an EPCI SIREN code, and no commune of the commune table belongs to it: "
     r"no coefficients, figures left empty",
     "pas un code SIREN d'EPCI, et aucune commune de la table des communes n'y appartient : "
     "pas de coefficients, valeurs laissées vides"),
    (r"no commune of the commune table belongs to this EPCI \(another vintage\?\): "
     r"no coefficients, figures left empty",
     "aucune commune de la table des communes n'appartient à cet EPCI (autre millésime ?) : "
     "pas de coefficients, valeurs laissées vides"),
    (r"the run holds (\d+) of the (\S+) communes of this EPCI: its areas \(per EPCI\) cover "
     r"the whole EPCI, so its figures are left empty",
     r"le calcul compte \1 des \2 communes de cet EPCI : ses surfaces (par EPCI) couvrent "
     r"tout l'EPCI, ses valeurs sont donc laissées vides"),
    (rf"{_WHAT} covers {_PCT} of the EPCI: figures left empty",
     r"\1 couvre \2 % de l'EPCI : valeurs laissées vides"),
    (r"figures for (\d+) of the (\d+) EPCIs", r"valeurs pour \1 des \2 EPCI"),
    (r"the run holds (\d+) communes of EPCI (\S+), which has (\d+)",
     r"le calcul compte \1 communes de l'EPCI \2, qui en a \3"),
    (r"the run holds (\d+) communes of EPCI (\S+) \(its size is unknown: no commune table\)",
     r"le calcul compte \1 communes de l'EPCI \2 (taille inconnue : pas de table des "
     r"communes)"),
    (r"^partial: ", "partiel : "),
]  # fmt: skip


@functools.lru_cache(maxsize=4096)  # the same notes on many rows
def translate_note(note: str) -> str:
    """A coverage note of ``sequestration.csv`` in French (phrases not known stay English).

    Examples
    --------
    >>> translate_note("partial: land cover for 3 of 4 communes; 1 of them only partly covered")
    "Partiel : l'occupation du sol pour 3 des 4 communes ; dont 1 couvertes en partie seulement"
    """
    out = note
    for pattern, french in _NOTE_PHRASES:
        out = re.sub(pattern, french, out)
    for en, fr in _WHAT_FR.items():
        out = out.replace(en, fr)
    out = re.sub(r"(?<=\d)\.(?=\d)", ",", out)  # decimal comma
    out = out.replace("; ", " ; ")
    return out[:1].upper() + out[1:]
