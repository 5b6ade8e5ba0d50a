"""Typed pipeline configuration.

A pipeline file (``pipelines/<territory>.yaml``) holds paths and overrides only. It is
parsed into :class:`PipelineConfig`; every path is resolved relative to the directory of
the YAML file, ``${VAR}`` / ``${VAR:-default}`` are expanded from the environment, and
unknown keys are rejected by name.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, NoDefault
from pydantic_core import PydanticCustomError, core_schema, to_jsonable_python

from geocarbon.errors import ConfigError
from geocarbon.values import ALDO_SEALED_SHARE
from geocarbon.values import CARBON_POOLS as CARBON_POOLS
from geocarbon.values import STOCK_MAX_TC_PER_HA as STOCK_MAX_TC_PER_HA


def _number(value: float) -> str:
    """A bound or a value as a user writes it (``1``, ``0.5``, ``25000000``)."""
    return f"{value:,.10g}".replace(",", "_") if abs(value) >= 10_000 else f"{value:.10g}"


def _describe_range(
    lo: float | None, hi: float | None, lo_open: bool, hi_open: bool, unit: str
) -> str:
    low = None if lo is None else ("greater than " if lo_open else "at least ") + _number(lo)
    high = None if hi is None else ("less than " if hi_open else "at most ") + _number(hi)
    if lo is not None and hi is not None and not lo_open and not hi_open:
        text = f"between {_number(lo)} and {_number(hi)}"
    else:
        text = " and ".join(part for part in (low, high) if part)
    return text + (f" {unit}" if unit else "")


@dataclasses.dataclass(frozen=True)
class _RangeCheck(AfterValidator):
    """The range check of :func:`_in_range`, with its bounds shown in the JSON Schema
    (``minimum``/``maximum``, exclusive when open) so that editors check them too."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    allowed: str = ""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: Any
    ) -> JsonSchemaValue:
        out: JsonSchemaValue = handler(schema)
        if self.lo is not None:
            out["exclusiveMinimum" if self.lo_open else "minimum"] = self.lo
        if self.hi is not None:
            out["exclusiveMaximum" if self.hi_open else "maximum"] = self.hi
        return out


