"""The hedges of the carbon step (``carbon.hedges``): read the hedge lines, measure them per
commune and land-use category in the land cover's projected CRS, and give the ``hedges`` stock
rows, per-commune figures and the flow of the length change (model:
:mod:`geocarbon.carbon.hedges`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geocarbon.carbon.categories import AGRICULTURAL_CATEGORIES
from geocarbon.carbon.hedges import (
    NO_LANDCOVER,
    agricultural_km,
    carbon_per_km,
    clip_to_communes,
    hedge_flows,
    hedge_stocks,
    length_by_category,
    segments,
)
from geocarbon.errors import ConfigError, InputError
from geocarbon.geo import in_crs, local_equal_area_crs
from geocarbon.io.raster import sample_points
from geocarbon.io.tables import read_csv
from geocarbon.io.vectors import read_vector
from geocarbon.notices import Notice
from geocarbon.territory import departement_of
from geocarbon.values import RasterInfo

if TYPE_CHECKING:
    from geocarbon.capabilities.carbon_step import LandUse
    from geocarbon.config import HedgesConfig, PipelineConfig
    from geocarbon.state import Inputs

#: ALDO's table of carbon per km of hedge, in ``carbon.aldo_dir``.
ALDO_HEDGES_FILE = "carbone-haies.csv"
LINE_TYPES = ("LineString", "MultiLineString")


@dataclass
class HedgeInputs:
    """The hedge lines as read (each date) and ALDO's carbon per km (None: generic)."""

    lines: gpd.GeoSeries
    lines_before: gpd.GeoSeries | None
    per_km_table: pd.DataFrame | None
    notices: list[Notice]


@dataclass
class HedgeResults:
    """The hedges of a run."""

    lengths: pd.DataFrame
    """Length per commune and land-use category [km] at the land cover's date."""
    stocks: pd.DataFrame
    """Stock rows of the pool ``hedges`` (agricultural land) [tC]."""
    figures: pd.DataFrame
    """Per commune (index): lengths [km] and stocks [tC]."""
    flows: pd.DataFrame | None
    """Flow of the length change per commune [tCO2e/yr] (None without a start date)."""
    per_km: pd.DataFrame
    """Carbon per km per commune [tC/km] and its source."""


def read_hedges(cfg: PipelineConfig, files: dict[str, Path]) -> HedgeInputs | None:
    """Read the hedge lines of ``carbon.hedges`` (None when not configured).

    Raises
    ------
    ConfigError
        Hedges without a land-cover raster, or a start date without the flows section.
    InputError
        A file that is not a line layer (see :func:`line_layer`).
    """
    hcfg = cfg.carbon.hedges
    if hcfg is None:
        return None
    if cfg.landcover is None:
        msg = (
            "carbon.hedges needs a land-cover raster (landcover): the land-use category under "
            "each hedge is read from it; remove carbon.hedges from a run from an area table"
        )
        raise ConfigError(msg)
    if hcfg.path_before is not None and cfg.flows is None:
        msg = (
            "carbon.hedges.path_before is set but the pipeline has no flows section: the hedge "
            "flow needs the period (flows.start_year, flows.end_year)"
        )
        raise ConfigError(msg)
    notices: list[Notice] = []
    files["hedges"] = hcfg.path
    lines = line_layer(hcfg.path, hcfg.layer, "hedges", notices)
    before = None
    if hcfg.path_before is not None:
        files["hedges_before"] = hcfg.path_before
        before = line_layer(hcfg.path_before, hcfg.layer_before, "hedges_before", notices)
    table = None
    if cfg.carbon.coefficients == "aldo":
        assert cfg.carbon.aldo_dir is not None
        path = cfg.carbon.aldo_dir / ALDO_HEDGES_FILE
        files["aldo_hedges"] = path
        table = read_csv(path, "ALDO hedge carbon", required=["dep", "C_aerien_km", "C_tot_km"])
    return HedgeInputs(lines, before, table, notices)


def line_layer(path: Path, layer: str | None, role: str, notices: list[Notice]) -> gpd.GeoSeries:
    """The lines of a hedge layer; features without a geometry are left out with a notice.

    Raises
    ------
    InputError
        A feature that is not a line (points, polygons): the file is not a hedge layer.
    """
    frame = read_vector(path, "hedges", layer, fid_as_index=True)
    geoms = frame.geometry
    empty = geoms.isna() | geoms.is_empty
    kinds = geoms[~empty].geom_type
    wrong = kinds[~kinds.isin(LINE_TYPES)]
    if len(wrong):
        msg = (
            f"hedges: {path} has {len(wrong)} feature(s) that are not lines (first: feature "
            f"{wrong.index[0]}, a {wrong.iloc[0]}); give a layer of hedge lines (IGN BD Haies "
            "linear features), or name the line layer with carbon.hedges.layer"
        )
        raise InputError(msg)
    if empty.any():
        notices.append(
            Notice(
                "hedges_without_geometry",
                f"{int(empty.sum())} hedge feature(s) of {path} have no geometry: left out",
                [str(i) for i in geoms.index[empty.to_numpy()]],
                facts={"n_features": int(empty.sum()), "role": role},
            )
        )
    return geoms[~empty].reset_index(drop=True)


