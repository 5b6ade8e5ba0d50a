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
NO_SHARED = f"real public data not found at {SHARED} (set GEOCARBON_DATA to the shared data folder)"
#: Tests on the shared public data: ``pytest -m realdata`` runs them, ``-m "not realdata"`` the
#: rest; skipped when the data is absent. Tests whose code, fixtures or the module functions
#: they call name the shared data (below) get the mark without the decorator.
realdata = pytest.mark.realdata
SHARED_NAMES = frozenset({"SHARED", "shared_data_dir", "run_shared_pipeline"})


def _names_shared_data(func: Any, seen: set[int]) -> bool:
    """Whether ``func`` (or a function of its module that it names, recursively) names the
    shared data folder."""
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    stack, names = [code], set()
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    if names & SHARED_NAMES:
        return True
    module = getattr(func, "__globals__", {})
    return any(_names_shared_data(module[n], seen) for n in names if callable(module.get(n)))


def _reads_shared_data(item: pytest.Item) -> bool:
    if item.get_closest_marker("realdata") is not None:
        return True
    seen: set[int] = set()
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else []:
        funcs.extend(d.func for d in defs)
    return any(_names_shared_data(f, seen) for f in funcs if f is not None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=NO_SHARED)
    for item in items:
        if _reads_shared_data(item):
            if item.get_closest_marker("realdata") is None:
                item.add_marker(realdata)
            if not HAVE_SHARED:
                item.add_marker(skip)


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
