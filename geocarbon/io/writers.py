"""Atomic, deterministic writers.

A run writes every file into a temporary folder next to the output folder and renames
it into place only when everything succeeded (see :mod:`geocarbon.io.outdir`): a failed
run leaves no partial output (and leaves a previous run's output untouched).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio

if TYPE_CHECKING:
    from geocarbon.styles import LayerStyle

logger = logging.getLogger(__name__)

#: Timestamp written in GeoPackage metadata, so that identical runs give identical files.
GPKG_TIMESTAMP = "2000-01-01T00:00:00.000Z"


#: Columns holding counts (of buildings, points, communes, people...): written as integers
#: (nullable where a value can be empty) when every value they hold is a whole number.
COUNT_COLUMN = re.compile(
    r"^(pv_buildings|ev_points|ev_stations|ev_points_power_unknown|ev_points_\d+_\d+kw"
    r"|ev_points_over_\d+kw|communes|communes_in_run|communes_in_epci|communes_with_data"
    r"|population|ev_bev|ev_phev|buildings|points|stations)$"
)


def integer_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its count columns (:data:`COUNT_COLUMN`) as nullable integers (Int64).

    A column is left as it is when one of its values is not a whole number (a population
    estimated from a grid, say): it is then not a count of whole things.
    """
    out = frame
    for column in frame.columns:
        if not isinstance(column, str) or not COUNT_COLUMN.match(column):
            continue
        values = frame[column]
        if not (pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values)):
            continue
        if pd.api.types.is_bool_dtype(values) or str(values.dtype) == "Int64":
            continue
        numbers = values.to_numpy(dtype=float, na_value=float("nan"))
        finite = numbers[~pd.isna(numbers)]
        if not (finite == finite.round()).all() or not (abs(finite) < 2**53).all():
            continue
        if out is frame:
            out = frame.copy()
        out[column] = values.astype("Int64")
    return out


#: Columns of QGIS's ``layer_styles`` table, in QGIS's order (the table QGIS creates when a
#: style is saved into a GeoPackage, and reads the default style of a layer from).
LAYER_STYLES_COLUMNS = (
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
)


def layer_styles_frame(styles: list[LayerStyle]) -> pd.DataFrame:
    """Rows of the ``layer_styles`` table (schema and catalog empty, as QGIS queries them)."""
    stamp = pd.Timestamp(GPKG_TIMESTAMP.rstrip("Z"))
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": s.table,
            "f_geometry_column": s.geometry_column,
            "styleName": s.name,
            "styleQML": s.qml,
            "styleSLD": "",
            "useAsDefault": bool(s.default),
            "description": s.description,
            "owner": "",
            "ui": "",
            "update_time": stamp,
        }
        for s in styles
    ]
    frame = pd.DataFrame(rows, columns=list(LAYER_STYLES_COLUMNS))
    frame["useAsDefault"] = frame["useAsDefault"].astype(bool)
    return frame


def write_gpkg_layers(
    path: Path, layers: dict[str, pd.DataFrame], styles: list[LayerStyle] | None = None
) -> None:
    """Write (Geo)DataFrames as layers of one GeoPackage; attribute-only tables allowed.

    Count columns are written as integers (:func:`integer_counts`); ``styles`` go into the
    ``layer_styles`` table QGIS reads, so each layer opens with its default style.
    """
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        for name, frame in layers.items():
            frame = integer_counts(frame)
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
            else:
                pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
        if styles:
            pyogrio.write_dataframe(
                layer_styles_frame(styles),
                path,
                layer="layer_styles",
                driver="GPKG",
                layer_options={"FID": "id"},
            )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV, UTF-8, '.' decimal separator, no index; counts as whole numbers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    integer_counts(frame).to_csv(path, index=False, lineterminator="\n")


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


@dataclass(frozen=True)
class RasterBand:
    """What a GeoTIFF's band holds: its description, unit and colour scale."""

    description: str
    unit: str
    diverging: bool = False
    """Classes centred on zero (changes, flows)."""
    language: str = "fr"
    """Language of the style's legend."""


def raster_bands(language: str, start_year: int, end_year: int) -> dict[str, RasterBand]:
    """Bands of the carbon rasters (keys ``start``, ``end``, ``change``), in ``language``."""
    from geocarbon.labels import label

    lang: Any = language
    density = label("stock_tc_per_ha", lang)
    change = label("stock_change_tc_per_ha", lang)
    return {
        "start": RasterBand(f"{density} {start_year}", "tC/ha", language=language),
        "end": RasterBand(f"{density} {end_year}", "tC/ha", language=language),
        "change": RasterBand(
            f"{change} {start_year}–{end_year}", "tC/ha", diverging=True, language=language
        ),
    }


#: Overview factors built inside each GeoTIFF (the smallest kept above 256 pixels).
OVERVIEW_FACTORS = (2, 4, 8, 16, 32, 64)


def finish_geotiff(path: Path, band: RasterBand | None) -> None:
    """Give a written GeoTIFF internal overviews (average), its band description and unit,
    and a QML style beside it (``<name>.qml``, classes as on the maps).

    Parameters
    ----------
    path : Path
        The GeoTIFF, written and closed.
    band : RasterBand, optional
        Description, unit and scale of band 1 (no description, unit or style when None).
    """
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling

    from geocarbon.styles import band_classes, raster_qml

    with rasterio.open(path, "r+") as dst:
        factors = [f for f in OVERVIEW_FACTORS if min(dst.width, dst.height) // f >= 16]
        if factors:
            dst.build_overviews(factors, Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
        if band is not None:
            dst.set_band_description(1, band.description)
            dst.set_band_unit(1, band.unit)
    if band is None:
        return
    with rasterio.open(path) as src:
        overviews = src.overviews(1)
        factor = max([f for f in overviews if min(src.width, src.height) // f >= 256] or [1])
        sample = src.read(
            1,
            out_shape=(max(1, src.height // factor), max(1, src.width // factor)),
            masked=True,
        )
    values = np.ma.filled(sample.astype("float64"), np.nan)
    if not np.isfinite(values).any():
        return
    lang: Any = band.language
    classes = band_classes(values, diverging=band.diverging, language=lang)
    qml = raster_qml(
        list(classes.bins),
        list(classes.colors),
        list(classes.labels),
        diverging=bool(classes.diverging),
    )
    style = path.with_suffix(".qml")
    style.write_text(qml, encoding="utf-8")


class BlockRasterWriter:
    """Single-band GeoTIFFs written block by block (tiled, DEFLATE), each to a temporary
    file renamed on success; use as a context manager.

    On success each file gets internal overviews and, when ``bands`` describes it, its band
    description, unit and a QML style beside it (:func:`finish_geotiff`).
    """

    def __init__(
        self,
        paths: dict[str, Path],
        *,
        crs: Any,
        transform: Any,
        width: int,
        height: int,
        nodata: float,
        bands: Mapping[str, RasterBand] | None = None,
    ) -> None:
        self.paths = {k: Path(v) for k, v in paths.items()}
        self.bands = dict(bands or {})
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

    def __exit__(self, exc_type: object, *_exc: object) -> None:
        for dst in self._open.values():
            dst.close()
        for key, path in self.paths.items():
            tmp = path.with_name(f".{path.name}.tmp")
            if exc_type is None:
                finish_geotiff(tmp, self.bands.get(key))
                tmp.replace(path)
                written = tmp.with_suffix(".qml")
                if written.exists():
                    written.replace(path.with_suffix(".qml"))
            else:
                tmp.unlink(missing_ok=True)
