"""Carbon steps of a territory run: land-use areas, stocks, flows, and their outputs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon import kernels
from geocarbon.capabilities.carbon_hedges import (
    HedgeInputs,
    HedgeResults,
    practices_of_run,
    read_hedges,
    with_hedges,
    with_rows,
)
from geocarbon.capabilities.carbon_practices import unit_communes
from geocarbon.carbon.area_table import area_table_long, zone_mean
from geocarbon.carbon.categories import (
    ALDO_NAMES,
    CLC_CATEGORIES,
    CLC_GRID_CODES,
    CLC_GRID_NODATA,
    CLC_NODATA_CODES,
    FOREST_CATEGORIES,
    assign_categories,
    check_mapping_covers,
    mapping_from_table,
    split_artificial,
)
from geocarbon.carbon.coefficients import (
    aldo_reference_stocks,
    apply_overrides,
    check_override_categories,
    generic_reference_stocks,
    unmatched_forest_locations,
    unweighted_location_notice,
)
from geocarbon.carbon.flows import (
    FLOW_COLUMNS,
    PCAET_CATEGORIES,
    FlowUnits,
    ForestGrowthCoefficients,
    LucCoefficients,
    aldo_luc_coefficients,
    categorise_changes,
    check_aldo_flux,
    flows_by_commune,
    forest_growth_flows,
    generic_luc_coefficients,
    landuse_change_flows,
    n2o_flows,
    wood_products_consumption_flows,
    wood_products_flows,
    wood_products_shown,
)
from geocarbon.carbon.growth import (
    aldo_forest_growth,
    aldo_wood_shares,
    consumption_population,
    generic_forest_growth,
    zone_wood_shares,
)
from geocarbon.carbon.landuse_change import (
    CHANGE_AREA_SLACK_HA,
    CHANGE_AREA_TOLERANCE,
    changes_from_crosstab,
    check_changed_area_fits,
    prepare_change_table,
)
from geocarbon.carbon.pixels import (
    HOTSPOT_CLASSES,
    DensityLookup,
    density_lookup,
    hotspot_frame,
    hotspot_polygons,
)
from geocarbon.carbon.stocks import compute_stocks, stocks_by_commune, territory_summary
from geocarbon.classes import HOTSPOT, format_value
from geocarbon.communes import fill_from_neighbours, has_boundaries
from geocarbon.config import AreaTableConfig, FlowsConfig, PipelineConfig
from geocarbon.deliverables import SequestrationFigures
from geocarbon.distributed import cluster_crosstab
from geocarbon.errors import InputError
from geocarbon.geo import M2_PER_HA, PixelAreaModel, area_ha, in_crs, share_inside_box
from geocarbon.io.coefficients import (
    ALDO_FILES,
    ALDO_FLOW_FILES,
    AldoTables,
    read_aldo_tables,
    read_generic_growth_table,
    read_generic_table,
    read_practice_rates,
)
from geocarbon.io.deferred import DeferredFiles
from geocarbon.io.raster import RasterInfo, count_blocks, iter_blocks, raster_info
from geocarbon.io.report_files import latest_input_day
from geocarbon.io.spreadsheets import calculator_file
from geocarbon.io.tables import read_csv
from geocarbon.io.writers import (
    BlockRasterWriter,
    raster_bands,
    write_csv,
    write_json,
)
from geocarbon.labels import UNITS, Language, label
from geocarbon.maps import (
    ChoroplethLayer,
    Overlay,
    choropleth_map,
    commune_tooltip,
    labelled,
    map_title,
)
from geocarbon.notices import Notice
from geocarbon.spec import check_columns, find_input
from geocarbon.state import Inputs, Progress, Results, Timer
from geocarbon.territory import COVERAGE_MIN, departement_of, level_rows, tidy_coverage
from geocarbon.values import RasterBlock
from geocarbon.zonal import (
    NO_VALUE,
    ZONE_CACHE,
    ZonalResult,
    ZoneBlocks,
    ZoneCache,
    check_integral,
    check_landcover_excess,
    check_pixel_size,
    typical_pixel_ha,
    valid_mask,
    zonal_crosstab,
)

logger = logging.getLogger(__name__)


@dataclass
class CarbonInputs:
    """The carbon steps' inputs, read in the read phase (``run`` and ``validate``): the
    rasters' headers (their blocks are streamed when computing) and every table; the
    computation reads no table itself."""

    landcover: RasterInfo | None = None
    """The land-cover raster (None in a run from an area table)."""
    forest_map: RasterInfo | None = None
    """The forest-type map, aligned to the land cover."""
    landcover_before: RasterInfo | None = None
    """The land cover at the start date of the flows."""
    mapping: pd.DataFrame | None = None
    """``code,category`` table of a ``table`` nomenclature."""
    aldo: AldoTables | None = None
    """ALDO's reference tables (``carbon.coefficients: aldo``)."""
    generic: tuple[pd.DataFrame, str] | None = None
    """Generic coefficient table and where it was read from."""
    growth: pd.DataFrame | None = None
    """Generic forest growth table (flows with the generic set)."""
    changes: pd.DataFrame | None = None
    """The land-use change table as read (``flows.change_table``)."""
    areas: pd.DataFrame | None = None
    """The area table as read (``areas``)."""
    on_grid: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
    """The communes and their copy in the land cover's CRS (:func:`communes_on_grid`)."""
    flow_units: FlowUnits | None = None
    """The flows' unit changes, forest growth and wood-use shares, kept by
    :func:`compute_flows` for the scenarios (None before)."""
    hedges: HedgeInputs | None = None
    """The hedge lines (``carbon.hedges``)."""
    practice_rates: pd.DataFrame | None = None
    """The practices' rates table (``carbon.practices``)."""


def carbon_inputs(inputs: Inputs) -> CarbonInputs:
    """What the carbon capability read (:func:`read_carbon_inputs`)."""
    read = inputs.parts["carbon"]
    assert isinstance(read, CarbonInputs)
    return read


def communes_on_grid(inputs: Inputs, raster: RasterInfo) -> gpd.GeoDataFrame:
    """The communes in the land-cover raster's CRS (:func:`geocarbon.geo.in_crs`), put there
    once per run: the cross-tab and the pixel maps get the same geometries (no second
    reprojection, and the zone cache recognises them)."""
    read = carbon_inputs(inputs)
    kept = read.on_grid
    if kept is None or kept[0] is not inputs.communes or not kept[1].crs.equals(raster.crs):
        kept = (inputs.communes, in_crs(inputs.communes, raster.crs))
        read.on_grid = kept
    return kept[1]


@dataclass
class CarbonResults:
    """What the carbon capability computed for a run."""

    landuse_areas: pd.DataFrame
    """Land-use area per zone and land-cover code [ha], with the zone's coverage."""
    carbon_stocks: pd.DataFrame
    """Stock per zone, category and pool [tC], with the reference stock [tC/ha]."""
    summary: pd.DataFrame
    """Territory stocks per category and pool [tC], with what they cover."""
    coefficient_set: str
    """Where the reference stocks come from (ALDO's tables, a generic table...)."""
    reference: pd.DataFrame
    """Reference stocks per commune, category and pool [tC/ha]."""
    mapping: dict[int, str]
    """Land-cover code → ALDO category."""
    level: str = "commune"
    """What the figures are computed for: ``commune`` or ``epci`` (an EPCI-level area
    table)."""
    flows: pd.DataFrame | None = None
    """Flows per zone and kind [tCO2e/yr] (None without ``flows``)."""
    sequestration: pd.DataFrame | None = None
    """The sequestration table per commune, EPCI and territory [tCO2e/yr]."""
    zones: pd.DataFrame | None = None
    """The figures per EPCI of an EPCI-level run (None in a commune-level run)."""
    hedges: HedgeResults | None = None
    """The hedges' lengths, stocks and flow (None without ``carbon.hedges``)."""
    practices: pd.DataFrame | None = None
    """The practices' potential [tCO2e/yr] (None without ``carbon.practices``); never in
    the flows."""
    zpc: pd.Series | None = None
    """ALDO's pedoclimatic zone per commune code (None with the generic set)."""
    region: pd.Series | None = None
    """ALDO's region per commune code (None with the generic set)."""
    uncertainty: dict[str, Any] | None = None
    """The draws, seed and spreads of the Monte-Carlo ranges of ``sequestration.csv``
    (``carbon.uncertainty``; None without)."""


def carbon_results(results: Results) -> CarbonResults:
    """What the carbon capability computed (:func:`compute_carbon`)."""
    computed = results.parts["carbon"]
    assert isinstance(computed, CarbonResults)
    return computed


def read_carbon_tables(cfg: PipelineConfig, tables: CarbonInputs) -> CarbonInputs:
    """Read every table the carbon steps use into ``tables`` (each read once, and checked for
    the columns its :class:`~geocarbon.spec.InputSpec` declares)."""
    source = cfg.land_source
    assert source is not None
    if source.nomenclature == "table":
        assert source.mapping is not None
        key = "landcover.mapping" if cfg.landcover is not None else "areas.mapping"
        tables.mapping = read_csv(source.mapping, "land-cover mapping")
        _check_declared(key, source, tables.mapping, "land-cover mapping", source.mapping)
    if cfg.carbon.coefficients == "aldo":
        assert cfg.carbon.aldo_dir is not None
        tables.aldo = read_aldo_tables(
            cfg.carbon.aldo_dir, cfg.carbon.forest_locations, flows=cfg.flows is not None
        )
        if tables.aldo.forest_locations is not None:
            assert cfg.carbon.forest_locations is not None
            _check_declared(
                "carbon.forest_locations",
                cfg.carbon,
                tables.aldo.forest_locations,
                "forest locations",
                cfg.carbon.forest_locations,
            )
    else:
        tables.generic = read_generic_table(cfg.carbon.generic_table)
        if cfg.carbon.generic_table is not None:
            _check_declared(
                "carbon.generic_table",
                cfg.carbon,
                tables.generic[0],
                "generic coefficients",
                cfg.carbon.generic_table,
            )
        if cfg.flows is not None:
            tables.growth = read_generic_growth_table()
    if cfg.flows is not None and cfg.flows.change_table is not None:
        table_cfg = cfg.flows.change_table
        tables.changes = read_csv(
            table_cfg.path, "change table", dtype=object, sep=table_cfg.separator
        )
        _check_declared(
            "flows.change_table.path", table_cfg, tables.changes, "change table", table_cfg.path
        )
    if cfg.areas is not None:
        tables.areas = read_csv(
            cfg.areas.path, "area table", dtype=object, sep=cfg.areas.separator, na_values=[""]
        )
        _check_declared("areas.path", cfg.areas, tables.areas, "area table", cfg.areas.path)
    return tables


def _check_declared(key: str, section: Any, table: pd.DataFrame, what: str, path: Path) -> None:
    """Refuse ``table`` (the carbon input ``key``, read from ``path``) lacking a column its
    declaration asks for (:func:`geocarbon.spec.check_columns`)."""
    from geocarbon.capabilities.carbon import CarbonCapability

    check_columns(find_input(CarbonCapability.inputs, key), section, table.columns, what, str(path))


def read_carbon_inputs(cfg: PipelineConfig, files: dict[str, Path]) -> CarbonInputs:
    """Check the rasters of the carbon steps and read their tables; record the files they
    read (the area table of a run without rasters)."""
    read = read_carbon_tables(cfg, CarbonInputs(*_carbon_rasters(cfg, files)))
    read.hedges = read_hedges(cfg, files)
    if cfg.carbon.practices:
        read.practice_rates = read_practice_rates()
    return read