def _in_range(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> AfterValidator:
    """A validator refusing a number outside ``[lo, hi]`` (bounds excluded when ``*_open``)
    with one message giving the whole allowed range ("must be between 0 and 1")."""
    allowed = _describe_range(lo, hi, lo_open, hi_open, unit)

    def check(value: float) -> float:
        ok = not math.isnan(value)
        if lo is not None:
            ok = ok and (value > lo if lo_open else value >= lo)
        if hi is not None:
            ok = ok and (value < hi if hi_open else value <= hi)
        if not ok:
            kind, template = "out_of_range", "must be {allowed}"
            raise PydanticCustomError(kind, template, {"allowed": allowed})
        return value

    return _RangeCheck(check, lo, hi, lo_open, hi_open, allowed)


#: Limits of every number of a pipeline file. Values outside are refused when the file is
#: read, with the key, the value and the allowed range; ``inf`` and ``nan`` are refused
#: everywhere a number is expected (``allow_inf_nan=False`` on every model).
YEAR_MIN, YEAR_MAX = 1900, 2100
#: Longest distance accepted (distances_m, white_zone_m) [m]: wider than mainland France.
DISTANCE_MAX_M = 1_000_000.0
#: Largest map simplification tolerance [m].
SIMPLIFY_MAX_M = 1_000.0
#: Pixels read per block: at most this many, which keeps the working memory of a block
#: within a few GB (measured: about 14 bytes per pixel for the stocks pass; flows and
#: pixel maps hold a few more arrays of 8 bytes per pixel).
BLOCK_PIXELS_MIN, BLOCK_PIXELS_MAX = 10_000, 25_000_000
#: A charging point of more than this power [kW] is implausible (the same ceiling as the
#: data checks of charging points).
POWER_MAX_KW = 1_000.0

#: Descriptions shared by several keys of a pipeline file.
_SEPARATOR = "Column separator of the CSV (';' for tables saved by French spreadsheets)."
_SEPARATOR_AUTO = (
    "Column separator of the CSV: 'auto' finds ',', ';', tab or '|' in the header line; or give "
    "it (';' for tables saved by French spreadsheets)."
)
_ENCODING = (
    "Text encoding of the CSV: 'auto' reads UTF-8 (with or without BOM), else Windows-1252 "
    "(cp1252), else Latin-1; or give it (e.g. 'utf-8', 'cp1252', 'latin-1')."
)

_LAYER = "Layer to read when the file has several layers (null: the only layer)."
_LAND_YEAR = (
    "Year the land cover describes (e.g. 2018), stated in the report and the spreadsheet "
    "(null: not stated)."
)
_TARGET_VALUE = "Value to reach, in the indicator's unit (shares as fractions: 0.5 = 50 %)."
_TARGET_YEAR = "Year the target is due (e.g. 2030); null: no year."
_TARGET_LABEL = "Text shown with the target in the indicator table (e.g. the plan's wording)."

Share = Annotated[float, _in_range(0.0, 1.0)]
Year = Annotated[int, _in_range(YEAR_MIN, YEAR_MAX)]
DistanceM = Annotated[float, _in_range(0.0, DISTANCE_MAX_M, lo_open=True, unit="m")]
AzimuthDeg = Annotated[float, _in_range(0.0, 360.0, hi_open=True, unit="degrees")]
TiltDeg = Annotated[float, _in_range(0.0, 90.0, unit="degrees")]
AreaM2 = Annotated[float, _in_range(0.0, unit="m²")]


def _accepts_bool(annotation: Any) -> bool:
    """Whether a field's type admits a boolean (``bool`` anywhere in it)."""
    import typing

    if annotation is bool:
        return True
    return any(_accepts_bool(arg) for arg in typing.get_args(annotation))


def _has_model(annotation: Any) -> bool:
    """Whether a field's type holds a configuration model (which checks its own fields)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_has_model(arg) for arg in typing.get_args(annotation))


def _holds_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(_holds_bool(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_bool(v) for v in value)
    return False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_false_for_numbers(cls, value: Any, info: Any) -> Any:
        """YAML's true/false is not a number nor a text (pydantic would read true as 1.0)."""
        field = cls.model_fields.get(info.field_name)
        if (
            field is not None
            and not _has_model(field.annotation)
            and not _accepts_bool(field.annotation)
            and _holds_bool(value)
        ):
            msg = "must be a number or a text, not true/false"
            raise ValueError(msg)
        return value


class CommuneTableConfig(_Strict):
    """A table joined to the communes by INSEE code (e.g. EPCI membership)."""

    path: Path = Field(
        description="CSV of communes, one row per INSEE code (e.g. ADEME's commune table); "
        "gives EPCI membership, population and names."
    )
    code_field: str = Field(default="insee", description="Column of the INSEE commune code.")
    epci_field: str | None = Field(
        default="epci",
        description="Column of the SIREN code of the commune's EPCI (null: no EPCI from the table).",
    )
    population_field: str | None = Field(
        default=None, description="Column of the commune population [inhabitants] (null: none)."
    )
    name_field: str | None = Field(
        default=None,
        description="Commune names (used when the run has no commune boundaries).",
    )
    separator: str = Field(default=",", description=_SEPARATOR)


class EpciNamesConfig(_Strict):
    """A table of EPCI names (code → name)."""

    path: Path = Field(description="CSV of EPCI names, one row per EPCI.")
    code_field: str = Field(default="code", description="Column of the EPCI SIREN code.")
    name_field: str = Field(default="nom", description="Column of the EPCI name.")
    separator: str = Field(default=",", description=_SEPARATOR)


class CommunesConfig(_Strict):
    """The communes: boundaries (any OGR-readable vector file) and/or a commune table.

    Without ``path`` the run has no boundaries: the communes are those of ``table``
    (a carbon run from area tables, see ``areas``).
    """

    path: Path | None = Field(
        default=None,
        description="Commune boundaries; optional for a run from area tables (then give table).",
    )
    layer: str | None = Field(default=None, description=_LAYER)
    code_field: str = Field(
        default="code",
        description="Field of the INSEE commune code (integers are zero-padded to 5 characters).",
    )
    name_field: str = Field(default="nom", description="Field of the commune name.")
    epci_field: str | None = Field(
        default=None,
        description="Field of the SIREN code of the commune's EPCI (null: EPCI membership from table, "
        "or none).",
    )
    epci_name_field: str | None = Field(
        default=None, description="Field of the EPCI name (null: names from epci_names, or none)."
    )
    population_field: str | None = Field(
        default=None,
        description="Field of the commune population [inhabitants] (null: from table, or none).",
    )
    table: CommuneTableConfig | None = Field(
        default=None,
        description="A commune table joined by INSEE code (EPCI membership, population, names); "
        "the communes of a run without boundaries.",
    )
    epci_names: EpciNamesConfig | None = Field(
        default=None, description="A table of EPCI names (SIREN code -> name)."
    )

    @model_validator(mode="after")
    def _boundaries_or_table(self) -> CommunesConfig:
        if self.path is None and self.table is None:
            msg = (
                "communes: give the commune boundaries (communes.path) and/or a commune table "
                "(communes.table: a CSV with the INSEE code and the EPCI of each commune)"
            )
            raise ValueError(msg)
        return self


def _code_list(values: list[str | int], what: str, digits: int) -> list[str]:
    """Codes as text; integers zero-padded to ``digits`` (YAML reads 01 as 1, 046 as 46)."""
    out = []
    for value in values:
        text = f"{value:0{digits}d}" if isinstance(value, int) else str(value).strip()
        if not text:
            msg = f"an empty {what} code"
            raise ValueError(msg)
        out.append(text)
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        msg = f"{', '.join(repeated)} listed more than once; give each {what} code once"
        raise ValueError(msg)
    return out


class TerritoryConfig(_Strict):
    """The territory of the run, picked from a larger commune layer or table.

    A commune belongs to the territory when it is listed, or its EPCI is, or its département
    is (any mix: the union of the three).
    """

    epci: list[str | int] = Field(
        default_factory=list,
        description="EPCI SIREN codes (9 digits, e.g. 200023737); membership comes from "
        "communes.epci_field or the commune table.",
    )
    departements: list[str | int] = Field(
        default_factory=list,
        description="Département codes (46, 2A, 971): the first 2 characters of the INSEE code "
        "(3 for overseas départements, 97x).",
    )
    communes: list[str | int] = Field(
        default_factory=list, description="INSEE commune codes (5 characters, e.g. 46042)."
    )

    @field_validator("epci")
    @classmethod
    def _epci_codes(cls, value: list[str | int]) -> list[str]:
        codes = _code_list(value, "EPCI", 9)
        wrong = [c for c in codes if not re.fullmatch(r"\d{9}", c)]
        if wrong:
            msg = f"EPCI codes are 9-digit SIREN numbers (e.g. 200023737); got {', '.join(map(repr, wrong[:5]))}"
            raise ValueError(msg)
        return codes

    @field_validator("departements")
    @classmethod
    def _departement_codes(cls, value: list[str | int]) -> list[str]:
        codes = _code_list(value, "département", 2)
        wrong = [c for c in codes if not re.fullmatch(r"\d{2}|2[AB]|97\d", c, re.IGNORECASE)]
        if wrong:
            msg = f"département codes are like 46, 2A or 971; got {', '.join(map(repr, wrong[:5]))}"
            raise ValueError(msg)
        return [c.upper() for c in codes]

    @field_validator("communes")
    @classmethod
    def _commune_codes(cls, value: list[str | int]) -> list[str]:
        codes = _code_list(value, "commune", 5)
        wrong = [c for c in codes if not re.fullmatch(r"[0-9][0-9AB]\d{3}", c, re.IGNORECASE)]
        if wrong:
            msg = f"commune codes are 5-character INSEE codes (e.g. 46042, 2A004); got {', '.join(map(repr, wrong[:5]))}"
            raise ValueError(msg)
        return [c.upper() for c in codes]

    @model_validator(mode="after")
    def _something_selected(self) -> TerritoryConfig:
        if not (self.epci or self.departements or self.communes):
            msg = "territory: list at least one code under epci, departements or communes (or remove the key to take every commune)"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        """The selection in words, e.g. ``EPCI 200023737 + département 46``."""
        parts = []
        for label, codes in (
            ("EPCI", self.epci),
            ("département", self.departements),
            ("commune", self.communes),
        ):
            if codes:
                parts.append(f"{label}{'s' if len(codes) > 1 else ''} {', '.join(map(str, codes))}")
        return " + ".join(parts)


class _NomenclatureConfig(_Strict):
    """How land-cover codes map to categories (shared by rasters and area tables)."""

    nomenclature: Literal["clc", "clc_grid_code", "table"] = Field(
        default="clc",
        description="'clc': three-digit CLC codes; 'clc_grid_code': the 1–44 grid codes of the official "
        "CLC rasters (48–50 = no data); 'table': a mapping table.",
    )
    mapping: Path | None = Field(
        default=None,
        description="CSV with columns 'code' and 'category' (required when nomenclature is 'table').",
    )
    nodata_values: list[float] = Field(
        default_factory=list,
        description="Class codes to treat as nodata in addition to the raster's own nodata "
        "and to the nomenclature's (CLC: 999 'NODATA', 990/995 'unclassified'; CLC grid codes: "
        "48, 49, 50, always no data). Finite codes only: NaN pixels are always no data, so NaN "
        "need not (and cannot) be listed.",
    )
    category_overrides: dict[int, str] = Field(
        default_factory=dict, description="code -> category, applied over the nomenclature."
    )

    @model_validator(mode="after")
    def _mapping_needed(self) -> _NomenclatureConfig:
        if self.nomenclature == "table" and self.mapping is None:
            msg = "nomenclature is 'table' but mapping is not set: give a CSV with columns code,category"
            raise ValueError(msg)
        return self


class LandcoverConfig(_NomenclatureConfig):
    """Categorical land-cover raster (CLC codes by default)."""

    path: Path = Field(
        description="Categorical land-cover raster (any GDAL raster, any CRS, any nodata, NaN too)."
    )
    year: Year | None = Field(default=None, description=_LAND_YEAR)


class AreaTableConfig(_NomenclatureConfig):
    """Land-cover areas [ha] from a table, per commune or per EPCI (instead of a raster).

    ``wide``: one row per commune/EPCI, one column per land-cover code (ADEME's
    ``clc18_area_ha_by_epci.csv``); ``long``: one row per commune/EPCI and code.
    """

    path: Path = Field(description="CSV of land-cover areas [ha] per commune or per EPCI.")
    level: Literal["commune", "epci"] = Field(
        description="What the table's rows are: communes (INSEE codes) or EPCIs (SIREN codes)."
    )
    code_field: str = Field(description="Column of the commune INSEE code or the EPCI SIREN code.")
    layout: Literal["wide", "long"] = Field(
        default="wide",
        description="'wide': one row per commune/EPCI, one column per land-cover code; 'long': one "
        "row per commune/EPCI and code (columns landuse_field and area_field).",
    )
    landuse_field: str = Field(
        default="code", description="Column of the land-cover code (long layout)."
    )
    area_field: str = Field(default="area", description="Column of the area [ha] (long layout).")
    year: Year | None = Field(default=None, description=_LAND_YEAR)
    separator: str = Field(default=",", description=_SEPARATOR)


ForestType = Literal["broadleaf", "conifer", "mixed", "poplar"]


def _default_forest_codes() -> dict[int, ForestType]:
    return {1: "broadleaf", 2: "conifer", 3: "mixed", 4: "poplar"}


class ForestMapConfig(_Strict):
    """Optional forest-type raster (IGN BD Forêt-like composition codes)."""

    path: Path = Field(
        description="Forest-type raster (any grid and CRS; e.g. rasterised IGN BD Forêt)."
    )
    codes: dict[int, ForestType] = Field(
        default_factory=_default_forest_codes,
        description="Raster value -> forest type (broadleaf, conifer, mixed or poplar); other values "
        "are not forest.",
    )
    mode: Literal["composition", "override"] = Field(
        default="composition",
        description="'composition': the map gives the forest type of land-cover forest pixels; "
        "'override': every pixel the map calls forest is forest of that type, whatever the land cover.",
    )


#: ADEME ALDO's agricultural practices (``geocarbon/carbon/data/practices.csv``).
PracticeId = Literal[
    "prairieExtension",
    "prairieIntensification",
    "cropsAgroforestry",
    "prairiesAgroforestry",
    "catchCrops",
    "cropsHedges",
    "prairiesHedges",
    "grassyStrips",
    "vineyardsInterCoverCropping",
    "orchardsInterCoverCropping",
    "directSowingContinuous",
    "directSowingFiveYearWork",
]
#: Largest area of one practice [ha]: the agricultural area of mainland France (~ 28 Mha).
PRACTICE_AREA_MAX_HA = 30_000_000.0


class HedgesConfig(_Strict):
    """Hedge lines (IGN BD Haies; any OGR format, any CRS): a biomass pool on agricultural land."""

    path: Path = Field(
        description="Hedge lines at the land cover's date (e.g. IGN BD Haies); lengths are "
        "measured in a projected CRS, lines split at commune borders."
    )
    layer: str | None = Field(default=None, description=_LAYER)
    path_before: Path | None = Field(
        default=None,
        description="Hedge lines at flows.start_year, for the flow of the length change "
        "(needs the flows section); null: no hedge flow.",
    )
    layer_before: str | None = Field(default=None, description=_LAYER)
    segment_m: Annotated[float, _in_range(1.0, 100.0, unit="m")] = Field(
        default=10.0,
        description="Hedges are cut into segments of at most this length; each takes the "
        "land-use category at its midpoint [m].",
    )


class PracticeConfig(_Strict):
    """One agricultural practice adopted on an area (ALDO's "pratiques stockantes")."""

    practice: PracticeId = Field(description="ALDO's practice id (e.g. catchCrops).")
    area_ha: Annotated[float, _in_range(0.0, PRACTICE_AREA_MAX_HA, unit="ha")] = Field(
        description="Area on which the practice is adopted [ha]."
    )
    level: Literal["commune", "epci", "territory"] = Field(
        default="territory", description="Where the area lies: a commune, an EPCI or the territory."
    )
    code: str | None = Field(
        default=None,
        description="INSEE code of the commune or SIREN code of the EPCI (level commune or epci).",
    )

    @model_validator(mode="after")
    def _code_for_a_unit(self) -> PracticeConfig:
        if self.level != "territory" and not self.code:
            msg = f"carbon.practices: {self.practice} at level {self.level} needs the code of the {self.level}"
            raise ValueError(msg)
        if self.level == "territory" and self.code:
            msg = f"carbon.practices: {self.practice} at level territory takes no code (got {self.code!r})"
            raise ValueError(msg)
        return self


#: Most Monte-Carlo draws of ``carbon.uncertainty`` (memory: about 8 bytes × draws × zones
#: × 6 figures).
UNCERTAINTY_DRAWS_MAX = 100_000
#: Largest coefficient of variation of a spread (a factor 1 + cv × N(0, 1), cut at 0).
UNCERTAINTY_CV_MAX = 2.0
UncertaintyCv = Annotated[float, _in_range(0.0, UNCERTAINTY_CV_MAX)]


class UncertaintyConfig(_Strict):
    """Monte-Carlo ranges (P5, P50, P95) of the stocks and flows: each uncertain coefficient
    is a random factor drawn per draw and per coefficient group (see README, "How sure are
    the figures")."""

    draws: Annotated[int, _in_range(1, UNCERTAINTY_DRAWS_MAX, unit="draws")] = Field(
        default=1000, description="Number of Monte-Carlo draws."
    )
    seed: Annotated[int, _in_range(0, 2**32 - 1)] = Field(
        default=20261202,
        description="Seed of the draws: the same seed gives the same ranges, on any scheduler.",
    )
    soil_stock_cv: UncertaintyCv = Field(
        default=0.2,
        description="Coefficient of variation of the soil (and litter) reference stocks, one "
        "factor per (category, pedoclimatic zone); also scales the soil and litter unit changes "
        "of land-use change and their N2O. ALDO gives no spread: stated default 0.2.",
    )
    forest_biomass_cv: UncertaintyCv = Field(
        default=0.1,
        description="Coefficient of variation of the forest live biomass and dead wood stocks, "
        "one factor per (forest type, region); also scales the biomass lost by deforestation. "
        "The IGN table gives no confidence interval: stated default 0.1.",
    )
    forest_growth_cv: UncertaintyCv = Field(
        default=0.15,
        description="Coefficient of variation of the forest net growth (and of the harvest behind "
        "the wood-products sink), one factor per (forest type, region): stated default 0.15.",
    )
    nonforest_biomass_cv: UncertaintyCv = Field(
        default=0.3,
        description="Coefficient of variation of the biomass stocks outside forests (hedges, "
        "orchards, vineyards, wooded grassland, urban trees), one factor per (category, region): "
        "stated default 0.3.",
    )
    landcover_area_cv: UncertaintyCv = Field(
        default=0.15,
        description="Coefficient of variation of each category's area in a zone, one factor per "
        "category; the areas are then rescaled so that each zone keeps its total area "
        "(CORINE Land Cover's thematic accuracy target is 85 %: stated default 0.15).",
    )
    landcover_area_cv_by_category: dict[str, UncertaintyCv] = Field(
        default_factory=dict,
        description="Category -> coefficient of variation of its area, replacing "
        "landcover_area_cv for that category.",
    )
    transition_years: tuple[
        Annotated[float, _in_range(1.0, 100.0, unit="years")],
        Annotated[float, _in_range(1.0, 100.0, unit="years")],
    ] = Field(
        default=(15.0, 30.0),
        description="[min, max] of the transition period [years] of the soil after a land-use "
        "change, drawn uniformly per draw; ALDO uses 20 years, so the yearly soil and litter "
        "flows of the 20-year transitions (rate × period per hectare changed) scale by period / 20. [20, 20]: no spread.",
    )

    @model_validator(mode="after")
    def _known_categories(self) -> UncertaintyConfig:
        from geocarbon.carbon.categories import STOCK_CATEGORIES

        unknown = sorted(set(self.landcover_area_cv_by_category) - set(STOCK_CATEGORIES))
        if unknown:
            msg = (
                f"carbon.uncertainty.landcover_area_cv_by_category: unknown categories {unknown}; "
                f"expected among {', '.join(STOCK_CATEGORIES)}"
            )
            raise ValueError(msg)
        lo, hi = self.transition_years
        if lo > hi:
            msg = f"carbon.uncertainty.transition_years: [{lo}, {hi}] must be [min, max]"
            raise ValueError(msg)
        return self


class CarbonConfig(_Strict):
    """Carbon-stock coefficients: a set read from data, plus overrides."""

    coefficients: Literal["aldo", "generic"] = Field(
        default="generic",
        description="'generic': the built-in IPCC-based table (or generic_table); 'aldo': ADEME's "
        "ALDO reference stocks per commune, read from aldo_dir.",
    )
    aldo_dir: Path | None = Field(
        default=None,
        description="Folder of the ALDO tables (required when coefficients is 'aldo').",
    )
    generic_table: Path | None = Field(
        default=None,
        description="CSV category,pool,stock_tc_per_ha[,source] of reference stocks [tC/ha]; the "
        "built-in table if unset.",
    )
    forest_locations: Path | None = Field(
        default=None,
        description="Optional CSV of each commune's forest locations for the ALDO forest "
        "cascade: insee, and groupeser, greco, bassin_populicole where known (IGN codes); with "
        "broadleaf_ha, conifer_ha, mixed_ha, poplar_ha (forest area per type there), one row "
        "per location, the forest values are area-weighted as in ALDO.",
    )
    artificial_sealed_share: Share = Field(
        default=ALDO_SEALED_SHARE,
        description="Share of artificial land that is sealed (0–1, ALDO: 0.8); the green rest is "
        "wooded (CLC 141) first, grassed for the remainder.",
    )
    overrides: dict[
        str, dict[str, Annotated[float, _in_range(0.0, STOCK_MAX_TC_PER_HA, unit="tC/ha")]]
    ] = Field(
        default_factory=dict, description="category -> pool -> tC/ha, applied to every commune."
    )
    hedges: HedgesConfig | None = Field(
        default=None,
        description="Hedge lines: hedge length per commune and land-use category, the hedges "
        "pool on agricultural land and, with path_before, its flow.",
    )
    practices: list[PracticeConfig] = Field(
        default_factory=list,
        description="Agricultural practices with the area adopted: their storage potential "
        "(reported apart from the observed flows).",
    )
    uncertainty: UncertaintyConfig | None = Field(
        default=None,
        description="Monte-Carlo ranges (P5, P50, P95) of every stock and flow per commune, EPCI "
        "and territory (null: none).",
    )

    @model_validator(mode="after")
    def _aldo_dir_needed(self) -> CarbonConfig:
        if self.coefficients == "aldo" and self.aldo_dir is None:
            msg = "carbon.coefficients is 'aldo' but carbon.aldo_dir is not set: point it to the folder of ALDO tables"
            raise ValueError(msg)
        for category, pools in self.overrides.items():
            for pool in pools:
                if pool not in CARBON_POOLS:
                    msg = f"carbon.overrides.{category}: unknown pool {pool!r}; expected one of {', '.join(CARBON_POOLS)}"
                    raise ValueError(msg)
        return self


class ChangeTableConfig(_Strict):
    """Land-use change table per commune (ADEME's CLC change layout by default)."""

    path: Path = Field(
        description="CSV of land-use changes per commune (ADEME's CLC 2012 -> 2018 change table by "
        "default; .csv.gz accepted)."
    )
    from_field: str = Field(
        default="code12", description="Column of the land-cover code at start_year."
    )
    to_field: str = Field(
        default="code18", description="Column of the land-cover code at end_year."
    )
    commune_field: str = Field(default="commune", description="Column of the INSEE commune code.")
    area_field: str = Field(default="area", description="Changed area over the period [ha].")
    separator: str = Field(default=",", description=_SEPARATOR)


#: Approach of the wood-products sink (ALDO: "récolte" or "consommation").
WoodProducts = Literal["harvest", "consumption", "none"]


class FlowsConfig(_Strict):
    """Carbon flows: land-use change between two dates, forest growth, N2O, wood products."""

    start_year: Year = Field(description="First year of the change period (e.g. 2012).")
    end_year: Year = Field(
        description="Last year of the change period, after start_year: the year of the land cover "
        "(e.g. 2018)."
    )
    change_table: ChangeTableConfig | None = Field(
        default=None,
        description="Land-use changes per commune from a table; give either change_table or "
        "landcover_before.",
    )
    landcover_before: Path | None = Field(
        default=None,
        description="Land-cover raster at start_year (same nomenclature); the land cover is at end_year.",
    )
    forest_growth: bool = Field(
        default=True,
        description="Count the net growth of standing forests (growth minus harvest and mortality) "
        "[tCO2e/yr].",
    )
    harvest_factor: Annotated[float, _in_range(0.0, 10.0)] = Field(
        default=1.0, description="Scales harvest in forest growth (1.2 = +20 % harvest)."
    )
    wood_products: WoodProducts = Field(
        default="harvest",
        description="Wood-products sink [tCO2e/yr], as ALDO: 'harvest' (the territory's share of "
        "the national lumber and industry-wood harvest), 'consumption' (its share of France's "
        "population) or 'none'; true and false read as 'harvest' and 'none'. ALDO coefficients "
        "only (regional shares and populations of the ALDO tables).",
    )
    n2o_gwp: Annotated[float, _in_range(100.0, 400.0)] = Field(
        default=273.0,
        description="GWP of N2O (GWP100: AR6 273, AR5 265, AR4 298; GWP500 about 130).",
    )
    aldo_published: bool = Field(
        default=False,
        description="Reproduce ALDO's published figures, slips included (44/25 in N2O, changes from "
        "artificial land counted twice, 141 over-count); default: the corrected method.",
    )

    @field_validator("wood_products", mode="before")
    @classmethod
    def _wood_products_boolean(cls, value: object) -> object:
        """Pipelines written when this was a switch: true = harvest, false = none."""
        if isinstance(value, bool):
            return "harvest" if value else "none"
        return value

    @model_validator(mode="after")
    def _one_source_and_a_period(self) -> FlowsConfig:
        if self.end_year <= self.start_year:
            msg = (
                f"flows: the period {self.start_year}-{self.end_year} has {self.end_year - self.start_year} "
                "years; end_year must be after start_year"
            )
            raise ValueError(msg)
        if (self.change_table is None) == (self.landcover_before is None):
            msg = "flows: give either change_table (a table per commune) or landcover_before (a raster), not both or none"
            raise ValueError(msg)
        return self

    @property
    def years(self) -> int:
        """Length of the change period [years]."""
        return self.end_year - self.start_year


#: ALDO's agricultural practices ("pratiques stockantes"), as ``scenarios`` name them.
Practice = PracticeId


class ArtificialisationConfig(_Strict):
    """Land take of a scenario [ha/yr], taken from the same origins as the observed land take."""

    ha_per_yr: Annotated[float, _in_range(0.0, 1e6, unit="ha/yr")] | None = Field(
        default=None,
        description="Land take of the whole territory [ha/yr] from the year after base_year "
        "(spread over communes and origins as observed); give ha_per_yr or from_observed.",
    )
    from_observed: bool = Field(
        default=False,
        description="Start from the observed land take of the flows period (per commune and origin).",
    )
    halving_every_years: Annotated[int, _in_range(1, 100, unit="years")] | None = Field(
        default=None,
        description="Halve the land take every this many years (10: the ZAN law's halving per "
        "decade): the rate in year t is rate × 0.5^ceil((t − base_year) / n).",
    )
    zero_from: Year | None = Field(
        default=None,
        description="No land take from this year on (e.g. 2050, the ZAN law's net zero).",
    )

    @model_validator(mode="after")
    def _one_start(self) -> ArtificialisationConfig:
        if (self.ha_per_yr is None) == (not self.from_observed):
            msg = "artificialisation: give either ha_per_yr (a rate) or from_observed: true, not both or none"
            raise ValueError(msg)
        return self


class PracticeAdoptionConfig(_Strict):
    """Area under one of ALDO's agricultural practices, by year (linear in between)."""

    practice: Practice = Field(description="ALDO's practice identifier (e.g. catchCrops).")
    ha: dict[Year, Annotated[float, _in_range(0.0, 1e7, unit="ha")]] = Field(
        description="Area under the practice [ha] by year, e.g. {2030: 500, 2050: 2000}; linear "
        "between years, 0 before the first one at base_year, constant after the last.",
        min_length=1,
    )


class ScenarioTargetConfig(_Strict):
    """A sequestration target of the climate plan [tCO2e/yr] in a year."""

    year: Year = Field(description="Year of the target.")
    sequestration_tco2e_per_yr: float = Field(
        description="Net sequestration aimed at [tCO2e/yr] (positive = sequestration)."
    )
    level: Literal["territory", "epci"] = Field(
        default="territory", description="For the whole territory or one EPCI."
    )
    code: str | None = Field(default=None, description="The EPCI's code (level: epci).")
    label: str = Field(default="", description="Name of the target in the report.")

    @model_validator(mode="after")
    def _code_with_epci(self) -> ScenarioTargetConfig:
        if (self.level == "epci") != (self.code is not None):
            msg = "targets: give code (an EPCI code) with level: epci, and only then"
            raise ValueError(msg)
        return self


class ScenarioConfig(_Strict):
    """One scenario: levers applied every year after base_year."""

    name: str = Field(description="Identifier of the scenario (letters, digits, '_', '-').")
    label: str = Field(default="", description="Name shown in the report (default: name).")
    artificialisation: ArtificialisationConfig | None = Field(
        default=None, description="Land take; default: the observed land take goes on."
    )
    afforestation_ha_per_yr: Annotated[float, _in_range(0.0, 1e6, unit="ha/yr")] = Field(
        default=0.0,
        description="New forest [ha/yr] on cropland and grassland (mix of their areas per "
        "commune), broadleaf, on top of the observed changes.",
    )
    deforestation_ha_per_yr: Annotated[float, _in_range(0.0, 1e6, unit="ha/yr")] = Field(
        default=0.0,
        description="Forest cleared to grassland [ha/yr] (mix of forest types and communes as "
        "their forest areas), on top of the observed changes.",
    )
    hedge_planting_km_per_yr: Annotated[float, _in_range(0.0, 1e5, unit="km/yr")] = Field(
        default=0.0, description="Hedges planted [km/yr]."
    )
    practices: list[PracticeAdoptionConfig] = Field(
        default_factory=list, description="Agricultural practices adopted, area by year."
    )
    harvest_factor: Annotated[float, _in_range(0.0, 10.0)] | None = Field(
        default=None,
        description="Harvest on standing forest (1.2 = +20 %) from the year after base_year; "
        "default: flows.harvest_factor.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_an_identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value) or value == "baseline":
            msg = f"scenario name {value!r}: use letters, digits, '_' or '-' (and not 'baseline')"
            raise ValueError(msg)
        return value


class ScenariosConfig(_Strict):
    """Yearly trajectories of stocks and flows from base_year to horizon, per EPCI and
    territory: a baseline extending the observed changes, and the scenarios."""

    base_year: Year | None = Field(
        default=None,
        description="Last year of observed figures; levers act from the next year "
        "(default: flows.end_year).",
    )
    horizon: Year = Field(default=2050, description="Last year of the trajectories.")
    targets: builtins.list[ScenarioTargetConfig] = Field(
        default_factory=list, description="Sequestration targets of the climate plan."
    )
    list: builtins.list[ScenarioConfig] = Field(
        description="The scenarios (names unique).", min_length=1
    )

    @model_validator(mode="after")
    def _unique_names(self) -> ScenariosConfig:
        names = [s.name for s in self.list]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            msg = f"scenarios.list: names {repeated} are used more than once; give each scenario its own name"
            raise ValueError(msg)
        return self


BuildingLayout = Literal["auto", "bdtopo", "osm"]
#: What a building's attributes may say is no roof for panels (``pv.buildings.exclude``).
NonRoof = Literal["light_structure", "not_in_service"]


def _default_exclude() -> list[NonRoof]:
    return ["light_structure", "not_in_service"]


def _layout_field(what: str, layout_names: str, null: str = "") -> Any:
    """A field of the buildings file that the layout names unless the pipeline does."""
    if_null = f"; null: {null}" if null else ""
    return Field(
        default=None,
        description=f"{what}; default: the layout's ({layout_names}){if_null}. Named in the "
        "pipeline, it must exist in the file.",
    )


class BuildingsConfig(_Strict):
    """Building footprints (IGN BD TOPO BATIMENT, OpenStreetMap...; any OGR format).

    The fields are those of the file's layout (``layout``; BD TOPO 3.0, BD TOPO 3.5 or
    OpenStreetMap, recognised from the field names with ``auto``); a field named in the
    pipeline file overrides the layout and must exist in the file (case-sensitive)."""

    path: Path = Field(
        description="Building footprints (IGN BD TOPO BATIMENT, OpenStreetMap...; any OGR format)."
    )
    layer: str | None = Field(default=None, description=_LAYER)
    layout: BuildingLayout = Field(
        default="auto",
        description="Field layout of the file: 'bdtopo' (IGN BD TOPO 3.0 names such as hauteur, "
        "altitude_minimale_toit, usage_1, or BD TOPO 3.5 upper-case names HAUTEUR, Z_MIN_TOIT, "
        "USAGE1, LEGER, ETAT), 'osm' (OpenStreetMap export: building, height, building:levels), "
        "or 'auto': recognised from the field names (none recognised: BD TOPO 3.0 names where "
        "present). A named layout whose fields are missing is refused.",
    )
    id_field: str | None = Field(
        default=None,
        description="Building id; default: the layout's (cleabs, ID, osm_id...), else the feature "
        "number.",
    )
    height_field: str | None = _layout_field(
        "Field of the building height [m]; a negative height excludes the building",
        "hauteur, HAUTEUR, height",
        "no height",
    )
    roof_min_field: str | None = _layout_field(
        "Field of the lowest roof altitude [m] (text accepted)",
        "altitude_minimale_toit, Z_MIN_TOIT",
    )
    roof_max_field: str | None = _layout_field(
        "Field of the highest roof altitude [m] (text accepted)",
        "altitude_maximale_toit, Z_MAX_TOIT",
    )
    usage_field: str | None = _layout_field(
        "Field of the building usage, compared with public_usages",
        "usage_1, USAGE1, building",
        "no usage",
    )
    light_field: str | None = _layout_field(
        "Field saying a building is a light structure (Oui/Non, true/false or 1/0)",
        "BD TOPO construction_legere, leger, LEGER",
        "none",
    )
    state_field: str | None = _layout_field(
        "Field of the building's state (BD TOPO: 'En service', 'En projet', 'En construction', "
        "'En ruine'; any value but 'En service' is not in service, an empty one is kept)",
        "etat_de_l_objet, etat, ETAT",
        "none",
    )
    exclude: list[NonRoof] = Field(
        default_factory=_default_exclude,
        description="Buildings that carry no panels by their attributes, each with its "
        "excluded_reason: 'light_structure' (BD TOPO LEGER = Oui; OSM building=greenhouse, "
        "tent, static_caravan), 'not_in_service' (BD TOPO ETAT other than 'En service'; OSM "
        "building=construction, proposed, ruins, collapsed, destroyed, demolished); [] keeps "
        "them all.",
    )
    coverage: Literal["hull", "territory"] = Field(
        default="hull",
        description="What the file covers: 'hull' (the convex hull of its buildings; communes "
        "outside it have no PV figures, partly inside it are flagged) or 'territory' (every "
        "building of every commune, e.g. a BD TOPO export of the département).",
    )
    public_usages: list[str] = Field(
        default_factory=lambda: ["Sportif", "Religieux"],
        description="Usage values flagged as public buildings (BD TOPO has no owner field); with "
        "the OpenStreetMap layout and no value given, the sports and religious building tags "
        "and public, civic, government, townhall.",
    )


class WeatherConfig(_Strict):
    """Hourly weather with irradiance, read with pvlib's readers (EPW, TMY3, PVGIS)."""

    path: Path = Field(
        description="Hourly weather file with irradiance (EPW, TMY3 CSV or PVGIS TMY JSON; .gz "
        "accepted)."
    )
    format: Literal["auto", "epw", "tmy3", "pvgis"] = Field(
        default="auto",
        description="'epw', 'tmy3', 'pvgis', or 'auto': from the file name (.epw, .csv, .json, "
        "optionally .gz).",
    )
    repair: Literal["none", "dni_from_ghi"] = Field(
        default="none",
        description="'dni_from_ghi': rebuild the hourly DNI from the file's GHI and DHI, (GHI − "
        "DHI) / cos(zenith), for a file whose DNI·cos(zenith) + DHI does not add up to GHI (see "
        "the notice weather_irradiance_closure); 'none': use the file's DNI.",
    )


class VectorConfig(_Strict):
    """A vector file (any OGR format) and its layer."""

    path: Path = Field(description="Vector file (any OGR format).")
    layer: str | None = Field(default=None, description=_LAYER)


class ExclusionZonesConfig(VectorConfig):
    """Polygons whose buildings get no PV (``pv.exclusions``)."""

    path: Path = Field(description="Polygons (any OGR format) whose buildings get no PV.")
    reason: str = Field(
        default="excluded zone",
        description="Why buildings inside these polygons are excluded, written on each of them.",
    )


class ExistingPvConfig(VectorConfig):
    """Existing PV installations (``pv.existing``)."""

    path: Path = Field(description="Polygons (any OGR format) of existing PV installations.")
    kwp_field: str | None = Field(
        default=None,
        description="Field of each installation's power [kWp] (0–100,000, empty = unknown); "
        "null: powers unknown.",
    )


class RoadNetworkConfig(VectorConfig):
    """Local road lines (``charging.road_network``)."""

    path: Path = Field(
        description="Road lines (any OGR format), e.g. IGN BD TOPO TRONCON_DE_ROUTE."
    )


RoofForm = Literal["flat", "pitched", "unknown"]


def _default_usable_share() -> dict[RoofForm, float]:
    return {"flat": 0.40, "pitched": 0.40, "unknown": 0.25}


class PvParameters(_Strict):
    """Every assumption of the rooftop PV model (defaults cited in the README)."""

    flat_roof_max_range_m: Annotated[float, _in_range(0.0, 100.0, unit="m")] = Field(
        default=1.0, description="Roof altitude range below which a roof is flat [m]."
    )
    usable_share: dict[RoofForm, Share] = Field(
        default_factory=_default_usable_share,
        description="Usable share of the footprint by roof form (JRC scenarios: 25 % and 40 %); "
        "roof forms not given keep their default.",
    )
    small_roof_m2: AreaM2 = Field(
        default=50.0, description="Footprints below this get small_roof_factor."
    )
    small_roof_factor: Share = Field(
        default=0.75,
        description="Factor on the usable share of footprints below small_roof_m2 (0–1).",
    )
    min_usable_m2: AreaM2 = Field(
        default=10.0, description="Usable roof area below which a building gets no PV [m²]."
    )
    kwp_per_m2: Annotated[float, _in_range(0.0, 0.5, lo_open=True, unit="kWp/m²")] = Field(
        default=0.20,
        description="Module power per m² of module [kWp/m²] (0.5 would be a 50 % efficient module).",
    )
    flat_tilt_deg: TiltDeg = Field(
        default=15.0, description="Module tilt on flat roofs, rows on racks [degrees, 0–90]."
    )
    flat_azimuth_deg: AzimuthDeg = Field(
        default=180.0,
        description="Module azimuth on flat roofs [degrees clockwise from north, 180 = south].",
    )
    pitched_tilt_deg: TiltDeg = Field(
        default=30.0, description="Tilt of pitched roofs [degrees, 0–90]."
    )
    pitched_azimuths_deg: list[AzimuthDeg] = Field(
        default_factory=lambda: [90.0, 112.5, 135.0, 157.5, 180.0, 202.5, 225.0, 247.5, 270.0],
        min_length=1,
        description="Orientations averaged for pitched roofs of unknown orientation (east to west).",
    )
    losses_percent: Annotated[float, _in_range(0.0, 100.0, hi_open=True, unit="%")] = Field(
        default=14.0, description="System losses (wiring, inverter, soiling...) [%], as in PVWatts."
    )
    gamma_pdc_per_c: Annotated[float, _in_range(-0.01, 0.0, unit="per °C")] = Field(
        default=-0.004,
        description="Power temperature coefficient [1/°C], a fraction: -0.004 is -0.4 %/°C.",
    )
    temperature_model: Literal[
        "open_rack_glass_glass",
        "close_mount_glass_glass",
        "open_rack_glass_polymer",
        "insulated_back_glass_polymer",
    ] = Field(default="close_mount_glass_glass", description="pvlib SAPM parameter set.")
    large_roof_m2: AreaM2 = Field(
        default=1000.0, description="Footprints above this are flagged large roofs [m²]."
    )

    @field_validator("usable_share")
    @classmethod
    def _every_roof_form(cls, value: dict[RoofForm, float]) -> dict[RoofForm, float]:
        return {**_default_usable_share(), **value}


def _check_target(indicator: str, value: float) -> None:
    """Refuse a negative target, and a share target above 1 (shares are fractions)."""
    if indicator.endswith("_share") or "_share_" in indicator:
        if not 0.0 <= value <= 1.0:
            msg = f"the target of {indicator} is a share: it must be between 0 and 1 (got {value:g}; 0.5 means 50 %)"
            raise ValueError(msg)
    elif value < 0:
        msg = f"the target of {indicator} must be at least 0 (got {value:g})"
        raise ValueError(msg)


class _Target(_Strict):
    """A plan target: value to reach by a year (subclasses name the indicators)."""

    indicator: str
    value: float = Field(description=_TARGET_VALUE)
    year: Year | None = Field(default=None, description=_TARGET_YEAR)
    label: str = Field(default="", description=_TARGET_LABEL)

    @model_validator(mode="after")
    def _plausible_value(self) -> _Target:
        _check_target(self.indicator, self.value)
        return self


class PvTarget(_Target):
    """A plan target for rooftop PV: value to reach by a year."""

    indicator: Literal[
        "pv_mwp", "pv_mwh_per_yr", "public_roofs_equipped_share", "pv_kwp_per_inhab"
    ] = Field(
        description="What the target is on: pv_mwp [MWp], pv_mwh_per_yr [MWh/yr], "
        "public_roofs_equipped_share [0–1], pv_kwp_per_inhab [kWp per inhabitant]."
    )


class PvConfig(_Strict):
    """Rooftop photovoltaic potential."""

    buildings: BuildingsConfig = Field(description="Building footprints: the roofs assessed.")
    weather: WeatherConfig | None = Field(
        default=None,
        description="Hourly weather for the specific yield [kWh/kWp/yr]; give weather and/or "
        "irradiation_raster.",
    )
    irradiation_raster: Path | None = Field(
        default=None,
        description="Annual global horizontal irradiation [kWh/m²/yr]; scales each building's yield.",
    )
    exclusions: list[ExclusionZonesConfig] = Field(
        default_factory=list,
        description="Polygons whose buildings get no PV (heritage sites...), each with its reason.",
    )
    existing: ExistingPvConfig | None = Field(
        default=None,
        description="Existing PV installations (polygons), each counted once, on the building "
        "holding most of it.",
    )
    parameters: PvParameters = Field(
        default_factory=PvParameters, description="Every assumption of the rooftop PV model."
    )
    targets: list[PvTarget] = Field(
        default_factory=list, description="Plan targets compared with the PV potential."
    )

    @model_validator(mode="after")
    def _irradiance_source(self) -> PvConfig:
        if self.weather is None and self.irradiation_raster is None:
            msg = "pv: give a weather file (pv.weather) and/or an annual irradiation raster (pv.irradiation_raster)"
            raise ValueError(msg)
        return self


def _csv_dialect(separator: str, encoding: str) -> None:
    """Refuse a separator that is not one character (or 'auto') and an unknown encoding."""
    import codecs

    if separator != "auto" and len(separator) != 1:
        msg = f"separator {separator!r}: give one character (e.g. ';') or 'auto'"
        raise ValueError(msg)
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = f"encoding {encoding!r} is unknown; give e.g. 'utf-8', 'cp1252', 'latin-1' or 'auto'"
            raise ValueError(msg) from None


class _CsvDialect(_Strict):
    """A CSV input's ``separator`` and ``encoding`` (each one character or an encoding
    name, or ``auto``), checked; the subclass declares both fields."""

    if TYPE_CHECKING:
        separator: str
        encoding: str

    @model_validator(mode="after")
    def _dialect(self) -> _CsvDialect:
        _csv_dialect(self.separator, self.encoding)
        return self


class ChargingPointsConfig(_CsvDialect):
    """Charging points: IRVE statique v2 CSV (one row per point) or a station layout."""

    path: Path = Field(
        description="Public charging points: a CSV (IRVE statique v2.0 to v2.3 or a station "
        "table) or any OGR vector file."
    )
    layer: str | None = Field(default=None, description=_LAYER)
    layout: Literal["auto", "irve_v2", "stations"] = Field(
        default="auto",
        description="'irve_v2': one row per point (coordonneesXY, schema v2.0 to v2.3); "
        "'stations': one row per station (nbre_pdc points); 'auto': irve_v2 when the column "
        "coordonneesXY exists, else stations. Other IRVE versions (v1, the v3 draft, dynamic "
        "files) are refused.",
    )
    separator: str = Field(default="auto", description=_SEPARATOR_AUTO)
    encoding: str = Field(default="auto", description=_ENCODING)


class PostalCodesConfig(_CsvDialect):
    """La Poste's table of postal codes (base officielle des codes postaux)."""

    path: Path = Field(
        description="CSV of La Poste's 'base officielle des codes postaux' (data.gouv.fr): one "
        "row per commune and postal code, columns Code_commune_INSEE and Code_postal (the "
        "'#Code_commune_INSEE;Nom_de_la_commune;Code_postal;...' export, ';' and Latin-1, or "
        "the lower-case UTF-8 one)."
    )
    separator: str = Field(default="auto", description=_SEPARATOR_AUTO)
    encoding: str = Field(default="auto", description=_ENCODING)


class EvFleetConfig(_CsvDialect):
    """Registered electric vehicles per commune (for the AFIR kW-per-vehicle indicator)."""

    path: Path = Field(description="CSV of registered electric vehicles, one row per commune.")
    code_field: str = Field(default="code_insee", description="Column of the INSEE commune code.")
    bev_field: str = Field(
        default="bev", description="Column of battery-electric vehicles [vehicles]."
    )
    phev_field: str | None = Field(
        default="phev", description="Column of plug-in hybrid vehicles [vehicles] (null: none)."
    )
    separator: str = Field(default="auto", description=_SEPARATOR_AUTO)
    encoding: str = Field(default="auto", description=_ENCODING)


#: File name endings read as each form of a population grid when ``form`` is ``auto``.
POPULATION_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
POPULATION_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2")


class PopulationGridConfig(_Strict):
    """Population per cell: a raster, INSEE Filosofi squares (vector) or a CSV of cell ids."""

    path: Path = Field(
        description="The population grid: a raster (GeoTIFF...), square cells as polygons "
        "(GeoPackage, Shapefile...; INSEE Filosofi carreaux) or a CSV with one row per cell "
        "and its INSPIRE cell id (INSEE Filosofi CSV)."
    )
    form: Literal["auto", "raster", "vector", "csv"] = Field(
        default="auto",
        description="'raster': band 1 holds the population of each pixel; 'vector': one square "
        "polygon per cell (any projected CRS); 'csv': one row per cell with its cell id; "
        "'auto': csv for .csv, .csv.gz, .txt, .tsv, raster for .tif, .tiff, .vrt, .img, .asc, "
        ".nc, .jp2, else vector.",
    )
    layer: str | None = Field(default=None, description=_LAYER + " Vector form only.")
    field: str | None = Field(
        default=None,
        description="Column of the population of each cell [inhabitants] (INSEE Filosofi: Ind); "
        "required for the vector and csv forms, not given for a raster (band 1). A column "
        "whose name differs only in case is used when no column has exactly this name.",
    )
    cell_id_field: str | None = Field(
        default=None,
        description="CSV form: column of the INSPIRE cell ids such as "
        "CRS3035RES200mN2029800E4252400 (EPSG code, cell side [m], northing and easting of "
        "the cell's south-west corner [m]); null: the first of Idcar_200m, Idcar_1km, "
        "IdINSPIRE, GRD_ID the file has (any case).",
    )
    separator: str = Field(default="auto", description=_SEPARATOR_AUTO + " CSV form only.")
    encoding: str = Field(default="auto", description=_ENCODING + " CSV form only.")

    def resolved_form(self) -> Literal["raster", "vector", "csv"]:
        """The form of the grid: ``form``, or the one its file name says when ``auto``."""
        if self.form != "auto":
            return self.form
        name = self.path.name.lower()
        if name.endswith(POPULATION_CSV_SUFFIXES):
            return "csv"
        if name.endswith(POPULATION_RASTER_SUFFIXES):
            return "raster"
        return "vector"

    @model_validator(mode="after")
    def _keys_of_the_form(self) -> PopulationGridConfig:
        _csv_dialect(self.separator, self.encoding)
        form = self.resolved_form()
        said = "" if self.form != "auto" else f" ({self.path.name} is read as {form})"
        if form in ("vector", "csv") and not self.field:
            msg = f"population: a {form} grid{said} needs 'field', the column of the population of each cell (INSEE Filosofi: Ind)"
            raise ValueError(msg)
        if form == "raster" and self.field:
            msg = f"population: 'field' is for vector and csv grids; a raster{said} holds the population in band 1: remove 'field', or set 'form'"
            raise ValueError(msg)
        if form != "csv" and self.cell_id_field:
            msg = f"population: 'cell_id_field' is for csv grids, not a {form} grid{said}: remove it, or set 'form: csv'"
            raise ValueError(msg)
        if form != "vector" and self.layer:
            msg = f"population: 'layer' is for vector grids, not a {form} grid{said}: remove it, or set 'form: vector'"
            raise ValueError(msg)
        return self


class ChargingTarget(_Target):
    """A plan target for charging."""

    indicator: Literal[
        "communes_covered_share",
        "points",
        "points_per_100k_inhab",
        "kw_per_bev",
        "pop_share_within_5km",
    ] = Field(
        description="What the target is on: communes_covered_share [0–1], points [points], "
        "points_per_100k_inhab [points per 100,000 inhabitants], kw_per_bev [kW per "
        "battery-electric vehicle], pop_share_within_5km [0–1]."
    )


class ChargingConfig(_Strict):
    """Public charging-point coverage."""

    points: ChargingPointsConfig = Field(description="Public charging points.")
    population: PopulationGridConfig | None = Field(
        default=None,
        description="Gridded population (e.g. INSEE Filosofi, 200 m or 1 km cells) as a raster, "
        "square polygons or a CSV of cell ids: distances and population shares are measured "
        "from its cells.",
    )
    population_raster: Path | None = Field(
        default=None,
        description="Population per cell as a raster (e.g. INSEE Filosofi grid): the same as "
        "population: {path: ..., form: raster}; give population or population_raster, not both.",
    )
    distances_m: list[DistanceM] = Field(
        default_factory=lambda: [1000.0, 5000.0, 10000.0],
        min_length=1,
        description="Distances [m] at which access is measured (population and communes within); "
        "each listed once.",
    )
    fast_kw: Annotated[float, _in_range(0.0, POWER_MAX_KW, lo_open=True, unit="kW")] = Field(
        default=50.0, description="A fast point has at least this power [kW]."
    )
    white_zone_m: DistanceM = Field(
        default=10000.0, description="Populated cells farther than this from any point."
    )
    ev_fleet: EvFleetConfig | None = Field(
        default=None,
        description="Registered electric vehicles per commune, for the AFIR kW-per-vehicle indicator.",
    )
    road_network: RoadNetworkConfig | None = Field(
        default=None,
        description="Local road lines: distances along roads instead of straight lines.",
    )
    postal_codes: PostalCodesConfig | None = Field(
        default=None,
        description="La Poste's postal codes of each commune: a declared commune code that is a "
        "postal code of the commune where the point lies is flagged declared_code_is_postal "
        "(null: postal codes are not told apart from other codes).",
    )
    afir_kw_per_bev: Annotated[float, _in_range(0.0, 10.0, unit="kW")] = Field(
        default=1.3,
        description="Public charging power required per battery-electric vehicle [kW] (EU AFIR, "
        "Regulation 2023/1804: 1.3).",
    )
    afir_kw_per_phev: Annotated[float, _in_range(0.0, 10.0, unit="kW")] = Field(
        default=0.8,
        description="Public charging power required per plug-in hybrid [kW] (AFIR: 0.8).",
    )
    targets: list[ChargingTarget] = Field(
        default_factory=list, description="Plan targets compared with the charging indicators."
    )

    def population_grid(self) -> PopulationGridConfig | None:
        """The population grid: ``population``, or ``population_raster`` as a raster grid."""
        if self.population_raster is not None:
            return PopulationGridConfig(path=self.population_raster, form="raster")
        return self.population

    @model_validator(mode="after")
    def _distances(self) -> ChargingConfig:
        if self.population is not None and self.population_raster is not None:
            msg = (
                "charging: give the population grid once: population or population_raster, "
                "not both (population_raster: FILE is the same as population: {path: FILE, "
                "form: raster})"
            )
            raise ValueError(msg)
        repeated = sorted({d for d in self.distances_m if self.distances_m.count(d) > 1})
        if repeated:
            msg = f"distances_m lists {', '.join(f'{d:g}' for d in repeated)} more than once; give each distance once"
            raise ValueError(msg)
        if any(t.indicator == "pop_share_within_5km" for t in self.targets) and (
            5000.0 not in self.distances_m
        ):
            msg = "a target on pop_share_within_5km needs 5000 in distances_m"
            raise ValueError(msg)
        return self


class ZonalConfig(_Strict):
    """How land-cover areas are counted per commune."""

    method: Literal["cell_centre", "exact"] = Field(
        default="cell_centre",
        description="'cell_centre': each pixel counts wholly in the commune holding its centre "
        "(fast; a commune of a few pixels may gain or lose whole pixels along its boundary); "
        "'exact': each pixel counts in every commune it overlaps, for the share of its area "
        "inside it (coverage fractions computed by exactextract, times the true pixel areas), "
        "so a commune's areas add up to its area over the raster; slower, for small communes "
        "or coarse pixels. A notice then gives, per commune, the difference from cell-centre "
        "counting. Land-cover rasters only (not area tables); the pixel maps of the flows "
        "keep cell centres.",
    )


class MapsConfig(_Strict):
    """Interactive maps."""

    enabled: bool = Field(
        default=True, description="Write the interactive maps (maps/*.html, Folium)."
    )
    simplify_m: Annotated[float, _in_range(0.0, SIMPLIFY_MAX_M, unit="m")] = Field(
        default=20.0, description="Geometry simplification for maps, metres (0: none)."
    )


class ReportConfig(_Strict):
    """The territory report and the deliverables handed on."""

    language: Literal["fr", "en"] = Field(
        default="fr",
        description="Language of the report and of the spreadsheet headers ('fr': French PCAET "
        "vocabulary; 'en': English).",
    )
    pdf: bool = Field(
        default=False,
        description="Also print report.pdf (A4) with headless Chromium when it is installed "
        "(a notice says so when it is not); report.html prints to A4 from any browser.",
    )
    spreadsheet: Literal["xlsx", "csv_semicolon", "none"] = Field(
        default="xlsx",
        description="The calculator deliverable beside sequestration.csv: 'xlsx' "
        "(sequestration.xlsx, one sheet per level) or 'csv_semicolon' (sequestration_fr.csv: "
        "';' separator, decimal comma, UTF-8 with BOM, as French spreadsheets read it).",
    )


#: ``processing.scheduler`` ``local:N``: N worker processes on this machine.
SCHEDULER_LOCAL = re.compile(r"local:(\d+)")
#: ``processing.scheduler`` ``tcp://host:port``: a running dask scheduler.
SCHEDULER_REMOTE = re.compile(r"tcp://[^\s:/]+:(\d+)")


class ProcessingConfig(_Strict):
    """Engine settings."""

    block_pixels: Annotated[int, _in_range(BLOCK_PIXELS_MIN, BLOCK_PIXELS_MAX, unit="pixels")] = (
        Field(default=4_000_000, description="Pixels read per block (bounds the memory used).")
    )
    scheduler: str | None = Field(
        default=None,
        description="Where the land cover's zonal cross-tab, the rooftop PV step's "
        "per-building work and the Monte-Carlo draws of carbon.uncertainty are computed "
        "(dask.distributed, "
        "optional: pip install 'geocarbon[distributed]'): null, in this process; 'local:N', "
        "N worker processes on this machine, started and closed by the run; "
        "'tcp://host:port', a running dask scheduler whose workers see the input files at the "
        "same paths. One task per block of pixels, per chunk of 50,000 buildings or per chunk "
        "of 100 draws; the same "
        "figures, bit for bit.",
    )

    zone_cache: Path | None = Field(
        default=None,
        description="Folder where the communes burnt into the land cover's grid are kept "
        "between runs (relative to the pipeline file; created when needed): a later run over "
        "the same communes and grid reads them instead of burning them again (grids of "
        "50 million pixels or more, computed in this process; the same figures, bit for bit). "
        "One file per commune layer and grid, named by a checksum of the commune shapes, the "
        "grid and geocarbon's burning code; geocarbon writes nothing else there and deletes "
        "nothing there but the temporary files a killed run left: remove the folder to "
        "reclaim its space. null: nothing kept.",
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler_form(cls, value: str | None) -> str | None:
        if value is None:
            return None
        local = SCHEDULER_LOCAL.fullmatch(value)
        remote = SCHEDULER_REMOTE.fullmatch(value)
        if (local and int(local.group(1)) >= 1) or (remote and 0 < int(remote.group(1)) < 65536):
            return value
        msg = (
            f"{value!r} is not a scheduler: give 'local:N' (N worker processes on this "
            "machine, N at least 1, e.g. 'local:4'), the address of a running dask scheduler "
            "('tcp://host:port', e.g. 'tcp://10.0.0.5:8786'), or null to compute in this process"
        )
        raise ValueError(msg)


class PipelineConfig(_Strict):
    """A territory pipeline, as read from ``pipelines/<name>.yaml``."""

    name: str = Field(
        description="Name of the run, usable as a folder name (letters, digits, '_', '-', '.'); "
        "default: the pipeline file's name without .yaml."
    )
    description: str = Field(
        default="", description="One line shown under the title of the report."
    )
    output_dir: Path | None = Field(
        default=None,
        description="Folder the run writes into (relative to the pipeline file); default: "
        "outputs/<name> next to the pipeline file.",
    )
    output_crs: str | None = Field(
        default=None,
        description="CRS of output layers (any pyproj input: 'EPSG:2154', a WKT or PROJ string; "
        "geographic CRSs such as EPSG:4326 too: areas are computed in equal-area projections, "
        "never in the output CRS); default: Lambert-93 (EPSG:2154) in metropolitan France, the "
        "official UTM projection overseas, else the first projected input CRS with an EPSG "
        "code, else EPSG:3035 (Europe) or EPSG:6933.",
    )
    territory: TerritoryConfig | None = Field(
        default=None,
        description="Pick the communes of the run from a larger layer or table (default: all).",
    )
    communes: CommunesConfig = Field(
        description="The communes: boundaries and/or a commune table (INSEE code, EPCI, population)."
    )
    landcover: LandcoverConfig | None = Field(
        default=None,
        description="Land-cover raster for carbon stocks; give either landcover or areas.",
    )
    areas: AreaTableConfig | None = Field(
        default=None,
        description="Land-cover areas from a table (per commune or EPCI) instead of a raster.",
    )
    forest_map: ForestMapConfig | None = Field(
        default=None,
        description="Forest-type raster refining the forest of the land cover; needs landcover.",
    )
    carbon: CarbonConfig = Field(
        default_factory=CarbonConfig,
        description="Carbon-stock coefficients per land-cover category and pool [tC/ha].",
    )
    flows: FlowsConfig | None = Field(
        default=None,
        description="Carbon flows between two dates [tCO2e/yr]; needs landcover or areas.",
    )
    scenarios: ScenariosConfig | None = Field(
        default=None,
        description="Scenarios to the horizon (yearly stocks and flows per EPCI and territory, "
        "against a baseline and the plan's targets); needs flows.",
    )
    pv: PvConfig | None = Field(
        default=None, description="Rooftop photovoltaic potential per building and commune."
    )
    charging: ChargingConfig | None = Field(
        default=None, description="Public charging-point coverage per commune."
    )
    zonal: ZonalConfig = Field(
        default_factory=ZonalConfig,
        description="How land-cover areas are counted per commune (cell centres or exact coverage).",
    )
    maps: MapsConfig = Field(default_factory=MapsConfig, description="Interactive maps.")
    report: ReportConfig = Field(
        default_factory=ReportConfig,
        description="The territory report and the spreadsheet deliverable.",
    )
    processing: ProcessingConfig = Field(
        default_factory=ProcessingConfig, description="Engine settings."
    )
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("output_dir", mode="before")
    @classmethod
    def _output_dir_not_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            msg = (
                "is empty (an empty string, or a variable that expands to nothing); "
                "give a folder, or remove the key to write into outputs/<name> next to the pipeline file"
            )
            raise ValueError(msg)
        return value

    @field_validator("output_crs")
    @classmethod
    def _output_crs_is_buildable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            msg = "is empty; give a CRS such as EPSG:2154, or remove the key (or write null) for the default"
            raise ValueError(msg)
        check_output_crs(value)
        return value

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            msg = f"name {value!r} must be usable as a folder name (letters, digits, '_', '-', '.')"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _steps_have_inputs(self) -> PipelineConfig:
        from geocarbon import capabilities

        if not any(c.enabled(self) for c in capabilities.all_capabilities()):
            extra = [
                f"{c.config_key} ({c.name})"
                for c in capabilities.all_capabilities()
                if c.config_key
            ]
            msg = (
                "the pipeline declares no step: give landcover (a land-cover raster) or areas (an "
                "area table) for carbon, pv (rooftop photovoltaics) and/or charging"
                + (f", or {', '.join(extra)}" if extra else "")
            )
            raise ValueError(msg)
        if self.landcover is not None and self.areas is not None:
            msg = "give either landcover (a raster) or areas (an area table), not both"
            raise ValueError(msg)
        if self.landcover is None and self.forest_map is not None:
            msg = "forest_map needs a landcover raster"
            raise ValueError(msg)
        if self.land_source is None and self.flows is not None:
            msg = "flows need land-cover areas: give landcover (a raster) or areas (an area table)"
            raise ValueError(msg)
        if (
            self.areas is not None
            and self.flows is not None
            and self.flows.landcover_before is not None
        ):
            msg = "flows.landcover_before (a raster) needs landcover (a raster); with areas, give flows.change_table"
            raise ValueError(msg)
        self._check_scenarios()
        if self.communes.path is None:
            needs = [
                key
                for key, value in (
                    ("landcover", self.landcover),
                    ("pv", self.pv),
                    ("charging", self.charging),
                )
                if value is not None
            ]
            if needs:
                msg = f"{' and '.join(needs)} need{'s' if len(needs) == 1 else ''} commune boundaries: set communes.path"
                raise ValueError(msg)
        return self

    def _check_scenarios(self) -> None:
        """Scenarios need flows, and years in order: flows' end ≤ base year < targets ≤ horizon."""
        s = self.scenarios
        if s is None:
            return
        if self.flows is None:
            msg = "scenarios need flows (the observed changes they extend): add a flows section"
            raise ValueError(msg)
        if self.areas is not None and self.areas.level == "epci":
            msg = (
                "scenarios need figures per commune: areas.level is epci; use an area table "
                "per commune or a land-cover raster, or remove the scenarios section"
            )
            raise ValueError(msg)
        base = s.base_year if s.base_year is not None else self.flows.end_year
        if base < self.flows.end_year or s.horizon <= base:
            msg = (
                f"scenarios: base_year {base} must be at or after flows.end_year "
                f"({self.flows.end_year}) and before horizon ({s.horizon})"
            )
            raise ValueError(msg)
        early = sorted({y for sc in s.list for p in sc.practices for y in p.ha if y <= base})
        if early:
            msg = (
                f"scenarios.list.practices: years {early} are not after base_year {base}; the "
                "areas are adopted from base_year on (0 at base_year)"
            )
            raise ValueError(msg)
        late = [t.year for t in s.targets if not base < t.year <= s.horizon]
        if late:
            msg = f"scenarios.targets: years {late} are outside {base + 1}-{s.horizon} (after base_year, up to horizon)"
            raise ValueError(msg)

    @property
    def land_source(self) -> LandcoverConfig | AreaTableConfig | None:
        """Where land-cover areas come from: the raster, the area table, or nothing."""
        return self.landcover if self.landcover is not None else self.areas

    def resolved_output_dir(self) -> Path:
        """Folder the run writes into (``output_dir`` or ``outputs/<name>`` next to the YAML)."""
        if self.output_dir is not None:
            return self.output_dir
        base = self.source_file.parent if self.source_file else Path.cwd()
        return base / "outputs" / self.name


def check_output_crs(value: str) -> None:
    """Build ``value`` with pyproj; refuse what it cannot build and CRSs that are not
    horizontal (vertical, geocentric...), which output layers cannot be projected to.

    Geographic CRSs (EPSG:4326...) are accepted: every area and distance is computed in a
    local equal-area or metric projection, never in the output CRS.

    Raises
    ------
    ValueError
        With the value and how to fix it (reported under the key ``output_crs``).
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError as err:
        msg = (
            f"pyproj cannot build the CRS {value!r} ({err}); give an EPSG code such as "
            "EPSG:2154 (Lambert-93) or EPSG:3035, a WKT or a PROJ string"
        )
        raise ValueError(msg) from None
    if not (crs.is_projected or crs.is_geographic):
        msg = (
            f"{value!r} is a {crs.type_name} ({crs.name}), not a horizontal CRS; give a projected "
            "or geographic CRS such as EPSG:2154 or EPSG:4326"
        )
        raise ValueError(msg)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in a string.

    Raises
    ------
    ConfigError
        When a variable without default is not set.
    """
    env = os.environ if environ is None else environ

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        msg = f"environment variable {name} is used in the pipeline file but is not set; set it or write ${{{name}:-default}}"
        raise ConfigError(msg)

    return _VAR.sub(repl, text)


def _expand_tree(value: Any) -> Any:
    if isinstance(value, str):
        return expand_env(value)
    if isinstance(value, dict):
        return {k: _expand_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_tree(v) for v in value]
    return value


def _resolve_paths(model: BaseModel, base: Path) -> BaseModel:
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name == "source_file":
            continue
        if isinstance(value, Path):
            updates[name] = (base / value).resolve() if not value.is_absolute() else value
        elif isinstance(value, BaseModel):
            updates[name] = _resolve_paths(value, base)
        elif isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            updates[name] = [_resolve_paths(v, base) for v in value]
    return model.model_copy(update=updates) if updates else model


def _key_path(loc: tuple[int | str, ...]) -> str:
    """``('charging', 'distances_m', 1)`` -> ``charging.distances_m[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)


def _format_validation_error(err: ValidationError, source: str) -> str:
    """One line per problem: the key (``pv.parameters.usable_share.flat``), what is wrong,
    the allowed range and the value given."""
    lines = [f"{source}: the pipeline configuration is invalid:"]
    for item in err.errors():
        where = _key_path(item["loc"]) or "(top level)"
        kind = item["type"]
        if kind == "extra_forbidden":
            lines.append(f"  - unknown key '{where}': remove it or check its spelling")
        elif kind == "missing":
            lines.append(f"  - missing key '{where}'")
        elif kind == "value_error":
            # our own checks: the message names the value already
            message = str(item["msg"]).removeprefix("Value error, ")
            named = not item["loc"] or message.startswith((f"{where}:", f"{where}.", f"{where} "))
            lines.append(f"  - {message}" if named else f"  - {where}: {message}")
        elif kind == "finite_number":
            hint = (
                "; NaN pixels are always no data, list only finite codes"
                if "nodata_values" in item["loc"]
                else ""
            )
            lines.append(
                f"  - {where}: must be a finite number, not infinity or NaN (got {_shown(item.get('input'))}){hint}"
            )
        else:
            lines.append(f"  - {where}: {item['msg']} (got {_shown(item.get('input'))})")
    return "\n".join(lines)


def pipeline_model() -> type[PipelineConfig]:
    """The model of a pipeline file: :class:`PipelineConfig`, plus one optional section per
    capability registered with a configuration of its own (``config_key``/``config_model``,
    see :mod:`geocarbon.capabilities`)."""
    from pydantic import create_model

    from geocarbon import capabilities

    extra = {
        c.config_key: (
            c.config_model | None,
            Field(default=None, description=c.config_description or f"Settings of {c.name}."),
        )
        for c in capabilities.all_capabilities()
        if c.config_key and c.config_model is not None
    }
    if not extra:
        return PipelineConfig
    model: type[PipelineConfig] = create_model(  # type: ignore[call-overload]
        "PipelineConfig", __base__=PipelineConfig, **extra
    )
    return model


def config_from_dict(
    data: dict[str, Any], base_dir: Path, source: str = "<config>"
) -> PipelineConfig:
    """Validate a configuration mapping and resolve its paths against ``base_dir``."""
    try:
        cfg = pipeline_model().model_validate(_expand_tree(data))
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None
    resolved = _resolve_paths(cfg, base_dir.resolve())
    assert isinstance(resolved, PipelineConfig)
    return resolved


def load_config(path: Path) -> PipelineConfig:
    """Read and validate a pipeline YAML file.

    Parameters
    ----------
    path : Path
        The pipeline file. Relative paths inside it are relative to its folder.
    """
    from geocarbon.io.tables import read_yaml

    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        msg = f"{path}: a pipeline file must be a mapping of keys (name, communes, landcover, ...)"
        raise ConfigError(msg)
    data.setdefault("name", path.stem)
    cfg = config_from_dict(data, path.parent, source=str(path))
    return cfg.model_copy(update={"source_file": path.resolve()})


# --- The pipeline file described: JSON Schema (``geocarbon schema``) and README key table ---

#: Dialect and identifier of the JSON Schema of a pipeline file.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:geocarbon:pipeline-file"
#: The schema shipped beside the pipelines, named by their ``yaml-language-server`` header.
SCHEMA_FILE_NAME = "geocarbon.schema.json"
SCHEMA_HEADER = f"# yaml-language-server: $schema=./{SCHEMA_FILE_NAME}"
#: Marker comments around the generated key table in README.md.
KEYS_START, KEYS_END = "<!-- keys:start -->", "<!-- keys:end -->"
#: Keys the loader fills when a file leaves them out (required by the model, not in a file).
_LOADER_DEFAULTS = {"name": "the file's name"}
#: Fields of the model that a pipeline file does not give.
_INTERNAL_FIELDS = ("source_file",)


class _PipelineSchemaGenerator(GenerateJsonSchema):
    """Pydantic's JSON Schema, with the defaults of ``default_factory`` values shown
    (lists and mappings; sections keep theirs in their own definitions)."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is None or schema.get("default_factory_takes_data"):
            return super().get_default_value(schema)
        value = factory()  # type: ignore[call-arg]
        return NoDefault if isinstance(value, BaseModel) else value


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pipeline file, derived from :class:`PipelineConfig`.

    Every section rejects unknown keys (``additionalProperties: false``, as the models'
    ``extra="forbid"``); number ranges are those checked when a file is read. ``name`` is
    optional (the loader takes the file's name). Checks across keys (``aldo_dir`` with
    ``coefficients: aldo``...) are left to ``geocarbon validate``.
    """
    schema = PipelineConfig.model_json_schema(
        mode="validation", schema_generator=_PipelineSchemaGenerator
    )
    for name in _INTERNAL_FIELDS:
        schema["properties"].pop(name, None)
    schema["required"] = [k for k in schema["required"] if k not in _LOADER_DEFAULTS]
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    schema["title"] = "geocarbon pipeline file"
    return schema


def schema_text() -> str:
    """:func:`pipeline_json_schema` as the text of ``pipelines/geocarbon.schema.json``:
    UTF-8 JSON, keys sorted, 2-space indent, one final newline (the same bytes every time)."""
    return json.dumps(pipeline_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The configuration models inside a field's type (``X | None``, ``list[X]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _type_words(annotation: Any) -> str:
    """A field's type in words: ``text``, ``path or null``, ``list of number``..."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        words = _type_words(args[0])
        ranges = [m.allowed for m in args[1:] if isinstance(m, _RangeCheck)]
        return f"{words} ({ranges[0]})" if ranges else words
    if origin is Literal:
        return " | ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        shown = [_type_words(a) for a in args if a is not type(None)]
        return " or ".join(shown) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_words(args[0])}"
    if origin is dict:
        return f"mapping {_type_words(args[0])} → {_type_words(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    names = {str: "text", Path: "path", bool: "true/false", int: "integer", float: "number"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default_words(key: str, field: Any) -> str:
    if key in _LOADER_DEFAULTS:
        return _LOADER_DEFAULTS[key]
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    return f"`{json.dumps(to_jsonable_python(value), ensure_ascii=False)}`"


def config_keys(model: type[BaseModel] = PipelineConfig, prefix: str = "") -> list[tuple[str, Any]]:
    """Every key of a pipeline file, depth first, as ``(dotted key, pydantic field)``.

    A list of sections is written ``key[]`` (``pv.exclusions[].path``); a section that can be
    one of several models lists the keys of each.
    """
    out: list[tuple[str, Any]] = []
    for name, field in model.model_fields.items():
        if name in _INTERNAL_FIELDS:
            continue
        key = f"{prefix}{name}"
        out.append((key, field))
        is_list = typing.get_origin(field.annotation) is list or any(
            typing.get_origin(a) is list for a in typing.get_args(field.annotation)
        )
        for sub in _models_in(field.annotation):
            out += config_keys(sub, f"{key}[]." if is_list else f"{key}.")
    return out


def _cell(text: str) -> str:
    """Text as one Markdown table cell (one line, ``|`` escaped)."""
    return " ".join(text.split()).replace("|", "\\|")


def key_table() -> str:
    """The Markdown table of every key of a pipeline file (key, type, default, description),
    derived from :class:`PipelineConfig`: README.md shows it between :data:`KEYS_START` and
    :data:`KEYS_END` (``geocarbon schema --readme README.md`` rewrites it)."""
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, field in config_keys():
        # a range on the field itself is in its metadata, not in its annotation
        meta = field.metadata
        kind = _type_words(Annotated[(field.annotation, *meta)] if meta else field.annotation)
        cells = (
            f"`{key}`",
            kind,
            _default_words(key, field),
            field.description or "",
        )
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def with_key_table(text: str, source: str = "README.md") -> str:
    """``text`` (a README) with the part between the key-table markers replaced by
    :func:`key_table`.

    Raises
    ------
    ConfigError
        When the markers are missing, repeated or out of order.
    """
    from geocarbon.spec import between_markers

    return between_markers(
        text, KEYS_START, KEYS_END, key_table().rstrip("\n"), "configuration keys", source
    )
