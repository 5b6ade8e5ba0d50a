"""Charging step of a territory run: read and clean points, indicators per commune / EPCI /
territory, population access, targets, outputs and map."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geocarbon.capabilities.charging_population import commune_cells, read_population_grid
from geocarbon.charging.clean import (
    clean_points,
    fleet_counts,
    point_notices,
    points_from_irve,
    points_from_stations,
    repeated_count_notice,
    station_count_notice,
)
from geocarbon.charging.indicators import (
    access_by_zone,
    area_share_inside,
    counts_by_commune,
    nearest_distance_m,
    raster_footprint,
)
from geocarbon.charging.irve_schema import check_irve_version
from geocarbon.charging.population import GridCells
from geocarbon.charging.postal import postal_codes_by_commune, postal_coverage_notice
from geocarbon.classes import ACCESS_CLASSES, format_value, white_zone_suffix
from geocarbon.config import ChargingConfig, EvFleetConfig, PipelineConfig
from geocarbon.geo import local_equal_area_crs
from geocarbon.io.deferred import DeferredFiles
from geocarbon.io.tables import read_csv
from geocarbon.io.vectors import read_vector
from geocarbon.io.writers import write_csv
from geocarbon.labels import Language, flags_label, label
from geocarbon.maps import (
    ChoroplethLayer,
    Overlay,
    PointsLayer,
    choropleth_map,
    commune_tooltip,
    labelled,
    map_title,
)
from geocarbon.notices import Notice
from geocarbon.territory import COVERAGE_COLUMNS, COVERAGE_MIN, level_rows

logger = logging.getLogger(__name__)


@dataclass
class ChargingResults:
    """What the charging step computed."""

    points: gpd.GeoDataFrame
    access: gpd.GeoDataFrame | None
    indicators: pd.DataFrame
    targets: pd.DataFrame


@dataclass
class ChargingInputs:
    """The charging inputs, read and checked: ``run`` and ``validate`` read them here, and
    the computation reads nothing more (:func:`compute_charging`). Each input keeps its own
    notices, added to the run's where the computation uses it."""

    points: pd.DataFrame
    """Charging points as a flat table (before cleaning)."""
    points_notices: list[Notice]
    cells: GridCells | None = None
    """Cells of the population grid over the communes' extent, with their notices."""
    roads: gpd.GeoSeries | None = None
    """Road lines of ``charging.road_network``."""
    roads_notices: list[Notice] = field(default_factory=list)
    fleet: tuple[np.ndarray, np.ndarray] | None = None
    """Battery and plug-in hybrid EVs of each commune [vehicles]."""
    fleet_notices: list[Notice] = field(default_factory=list)
    postal_codes: dict[str, set[str]] | None = None
    """Postal codes of each commune (INSEE code → postal codes) of ``charging.postal_codes``."""
    postal_notices: list[Notice] = field(default_factory=list)


def read_charging_inputs(cfg: PipelineConfig, communes: gpd.GeoDataFrame) -> ChargingInputs:
    """Read and check every charging input the pipeline names (points, population cells
    over the communes, road network, EV fleet)."""
    charging = cfg.charging
    assert charging is not None
    raw, notices = read_points(charging)
    read = ChargingInputs(raw, notices)
    if charging.population_grid() is not None:
        # over the communes only (a raster block by block): a truncated file is caught here
        read.cells = read_population_grid(cfg, communes)
    if charging.road_network is not None:
        from geocarbon.charging.network import road_lines

        roads = read_vector(charging.road_network.path, "road network", charging.road_network.layer)
        found, read.roads_notices = road_lines(roads.geometry, str(charging.road_network.path))
        read.roads = gpd.GeoSeries(found, crs=roads.crs)
    if charging.ev_fleet is not None:
        bev, phev, read.fleet_notices = read_ev_fleet(charging, communes)
        read.fleet = (bev, phev)
    if charging.postal_codes is not None:
        source = str(charging.postal_codes.path)
        table = read_csv(
            charging.postal_codes.path,
            "postal codes",
            dtype=object,
            sep=charging.postal_codes.separator,
            encoding=charging.postal_codes.encoding,
        )
        read.postal_codes = postal_codes_by_commune(table, source)
        read.postal_notices = postal_coverage_notice(
            read.postal_codes, communes["commune_code"], source
        )
    return read


def read_points(charging: ChargingConfig) -> tuple[pd.DataFrame, list[Notice]]:
    """Charging points as a flat table, whatever the layout, with the notices of stations
    whose number of points was not usable or repeats their place's (station layout).

    Raises
    ------
    InputError
        An IRVE version that is not read (v1, v3 draft, dynamic file: see
        :mod:`geocarbon.charging.irve_schema`).
    """
    path = charging.points.path
    is_table = path.name.lower().endswith((".csv", ".csv.gz"))
    if is_table:
        table = read_csv(
            path,
            "charging points",
            dtype=object,
            sep=charging.points.separator,
            encoding=charging.points.encoding,
        )
    else:
        table = read_vector(path, "charging points", charging.points.layer)
    check_irve_version(table.columns, str(path))
    layout = charging.points.layout
    if layout == "auto":
        layout = "irve_v2" if "coordonneesXY" in table.columns else "stations"
    if layout == "irve_v2":
        return points_from_irve(table, str(path)), []
    points = points_from_stations(table, str(path))
    notices = station_count_notice(table, str(path)) + repeated_count_notice(table, str(path))
    return points, notices