def _carbon_rasters(
    cfg: PipelineConfig, files: dict[str, Path]
) -> tuple[RasterInfo | None, RasterInfo | None, RasterInfo | None]:
    """The land cover, the forest map and the start-date land cover (each checked, or
    None); the files recorded."""
    source = cfg.land_source
    assert source is not None
    _record_coefficient_files(cfg, files)
    if source.nomenclature == "table" and source.mapping is not None:
        files["landcover_mapping"] = source.mapping
    if cfg.flows is not None and cfg.flows.change_table is not None:
        files["change_table"] = cfg.flows.change_table.path
    if cfg.landcover is None:
        assert cfg.areas is not None
        files["areas"] = cfg.areas.path
        return None, None, None
    files["landcover"] = cfg.landcover.path
    landcover = raster_info(cfg.landcover.path, "land cover")
    forest = None
    if cfg.forest_map is not None:
        forest = raster_info(cfg.forest_map.path, "forest map")
        files["forest_map"] = cfg.forest_map.path
        if not _boxes_overlap(forest, landcover):
            msg = (
                f"forest map {forest.path} does not overlap the land-cover raster {landcover.path}"
            )
            raise InputError(msg)
    before = None
    if cfg.flows is not None and cfg.flows.landcover_before is not None:
        before = raster_info(cfg.flows.landcover_before, "land cover at the start date")
        files["landcover_before"] = cfg.flows.landcover_before
        if not _boxes_overlap(before, landcover):
            msg = (
                f"the land cover at the start date {before.path} does not overlap the land cover "
                f"{landcover.path}; both dates must cover the territory"
            )
            raise InputError(msg)
    return landcover, forest, before


def _record_coefficient_files(cfg: PipelineConfig, files: dict[str, Path]) -> None:
    if cfg.carbon.coefficients == "aldo":
        assert cfg.carbon.aldo_dir is not None
        if cfg.flows is not None:
            for key, name in ALDO_FLOW_FILES.items():
                files[f"aldo_{key}"] = cfg.carbon.aldo_dir / name
        for key, name in ALDO_FILES.items():
            files[f"aldo_{key}"] = cfg.carbon.aldo_dir / name
        if cfg.carbon.forest_locations is not None:
            files["forest_locations"] = cfg.carbon.forest_locations
    elif cfg.carbon.generic_table is not None:
        files["generic_table"] = cfg.carbon.generic_table


def _boxes_overlap(a: RasterInfo, b: RasterInfo) -> bool:
    box_a = gpd.GeoSeries([shapely.box(*a.bounds)], crs=a.crs).to_crs(b.crs).iloc[0]
    return bool(box_a.intersects(shapely.box(*b.bounds)))


def check_overlap(
    communes: gpd.GeoDataFrame, raster: RasterInfo, pixel_areas: PixelAreaModel | None = None
) -> tuple[np.ndarray, list[Notice]]:
    """Share of each commune's area inside the raster's extent; fail if nothing overlaps.

    Parameters
    ----------
    communes : GeoDataFrame
        The communes (any CRS; put in the raster's).
    raster : RasterInfo
        The land cover.
    pixel_areas : PixelAreaModel, optional
        The raster's pixel areas. Of kind ``constant`` (an equal-area projection), the
        raster's planar areas are true areas: the shares are taken there
        (:func:`geocarbon.geo.share_inside_box`) instead of in local equal-area projections
        (:func:`_inside_share_plain`).

    Returns
    -------
    ndarray
        Fraction (0–1) of each commune's area inside the raster extent.
    """
    in_raster = in_crs(communes, raster.crs)
    if pixel_areas is not None and pixel_areas.kind == "constant":
        share = share_inside_box(np.asarray(in_raster.geometry.values), raster.bounds)
    else:
        share = _inside_share_plain(in_raster, raster)
    if not (share > 0).any():
        minx, miny, maxx, maxy = in_raster.total_bounds
        msg = (
            f"the communes and the land-cover raster {raster.path} do not overlap: communes span "
            f"({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}) and the raster "
            f"({', '.join(f'{v:.0f}' for v in raster.bounds)}) in {raster.crs.to_string()}. "
            "Check that both files cover the same territory and that their CRS are declared correctly."
        )
        raise InputError(msg)
    notices = []
    partial = share < 0.999
    if partial.any():
        items = [
            f"{c} ({s:.1%} inside)"
            for c, s in zip(communes["commune_code"][partial], share[partial], strict=True)
        ]
        notices.append(
            Notice(
                "commune_outside_raster",
                "communes partly or wholly outside the land-cover raster",
                items,
            )
        )
    return share, notices


def _inside_share_plain(in_raster: gpd.GeoDataFrame, raster: RasterInfo) -> np.ndarray:
    """Share (0–1) of each commune's area inside the raster's extent, both areas taken in
    local equal-area projections (:func:`geocarbon.geo.area_ha`; any CRS of the raster)."""
    extent = gpd.GeoSeries([shapely.box(*raster.bounds)], crs=raster.crs)
    inside = gpd.GeoDataFrame(
        geometry=in_raster.geometry.intersection(extent.iloc[0]), crs=raster.crs
    )
    total = area_ha(in_raster)
    return np.divide(area_ha(inside), total, out=np.zeros(len(total)), where=total > 0)


def landcover_nodata(cfg: PipelineConfig) -> list[float]:
    """Codes of the land cover that mean "no data" (configured, and those of the nomenclature)."""
    assert cfg.landcover is not None
    own = {
        "clc_grid_code": CLC_GRID_NODATA,  # 48 no data, 49 and 50 unclassified
        "clc": CLC_NODATA_CODES,  # 999 no data, 990 and 995 unclassified
    }.get(cfg.landcover.nomenclature, ())
    configured = list(cfg.landcover.nodata_values)
    return [*configured, *(float(c) for c in own if c not in configured)]


def landcover_mapping(cfg: PipelineConfig, tables: CarbonInputs) -> dict[int, str]:
    """Code → category mapping of the land cover or the area table (nomenclature, then
    overrides)."""
    source = cfg.land_source
    assert source is not None
    if source.nomenclature == "table":
        assert source.mapping is not None and tables.mapping is not None
        mapping = mapping_from_table(tables.mapping, str(source.mapping))
    elif source.nomenclature == "clc_grid_code":
        mapping = {grid: CLC_CATEGORIES[code] for grid, code in CLC_GRID_CODES.items()}
    else:
        mapping = dict(CLC_CATEGORIES)
    if source.category_overrides:
        check = pd.DataFrame(
            {
                "code": list(source.category_overrides),
                "category": list(source.category_overrides.values()),
            }
        )
        mapping.update(mapping_from_table(check, "landcover.category_overrides"))
    return mapping


def landuse_areas_from_zonal(
    zonal: ZonalResult, communes: gpd.GeoDataFrame, mapping: dict[int, str], cfg: PipelineConfig
) -> pd.DataFrame:
    """Long table commune × land-cover code (× forest type) with categories and areas [ha]."""
    assert cfg.landcover is not None
    table = zonal.crosstab
    out = pd.DataFrame(
        {
            "commune_code": communes["commune_code"].to_numpy()[table["zone"].to_numpy()],
            "landuse_code": table["landcover"].astype(int).to_numpy(),
            "area_ha": table["area_m2"].to_numpy() / M2_PER_HA,
        }
    )
    forest_codes = None
    if cfg.forest_map is not None and "forest" in table.columns:
        out["forest_code"] = table["forest"].astype(int).to_numpy()
        forest_codes = {int(k): str(v) for k, v in cfg.forest_map.codes.items()}
    keys = [
        "commune_code",
        "landuse_code",
        *(["forest_code"] if "forest_code" in out.columns else []),
    ]
    out = out.groupby(keys, as_index=False, sort=True).agg(area_ha=("area_ha", "sum"))
    found = out.groupby("landuse_code")["area_ha"].sum()
    check_mapping_covers(found, mapping, str(cfg.landcover.path))
    out["category"] = assign_categories(
        out, mapping, forest_codes, cfg.forest_map.mode if cfg.forest_map else "composition"
    )
    if "forest_code" in out.columns:
        out["forest_type"] = out["forest_code"].map(forest_codes or {}).fillna("").astype(str)
        out.loc[out["forest_code"] == NO_VALUE, "forest_type"] = ""
    cols = ["commune_code", "landuse_code", "category", "area_ha"] + (
        ["forest_type"] if "forest_type" in out.columns else []
    )
    return (
        out[cols]
        .sort_values(["commune_code", "landuse_code", *cols[4:]], kind="stable")
        .reset_index(drop=True)
    )


@dataclass
class CoefficientSet:
    """Reference stocks per commune, and what flows need of the same coefficient set."""

    reference: pd.DataFrame
    origin: str
    notices: list[Notice]
    aldo: AldoTables | None = None
    zpc: pd.Series | None = None
    region: pd.Series | None = None
    codes: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    """Commune codes that have coefficients."""


def _padded(codes: pd.Series, width: int) -> bool:
    """Whether every cell is text of at least ``width`` characters (``str.zfill(width)``
    leaves such a column as it is)."""
    cells = codes.tolist()
    try:
        "".join(cells)
    except TypeError:  # a cell that is not text
        return False
    return min(map(len, cells), default=width) >= width


def _per_commune(
    communes: gpd.GeoDataFrame, table: pd.DataFrame, column: str, what: str
) -> tuple[pd.Series, list[Notice]]:
    """A value per commune from an ALDO table keyed by ``insee``; communes absent from it
    take their neighbours' value (listed in the notices). Without boundaries (a run from
    area tables), they have no value: left out of the result, listed in a notice."""
    keyed = table if _padded(table["insee"], 5) else table.assign(insee=table["insee"].str.zfill(5))
    values = keyed.drop_duplicates("insee").set_index("insee")[column]
    if has_boundaries(communes):
        return fill_from_neighbours(communes, values, what)
    found = values.reindex(communes["commune_code"])
    missing = found.index[found.isna().to_numpy()].tolist()
    notices = []
    if missing:
        notices.append(
            Notice(
                "reference_missing",
                f"communes absent from the reference table for the {what} (no boundaries to take "
                "their neighbours' value): no coefficients, their figures are left empty",
                missing,
                facts={"what": what},
            )
        )
    return found.dropna(), notices


def reference_stocks(
    cfg: PipelineConfig, communes: gpd.GeoDataFrame, read: CarbonInputs
) -> CoefficientSet:
    """Reference stocks per commune from the configured coefficient set (as ``read``), with
    overrides."""
    notices: list[Notice] = []
    codes = communes["commune_code"].to_numpy()
    tables = zpc = region = None
    if cfg.carbon.coefficients == "aldo":
        assert cfg.carbon.aldo_dir is not None and read.aldo is not None
        tables = read.aldo
        folder = cfg.carbon.aldo_dir
        zpc, more = _per_commune(
            communes, tables.zpc, "zpc", f"pedoclimatic zone ({folder / ALDO_FILES['zpc']})"
        )
        notices += more
        region, more = _per_commune(
            communes, tables.communes, "region", f"region ({folder / ALDO_FILES['communes']})"
        )
        notices += more
        both = zpc.index.intersection(region.index)
        zpc, region = zpc.reindex(both), region.reindex(both)
        codes = both.to_numpy()
        reference = aldo_reference_stocks(tables, zpc, region)
        notices += unmatched_forest_locations(tables, codes)
        notices += unweighted_location_notice(tables, region)
        origin = f"ALDO tables in {cfg.carbon.aldo_dir}"
    else:
        assert read.generic is not None
        table, origin = read.generic
        reference = generic_reference_stocks(table, codes, origin)
    reference, more = apply_overrides(reference, cfg.carbon.overrides)
    notices += more
    return CoefficientSet(reference, origin, notices, tables, zpc, region, np.asarray(codes))