def working_crs(landcover: RasterInfo, communes: gpd.GeoDataFrame) -> CRS:
    """Where lengths are measured: the land cover's CRS when projected (the territory's
    working CRS), else a local projection centred on the communes (never degrees)."""
    if landcover.crs.is_projected:
        return landcover.crs
    return local_equal_area_crs(communes)


def compute_hedges(
    cfg: PipelineConfig,
    read: HedgeInputs,
    communes: gpd.GeoDataFrame,
    rasters: tuple[RasterInfo, RasterInfo | None],
    mapping: dict[int, str],
    nodata: list[float],
) -> tuple[HedgeResults, list[Notice]]:
    """Lengths, stocks and flow of the hedges of the run's communes.

    ``rasters`` are the land cover and the start-date land cover (None: the land cover
    gives the category at both dates); ``nodata`` the land-cover values that are no data.
    """
    hcfg = cfg.carbon.hedges
    assert hcfg is not None
    crs = working_crs(rasters[0], communes)
    zones = in_crs(communes[["commune_code", "geometry"]], crs)
    notices = list(read.notices)
    lengths, outside_km = measure(read.lines, zones, rasters[0], mapping, nodata, hcfg)
    codes = communes["commune_code"].astype(str)
    per_km = carbon_per_km(codes, departement_of(codes), read.per_km_table)
    stocks = hedge_stocks(lengths, per_km)
    notices += hedge_notices(lengths, outside_km, per_km, stocks)
    flows = None
    if read.lines_before is not None:
        assert cfg.flows is not None
        before, _ = measure(
            read.lines_before, zones, rasters[1] or rasters[0], mapping, nodata, hcfg
        )
        flows = hedge_flows(
            agricultural_km(before), agricultural_km(lengths), per_km, cfg.flows.years
        )
    figures = hedge_figures(lengths, stocks, codes)
    return HedgeResults(lengths, stocks, figures, flows, per_km), notices


def measure(
    lines: gpd.GeoSeries,
    zones: gpd.GeoDataFrame,
    landcover: RasterInfo,
    mapping: dict[int, str],
    nodata: list[float],
    hcfg: HedgesConfig,
) -> tuple[pd.DataFrame, float]:
    """Length per commune and category [km], and the length outside every commune [km]."""
    projected = in_crs(gpd.GeoDataFrame(geometry=lines), zones.crs).geometry
    pieces = clip_to_communes(projected, zones)
    segs = segments(pieces, hcfg.segment_m)
    xs, ys = segs["x"].to_numpy(), segs["y"].to_numpy()
    if not zones.crs.equals(landcover.crs):
        points = gpd.GeoSeries(shapely.points(xs, ys), crs=zones.crs).to_crs(landcover.crs)
        xs, ys = points.x.to_numpy(), points.y.to_numpy()
    values = sample_points(landcover, xs, ys)
    values[np.isin(values, nodata)] = np.nan
    category = np.full(len(values), NO_LANDCOVER, dtype=object)
    valid = ~np.isnan(values)
    named = pd.Series(values[valid].astype(np.int64)).map(mapping).fillna(NO_LANDCOVER)
    category[valid] = named.to_numpy(dtype=object)
    lengths = length_by_category(pieces, segs, category)
    outside_km = (
        float(shapely.length(projected.to_numpy()).sum()) - pieces["length_m"].sum()
    ) / 1e3
    return lengths, max(outside_km, 0.0)


