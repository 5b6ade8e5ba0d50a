"""Hedges: length per commune and land-use category, biomass stock and its change (ADEME ALDO).

CLC cannot see hedges; ALDO (since 2023) adds them as an extra biomass pool on top of the
land-use category under them (their soil is already counted in that category):

* **length** per commune = the exact length of the hedge lines clipped to the commune (lines
  split at commune borders), measured in a projected CRS (never in degrees);
* **length per category**: every clipped line is cut into segments of at most ``step_m``
  metres; each segment takes the land-use category at its midpoint, and a category's
  length is the sum of its segments' lengths (the sampling only decides the category: the
  lengths add up exactly to the clipped length; where the land use changes along a hedge,
  the split between the two categories is within one segment of the true one);
* **stock** [tC] = length [km] × carbon per km of the commune's département
  (``carbone-haies.csv``: ``C_tot_km`` above + below ground, ``C_aerien_km`` above ground;
  :data:`DEFAULT_C_TOT_KM` for a département without a value, as ALDO documents), counted on
  agricultural land (:data:`AGRICULTURAL_CATEGORIES`) only: under forest, wooded land or
  artificial land the trees of a hedge are already in that category's biomass or not
  agricultural hedges; that length is reported apart, with no stock;
* **flow** between two dates [tCO2e/yr] = length change [km] / period [yr] × C_tot_km × 44/12:
  a loss counts at once; a gain is, as ALDO's other non-forest biomass gains, a yearly
  rate (C/km ÷ 20) applied for 20 years to every km planted, i.e. the km planted per year ×
  C/km in the annual flow of the period (the same accounting as the non-forest biomass gains
  of :mod:`geocarbon.carbon.flows`). PCAET category: agricultural soils (Sols agricoles).

The pool is named ``hedges`` in the outputs (ALDO's "Biomasse haies").
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon.carbon.categories import AGRICULTURAL_CATEGORIES
from geocarbon.carbon.stocks import HEDGE_POOL
from geocarbon.errors import CoefficientError

#: tCO2 per tC.
C_TO_CO2 = 44.0 / 12.0
#: Carbon per km of hedge (above + below ground) for a département without a value in
#: ``carbone-haies.csv``, and in runs with generic coefficients [tC/km] (ALDO's documentation).
DEFAULT_C_TOT_KM = 101.0
#: Category of a hedge segment whose midpoint has no valid land cover.
NO_LANDCOVER = "no_landcover"
#: Longest segment given one land-use category [m] (the land cover's pixel is 25-100 m).
SEGMENT_M = 10.0


def clip_to_communes(lines: gpd.GeoSeries, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The hedge lines split at commune borders.

    Parameters
    ----------
    lines : GeoSeries
        Hedge lines in a projected CRS (metres).
    communes : GeoDataFrame
        ``commune_code`` and polygons, in the same CRS.

    Returns
    -------
    GeoDataFrame
        One row per line and commune it crosses: ``line`` (position in ``lines``),
        ``commune_code``, ``length_m`` [m] of the part inside the commune, geometry.
    """
    line_geoms = np.asarray(lines.geometry.to_numpy())
    zone_geoms = np.asarray(communes.geometry.to_numpy())
    tree = shapely.STRtree(zone_geoms)
    li, zi = tree.query(line_geoms, predicate="intersects")
    parts = shapely.intersection(line_geoms[li], zone_geoms[zi])
    order = np.lexsort((zi, li))
    li, zi, parts = li[order], zi[order], _once_on_borders(li[order], parts[order])
    keep = shapely.length(parts) > 0
    out = gpd.GeoDataFrame(
        {
            "line": li[keep],
            "commune_code": communes["commune_code"].to_numpy()[zi[keep]],
            "length_m": shapely.length(parts[keep]),
        },
        geometry=parts[keep],
        crs=communes.crs,
    )
    return out.sort_values(["line", "commune_code"], kind="stable").reset_index(drop=True)