def read_change_table(
    cfg: PipelineConfig, inputs: Inputs, mapping: dict[int, str]
) -> tuple[pd.DataFrame, list[Notice]]:
    """Check the pipeline's land-use change table, as read (the territory's rows)."""
    assert cfg.flows is not None and cfg.flows.change_table is not None
    communes = inputs.communes
    table_cfg = cfg.flows.change_table
    raw = carbon_inputs(inputs).changes
    assert raw is not None
    changes, notices = prepare_change_table(
        raw,
        source=str(table_cfg.path),
        from_field=table_cfg.from_field,
        to_field=table_cfg.to_field,
        commune_field=table_cfg.commune_field,
        area_field=table_cfg.area_field,
        communes=communes["commune_code"],
        mapping=mapping,
        known=inputs.known_commune_codes,
        members=inputs.epci_members,
        run_epcis=set(communes["epci_code"].dropna().astype(str)),
        layer_codes=inputs.layer_codes,
    )
    if has_boundaries(communes):
        check_changed_area_fits(
            changes,
            pd.Series(area_ha(communes), index=communes["commune_code"].to_numpy()),
            str(table_cfg.path),
        )
    return changes, notices


def flow_coefficients(
    cfg: PipelineConfig, coefficients: CoefficientSet, codes: np.ndarray, read: CarbonInputs
) -> tuple[LucCoefficients, ForestGrowthCoefficients, pd.DataFrame | None]:
    """Land-use-change units, forest growth and (ALDO only) wood-use shares for the
    communes ``codes`` (used by ``run`` and by ``validate``, so that both refuse the same
    coefficient tables)."""
    assert cfg.flows is not None
    reference = coefficients.reference
    if coefficients.aldo is not None:
        tables = coefficients.aldo
        assert tables.flux is not None and tables.wood_use is not None
        assert coefficients.zpc is not None and coefficients.region is not None
        inter = coefficients.region.map(tables.inter_regions)
        check_aldo_flux(
            tables.flux.set_index("zpc"),
            coefficients.zpc,
            str(tables.folder / ALDO_FLOW_FILES["flux"]),
        )
        luc = aldo_luc_coefficients(
            tables.flux.set_index("zpc"),
            coefficients.zpc,
            tables.biomass.set_index("INTER_REG"),
            inter,
            reference,
            aldo_published=cfg.flows.aldo_published,
        )
        growth = aldo_forest_growth(tables, coefficients.region)
        shares = aldo_wood_shares(tables, coefficients.region)
        if cfg.flows.wood_products == "consumption":  # refused by validate as by run
            consumption_population(shares, str(tables.folder / ALDO_FILES["communes"]))
        return luc, growth, shares
    luc = generic_luc_coefficients(reference)
    assert read.growth is not None
    growth = generic_forest_growth(read.growth, codes)
    return luc, growth, None


def compute_flows(
    cfg: PipelineConfig,
    inputs: Inputs,
    land: LandUse,
    mapping: dict[int, str],
    stocks: pd.DataFrame,
    coefficients: CoefficientSet,
    scenario_effect: dict[str, float],
    changed_communes: list[str] | None = None,
) -> tuple[pd.DataFrame, list[Notice]]:
    """Land-use change, N2O, forest growth and wood products flows [tCO2e/yr].

    Land-use change and N2O are computed per commune (ALDO's rule: an EPCI is the sum of
    its communes), for the communes whose zone has data; forest growth and wood products
    per zone, on the zone's forest areas. Every row carries ``zone_code``.
    With a harvest scenario (``harvest_factor`` ≠ 1), ``scenario_effect`` receives the
    change of forest growth + wood products per zone against today's harvest;
    ``changed_communes`` receives the communes of the run the change data concern.
    """
    assert cfg.flows is not None
    flows_cfg = cfg.flows
    changes, notices = change_rows(cfg, inputs, land, mapping)
    zone_of = land.zone_of
    if changed_communes is not None:
        changed_communes += sorted(set(changes["commune_code"]))
    with_data = set(land.zones.index[land.zones["has_data"].to_numpy()])
    left = ~changes["commune_code"].map(zone_of).isin(with_data)
    if left.any():
        notices.append(changes_without_landcover_notice(changes[left]))
        changes = changes[~left]
    notices += no_stock_change_notices(changes, mapping)
    areas = categorise_changes(
        changes,
        mapping,
        flows_cfg.years,
        sealed_share=cfg.carbon.artificial_sealed_share,
        aldo_published=flows_cfg.aldo_published,
    )
    forest_areas = stocks[stocks["category"].isin(FOREST_CATEGORIES)].drop_duplicates(
        ["commune_code", "category"]
    )[["commune_code", "category", "area_ha"]]
    luc, growth, shares = flow_coefficients(
        cfg, coefficients, coefficients.codes, carbon_inputs(inputs)
    )
    if land.level == "epci":
        growth = ForestGrowthCoefficients(zone_mean(growth.table, zone_of, ["category"]))
        shares = zone_wood_shares(shares, zone_of) if shares is not None else None
    carbon_inputs(inputs).flow_units = FlowUnits(luc, growth, shares)
    luc_flows = landuse_change_flows(areas, luc)
    n2o = n2o_flows(luc_flows, flows_cfg.n2o_gwp, aldo_published=flows_cfg.aldo_published)
    local = [luc_flows, n2o]
    for part in local:
        part.insert(0, "zone_code", part["commune_code"].map(zone_of).to_numpy())
    zonal_parts, more = forest_flows(flows_cfg, forest_areas, growth, shares)
    notices += more
    if flows_cfg.harvest_factor != 1.0 and flows_cfg.forest_growth:
        effect = harvest_effect(flows_cfg, forest_areas, growth, shares)
        notices.append(harvest_scenario_notice(flows_cfg.harvest_factor, effect))
        scenario_effect.update({str(k): float(v) for k, v in effect.items()})
    return assemble_flows(local, zonal_parts, land.level), notices


def change_rows(
    cfg: PipelineConfig, inputs: Inputs, land: LandUse, mapping: dict[int, str]
) -> tuple[pd.DataFrame, list[Notice]]:
    """Changed areas per commune and code pair: the change table, or the cross-tab of the
    land cover at both dates.

    Returns
    -------
    DataFrame
        ``commune_code``, ``from_code``, ``to_code``, ``area_ha`` [ha] over the period.
    list of Notice
        The change table's, or the area without land cover at the start date.

    Raises
    ------
    InputError
        Codes of the start-date land cover absent from the nomenclature.
    """
    assert cfg.flows is not None
    if cfg.flows.change_table is not None:
        return read_change_table(cfg, inputs, mapping)
    assert land.zonal is not None
    codes = inputs.communes["commune_code"]
    changes, missing_ha = changes_from_crosstab(
        land.zonal.crosstab, codes.to_numpy(), "before", "landcover", NO_VALUE
    )
    unknown = sorted(set(changes["from_code"]) - set(mapping))
    if unknown:
        msg = (
            f"land cover at the start date {cfg.flows.landcover_before}: class codes {unknown} are "
            "absent from the nomenclature; map them (landcover.category_overrides)"
        )
        raise InputError(msg)
    notices = []
    if missing_ha > 0:
        notices.append(
            Notice(
                "start_date_nodata",
                f"{missing_ha:,.1f} ha have land cover at the end date but none at the start date: no change counted there",
                facts={"area_ha": missing_ha},
            )
        )
    return changes, notices


def changes_without_landcover_notice(left: pd.DataFrame) -> Notice:
    """Notice of changes (``area_ha`` [ha]) in communes whose land cover is not known."""
    return Notice(
        "changes_without_landcover",
        f"{left['area_ha'].sum():,.1f} ha of change in communes whose land "
        "cover is not known (or not enough): no flow computed there, figures left empty",
        sorted(set(left["commune_code"])),
        facts={"area_ha": float(left["area_ha"].sum())},
    )


def no_stock_change_notices(changes: pd.DataFrame, mapping: dict[int, str]) -> list[Notice]:
    """Notice of changes (``area_ha`` [ha]) from or to classes without stock (none if none)."""
    no_stock = changes["from_code"].map(mapping).eq("no_stock") | changes["to_code"].map(
        mapping
    ).eq("no_stock")
    if not no_stock.any():
        return []
    pairs = changes.loc[no_stock, ["from_code", "to_code"]].itertuples(index=False)
    return [
        Notice(
            "change_without_category",
            f"{changes.loc[no_stock, 'area_ha'].sum():,.1f} ha of change from or to classes without "
            "stock (rock, sand, burnt areas, glaciers) carry no flow, as in ALDO",
            sorted({f"{a}->{b}" for a, b in pairs}),
            facts={"area_ha": float(changes.loc[no_stock, "area_ha"].sum())},
        )
    ]


def forest_flows(
    flows_cfg: FlowsConfig,
    forest_areas: pd.DataFrame,
    growth: ForestGrowthCoefficients,
    shares: pd.DataFrame | None,
) -> tuple[list[pd.DataFrame], list[Notice]]:
    """Forest growth and wood products flows [tCO2e/yr] per zone, as configured.

    Parameters
    ----------
    flows_cfg : FlowsConfig
        The flows section (which flows, harvest factor).
    forest_areas : DataFrame
        ``commune_code`` (the zone's code), ``category``, ``area_ha`` [ha] of forests.
    growth : ForestGrowthCoefficients
        Net forest balance per zone.
    shares : DataFrame or None
        Lumber/industry shares of the harvest (None with the generic coefficient set).

    Returns
    -------
    list of DataFrame
        :data:`FLOW_COLUMNS` frames.
    list of Notice
        Wood products not computed without shares.
    """
    parts = []
    notices = []
    if flows_cfg.forest_growth:
        parts.append(forest_growth_flows(forest_areas, growth, flows_cfg.harvest_factor))
    if flows_cfg.wood_products != "none":
        if shares is None:
            notices.append(
                Notice(
                    "wood_products_not_computed",
                    "wood products need the regional lumber/industry shares of the ALDO tables; "
                    "not computed with the generic coefficient set: the wood-products figures "
                    "are empty and the net flow sums the other categories",
                )
            )
        elif flows_cfg.wood_products == "consumption":
            population = consumption_population(shares, "the ALDO commune table")
            parts.append(wood_products_consumption_flows(population))
        else:
            parts.append(
                wood_products_flows(forest_areas, growth, shares, flows_cfg.harvest_factor)
            )
    return parts, notices


def harvest_effect(
    flows_cfg: FlowsConfig,
    forest_areas: pd.DataFrame,
    growth: ForestGrowthCoefficients,
    shares: pd.DataFrame | None,
) -> pd.Series:
    """Change of forest growth + wood products [tCO2e/yr] per zone between the harvest
    scenario and the same forest at today's harvest (arguments as :func:`forest_flows`)."""
    factor = flows_cfg.harvest_factor
    baseline = [forest_growth_flows(forest_areas, growth, 1.0)]
    scenario = [forest_growth_flows(forest_areas, growth, factor)]
    if flows_cfg.wood_products == "harvest" and shares is not None:
        baseline.append(wood_products_flows(forest_areas, growth, shares, 1.0))
        scenario.append(wood_products_flows(forest_areas, growth, shares, factor))
    return (
        pd.concat(scenario).groupby("commune_code")["flow_tco2e_per_yr"].sum()
        - pd.concat(baseline).groupby("commune_code")["flow_tco2e_per_yr"].sum()
    )


def harvest_scenario_notice(harvest_factor: float, effect: pd.Series) -> Notice:
    """Notice of the harvest scenario's effect [tCO2e/yr] over the territory."""
    return Notice(
        "harvest_scenario",
        f"harvest x {harvest_factor}: forest growth and wood products change by "
        f"{effect.sum():,.0f} tCO2e/yr over the territory (column flow_harvest_scenario_effect_tco2e_per_yr)",
        facts={
            "harvest_factor": harvest_factor,
            "effect_tco2e_per_yr": float(effect.sum()),
        },
    )