def validate_charging(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    known_codes: set[str],
    read: ChargingInputs,
) -> list[Notice]:
    """Check the charging inputs (as :func:`read_charging_inputs` read them) without
    computing the indicators: the points are cleaned as a run cleans them.

    ``known_codes``: commune codes known to exist (the territory's and the commune table's,
    which lists every French commune), to tell postal codes from INSEE codes.
    """
    charging = cfg.charging
    assert charging is not None
    points = clean_points(read.points, communes, known_codes, read.postal_codes)
    notices = [*read.points_notices, *point_notices(points, str(charging.points.path))]
    notices += read.postal_notices
    cells_notices = read.cells.notices if read.cells is not None else []
    return notices + cells_notices + read.roads_notices + read.fleet_notices


def compute_charging(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    known_codes: set[str],
    notices: list[Notice],
    read: ChargingInputs,
    epci_sizes: pd.DataFrame | None = None,
    territory_note: str = "",
) -> ChargingResults:
    """Clean points, count them per commune, measure population access; adds ``ev_*`` columns.

    ``known_codes``: commune codes known to exist (see :func:`validate_charging`).
    """
    charging = cfg.charging
    assert charging is not None
    points = clean_points(read.points, communes, known_codes, read.postal_codes)
    notices += read.points_notices
    notices += point_notices(points, str(charging.points.path))
    notices += read.postal_notices
    in_territory = points[points["commune_code"] != ""]
    _point_counts(communes, points)
    access = None
    if read.cells is not None:
        access = _population_access(cfg, communes, in_territory, notices, read)
    else:
        notices.append(
            Notice(
                "charging_no_population_grid",
                "no population grid (charging.population): distances and population shares are not computed; "
                "per-inhabitant indicators use the communes' population",
            )
        )
    if charging.ev_fleet is not None:
        assert read.fleet is not None
        notices += read.fleet_notices
        _ev_fleet(charging, communes, *read.fleet)
    indicators = indicator_table(communes, charging, cfg.name, epci_sizes, territory_note)
    targets = charging_targets(charging, communes, indicators)
    logger.info(
        "charging: %d points in the territory, %d communes with a point",
        len(in_territory),
        int((communes["ev_points"] > 0).sum()),
    )
    return ChargingResults(points, access, indicators, targets)


