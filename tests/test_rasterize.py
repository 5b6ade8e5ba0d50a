"""Scanline rasteriser: against GDAL's rasterisation, holes, multi-polygons, tiling, overlaps."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import MultiPolygon, Polygon, box

from geocarbon.rasterize import burn_block, edge_table

T = Affine(10, 0, 0, 0, -10, 100)  # 10 x 10 grid of 10 m pixels over (0, 0)-(100, 100)


def _burn(
    geoms: list,
    transform: Affine = T,
    shape: tuple[int, int] = (10, 10),
    row_off: int = 0,
    col_off: int = 0,
) -> np.ndarray:
    edges = edge_table(np.asarray(geoms, dtype=object), transform)
    local, zones = burn_block(edges, row_off, col_off, *shape)
    lookup = np.concatenate([[-1], zones])
    return lookup[local]  # global zone index, -1 = none


def test_matches_gdal_on_random_polygons() -> None:
    rng = np.random.default_rng(7)
    t = Affine(7.3, 0, 13.1, 0, -7.3, 977.7)
    geoms = []
    for _ in range(40):
        c = rng.uniform(0, 900, 2) + np.array([13.1, 77.7])
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = rng.uniform(10, 80, 9)
        ring = np.column_stack([c[0] + radii * np.cos(angles), c[1] + radii * np.sin(angles)])
        geoms.append(Polygon(ring).buffer(0))
    ours = _burn(geoms, t, (130, 125))
    gdal = (
        rasterize(
            ((g, i + 1) for i, g in enumerate(geoms)),
            out_shape=(130, 125),
            transform=t,
            fill=0,
            dtype="int32",
        )
        - 1
    )
    assert (ours == gdal).mean() > 0.999  # exact ties (centre on an edge) may differ
    assert (ours >= 0).sum() > 2000


def test_hole_and_multipolygon() -> None:
    donut = box(0, 0, 100, 100).difference(box(30, 30, 70, 70))
    ours = _burn([donut])
    assert (ours == -1).sum() == 16  # the 4 x 4 hole
    multi = MultiPolygon([box(0, 0, 20, 20), box(80, 80, 100, 100)])
    ours = _burn([multi])
    assert (ours == 0).sum() == 8 and ours[0, 9] == 0 and ours[9, 0] == 0


def test_tiling_polygons_count_each_pixel_once() -> None:
    # a shared edge through pixel centres (x = 45): pixels on the line go to the right polygon
    left, right = box(0, 0, 45, 100), box(45, 0, 100, 100)
    ours = _burn([left, right])
    assert (ours == 0).sum() == 40 and (ours == 1).sum() == 60
    # Voronoi tiling of random points: a partition of the grid
    pts = shapely.multipoints(np.random.default_rng(1).uniform(0, 100, (25, 2)))
    cells = list(
        shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=box(-10, -10, 110, 110)))
    )
    ours = _burn(cells)
    assert (ours >= 0).all()
    counts = np.bincount(ours.ravel(), minlength=len(cells))
    assert counts.sum() == 100


def test_overlaps_highest_index_wins() -> None:
    a, b = box(0, 0, 60, 100), box(40, 0, 100, 100)  # overlap on columns 4 and 5
    ours = _burn([a, b])
    assert (ours[:, :4] == 0).all() and (ours[:, 4:] == 1).all()
    ours = _burn([b, a])  # the other order: a (index 1) wins on the overlap
    assert (ours[:, :6] == 1).all() and (ours[:, 6:] == 0).all()


def test_blocks_give_the_same_pixels_as_the_whole_grid() -> None:
    geoms = [Polygon([(5, 5), (95, 20), (60, 95), (10, 70)]), box(50, 0, 100, 30)]
    whole = _burn(geoms)
    pieces = np.full((10, 10), -9)
    for r0, c0, h, w in [(0, 0, 3, 10), (3, 0, 4, 6), (3, 6, 4, 4), (7, 0, 3, 10)]:
        pieces[r0 : r0 + h, c0 : c0 + w] = _burn(geoms, T, (h, w), r0, c0)
    np.testing.assert_array_equal(whole, pieces)


def test_band_edges_burn_the_same_pixels_with_only_the_band_polygons() -> None:
    """Edges built band by band (BandEdges) burn every block as the whole edge table does,
    and a band holds only the edges of the polygons reaching its rows."""
    from geocarbon.rasterize import BandEdges

    rng = np.random.default_rng(11)
    t = Affine(5, 0, 0, 0, -5, 600)  # 120 x 120 grid
    pts = rng.uniform(0, 600, size=(80, 2))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box(0, 0, 600, 600))
    )
    geoms = np.asarray(list(shapely.intersection(cells, box(0, 0, 600, 600))), dtype=object)
    whole = edge_table(geoms, t)
    bands = BandEdges(geoms, t)
    sizes = []
    for r0 in range(0, 120, 17):  # bands of 17 rows, the last one of 1
        rows = min(17, 120 - r0)
        band = bands.rows(r0, rows)
        assert bands.rows(r0, rows) is band  # kept for the blocks of the same rows
        ref, ref_zones = burn_block(whole, r0, 0, rows, 120)
        got, got_zones = burn_block(band, r0, 0, rows, 120)
        np.testing.assert_array_equal(
            np.concatenate([[-1], got_zones])[got], np.concatenate([[-1], ref_zones])[ref]
        )
        # the band's edges are exactly the whole table's edges crossing its rows
        crossing = (whole.row_start < r0 + rows) & (whole.row_end > r0)
        np.testing.assert_array_equal(band.x0, whole.x0[crossing])
        np.testing.assert_array_equal(band.zone, whole.zone[crossing])
        sizes.append(len(band.x0))
    assert max(sizes) < len(whole.x0) / 3  # a band holds a fraction of the edges
    assert len(bands.rows(200, 10).x0) == 0  # rows below the polygons: no edge
