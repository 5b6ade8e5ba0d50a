"""Charging indicators per commune / EPCI / territory, and access of the population.

Counts (stations, points, installed kW, power classes, per 100,000 inhabitants and per
100 km²), the share of the population within given distances of a point and of a fast
point, the population-weighted mean distance, white zones, kW per battery EV against
the EU AFIR rule (1.3 kW per BEV, 0.8 kW per plug-in hybrid). Distances are Euclidean in a
local equal-area projection (nearest point by k-d tree).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

#: Power classes used in France (QualiCharge) [kW]: (label, low, high).
POWER_CLASSES = (
    ("0_15kw", 0.0, 15.0),
    ("15_26kw", 15.0, 26.0),
    ("26_65kw", 26.0, 65.0),
    ("65_175kw", 65.0, 175.0),
    ("175_360kw", 175.0, 360.0),
    ("over_360kw", 360.0, np.inf),
)


def distance_name(distance_m: float) -> str:
    """How a distance [m] is written in column names: metres below 1 km (``"500m"``),
    kilometres from 1 km (``"1km"``, ``"1.5km"``, ``"10km"``).

    Examples
    --------
    >>> [distance_name(d) for d in (250.0, 500.0, 1000.0, 1500.0, 10000.0)]
    ['250m', '500m', '1km', '1.5km', '10km']
    """
    if distance_m < 1000.0:
        return f"{distance_m:g}m"
    return f"{distance_m / 1000.0:g}km"


def share_column(distance_m: float, fast: bool = False) -> str:
    """Column of the share of the population within ``distance_m`` [m] of a (fast) point:
    ``ev_pop_share_within_<d>`` with ``<d>`` from :func:`distance_name` (e.g.
    ``ev_pop_share_within_500m``, ``ev_pop_share_within_5km_fast``)."""
    return f"ev_pop_share_within_{distance_name(distance_m)}" + ("_fast" if fast else "")


def nearest_distance_m(cells_xy: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Distance [m] from each cell centre to the nearest point (NaN when there is none).

    Parameters
    ----------
    cells_xy, points_xy : ndarray, shape (n, 2)
        Coordinates in a projected CRS [m].
    """
    if len(points_xy) == 0:
        return np.full(len(cells_xy), np.nan)
    tree = cKDTree(points_xy)
    dist, _ = tree.query(cells_xy, k=1, workers=1)
    return np.asarray(dist, dtype=float)


#: Shares closer than this to 0 or 1 are rounded to it (edges reprojected point by point
#: differ by far less).
SHARE_ROUNDING = 1e-6


def area_share_inside(zones: gpd.GeoSeries, cover: BaseGeometry) -> np.ndarray:
    """Share (0–1) of each zone's area inside ``cover``.

    Parameters
    ----------
    zones : GeoSeries
        Polygons in an equal-area CRS [m].
    cover : shapely geometry
        What the data cover (e.g. a raster's footprint), in the same CRS.

    Returns
    -------
    ndarray
        area(zone ∩ cover) / area(zone) [-]; NaN for a zone without geometry or area; a share
        under :data:`SHARE_ROUNDING` (a millionth: the rounding of reprojected edges) is 0.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> area_share_inside(gpd.GeoSeries([box(0, 0, 2, 1), box(5, 5, 6, 6)]), box(1, 0, 9, 9))
    array([0.5, 1. ])
    """
    geoms = np.asarray(zones.values, dtype=object)
    area_m2 = np.where(shapely.is_missing(geoms), np.nan, shapely.area(geoms))
    inside_m2 = shapely.area(shapely.intersection(geoms, cover))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area_m2 > 0, np.asarray(inside_m2, dtype=float) / area_m2, np.nan)
    share = np.clip(share, 0.0, 1.0)
    share[share < SHARE_ROUNDING] = 0.0
    share[share > 1.0 - SHARE_ROUNDING] = 1.0
    return share


def raster_footprint(
    bounds: tuple[float, float, float, float], crs: object, to_crs: object
) -> BaseGeometry:
    """The rectangle ``bounds`` (left, bottom, right, top) of a raster in its ``crs``, drawn
    in ``to_crs`` (its sides densified so that they bend as the projection does)."""
    left, bottom, right, top = bounds
    step = max(right - left, top - bottom) / 64.0
    rect = shapely.segmentize(shapely.box(left, bottom, right, top), step) if step > 0 else None
    if rect is None:
        return shapely.Polygon()
    return gpd.GeoSeries([rect], crs=crs).to_crs(to_crs).iloc[0]