def _point_counts(communes: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> None:
    """Add the counts of points, stations and kW of each commune to ``communes`` (changed in
    place; 0 where none: a commune without a point has 0 kW; kW empty where every point of
    the commune has an unknown power), with ``ev_points_per_100k_inhab`` (with a
    population) and ``ev_points_per_100km2`` [points per 100 km²] (over ``area_ha``, the
    communes' true areas [ha])."""
    counts = counts_by_commune(points)
    counts = counts.reindex(communes["commune_code"])
    counts = counts.fillna({c: 0 for c in counts.columns if c != "ev_kw"})
    counts["ev_kw"] = counts["ev_kw"].where(counts["ev_points"] > 0, 0.0)
    for col in counts.columns:
        communes[col] = counts[col].to_numpy()
    n_points = communes["ev_points"].to_numpy(dtype=float)
    if "population" in communes.columns:
        pop = pd.to_numeric(communes["population"], errors="coerce").to_numpy(dtype=float)
        communes["ev_points_per_100k_inhab"] = np.divide(
            n_points * 1e5, pop, out=np.full(len(pop), np.nan), where=pop > 0
        )
    area_ha = communes["area_ha"].to_numpy(dtype=float)
    communes["ev_points_per_100km2"] = n_points / (area_ha / 1e4)


def _population_access(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    notices: list[Notice],
    read: ChargingInputs,
) -> gpd.GeoDataFrame:
    """Distance from each populated cell to the nearest charging point, and the population
    access indicators of each commune (added to ``communes``, changed in place).

    Returns
    -------
    GeoDataFrame
        The cells in the communes (``population`` [inhabitants], ``cell_size_m``,
        ``commune_code``, ``distance_m``, ``fast_distance_m``, ``unknown_power_distance_m``
        [m], ``distance_kind``, ``white_zone``), in the grid's CRS.
    """
    charging, grid = cfg.charging, read.cells
    assert charging is not None and grid is not None
    eq = local_equal_area_crs(communes)
    zones = communes.to_crs(eq)
    cells = commune_cells(grid, zones, notices)
    cells_xy = cells.to_crs(eq).geometry
    cxy = np.column_stack([cells_xy.x, cells_xy.y])
    located = points[points.geometry.notna()].to_crs(eq)
    pxy = np.column_stack([located.geometry.x, located.geometry.y])
    located_kw = located["power_kw"].to_numpy(dtype=float)
    targets = {
        "distance_m": pxy,
        "fast_distance_m": pxy[located_kw >= charging.fast_kw],
        # points of unknown power may be fast: their distance tells where fast access is unknown
        "unknown_power_distance_m": pxy[np.isnan(located_kw)],
    }
    if charging.road_network is not None:
        notices += _network_distances(charging, read, grid.side_m, cells, cxy, targets, zones)
    else:
        for column, target_xy in targets.items():
            cells[column] = nearest_distance_m(cxy, target_xy)
        cells["distance_kind"] = "euclidean"
    per = _access_per_commune(charging, communes, cells, grid, zones, notices)
    # a cell without a distance (no point reachable) is a white zone
    cells["white_zone"] = (cells["population"] > 0) & ~(
        cells["distance_m"] <= charging.white_zone_m
    )
    unknown_power = int(points["power_kw"].isna().sum())
    if unknown_power:
        notices.append(_power_unknown_notice(per, unknown_power, len(points), charging.fast_kw))
    return cells


def _network_distances(
    charging: ChargingConfig,
    read: ChargingInputs,
    side_m: float,
    cells: gpd.GeoDataFrame,
    cxy: np.ndarray,
    targets: dict[str, np.ndarray],
    zones: gpd.GeoDataFrame,
) -> list[Notice]:
    """Set the distances along the road network [m] from each cell (centres ``cxy``) to the
    nearest of each set of points (``targets``: column → point coordinates [m]), on
    ``cells`` (changed in place); the road lines are cut in pieces of at most half the
    cells' side ``side_m`` [m]. ``cxy``, ``targets`` and ``zones`` (the communes) are in
    the same equal-area CRS.

    Returns the notices of the road network and of the populated cells no road links to a
    point.
    """
    from geocarbon.charging.network import SEGMENT_MAX_M, lines_in_territory, network_distance_m

    assert charging.road_network is not None and read.roads is not None
    source = str(charging.road_network.path)
    notices = [*read.roads_notices]
    segment_m = min(SEGMENT_MAX_M, side_m / 2.0)
    # the territory's extent plus the longest access distance: paths that leave it further
    # are not followed, and one continent-long line cannot fill the memory
    margin_m = max([charging.white_zone_m, *charging.distances_m])
    x0, y0, x1, y1 = (float(v) for v in zones.total_bounds)
    lines = lines_in_territory(read.roads, zones.crs, (x0, y0, x1, y1), margin_m, segment_m)
    for column, target_xy in targets.items():
        cells[column] = network_distance_m(lines, cxy, target_xy, segment_m)
    cells["distance_kind"] = "network"
    lost = cells["distance_m"].isna() & (cells["population"] > 0)
    if len(targets["distance_m"]) and lost.any():
        notices.append(_unreachable_notice(cells, lost, source, margin_m))
    return notices


def _unreachable_notice(
    cells: pd.DataFrame, lost: pd.Series, source: str, margin_m: float
) -> Notice:
    """Notice of the populated cells (``lost``) no road of ``source`` links to a point
    within the territory's extent plus ``margin_m`` [m]."""
    return Notice(
        "charging_unreachable_by_road",
        f"road network {source}: {int(lost.sum())} populated cells "
        f"({cells.loc[lost, 'population'].sum():,.0f} inhabitants) are linked to no "
        "charging point by its roads (within the territory's extent plus "
        f"{margin_m / 1000:g} km): they have no distance, count as beyond every "
        "distance and as white zone, and are left out of the mean distance",
        sorted(set(cells.loc[lost, "commune_code"].astype(str))),
        facts={
            "source": str(source),
            "n_cells": int(lost.sum()),
            "population": float(cells.loc[lost, "population"].sum()),
            "margin_km": margin_m / 1000,
        },
    )


def _access_per_commune(
    charging: ChargingConfig,
    communes: gpd.GeoDataFrame,
    cells: pd.DataFrame,
    grid: GridCells,
    zones: gpd.GeoDataFrame,
    notices: list[Notice],
) -> pd.DataFrame:
    """Population access indicators of each commune from its cells' distances, added to
    ``communes`` (changed in place) with ``population_covered_share``; left empty for the
    communes the grid covers under :data:`~geocarbon.territory.COVERAGE_MIN` (with a
    notice). Returns them, one row per commune."""
    per = access_by_zone(
        cells["population"].to_numpy(),
        cells["distance_m"].to_numpy(),
        cells["fast_distance_m"].to_numpy(),
        cells["commune_code"].to_numpy(),
        charging.distances_m,
        charging.white_zone_m,
        cells["unknown_power_distance_m"].to_numpy(),
    )
    per = per.reindex(communes["commune_code"])
    # what the grid covers: the share of each commune inside the grid's extent (not its
    # valid cells: population grids such as INSEE's leave unpopulated cells empty)
    share = area_share_inside(zones.geometry, raster_footprint(grid.extent, grid.crs, zones.crs))
    communes["population_covered_share"] = share
    uncovered = ~(share >= COVERAGE_MIN)
    per.loc[uncovered] = np.nan
    for col in per.columns:
        communes[col] = per[col].to_numpy()
    if uncovered.any():
        notices.append(_population_partial_notice(grid, communes, share, uncovered))
    return per


def _population_partial_notice(
    grid: GridCells, communes: pd.DataFrame, share: np.ndarray, uncovered: np.ndarray
) -> Notice:
    """Notice of the communes the population grid covers under
    :data:`~geocarbon.territory.COVERAGE_MIN` of (``share``: covered share of each commune)."""
    return Notice(
        "charging_population_partial",
        f"{grid.what} {grid.source} covers less than {COVERAGE_MIN:.0%} "
        f"of {int(uncovered.sum())} of the {len(communes)} communes: their population "
        "indicators (ev_population_grid, ev_pop_share_*, ev_mean_distance_m, white "
        "zones) are left empty, and EPCI and territory shares sum the covered "
        "communes only (see population_covered_share and coverage_note)",
        [
            f"{c} ({s:.1%} covered)"
            for c, s in zip(
                communes["commune_code"][uncovered],
                np.nan_to_num(share[uncovered]),
                strict=True,
            )
        ][:50],
        facts={
            "source": grid.source,
            "coverage_min": COVERAGE_MIN,
            "n_communes": int(uncovered.sum()),
            "n_total": len(communes),
        },
    )


def _power_unknown_notice(
    per: pd.DataFrame, unknown_power: int, n_points: int, fast_kw: float
) -> Notice:
    """Notice of the ``unknown_power`` points (of ``n_points``) without power, with the
    communes whose fast shares (``per``: access indicators per commune) are left empty;
    ``fast_kw`` [kW]: the power from which a point is fast."""
    fast_cols = [c for c in per.columns if c.endswith("_fast")]
    grid_pop = per["ev_population_grid"].fillna(0.0) > 0
    left_empty = {c: int((per[c].isna() & grid_pop).sum()) for c in fast_cols}
    return Notice(
        "charging_power_unknown",
        f"{unknown_power} of {n_points} points have no power: they may be fast or "
        f"not (fast: ≥ {fast_kw:g} kW). fast_distance_m counts only points of known "
        "power; a share of the population within a distance of a fast point "
        "(ev_pop_share_within_<d>_fast) is left empty for a commune, EPCI or the "
        "territory where a populated cell has a point of unknown power within that "
        "distance and no known fast point (see unknown_power_distance_m)",
        [f"{c}: empty for {n} of {len(per)} communes" for c, n in left_empty.items()],
        facts={"n_unknown": unknown_power, "n_points": n_points, "fast_kw": fast_kw},
    )


def read_ev_fleet(
    charging: ChargingConfig, communes: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, list[Notice]]:
    """Battery and plug-in hybrid EVs of each commune, checked (see
    :func:`geocarbon.charging.clean.fleet_counts`).

    Communes absent from the table or with an empty cell have an unknown fleet (NaN, left
    out of sums), listed in a notice.
    """
    fleet_cfg = charging.ev_fleet
    assert fleet_cfg is not None
    table, notices = _fleet_table(fleet_cfg)
    source = str(fleet_cfg.path)
    codes = communes["commune_code"]
    bev = fleet_counts(table, fleet_cfg.bev_field, source).reindex(codes).to_numpy()
    phev = (
        fleet_counts(table, fleet_cfg.phev_field, source).reindex(codes).to_numpy()
        if fleet_cfg.phev_field
        else np.zeros(len(communes))
    )
    unknown = np.isnan(bev) | np.isnan(phev)
    if unknown.any():
        notices.append(
            Notice(
                "ev_fleet_unknown",
                f"EV fleet {source}: {int(unknown.sum())} of {len(unknown)} communes absent from "
                "the table or with an empty count: their fleet is unknown; they are left out of "
                "the EV sums and of kW per battery EV (their kW too: EPCI and territory kW per "
                "BEV use only the communes with a known fleet, see ev_fleet_communes), and a "
                "kW per BEV target is marked partial",
                codes[unknown].tolist(),
                facts={
                    "source": str(source),
                    "n_unknown": int(unknown.sum()),
                    "n_communes": len(unknown),
                },
            )
        )
    return bev, phev, notices


def _fleet_table(fleet_cfg: EvFleetConfig) -> tuple[pd.DataFrame, list[Notice]]:
    """The EV fleet table indexed by normalised commune code, the first row of a commune
    listed more than once (with a notice).

    Raises
    ------
    InputError
        The file cannot be read or lacks one of its configured columns.
    """
    from geocarbon.communes import normalise_codes

    fields = [
        fleet_cfg.code_field,
        fleet_cfg.bev_field,
        *([fleet_cfg.phev_field] if fleet_cfg.phev_field else []),
    ]
    table = read_csv(
        fleet_cfg.path,
        "EV fleet",
        required=fields,
        dtype=object,
        sep=fleet_cfg.separator,
        encoding=fleet_cfg.encoding,
    )
    table.index = normalise_codes(table[fleet_cfg.code_field]).to_numpy()
    repeated = table.index.duplicated(keep="first")
    if not repeated.any():
        return table, []
    source = str(fleet_cfg.path)
    notice = Notice(
        "ev_fleet_duplicate",
        f"EV fleet {source}: communes listed more than once; their first row is used",
        sorted({str(c) for c in table.index[repeated]}),
        facts={"source": str(source)},
    )
    return table[~repeated], [notice]


def _ev_fleet(
    charging: ChargingConfig, communes: gpd.GeoDataFrame, bev: np.ndarray, phev: np.ndarray
) -> None:
    """Add the EV fleet of each commune (``bev``, ``phev`` [vehicles]) to ``communes``
    (changed in place): ``ev_bev``, ``ev_phev``, ``ev_afir_required_kw`` (the AFIR power the
    fleet needs [kW]) and ``ev_kw_per_bev`` [kW per battery EV; empty without one]."""
    communes["ev_bev"] = bev
    communes["ev_phev"] = phev
    need = charging.afir_kw_per_bev * bev + charging.afir_kw_per_phev * phev
    communes["ev_afir_required_kw"] = need
    communes["ev_kw_per_bev"] = np.divide(
        communes["ev_kw"].fillna(0.0).to_numpy(), bev, out=np.full(len(bev), np.nan), where=bev > 0
    )


def indicator_table(
    communes: pd.DataFrame,
    charging: ChargingConfig,
    territory: str,
    epci_sizes: pd.DataFrame | None = None,
    territory_note: str = "",
) -> pd.DataFrame:
    """Indicators per commune, EPCI and territory (sums and recomputed ratios), each row
    saying what it covers (see :func:`coverage_columns`).

    Counts of stations, points and kW assume that the points file covers the whole
    territory; population indicators cover the communes the population grid covers
    (``population_covered_share`` ≥ :data:`~geocarbon.territory.COVERAGE_MIN`; the
    others are empty and left out of the EPCI and territory sums and shares).
    """
    base_cols = [
        c
        for c in communes.columns
        if c.startswith("ev_")
        and not c.startswith(("ev_pop_share", "ev_mean_distance", "ev_points_per", "ev_kw_per"))
    ]
    frame = pd.DataFrame(communes.drop(columns="geometry"))
    frame["area_ha"] = communes["area_ha"] if "area_ha" in communes.columns else np.nan
    if "population" not in frame.columns:
        frame["population"] = np.nan
    groups = {"commune": frame.assign(group=frame["commune_code"], name=frame["commune_name"])}
    if frame["epci_code"].notna().any():
        epci_name = frame["epci_name"] if "epci_name" in frame.columns else ""
        groups["epci"] = frame.assign(group=frame["epci_code"].fillna("(none)"), name=epci_name)
    groups["territory"] = frame.assign(group="territory", name=territory)
    rows = [_level_indicators(level, g, base_cols) for level, g in groups.items()]
    table = pd.concat(rows, ignore_index=True)
    table = table.drop(columns=[c for c in table.columns if c == "population_covered_share"])
    coverage = coverage_columns(
        frame, epci_sizes, territory, charging.population_grid() is not None, territory_note
    )
    table = table.merge(coverage, on=["level", "code"], how="left")
    none = (table["level"] == "epci") & (table["code"] == "(none)")
    if none.any():
        _no_epci_coverage(table, none, frame)
    table["complete"] = table["complete"].astype(bool)
    first = ["level", "code", "name", "communes", "communes_with_point"]
    return table[first + [c for c in table.columns if c not in first]]


def _level_indicators(level: str, g: pd.DataFrame, base_cols: list[str]) -> pd.DataFrame:
    """Indicators of each group of communes of one level (``g``: the communes with their
    ``group`` code and ``name``): sums of ``base_cols``, population [inhabitants] and area
    [ha], points per 100,000 inhabitants and per 100 km², population shares and mean
    distance [m] (with a grid), kW per battery EV (with a fleet)."""
    sums = g.groupby("group")[[*base_cols, "population", "area_ha"]].sum(min_count=1)
    names = g.groupby("group")["name"].first()
    out = sums.assign(level=level, code=sums.index, name=names.reindex(sums.index).to_numpy())
    # kW of the points of known power; empty when the group has points and none of them
    # has a known power (0 when it has no point)
    # (summed over the communes with a point: the same figure as before 0 kW was written)
    kw = g["ev_kw"].where(g["ev_points"] > 0).groupby(g["group"]).sum(min_count=1)
    known = out["ev_points"] - out["ev_points_power_unknown"]
    out["ev_kw"] = kw.reindex(out.index).fillna(0.0).where((known > 0) | (out["ev_points"] == 0))
    out["communes_with_point"] = g.assign(w=g["ev_points"] > 0).groupby("group")["w"].sum()
    out["communes"] = g.groupby("group").size()
    out["ev_points_per_100k_inhab"] = (
        out["ev_points"] * 1e5 / out["population"].where(out["population"] > 0)
    )
    out["ev_points_per_100km2"] = out["ev_points"] / (out["area_ha"] / 1e4)
    if "ev_population_grid" in g.columns:
        _grid_indicators(g, out)
    if "ev_bev" in g.columns:
        # kW and battery EVs of the same communes: those whose fleet is known
        known = g["ev_bev"].notna() & g["ev_phev"].notna()
        with_point = known & (g["ev_points"] > 0)
        kw_known = g["ev_kw"].where(with_point).groupby(g["group"]).sum(min_count=1)
        # no point in the communes of known fleet: 0 kW
        kw_known[~with_point.groupby(g["group"]).any() & known.groupby(g["group"]).any()] = 0.0
        bev_known = g["ev_bev"].where(known).groupby(g["group"]).sum(min_count=1)
        out["ev_kw_per_bev"] = kw_known / bev_known.where(bev_known > 0)
        out["ev_fleet_communes"] = known.groupby(g["group"]).sum()
        pop_known = g["population"].where(known).groupby(g["group"]).sum(min_count=1)
        out["ev_fleet_population_share"] = pop_known.fillna(0.0) / out["population"].where(
            out["population"] > 0
        )
    return out


def _grid_indicators(g: pd.DataFrame, out: pd.DataFrame) -> None:
    """Set the population shares within each distance (weighted by the population on the
    grid) and the mean distance [m] (weighted by the population that has one) of each group
    on ``out`` (changed in place), from its communes ``g``."""
    grid_pop = g["ev_population_grid"].fillna(0.0)
    for col in [c for c in g.columns if c.startswith("ev_pop_share")]:
        w = (g[col].fillna(0.0) * grid_pop).groupby(g["group"]).sum()
        out[col] = w / out["ev_population_grid"].where(out["ev_population_grid"] > 0)
        # a commune whose share is unknown (a fast share near points of unknown
        # power) leaves its group's share unknown, not lowered
        unknown = (g[col].isna() & (grid_pop > 0)).groupby(g["group"]).any()
        out[col] = out[col].where(~unknown.reindex(out.index, fill_value=False))
    # mean distance: weighted by the population that has a distance
    reached = grid_pop - g.get("ev_population_unreachable", pd.Series(0.0, index=g.index)).fillna(
        0.0
    )
    reached = reached.where(g["ev_mean_distance_m"].notna(), 0.0)
    w = (g["ev_mean_distance_m"].fillna(0.0) * reached).groupby(g["group"]).sum()
    reached_sum = reached.groupby(g["group"]).sum()
    out["ev_mean_distance_m"] = w / reached_sum.where(reached_sum > 0)


def _no_epci_coverage(table: pd.DataFrame, none: pd.Series, frame: pd.DataFrame) -> None:
    """Coverage of the row of the communes without EPCI (``none``), changed in place in
    ``table``: counted in the territory, and in this row, which is no EPCI's."""
    table.loc[none, "communes_in_run"] = table.loc[none, "communes"].astype(float)
    grid = "population_covered_share" in frame.columns
    table.loc[none, "communes_with_data"] = float(
        (
            frame["epci_code"].isna()
            & (frame["population_covered_share"].fillna(0.0) >= COVERAGE_MIN if grid else True)
        ).sum()
    )
    table.loc[none, "complete"] = False
    table.loc[none, "coverage_note"] = "communes without EPCI: not an EPCI's figure"


def coverage_columns(
    frame: pd.DataFrame,
    epci_sizes: pd.DataFrame | None,
    territory: str,
    grid: bool,
    territory_note: str = "",
) -> pd.DataFrame:
    """What each row of the charging indicators covers, by ``level`` and ``code``.

    Parameters
    ----------
    frame : DataFrame
        The communes of the run (``commune_code``, ``commune_name``, ``epci_code``,
        ``area_ha`` and, with a population grid, ``population_covered_share``).
    epci_sizes : DataFrame or None
        See :func:`geocarbon.territory.epci_coverage`.
    territory : str
        Name of the territory row.
    grid : bool
        Whether a population grid was given (without one, every commune has its counts).
    territory_note : str, optional
        Why the territory itself is not whole (see :func:`geocarbon.territory.level_rows`).

    Returns
    -------
    DataFrame
        ``level``, ``code``, ``population_covered_share`` (with a grid: share of the area
        inside the raster's extent, area-weighted for EPCIs and the territory) and
        :data:`~geocarbon.territory.COVERAGE_COLUMNS` (``communes_with_data``: communes
        whose population indicators are computed).
    """
    codes = frame["commune_code"].astype(str).to_numpy()
    names = ["commune_code", "commune_name", "epci_code"] + (
        ["epci_name"] if "epci_name" in frame.columns else []
    )
    share = None
    has = pd.Series(True, index=codes)
    if grid and "population_covered_share" in frame.columns:
        share = pd.Series(frame["population_covered_share"].to_numpy(dtype=float), index=codes)
        has = share.fillna(0.0) >= COVERAGE_MIN
    rows = level_rows(
        pd.DataFrame({"_n": 1.0}, index=codes),
        pd.DataFrame(frame[names]).assign(commune_code=codes),
        territory_name=territory,
        has_data=has,
        epci_sizes=epci_sizes,
        share=share,
        weights=pd.Series(frame["area_ha"].to_numpy(dtype=float), index=codes),
        what="population grid",
        share_column="population_covered_share",
        territory_note=territory_note,
    )
    rows["coverage_note"] = rows["coverage_note"].str.replace(
        "figures left empty", "population indicators left empty (counts of points kept)"
    )
    keep = ["level", "code", *(["population_covered_share"] if share is not None else [])]
    return rows[keep + COVERAGE_COLUMNS]


#: Columns of :func:`charging_targets` (``charging_targets.csv``).
CHARGING_TARGET_COLUMNS = [
    "indicator",
    "label",
    "year",
    "target",
    "value",
    "gap",
    "reached",
    "note",
]


def charging_targets(
    charging: ChargingConfig, communes: pd.DataFrame, indicators: pd.DataFrame
) -> pd.DataFrame:
    """Each target with the territory's value and the gap (target − value).

    One rule for every target: ``reached`` is True or False only when the territory's value
    decides it, and is left empty otherwise, with ``note`` saying why:

    - a value computed over part of the territory (population shares when the population
      grid does not cover every commune; kW per BEV when the EV fleet is not known for every
      commune; points per 100,000 inhabitants when a commune's population is unknown) is not
      checked: the communes left out may move it either way;
    - a value that can only grow with what is unknown is a lower bound (kW per BEV when some
      points have no power: their kW are missing): it is checked as reached when it already
      reaches the target, and not checked otherwise;
    - a value that cannot be computed (empty) is not checked.

    Counts of points and the share of communes with a point are complete: the points file
    is taken to cover the whole territory.
    """
    territory_row = indicators[indicators["level"] == "territory"].iloc[0]
    partial, lower_bound = _target_caveats(territory_row, communes)
    values = _territory_values(territory_row)
    rows = []
    for target in charging.targets:
        value = values[target.indicator]
        reached: bool | None
        note = partial.get(target.indicator, lower_bound.get(target.indicator, ""))
        if np.isnan(value):
            reached = None
            note = note or "no value for the territory; not checked"
        elif target.indicator in partial:
            reached = None
        elif target.indicator in lower_bound:
            reached = True if value >= target.value else None
        else:
            reached = bool(value >= target.value)
        rows.append(
            {
                "indicator": target.indicator,
                "label": target.label,
                "year": target.year,
                "target": target.value,
                "value": value,
                "gap": target.value - value,
                "reached": reached,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=CHARGING_TARGET_COLUMNS)


def _target_caveats(
    territory_row: pd.Series, communes: pd.DataFrame
) -> tuple[dict[str, str], dict[str, str]]:
    """Why a target indicator's territory value is partial (not checked) or a lower bound
    (checked only once reached), by indicator (see :func:`charging_targets`)."""
    t = territory_row
    partial: dict[str, str] = {}
    lower_bound: dict[str, str] = {}
    if "ev_fleet_communes" in t and int(t["ev_fleet_communes"]) < int(t["communes"]):
        share = t.get("ev_fleet_population_share", np.nan)
        partial["kw_per_bev"] = (
            f"partial: EV fleet known for {int(t['ev_fleet_communes'])} of {int(t['communes'])} "
            "communes"
            + (f" ({float(share):.0%} of the population)" if pd.notna(share) else "")
            + "; not checked"
        )
    unknown_kw = float(t.get("ev_points_power_unknown", 0.0) or 0.0)
    if unknown_kw > 0 and "kw_per_bev" not in partial:
        lower_bound["kw_per_bev"] = (
            f"lower bound: {int(unknown_kw)} of {int(t['ev_points'])} points have no power "
            "(their kW are not counted); not checked unless reached"
        )
    with_grid = t.get("communes_with_data", np.nan)
    if "ev_pop_share_within_5km" in t and pd.notna(with_grid) and with_grid < t["communes"]:
        share = t.get("population_covered_share", np.nan)
        partial["pop_share_within_5km"] = (
            f"partial: population grid for {int(with_grid)} of {int(t['communes'])} communes"
            + (f" ({float(share):.0%} of the area)" if pd.notna(share) else "")
            + "; not checked"
        )
    if "population" in communes.columns:
        no_pop = int(pd.to_numeric(communes["population"], errors="coerce").isna().sum())
        if 0 < no_pop < len(communes):
            partial["points_per_100k_inhab"] = (
                f"partial: population unknown for {no_pop} of {len(communes)} communes; not checked"
            )
    return partial, lower_bound


def _territory_values(t: pd.Series) -> dict[str, float]:
    """The territory's value of each charging target indicator (NaN: no value): share of
    communes with a point [0–1], points, points per 100,000 inhabitants, kW per battery EV,
    share of the population within 5 km of a point [0–1]."""

    def optional(column: str) -> float:
        return float(t[column]) if column in t and pd.notna(t[column]) else np.nan

    return {
        "communes_covered_share": float(t["communes_with_point"]) / float(t["communes"]),
        "points": float(t["ev_points"]),
        "points_per_100k_inhab": optional("ev_points_per_100k_inhab"),
        "kw_per_bev": optional("ev_kw_per_bev"),
        "pop_share_within_5km": optional("ev_pop_share_within_5km"),
    }


def write_charging_outputs(
    cfg: PipelineConfig,
    result: ChargingResults,
    communes: gpd.GeoDataFrame,
    tmp: Path,
    later: DeferredFiles | None = None,
) -> None:
    """Indicator and target tables; the charging map made by ``later``."""
    write_csv(tmp / "charging_indicators.csv", result.indicators)
    if len(result.targets):
        write_csv(tmp / "charging_targets.csv", result.targets)
    if not cfg.maps.enabled:
        return
    overlays = []
    if result.access is not None:
        white_zone_m = cfg.charging.white_zone_m if cfg.charging else None
        overlays.append(_access_overlay(result.access, white_zone_m, cfg.report.language))
    (later or DeferredFiles(tmp)).add_map(charging_map_page, cfg, communes, result.points, overlays)


def charging_map_page(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    overlays: list[Overlay],
) -> dict[str, str]:
    """The charging map (HTML page, by path in the output folder): communes by points
    (per 100,000 inhabitants when known), the charging ``points`` and the ``overlays``."""
    lang = cfg.report.language
    layers = [ChoroplethLayer("ev_points", label("ev_points_per_commune", lang))]
    if "ev_points_per_100k_inhab" in communes.columns:
        layers.insert(
            0, ChoroplethLayer("ev_points_per_100k_inhab", label("ev_points_per_100k_inhab", lang))
        )
    tips = ["ev_points", "ev_stations", "ev_kw", "ev_points_power_unknown"]
    if "population_covered_share" in communes.columns:
        tips.append("population_covered_share")
    page = choropleth_map(
        communes,
        layers,
        title=map_title(cfg.name, label("map_charging_title", lang), lang),
        tooltip_fields=commune_tooltip(
            communes,
            [(c, label("ev_kw_known_power" if c == "ev_kw" else c, lang, unit=True)) for c in tips],
            lang,
        ),
        simplify_m=cfg.maps.simplify_m,
        overlays=overlays,
        extra=_points_layer(points, lang),
        lang=lang,
    )
    return {"maps/charging.html": page}


def _access_overlay(
    access: gpd.GeoDataFrame, white_zone_m: float | None, lang: Language
) -> Overlay:
    """The population cells drawn as squares over the charging map, by access class
    (``white_zone_m`` [m]: the white-zone distance), off at opening."""
    cells = access.copy()
    half = float(cells["cell_size_m"].iloc[0]) / 2.0 if len(cells) else 100.0
    eq = cells.to_crs(cells.crs)
    squares = eq.geometry.buffer(half, cap_style="square")
    cells = gpd.GeoDataFrame(
        cells.drop(columns="geometry"),
        geometry=gpd.GeoSeries(squares, crs=eq.crs).to_crs(cells.crs),
    )
    # fixed classes, the same as the QGIS style of the GeoPackage's charging_access layer
    white = white_zone_suffix(white_zone_m, lang)
    cells["access"] = ACCESS_CLASSES.names(cells, lang, white)
    cells["distance_km"] = (cells["distance_m"] / 1000).round(1)
    cells["population"] = cells["population"].round(0)
    return Overlay(
        label(ACCESS_CLASSES.title_id, lang),
        cells[["population", "distance_km", "access", "geometry"]],
        "access",
        ACCESS_CLASSES.legend(lang, white),
        tuple(labelled(("population", "distance_km"), lang)),
        # off at opening: the cells would hide the commune choropleth (tick to show)
        show=False,
    )


def _points_layer(points: gpd.GeoDataFrame, lang: Language = "fr") -> PointsLayer:
    """Clustered point markers sized by power; popups show the point's and station's ids, its
    power and QA flags (as text: ids come from the input file)."""
    shown = points[points.geometry.notna()]
    kw = shown["power_kw"].astype(float)
    frame = gpd.GeoDataFrame(
        {
            "point_id": shown["point_id"].astype(str),
            "station_id": shown["station_id"].astype(str),
            "power": [
                f"{format_value(v, lang, 4)} kW" if v == v and v else label("power_unknown", lang)
                for v in kw
            ],
            "qa_flags": [flags_label(f, lang) for f in shown["qa_flags"].fillna("").astype(str)],
            # radius [px] grows with power, capped at 1,000 kW so that an implausible value
            # cannot cover the map
            "radius_px": (4 + np.where(kw > 0, np.sqrt(kw.clip(0, 1000)), 2)).round(2),
        },
        geometry=shown.geometry,
        crs=shown.crs,
    )
    return PointsLayer(
        frame,
        labelled(("point_id", "station_id", "power", "qa_flags"), lang),
        name=label("ev_points", lang),
        radius_column="radius_px",
    )
