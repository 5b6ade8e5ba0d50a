"""Burnt zones kept on disk between runs (``processing.zone_cache``,
:mod:`geocarbon.io.zone_store`): a later run reads them instead of burning, with the same
figures to the bit; a damaged or foreign file is never used; the key changes with the
shapes, the grid and the burning code."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from affine import Affine

import geocarbon.zonal as zonal
from geocarbon.geo import PixelAreaModel
from geocarbon.io import zone_store
from geocarbon.io.zone_store import ZoneStore
from geocarbon.zonal import ZonalResult, ZoneCache, zonal_crosstab
from tests.test_kernels import _assert_identical, _blocks, _random_case, _single_layer_case

pytest.importorskip("numba")

TRANSFORM = Affine(25, 0, 3_500_000, 0, -25, 2_500_000)
SHAPE = (90, 110)


def _case(seed: int = 9) -> tuple[gpd.GeoDataFrame, dict, dict, PixelAreaModel]:
    zones, layers, nodata = _random_case(seed, "EPSG:3035", TRANSFORM, SHAPE)
    pam = PixelAreaModel.for_grid("EPSG:3035", TRANSFORM, SHAPE[1], SHAPE[0])
    return zones, layers, nodata, pam


def _run(zones, layers, nodata, pam, cache: ZoneCache | None, engine: str = "numba", **kw):
    blocks = _blocks(layers, nodata, kw.pop("transform", TRANSFORM), SHAPE, 1_111)
    return zonal_crosstab(
        zones, blocks, pam, secondary=["forest"], engine=engine, cache=cache, **kw
    )


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _no_burning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zonal, "burn_zones", lambda *a, **k: pytest.fail("zones burnt again"))


def test_a_later_process_reads_the_burnt_zones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first run burns and keeps one file; a new cache with the same folder (a new
    process) burns nothing and gives the NumPy kernels' figures, bit for bit -- the zones
    read again as new objects (the layer read again from its file)."""
    zones, layers, nodata, pam = _case()
    reference = _run(zones, layers, nodata, pam, None, engine="numpy")
    folder = tmp_path / "zones"  # created when the first file is saved
    _assert_identical(
        _run(zones, layers, nodata, pam, ZoneCache(store=ZoneStore(folder))), reference
    )
    (name,) = _files(folder)
    assert name.startswith("geocarbon-zones-") and name.endswith(".npz")
    saved = (folder / name).stat().st_mtime_ns

    again = zones.set_geometry(shapely.from_wkb(shapely.to_wkb(zones.geometry.values)))
    with monkeypatch.context() as m:
        _no_burning(m)
        _assert_identical(
            _run(again, layers, nodata, pam, ZoneCache(store=ZoneStore(folder))), reference
        )
    assert _files(folder) == [name]
    assert (folder / name).stat().st_mtime_ns == saved  # nothing new burnt: not rewritten


def test_the_dense_table_from_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One land-cover layer of 8-bit codes (the dense commune x class table) over stored
    zones: the same figures as the NumPy kernels."""
    zones, transform, layers, nodata = _single_layer_case(3, "uint8", SHAPE)
    pam = PixelAreaModel.for_grid("EPSG:3035", transform, SHAPE[1], SHAPE[0])

    def run(engine: str, cache: ZoneCache | None) -> ZonalResult:
        blocks = _blocks(layers, nodata, transform, SHAPE, 2_000)
        return zonal_crosstab(zones, blocks, pam, engine=engine, cache=cache)

    reference = run("numpy", None)
    _assert_identical(run("numba", ZoneCache(store=ZoneStore(tmp_path))), reference)
    _no_burning(monkeypatch)
    _assert_identical(run("numba", ZoneCache(store=ZoneStore(tmp_path))), reference)


def test_other_shapes_grid_or_code_find_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key follows the shapes (one vertex moved), the grid (one pixel's shift) and the
    burning code: each change burns again into a file of its own."""
    zones, layers, nodata, pam = _case()
    store = ZoneStore(tmp_path)
    _run(zones, layers, nodata, pam, ZoneCache(store=store))
    assert len(_files(tmp_path)) == 1

    moved = zones.copy()
    moved.loc[moved.index[0], "geometry"] = shapely.affinity.translate(
        moved.geometry.iloc[0], xoff=1.0
    )
    reference = _run(moved, layers, nodata, pam, None, engine="numpy")
    _assert_identical(_run(moved, layers, nodata, pam, ZoneCache(store=store)), reference)
    assert len(_files(tmp_path)) == 2

    shifted = TRANSFORM * Affine.translation(1, 0)
    pam_shifted = PixelAreaModel.for_grid("EPSG:3035", shifted, SHAPE[1], SHAPE[0])
    reference = _run(zones, layers, nodata, pam_shifted, None, engine="numpy", transform=shifted)
    result = _run(zones, layers, nodata, pam_shifted, ZoneCache(store=store), transform=shifted)
    _assert_identical(result, reference)
    assert len(_files(tmp_path)) == 3

    digest = zonal.geometry_digest(np.asarray(zones.geometry.values))
    grid = tuple(TRANSFORM)[:6]
    key = store.key(digest, grid)
    monkeypatch.setattr(zone_store, "_code_digest", lambda: b"another burning code")
    assert ZoneStore(tmp_path).key(digest, grid) != key