def assemble_flows(
    local: list[pd.DataFrame], zonal_parts: list[pd.DataFrame], level: str
) -> pd.DataFrame:
    """All flows in one frame with ``zone_code``, sorted.

    Parameters
    ----------
    local : list of DataFrame
        Flows per commune (land-use change, N2O), with ``zone_code``.
    zonal_parts : list of DataFrame
        Flows per zone (forest growth, wood products); ``commune_code`` is the zone's code,
        emptied at the EPCI level.
    level : str
        ``commune`` or ``epci``.
    """
    for part in zonal_parts:
        part.insert(0, "zone_code", part["commune_code"].to_numpy())
        if level == "epci":
            part["commune_code"] = ""
    flows = pd.concat([p for p in [*local, *zonal_parts] if len(p)], ignore_index=True)
    if not len(flows):
        flows = pd.DataFrame(columns=["zone_code", *FLOW_COLUMNS])
    return flows.sort_values(
        ["zone_code", "commune_code", "flow_kind", "from_category", "to_category", "pool"],
        kind="stable",
    ).reset_index(drop=True)


@dataclass
class LandUse:
    """Land-cover areas of the zones of a run (communes, or EPCIs for EPCI-level tables)."""

    landuse: pd.DataFrame
    """``commune_code`` (the zone's code), ``landuse_code``, ``category``, ``area_ha``
    (``forest_type`` with a forest map)."""
    zones: pd.DataFrame
    """Index: zone code. ``landcover_covered_share`` (0–1; NaN where unknown),
    ``landcover_area_ha``, ``has_data`` (figures computed: covered at least
    :data:`COVERAGE_MIN`, with coefficients)."""
    level: str
    """``commune`` or ``epci``."""
    zone_of: pd.Series
    """Zone code of each commune code of the run."""
    zonal: ZonalResult | None = None


def landuse_from_raster(
    cfg: PipelineConfig,
    inputs: Inputs,
    out: gpd.GeoDataFrame,
    notices: list[Notice],
    timer: Timer,
    progress: Progress | None,
) -> LandUse:
    """Land-use areas per commune from the land-cover raster (zonal cross-tabulation)."""
    read = carbon_inputs(inputs)
    landcover = read.landcover
    assert landcover is not None and cfg.landcover is not None
    communes = inputs.communes
    pixel_areas = PixelAreaModel.for_grid(
        landcover.crs, landcover.transform, landcover.width, landcover.height
    )
    pixel_ha = typical_pixel_ha(pixel_areas, landcover.width, landcover.height)
    with timer.step("overlap"):
        in_extent, more = check_overlap(communes_on_grid(inputs, landcover), landcover, pixel_areas)
        notices += more
        check_pixel_size(pixel_ha, out["area_ha"].to_numpy(), str(landcover.path))
    with timer.step("zonal"):
        zonal = landcover_crosstab(cfg, inputs, pixel_areas, progress)
        if cfg.zonal.method == "exact":
            from geocarbon.capabilities.carbon_exact import exact_landcover_crosstab

            zonal = exact_landcover_crosstab(cfg, inputs, pixel_areas, zonal, notices)
    with timer.step("landuse"):
        mapping = landcover_mapping(cfg, read)
        landuse = landuse_areas_from_zonal(zonal, communes, mapping, cfg)
        no_pixel = communes["commune_code"][zonal.pixel_count == 0].tolist()
        if no_pixel:
            notices.append(
                Notice(
                    "commune_without_pixel",
                    "communes containing no pixel centre of the land-cover raster (smaller than a pixel or outside it): no land use, no stock",
                    no_pixel,
                )
            )
    landcover_ha = zonal.valid_area_m2 / M2_PER_HA
    if not (landcover_ha > 0).any():
        msg = (
            f"land cover {landcover.path}: no valid pixel lies in any commune (every "
            "pixel over the territory is no data); check the file, its nodata value and "
            "landcover.nodata_values"
        )
        raise InputError(msg)
    notices += check_landcover_excess(
        out["commune_code"].to_numpy(),
        landcover_ha,
        out["area_ha"].to_numpy(),
        pixel_ha,
        str(landcover.path),
    )
    codes = communes["commune_code"].to_numpy()
    zone_frame = raster_coverage(
        zonal, in_extent, codes, with_before=read.landcover_before is not None
    )
    return LandUse(landuse, zone_frame, "commune", pd.Series(codes, index=codes), zonal)


def landcover_crosstab(
    cfg: PipelineConfig,
    inputs: Inputs,
    pixel_areas: PixelAreaModel,
    progress: Progress | None,
) -> ZonalResult:
    """Zonal cross-tab of the land cover per commune, with the forest map and the land cover
    at the start date (aligned on the land-cover grid) when the run has them."""
    read = carbon_inputs(inputs)
    landcover = read.landcover
    assert landcover is not None
    zones = communes_on_grid(inputs, landcover)
    block_pixels = cfg.processing.block_pixels
    aligned = [("forest", read.forest_map)] if read.forest_map is not None else []
    if read.landcover_before is not None:
        aligned.append(("before", read.landcover_before))
    total = count_blocks(landcover, block_pixels)
    report = (lambda done, n: progress("zonal", done, n)) if progress else None
    labels = {
        "landcover": f"land cover {landcover.path}",
        **{name: f"{raster.what} {raster.path}" for name, raster in aligned},
    }
    if cfg.processing.scheduler is not None:  # the blocks are read and counted on dask workers
        return cluster_crosstab(
            cfg.processing.scheduler,
            zones,
            landcover,
            aligned,
            pixel_areas,
            block_pixels=block_pixels,
            secondary=[name for name, _ in aligned],
            extra_nodata=landcover_nodata(cfg),
            progress=report,
            labels=labels,
        )
    return zonal_crosstab(
        zones,
        iter_blocks(landcover, aligned, block_pixels=block_pixels),
        pixel_areas,
        secondary=[name for name, _ in aligned],
        extra_nodata=landcover_nodata(cfg),
        n_blocks=total,
        progress=report,
        labels=labels,
        cache=zone_cache(cfg),
    )


#: The caches of burnt zones with a store, by folder (``processing.zone_cache``).
_STORED_CACHES: dict[Path, ZoneCache] = {}


def zone_cache(cfg: PipelineConfig) -> ZoneCache:
    """The cache of burnt zones of this run: the process's own, or with
    ``processing.zone_cache`` one that reads and keeps them in that folder
    (:class:`geocarbon.io.zone_store.ZoneStore`)."""
    folder = cfg.processing.zone_cache
    if folder is None:
        return ZONE_CACHE
    if folder not in _STORED_CACHES:
        from geocarbon.io.zone_store import ZoneStore

        _STORED_CACHES[folder] = ZoneCache(store=ZoneStore(folder))
    return _STORED_CACHES[folder]


