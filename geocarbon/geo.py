"""Geometry helpers: true areas of polygons and of raster pixels.

Areas are never computed in degrees. Polygon areas use a Lambert azimuthal equal-area
projection centred on the layer; pixel areas use the grid's nominal cell size corrected
by the projection's areal scale factor (exact cell areas on the ellipsoid for
geographic grids).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Geod, Proj, Transformer

logger = logging.getLogger(__name__)

M2_PER_HA = 10_000.0


def in_crs(frame: gpd.GeoDataFrame, crs: CRS | str) -> gpd.GeoDataFrame:
    """The frame in ``crs``, reprojected only when its CRS is a different one.

    A raster's CRS read from its file (WKT) is often *equivalent* to the vector layer's
    (``pyproj.CRS.equals``: the same definition) without being *exactly the same*
    (``is_exact_same``: the same WKT, names and identifiers included); GeoPandas' ``to_crs``
    then reprojects every vertex through an identity transformation (time and memory
    growing with the vertices). Here an equivalent CRS keeps the coordinates as they are
    (no vertex moves) and only relabels the frame with ``crs``.

    Parameters
    ----------
    frame : GeoDataFrame
        Geometries with a CRS.
    crs : CRS or str
        The CRS wanted.
    """
    target = CRS.from_user_input(crs)
    if frame.crs is not None and CRS.from_user_input(frame.crs).equals(target):
        return frame.set_crs(target, allow_override=True)
    return frame.to_crs(target)


def local_equal_area_crs(frame: gpd.GeoDataFrame) -> CRS:
    """A Lambert azimuthal equal-area CRS centred on the layer (GRS80 ellipsoid)."""
    lonlat = frame.to_crs("EPSG:4326") if frame.crs and not frame.crs.equals("EPSG:4326") else frame
    minx, miny, maxx, maxy = lonlat.total_bounds
    lon0, lat0 = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    return CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +ellps=GRS80 +units=m +no_defs"
    )


def area_ha(frame: gpd.GeoDataFrame) -> np.ndarray:
    """True area of each polygon, in hectares.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons in any CRS (must have a CRS).

    Returns
    -------
    ndarray
        Area [ha] of each feature, in the frame's order.
    """
    if frame.crs is None:
        msg = "area_ha needs a CRS"
        raise ValueError(msg)
    out = np.zeros(len(frame))
    present = ~(frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    if not present.any():
        return out
    some = frame[present]
    projected = some.to_crs(local_equal_area_crs(some))
    out[present] = np.asarray(projected.geometry.area, dtype=float) / M2_PER_HA
    return out


def share_inside_box(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Share (0–1) of each polygon's planar area inside an axis-aligned box.

    True area shares when the coordinates are those of an equal-area projection. A polygon
    whose bounds lie in the box is wholly inside it (share 1, no intersection computed);
    only the others are cut by the box.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
        Polygons (None or empty: share 0).
    box : tuple of float
        ``(minx, miny, maxx, maxy)`` in the polygons' coordinates.

    Returns
    -------
    ndarray
        Share of each polygon's area inside the box; 0 for a polygon of no area.
    """
    geoms = np.asarray(geoms, dtype=object)
    total_m2 = np.nan_to_num(shapely.area(geoms))
    minx, miny, maxx, maxy = box
    bounds = shapely.bounds(geoms)
    within = (
        (bounds[:, 0] >= minx)
        & (bounds[:, 1] >= miny)
        & (bounds[:, 2] <= maxx)
        & (bounds[:, 3] <= maxy)
    )
    share = np.where(within & (total_m2 > 0), 1.0, 0.0)
    cut = ~within & (total_m2 > 0)
    if cut.any():
        inside_m2 = np.nan_to_num(shapely.area(shapely.intersection(geoms[cut], shapely.box(*box))))
        share[cut] = inside_m2 / total_m2[cut]
    return share


