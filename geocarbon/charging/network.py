"""Network distance on a local road file (no download): shortest path along the roads from
each population cell to the nearest charging point.

How the graph is built (so that results do not depend on how densely the file's lines are
drawn):

- only line features count (points or polygons in the file are set aside with a notice; a
  file without any line is refused by :func:`road_lines`), and zero-length lines are dropped
  with a notice;
- the lines are clipped to the territory's extent widened by the longest access distance,
  in their own CRS and densified there before being reprojected (:func:`lines_in_territory`),
  so that one continent-long line keeps its course and cannot fill the memory;
- lines that cross are joined where they cross (``shapely.node``): a crossing without a shared
  vertex is a junction. A bridge over a road is therefore joined to the road under it (the
  file carries no level information that would tell them apart);
- every line is then cut into pieces of at most :data:`SEGMENT_MAX_M` (or half a population
  cell, if smaller), so that a cell or a point snaps to a spot at most half a piece away from
  its nearest spot on the road, not to a far vertex;
- vertices within 0.1 m are one node; cells and points are snapped to their nearest node, the
  snap distances are added to the path. Multi-source Dijkstra (scipy) from all the points.

Cells that no road path links to a point get no distance (NaN), never ``inf``.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geocarbon.errors import InputError
from geocarbon.notices import Notice

#: Longest piece of road between two graph nodes [m] (lines are densified to it).
SEGMENT_MAX_M = 100.0

_LINE_TYPES = ("LineString", "MultiLineString", "LinearRing")


def road_lines(roads: gpd.GeoSeries, source: str) -> tuple[np.ndarray, list[Notice]]:
    """Line geometries of a road file, with notices for what is set aside.

    Parameters
    ----------
    roads : GeoSeries
        Geometries of the road file (any CRS).
    source : str
        The file, for messages.

    Returns
    -------
    lines : ndarray of shapely LineStrings
        Non-empty lines of non-zero length (multi-lines split into their parts).
    notices : list of Notice
        Features that are not lines, empty features, zero-length lines.

    Raises
    ------
    InputError
        The file holds no line of non-zero length.
    """
    geoms = np.asarray(roads.values, dtype=object)
    is_line, notices = _line_features(geoms, source)
    parts = shapely.get_parts(geoms[is_line])
    if len(parts):
        parts = shapely.force_2d(parts)
    length = shapely.length(parts)
    zero = ~(length > 0)
    if zero.any():
        notices.append(
            Notice(
                "road_network_zero_length",
                f"road network {source}: {int(zero.sum())} lines of zero length are ignored",
                facts={"source": str(source), "n_lines": int(zero.sum())},
            )
        )
    parts = parts[~zero]
    if len(parts) == 0:
        msg = (
            f"road network {source} holds no line of non-zero length "
            f"({int(zero.sum())} zero-length lines); give a file of road lines"
        )
        raise InputError(msg)
    return np.asarray(parts, dtype=object), notices


def _line_features(geoms: np.ndarray, source: str) -> tuple[np.ndarray, list[Notice]]:
    """Which features are non-empty lines, with a notice for the others.

    Raises
    ------
    InputError
        No feature is a line (the kinds found are listed).
    """
    present = np.array([g is not None and not shapely.is_empty(g) for g in geoms], dtype=bool)
    kinds = np.array([g.geom_type if g is not None else "None" for g in geoms], dtype=object)
    is_line = present & np.isin(kinds, _LINE_TYPES)
    if not is_line.any():
        found = Counter(str(k) if p else "empty" for k, p in zip(kinds, present, strict=True))
        listed = ", ".join(f"{n} {k}" for k, n in sorted(found.items())) or "no feature"
        msg = (
            f"road network {source} holds no line geometry (found: {listed}); "
            "give a file of road lines (LineString or MultiLineString)"
        )
        raise InputError(msg)
    other = ~is_line
    if not other.any():
        return is_line, []
    found = Counter(
        str(k) if p else "empty" for k, p in zip(kinds[other], present[other], strict=True)
    )
    notice = Notice(
        "road_network_not_lines",
        f"road network {source}: {int(other.sum())} features that are not lines are ignored",
        [f"{n} {k}" for k, n in sorted(found.items())],
        facts={"source": str(source), "n_features": int(other.sum())},
    )
    return is_line, [notice]


def clip_lines(
    lines: np.ndarray, bounds: tuple[float, float, float, float], margin_m: float
) -> np.ndarray:
    """Lines cut to a rectangle: ``bounds`` (minx, miny, maxx, maxy) [m] widened by
    ``margin_m`` [m] on every side (pieces outside are dropped)."""
    minx, miny, maxx, maxy = bounds
    clipped = shapely.get_parts(
        shapely.clip_by_rect(
            np.asarray(lines, dtype=object),
            minx - margin_m,
            miny - margin_m,
            maxx + margin_m,
            maxy + margin_m,
        )
    )
    keep = np.isin(shapely.get_type_id(clipped), [1, 2]) & (shapely.length(clipped) > 0)
    return np.asarray(shapely.get_parts(clipped[keep]), dtype=object)


def lines_in_territory(
    lines: gpd.GeoSeries,
    crs: object,
    bounds: tuple[float, float, float, float],
    margin_m: float,
    segment_m: float = SEGMENT_MAX_M,
) -> np.ndarray:
    """Road lines moved to the territory's projected CRS and cut to its extent plus a margin.

    The lines are first cut in their own CRS (to the rectangle, with its edges densified,
    moved there), then densified to ``segment_m`` there and only then reprojected: a long
    straight line keeps its course (reprojecting its two end vertices alone would bend it
    elsewhere), and a continent-long line does not fill the memory.

    Parameters
    ----------
    lines : GeoSeries
        Line geometries with their CRS (see :func:`road_lines`).
    crs : CRS-like
        The territory's projected CRS [m].
    bounds : tuple of float
        (minx, miny, maxx, maxy) of the territory in ``crs`` [m].
    margin_m : float
        Width added on every side [m].
    segment_m : float
        Longest piece of line [m].

    Returns
    -------
    ndarray of shapely LineStrings in ``crs``
    """
    minx, miny, maxx, maxy = bounds
    frame = shapely.segmentize(
        shapely.box(minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m),
        max(segment_m, (maxx - minx + maxy - miny + 4 * margin_m) / 400.0),
    )
    src = lines.crs
    if src is not None:
        area = gpd.GeoSeries([frame], crs=crs).to_crs(src)
        sx0, sy0, sx1, sy1 = (float(v) for v in area.total_bounds)
        pad_x, pad_y = (sx1 - sx0) * 0.01, (sy1 - sy0) * 0.01
        near = clip_lines(lines.values, (sx0 - pad_x, sy0 - pad_y, sx1 + pad_x, sy1 + pad_y), 0.0)
        # densify in the file's CRS: metres, or degrees (1e-3 degree is about 100 m or less)
        step = segment_m if area.crs is not None and not area.crs.is_geographic else segment_m / 1e5
        near = shapely.segmentize(near, step) if len(near) else near
        moved = gpd.GeoSeries(near, crs=src).to_crs(crs).values
    else:
        moved = lines.values
    return clip_lines(np.asarray(moved, dtype=object), bounds, margin_m)


def network_distance_m(
    lines: np.ndarray,
    cells_xy: np.ndarray,
    points_xy: np.ndarray,
    segment_max_m: float = SEGMENT_MAX_M,
) -> np.ndarray:
    """Distance [m] along the roads from each cell to the nearest point (NaN if unreachable).

    Parameters
    ----------
    lines : ndarray of shapely (Multi)LineStrings
        Roads in a projected CRS [m] (see :func:`road_lines`).
    cells_xy, points_xy : ndarray, shape (n, 2)
        Cell centres and charging points in the same CRS [m].
    segment_max_m : float
        Longest piece of road between two nodes [m] (lines are densified to it).

    Returns
    -------
    ndarray
        Snap distance of the cell + path along the roads + snap distance of the point [m];
        NaN when no road path links the cell to a point (or there is no point / no road).
    """
    out = np.full(len(cells_xy), np.nan)
    lines = np.asarray(lines, dtype=object)
    if len(points_xy) == 0 or len(cells_xy) == 0 or len(lines) == 0:
        return out
    # join crossing lines where they cross (bridges included), then densify
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(shapely.get_parts(lines))))
    noded = shapely.segmentize(noded, segment_max_m)
    coords, which = shapely.get_coordinates(noded, return_index=True)
    if len(coords) < 2:
        return out
    key = np.round(coords, 1)
    nodes, node_of = np.unique(key, axis=0, return_inverse=True)
    node_of = node_of.ravel()
    same_line = which[:-1] == which[1:]
    u, v = node_of[:-1][same_line], node_of[1:][same_line]
    length = np.hypot(*(coords[1:][same_line] - coords[:-1][same_line]).T)
    n = len(nodes)
    tree = cKDTree(nodes)
    snap_p, node_p = tree.query(points_xy)
    # one virtual node per point, linked to its road node by the snap distance
    virtual = n + np.arange(len(points_xy))
    rows = np.concatenate([u, v, virtual, node_p])
    cols = np.concatenate([v, u, node_p, virtual])
    weights = np.concatenate([length, length, snap_p, snap_p]) + 1e-9
    graph = coo_matrix(
        (weights, (rows, cols)), shape=(n + len(points_xy), n + len(points_xy))
    ).tocsr()
    dist = dijkstra(graph, directed=True, indices=virtual, min_only=True)
    snap_c, node_c = tree.query(cells_xy)
    total = np.asarray(snap_c + dist[node_c], dtype=float)
    total[~np.isfinite(total)] = np.nan
    return total
