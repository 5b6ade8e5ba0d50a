"""Shared fixtures: tiny hand-made rasters and polygons, and the location of the real data."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
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


#: Fixtures that run a whole pipeline on the demo or the real data (10 s to a minute on the
#: 2-core test machine): the tests that use one are marked ``slow``.
SLOW_FIXTURES = frozenset(
    {
        "demo_out",
        "demo_out_en",
        "demo_run",
        "lot_out",
        "lot_charging_out",
        "lot_flows",
        "lot_runs",
        "france",
        "larochelle",
        "hostile_run",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=NO_SHARED)
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
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


# ----------------------------------------------------------------------------------------
# Outputs shared by the test modules: each run once per test process (xdist worker), read
# only. A test that needs to write copies the files or runs into its own tmp_path; the
# teardown fails if a test changed a shared output.


def _tree_sha256(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _read_only(out: Path) -> Iterator[Path]:
    before = _tree_sha256(out)
    yield out
    after = _tree_sha256(out)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"a test wrote into the shared output {out}: {changed[:10]}"


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``geocarbon demo`` with the shipped ``pipelines/demo.yaml`` (in a temporary copy of
    the repository layout): the output folder."""
    from click.testing import CliRunner

    from geocarbon.cli import main

    root = tmp_path_factory.mktemp("demo")
    (root / "pipelines").mkdir()
    shutil.copy(REPO / "pipelines" / "demo.yaml", root / "pipelines" / "demo.yaml")
    result = CliRunner().invoke(
        main, ["-q", "demo", "--pipeline", str(root / "pipelines" / "demo.yaml")]
    )
    assert result.exit_code == 0, result.output
    yield from _read_only(root / "outputs" / "demo")


@pytest.fixture(scope="session")
def lot_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped ``pipelines/lot.yaml`` on the shared data: the output folder."""
    out = run_shared_pipeline(
        REPO / "pipelines" / "lot.yaml",
        tmp_path_factory.mktemp("lot") / "out",
        SHARED / "lot" / "clc2018_100m.tif",
    )
    yield from _read_only(out)


@pytest.fixture(scope="session")
def lot_charging_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped ``pipelines/lot_charging.yaml`` on the shared data: the output folder."""
    out = run_shared_pipeline(
        REPO / "pipelines" / "lot_charging.yaml",
        tmp_path_factory.mktemp("lot_charging") / "out",
        SHARED / "lot" / "irve_stations_2022-12-05.gpkg",
    )
    yield from _read_only(out)