def _once_on_borders(line: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """The parts of each line (sorted by line) without what an earlier part of the same line
    already holds: a stretch of hedge running along a commune border belongs to both
    polygons; it is counted once, in the first commune (in the communes' order)."""
    out = parts.copy()
    for i in range(1, len(parts)):
        j = i - 1
        while j >= 0 and line[j] == line[i]:
            if shapely.length(shapely.intersection(out[i], out[j])) > 0:
                out[i] = shapely.difference(out[i], out[j])
            j -= 1
    return out


def segments(pieces: gpd.GeoDataFrame, step_m: float = SEGMENT_M) -> pd.DataFrame:
    """Cut lines into segments of at most ``step_m`` metres.

    Parameters
    ----------
    pieces : GeoDataFrame
        Lines (or multi-lines) in a projected CRS.
    step_m : float
        Longest segment [m].

    Returns
    -------
    DataFrame
        One row per segment: ``piece`` (row position in ``pieces``), ``x``, ``y`` of its
        midpoint, ``length_m`` [m]. The lengths of a piece's segments add up to its length.
    """
    dense = shapely.segmentize(np.asarray(pieces.geometry.to_numpy()), step_m)
    parts, owner = shapely.get_parts(dense, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    return pd.DataFrame(
        {
            "piece": owner[part[1:][same]],
            "x": (start[:, 0] + end[:, 0]) / 2.0,
            "y": (start[:, 1] + end[:, 1]) / 2.0,
            "length_m": np.hypot(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]),
        }
    )


def length_by_category(
    pieces: pd.DataFrame, segs: pd.DataFrame, category: np.ndarray
) -> pd.DataFrame:
    """Hedge length per commune and land-use category.

    Parameters
    ----------
    pieces : DataFrame
        :func:`clip_to_communes` (``commune_code``).
    segs : DataFrame
        :func:`segments` of ``pieces``.
    category : ndarray of str
        The land-use category at each segment's midpoint (:data:`NO_LANDCOVER` where none).

    Returns
    -------
    DataFrame
        ``commune_code``, ``category``, ``length_km`` [km], sorted.
    """
    frame = pd.DataFrame(
        {
            "commune_code": pieces["commune_code"].to_numpy()[segs["piece"].to_numpy()],
            "category": category,
            "length_km": segs["length_m"].to_numpy() / 1000.0,
        }
    )
    out = frame.groupby(["commune_code", "category"])["length_km"].sum().reset_index()
    return out.sort_values(["commune_code", "category"], kind="stable").reset_index(drop=True)


def carbon_per_km(
    communes: pd.Series, departements: pd.Series, table: pd.DataFrame | None
) -> pd.DataFrame:
    """Carbon per km of hedge for each commune, by its département.

    Parameters
    ----------
    communes : Series
        Commune codes.
    departements : Series
        Their départements (same order).
    table : DataFrame or None
        ``carbone-haies.csv``: ``dep``, ``C_aerien_km``, ``C_tot_km`` [tC/km]; None: generic
        coefficients (:data:`DEFAULT_C_TOT_KM` everywhere).

    Returns
    -------
    DataFrame
        ``commune_code``, ``c_tot_tc_per_km``, ``c_aerial_tc_per_km`` (NaN where the table
        gives no value: the default is a total only), ``c_source``.
    """
    dep = departements.astype(str).str.lstrip("0").to_numpy()
    tot = np.full(len(dep), np.nan)
    aerial = np.full(len(dep), np.nan)
    if table is not None:
        values = table.assign(dep=table["dep"].astype(str).str.strip().str.lstrip("0"))
        values = values.drop_duplicates("dep").set_index("dep")
        for column in ("C_aerien_km", "C_tot_km"):
            number = pd.to_numeric(values[column], errors="coerce")
            if ((number <= 0) | (number > 1000)).any():
                msg = f"ALDO tables: carbone-haies.csv, {column} out of 0-1000 tC/km; restore the published file"
                raise CoefficientError(msg)
            values[column] = number
        tot = values["C_tot_km"].reindex(dep).to_numpy(dtype=float)
        aerial = values["C_aerien_km"].reindex(dep).to_numpy(dtype=float)
    given = ~np.isnan(tot)
    source = np.where(
        given,
        "carbone-haies.csv (ALDO), département " + departements.astype(str).to_numpy(),
        f"default {DEFAULT_C_TOT_KM:g} tC/km (ALDO's value for départements without a study)",
    )
    return pd.DataFrame(
        {
            "commune_code": communes.to_numpy(),
            "c_tot_tc_per_km": np.where(given, tot, DEFAULT_C_TOT_KM),
            "c_aerial_tc_per_km": aerial,
            "c_source": source,
        }
    )


def hedge_stocks(lengths: pd.DataFrame, per_km: pd.DataFrame) -> pd.DataFrame:
    """Hedge stock rows (pool ``hedges``) on agricultural land.

    Parameters
    ----------
    lengths : DataFrame
        :func:`length_by_category`.
    per_km : DataFrame
        :func:`carbon_per_km`.

    Returns
    -------
    DataFrame
        ``commune_code``, ``category``, ``pool`` (``hedges``), ``area_ha`` (NaN: a hedge
        has a length, not an area), ``ref_stock_tc_per_ha`` (NaN), ``stock_tc`` = length_km ×
        c_tot_tc_per_km, ``length_km``, ``ref_stock_tc_per_km``, ``stock_aerial_tc``,
        ``coefficient_source``.
    """
    agri = lengths[lengths["category"].isin(AGRICULTURAL_CATEGORIES)]
    merged = agri.merge(per_km, on="commune_code", how="left")
    return pd.DataFrame(
        {
            "commune_code": merged["commune_code"],
            "category": merged["category"],
            "pool": HEDGE_POOL,
            "area_ha": np.nan,
            "ref_stock_tc_per_ha": np.nan,
            "stock_tc": merged["length_km"] * merged["c_tot_tc_per_km"],
            "length_km": merged["length_km"],
            "ref_stock_tc_per_km": merged["c_tot_tc_per_km"],
            "stock_aerial_tc": merged["length_km"] * merged["c_aerial_tc_per_km"],
            "coefficient_source": merged["c_source"],
        }
    ).reset_index(drop=True)


def agricultural_km(lengths: pd.DataFrame) -> pd.Series:
    """Hedge length on agricultural land per commune [km] (index = commune code)."""
    agri = lengths[lengths["category"].isin(AGRICULTURAL_CATEGORIES)]
    return agri.groupby("commune_code")["length_km"].sum()


def hedge_flows(
    before_km: pd.Series, after_km: pd.Series, per_km: pd.DataFrame, years: int
) -> pd.DataFrame:
    """Flow of the change of hedge length on agricultural land between two dates.

    Parameters
    ----------
    before_km, after_km : Series
        Length on agricultural land per commune [km] at the start and end dates (index =
        commune code; a commune absent has none).
    per_km : DataFrame
        :func:`carbon_per_km` (every commune of the run).
    years : int
        Length of the period [years].

    Returns
    -------
    DataFrame
        One row per commune with hedges at either date: ``commune_code``, ``flow_kind`` and
        ``pool`` (``hedges``), empty ``from_category``/``to_category``, ``area_ha_per_yr`` and
        ``unit_tc_per_ha`` (NaN), ``flow_tco2e_per_yr`` = (after − before) / years ×
        c_tot_tc_per_km × 44/12 (positive = sequestration), ``pcaet_category``
        (``agricultural_soils``), ``length_km_per_yr``, ``unit_tc_per_km``.
    """
    codes = sorted(set(before_km.index) | set(after_km.index))
    change = after_km.reindex(codes).fillna(0.0) - before_km.reindex(codes).fillna(0.0)
    rate = per_km.set_index("commune_code")["c_tot_tc_per_km"].reindex(codes)
    km_per_yr = (change / years).to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "commune_code": codes,
            "flow_kind": HEDGE_POOL,
            "pool": HEDGE_POOL,
            "from_category": "",
            "to_category": "",
            "area_ha_per_yr": np.nan,
            "unit_tc_per_ha": np.nan,
            "flow_tco2e_per_yr": km_per_yr * rate.to_numpy(dtype=float) * C_TO_CO2,
            "pcaet_category": "agricultural_soils",
            "length_km_per_yr": km_per_yr,
            "unit_tc_per_km": rate.to_numpy(dtype=float),
        }
    )
