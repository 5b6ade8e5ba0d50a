"""Population grid cells as INSEE publishes them: square polygons or INSPIRE cell ids.

INSEE's Filosofi grid comes as square polygons (GeoPackage, Shapefile: EPSG:3035 squares of
200 m or 1 km, population in ``Ind``) or as a CSV with one row per cell and its INSPIRE cell
id (``Idcar_200m``, ``Idcar_1km``, ``IdINSPIRE``: ``CRS3035RES200mN2029800E4252400``, the
EPSG code of the CRS, the cell side in metres, then the northing and the easting of the
cell's south-west corner in metres). Both give each cell's centre and side in the grid's
own projected CRS, with no resampling: every person of the file is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geocarbon.charging.clean import MAX_DENSITY_PER_KM2, MIN_CELL_CEILING
from geocarbon.errors import InputError
from geocarbon.notices import Notice

#: Columns of INSPIRE cell ids, looked for in this order when the pipeline names none
#: (INSEE Filosofi: ``Idcar_200m`` in 200 m files, which also name the enclosing 1 km cell in
#: ``Idcar_1km``; ``Idcar_1km`` in 1 km files; ``IdINSPIRE`` in the 2010 grid; Eurostat's
#: census grid: ``GRD_ID``).
CELL_ID_COLUMNS = ("Idcar_200m", "Idcar_1km", "IdINSPIRE", "GRD_ID")

#: INSPIRE cell id: EPSG code, cell side [m], northing and easting of the south-west corner [m].
CELL_ID = re.compile(r"CRS(\d+)RES(\d+(?:\.\d+)?)mN(-?\d+(?:\.\d+)?)E(-?\d+(?:\.\d+)?)")

#: Largest relative difference between the four sides of a square cell, between its two
#: diagonals, and between the sides of a grid's cells. An EPSG:3035 square reprojected to
#: Lambert-93 stays within it (its diagonals differ by about 0.6 % in the south-west of
#: France); a rectangle of two cells (sides 1:2) or a rhombus of 80° is far beyond.
SQUARE_TOLERANCE = 0.02

#: How many offending rows a message shows.
SHOWN = 5


@dataclass
class GridCells:
    """Cells of a population grid, in the grid's own CRS.

    Attributes
    ----------
    source : str
        The file.
    what : str
        What it is, for messages (``"population raster"``, ``"population grid"``).
    crs : pyproj.CRS
        The grid's CRS.
    xy : ndarray, shape (n, 2)
        Cell centres in ``crs``.
    population : ndarray
        Population of each cell [inhabitants].
    cell_size : float
        Width of a cell in ``crs`` units (the ``cell_size_m`` of the access layer).
    cell_height : float
        Height of a cell in ``crs`` units (a raster's pixels may not be square).
    side_m : float
        Side of a typical cell [m].
    extent : tuple of float
        (left, bottom, right, top) in ``crs``: what the grid covers (a raster's extent, the
        extent of a vector layer or of every cell of a CSV).
    notices : list of Notice
        What reading the grid left out or repaired.
    """

    source: str
    what: str
    crs: CRS
    xy: np.ndarray
    population: np.ndarray
    cell_size: float
    cell_height: float
    side_m: float
    extent: tuple[float, float, float, float]
    notices: list[Notice] = field(default_factory=list)


def find_column(columns: Sequence[str], name: str) -> str | None:
    """The column of ``columns`` named ``name``, else the only one named so in another case
    (INSEE writes ``Ind`` in some editions, ``ind`` in others), else None."""
    if name in columns:
        return name
    same = [c for c in columns if c.lower() == name.lower()]
    return same[0] if len(same) == 1 else None


def cell_id_column(columns: Sequence[str], named: str | None, source: str) -> str:
    """The column of cell ids: ``named`` (see :func:`find_column`), or the first of
    :data:`CELL_ID_COLUMNS` present.

    Raises
    ------
    InputError
        The named column is absent, or none is named and none of the usual ones is present.
    """
    wanted = [named] if named else list(CELL_ID_COLUMNS)
    for name in wanted:
        found = find_column(columns, name)
        if found is not None:
            return found
    shown = ", ".join(columns[:30])
    if named:
        msg = f"population grid {source}: no column {named!r} (cell_id_field); columns present: {shown}"
    else:
        msg = (
            f"population grid {source}: no column of cell ids ({', '.join(CELL_ID_COLUMNS)}); "
            f"name it in the pipeline file (charging.population.cell_id_field); columns present: {shown}"
        )
    raise InputError(msg)


def population_counts(
    values: pd.Series, source: str, column: str, row_name: Callable[[int], str], cell_km2: float
) -> np.ndarray:
    """The population of each cell [inhabitants] from a column of numbers or texts (a
    decimal comma is read: ``12,5``).

    Parameters
    ----------
    values : Series
        The column, one value per cell.
    source, column : str
        The file and the column, for messages.
    row_name : callable
        Position of a cell (0-based) → where it is in the file (``"line 4"``).
    cell_km2 : float
        Area of a cell [km²]: a cell above :data:`~geocarbon.charging.clean.MAX_DENSITY_PER_KM2`
        (at least :data:`~geocarbon.charging.clean.MIN_CELL_CEILING` per cell) is refused.

    Raises
    ------
    InputError
        An empty, non-numeric, negative, infinite or implausibly large value: one message
        naming the file, the column and the first such rows with their values.
    """
    text = values.astype("string").str.strip()
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    counts = numbers.to_numpy(dtype=float, na_value=np.nan)
    ceiling = max(MAX_DENSITY_PER_KM2 * cell_km2, MIN_CELL_CEILING)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(counts) & (counts >= 0) & (counts <= ceiling))
    if not bad.any():
        return counts
    where = np.flatnonzero(bad)
    shown = "; ".join(
        f"{row_name(int(i))}: {'(empty)' if pd.isna(values.iloc[i]) else repr(str(values.iloc[i]))}"
        for i in where[:SHOWN]
    )
    msg = (
        f"population grid {source}: column {column!r} holds {len(where)} value(s) that are no "
        f"population (empty, not a number, negative, infinite or above {ceiling:,.0f} "
        f"inhabitants per cell) — {shown}; correct them, or name the population column "
        "(charging.population.field)"
    )
    raise InputError(msg)


def cells_from_ids(
    ids: pd.Series, source: str, column: str, row_name: Callable[[int], str]
) -> tuple[CRS, float, np.ndarray]:
    """CRS, side [m] and centres of the cells named by INSPIRE cell ids.

    ``CRS3035RES200mN2029800E4252400`` is the 200 m cell of EPSG:3035 whose south-west corner
    is at easting 4,252,400 m, northing 2,029,800 m: its centre is (4,252,500, 2,029,900).

    Parameters
    ----------
    ids : Series
        One cell id per row.
    source, column : str
        The file and the column, for messages.
    row_name : callable
        Position of a row (0-based) → where it is in the file.

    Returns
    -------
    crs : pyproj.CRS
    side_m : float
        Side of the cells [m].
    xy : ndarray, shape (n, 2)
        Cell centres (easting, northing) [m].

    Raises
    ------
    InputError
        An id that is not an INSPIRE cell id, ids of several CRSs or cell sizes, a CRS that
        is not projected, or an id given twice.
    """
    north, east, grids, bad = _parsed_ids(ids.to_numpy(dtype=object))
    if len(bad):
        shown = "; ".join(f"{row_name(int(i))}: {ids.iloc[i]!r}" for i in bad[:SHOWN])
        msg = (
            f"population grid {source}: column {column!r} holds {len(bad)} value(s) that are no "
            f"INSPIRE cell id (such as CRS3035RES200mN2029800E4252400) — {shown}; name the column "
            "of cell ids (charging.population.cell_id_field)"
        )
        raise InputError(msg)
    if len(grids) != 1:
        shown = ", ".join(
            f"EPSG:{epsg} {side} m from {row_name(i)}"
            for (epsg, side), i in list(grids.items())[:5]
        )
        msg = (
            f"population grid {source}: the cell ids of column {column!r} mix several grids "
            f"({shown}); give one grid per file"
        )
        raise InputError(msg)
    ((epsg, side),) = grids
    crs = _projected_crs(int(epsg), source, column)
    side_m = float(side)
    xy = np.column_stack([east + side_m / 2.0, north + side_m / 2.0])
    repeated = pd.DataFrame({"n": north, "e": east}).duplicated(keep=False).to_numpy()
    _refuse_repeated(repeated, lambda i: str(ids.iloc[i]).strip(), source, column, row_name)
    return crs, side_m, xy


def _parsed_ids(
    values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[tuple[str, str], int], list[int]]:
    """Northing and easting [m] of each cell id (NaN where it is none), the grids the ids
    name (EPSG code and cell side → the first row naming it), and the rows holding no id.
    One pass over the texts: a national file holds millions of ids."""
    match = CELL_ID.fullmatch
    north: list[float] = []
    east: list[float] = []
    grids: dict[tuple[str, str], int] = {}
    bad: list[int] = []
    for i, value in enumerate(values):
        found = match(value.strip()) if isinstance(value, str) else None
        if found is None:
            bad.append(i)
            north.append(np.nan)
            east.append(np.nan)
            continue
        grids.setdefault((found[1], found[2]), i)
        north.append(float(found[3]))
        east.append(float(found[4]))
    return np.asarray(north), np.asarray(east), grids, bad


def _projected_crs(epsg: int, source: str, column: str) -> CRS:
    """The CRS of an EPSG code of cell ids, which must be projected in metres."""
    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        msg = f"population grid {source}: the cell ids of column {column!r} name EPSG:{epsg}, which is not a known CRS"
        raise InputError(msg) from None
    if not crs.is_projected:
        msg = f"population grid {source}: the cell ids of column {column!r} name EPSG:{epsg}, which is not a projected CRS: cells must be squares in metres"
        raise InputError(msg)
    return crs


def _refuse_repeated(
    repeated: np.ndarray,
    shown_value: Callable[[int], str],
    source: str,
    column: str,
    row_name: Callable[[int], str],
) -> None:
    """Refuse cells listed more than once (``repeated``: each row's; their people would
    count twice), naming the first rows with their value (``shown_value``)."""
    if not repeated.any():
        return
    where = np.flatnonzero(repeated)
    shown = "; ".join(f"{row_name(int(i))}: {shown_value(int(i))}" for i in where[:SHOWN])
    msg = (
        f"population grid {source}: {len(where)} rows give a cell already given ({column}) — "
        f"{shown}; each cell must be listed once (in a 200 m file, Idcar_1km names the enclosing "
        "1 km cell: use Idcar_200m)"
    )
    raise InputError(msg)


def cells_from_squares(
    geoms: gpd.GeoSeries, source: str, row_name: Callable[[int], str]
) -> tuple[float, np.ndarray]:
    """Side [m] and centres of square cells drawn as polygons in a projected CRS.

    A cell is one polygon without holes (a multipolygon of one part is one) with four
    corners, whose sides are equal and whose diagonals are equal, within
    :data:`SQUARE_TOLERANCE`; every cell has the same side (the square root of its area),
    within it. Its centre is the middle of its bounding box (a square's, rotated or not, is
    its centre, as a parallelogram's is).

    Returns
    -------
    side_m : float
        The median side [m].
    xy : ndarray, shape (n, 2)
        Cell centres in the polygons' CRS.

    Raises
    ------
    InputError
        A geographic CRS, a missing geometry, a polygon that is not a square, cells of
        several sizes, or a cell given twice.
    """
    if geoms.crs is None or not geoms.crs.is_projected:
        msg = f"population grid {source}: the squares are in a geographic CRS ({geoms.crs}); cells must be squares in metres: give the file in its projected CRS (INSEE: EPSG:3035)"
        raise InputError(msg)
    arr = np.asarray(geoms.values, dtype=object)
    single = shapely.get_num_geometries(arr) == 1
    parts = np.asarray(np.where(single, shapely.get_geometry(arr, 0), None), dtype=object)
    is_polygon = shapely.get_type_id(parts) == 3  # 3: Polygon
    side_m, ok = _square_sides(parts, is_polygon)
    bad = np.flatnonzero(~ok)
    if len(bad):
        shown = "; ".join(f"{row_name(int(i))}: {_shape(arr[i])}" for i in bad[:SHOWN])
        msg = (
            f"population grid {source}: {len(bad)} feature(s) are not square cells — {shown}; "
            "give the grid's square cells (INSEE Filosofi carreaux), not other shapes"
        )
        raise InputError(msg)
    median = float(np.median(side_m))
    off = np.flatnonzero(np.abs(side_m - median) > SQUARE_TOLERANCE * median)
    if len(off):
        shown = "; ".join(f"{row_name(int(i))}: side {side_m[i]:,.1f} m" for i in off[:SHOWN])
        msg = (
            f"population grid {source}: cells of several sizes (most are {median:,.1f} m) — "
            f"{shown}; give one grid per file"
        )
        raise InputError(msg)
    minx, miny, maxx, maxy = shapely.bounds(parts).T
    xy = np.column_stack([(minx + maxx) / 2.0, (miny + maxy) / 2.0])
    repeated = pd.DataFrame(np.round(xy, 3)).duplicated(keep=False).to_numpy()
    _refuse_repeated(
        repeated, lambda i: f"centre ({xy[i, 0]:.3f}, {xy[i, 1]:.3f})", source, "geometry", row_name
    )
    return float(np.round(median, 3)), xy


def _square_sides(parts: np.ndarray, is_polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Side [CRS units] of each polygon (the square root of its area) and whether it is a
    square (see :func:`cells_from_squares`)."""
    n = len(parts)
    side = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(is_polygon & ~shapely.is_empty(parts))
    if len(idx) == 0:
        return side, ok
    polys = parts[idx]
    area = shapely.area(polys)
    side[idx] = np.sqrt(area)
    # corners: vertices on the sides (a densified square) removed
    rings = shapely.simplify(shapely.get_exterior_ring(polys), SQUARE_TOLERANCE * side[idx] / 10)
    four = (shapely.get_num_interior_rings(polys) == 0) & (shapely.get_num_coordinates(rings) == 5)
    if not four.any():
        return side, ok
    corners = shapely.get_coordinates(rings[four]).reshape(-1, 5, 2)
    sides = np.hypot(*np.moveaxis(np.diff(corners, axis=1), 2, 0))  # (n, 4)
    diagonals = np.hypot(*np.moveaxis(corners[:, 2:4] - corners[:, 0:2], 2, 0))  # (n, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        equal_sides = np.ptp(sides, axis=1) <= SQUARE_TOLERANCE * sides.mean(axis=1)
        right_angles = np.ptp(diagonals, axis=1) <= SQUARE_TOLERANCE * diagonals.mean(axis=1)
    ok[idx[four]] = equal_sides & right_angles & (area[four] > 0)
    return side, ok


def _shape(geom: object) -> str:
    """A short description of a geometry that is not a square cell."""
    if geom is None or shapely.is_missing(geom):
        return "no geometry"
    kind = shapely.get_type_id(geom)
    if kind not in (3, 6):  # neither a polygon nor a multipolygon
        return str(getattr(geom, "geom_type", "not a polygon"))
    if kind == 6 and shapely.get_num_geometries(geom) != 1:
        return f"{shapely.get_num_geometries(geom)} polygons"
    minx, miny, maxx, maxy = shapely.bounds(geom)
    return (
        f"polygon of {shapely.area(geom):,.0f} m² within {maxx - minx:,.0f} x {maxy - miny:,.0f} m"
    )


def overlapping(
    xy: np.ndarray, side: float, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """Which cells (centres ``xy``, side ``side``, axis-aligned) touch ``bounds``."""
    half = side / 2.0
    left, bottom, right, top = bounds
    return (
        (xy[:, 0] + half >= left)
        & (xy[:, 0] - half <= right)
        & (xy[:, 1] + half >= bottom)
        & (xy[:, 1] - half <= top)
    )


def outside_notice(
    source: str,
    what: str,
    left_out: tuple[int, float],
    reaching_out: tuple[int, float],
    codes: Sequence[str],
) -> Notice:
    """Notice of the populated cells that overlap the communes but whose centre lies in none
    (``left_out``: how many, their population [inhabitants]), beside those counted in a
    commune whose square reaches beyond the communes (``reaching_out``: the same);
    ``codes``: the communes the first overlap."""
    n_out, pop_out = left_out
    n_beyond, pop_beyond = reaching_out
    return Notice(
        "population_cells_outside",
        f"{what} {source}: {n_out:,} populated cells ({pop_out:,.1f} inhabitants) overlap the "
        "communes but have their centre in none: each cell counts whole in the commune "
        "holding its centre, so these are not counted; the other way round, "
        f"{n_beyond:,} cells ({pop_beyond:,.1f} inhabitants) have their centre in a commune, "
        "reach beyond the communes and count whole",
        sorted(set(codes)),
        facts={
            "source": source,
            "what": what,
            "n_cells": int(n_out),
            "population": float(pop_out),
            "n_cells_reaching_out": int(n_beyond),
            "population_reaching_out": float(pop_beyond),
        },
    )
