"""Cleaning of public charging points (IRVE) with QA flags — never a silent drop.

Two layouts are read: the consolidated "IRVE statique" schema v2 (one row per charging
point, ``coordonneesXY`` = ``"[lon, lat]"``, ``puissance_nominale``) and station-level files
(one row per station with ``nbre_pdc`` points, ``Xlongitude`` / ``Ylatitude``). Known
defects are repaired or flagged in ``qa_flags`` (semicolon-separated):

``coordinates_unparseable``, ``coordinates_not_degrees``, ``coordinates_columns_differ``,
``lat_lon_swapped``, ``connector_rows_merged``, ``duplicate_point_id``, ``power_in_watts``,
``power_unknown``, ``power_implausible``, ``station_points_invalid``,
``station_points_implausible``, ``outside_territory``, ``declared_code_differs``,
``declared_code_unknown``, ``declared_code_is_postal``, ``station_id_per_point``,
``nbre_pdc_repeated`` (the last two: see :mod:`geocarbon.charging.stations`, which also says
how physical stations are counted).

A flagged power that cannot be trusted is set to unknown (NaN): it is counted in no kW sum.
Numbers written with a decimal comma (``"22,0"``, ``"1,843358"``) are read in both layouts.
Coordinates must be WGS84 degrees (the IRVE schema's): a file whose coordinates mostly cannot
be degrees (projected metres such as Lambert-93) is refused; a few such points are flagged.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon.charging.stations import (
    local_ids,
    physical_stations,
    place_keys,
    repeated_notice,
    repeated_station_points,
    station_id_notice,
    station_id_per_point,
)
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
    "station_local_id",
    "declared_station_points",
]
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

#: Largest plausible power of one public charging point [kW]. The most powerful car chargers
#: deliver 350-400 kW (up to about 1,000 kW announced); above 1,000 kW a value is an error
#: (after values above 1,000 were read as watts): flagged ``power_implausible``, power unknown.
MAX_POINT_POWER_KW = 1_000.0

#: Largest plausible number of points of one station (``nbre_pdc``); the largest car parks
#: hold a few hundred. Above it (or infinite) the station counts as one point, flagged
#: ``station_points_implausible``.
MAX_POINTS_PER_STATION = 1_000

#: Above this share of the points with coordinates, coordinates that cannot be degrees
#: (|lon| > 180 or |lat| > 90, either way round) make the whole file refused: they are
#: projected metres, not a few typing errors.
NOT_DEGREES_REFUSED_SHARE = 0.5

#: Largest difference [degrees] between a station's ``Xlongitude`` / ``Ylatitude`` columns
#: and its point geometry before they are said to disagree (0.001° is about 80-110 m in
#: France): the geometry is used, the station flagged ``coordinates_columns_differ``.
COLUMNS_GEOMETRY_TOLERANCE_DEG = 1e-3

_DECIMAL_COMMA = r"[-+]?\d+,\d+"


def _flag(flags: np.ndarray, where: np.ndarray, name: str) -> None:
    for i in np.flatnonzero(where):
        flags[i] = f"{flags[i]};{name}" if flags[i] else name


def parse_decimal(values: pd.Series) -> np.ndarray:
    """Numbers from the cells of a column; a decimal comma is accepted.

    ``"22,5"`` and ``"22.5"`` both give 22.5; text that is not one number (``"12 points"``,
    ``"1,000,5"``), and empty cells, give NaN.

    Parameters
    ----------
    values : Series
        Cells as text or numbers.

    Returns
    -------
    ndarray of float
        The numbers (NaN where a cell holds none).
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    text = values.astype("string").str.strip()
    comma = text.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
    text = text.where(~comma, text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def coordinates_not_degrees(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which coordinates cannot be longitude / latitude degrees, in either order.

    A pair is not degrees when |lon| > 180 or |lat| > 90 and, read swapped (latitude
    first), |lat| > 180 or |lon| > 90: projected metres such as Lambert-93
    ``[574000, 6390000]``. Swapped degrees are not caught here (see :func:`clean_points`).

    Parameters
    ----------
    lon, lat : ndarray
        Declared longitude and latitude [degrees expected]; NaN = no coordinates.

    Returns
    -------
    ndarray of bool
        True where the pair cannot be degrees (False for NaN).
    """
    x, y = np.abs(np.asarray(lon, dtype=float)), np.abs(np.asarray(lat, dtype=float))
    with np.errstate(invalid="ignore"):
        return ((x > 180) | (y > 90)) & ((y > 180) | (x > 90))


def check_degrees(lon: np.ndarray, lat: np.ndarray, source: str, columns: str) -> None:
    """Refuse a file whose coordinates mostly cannot be WGS84 degrees.

    Parameters
    ----------
    lon, lat : ndarray
        Coordinates read from the file [degrees expected].
    source : str
        The file, for the message.
    columns : str
        Where the coordinates were read, for the message.

    Raises
    ------
    InputError
        More than :data:`NOT_DEGREES_REFUSED_SHARE` of the points with coordinates have
        coordinates that cannot be degrees (see :func:`coordinates_not_degrees`).
    """
    bad = coordinates_not_degrees(lon, lat)
    read = int(
        (~np.isnan(np.asarray(lon, dtype=float)) & ~np.isnan(np.asarray(lat, dtype=float))).sum()
    )
    if read == 0 or bad.sum() <= NOT_DEGREES_REFUSED_SHARE * read:
        return
    i = int(np.flatnonzero(bad)[0])
    msg = (
        f"charging points: {source}: {int(bad.sum())} of the {read} points with coordinates in "
        f"{columns} have values that cannot be longitude/latitude degrees (e.g. "
        f"[{lon[i]:.10g}, {lat[i]:.10g}]): they look like projected metres (e.g. Lambert-93, EPSG:2154). "
        "The IRVE schema wants WGS84 degrees (EPSG:4326), longitude first: convert the "
        "coordinates to EPSG:4326 (e.g. ogr2ogr -s_srs EPSG:2154 -t_srs EPSG:4326), or give a "
        "layer whose point geometry carries its CRS"
    )
    raise InputError(msg)


_XY_DECIMAL_COMMA = re.compile(r"^\s*\[?\s*(-?\d+,\d+)\s*[,;]\s*(-?\d+,\d+)\s*\]?\s*$")


def parse_xy(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes from ``"[lon, lat]"`` strings (NaN when unparseable).

    Decimal commas are accepted when each number has one (``"[1,843358, 44,924358]"``).
    """
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    for i, v in enumerate(values.astype("string").fillna("")):
        nums = _NUMBER.findall(str(v))
        comma = _XY_DECIMAL_COMMA.match(str(v))
        if len(nums) == 2:
            lon[i], lat[i] = float(nums[0]), float(nums[1])
        elif comma:
            lon[i], lat[i] = (float(g.replace(",", ".")) for g in comma.groups())
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
    check_degrees(lon, lat, source, "'coordonneesXY'")
    power = parse_decimal(table["puissance_nominale"])
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
            "power_kw": power,
            "qa_flags": np.full(len(table), "", dtype=object),
            "lon": lon,
            "lat": lat,
            "station_local_id": local_ids(table.get("id_station_local"), len(table)),
            "declared_station_points": (
                parse_decimal(table["nbre_pdc"])
                if "nbre_pdc" in table.columns
                else np.full(len(table), np.nan)
            ),
        }
    )


