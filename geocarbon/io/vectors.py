"""Reader of vector layers (communes, buildings, zones, roads; any OGR format)."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from geocarbon.errors import InputError
from geocarbon.io.tables import require_file

logger = logging.getLogger(__name__)


def list_layers(path: Path, what: str = "vector dataset") -> list[str]:
    """Names of the layers of a vector dataset (``what`` names it in messages)."""
    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as err:
        msg = f"{what}: cannot open {path} as a vector dataset (damaged, truncated or not a vector file?): {err}"
        raise InputError(msg) from None


def _declared_size(path: Path, fmt: str, offset: int, factor: int) -> int | None:
    """A file size declared in a header (``struct`` format at ``offset``), or None."""
    with path.open("rb") as fh:
        head = fh.read(offset + struct.calcsize(fmt))
    if len(head) < offset + struct.calcsize(fmt):
        return None
    return int(struct.unpack_from(fmt, head, offset)[0]) * factor


def check_shapefile_complete(path: Path, what: str) -> None:
    """Refuse a Shapefile whose .shp, .shx or .dbf is shorter than its header says.

    GDAL reads a truncated Shapefile without an error, giving the missing shapes no
    geometry; the headers give each file's length (.shp/.shx: 16-bit words at byte 24,
    big-endian; .dbf: record count, header and record lengths).
    """
    parts = [(path, ">i", 24, 2), (path.with_suffix(".shx"), ">i", 24, 2)]
    for part, fmt, offset, factor in parts:
        if not part.is_file():
            continue
        declared = _declared_size(part, fmt, offset, factor)
        actual = part.stat().st_size
        if declared is None or actual < declared:
            msg = (
                f"{what}: {part} is truncated ({actual:,} bytes, its header says {declared or 100:,}); "
                "copy the Shapefile again (every file: .shp, .shx, .dbf, .prj)"
            )
            raise InputError(msg)
    dbf = path.with_suffix(".dbf")
    if dbf.is_file():
        with dbf.open("rb") as fh:
            head = fh.read(12)
        actual = dbf.stat().st_size
        if len(head) == 12:
            records, header, record = struct.unpack_from("<IHH", head, 4)
            declared = header + records * record
        else:
            declared = 32
        if actual < declared:
            msg = (
                f"{what}: {dbf} is truncated ({actual:,} bytes, its header says {declared:,}); "
                "copy the Shapefile again (every file: .shp, .shx, .dbf, .prj)"
            )
            raise InputError(msg)


def read_vector(
    path: Path,
    what: str,
    layer: str | None = None,
    *,
    allow_empty: bool = False,
    bbox: tuple[float, float, float, float] | None = None,
    columns: list[str] | None = None,
    fid_as_index: bool = False,
) -> gpd.GeoDataFrame:
    """Read a vector layer with its CRS; fail clearly when the file, layer or CRS is missing.

    Parameters
    ----------
    path : Path
        Any OGR-readable dataset (GeoPackage, Shapefile, GeoJSON, FlatGeobuf...).
    what : str
        What the layer is, for messages (e.g. ``"communes"``).
    layer : str, optional
        Layer name; required when the dataset has several layers.
    allow_empty : bool
        False (default): a layer without features, or whose features all lack a geometry,
        is refused. True (e.g. exclusion zones): it is logged and returned without
        features.
    bbox : tuple of float, optional
        (left, bottom, right, top) in the layer's CRS: only the features it touches are
        read (through the file's spatial index where it has one).
    columns : list of str, optional
        The only attribute columns read (default: all).
    fid_as_index : bool
        Index the features by their feature id in the file (what GIS software shows).

    Raises
    ------
    InputError
        Missing, unreadable, damaged or truncated file; missing layer; no CRS; empty layer
        (unless ``allow_empty``).
    """
    _check_dataset(path, what, layer)
    frame = _read_frame(path, what, layer, bbox=bbox, columns=columns, fid_as_index=fid_as_index)
    shown = f"{path}" + (f" (layer {layer})" if layer else "")
    _check_georeferenced(frame, path, what, shown)
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if len(frame) == 0 or bool(missing.all()):
        if len(frame) == 0:
            problem = "is empty: it has no features"
        else:
            problem = f"has {len(frame)} feature(s) but none has a geometry (all null or empty)"
        if not allow_empty:
            msg = f"{what}: {shown} {problem}; check the file and the layer"
            raise InputError(msg)
        logger.warning("%s: %s %s; it is ignored", what, shown, problem)
        return frame.iloc[:0]
    return frame


def _check_dataset(path: Path, what: str, layer: str | None) -> None:
    """Refuse a missing, incomplete or empty dataset, or a missing or ambiguous layer."""
    require_file(path, what)
    if Path(path).suffix.lower() == ".shp":
        check_shapefile_complete(Path(path), what)
    if Path(path).stat().st_size == 0:
        msg = f"{what}: {path} is empty (0 bytes); check the file"
        raise InputError(msg)
    layers = list_layers(path, what)
    if not layers:
        msg = f"{what}: {path} holds no vector layer"
        raise InputError(msg)
    if layer is None and len(layers) > 1:
        msg = f"{what}: {path} has {len(layers)} layers ({', '.join(layers)}); set 'layer' in the pipeline file"
        raise InputError(msg)
    if layer is not None and layer not in layers:
        msg = f"{what}: {path} has no layer {layer!r}; layers: {', '.join(layers)}"
        raise InputError(msg)


def _read_frame(
    path: Path,
    what: str,
    layer: str | None,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    columns: list[str] | None = None,
    fid_as_index: bool = False,
) -> gpd.GeoDataFrame:
    """The layer's features, a damaged or truncated file refused in one message."""
    extra = {"fid_as_index": True} if fid_as_index else {}
    try:
        return gpd.read_file(
            path, layer=layer, engine="pyogrio", bbox=bbox, columns=columns, **extra
        )
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        ValueError,
        OSError,
        shapely.errors.GEOSException,
    ) as err:
        msg = f"{what}: cannot read {path} (damaged or truncated file?): {err}"
        raise InputError(msg) from None


