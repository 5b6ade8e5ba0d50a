"""Cleaning of public charging points (IRVE) with QA flags — never a silent drop.

Two layouts are read: the consolidated "IRVE statique" schema v2 (one row per charging
point, ``coordonneesXY`` = ``"[lon, lat]"``, ``puissance_nominale``) and station-level files
(one row per station with ``nbre_pdc`` points, ``Xlongitude`` / ``Ylatitude``). Known
defects are repaired or flagged in ``qa_flags`` (semicolon-separated):

``coordinates_unparseable``, ``lat_lon_swapped``, ``connector_rows_merged``,
``duplicate_point_id``, ``power_in_watts``, ``power_unknown``, ``power_implausible``,
``station_points_implausible``, ``outside_territory``, ``declared_code_differs``,
``declared_code_unknown``.

A flagged power that cannot be trusted is set to unknown (NaN): it is counted in no kW sum.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon.communes import normalise_codes
from geocarbon.errors import InputError
from geocarbon.notices import Notice

POINT_COLUMNS = [
    "point_id",
    "station_id",
    "declared_commune_code",
    "power_kw",
    "qa_flags",
    "lon",
    "lat",
]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

#: Largest plausible power of one public charging point [kW]. The most powerful car chargers
#: deliver 350-400 kW (up to about 1,000 kW announced); above 1,000 kW a value is an error
#: (after values above 1,000 were read as watts): flagged ``power_implausible``, power unknown.
MAX_POINT_POWER_KW = 1_000.0

#: Largest plausible number of points of one station (``nbre_pdc``); the largest car parks
#: hold a few hundred. Above it (or not a finite number) the station counts as one point,
#: flagged ``station_points_implausible``.
MAX_POINTS_PER_STATION = 1_000


def _flag(flags: np.ndarray, where: np.ndarray, name: str) -> None:
    for i in np.flatnonzero(where):
        flags[i] = f"{flags[i]};{name}" if flags[i] else name


def parse_xy(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes from ``"[lon, lat]"`` strings (NaN when unparseable)."""
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    for i, v in enumerate(values.astype("string").fillna("")):
        nums = _NUMBER.findall(str(v))
        if len(nums) == 2:
            lon[i], lat[i] = float(nums[0]), float(nums[1])
    return lon, lat