def station_point_counts(declared: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number of points of each station from its ``nbre_pdc`` cell.

    A whole number from 1 to :data:`MAX_POINTS_PER_STATION` is used as is (a decimal comma
    is accepted). Any other value counts as one point (the station exists, its number of
    points is not known): an empty cell, text (``"12 points"``), 0, a negative or fractional
    number (2.7) are ``invalid``; an infinite number or one above the ceiling is
    ``implausible``.

    Parameters
    ----------
    declared : Series
        ``nbre_pdc`` cells (text or numbers).

    Returns
    -------
    points : ndarray of int
        Points counted for each station.
    invalid, implausible : ndarray of bool
        Stations counted as one point, by reason.
    """
    values = parse_decimal(declared)
    with np.errstate(invalid="ignore"):
        implausible = np.isinf(values) | (values > MAX_POINTS_PER_STATION)
        valid = np.isfinite(values) & (values >= 1) & (values == np.floor(values)) & ~implausible
    invalid = ~valid & ~implausible
    points = np.where(valid, np.nan_to_num(values), 1.0).astype(np.int64)
    return points, invalid, implausible


def station_count_notice(frame: pd.DataFrame, source: str) -> list[Notice]:
    """A notice listing the stations whose ``nbre_pdc`` was not used (see
    :func:`station_point_counts`), with their values; none when every count is usable."""
    _, invalid, implausible = station_point_counts(frame["nbre_pdc"])
    bad = invalid | implausible
    if not bad.any():
        return []
    ids = frame["id_station_itinerance"].astype("string").fillna("").to_numpy()
    cells = frame["nbre_pdc"].astype("string").fillna("").to_numpy()
    return [
        Notice(
            "station_points_invalid",
            f"charging points: {source}: {int(bad.sum())} stations have a 'nbre_pdc' that is not "
            f"a whole number of points from 1 to {MAX_POINTS_PER_STATION:,} (empty, text, 0, "
            "negative, fractional or implausible): each counts as one point, flagged "
            "station_points_invalid (or station_points_implausible above the ceiling); "
            "write the station's number of charging points in 'nbre_pdc'",
            [f"{ids[i]}: {cells[i]!r}" for i in np.flatnonzero(bad)],
            facts={
                "source": str(source),
                "n_stations": int(bad.sum()),
                "max_points": MAX_POINTS_PER_STATION,
            },
        )
    ]


def station_coordinates(
    frame: pd.DataFrame, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude and latitude of each station, from its point geometry when it has one.

    A point geometry (in the layer's own CRS) is used first; the ``Xlongitude`` /
    ``Ylatitude`` columns (decimal comma accepted) only for stations without one. Where both
    exist and differ by more than :data:`COLUMNS_GEOMETRY_TOLERANCE_DEG`, the geometry is used
    and the station flagged ``coordinates_columns_differ``.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        The stations.
    source : str
        The file, for messages.

    Returns
    -------
    lon, lat : ndarray
        Coordinates [degrees, EPSG:4326]; NaN where none could be read.
    differ : ndarray of bool
        Stations whose columns disagree with their geometry.

    Raises
    ------
    InputError
        Neither a geometry nor both columns; or coordinates read from the columns mostly
        not degrees (see :func:`check_degrees`).
    """
    has_columns = "Xlongitude" in frame.columns and "Ylatitude" in frame.columns
    lon, lat, from_geometry = _geometry_lon_lat(frame)
    if not has_columns and not from_geometry.any():
        msg = (
            f"charging points: {source} has no coordinates: give 'Xlongitude' and 'Ylatitude' "
            "columns (WGS84 degrees) or a layer with a point geometry"
        )
        raise InputError(msg)
    differ = np.zeros(len(frame), dtype=bool)
    if has_columns:
        col_lon = parse_decimal(frame["Xlongitude"])
        col_lat = parse_decimal(frame["Ylatitude"])
        use = ~from_geometry
        check_degrees(col_lon[use], col_lat[use], source, "'Xlongitude' / 'Ylatitude'")
        lon[use], lat[use] = col_lon[use], col_lat[use]
        with np.errstate(invalid="ignore"):
            far = (np.abs(col_lon - lon) > COLUMNS_GEOMETRY_TOLERANCE_DEG) | (
                np.abs(col_lat - lat) > COLUMNS_GEOMETRY_TOLERANCE_DEG
            )
        written = ~np.isnan(col_lon) | ~np.isnan(col_lat)
        differ = from_geometry & written & (far | np.isnan(col_lon) | np.isnan(col_lat))
    return lon, lat, differ


def _geometry_lon_lat(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude and latitude [degrees, EPSG:4326] of the stations with a point geometry
    (in a layer with a CRS; NaN for the others), and which stations have one."""
    n = len(frame)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    from_geometry = np.zeros(n, dtype=bool)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        return lon, lat, from_geometry
    geom = np.asarray(frame.geometry.values, dtype=object)
    is_point = np.array(
        [g is not None and not g.is_empty and g.geom_type == "Point" for g in geom], dtype=bool
    )
    if is_point.any():
        wgs = gpd.GeoSeries(geom[is_point], crs=frame.crs).to_crs("EPSG:4326")
        lon[is_point], lat[is_point] = wgs.x.to_numpy(), wgs.y.to_numpy()
        from_geometry = is_point & np.isfinite(lon) & np.isfinite(lat)
        lon[~from_geometry], lat[~from_geometry] = np.nan, np.nan
    return lon, lat, from_geometry


def points_from_stations(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Charging points from a station-level layout (``nbre_pdc`` points per station).

    Coordinates: see :func:`station_coordinates`; points per station: see
    :func:`station_point_counts`, then
    :func:`geocarbon.charging.stations.repeated_station_points` (rows at one place repeating
    its ``nbre_pdc`` are flagged ``nbre_pdc_repeated``). Power is unknown in this layout unless a
    ``puissance_nominale`` column exists (decimal comma accepted, as in the IRVE layout).
    """
    if len(frame) == 0:
        msg = f"charging points: {source} is empty"
        raise InputError(msg)
    for col in ("nbre_pdc", "id_station_itinerance"):
        if col not in frame.columns:
            msg = f"charging points: {source} has no column {col!r} (station layout expected)"
            raise InputError(msg)
    declared_n, invalid_n, implausible_n = station_point_counts(frame["nbre_pdc"])
    lon, lat, differ = station_coordinates(frame, source)
    local = local_ids(frame.get("id_station_local"), len(frame))
    n, repeated = repeated_station_points(
        declared_n, ~(invalid_n | implausible_n), place_keys(lon, lat), local
    )
    power = (
        parse_decimal(frame["puissance_nominale"])
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
    flags = np.full(len(frame), "", dtype=object)
    _flag(flags, invalid_n, "station_points_invalid")
    _flag(flags, implausible_n, "station_points_implausible")
    _flag(flags, differ, "coordinates_columns_differ")
    _flag(flags, repeated, "nbre_pdc_repeated")
    return pd.DataFrame(
        {
            "point_id": [f"{station[i]}#{r}" for i, r in zip(rep, rank, strict=True)],
            "station_id": station[rep],
            "declared_commune_code": declared.to_numpy()[rep],
            "power_kw": power[rep],
            "qa_flags": flags[rep],
            "lon": lon[rep],
            "lat": lat[rep],
            "station_local_id": local[rep],
            "declared_station_points": declared_n[rep].astype(float),
        }
    )


def repeated_count_notice(frame: pd.DataFrame, source: str) -> list[Notice]:
    """The notice of the station rows whose ``nbre_pdc`` repeats their place's (see
    :func:`geocarbon.charging.stations.repeated_station_points`), with the points removed;
    none when no row does. ``frame``: the station table, as for :func:`points_from_stations`."""
    declared, invalid, implausible = station_point_counts(frame["nbre_pdc"])
    lon, lat, _ = station_coordinates(frame, source)
    place = place_keys(lon, lat)
    local = local_ids(frame.get("id_station_local"), len(frame))
    kept, repeated = repeated_station_points(declared, ~(invalid | implausible), place, local)
    ids = frame["id_station_itinerance"].astype("string").fillna("").to_numpy(dtype=object)
    return repeated_notice(declared, kept, repeated, place, ids, source)


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
    points: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    known_codes: set[str] | None = None,
    postal_codes: dict[str, set[str]] | None = None,
) -> gpd.GeoDataFrame:
    """Repair and flag known defects; locate each point in its commune; number the physical
    stations (see :mod:`geocarbon.charging.stations`).

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
    postal_codes : dict, optional
        INSEE code → postal codes of the commune: a declared postal code of the commune where
        the point lies is flagged ``declared_code_is_postal`` (not ``declared_code_differs``).

    Returns
    -------
    GeoDataFrame
        One row per point (connector rows of one point merged) in EPSG:4326: ``commune_code``
        by location (empty outside the territory) beside ``declared_commune_code``,
        ``physical_station`` (number of its physical station), ``qa_flags``.
    """
    pts = points.reset_index(drop=True).copy()
    flags = pts["qa_flags"].to_numpy(dtype=object).copy()
    lon, lat = pts["lon"].to_numpy(dtype=float).copy(), pts["lat"].to_numpy(dtype=float).copy()
    _flag(flags, np.isnan(lon) | np.isnan(lat), "coordinates_unparseable")
    dup_rows = _flag_repeated_rows(pts["point_id"], lon, lat, flags)
    power = _clean_power_and_degrees(pts, lon, lat, flags)
    wgs_communes = communes.to_crs("EPSG:4326")
    ok = ~np.isnan(lon) & ~np.isnan(lat)
    _unswap_lat_lon(lon, lat, ok, wgs_communes, flags)
    geom = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    geom[~ok] = None
    located = _commune_of_points(geom, wgs_communes)
    _flag(flags, ok & (located == ""), "outside_territory")
    declared = pts["declared_commune_code"].to_numpy(dtype=object)
    has_declared = _flag_declared_codes(declared, located, known_codes, flags, postal_codes)
    out = gpd.GeoDataFrame(
        {
            "point_id": pts["point_id"].to_numpy(),
            "station_id": pts["station_id"].to_numpy(),
            "physical_station": _station_numbers(pts, lon, lat, ok, flags),
            "commune_code": located,
            "declared_commune_code": np.where(has_declared, declared, ""),
            "power_kw": power,
            "qa_flags": flags,
        },
        geometry=geom.to_numpy(),
        crs="EPSG:4326",
    )
    return out[~dup_rows].reset_index(drop=True)


def _clean_power_and_degrees(
    pts: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, flags: np.ndarray
) -> np.ndarray:
    """The points' cleaned power [kW] (see :func:`clean_power_kw`); coordinates that cannot
    be degrees (projected metres) set to NaN in ``lon``, ``lat``: located nowhere. Sets
    ``flags`` in place."""
    power, flagged = clean_power_kw(pts["power_kw"].to_numpy(dtype=float))
    for name, where in flagged.items():
        _flag(flags, where, name)
    not_degrees = coordinates_not_degrees(lon, lat)
    _flag(flags, not_degrees, "coordinates_not_degrees")
    lon[not_degrees], lat[not_degrees] = np.nan, np.nan
    return power


def _station_numbers(
    pts: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, ok: np.ndarray, flags: np.ndarray
) -> np.ndarray:
    """Flag the points whose station ids are per point (``station_id_per_point``) and
    number each point's physical station (see :mod:`geocarbon.charging.stations`); ``lon``,
    ``lat`` [degrees]: the points' repaired coordinates, ``ok`` where they have some."""
    n = len(pts)
    place = place_keys(np.where(ok, lon, np.nan), np.where(ok, lat, np.nan))
    local = (
        pts["station_local_id"].fillna("").to_numpy(dtype=object)
        if "station_local_id" in pts.columns
        else np.full(n, "", dtype=object)
    )
    declared = (
        pts["declared_station_points"].to_numpy(dtype=float)
        if "declared_station_points" in pts.columns
        else np.full(n, np.nan)
    )
    station = pts["station_id"].astype("string").fillna("").to_numpy(dtype=object)
    point = pts["point_id"].astype("string").fillna("").to_numpy(dtype=object)
    # rows of a station file repeating their place's nbre_pdc are flagged so already
    repeated = np.array(["nbre_pdc_repeated" in str(f) for f in flags], dtype=bool)
    per_point = station_id_per_point(point, station, declared, place, local) & ~repeated
    _flag(flags, per_point, "station_id_per_point")
    return physical_stations(station, place, local, per_point | repeated)


def _commune_of_points(geom: gpd.GeoSeries, wgs_communes: gpd.GeoDataFrame) -> np.ndarray:
    """Code of the commune each point lies in (both in EPSG:4326); empty outside every
    commune or without a point."""
    located = np.full(len(geom), "", dtype=object)
    tree = shapely.STRtree(np.asarray(wgs_communes.geometry.values))
    idx_p, idx_c = tree.query(np.asarray(geom.values), predicate="within")
    located[idx_p] = wgs_communes["commune_code"].to_numpy()[idx_c]
    return located


def _flag_declared_codes(
    declared: np.ndarray,
    located: np.ndarray,
    known_codes: set[str] | None,
    flags: np.ndarray,
    postal_codes: dict[str, set[str]] | None = None,
) -> np.ndarray:
    """Flag the points whose declared commune code is a postal code of the commune they lie
    in (``located``, empty outside the territory; with ``postal_codes``:
    ``declared_code_is_postal``), else differs from that commune (``declared_code_differs``)
    or is not a known code (``declared_code_unknown``). Sets ``flags`` in place; returns
    which points declare a code."""
    has_declared = np.array([d is not None and d == d and str(d) != "" for d in declared])
    differs = has_declared & (located != "") & (declared != located)
    postal = np.zeros(len(declared), dtype=bool)
    if postal_codes is not None:
        postal = differs & np.array(
            [
                str(d) in postal_codes.get(str(c), ())
                for d, c in zip(declared, located, strict=True)
            ],
            dtype=bool,
        )
        _flag(flags, postal, "declared_code_is_postal")
    _flag(flags, differs & ~postal, "declared_code_differs")
    if known_codes is not None:
        unknown = has_declared & ~np.isin(declared.astype(str), list(known_codes)) & ~postal
        _flag(flags, unknown, "declared_code_unknown")
    return has_declared


def _flag_repeated_rows(
    point_id: pd.Series, lon: np.ndarray, lat: np.ndarray, flags: np.ndarray
) -> np.ndarray:
    """Rows repeating a point: one row per connector type of the same point (same id and
    place, to 6 decimals of a degree), merged into the first (flagged
    ``connector_rows_merged``); the same id at different places is flagged
    ``duplicate_point_id``. Sets ``flags`` in place; returns the rows to drop."""
    named = (point_id != "").to_numpy()
    key = pd.DataFrame({"id": point_id, "lon": np.round(lon, 6), "lat": np.round(lat, 6)})
    dup_rows = key.duplicated(keep="first").to_numpy() & named
    merged_into = key.duplicated(keep=False).to_numpy() & ~dup_rows & named
    _flag(flags, merged_into, "connector_rows_merged")
    same_id = point_id.duplicated(keep=False).to_numpy() & named & ~dup_rows & ~merged_into
    _flag(flags, same_id, "duplicate_point_id")
    return dup_rows


def _unswap_lat_lon(
    lon: np.ndarray,
    lat: np.ndarray,
    ok: np.ndarray,
    wgs_communes: gpd.GeoDataFrame,
    flags: np.ndarray,
) -> None:
    """Put back latitude and longitude [degrees] written swapped, when the swapped point
    lies in the territory (``wgs_communes``, EPSG:4326) and the point as written does not
    (flag ``lat_lon_swapped``). ``ok``: points with both coordinates. Changes ``lon``,
    ``lat`` and ``flags`` in place."""
    territory = shapely.union_all(np.asarray(wgs_communes.geometry.values))
    inside = np.zeros(len(lon), dtype=bool)
    inside[ok] = shapely.contains_xy(territory, lon[ok], lat[ok])
    swapped = np.zeros(len(lon), dtype=bool)
    swapped[ok & ~inside] = shapely.contains_xy(territory, lat[ok & ~inside], lon[ok & ~inside])
    lon[swapped], lat[swapped] = lat[swapped].copy(), lon[swapped].copy()
    _flag(flags, swapped, "lat_lon_swapped")


def point_notices(points: gpd.GeoDataFrame, source: str) -> list[Notice]:
    """What the cleaning of the charging points set aside, for the run's notices.

    Parameters
    ----------
    points : GeoDataFrame
        Result of :func:`clean_points`.
    source : str
        The file, for messages.

    Returns
    -------
    list of Notice
        ``charging_qa`` (points read, points in the territory, count of each QA flag);
        ``charging_coordinates_not_degrees`` (the points concerned);
        ``charging_coordinates_columns_differ`` (the stations concerned); and
        ``charging_no_point_in_territory`` when points were read but none lies in the
        territory (every commune then counts 0 points).

    Raises
    ------
    InputError
        Points were read but none has usable coordinates.
    """
    flags = pd.Series([f for fl in points["qa_flags"] for f in str(fl).split(";") if f])
    counts = flags.value_counts()
    reasons = [f"{k}: {v}" for k, v in counts.items()]
    n = len(points)
    inside = int((points["commune_code"] != "").sum())
    located = int(points.geometry.notna().sum())
    if n and located == 0:
        msg = (
            f"charging points: {source}: none of the {n} points read has usable coordinates "
            f"({', '.join(reasons)}); the IRVE schema wants WGS84 longitude / latitude "
            "degrees ('coordonneesXY' \"[lon, lat]\", or 'Xlongitude' / 'Ylatitude'): fix "
            "the coordinates"
        )
        raise InputError(msg)
    notices = []
    if len(counts):
        notices.append(
            Notice(
                "charging_qa",
                f"charging points: {source}: {n} points read, {inside} in the territory; QA "
                "flags (see qa_flags of the charging points)",
                reasons,
                facts={"source": str(source), "n_points": n, "n_inside": inside},
            )
        )
    if "coordinates_not_degrees" in counts:
        notices.append(_not_degrees_notice(points, source))
    if "coordinates_columns_differ" in counts:
        notices.append(_columns_differ_notice(points, source))
    if n and inside == 0:
        notices.append(_no_point_inside_notice(points, source, reasons))
    if "station_id_per_point" in counts:
        notices += station_id_notice(points, source)
    return notices


def _not_degrees_notice(points: gpd.GeoDataFrame, source: str) -> Notice:
    """Notice of the points flagged ``coordinates_not_degrees``."""
    bad = points["qa_flags"].astype(str).str.contains("coordinates_not_degrees").to_numpy()
    return Notice(
        "charging_coordinates_not_degrees",
        f"charging points: {source}: {int(bad.sum())} points have coordinates that "
        "cannot be longitude/latitude degrees (projected metres?): they are located in "
        "no commune and counted nowhere; write them in WGS84 degrees",
        points["point_id"].to_numpy()[bad].tolist(),
        facts={"source": str(source), "n_points": int(bad.sum())},
    )


def _columns_differ_notice(points: gpd.GeoDataFrame, source: str) -> Notice:
    """Notice of the stations flagged ``coordinates_columns_differ``."""
    bad = points["qa_flags"].astype(str).str.contains("coordinates_columns_differ")
    stations = pd.unique(points.loc[bad, "station_id"].astype(str))
    return Notice(
        "charging_coordinates_columns_differ",
        f"charging points: {source}: the 'Xlongitude' / 'Ylatitude' columns of "
        f"{len(stations)} stations disagree with their point geometry (by more than "
        f"{COLUMNS_GEOMETRY_TOLERANCE_DEG:g}°): the geometry, in the layer's own CRS, is "
        "used; correct or drop the columns",
        stations.tolist(),
        facts={
            "source": str(source),
            "n_stations": len(stations),
            "tolerance_deg": COLUMNS_GEOMETRY_TOLERANCE_DEG,
        },
    )


def _no_point_inside_notice(points: gpd.GeoDataFrame, source: str, reasons: list[str]) -> Notice:
    """Notice that none of the points read lies in the territory, with the extent of those
    located [degrees] and the QA flag counts (``reasons``)."""
    n = len(points)
    geom = points.geometry[points.geometry.notna()]
    located = len(geom)
    minx, miny, maxx, maxy = (float(v) for v in geom.total_bounds)
    return Notice(
        "charging_no_point_in_territory",
        f"charging points: {source}: none of the {n} points read lies in the "
        f"territory (the {located} located points span longitudes {minx:g} to {maxx:g}, "
        f"latitudes {miny:g} to {maxy:g}): every commune counts 0 points and every "
        "populated cell is a white zone. Check that the file covers the territory",
        reasons,
        facts={
            "source": str(source),
            "n_points": n,
            "n_located": located,
            "min_lon": minx,
            "max_lon": maxx,
            "min_lat": miny,
            "max_lat": maxy,
        },
    )


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
            facts={
                "source": str(source),
                "n_cells": int(bad.sum()),
                "ceiling_per_cell": float(ceiling) if cell_km2 else None,
                "max_density_per_km2": MAX_DENSITY_PER_KM2,
            },
        )
    ]