def _check_georeferenced(frame: gpd.GeoDataFrame, path: Path, what: str, shown: str) -> None:
    """Refuse a layer without a geometry column or a CRS, or whose geographic CRS is wrong.

    A geographic CRS is wrong when the coordinates exceed longitudes/latitudes
    (below -180.5 or above 360.5 / 90.5 degrees).
    """
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        msg = f"{what}: {shown} has no geometry column: it is a table, not a vector layer"
        raise InputError(msg)
    if frame.crs is None:
        msg = (
            f"{what}: {path} has no coordinate reference system; "
            "define it in the file (e.g. a .prj next to a Shapefile, or ogr2ogr -a_srs EPSG:2154)"
        )
        raise InputError(msg)
    if frame.crs.is_geographic and len(frame) and frame.geometry.notna().any():
        minx, miny, maxx, maxy = frame.total_bounds
        if min(minx, miny) < -180.5 or maxx > 360.5 or maxy > 90.5:
            msg = (
                f"{what}: {path} declares geographic coordinates ({frame.crs.to_string()}) but holds values "
                f"like ({minx:.0f}, {miny:.0f}), which are not longitudes/latitudes; the file's CRS is missing "
                "or wrong (GeoJSON without a 'crs' member is read as WGS 84). Declare the right CRS in the file."
            )
            raise InputError(msg)


def layer_summary(
    path: Path, what: str, layer: str | None = None
) -> tuple[list[str], object, tuple[float, float, float, float]]:
    """The attribute fields, CRS and extent of a vector layer, without reading its features.

    Returns
    -------
    fields : list of str
    crs : pyproj.CRS
    bounds : tuple of float
        (left, bottom, right, top) of the whole layer, in its CRS.

    Raises
    ------
    InputError
        As :func:`read_vector` (missing file or layer, no CRS, damaged file).
    """
    from pyproj import CRS

    _check_dataset(path, what, layer)
    try:
        info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as err:
        msg = f"{what}: cannot read {path} (damaged or truncated file?): {err}"
        raise InputError(msg) from None
    if not info.get("crs"):
        msg = (
            f"{what}: {path} has no coordinate reference system; "
            "define it in the file (e.g. a .prj next to a Shapefile, or ogr2ogr -a_srs EPSG:3035)"
        )
        raise InputError(msg)
    left, bottom, right, top = (float(v) for v in info["total_bounds"])
    return [str(f) for f in info["fields"]], CRS(info["crs"]), (left, bottom, right, top)