@dataclass(frozen=True)
class PixelAreaModel:
    """True area of the pixels of a north-up grid.

    Attributes
    ----------
    kind : str
        ``"constant"`` (equal-area projection), ``"rows"`` (geographic grid: area varies
        with latitude only) or ``"grid"`` (other projections: areal scale sampled on a
        coarse grid every ``step`` pixels).
    """

    crs: CRS
    transform: Affine
    kind: str
    nominal_m2: float
    step: int = 16

    @classmethod
    def for_grid(cls, crs: CRS | str, transform: Affine, width: int, height: int) -> PixelAreaModel:
        """Choose the cheapest exact-enough model for this grid."""
        crs = CRS.from_user_input(crs)
        nominal = abs(transform.a * transform.e)
        if crs.is_geographic:
            return cls(crs, transform, "rows", nominal)
        # Sample the areal scale over the grid: equal-area projections give exactly 1.
        cols = np.linspace(0, width, 7)
        rows = np.linspace(0, height, 7)
        cc, rr = np.meshgrid(cols, rows)
        scale = _areal_scale(crs, transform, rr.ravel(), cc.ravel())
        if np.all(np.abs(scale - 1.0) < 1e-7):
            return cls(crs, transform, "constant", nominal)
        logger.debug("pixel areas corrected for areal scale %.6f..%.6f", scale.min(), scale.max())
        return cls(crs, transform, "grid", nominal)

    def block_m2(self, row_off: int, col_off: int, rows: int, cols: int) -> np.ndarray | float:
        """Pixel areas [m²] of a block: a float, a (rows, 1) or a (rows, cols) array."""
        if self.kind == "constant":
            return self.nominal_m2
        if self.kind == "rows":
            return _geographic_row_areas(self.crs, self.transform, row_off, rows)[:, None]
        step = self.step
        r = np.arange(row_off, row_off + rows, step) + min(step, rows) / 2.0
        c = np.arange(col_off, col_off + cols, step) + min(step, cols) / 2.0
        cc, rr = np.meshgrid(c, r)
        scale = _areal_scale(self.crs, self.transform, rr.ravel(), cc.ravel()).reshape(rr.shape)
        coarse = self.nominal_m2 / scale
        full = np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)
        return full[:rows, :cols]

    def cells_m2(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """True areas [m²] of scattered pixels of the grid.

        Parameters
        ----------
        rows, cols : ndarray of int
            Row and column of each pixel in the whole grid.

        Returns
        -------
        ndarray of float
            Area [m²] of each pixel: the nominal area on an equal-area grid, the exact
            ellipsoidal area of its row on a lon/lat grid, else the nominal area divided by
            the areal scale at the centre of its ``step`` × ``step`` tile of the grid.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if self.kind == "constant" or not len(rows):
            return np.full(len(rows), self.nominal_m2)
        if self.kind == "rows":
            first = int(rows.min())
            per_row = _geographic_row_areas(
                self.crs, self.transform, first, int(rows.max()) - first + 1
            )
            return per_row[rows - first]
        tile_cols = int(cols.max()) // self.step + 1
        tiles, inverse = np.unique(
            (rows // self.step) * tile_cols + cols // self.step, return_inverse=True
        )
        tile_row, tile_col = np.divmod(tiles, tile_cols)
        half = self.step / 2.0
        scale = _areal_scale(
            self.crs, self.transform, tile_row * self.step + half, tile_col * self.step + half
        )
        return (self.nominal_m2 / scale)[inverse.ravel()]


def pixel_to_xy(
    transform: Affine, cols: np.ndarray | float, rows: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of fractional pixel positions (column, row) through a grid transform."""
    cols_a, rows_a = np.asarray(cols, dtype=float), np.asarray(rows, dtype=float)
    xs = transform.c + transform.a * cols_a + transform.b * rows_a
    ys = transform.f + transform.d * cols_a + transform.e * rows_a
    return xs, ys


def _areal_scale(crs: CRS, transform: Affine, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    xs, ys = pixel_to_xy(transform, cols, rows)
    to_geo = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(xs, ys)
    factors = Proj(crs).get_factors(lon, lat)
    return np.asarray(factors.areal_scale, dtype=float)


def _geographic_row_areas(crs: CRS, transform: Affine, row_off: int, rows: int) -> np.ndarray:
    """Exact ellipsoidal area [m²] of one cell per row of a lon/lat grid."""
    ellipsoid = crs.ellipsoid
    geod = (
        Geod(a=ellipsoid.semi_major_metre, b=ellipsoid.semi_minor_metre)
        if ellipsoid
        else Geod(ellps="WGS84")
    )
    dlon = abs(transform.a)
    top = transform.f + transform.e * np.arange(row_off, row_off + rows)
    bottom = top + transform.e
    areas = np.empty(rows)
    for i, (y0, y1) in enumerate(zip(top, bottom, strict=True)):
        area, _ = geod.polygon_area_perimeter([0.0, dlon, dlon, 0.0], [y0, y0, y1, y1])
        areas[i] = abs(area)
    return areas


def geometry_digest(geometries: np.ndarray, chunk: int = 4096) -> bytes:
    """A checksum of the zones' shapes: BLAKE2b of each geometry's WKB (length-prefixed, in
    order), computed a chunk of geometries at a time (memory bounded by the chunk, not by
    the layer)."""
    digest = hashlib.blake2b(digest_size=20)
    for start in range(0, len(geometries), chunk):
        for wkb in shapely.to_wkb(geometries[start : start + chunk]):
            size = -1 if wkb is None else len(wkb)
            digest.update(size.to_bytes(8, "little", signed=True))
            digest.update(wkb or b"")
    return digest.digest()