def hedge_figures(lengths: pd.DataFrame, stocks: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """Per commune: ``hedge_length_km``, ``hedge_length_agricultural_km``,
    ``hedge_length_other_km`` (no stock counted), ``stock_hedges_aerial_tc`` (0 where the
    commune has no hedge: the layer covers the territory)."""
    index = pd.Index(codes, name="commune_code")
    agri = lengths["category"].isin(AGRICULTURAL_CATEGORIES)
    by = lengths.groupby("commune_code")["length_km"]
    frame = pd.DataFrame(index=index)
    frame["hedge_length_km"] = by.sum().reindex(index).fillna(0.0)
    frame["hedge_length_agricultural_km"] = (
        lengths[agri].groupby("commune_code")["length_km"].sum().reindex(index).fillna(0.0)
    )
    frame["hedge_length_other_km"] = (
        frame["hedge_length_km"] - frame["hedge_length_agricultural_km"]
    )
    aerial = stocks.groupby("commune_code")["stock_aerial_tc"].sum(min_count=1)
    has_stock = stocks.groupby("commune_code")["stock_tc"].size()
    frame["stock_hedges_aerial_tc"] = aerial.reindex(index).where(
        has_stock.reindex(index).notna(), 0.0
    )
    return frame


def hedge_notices(
    lengths: pd.DataFrame, outside_km: float, per_km: pd.DataFrame, stocks: pd.DataFrame
) -> list[Notice]:
    """What the hedge figures leave out: length off agricultural land, outside the
    communes, and the communes on the default carbon per km."""
    notices = []
    other = lengths[~lengths["category"].isin(AGRICULTURAL_CATEGORIES)]
    if len(other):
        by = other.groupby("category")["length_km"].sum()
        shown = ", ".join(f"{c} {km:,.1f} km" for c, km in by.items())
        notices.append(
            Notice(
                "hedges_off_agricultural_land",
                f"{by.sum():,.1f} km of hedges lie on land that is not agricultural ({shown}): "
                "length reported (hedge_length_other_km), no hedge stock counted there (trees "
                "under forest or wooded land are in that land's biomass)",
                sorted(set(other["commune_code"])),
                facts={"length_km": float(by.sum()), "by_category": shown},
            )
        )
    if outside_km > 0.001:
        notices.append(
            Notice(
                "hedges_outside_communes",
                f"{outside_km:,.1f} km of hedge lines lie outside the run's communes: not counted",
                facts={"length_km": outside_km},
            )
        )
    default = per_km[per_km["c_aerial_tc_per_km"].isna()]
    used = default[default["commune_code"].isin(stocks["commune_code"])]
    if len(used):
        notices.append(
            Notice(
                "hedges_default_carbon_per_km",
                f"default carbon per km of hedge, {used['c_tot_tc_per_km'].iloc[0]:g} tC/km, for "
                f"{len(used)} commune(s) (no value for their département, or generic "
                "coefficients); above-ground stock left empty",
                sorted(used["commune_code"]),
                facts={
                    "n_communes": len(used),
                    "c_tot_tc_per_km": float(used["c_tot_tc_per_km"].iloc[0]),
                },
            )
        )
    return notices


def with_hedges(
    cfg: PipelineConfig,
    inputs: Inputs,
    communes: gpd.GeoDataFrame,
    mapping: dict[int, str],
    land: LandUse,
    stocks: pd.DataFrame,
    notices: list[Notice],
) -> tuple[HedgeResults | None, pd.DataFrame]:
    """The hedges of a commune-level run from a land-cover raster (None without
    ``carbon.hedges``) and the stock table with their rows (pool ``hedges``); their
    notices added to ``notices``."""
    from geocarbon.capabilities.carbon_step import carbon_inputs, landcover_nodata

    read = carbon_inputs(inputs)
    if read.hedges is None:
        return None, stocks
    assert read.landcover is not None and land.level == "commune"
    hedges, more = compute_hedges(
        cfg,
        read.hedges,
        communes,
        (read.landcover, read.landcover_before),
        mapping,
        landcover_nodata(cfg),
    )
    notices += more
    return hedges, with_rows(stocks, hedges.stocks, ["commune_code", "category", "pool"])


def practices_of_run(
    cfg: PipelineConfig,
    inputs: Inputs,
    communes: pd.DataFrame,
    stocks: pd.DataFrame,
    notices: list[Notice],
) -> pd.DataFrame | None:
    """The practices' potential (None without ``carbon.practices``); notices added."""
    from geocarbon.capabilities.carbon_practices import compute_practices
    from geocarbon.capabilities.carbon_step import carbon_inputs

    rates = carbon_inputs(inputs).practice_rates
    if not cfg.carbon.practices or rates is None:
        return None
    table, more = compute_practices(cfg, rates, communes, stocks)
    notices += more
    return table


def with_rows(frame: pd.DataFrame, rows: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``frame`` and ``rows`` in one table sorted by ``order`` (columns of either kept)."""
    if not len(rows):
        return frame
    both = pd.concat([frame, rows], ignore_index=True) if len(frame) else rows
    return both.sort_values(order, kind="stable").reset_index(drop=True)