def test_a_damaged_file_is_not_used_and_is_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A byte changed in the stored runs: the checksum refuses the file (a warning names
    it), the zones are burnt again, the figures are right, and the file is rewritten."""
    zones, layers, nodata, pam = _case()
    reference = _run(zones, layers, nodata, pam, None, engine="numpy")
    _run(zones, layers, nodata, pam, ZoneCache(store=ZoneStore(tmp_path)))
    (path,) = tmp_path.iterdir()
    with np.load(path) as data:
        arrays = {name: data[name].copy() for name in data.files}
    arrays["run_val"][len(arrays["run_val"]) // 2] += 1  # another zone for one run
    np.savez(path, **arrays)

    with caplog.at_level(logging.WARNING, logger="geocarbon.io.zone_store"):
        result = _run(zones, layers, nodata, pam, ZoneCache(store=ZoneStore(tmp_path)))
    _assert_identical(result, reference)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in warning and "damaged" in warning
    store = ZoneStore(tmp_path)
    key = path.name.removeprefix("geocarbon-zones-").removesuffix(".npz")
    assert store.load(key, len(zones)) is not None  # replaced by a good file


@pytest.mark.parametrize("damage", ["truncated", "not a zip", "other key", "more zones"])
def test_unusable_files_are_refused(tmp_path: Path, damage: str) -> None:
    zones, layers, nodata, pam = _case()
    store = ZoneStore(tmp_path)
    _run(zones, layers, nodata, pam, ZoneCache(store=store))
    (path,) = tmp_path.iterdir()
    key = path.name.removeprefix("geocarbon-zones-").removesuffix(".npz")
    n_zones = len(zones)
    assert store.load(key, n_zones) is not None
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif damage == "not a zip":
        path.write_text("a file the user put there")
    elif damage == "other key":
        path.rename(store.path("0" * 40))
        key = "0" * 40
    else:  # runs numbering more zones than the communes given
        n_zones = 3
    assert store.load(key, n_zones) is None


def test_a_store_that_cannot_be_written_warns_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    zones, layers, nodata, pam = _case()
    reference = _run(zones, layers, nodata, pam, None, engine="numpy")
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="geocarbon.io.zone_store"):
        result = _run(zones, layers, nodata, pam, ZoneCache(store=ZoneStore(blocked / "zones")))
    _assert_identical(result, reference)
    assert any("could not be kept" in r.getMessage() for r in caplog.records)
    assert _files(tmp_path) == ["a file"]


def test_a_pass_that_fails_keeps_nothing(tmp_path: Path) -> None:
    """An error while counting (a float layer with a fraction): no file is written."""
    from geocarbon.errors import InputError

    zones, layers, nodata, pam = _case()
    layers = dict(layers)
    before = layers["before"].copy()
    before[-1, -1] = 11.5
    layers["before"] = before
    blocks = _blocks(layers, nodata, TRANSFORM, SHAPE, 1_111)
    with pytest.raises(InputError):
        zonal_crosstab(
            zones,
            blocks,
            pam,
            secondary=["before"],
            engine="numba",
            cache=ZoneCache(store=ZoneStore(tmp_path)),
        )
    assert _files(tmp_path) == []


def test_round_trip_keeps_every_block_exactly(tmp_path: Path) -> None:
    from geocarbon import kernels

    rng = np.random.default_rng(4)
    blocks = {}
    for row_off, cols in ((0, 30), (7, 12), (9, 1)):
        burnt = np.repeat(rng.integers(0, 6, size=(row_off + 2, cols)), 1, axis=1)
        blocks[(row_off, 0, row_off + 2, cols)] = kernels.encode_runs(burnt.astype(np.int32))
    store = ZoneStore(tmp_path / "a" / "b")
    key = store.key(b"shapes", tuple(TRANSFORM)[:6])
    store.save(key, blocks)
    loaded = store.load(key, 5)
    assert loaded is not None and sorted(loaded) == sorted(blocks)
    for window, runs in blocks.items():
        for mine, theirs in zip(loaded[window], runs, strict=True):
            assert mine.dtype == theirs.dtype
            np.testing.assert_array_equal(mine, theirs)
    assert store.load(key, 4) is None  # a run of zone 5 (value 6) with only 4 zones
    assert _files(tmp_path / "a" / "b") == [store.path(key).name]  # no temporary file left


# --- the pipeline: processing.zone_cache ---


def _lot_pipeline(folder: Path, zone_cache: str) -> Path:
    from tests.conftest import REPO, SHARED

    text = (REPO / "pipelines" / "lot.yaml").read_text(encoding="utf-8")
    text = text.replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED))
    text = text.replace("output_dir: ../outputs/lot", "output_dir: out")
    path = folder / "lot.yaml"
    path.write_text(f"{text}\nprocessing:\n  zone_cache: {zone_cache}\n", encoding="utf-8")
    return path


def test_lot_twice_with_a_zone_cache(
    lot_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lot with the compiled engine and ``processing.zone_cache`` (relative to the
    pipeline file): the first run keeps its communes burnt on the land cover's grid, a
    later run (a new process: no cache in memory) reads them and burns nothing; every
    output file is the same bytes as the shipped pipeline's (run.json apart)."""
    from click.testing import CliRunner

    from geocarbon.capabilities import carbon_step
    from geocarbon.cli import main
    from geocarbon.kernels import ENGINE_ENV
    from tests.conftest import _tree_sha256

    monkeypatch.setenv(ENGINE_ENV, "numba")
    pipeline = _lot_pipeline(tmp_path, "cache/zones")
    expected = {k: v for k, v in _tree_sha256(lot_out).items() if k != "run.json"}
    for run in ("first", "later"):
        monkeypatch.setattr(carbon_step, "_STORED_CACHES", {})  # a new process
        out = tmp_path / run
        with monkeypatch.context() as m:
            if run == "later":
                _no_burning(m)
            result = CliRunner().invoke(
                main, ["-q", "run", str(pipeline), "--output-dir", str(out)]
            )
        assert result.exit_code == 0, result.output
        assert {k: v for k, v in _tree_sha256(out).items() if k != "run.json"} == expected
        (name,) = _files(tmp_path / "cache" / "zones")
        assert name.startswith("geocarbon-zones-")


def test_an_output_folder_holding_the_zone_cache_is_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from geocarbon.cli import main

    pipeline = _lot_pipeline(tmp_path, "out/zones")
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code == 2, result.output
    assert "zone cache processing.zone_cache" in result.output
    assert not (tmp_path / "out").exists()


def test_temporary_files_of_a_killed_run_are_removed_and_nothing_else(tmp_path: Path) -> None:
    import os
    import time

    store = ZoneStore(tmp_path)
    key = store.key(b"shapes", tuple(TRANSFORM)[:6])
    old = tmp_path / f".{store.path('a' * 40).name}.tmp-x1y2"  # left by a killed run
    fresh = tmp_path / f".{store.path('b' * 40).name}.tmp-x3y4"  # another run writing now
    mine = tmp_path / ".geocarbon-zones-notes.txt"  # not geocarbon's
    for path in (old, fresh, mine):
        path.write_bytes(b"x")
    past = time.time() - zone_store.STALE_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(mine, (past, past))
    store.save(key, {})
    assert _files(tmp_path) == sorted([fresh.name, mine.name, store.path(key).name])
