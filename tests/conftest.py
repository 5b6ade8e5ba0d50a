"""Shared fixtures: tiny hand-made rasters and polygons, and the location of the real data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared public data: $GEOCARBON_DATA or ../shared/data beside the repository."""
    env = os.environ.get("GEOCARBON_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


SHARED = shared_data_dir()
HAVE_SHARED = (SHARED / "lot" / "clc2018_100m.tif").is_file() and (
    SHARED / "aldo" / "zpc.csv"
).is_file()
realdata = pytest.mark.skipif(
    not HAVE_SHARED,
    reason=f"real public data not found at {SHARED} (set GEOCARBON_DATA to the shared data folder)",
)


@pytest.fixture
def shared() -> Path:
    if not HAVE_SHARED:
        pytest.skip(f"real public data not found at {SHARED}")
    return SHARED


def write_raster(
    path: Path,
    array: np.ndarray,
    *,
    transform: Affine,
    crs: str | None = "EPSG:2154",
    nodata: float | None = None,
) -> Path:
    """Write a small single-band GeoTIFF for a test."""
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": array.shape[0],
        "width": array.shape[1],
        "count": 1,
        "dtype": array.dtype.name,
        "transform": transform,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


@pytest.fixture
def raster_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str, array: np.ndarray, **kwargs: Any) -> Path:
        return write_raster(tmp_path / name, array, **kwargs)

    return make


@pytest.fixture
def tiny_territory(tmp_path: Path) -> dict[str, Path]:
    """Two communes side by side over a 4 × 4 raster of 100 m pixels (Lambert-93).

    Raster (CLC codes), origin (600000, 6400400), 100 m pixels::

        211 211 311 311
        211 211 311 311
        112 141 312 312
        112 112 231 231

    Commune 46001 covers the two left columns, 46002 the two right ones.
    """
    x0, y0 = 600_000.0, 6_400_400.0
    t = Affine(100, 0, x0, 0, -100, y0)
    arr = np.array(
        [[211, 211, 311, 311], [211, 211, 311, 311], [112, 141, 312, 312], [112, 112, 231, 231]],
        dtype=np.uint16,
    )
    lc = write_raster(tmp_path / "lc.tif", arr, transform=t, nodata=0)
    from shapely.geometry import box

    communes = gpd.GeoDataFrame(
        {"code": ["46001", "46002"], "nom": ["Ouest", "Est"], "epci": ["200000001", "200000001"]},
        geometry=[box(x0, y0 - 400, x0 + 200, y0), box(x0 + 200, y0 - 400, x0 + 400, y0)],
        crs="EPSG:2154",
    )
    cpath = tmp_path / "communes.gpkg"
    communes.to_file(cpath, layer="communes")
    return {"landcover": lc, "communes": cpath, "dir": tmp_path}


def write_pipeline(path: Path, data: dict[str, Any]) -> Path:
    """Write a pipeline YAML for a test."""
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def tiny_pipeline(tiny_territory: dict[str, Path]) -> Callable[..., Path]:
    """Pipeline YAML over the tiny territory; keyword arguments update the mapping."""

    def make(**updates: Any) -> Path:
        d = tiny_territory["dir"]
        data: dict[str, Any] = {
            "name": "tiny",
            "output_dir": "out",
            "communes": {
                "path": "communes.gpkg",
                "code_field": "code",
                "name_field": "nom",
                "epci_field": "epci",
            },
            "landcover": {"path": "lc.tif"},
            "carbon": {"coefficients": "generic"},
        }
        for key, value in updates.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return write_pipeline(d / "pipeline.yaml", data)

    return make
