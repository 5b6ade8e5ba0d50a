"""Shared fixtures: tiny hand-made rasters and polygons, and the location of the real data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def write_pipeline(path: Path, data: dict[str, Any]) -> Path:
    """Write a pipeline YAML for a test."""
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_shared_pipeline(pipeline: Path, out: Path, needed: Path) -> Path:
    """Run a shipped pipeline on the shared data (skip when ``needed`` is absent)."""
    from click.testing import CliRunner

    from geocarbon.cli import main

    if not needed.is_file():
        pytest.skip(
            f"real public data not found at {SHARED} (set GEOCARBON_DATA to the shared data folder)"
        )
    env = {"GEOCARBON_DATA": str(SHARED)} if "GEOCARBON_DATA" not in os.environ else {}
    result = CliRunner(env=env).invoke(main, ["-q", "run", str(pipeline), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out