def raster_coverage(
    zonal: ZonalResult, inside_share: np.ndarray, codes: np.ndarray, *, with_before: bool
) -> pd.DataFrame:
    """Share of each commune its land cover covers, and its land-cover area.

    Parameters
    ----------
    zonal : ZonalResult
        The zonal cross-tab (``before``: land cover at the start date).
    inside_share : ndarray
        Share (0–1) of each commune inside the raster's extent.
    codes : ndarray
        Commune code of each zone index.
    with_before : bool
        Add ``landcover_before_covered_share``, where both dates have land cover.

    Returns
    -------
    DataFrame
        Index ``zone_code``; ``landcover_covered_share`` (0–1), ``landcover_area_ha`` [ha].
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        valid_frac = np.where(zonal.zone_area_m2 > 0, zonal.valid_area_m2 / zonal.zone_area_m2, 0.0)
    share = np.round(np.clip(inside_share * valid_frac, 0.0, 1.0), 6)  # 1 - 1e-16 is 1
    zone_frame = pd.DataFrame(
        {"landcover_covered_share": share, "landcover_area_ha": zonal.valid_area_m2 / M2_PER_HA},
        index=pd.Index(codes, name="zone_code"),
    )
    if with_before:
        # the start date counts only where both dates have land cover
        table = zonal.crosstab
        both_m2 = (
            table[table["before"] != NO_VALUE]
            .groupby("zone")["area_m2"]
            .sum()
            .reindex(np.arange(len(codes)), fill_value=0.0)
            .to_numpy()
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            before_frac = np.where(zonal.zone_area_m2 > 0, both_m2 / zonal.zone_area_m2, 0.0)
        zone_frame["landcover_before_covered_share"] = np.round(
            np.clip(inside_share * before_frac, 0.0, 1.0), 6
        )
    return zone_frame


#: Largest area [ha] of one zone of an area table: the largest French EPCI (in Guiana) is
#: under 5 million ha.
MAX_ZONE_AREA_HA = 10_000_000.0


def landuse_from_table(cfg: PipelineConfig, inputs: Inputs, notices: list[Notice]) -> LandUse:
    """Land-use areas per commune or per EPCI from the pipeline's area table.

    An EPCI the run holds only part of (the territory cuts it, or the commune layer lacks
    some of its communes) gets no figures: its areas cover the whole EPCI while its other
    inputs (communes, changes) cover the part in the run, and the two are never added up.

    Raises
    ------
    InputError
        The table's own problems (see :func:`area_table_long`), a zone larger than
        :data:`MAX_ZONE_AREA_HA` or than its commune, codes of the territory's
        départements unknown to the boundaries and the commune table, or no row for the
        territory (a wrong ``areas.level`` or ``areas.code_field``).
    """
    assert cfg.areas is not None
    areas_cfg = cfg.areas
    source = str(areas_cfg.path)
    raw = carbon_inputs(inputs).areas
    assert raw is not None
    table = area_table_long(
        raw,
        source=source,
        code_field=areas_cfg.code_field,
        layout=areas_cfg.layout,
        landuse_field=areas_cfg.landuse_field,
        area_field=areas_cfg.area_field,
    )
    if areas_cfg.layout == "long":
        notices += repeated_area_rows_notices(raw, areas_cfg, source)
    mapping = landcover_mapping(cfg, carbon_inputs(inputs))
    found = table.groupby("landuse_code")["area_ha"].sum()
    check_mapping_covers(found, mapping, source)
    per_zone = table.groupby("commune_code")["area_ha"].sum()
    check_zone_sizes(per_zone, source)
    whole = pd.Series(dtype=bool)
    if areas_cfg.level == "epci":
        zone_of, run_zones, whole, more = epci_zones(cfg, inputs, table, source)
        notices += more
    else:
        zone_of, run_zones = commune_zones(inputs, per_zone, source)
    unit = "EPCIs" if areas_cfg.level == "epci" else "communes"
    table, more = keep_run_zones(table, run_zones, areas_cfg, unit)
    notices += more
    zone_frame, more = area_table_coverage(table, sorted(run_zones), unit, source)
    notices += more
    if len(whole):
        # zones absent from the EPCI sizes are EPCIs no commune of the run belongs to
        zone_frame["whole"] = whole.reindex(zone_frame.index).fillna(True).astype(bool).to_numpy()
    landuse = table.assign(category=assign_categories(table, mapping))
    return LandUse(
        landuse[["commune_code", "landuse_code", "category", "area_ha"]].reset_index(drop=True),
        zone_frame,
        areas_cfg.level,
        zone_of.astype(str),
    )


def repeated_area_rows_notices(
    raw: pd.DataFrame, areas_cfg: AreaTableConfig, source: str
) -> list[Notice]:
    """Notice of rows of a long area table repeating a zone and code (their areas are
    added up), none if none."""
    keys = raw[[areas_cfg.code_field, areas_cfg.landuse_field]].astype(str)
    twice = int(keys.duplicated().sum())
    if not twice:
        return []
    return [
        Notice(
            "area_rows_summed",
            f"{twice} rows of {source} repeat a zone and code given above: their areas "
            "are added up",
            facts={"n_rows": twice, "source": str(source)},
        )
    ]


def check_zone_sizes(per_zone_ha: pd.Series, source: str) -> None:
    """Refuse zones of an area table larger than :data:`MAX_ZONE_AREA_HA` [ha] (m², not ha)."""
    huge = per_zone_ha[per_zone_ha > MAX_ZONE_AREA_HA]
    if len(huge):
        shown = ", ".join(f"{c}: {v:,.0f} ha" for c, v in huge.head(5).items())
        msg = (
            f"area table {source}: zones larger than {MAX_ZONE_AREA_HA:,.0f} ha ({shown}); "
            "areas must be hectares (not m²)"
        )
        raise InputError(msg)


def epci_zones(
    cfg: PipelineConfig, inputs: Inputs, table: pd.DataFrame, source: str
) -> tuple[pd.Series, set[str], pd.Series, list[Notice]]:
    """The zones of an EPCI-level area table.

    Returns
    -------
    zone_of : Series
        EPCI code of each commune code of the run (communes without EPCI dropped).
    run_zones : set of str
        EPCIs of the run (with a territory-less run over the whole commune table, every
        EPCI of the area table).
    whole : Series of bool
        Per EPCI: whether the run holds all its communes (empty without EPCI sizes).
    list of Notice
        EPCIs the run holds only part of: their figures are left empty.

    Raises
    ------
    InputError
        The communes of the run have no EPCI.
    """
    communes = inputs.communes
    codes = communes["commune_code"].astype(str)
    zone_of = pd.Series(communes["epci_code"].to_numpy(), index=codes.to_numpy()).dropna()
    if not len(zone_of):
        msg = (
            f"areas: {source} gives areas per EPCI, but the communes of the run have no "
            "EPCI: give communes.table with an EPCI column (e.g. ADEME's communes_17122018.csv)"
        )
        raise InputError(msg)
    run_zones = set(zone_of.astype(str))
    if cfg.territory is None and not has_boundaries(communes):
        # the territory is the whole commune table (e.g. France): every EPCI of the area
        # table is reported, also those the commune table does not know (empty, said why)
        run_zones |= set(table["commune_code"])
    sizes = inputs.epci_sizes
    if sizes is None:
        return zone_of, run_zones, pd.Series(dtype=bool), []
    whole = sizes["epci_complete"].astype(bool)
    cut = sorted(whole.index[~whole.to_numpy()])
    notices = []
    if cut:
        notices.append(
            Notice(
                "epci_areas_partial",
                "areas are given per EPCI, and the run holds only part of these EPCIs "
                "(the territory cuts them, or the commune layer lacks some of their "
                "communes): their figures are left empty, never mixed with the part "
                "in the run",
                cut,
            )
        )
    return zone_of, run_zones, whole, notices


def commune_zones(
    inputs: Inputs, per_zone_ha: pd.Series, source: str
) -> tuple[pd.Series, set[str]]:
    """The zones of a commune-level area table: each commune of the run is its own zone.

    Parameters
    ----------
    inputs : Inputs
        The run's communes and every commune code it knows.
    per_zone_ha : Series
        Land-cover area [ha] of each commune of the table.
    source : str
        The table's file, for messages.

    Raises
    ------
    InputError
        Codes of the territory's départements unknown to the boundaries and the commune
        table, or communes with more land cover than their area.
    """
    communes = inputs.communes
    codes = communes["commune_code"].astype(str)
    unknown = sorted(set(per_zone_ha.index) - set(inputs.known_commune_codes))
    deps = set(departement_of(codes))
    stray = [c for c in unknown if departement_of(pd.Series([c])).iloc[0] in deps]
    if stray:
        msg = (
            f"area table {source}: communes {', '.join(stray[:10])}"
            f"{' ...' if len(stray) > 10 else ''} of the territory's départements are "
            "neither in the commune boundaries nor in the commune table: the area table and "
            "the communes are of different commune vintages (use both of the same year), "
            "or the codes are not INSEE commune codes (areas.level, areas.code_field)"
        )
        raise InputError(msg)
    if has_boundaries(communes):
        true_ha = pd.Series(area_ha(communes), index=codes.to_numpy())
        # the tolerance of change tables (boundary vintages differ slightly)
        over = (
            per_zone_ha.reindex(true_ha.index)
            > true_ha * (1 + CHANGE_AREA_TOLERANCE) + CHANGE_AREA_SLACK_HA
        )
        if over.any():
            shown = ", ".join(
                f"{c}: {per_zone_ha[c]:,.1f} ha in the table, {true_ha[c]:,.1f} ha in the boundaries"
                for c in over.index[over.to_numpy()][:5]
            )
            msg = (
                f"area table {source}: communes with more land cover than their area "
                f"({shown}); areas must be hectares of the same commune vintage"
            )
            raise InputError(msg)
    return pd.Series(codes.to_numpy(), index=codes.to_numpy()), set(codes)


def keep_run_zones(
    table: pd.DataFrame, run_zones: set[str], areas_cfg: AreaTableConfig, unit: str
) -> tuple[pd.DataFrame, list[Notice]]:
    """Rows of an area table in the run's zones; the others left aside with a notice.

    Raises
    ------
    InputError
        No row concerns the run's zones (a wrong ``areas.level`` or ``areas.code_field``).
    """
    source = str(areas_cfg.path)
    outside = ~table["commune_code"].isin(run_zones)
    if not (~outside).any():
        msg = (
            f"area table {source}: no row concerns the territory's {unit} (codes like "
            f"{min(run_zones)}; the table holds codes like {table['commune_code'].iloc[0]}): "
            f"check areas.level ({areas_cfg.level}) and areas.code_field ({areas_cfg.code_field})"
        )
        raise InputError(msg)
    if not outside.any():
        return table, []
    n_out = table.loc[outside, "commune_code"].nunique()
    notice = Notice(
        "area_rows_outside_territory",
        f"{n_out} {unit} of {source} are outside the territory and were left aside",
        facts={"n_zones": n_out, "zones": unit, "source": str(source)},
    )
    return table[~outside], [notice]


def area_table_coverage(
    table: pd.DataFrame, run_zones: list[str], unit: str, source: str
) -> tuple[pd.DataFrame, list[Notice]]:
    """Land-cover area [ha] of each zone of the run from its area table (covered share 1,
    or 0 where the table has no row), and the notice of the zones it lacks."""
    zones_index = pd.Index(run_zones, name="zone_code")
    area = table.groupby("commune_code")["area_ha"].sum().reindex(zones_index)
    absent = zones_index[area.isna().to_numpy()]
    notices = []
    if len(absent):
        notices.append(
            Notice(
                "zone_without_areas",
                f"{unit} of the run absent from {source}: no land cover, figures left empty",
                absent.tolist(),
                facts={"zones": unit, "source": str(source)},
            )
        )
    zone_frame = pd.DataFrame(
        {
            "landcover_covered_share": np.where(area.notna().to_numpy(), 1.0, 0.0),
            "landcover_area_ha": area.to_numpy(),
        },
        index=zones_index,
    )
    return zone_frame, notices


def compute_carbon(
    cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer, progress: Progress | None
) -> CarbonResults:
    """Land-use areas, stocks and flows per zone (commune or EPCI): the communes' columns
    added to ``results.communes`` (this capability's copy), notices to ``results.notices``,
    the tables returned.

    A zone's figures are computed when its land cover covers at least
    :data:`COVERAGE_MIN` of it and it has coefficients; otherwise they are left empty
    (NaN), for stocks and every flow alike, and the zone is listed in a notice.
    """
    notices = results.notices
    if cfg.landcover is not None:
        land = landuse_from_raster(cfg, inputs, results.communes, notices, timer, progress)
    else:
        with timer.step("areas"):
            land = landuse_from_table(cfg, inputs, notices)
    mapping = landcover_mapping(cfg, carbon_inputs(inputs))
    zones = land.zones
    with timer.step("stocks"):
        coefficients, reference = zone_coefficients(cfg, inputs, land)
        notices += coefficients.notices
        notices += mark_zones_with_data(zones, reference, land.level)
        stocks = zone_stocks(land, reference, cfg.carbon.artificial_sealed_share)
        hedges, stocks = with_hedges(cfg, inputs, results.communes, mapping, land, stocks, notices)
        summary = territory_summary(stocks)
    frame = stock_figures(zones, stocks, hedges.figures if hedges is not None else None)
    flows = None
    changed_communes: list[str] | None = None
    if cfg.flows is not None:
        with timer.step("flows"):
            changed_communes = []
            flows, more = add_flow_figures(
                cfg, inputs, land, mapping, stocks, coefficients, frame, changed_communes, hedges
            )
            notices += more
    add_coverage_figures(frame, zones)
    epci, sequestration = zone_outputs(
        cfg, inputs, results.communes, frame, land, coefficients, changed_communes
    )
    log_territory(zones, frame)
    return CarbonResults(
        landuse_areas=landuse_with_coverage(land.landuse, zones),
        carbon_stocks=stocks,
        summary=summary_with_coverage(summary, zones, land.level),
        coefficient_set=coefficients.origin,
        reference=coefficients.reference,
        mapping=mapping,
        level=land.level,
        flows=flows,
        sequestration=sequestration,
        zones=epci,
        hedges=hedges,
        practices=practices_of_run(cfg, inputs, results.communes, stocks, notices),
        zpc=coefficients.zpc,
        region=coefficients.region,
    )


def log_territory(zones: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Log the zones with data, the land-cover area [ha] and the stock [tC] of the run."""
    logger.info(
        "territory: %d zones with data, %.0f ha of land cover, %.0f tC",
        int(zones["has_data"].sum()),
        frame["landcover_area_ha"].sum(),
        frame["stock_tc"].sum(),
    )


def landuse_with_coverage(landuse: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """The land-use areas with what each row covers: the share of its commune (EPCI) the
    land cover covers, and whether the zone's figures are computed."""
    zone = landuse["commune_code"]
    return landuse.assign(
        landcover_covered_share=zone.map(zones["landcover_covered_share"]).to_numpy(),
        carbon_complete=zone.map(zones["has_data"]).to_numpy(dtype=bool),
    )


def zone_coefficients(
    cfg: PipelineConfig, inputs: Inputs, land: LandUse
) -> tuple[CoefficientSet, pd.DataFrame]:
    """Reference stocks of the run's zones: of the communes of the run's zones, and for an
    EPCI the mean of its communes.

    Returns
    -------
    CoefficientSet
        The coefficients of these communes (with their notices).
    DataFrame
        Reference stocks [tC/ha] per zone, category and pool.
    """
    communes = inputs.communes
    coeff_communes = communes[communes["commune_code"].map(land.zone_of).isin(land.zones.index)]
    coefficients = reference_stocks(cfg, coeff_communes, carbon_inputs(inputs))
    reference = coefficients.reference
    if land.level == "epci":
        reference = zone_mean(reference, land.zone_of, ["category", "pool"])
        reference["coefficient_source"] = "mean of the EPCI's communes: " + reference[
            "coefficient_source"
        ].astype(str)
    return coefficients, reference


def zone_stocks(land: LandUse, reference: pd.DataFrame, sealed_share: float) -> pd.DataFrame:
    """Carbon stocks [tC] of the zones with data, per category and pool.

    Parameters
    ----------
    land : LandUse
        Land-use areas [ha] of the zones (``zones["has_data"]`` set).
    reference : DataFrame
        Reference stocks [tC/ha] per zone, category and pool.
    sealed_share : float
        Sealed share (0–1) of artificial land.
    """
    landuse = land.landuse
    with_data = land.zones.index[land.zones["has_data"].to_numpy()]
    kept = landuse[landuse["commune_code"].isin(with_data)]
    cat_areas = split_artificial(
        kept.dropna(subset=["category"])[["commune_code", "category", "area_ha"]], sealed_share
    )
    return compute_stocks(cat_areas, reference)


def mark_zones_with_data(zones: pd.DataFrame, reference: pd.DataFrame, level: str) -> list[Notice]:
    """Set ``zones["has_data"]``: covered at least :data:`COVERAGE_MIN` (at both dates when
    the run has a start date), with coefficients, and held whole by the run.

    Parameters
    ----------
    zones : DataFrame
        :attr:`LandUse.zones`, modified in place.
    reference : DataFrame
        Reference stocks per zone (``commune_code``: the zone's code).
    level : str
        ``commune`` or ``epci``.

    Returns
    -------
    list of Notice
        Zones left empty for low coverage or for want of coefficients.
    """
    notices = []
    with_coefficients = zones.index.isin(reference["commune_code"].unique())
    covered = zones["landcover_covered_share"].fillna(0.0).to_numpy() >= COVERAGE_MIN
    if "landcover_before_covered_share" in zones.columns:
        before = zones["landcover_before_covered_share"].fillna(0.0).to_numpy()
        short = covered & (before < COVERAGE_MIN)
        if short.any():
            notices.append(start_date_low_coverage_notice(zones.index[short], before[short]))
        covered &= before >= COVERAGE_MIN
    whole = (
        zones["whole"].to_numpy(dtype=bool)
        if "whole" in zones.columns
        else np.ones(len(zones), dtype=bool)
    )
    zones["has_data"] = covered & with_coefficients & whole
    low = ~covered & (zones["landcover_covered_share"].fillna(0.0).to_numpy() > 0)
    if low.any():
        notices.append(low_coverage_notice(zones[low], level))
    no_coefficients = covered & whole & ~with_coefficients
    if no_coefficients.any():
        notices.append(
            Notice(
                "zone_without_coefficients",
                "zones without reference stocks (an EPCI no commune of the commune table "
                "belongs to, or communes absent from the coefficient tables): figures left empty",
                zones.index[no_coefficients].tolist(),
            )
        )
    return notices


def start_date_low_coverage_notice(codes: pd.Index, before_share: np.ndarray) -> Notice:
    """Notice of communes too little covered (share 0–1) by the land cover at the start date."""
    return Notice(
        "start_date_low_coverage",
        f"communes less than {COVERAGE_MIN:.0%} covered by the land cover at the "
        "start date: no change can be measured there, their stocks and flows are "
        "left empty (landcover_before_covered_share)",
        [f"{c} ({v:.1%})" for c, v in zip(codes, before_share, strict=True)],
        facts={"coverage_min": COVERAGE_MIN},
    )


def low_coverage_notice(low: pd.DataFrame, level: str) -> Notice:
    """Notice of zones too little covered by valid land cover (``landcover_covered_share``)."""
    unit = "EPCIs" if level == "epci" else "communes"
    return Notice(
        "commune_low_coverage",
        f"{unit} less than "
        f"{COVERAGE_MIN:.0%} covered by valid land cover: their stocks and flows are "
        "left empty (landcover_covered_share says how much is covered)",
        [f"{c} ({s:.1%})" for c, s in zip(low.index, low["landcover_covered_share"], strict=True)],
        facts={"zones": unit, "coverage_min": COVERAGE_MIN},
    )


def stock_figures(
    zones: pd.DataFrame, stocks: pd.DataFrame, more: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Coverage, land-cover area [ha] and stocks [tC, tC/ha] per zone (empty without data),
    with the columns of ``more`` (per zone: the hedges' lengths)."""
    frame = zones[["landcover_covered_share", "landcover_area_ha"]].copy()
    per = stocks_by_commune(stocks).reindex(frame.index)
    if more is not None:
        per = per.join(more.reindex(frame.index))
    for col in per.columns:
        frame[col] = per[col].where(zones["has_data"]).to_numpy()
    frame["stock_tc_per_ha"] = frame["stock_tc"] / frame["landcover_area_ha"].where(
        frame["landcover_area_ha"] > 0
    )
    return frame


def add_flow_figures(
    cfg: PipelineConfig,
    inputs: Inputs,
    land: LandUse,
    mapping: dict[int, str],
    stocks: pd.DataFrame,
    coefficients: CoefficientSet,
    frame: pd.DataFrame,
    changed_communes: list[str],
    hedges: HedgeResults | None = None,
) -> tuple[pd.DataFrame, list[Notice]]:
    """Compute the flows (:func:`compute_flows`) and add their figures per zone
    [tCO2e/yr] to ``frame`` (empty where the zone has no data, or a flow is not computed).

    Returns
    -------
    DataFrame
        The flows, one row per zone (commune), flow and pool.
    list of Notice
        The flows' notices.
    """
    assert cfg.flows is not None
    has_data = land.zones["has_data"]
    effect: dict[str, float] = {}
    flows, notices = compute_flows(
        cfg, inputs, land, mapping, stocks, coefficients, effect, changed_communes
    )
    if hedges is not None and hedges.flows is not None:
        with_data = land.zones.index[has_data.to_numpy()]
        kept = hedges.flows[hedges.flows["commune_code"].isin(with_data)]
        flows = with_rows(
            flows,
            kept.assign(zone_code=kept["commune_code"]),
            ["zone_code", "commune_code", "flow_kind", "from_category", "to_category", "pool"],
        )
    per_flow = flows_by_zone(flows, frame.index)
    for col in per_flow.columns:
        frame[col] = per_flow[col].where(has_data).to_numpy()
    if not (cfg.flows.wood_products != "none" and coefficients.aldo is not None):
        # not computed (switched off, or no regional harvest shares): empty, not 0;
        # the net flow is the sum of the categories computed (see the notice)
        frame["flow_wood_products_tco2e_per_yr"] = np.nan
    frame["wood_products_approach"] = cfg.flows.wood_products
    if effect:
        frame["flow_harvest_scenario_effect_tco2e_per_yr"] = (
            pd.Series(frame.index, index=frame.index).map(effect).fillna(0.0)
        ).where(has_data)
    return flows, notices


def add_coverage_figures(frame: pd.DataFrame, zones: pd.DataFrame) -> None:
    """Add to ``frame`` what each zone's figures cover: coverage at the start date, whole
    EPCI, figures computed (``carbon_complete``)."""
    if "landcover_before_covered_share" in zones.columns:
        frame.insert(1, "landcover_before_covered_share", zones["landcover_before_covered_share"])
    if "whole" in zones.columns:
        frame["epci_complete"] = zones["whole"].to_numpy()
    frame["carbon_complete"] = zones["has_data"].to_numpy()


def zone_outputs(
    cfg: PipelineConfig,
    inputs: Inputs,
    out: gpd.GeoDataFrame,
    frame: pd.DataFrame,
    land: LandUse,
    coefficients: CoefficientSet,
    changed_communes: list[str] | None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Put the zones' figures in the communes ``out`` (a commune-level run) or give them
    as the EPCI table (an EPCI-level run); with the sequestration table (None without
    flows)."""
    epci = None
    if land.level == "commune":
        for col in frame.columns:
            out[col] = frame[col].reindex(out["commune_code"]).to_numpy()
        out["covered_share"] = out["landcover_covered_share"]
        sequestration = (
            sequestration_rows(
                frame,
                out,
                inputs.epci_sizes,
                cfg.name,
                territory_what(cfg),
                inputs.territory_note,
            )
            if cfg.flows is not None
            else None
        )
    else:
        zone_codes = pd.Series(coefficients.codes).map(land.zone_of)
        epci = epci_frame(
            frame,
            inputs,
            zone_codes.value_counts(),
            pd.Series(changed_communes).map(land.zone_of).value_counts()
            if changed_communes is not None
            else None,
        )
        sequestration = (
            epci_sequestration_rows(epci, cfg.name, territory_what(cfg))
            if cfg.flows is not None
            else None
        )
    if sequestration is not None:
        sequestration.insert(
            3, "period", f"{cfg.flows.start_year}-{cfg.flows.end_year}" if cfg.flows else ""
        )
    return epci, sequestration


def territory_what(cfg: PipelineConfig) -> str:
    """What the carbon figures rest on, for coverage notes."""
    return "land cover" if cfg.landcover is not None else "area table"


def flows_by_zone(flows: pd.DataFrame, zones: pd.Index) -> pd.DataFrame:
    """Net flow and one column per PCAET category [tCO2e/yr] per zone (index = zone code)."""
    return flows_by_commune(flows.assign(commune_code=flows["zone_code"]), pd.Series(zones))


SEQUESTRATION_FIGURES = [*PCAET_CATEGORIES, "total"]


def _pcaet_values(frame: pd.DataFrame) -> pd.DataFrame:
    cats = {f"flow_{c}_tco2e_per_yr": c for c in PCAET_CATEGORIES}
    values = frame[list(cats)].rename(columns=cats)
    values["total"] = frame["flow_tco2e_per_yr"]
    return values


def sequestration_rows(
    frame: pd.DataFrame,
    communes: pd.DataFrame,
    epci_sizes: pd.DataFrame | None,
    territory_name: str,
    what: str,
    territory_note: str = "",
) -> pd.DataFrame:
    """The emissions-calculator export of a commune-level run: one row per commune, per
    EPCI and for the territory, each saying what it covers (see :func:`level_rows`)."""
    table = level_rows(
        _pcaet_values(frame),
        communes,
        territory_name=territory_name,
        has_data=frame["carbon_complete"],
        epci_sizes=epci_sizes,
        share=frame["landcover_covered_share"],
        weights=pd.Series(
            communes["area_ha"].to_numpy(), index=communes["commune_code"].to_numpy()
        ),
        what=what,
        territory_note=territory_note,
    )
    first = ["level", "code", "name", *SEQUESTRATION_FIGURES, "landcover_covered_share"]
    return table[first + [c for c in table.columns if c not in first]]


def epci_frame(
    frame: pd.DataFrame,
    inputs: Inputs,
    with_coefficients: pd.Series,
    changed: pd.Series | None,
) -> pd.DataFrame:
    """Figures per EPCI of an EPCI-level run, with its name, its communes and the inputs
    found for it (``inputs_found``).

    Parameters
    ----------
    frame : DataFrame
        Figures per EPCI (index: SIREN code).
    inputs : Inputs
        The run's inputs (communes, EPCI names and sizes).
    with_coefficients : Series
        Per EPCI: communes with coefficients.
    changed : Series or None
        Per EPCI: communes with rows in the change table (None without a change table).
    """
    communes = inputs.communes
    out = frame.copy()
    out.index.name = "epci_code"
    out.insert(0, "epci_name", epci_names(inputs, out.index).to_numpy())
    sizes = inputs.epci_sizes
    in_run = communes["epci_code"].value_counts()
    out.insert(1, "communes_in_run", in_run.reindex(out.index).fillna(0).astype(int).to_numpy())
    out.insert(
        2,
        "communes_in_epci",
        (
            sizes["communes_in_epci"].reindex(out.index).to_numpy()
            if sizes is not None
            else np.full(len(out), np.nan)
        ),
    )
    out["inputs_found"] = [
        inputs_found(area, n_changes, n_coefficients, n_run)
        for area, n_changes, n_coefficients, n_run in zip(
            out["landcover_area_ha"],
            changed.reindex(out.index).to_numpy(dtype=float)
            if changed is not None
            else np.full(len(out), np.nan),
            with_coefficients.reindex(out.index).fillna(0).to_numpy(),
            out["communes_in_run"],
            strict=True,
        )
    ]
    return out.reset_index()


def epci_names(inputs: Inputs, epci_codes: pd.Index) -> pd.Series:
    """Name of each EPCI: from the commune table, else from the EPCI names ("" if none)."""
    communes = inputs.communes
    names = (
        communes.dropna(subset=["epci_code"])
        .drop_duplicates("epci_code")
        .set_index("epci_code")["epci_name"]
        if "epci_name" in communes.columns
        else pd.Series(dtype=object)
    )
    named = names.reindex(epci_codes)
    if inputs.epci_names is not None:
        named = named.where(named.notna() & (named != ""), inputs.epci_names.reindex(epci_codes))
    return named.fillna("")


def inputs_found(
    landcover_area_ha: float, n_changes: float, n_coefficients: float, n_run: int
) -> str:
    """What an EPCI's figures rest on, in words.

    Parameters
    ----------
    landcover_area_ha : float
        Its land-cover area [ha] (NaN: absent from the area table).
    n_changes : float
        Its communes with rows in the change table (NaN without a change table).
    n_coefficients, n_run : int
        Its communes with coefficients, and in the run.
    """
    parts = (
        "areas" if pd.notna(landcover_area_ha) else "no areas (absent from the area table)",
        f"changes for {int(n_changes)} of {int(n_run)} communes" if np.isfinite(n_changes) else "",
        f"coefficients for {int(n_coefficients)} of {int(n_run)} communes"
        if n_run
        else "no commune in the commune table (no coefficients)",
    )
    return "; ".join(part for part in parts if part)


def epci_sequestration_rows(epci: pd.DataFrame, territory_name: str, what: str) -> pd.DataFrame:
    """The emissions-calculator export of an EPCI-level run: one row per EPCI and one for
    the territory, each saying what it covers."""
    values = _pcaet_values(epci)
    rows = pd.DataFrame(
        {
            "level": "epci",
            "code": epci["epci_code"].to_numpy(),
            "name": epci["epci_name"].to_numpy(),
        }
    )
    rows = pd.concat([rows, values.reset_index(drop=True)], axis=1)
    rows["landcover_covered_share"] = epci["landcover_covered_share"].to_numpy()
    rows["communes_in_run"] = epci["communes_in_run"].astype(float).to_numpy()
    rows["communes_in_epci"] = epci["communes_in_epci"].to_numpy()
    data = epci["carbon_complete"].to_numpy()
    rows["communes_with_data"] = np.where(data, rows["communes_in_run"], 0.0)
    rows["complete"] = data
    whole = (
        epci["epci_complete"].to_numpy(dtype=bool)
        if "epci_complete" in epci.columns
        else np.ones(len(epci), dtype=bool)
    )
    rows["coverage_note"] = [
        "" if ok else epci_gap_note(code, n_run, n_epci, share, is_whole, what)
        for code, ok, n_run, n_epci, share, is_whole in zip(
            rows["code"].astype(str),
            data,
            rows["communes_in_run"],
            rows["communes_in_epci"],
            rows["landcover_covered_share"],
            whole,
            strict=True,
        )
    ]
    territory = epci_territory_row(values, rows, territory_name)
    return tidy_coverage(pd.concat([rows, territory], ignore_index=True))


def epci_gap_note(
    code: str, n_run: float, n_epci: float, share: float, is_whole: bool, what: str
) -> str:
    """Why an EPCI of an EPCI-level run has no figures.

    Parameters
    ----------
    code : str
        Its code.
    n_run, n_epci : float
        Its communes in the run, and in the EPCI (NaN: unknown).
    share : float
        Share (0–1) of the EPCI its land cover covers.
    is_whole : bool
        Whether the run holds all its communes.
    what : str
        What the figures rest on (see :func:`territory_what`).
    """
    if not share > 0:
        return f"absent from the {what}: no land cover, figures left empty"
    if n_run == 0 and not (len(code) == 9 and code.isdigit()):
        # ALDO's EPCI area tables hold a few rows coded 1, 2, 3, 4 that no commune or
        # EPCI of its commune table matches: their areas belong to no EPCI we can name
        return (
            "not an EPCI SIREN code, and no commune of the commune table belongs to it: "
            "no coefficients, figures left empty"
        )
    if n_run == 0:
        return (
            "no commune of the commune table belongs to this EPCI (another vintage?): "
            "no coefficients, figures left empty"
        )
    if not is_whole:
        size = f"{int(n_epci)}" if pd.notna(n_epci) else "?"
        return (
            f"the run holds {int(n_run)} of the {size} communes of this EPCI: its areas "
            "(per EPCI) cover the whole EPCI, so its figures are left empty"
        )
    return f"{what} covers {share:.1%} of the EPCI: figures left empty"


def epci_territory_row(
    values: pd.DataFrame, rows: pd.DataFrame, territory_name: str
) -> pd.DataFrame:
    """The territory's row of an EPCI-level sequestration table (flows [tCO2e/yr] summed).

    Parameters
    ----------
    values : DataFrame
        Flows per PCAET category and in total [tCO2e/yr] of each EPCI.
    rows : DataFrame
        The EPCIs' rows (``communes_in_run``, ``communes_with_data``, ``complete``).
    territory_name : str
        Name of the territory.
    """
    has = int(rows["complete"].sum())
    territory = values.sum(min_count=1).to_frame().T
    territory.insert(0, "name", territory_name)
    territory.insert(0, "code", "territory")
    territory.insert(0, "level", "territory")
    territory["landcover_covered_share"] = np.nan  # EPCI areas: no commune areas to weigh
    territory["communes_in_run"] = rows["communes_in_run"].sum()
    territory["communes_in_epci"] = np.nan
    territory["communes_with_data"] = rows["communes_with_data"].sum()
    territory["complete"] = bool(has == len(rows))
    territory["coverage_note"] = (
        "" if has == len(rows) else f"partial: figures for {has} of the {len(rows)} EPCIs"
    )
    return territory


def summary_with_coverage(summary: pd.DataFrame, zones: pd.DataFrame, level: str) -> pd.DataFrame:
    """The territory summary by category and pool, saying which zones it sums."""
    n = len(zones)
    has = int(zones["has_data"].sum())
    unit = "communes" if level == "commune" else "EPCIs"
    out = summary.copy()
    out["zones_with_data"] = has
    out["zones_in_run"] = n
    out["coverage_note"] = "" if has == n else f"partial: sums the {has} of {n} {unit} with data"
    return out


def write_carbon_outputs(
    cfg: PipelineConfig,
    inputs: Inputs,
    results: Results,
    communes: gpd.GeoDataFrame,
    tmp: Path,
    later: DeferredFiles | None = None,
) -> None:
    """Summary CSV, sequestration table, pixel maps and maps of the carbon steps; the
    workbook and the maps are made by ``later`` (while the other files are written)."""
    later = later or DeferredFiles(tmp)
    carbon = carbon_results(results)
    if carbon.sequestration is not None:
        write_csv(tmp / "sequestration.csv", carbon.sequestration)
        write_json(tmp / "sequestration.json", sequestration_document(cfg, carbon))
        figures = SequestrationFigures(
            carbon.sequestration, results.communes, carbon.coefficient_set
        )
        later.add_workbook(calculator_file, cfg, figures, latest_input_day(results.files))
    if carbon.practices is not None:
        write_csv(tmp / "practices.csv", carbon.practices)
    summary = carbon.summary.copy()
    summary.insert(1, "category_aldo", summary["category"].map(ALDO_NAMES).fillna(""))
    write_csv(tmp / "carbon_stocks_summary.csv", summary)
    zones = map_zones(carbon.zones, communes)
    hotspots = None
    if carbon_inputs(inputs).landcover_before is not None:
        hotspots = write_pixel_maps(cfg, inputs, carbon, tmp / "rasters")
    if cfg.maps.enabled and zones is not None:
        flows = carbon.flows is not None
        later.add_map(carbon_map_pages, cfg, zones, hotspots if flows else None, flows=flows)


def carbon_map_pages(
    cfg: PipelineConfig,
    zones: gpd.GeoDataFrame,
    hotspots: gpd.GeoDataFrame | None = None,
    *,
    flows: bool = False,
) -> dict[str, str]:
    """The carbon maps (HTML pages, by path in the output folder): stocks, and flows (with
    the hot spots of change) when ``flows``."""
    lang = cfg.report.language
    stock_fields = (
        "stock_tc_per_ha",
        "stock_tc",
        "stock_soil_tc",
        "stock_live_biomass_tc",
        "area_ha",
        "landcover_covered_share",
    )
    pages = {
        "maps/carbon_stocks.html": choropleth_map(
            zones,
            [
                ChoroplethLayer(c, label(c, lang, unit=True))
                for c in ("stock_tc_per_ha", "stock_tc")
            ],
            title=map_title(cfg.name, label("map_stocks_title", lang), lang),
            tooltip_fields=zone_tooltip(zones, labelled(stock_fields, lang), lang),
            simplify_m=cfg.maps.simplify_m,
            lang=lang,
        )
    }
    if flows:
        pages["maps/carbon_flows.html"] = flows_map(cfg, zones, hotspots)
    return pages


def map_zones(epci: pd.DataFrame | None, communes: pd.DataFrame) -> gpd.GeoDataFrame | None:
    """What the carbon maps show: the communes, or the EPCIs ``epci`` (their communes
    dissolved) of an EPCI-level run; None without boundaries (no map)."""
    if not has_boundaries(communes):
        return None
    if epci is None:
        assert isinstance(communes, gpd.GeoDataFrame)
        return communes
    return epci_layer(epci, communes)


def epci_layer(epci: pd.DataFrame, communes: pd.DataFrame) -> gpd.GeoDataFrame | pd.DataFrame:
    """The figures of an EPCI-level run as a layer: with the EPCIs' boundaries (their
    communes dissolved) when the run has commune boundaries, else a table."""
    if not has_boundaries(communes):
        return epci
    assert isinstance(communes, gpd.GeoDataFrame)
    shapes = communes.dropna(subset=["epci_code"]).dissolve(by="epci_code")[["geometry"]]
    shapes["area_ha"] = area_ha(shapes)
    frame = epci.merge(shapes, left_on="epci_code", right_index=True, how="left")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=communes.crs)


def zone_tooltip(
    frame: pd.DataFrame, fields: list[tuple[str, str]], lang: Language = "fr"
) -> list[tuple[str, str]]:
    """Tooltip fields of a carbon map: the commune's or the EPCI's name and code first."""
    if "commune_code" in frame.columns:
        return commune_tooltip(frame, fields, lang)
    head = [("epci_name", label("epci_name", lang)), ("epci_code", label("epci_siren", lang))]
    return [*head, *fields]


#: Display-name ids of the hot-spot classes, in the order of
#: :data:`geocarbon.carbon.pixels.HOTSPOT_CLASSES`.
HOTSPOT_NAMES = ("hotspot_loss_high", "hotspot_loss", "hotspot_gain", "hotspot_gain_high")


def hotspot_overlay(hotspots: gpd.GeoDataFrame, lang: Language = "fr") -> Overlay:
    """Land-use-change hot spots: losses in oranges, gains in purples (their own palette, not the
    red/blue of the flow choropleth beneath them); class names in ``lang``."""
    names = {
        cls[2]: label(key, lang) for cls, key in zip(HOTSPOT_CLASSES, HOTSPOT_NAMES, strict=True)
    }
    shown = hotspots.copy()
    shown["change_class"] = shown["change_class"].map(names).fillna(shown["change_class"])
    return Overlay(
        label("hotspots", lang),
        shown,
        "change_class",
        {names[cls[2]]: HOTSPOT[i] for i, cls in enumerate(HOTSPOT_CLASSES)},
        tuple(labelled(("change_class", "area_ha"), lang)),
    )


def write_pixel_maps(
    cfg: PipelineConfig, inputs: Inputs, carbon: CarbonResults, folder: Path
) -> gpd.GeoDataFrame | None:
    """GeoTIFFs of stock density [tC/ha] at both dates and of its change, on the land-cover
    grid (written block by block), and the hot spots of change (polygons, or None when
    there are more than :data:`MAX_HOTSPOTS`)."""
    read = carbon_inputs(inputs)
    landcover = read.landcover
    assert cfg.flows is not None and read.landcover_before is not None
    assert landcover is not None and cfg.landcover is not None
    flows_cfg = cfg.flows
    forest_codes = (
        {int(k): str(v) for k, v in cfg.forest_map.codes.items()} if cfg.forest_map else None
    )
    lookup = density_lookup(
        carbon.reference,
        inputs.communes["commune_code"].to_numpy(),
        carbon.mapping,
        sealed_share=cfg.carbon.artificial_sealed_share,
        forest_codes=forest_codes,
        forest_mode=cfg.forest_map.mode if cfg.forest_map else "composition",
    )
    zones = communes_on_grid(inputs, landcover)
    # the zones burnt by the cross-tab are read from the cache (compiled engine)
    burnt = ZoneBlocks(np.asarray(zones.geometry.values), landcover.transform, zone_cache(cfg))
    engine = kernels.resolve_engine(pixels=landcover.width * landcover.height)
    aligned = [("before", read.landcover_before)]
    if read.forest_map is not None:
        aligned.append(("forest", read.forest_map))
    start, end = flows_cfg.start_year, flows_cfg.end_year
    paths = {
        "start": folder / f"stock_density_tc_per_ha_{start}.tif",
        "end": folder / f"stock_density_tc_per_ha_{end}.tif",
        "change": folder / f"stock_change_tc_per_ha_{start}_{end}.tif",
    }
    polygons: list[tuple[Any, int]] = []
    too_many = False
    nodata = landcover_nodata(cfg)
    with BlockRasterWriter(
        paths,
        crs=landcover.crs,
        transform=landcover.transform,
        width=landcover.width,
        height=landcover.height,
        nodata=float("nan"),
        bands=raster_bands(cfg.report.language, start, end),
    ) as writer:
        for block in iter_blocks(landcover, aligned, block_pixels=cfg.processing.block_pixels):
            zone = burnt.burnt(block, engine) - 1
            density = block_densities(block, zone, lookup, nodata)
            for key, array in density.items():
                writer.write(key, array, block.row_off, block.col_off)
            if not too_many:
                polygons += hotspot_polygons(np.nan_to_num(density["change"]), block.transform)
                too_many = len(polygons) > MAX_HOTSPOTS
    burnt.keep()
    if too_many or not polygons:
        return None
    return hotspot_frame(polygons, landcover.crs)


def block_densities(
    block: RasterBlock, zone: np.ndarray, lookup: DensityLookup, nodata: list[float]
) -> dict[str, np.ndarray]:
    """Stock density [tC/ha] of one block of the land-cover grid at both dates, and its change.

    Parameters
    ----------
    block : RasterBlock
        Land cover at the end (``landcover``) and start (``before``) dates, and the forest
        map (``forest``) if any.
    zone : ndarray of int
        Commune index of each pixel of the block (-1: none; :class:`geocarbon.zonal.ZoneBlocks`).
    lookup : DensityLookup
        Density of each commune and class (:func:`density_lookup`).
    nodata : list of float
        Land-cover codes read as no data.

    Returns
    -------
    dict of str to ndarray
        ``end``, ``start`` and ``change`` (end − start) [tC/ha], NaN outside the data.
    """
    forest = block.arrays.get("forest")
    density = {}
    for key, layer in (("end", "landcover"), ("start", "before")):
        values = block.arrays[layer]
        valid = valid_mask(values, block.nodata[layer], nodata)
        codes = np.where(valid, values, 0)
        density[key] = lookup.density(zone, codes, valid, forest)
    density["change"] = density["end"] - density["start"]
    return density


#: Above this many polygons, hot spots are left out of the flows map (the change GeoTIFF
#: holds them).
MAX_HOTSPOTS = 20_000


def flows_map(
    cfg: PipelineConfig, communes: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame | None = None
) -> str:
    """Map of net flows and of each PCAET category, on a scale centred on zero."""
    assert cfg.flows is not None
    lang = cfg.report.language
    period = f"{cfg.flows.start_year}–{cfg.flows.end_year}"
    # layer names: the PCAET categories (forest, agricultural soils...) with their unit
    names = {"flow_tco2e_per_yr": label("flow_tco2e_per_yr", lang, unit=True)}
    for key in ("forest", "agricultural_soils", "other_soils", "wood_products"):
        names[f"flow_{key}_tco2e_per_yr"] = label(key, lang, unit=True)
    scenario = "flow_harvest_scenario_effect_tco2e_per_yr"
    if scenario in communes.columns:
        factor = format_value(cfg.flows.harvest_factor, lang, 3)
        unit = UNITS[scenario][0 if lang == "fr" else 1]
        names[scenario] = f"{label(scenario, lang)} × {factor} ({unit})"
    layers = [ChoroplethLayer(c, name, diverging=True) for c, name in names.items()]
    unit = UNITS["flow_tco2e_per_yr"][0 if lang == "fr" else 1]
    heading = f"{label('map_flows_title', lang)} {period}, {unit} ({label('sign_long', lang)})"
    return choropleth_map(
        communes,
        layers,
        title=map_title(cfg.name, heading, lang),
        tooltip_fields=zone_tooltip(communes, list(names.items()), lang),
        simplify_m=cfg.maps.simplify_m,
        overlays=[hotspot_overlay(hotspots, lang)]
        if hotspots is not None and len(hotspots)
        else [],
        lang=lang,
    )


#: How the wood-products figure is computed, per approach (``flows.wood_products``; see
#: :func:`geocarbon.carbon.flows.wood_products_shown`).
WOOD_PRODUCTS_METHOD = {
    "harvest": "harvest approach: local share of the national lumber and industry-wood "
    "harvest x national wood-products sink",
    "consumption": "consumption approach: share of France's population (64,299,705 "
    "inhabitants, as ALDO) x national wood-products sink (lumber 918,161 + industry wood "
    "441,533 tCO2/yr)",
    "none": "not computed (flows.wood_products: none): the figure is empty",
    "not_computed": "not computed (the coefficient set has no regional lumber/industry shares "
    "of the harvest): the figure is empty and the net flow sums the other categories",
}


def sequestration_document(cfg: PipelineConfig, carbon: CarbonResults) -> dict[str, Any]:
    """JSON twin of ``sequestration.csv``: units, sign convention, method, coefficient set."""
    assert cfg.flows is not None and carbon.sequestration is not None
    flows_cfg = cfg.flows
    return {
        "units": "tCO2e/yr (annual average over the period)",
        "sign_convention": "positive = sequestration (carbon removed from the atmosphere); negative = emission",
        "period": f"{flows_cfg.start_year}-{flows_cfg.end_year}",
        "years": flows_cfg.years,
        "coefficient_set": carbon.coefficient_set,
        "method": {
            "landuse_change": "ADEME ALDO rules: annual changed area (area / years) x unit change (soil, litter, "
            "non-forest biomass, forest biomass lost by deforestation) x 44/12"
            + (
                " with ALDO's published slips" if flows_cfg.aldo_published else ", corrected method"
            ),
            "forest_growth": f"forest area x (production - mortality - harvest x {flows_cfg.harvest_factor}) x 44/12",
            "n2o": f"soil and litter carbon losses / 15 x (1 % + 0.3 x 0.75 %) x 44/28 x GWP {flows_cfg.n2o_gwp}"
            + (
                " (direct term with 44/25 as in ALDO's published figures)"
                if flows_cfg.aldo_published
                else ""
            ),
            "wood_products": WOOD_PRODUCTS_METHOD[
                wood_products_shown(flows_cfg.wood_products, carbon.sequestration)
            ],
            "categories": "flows are reported under the final land use: forest (Forêt), agricultural_soils "
            "(Sols agricoles: cropland, grassland, orchards, vineyards), other_soils (Autres sols: artificial "
            "land, wetlands), wood_products (Produits bois)",
        },
        "coverage": (
            f"a commune's figures are computed when valid land cover covers at least "
            f"{COVERAGE_MIN:.0%} of it, and left empty (no data) otherwise, for every flow "
            "alike; EPCI and territory rows sum the communes with data; complete = false marks "
            "a row that is not the whole commune, EPCI or territory (coverage_note says why)"
        ),
        "level_of_areas": carbon.level,
        "columns": {
            "level": "commune, epci or territory",
            "code": "INSEE code, EPCI SIREN or 'territory'",
            "forest": "tCO2e/yr",
            "agricultural_soils": "tCO2e/yr",
            "other_soils": "tCO2e/yr",
            "wood_products": "tCO2e/yr",
            "total": "tCO2e/yr",
            "landcover_covered_share": "0-1, share of the area covered by valid land cover",
            "communes_in_run": "communes of the row in the run",
            "communes_in_epci": "communes of the EPCI in the commune table (EPCI rows)",
            "communes_with_data": "communes of the row whose figures are computed",
            "complete": "true when the row covers the whole commune, EPCI or territory",
            "coverage_note": "what the row lacks, in words (empty when complete)",
        },
        # empty figures (no data) are JSON null, never NaN
        **({"uncertainty": carbon.uncertainty} if carbon.uncertainty is not None else {}),
        "rows": carbon.sequestration.astype(object)
        .where(carbon.sequestration.notna(), None)
        .to_dict(orient="records"),
    }


def validate_carbon(cfg: PipelineConfig, inputs: Inputs) -> list[Notice]:
    """Every check of the carbon steps' inputs, without computing stocks or flows."""
    notices: list[Notice] = []
    read = carbon_inputs(inputs)
    mapping = landcover_mapping(cfg, read)
    communes = inputs.communes
    if cfg.landcover is not None:
        landcover = read.landcover
        assert landcover is not None
        _, notices = check_overlap(communes, landcover)
        pixel_ha = typical_pixel_ha(
            PixelAreaModel.for_grid(
                landcover.crs, landcover.transform, landcover.width, landcover.height
            ),
            landcover.width,
            landcover.height,
        )
        check_pixel_size(pixel_ha, area_ha(communes), str(landcover.path))
        _check_classes(landcover, mapping, cfg)
    else:
        land = landuse_from_table(cfg, inputs, notices)
        communes = communes[communes["commune_code"].map(land.zone_of).isin(land.zones.index)]
    check_override_categories(cfg.carbon.overrides)
    for practice in cfg.carbon.practices:  # each practice's commune or EPCI is in the run
        unit_communes(inputs.communes, practice.level, practice.code)
    # the same coefficient lookups as run (tables, zones, regions, flux cells), for the
    # territory's communes
    coefficients = reference_stocks(cfg, communes, read)
    notices += coefficients.notices
    if cfg.flows is not None:
        flow_coefficients(cfg, coefficients, coefficients.codes, read)
    if cfg.flows is not None and cfg.flows.change_table is not None:
        _, more = read_change_table(cfg, inputs, mapping)
        notices += more
    if cfg.flows is not None and read.landcover_before is not None:
        _check_classes(read.landcover_before, mapping, cfg)
    return notices


def _check_classes(raster: RasterInfo, mapping: dict[int, str], cfg: PipelineConfig) -> None:
    """Scan the raster (block by block) for codes absent from the mapping."""
    assert cfg.landcover is not None
    found: dict[int, int] = {}
    for block in iter_blocks(raster, block_pixels=cfg.processing.block_pixels):
        values = block.arrays["landcover"]
        ok = valid_mask(values, block.nodata["landcover"], landcover_nodata(cfg))
        vals = values[ok]
        if np.issubdtype(vals.dtype, np.floating):
            check_integral(vals, f"land cover {raster.path}")
        codes, counts = np.unique(vals.astype(np.int64), return_counts=True)
        for c, n in zip(codes.tolist(), counts.tolist(), strict=True):
            found[c] = found.get(c, 0) + n
    if not found:
        msg = (
            f"land cover {raster.path}: the raster holds no valid pixel (every pixel is no data: "
            f"nodata {raster.nodata}, landcover.nodata_values {list(cfg.landcover.nodata_values)}); "
            "check the file and its nodata value"
        )
        raise InputError(msg)
    pixel_ha = abs(raster.transform.a * raster.transform.e) / M2_PER_HA
    series = pd.Series({c: n * pixel_ha for c, n in found.items()}, dtype=float)
    check_mapping_covers(series, mapping, str(raster.path))