def points_from_irve(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Charging points from a consolidated IRVE statique (schema v2) table.

    Raises
    ------
    InputError
        Empty table, or missing id / coordinates / power columns.
    """
    if len(table) == 0:
        msg = f"charging points: {source} is empty"
        raise InputError(msg)
    required = ["id_pdc_itinerance", "coordonneesXY", "puissance_nominale"]
    missing = [c for c in required if c not in table.columns]
    if missing:
        msg = (
            f"charging points: {source} has no column {', '.join(map(repr, missing))} (IRVE statique v2 "
            f"layout expected); columns: {', '.join(map(str, table.columns[:20]))}"
        )
        raise InputError(msg)
    lon, lat = parse_xy(table["coordonneesXY"])
    power = pd.to_numeric(
        table["puissance_nominale"].astype("string").str.replace(",", "."), errors="coerce"
    )
    station = (
        table["id_station_itinerance"]
        if "id_station_itinerance" in table.columns
        else table["id_pdc_itinerance"]
    )
    declared = (
        normalise_codes(table["code_insee_commune"])
        if "code_insee_commune" in table.columns
        else pd.Series([None] * len(table))
    )
    return pd.DataFrame(
        {
            "point_id": table["id_pdc_itinerance"].astype("string").fillna("").to_numpy(),
            "station_id": station.astype("string").fillna("").to_numpy(),
            "declared_commune_code": declared.to_numpy(),
            "power_kw": power.to_numpy(dtype=float),
            "qa_flags": np.full(len(table), "", dtype=object),
            "lon": lon,
            "lat": lat,
        }
    )


def points_from_stations(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Charging points from a station-level layout (``nbre_pdc`` points per station).

    Power is unknown in this layout unless a ``puissance_nominale`` column exists.
    """
    if len(frame) == 0:
        msg = f"charging points: {source} is empty"
        raise InputError(msg)
    for col in ("nbre_pdc", "id_station_itinerance"):
        if col not in frame.columns:
            msg = f"charging points: {source} has no column {col!r} (station layout expected)"
            raise InputError(msg)
    declared_n = pd.to_numeric(frame["nbre_pdc"], errors="coerce").to_numpy(dtype=float)
    implausible_n = ~np.isfinite(declared_n) & ~np.isnan(declared_n)
    implausible_n |= declared_n > MAX_POINTS_PER_STATION
    n = np.where(implausible_n | np.isnan(declared_n), 1.0, np.clip(declared_n, 1, None))
    n = n.astype(np.int64)
    if "Xlongitude" in frame.columns and "Ylatitude" in frame.columns:
        lon = pd.to_numeric(frame["Xlongitude"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(frame["Ylatitude"], errors="coerce").to_numpy(dtype=float)
    elif isinstance(frame, gpd.GeoDataFrame):
        geo = frame.to_crs("EPSG:4326").geometry
        lon, lat = geo.x.to_numpy(), geo.y.to_numpy()
    else:
        msg = f"charging points: {source} has no coordinates (Xlongitude / Ylatitude or a geometry)"
        raise InputError(msg)
    power = (
        pd.to_numeric(frame["puissance_nominale"], errors="coerce").to_numpy(dtype=float)
        if "puissance_nominale" in frame.columns
        else np.full(len(frame), np.nan)
    )
    station = frame["id_station_itinerance"].astype("string").fillna("").to_numpy()
    declared = (
        normalise_codes(frame["code_insee_commune"])
        if "code_insee_commune" in frame.columns
        else pd.Series([None] * len(frame))
    )
    rep = np.repeat(np.arange(len(frame)), n)
    rank = np.concatenate([np.arange(1, k + 1) for k in n])
    flags = np.where(implausible_n, "station_points_implausible", "").astype(object)
    return pd.DataFrame(
        {
            "point_id": [f"{station[i]}#{r}" for i, r in zip(rep, rank, strict=True)],
            "station_id": station[rep],
            "declared_commune_code": declared.to_numpy()[rep],
            "power_kw": power[rep],
            "qa_flags": flags[rep],
            "lon": lon[rep],
            "lat": lat[rep],
        }
    )


def clean_power_kw(power_kw: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Repair or set aside implausible powers of charging points.

    Values above 1,000 are read as watts (divided by 1,000, flag ``power_in_watts``); a
    negative, infinite or still larger value than :data:`MAX_POINT_POWER_KW` is flagged
    ``power_implausible``; zero and missing values ``power_unknown``. Flagged values other
    than watts become NaN (unknown): they enter no kW sum.

    Parameters
    ----------
    power_kw : ndarray
        Declared power of each point [kW].

    Returns
    -------
    power_kw : ndarray
        Cleaned power [kW], NaN where unknown.
    flags : dict of str to ndarray
        Boolean mask of the points given each flag.
    """
    power = np.asarray(power_kw, dtype=float).copy()
    with np.errstate(invalid="ignore"):
        implausible = (power < 0) | np.isinf(power)
        watts = (power > 1000) & ~implausible
        power[watts] = power[watts] / 1000.0
        implausible |= power > MAX_POINT_POWER_KW
        unknown = np.isnan(power) | (power == 0)
    power[implausible | unknown] = np.nan
    return power, {
        "power_in_watts": watts & ~implausible,
        "power_implausible": implausible,
        "power_unknown": unknown,
    }


def clean_points(
    points: pd.DataFrame, communes: gpd.GeoDataFrame, known_codes: set[str] | None = None
) -> gpd.GeoDataFrame:
    """Repair and flag known defects; locate each point in its commune.

    Parameters
    ----------
    points : DataFrame
        :data:`POINT_COLUMNS`.
    communes : GeoDataFrame
        ``commune_code`` and polygons of the territory.
    known_codes : set, optional
        Commune codes known to exist (the territory's, plus a national list when one is
        given); a declared code outside them is flagged ``declared_code_unknown``: a postal
        code written in the INSEE field, or, with the territory's codes only, a commune
        elsewhere.

    Returns
    -------
    GeoDataFrame
        One row per point (connector rows of one point merged) in EPSG:4326, with
        ``commune_code`` by location (empty when outside the territory) beside
        ``declared_commune_code``, and ``qa_flags``.
    """
    pts = points.reset_index(drop=True).copy()
    flags = pts["qa_flags"].to_numpy(dtype=object).copy()
    lon, lat = pts["lon"].to_numpy(dtype=float).copy(), pts["lat"].to_numpy(dtype=float).copy()
    _flag(flags, np.isnan(lon) | np.isnan(lat), "coordinates_unparseable")
    # one row per connector type of the same point: merge rows with the same id and place
    key = pd.DataFrame({"id": pts["point_id"], "lon": np.round(lon, 6), "lat": np.round(lat, 6)})
    dup_rows = key.duplicated(keep="first").to_numpy() & (pts["point_id"] != "").to_numpy()
    merged_into = (
        key.duplicated(keep=False).to_numpy() & ~dup_rows & (pts["point_id"] != "").to_numpy()
    )
    _flag(flags, merged_into, "connector_rows_merged")
    # the same id at different places
    same_id = (
        pts["point_id"].duplicated(keep=False).to_numpy()
        & (pts["point_id"] != "").to_numpy()
        & ~dup_rows
        & ~merged_into
    )
    _flag(flags, same_id, "duplicate_point_id")
    power = pts["power_kw"].to_numpy(dtype=float).copy()
    power, flagged = clean_power_kw(power)
    for name, where in flagged.items():
        _flag(flags, where, name)
    # latitude and longitude swapped: put them back when the swapped point is in the territory
    territory = shapely.union_all(np.asarray(communes.to_crs("EPSG:4326").geometry.values))
    ok = ~np.isnan(lon) & ~np.isnan(lat)
    inside = np.zeros(len(pts), dtype=bool)
    inside[ok] = shapely.contains_xy(territory, lon[ok], lat[ok])
    swapped = np.zeros(len(pts), dtype=bool)
    swapped[ok & ~inside] = shapely.contains_xy(territory, lat[ok & ~inside], lon[ok & ~inside])
    lon[swapped], lat[swapped] = lat[swapped].copy(), lon[swapped].copy()
    _flag(flags, swapped, "lat_lon_swapped")
    geom = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    geom[~ok] = None
    located = np.full(len(pts), "", dtype=object)
    where = communes.to_crs("EPSG:4326")
    tree = shapely.STRtree(np.asarray(where.geometry.values))
    idx_p, idx_c = tree.query(np.asarray(geom.values), predicate="within")
    located[idx_p] = where["commune_code"].to_numpy()[idx_c]
    _flag(flags, ok & (located == ""), "outside_territory")
    declared = pts["declared_commune_code"].to_numpy(dtype=object)
    has_declared = np.array([d is not None and d == d and str(d) != "" for d in declared])
    differs = has_declared & (located != "") & (declared != located)
    _flag(flags, differs, "declared_code_differs")
    if known_codes is not None:
        unknown = has_declared & ~np.isin(declared.astype(str), list(known_codes))
        _flag(flags, unknown, "declared_code_unknown")
    out = gpd.GeoDataFrame(
        {
            "point_id": pts["point_id"].to_numpy(),
            "station_id": pts["station_id"].to_numpy(),
            "commune_code": located,
            "declared_commune_code": np.where(has_declared, declared, ""),
            "power_kw": power,
            "qa_flags": flags,
        },
        geometry=geom.to_numpy(),
        crs="EPSG:4326",
    )
    return out[~dup_rows].reset_index(drop=True)


#: Most vehicles of one kind registered in one commune (Paris registers about 550,000 cars
#: of every kind): above it a count is not a fleet.
MAX_FLEET_PER_COMMUNE = 2_000_000


def fleet_counts(table: pd.DataFrame, field: str, source: str) -> pd.Series:
    """Vehicle counts of an EV fleet column, checked (index of ``table``: commune codes).

    Empty cells are no data (NaN). Text that is not a number, negative, infinite counts or
    counts above :data:`MAX_FLEET_PER_COMMUNE` are refused: the table is corrupt, and a
    count cannot be guessed.

    Raises
    ------
    InputError
        Names the file, the column, the communes and the values.
    """
    text = table[field]
    counts = pd.to_numeric(text, errors="coerce").astype(float)
    with np.errstate(invalid="ignore"):
        bad = (
            (counts.isna() & text.notna())
            | np.isinf(counts)
            | (counts < 0)
            | (counts > MAX_FLEET_PER_COMMUNE)
        )
    if bad.any():
        items = ", ".join(f"{code}: {value!r}" for code, value in text[bad].head(5).items())
        more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
        msg = (
            f"EV fleet: {source}, column {field!r}: counts must be numbers of vehicles, from 0 to "
            f"{MAX_FLEET_PER_COMMUNE:,} per commune; communes {items}{more}. Fix these cells "
            "(leave a cell empty when unknown)"
        )
        raise InputError(msg)
    return counts


#: Highest plausible population density [inhabitants/km²] of a grid cell (the densest
#: districts of Paris hold about 40,000/km²): above it a cell value is not a population.
MAX_DENSITY_PER_KM2 = 100_000.0
#: The ceiling per cell is never below this [inhabitants] (grids of tiny cells).
MIN_CELL_CEILING = 1_000.0


def population_cell_mask(
    values: np.ndarray, source: str, cell_km2: float | None = None
) -> tuple[np.ndarray, list[Notice]]:
    """Which population cells hold a usable count; the others are treated as no data.

    A negative or infinite population is not a count (often an undeclared nodata code such
    as -200 or -9999), nor is a cell denser than :data:`MAX_DENSITY_PER_KM2` (e.g. 1e38, a
    float nodata; the ceiling is at least :data:`MIN_CELL_CEILING` per cell): such cells are
    treated as no data, with a notice, instead of being computed with.

    Parameters
    ----------
    values : ndarray
        Population of each cell [inhabitants] (NaN = no data already).
    source : str
        The raster's file, for the notice.
    cell_km2 : float, optional
        Area of a cell [km²]; without it, no density ceiling is applied.

    Returns
    -------
    ndarray of bool
        True for cells kept (finite, zero or more, not denser than the ceiling).
    list of Notice
        One notice counting the cells treated as no data, with their values.
    """
    vals = np.asarray(values, dtype=float)
    ceiling = max(MAX_DENSITY_PER_KM2 * cell_km2, MIN_CELL_CEILING) if cell_km2 else np.inf
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(vals) & (vals >= 0) & (vals <= ceiling)
    bad = ~keep & ~np.isnan(vals)
    if not bad.any():
        return keep, []
    found = np.unique(vals[bad])
    limit = (
        f", or above {ceiling:,.0f} per cell ({MAX_DENSITY_PER_KM2:,.0f}/km²)" if cell_km2 else ""
    )
    return keep, [
        Notice(
            "population_cells_invalid",
            f"population raster {source}: {int(bad.sum())} cells hold negative, infinite{limit} "
            "values (not a population; an undeclared nodata code?): treated as no data. Declare "
            "the raster's nodata value (gdal_edit.py -a_nodata) to silence this",
            [f"{v:g}" for v in found[:10]],
        )
    ]
