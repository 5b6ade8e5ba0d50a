"""Reader of vector layers (communes, any OGR format)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from geocarbon.errors import InputError
from geocarbon.io.tables import require_file


def list_layers(path: Path) -> list[str]:
    """Names of the layers of a vector dataset."""
    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as err:
        msg = f"cannot open {path} as a vector dataset: {err}"
        raise InputError(msg) from None


def read_vector(path: Path, what: str, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer with its CRS; fail clearly when the file, layer or CRS is missing.

    Parameters
    ----------
    path : Path
        Any OGR-readable dataset (GeoPackage, Shapefile, GeoJSON, FlatGeobuf...).
    what : str
        What the layer is, for messages (e.g. ``"communes"``).
    layer : str, optional
        Layer name; required when the dataset has several layers.
    """
    require_file(path, what)
    layers = list_layers(path)
    if layer is None and len(layers) > 1:
        msg = f"{what}: {path} has {len(layers)} layers ({', '.join(layers)}); set 'layer' in the pipeline file"
        raise InputError(msg)
    if layer is not None and layer not in layers:
        msg = f"{what}: {path} has no layer {layer!r}; layers: {', '.join(layers)}"
        raise InputError(msg)
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as err:
        msg = f"{what}: cannot read {path}: {err}"
        raise InputError(msg) from None
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
    return frame
