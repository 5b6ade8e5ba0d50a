"""Network distance on a local road file (no download): shortest path along the roads from
each population cell to the nearest charging point.

The road lines become a graph whose nodes are their vertices (shared vertices, within
0.1 m, join lines); cells and points are snapped to their nearest node, and the snap
distances are added to the path. Multi-source Dijkstra (scipy) from all the points at once.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree


def network_distance_m(
    lines: np.ndarray, cells_xy: np.ndarray, points_xy: np.ndarray
) -> np.ndarray:
    """Distance [m] along the roads from each cell to the nearest point (inf if unreachable).

    Parameters
    ----------
    lines : ndarray of shapely (Multi)LineStrings
        Roads in a projected CRS [m].
    cells_xy, points_xy : ndarray, shape (n, 2)
        Cell centres and charging points in the same CRS.
    """
    if len(points_xy) == 0:
        return np.full(len(cells_xy), np.inf)
    parts = shapely.get_parts(np.asarray(lines, dtype=object))
    coords, which = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        msg = "the road network has no line"
        raise ValueError(msg)
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
    return np.asarray(snap_c + dist[node_c], dtype=float)
