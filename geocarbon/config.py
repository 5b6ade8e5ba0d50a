"""Typed pipeline configuration.

A pipeline file (``pipelines/<territory>.yaml``) holds paths and overrides only. It is
parsed into :class:`PipelineConfig`; every path is resolved relative to the directory of
the YAML file, ``${VAR}`` / ``${VAR:-default}`` are expanded from the environment, and
unknown keys are rejected by name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geocarbon.errors import ConfigError

#: Environment variable naming the folder of shared public data (see README).
DATA_ENV_VAR = "GEOCARBON_DATA"

CARBON_POOLS = ("soil", "litter", "live_biomass", "dead_wood")
FOREST_TYPES = ("broadleaf", "conifer", "mixed", "poplar")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommuneTableConfig(_Strict):
    """A table joined to the communes by INSEE code (e.g. EPCI membership)."""

    path: Path
    code_field: str = "insee"
    epci_field: str | None = "epci"
    population_field: str | None = None
    separator: str = ","


class EpciNamesConfig(_Strict):
    """A table of EPCI names (code → name)."""

    path: Path
    code_field: str = "code"
    name_field: str = "nom"
    separator: str = ","


class CommunesConfig(_Strict):
    """Commune boundaries: any OGR-readable vector file."""

    path: Path
    layer: str | None = None
    code_field: str = "code"
    name_field: str = "nom"
    epci_field: str | None = None
    epci_name_field: str | None = None
    population_field: str | None = None
    table: CommuneTableConfig | None = None
    epci_names: EpciNamesConfig | None = None


class LandcoverConfig(_Strict):
    """Categorical land-cover raster (CLC codes by default)."""

    path: Path
    year: int | None = None
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
        "(e.g. CLC 999 'NODATA', 990/995 'unclassified').",
    )
    category_overrides: dict[int, str] = Field(
        default_factory=dict, description="code -> category, applied over the nomenclature."
    )

    @model_validator(mode="after")
    def _mapping_needed(self) -> LandcoverConfig:
        if self.nomenclature == "table" and self.mapping is None:
            msg = "landcover.nomenclature is 'table' but landcover.mapping is not set: give a CSV with columns code,category"
            raise ValueError(msg)
        return self


ForestType = Literal["broadleaf", "conifer", "mixed", "poplar"]


def _default_forest_codes() -> dict[int, ForestType]:
    return {1: "broadleaf", 2: "conifer", 3: "mixed", 4: "poplar"}


class ForestMapConfig(_Strict):
    """Optional forest-type raster (IGN BD Forêt-like composition codes)."""

    path: Path
    codes: dict[int, ForestType] = Field(default_factory=_default_forest_codes)
    mode: Literal["composition", "override"] = Field(
        default="composition",
        description="'composition': the map gives the forest type of land-cover forest pixels; "
        "'override': every pixel the map calls forest is forest of that type, whatever the land cover.",
    )


class CarbonConfig(_Strict):
    """Carbon-stock coefficients: a set read from data, plus overrides."""

    coefficients: Literal["aldo", "generic"] = "generic"
    aldo_dir: Path | None = None
    generic_table: Path | None = Field(
        default=None,
        description="CSV category,pool,stock_tc_per_ha,source; the built-in table if unset.",
    )
    forest_locations: Path | None = Field(
        default=None,
        description="Optional CSV insee,groupeser,greco[,bassin_populicole] for the ALDO forest cascade.",
    )
    artificial_sealed_share: float = Field(default=0.8, ge=0.0, le=1.0)
    overrides: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="category -> pool -> tC/ha, applied to every commune."
    )

    @model_validator(mode="after")
    def _aldo_dir_needed(self) -> CarbonConfig:
        if self.coefficients == "aldo" and self.aldo_dir is None:
            msg = "carbon.coefficients is 'aldo' but carbon.aldo_dir is not set: point it to the folder of ALDO tables"
            raise ValueError(msg)
        for category, pools in self.overrides.items():
            for pool, value in pools.items():
                if pool not in CARBON_POOLS:
                    msg = f"carbon.overrides.{category}: unknown pool {pool!r}; expected one of {', '.join(CARBON_POOLS)}"
                    raise ValueError(msg)
                if value < 0:
                    msg = (
                        f"carbon.overrides.{category}.{pool} = {value}: a stock cannot be negative"
                    )
                    raise ValueError(msg)
        return self


class ChangeTableConfig(_Strict):
    """Land-use change table per commune (ADEME's CLC change layout by default)."""

    path: Path
    from_field: str = "code12"
    to_field: str = "code18"
    commune_field: str = "commune"
    area_field: str = Field(default="area", description="Changed area over the period [ha].")
    separator: str = ","


class FlowsConfig(_Strict):
    """Carbon flows: land-use change between two dates, forest growth, N2O, wood products."""

    start_year: int
    end_year: int
    change_table: ChangeTableConfig | None = None
    landcover_before: Path | None = Field(
        default=None,
        description="Land-cover raster at start_year (same nomenclature); the land cover is at end_year.",
    )
    forest_growth: bool = True
    harvest_factor: float = Field(
        default=1.0, ge=0.0, description="Scales harvest in forest growth (1.2 = +20 % harvest)."
    )
    wood_products: bool = True
    n2o_gwp: float = Field(default=273.0, gt=0.0, description="GWP100 of N2O (AR6: 273; AR5: 265).")
    aldo_published: bool = Field(
        default=False,
        description="Reproduce ALDO's published figures, slips included (44/25 in N2O, changes from "
        "artificial land counted twice, 141 over-count); default: the corrected method.",
    )

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


class BuildingsConfig(_Strict):
    """Building footprints (IGN BD TOPO BATIMENT, OpenStreetMap...; any OGR format)."""

    path: Path
    layer: str | None = None
    id_field: str | None = Field(
        default=None, description="Building id; default: the feature number."
    )
    height_field: str | None = "hauteur"
    roof_min_field: str | None = Field(
        default="altitude_minimale_toit", description="Lowest roof altitude [m]."
    )
    roof_max_field: str | None = Field(
        default="altitude_maximale_toit", description="Highest roof altitude [m]."
    )
    usage_field: str | None = "usage_1"
    public_usages: list[str] = Field(
        default_factory=lambda: ["Sportif", "Religieux"],
        description="Usage values flagged as public buildings (BD TOPO has no owner field).",
    )


class WeatherConfig(_Strict):
    """Hourly weather with irradiance, read with pvlib's readers (EPW, TMY3, PVGIS)."""

    path: Path
    format: Literal["auto", "epw", "tmy3", "pvgis"] = "auto"


class ZonesConfig(_Strict):
    """Polygons (exclusion zones, existing installations)."""

    path: Path
    layer: str | None = None
    reason: str = "excluded zone"
    kwp_field: str | None = None


RoofForm = Literal["flat", "pitched", "unknown"]


def _default_usable_share() -> dict[RoofForm, float]:
    return {"flat": 0.40, "pitched": 0.40, "unknown": 0.25}


class PvParameters(_Strict):
    """Every assumption of the rooftop PV model (defaults cited in the README)."""

    flat_roof_max_range_m: float = Field(
        default=1.0, ge=0.0, description="Roof altitude range below which a roof is flat [m]."
    )
    usable_share: dict[RoofForm, float] = Field(
        default_factory=_default_usable_share,
        description="Usable share of the footprint by roof form (JRC scenarios: 25 % and 40 %).",
    )
    small_roof_m2: float = Field(
        default=50.0, ge=0.0, description="Footprints below this get small_roof_factor."
    )
    small_roof_factor: float = Field(default=0.75, ge=0.0, le=1.0)
    min_usable_m2: float = Field(default=10.0, ge=0.0)
    kwp_per_m2: float = Field(
        default=0.20, gt=0.0, description="Module power per m² of module [kWp/m²]."
    )
    flat_tilt_deg: float = Field(default=15.0, ge=0.0, le=90.0)
    flat_azimuth_deg: float = Field(default=180.0, ge=0.0, lt=360.0)
    pitched_tilt_deg: float = Field(default=30.0, ge=0.0, le=90.0)
    pitched_azimuths_deg: list[float] = Field(
        default_factory=lambda: [90.0, 112.5, 135.0, 157.5, 180.0, 202.5, 225.0, 247.5, 270.0],
        description="Orientations averaged for pitched roofs of unknown orientation (east to west).",
    )
    losses_percent: float = Field(default=14.0, ge=0.0, lt=100.0)
    gamma_pdc_per_c: float = Field(
        default=-0.004, description="Power temperature coefficient [1/°C]."
    )
    temperature_model: str = Field(
        default="close_mount_glass_glass", description="pvlib SAPM parameter set."
    )
    large_roof_m2: float = Field(default=1000.0, ge=0.0)


class PvTarget(_Strict):
    """A plan target: value to reach by a year."""

    indicator: Literal["pv_mwp", "pv_mwh_per_yr", "public_roofs_equipped_share", "pv_kwp_per_inhab"]
    value: float
    year: int | None = None
    label: str = ""


class PvConfig(_Strict):
    """Rooftop photovoltaic potential."""

    buildings: BuildingsConfig
    weather: WeatherConfig | None = None
    irradiation_raster: Path | None = Field(
        default=None,
        description="Annual global horizontal irradiation [kWh/m²/yr]; scales each building's yield.",
    )
    exclusions: list[ZonesConfig] = Field(default_factory=list)
    existing: ZonesConfig | None = None
    parameters: PvParameters = Field(default_factory=PvParameters)
    targets: list[PvTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _irradiance_source(self) -> PvConfig:
        if self.weather is None and self.irradiation_raster is None:
            msg = "pv: give a weather file (pv.weather) and/or an annual irradiation raster (pv.irradiation_raster)"
            raise ValueError(msg)
        return self


class ChargingPointsConfig(_Strict):
    """Charging points: IRVE statique v2 CSV (one row per point) or a station layout."""

    path: Path
    layer: str | None = None
    layout: Literal["auto", "irve_v2", "stations"] = "auto"
    separator: str = ","


class EvFleetConfig(_Strict):
    """Registered electric vehicles per commune (for the AFIR kW-per-vehicle indicator)."""

    path: Path
    code_field: str = "code_insee"
    bev_field: str = "bev"
    phev_field: str | None = "phev"


class ChargingTarget(_Strict):
    """A plan target for charging."""

    indicator: Literal[
        "communes_covered_share",
        "points",
        "points_per_100k_inhab",
        "kw_per_bev",
        "pop_share_within_5km",
    ]
    value: float
    year: int | None = None
    label: str = ""


class ChargingConfig(_Strict):
    """Public charging-point coverage."""

    points: ChargingPointsConfig
    population_raster: Path | None = Field(
        default=None, description="Population per cell (e.g. INSEE Filosofi grid)."
    )
    distances_m: list[float] = Field(default_factory=lambda: [1000.0, 5000.0, 10000.0])
    fast_kw: float = Field(
        default=50.0, gt=0.0, description="A fast point has at least this power [kW]."
    )
    white_zone_m: float = Field(
        default=10000.0, gt=0.0, description="Populated cells farther than this from any point."
    )
    ev_fleet: EvFleetConfig | None = None
    road_network: ZonesConfig | None = Field(
        default=None,
        description="Local road lines: distances along roads instead of straight lines.",
    )
    afir_kw_per_bev: float = 1.3
    afir_kw_per_phev: float = 0.8
    targets: list[ChargingTarget] = Field(default_factory=list)


class MapsConfig(_Strict):
    """Interactive maps."""

    enabled: bool = True
    simplify_m: float = Field(
        default=20.0, ge=0.0, description="Geometry simplification for maps, metres."
    )


class ProcessingConfig(_Strict):
    """Engine settings."""

    block_pixels: int = Field(default=4_000_000, ge=10_000, description="Pixels read per block.")


class PipelineConfig(_Strict):
    """A territory pipeline, as read from ``pipelines/<name>.yaml``."""

    name: str
    description: str = ""
    output_dir: Path | None = None
    output_crs: str | None = Field(
        default=None, description="CRS of output layers; default: the land-cover raster's CRS."
    )
    communes: CommunesConfig
    landcover: LandcoverConfig | None = None
    forest_map: ForestMapConfig | None = None
    carbon: CarbonConfig = Field(default_factory=CarbonConfig)
    flows: FlowsConfig | None = None
    pv: PvConfig | None = None
    charging: ChargingConfig | None = None
    maps: MapsConfig = Field(default_factory=MapsConfig)
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig)
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            msg = f"name {value!r} must be usable as a folder name (letters, digits, '_', '-', '.')"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _steps_have_inputs(self) -> PipelineConfig:
        if self.landcover is None and self.pv is None and self.charging is None:
            msg = "the pipeline declares no step: give landcover (carbon), pv (rooftop photovoltaics) and/or charging"
            raise ValueError(msg)
        if self.landcover is None and (self.forest_map is not None or self.flows is not None):
            msg = "forest_map and flows need a landcover raster"
            raise ValueError(msg)
        return self

    def resolved_output_dir(self) -> Path:
        """Folder the run writes into (``output_dir`` or ``outputs/<name>`` next to the YAML)."""
        if self.output_dir is not None:
            return self.output_dir
        base = self.source_file.parent if self.source_file else Path.cwd()
        return base / "outputs" / self.name


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


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: the pipeline configuration is invalid:"]
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"  - unknown key '{where}': remove it or check its spelling")
        elif item["type"] == "missing":
            lines.append(f"  - missing key '{where}'")
        else:
            lines.append(f"  - {where}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def config_from_dict(
    data: dict[str, Any], base_dir: Path, source: str = "<config>"
) -> PipelineConfig:
    """Validate a configuration mapping and resolve its paths against ``base_dir``."""
    try:
        cfg = PipelineConfig.model_validate(_expand_tree(data))
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