def counts_by_commune(points: gpd.GeoDataFrame) -> pd.DataFrame:
    """Stations, points, installed kW and points per power class, per commune code.

    Stations are the physical stations (``physical_station``, see
    :mod:`geocarbon.charging.stations`; the distinct ``station_id`` without that column)."""
    usable = points[points["commune_code"] != ""]
    grouped = usable.groupby("commune_code")
    station = "physical_station" if "physical_station" in usable.columns else "station_id"
    out = pd.DataFrame(
        {
            "ev_stations": grouped[station].nunique(),
            "ev_points": grouped.size(),
            "ev_kw": grouped["power_kw"].sum(min_count=1),
            "ev_points_power_unknown": grouped["power_kw"].apply(lambda s: int(s.isna().sum())),
        }
    )
    for label, lo, hi in POWER_CLASSES:
        sel = usable[(usable["power_kw"] >= lo) & (usable["power_kw"] < hi)]
        out[f"ev_points_{label}"] = sel.groupby("commune_code").size()
    return out.fillna({c: 0 for c in out.columns if c != "ev_kw"})


def access_by_zone(
    population: np.ndarray,
    dist_m: np.ndarray,
    fast_dist_m: np.ndarray,
    zone: np.ndarray,
    distances_m: list[float],
    white_zone_m: float,
    unknown_power_dist_m: np.ndarray | None = None,
) -> pd.DataFrame:
    """Population shares within distances of a point / fast point, weighted mean distance and
    white-zone population, per zone label (cells with population only).

    A cell without a distance (NaN: no point, or no road path to one) counts as within no
    distance and as white zone; the mean distance [m] is weighted over the cells that have a
    distance (NaN when none has), and ``ev_population_unreachable`` gives the population of
    the cells without one [inhabitants].

    Points of unknown power (``unknown_power_dist_m``: distance [m] from each cell to the
    nearest of them, NaN when there is none) may be fast or not. For a distance d, a cell
    with such a point within d but no point of known fast power within d is undetermined:
    whether a fast point is near it is unknown. A zone's share within d of a fast point
    (``ev_pop_share_within_<d>_fast``, see :func:`share_column`) is empty (NaN) when one of its populated cells is
    undetermined; otherwise it is exact (the unknown powers cannot change it). When no
    point has a known power, every cell near a point is undetermined.
    """
    if unknown_power_dist_m is None:
        unknown_power_dist_m = np.full(len(population), np.nan)
    frame = pd.DataFrame(
        {
            "zone": zone,
            "pop": population,
            "d": dist_m,
            "df": fast_dist_m,
            "du": unknown_power_dist_m,
        }
    )
    frame = frame[frame["pop"] > 0]
    grouped = frame.groupby("zone")
    out = pd.DataFrame({"ev_population_grid": grouped["pop"].sum()})
    for d in distances_m:
        _shares_within(frame, out, d)
    reached = frame[frame["d"].notna()]
    weighted = reached.assign(w=reached["pop"] * reached["d"]).groupby("zone")["w"].sum()
    reached_pop = reached.groupby("zone")["pop"].sum()
    out["ev_mean_distance_m"] = weighted / reached_pop.where(reached_pop > 0)
    out["ev_white_zone_population"] = (
        frame[~(frame["d"] <= white_zone_m)].groupby("zone")["pop"].sum()
    )
    out["ev_population_unreachable"] = frame[frame["d"].isna()].groupby("zone")["pop"].sum()
    filled = [c for c in out.columns if c != "ev_mean_distance_m" and not c.endswith("_fast")]
    out[filled] = out[filled].fillna(0.0)
    return out


def _shares_within(frame: pd.DataFrame, out: pd.DataFrame, distance_m: float) -> None:
    """Set each zone's share of the population [0–1] within ``distance_m`` [m] of a point
    and of a fast point (empty where undetermined, see :func:`access_by_zone`) on ``out``
    (changed in place); ``frame``: the populated cells (``zone``, ``pop``, distances ``d``,
    ``df``, ``du`` [m])."""
    out[share_column(distance_m)] = (
        frame[frame["d"] <= distance_m].groupby("zone")["pop"].sum() / out["ev_population_grid"]
    )
    fast_share = (
        (frame[frame["df"] <= distance_m].groupby("zone")["pop"].sum() / out["ev_population_grid"])
        .reindex(out.index)
        .fillna(0.0)
    )
    undetermined = (frame["du"] <= distance_m) & ~(frame["df"] <= distance_m)
    unknown_zones = frame.loc[undetermined, "zone"].unique()
    out[share_column(distance_m, fast=True)] = fast_share.where(~out.index.isin(unknown_zones))
