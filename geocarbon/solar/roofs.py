"""Roof model: roof form, usable area, peak power, exclusions and flags (pure functions).

Each building gets a roof form (``flat`` when the roof altitude range is below a
threshold, ``pitched`` above, ``unknown`` without roof altitudes), a usable area
(footprint × usable share of its roof form, reduced for small roofs; none below the
minimum usable area), a peak power (usable area × module power per m²) and the specific
yield of its roof form. Buildings not kept carry an ``excluded_reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


class RoofParameters(Protocol):
    """What the roof model needs of the PV parameters (``pv.parameters`` of a pipeline, or
    any object with these attributes, read only)."""

    @property
    def flat_roof_max_range_m(self) -> float:
        """Largest roof height range [m] of a flat roof."""

    @property
    def usable_share(self) -> Mapping[Any, float]:
        """Usable share of the footprint by roof form (``flat``, ``pitched``, ``unknown``)."""

    @property
    def small_roof_m2(self) -> float:
        """Footprints below this [m²] keep only ``small_roof_factor`` of their usable area."""

    @property
    def small_roof_factor(self) -> float:
        """Share kept on small roofs."""

    @property
    def min_usable_m2(self) -> float:
        """Roofs with less usable area [m²] carry no panels."""

    @property
    def kwp_per_m2(self) -> float:
        """Installed power per usable area [kWp/m²]."""

    @property
    def large_roof_m2(self) -> float:
        """Usable areas from this [m²] count as large roofs."""


def roof_form(roof_range_m: np.ndarray, flat_max_range_m: float) -> np.ndarray:
    """``flat`` / ``pitched`` / ``unknown`` (NaN range) from the roof altitude range [m]."""
    rng = np.asarray(roof_range_m, dtype=float)
    out = np.where(rng <= flat_max_range_m, "flat", "pitched").astype(object)
    out[np.isnan(rng)] = "unknown"
    return out


def usable_area_m2(
    footprint_m2: np.ndarray, roof: np.ndarray, params: RoofParameters
) -> np.ndarray:
    """Usable roof area [m²]: footprint × share of the roof form (× the small-roof factor
    below ``small_roof_m2``). Below ``min_usable_m2`` the area is kept as computed; the
    building then carries no panels (:func:`roof_potential` gives the reason)."""
    footprint = np.asarray(footprint_m2, dtype=float)
    share = pd.Series(roof).map(params.usable_share).to_numpy(dtype=float)
    usable = footprint * share
    return np.where(footprint < params.small_roof_m2, usable * params.small_roof_factor, usable)


def within(points: gpd.GeoSeries, zones: gpd.GeoDataFrame) -> np.ndarray:
    """Index of the zone containing each point (-1 = none; the first zone wins)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(zones) == 0 or len(points) == 0:
        return out
    tree = shapely.STRtree(np.asarray(zones.geometry.values))
    pt_idx, zone_idx = tree.query(np.asarray(points.values), predicate="within")
    if len(pt_idx) == 0:  # no point in any zone
        return out
    order = np.lexsort((zone_idx, pt_idx))
    pt_idx, zone_idx = pt_idx[order], zone_idx[order]
    first = np.r_[True, pt_idx[1:] != pt_idx[:-1]]
    out[pt_idx[first]] = zone_idx[first]
    return out


def buildings_cover(footprints: np.ndarray, max_footprint_m2: float) -> shapely.Geometry:
    """What the building data cover: the convex hull of every building footprint.

    A buildings layer says nothing of where it stops: its convex hull is taken as the area
    it covers (a commune inside it is assumed to have all its buildings in the data; one
    outside it has no building data). A layer cut to a district covers the district's hull
    only; a layer of a whole département covers (nearly) every commune of it. Footprints
    without geometry or larger than ``max_footprint_m2`` (data errors, see
    ``excluded_reason``) are left out.

    Parameters
    ----------
    footprints : ndarray of shapely geometries
        Building footprints in an equal-area CRS [m].
    max_footprint_m2 : float
        Largest plausible footprint [m²].

    Returns
    -------
    shapely geometry
        The hull (an empty polygon when no footprint is usable).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> buildings_cover(np.array([box(0, 0, 1, 1), box(9, 0, 10, 1)]), 1e6).area
    10.0
    """
    geoms = np.asarray(footprints, dtype=object)
    usable = ~shapely.is_missing(geoms)
    usable[usable] = ~shapely.is_empty(geoms[usable]) & (
        shapely.area(geoms[usable]) <= max_footprint_m2
    )
    coords = shapely.get_coordinates(geoms[usable])
    if not len(coords):
        return shapely.Polygon()
    return shapely.convex_hull(shapely.multipoints(coords))


