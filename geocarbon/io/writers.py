"""Atomic, deterministic writers.

A run writes every file into a temporary folder next to the output folder and renames
it into place only when everything succeeded (see :mod:`geocarbon.io.outdir`): a failed
run leaves no partial output (and leaves a previous run's output untouched).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

logger = logging.getLogger(__name__)

#: Timestamp written in GeoPackage metadata, so that identical runs give identical files.
GPKG_TIMESTAMP = "2000-01-01T00:00:00.000Z"


def write_gpkg_layers(path: Path, layers: dict[str, pd.DataFrame]) -> None:
    """Write (Geo)DataFrames as layers of one GeoPackage; attribute-only tables allowed."""
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
            else:
                pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV, UTF-8, '.' decimal separator, no index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def _json_safe(value: Any) -> Any:
    """NaN and infinities (no data) as null: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON with sorted keys; NaN (no data) written as null, so the file is valid JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump(
            _json_safe(data),
            fh,
            indent=2,
            ensure_ascii=False,
            sort_keys=True,
            default=str,
            allow_nan=False,
        )
        fh.write("\n")


def write_text(path: Path, text: str) -> None:
    """UTF-8 text file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def geotiff_profile(
    width: int, height: int, dtype: str, crs: Any, transform: Any, nodata: float | None
) -> dict[str, Any]:
    """Single-band, tiled (256 × 256), DEFLATE-compressed GeoTIFF profile."""
    return {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }


def write_geotiff(
    path: Path,
    array: Any,
    *,
    crs: Any,
    transform: Any,
    nodata: float | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    """Single-band, tiled, DEFLATE-compressed GeoTIFF, written atomically."""
    import numpy as np
    import rasterio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(array)
    tmp = path.with_name(f".{path.name}.tmp")
    profile = geotiff_profile(arr.shape[1], arr.shape[0], arr.dtype.name, crs, transform, nodata)
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        if tags:
            dst.update_tags(**tags)
    tmp.replace(path)


def write_vector(path: Path, frame: gpd.GeoDataFrame, layer: str) -> None:
    """One-layer GeoPackage (or other OGR format by extension), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    if tmp.exists():
        tmp.unlink()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        frame.to_file(tmp, layer=layer, engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    tmp.replace(path)


class BlockRasterWriter:
    """Single-band GeoTIFFs written block by block (tiled, DEFLATE), each to a temporary
    file renamed on success; use as a context manager."""

    def __init__(
        self,
        paths: dict[str, Path],
        *,
        crs: Any,
        transform: Any,
        width: int,
        height: int,
        nodata: float,
    ) -> None:
        self.paths = {k: Path(v) for k, v in paths.items()}
        self.profile = geotiff_profile(width, height, "float32", crs, transform, nodata) | {
            "predictor": 3
        }
        self._open: dict[str, Any] = {}

    def __enter__(self) -> BlockRasterWriter:
        import rasterio

        for key, path in self.paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open[key] = rasterio.open(
                path.with_name(f".{path.name}.tmp"), "w", **self.profile
            )
        return self

    def write(self, key: str, array: Any, row_off: int, col_off: int) -> None:
        """Write a block at its offset in the grid."""
        from rasterio.windows import Window

        rows, cols = array.shape
        self._open[key].write(
            array.astype("float32"), 1, window=Window(col_off, row_off, cols, rows)
        )

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for dst in self._open.values():
            dst.close()
        for path in self.paths.values():
            tmp = path.with_name(f".{path.name}.tmp")
            if exc_type is None:
                tmp.replace(path)
            else:
                tmp.unlink(missing_ok=True)