def installation_buildings(buildings: np.ndarray, installations: np.ndarray) -> np.ndarray:
    """The one building each existing installation belongs to, so that its power is
    counted once.

    An installation polygon belongs to the building holding the largest part of it
    (intersection area in the geometries' CRS, which must be equal-area or projected);
    a point (or an installation with no area) to the building it lies in or touches. Ties
    go to the first building.

    Parameters
    ----------
    buildings : ndarray of shapely geometries
        Building footprints (missing or empty geometries belong to nothing).
    installations : ndarray of shapely geometries
        Existing installations (polygons or points), in the same CRS.

    Returns
    -------
    ndarray of int
        Index of the building of each installation; -1 when it touches no building.
    """
    out = np.full(len(installations), -1, dtype=np.int64)
    if len(installations) == 0 or len(buildings) == 0:
        return out
    inst = np.asarray(installations, dtype=object).copy()
    fix = ~shapely.is_missing(inst) & ~shapely.is_valid(inst)
    inst[fix] = shapely.make_valid(inst[fix])
    tree = shapely.STRtree(np.asarray(buildings, dtype=object))
    inst_idx, bld_idx = tree.query(inst, predicate="intersects")
    if len(inst_idx) == 0:
        return out
    part_m2 = shapely.area(shapely.intersection(inst[inst_idx], tree.geometries[bld_idx]))
    # polygons need a shared area; points and lines (no area) their contact
    keep = (part_m2 > 0) | (shapely.area(inst[inst_idx]) == 0)
    inst_idx, bld_idx, part_m2 = inst_idx[keep], bld_idx[keep], part_m2[keep]
    order = np.lexsort((bld_idx, -part_m2, inst_idx))
    inst_idx, bld_idx = inst_idx[order], bld_idx[order]
    first = np.r_[True, inst_idx[1:] != inst_idx[:-1]] if len(inst_idx) else np.zeros(0, bool)
    out[inst_idx[first]] = bld_idx[first]
    return out


def roof_potential(
    buildings: gpd.GeoDataFrame, yields_kwh_per_kwp: dict[str, float], params: RoofParameters
) -> gpd.GeoDataFrame:
    """Usable area, peak power and energy of each building.

    Parameters
    ----------
    buildings : GeoDataFrame
        Projected CRS; columns ``roof_range_m``, ``height_m``, ``excluded_reason``
        (empty when kept so far).
    yields_kwh_per_kwp : dict
        Specific yield of each roof form [kWh/kWp].

    Returns
    -------
    GeoDataFrame
        Adds ``footprint_m2``, ``roof_type``, ``usable_m2``, ``kwp``, ``kwh_per_kwp``,
        ``kwh_per_yr``, ``large_roof``; buildings excluded keep their computed usable area
        [m²] and get 0 kWp.
    """
    out = buildings.copy()
    out["footprint_m2"] = out.geometry.area.to_numpy()
    out["roof_type"] = roof_form(
        out["roof_range_m"].to_numpy(dtype=float), params.flat_roof_max_range_m
    )
    usable = usable_area_m2(out["footprint_m2"].to_numpy(), out["roof_type"].to_numpy(), params)
    kept = out["excluded_reason"] == ""
    too_small = kept & ((usable < params.min_usable_m2) | (usable <= 0))
    out.loc[too_small, "excluded_reason"] = f"usable roof area below {params.min_usable_m2:g} m²"
    kept = out["excluded_reason"] == ""
    # every building keeps its computed usable area; only those kept carry panels
    out["usable_m2"] = usable
    out["kwp"] = np.where(kept, usable * params.kwp_per_m2, 0.0)
    out["kwh_per_kwp"] = out["roof_type"].map(yields_kwh_per_kwp).astype(float)
    out["kwh_per_yr"] = out["kwp"] * out["kwh_per_kwp"]
    out["large_roof"] = out["footprint_m2"] > params.large_roof_m2
    return out
