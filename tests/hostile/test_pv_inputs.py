"""Rooftop PV auxiliary inputs: the installed power of existing installations (text, negative,
non-finite, implausible values refused; an absent field refused; one installation counted once)
and the irradiation raster (values in another unit refused by ``validate`` as by ``run``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from shapely.geometry import Point, box

from geocarbon.errors import InputError
from geocarbon.solar.checks import (
    MAX_EXISTING_KWP,
    existing_kwp_values,
    irradiation_problem,
    show_value,
)
from geocarbon.solar.roofs import installation_buildings
from tests.conftest import write_raster
from tests.hostile.conftest import X0, Y0, Sandbox, assert_refused, changed

OUT = "home/user/projects/territory/outputs"  # the output folder, relative to the sandbox root


def _pv_inputs(sandbox: Sandbox) -> None:
    """Four buildings (EPSG:3035, flat roofs), a 1,200 kWh/m²/yr raster over both communes.

    ``a`` (400 m²) and ``b`` (800 m²) in 46001 (west), ``c`` and ``d`` in 46002 (east).
    """
    gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "altitude_minimale_toit": [10.0] * 4,
            "altitude_maximale_toit": [10.2] * 4,
        },
        geometry=[
            box(X0 + 10, Y0 - 50, X0 + 30, Y0 - 30),
            box(X0 + 40, Y0 - 50, X0 + 80, Y0 - 30),
            box(X0 + 250, Y0 - 50, X0 + 270, Y0 - 30),
            box(X0 + 300, Y0 - 300, X0 + 320, Y0 - 280),
        ],
        crs="EPSG:3035",
    ).to_file(sandbox.inputs / "buildings.gpkg", layer="buildings")
    _raster(sandbox, "ghi.tif", 1200.0)


def _raster(sandbox: Sandbox, name: str, value: float) -> None:
    write_raster(
        sandbox.inputs / name,
        np.full((4, 4), value, dtype="float64"),
        transform=Affine(100, 0, X0, 0, -100, Y0),
        crs="EPSG:3035",
    )


def _existing(sandbox: Sandbox, kwp: list[Any], *, crs: str | None = "EPSG:3035") -> None:
    """Installations: I1 over ``a`` and ``b`` (b holds the larger part), I2 on the west
    quarter of ``c`` (away from its centre), I3 over no building."""
    gpd.GeoDataFrame(
        {"kwp": kwp, "name": ["I1", "I2", "I3"]},
        geometry=[
            box(X0 + 5, Y0 - 55, X0 + 85, Y0 - 25),
            box(X0 + 250, Y0 - 50, X0 + 255, Y0 - 30),
            box(X0 + 350, Y0 - 150, X0 + 380, Y0 - 120),
        ],
        crs=crs,
    ).to_file(sandbox.inputs / "existing.gpkg", layer="existing")


def _pipeline(sandbox: Sandbox, **pv: Any) -> Path:
    base: dict[str, Any] = {
        "buildings": {"path": "../data_raw/tiny/buildings.gpkg", "id_field": "id"},
        "irradiation_raster": "../data_raw/tiny/ghi.tif",
        "targets": [{"indicator": "pv_mwp", "value": 1.0, "year": 2030}],
    }
    return sandbox.write_pipeline(
        landcover=None, carbon=None, maps={"enabled": False}, pv={**base, **pv}
    )


def _check_refused(sandbox: Sandbox, pipeline: Path, *needles: str) -> None:
    """validate and run both refuse with the needles; nothing is written anywhere."""
    for command in ("validate", "run"):
        before = sandbox.digest()
        result = sandbox.run(command, pipeline)
        assert_refused(result, *needles, before=before, after=sandbox.digest())


EXISTING = {"path": "../data_raw/tiny/existing.gpkg", "kwp_field": "kwp"}


# --- existing installations, end to end -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwp", "needles"),
    [
        ([100.0, 1e12, 5.0], ["feature 2", "1e+12", "above 100,000 kWp"]),
        ([100.0, 9.0, -500.0], ["feature 3", "-500", "negative"]),
        (["100", "12 kWc", "5"], ["feature 2", "'12 kWc'", "text, not a number"]),
        ([math.inf, 9.0, 5.0], ["feature 1", "inf", "not a finite number"]),
    ],
)
def test_bad_existing_kwp_refused(sandbox: Sandbox, kwp: list[Any], needles: list[str]) -> None:
    _pv_inputs(sandbox)
    _existing(sandbox, kwp)
    pipeline = _pipeline(sandbox, existing=EXISTING)
    _check_refused(
        sandbox,
        pipeline,
        "existing.gpkg",
        "field 'kwp'",
        "MAX_EXISTING_KWP",
        "leave the cell empty",
        *needles,
    )


def test_absent_kwp_field_refused(sandbox: Sandbox) -> None:
    _pv_inputs(sandbox)
    _existing(sandbox, [100.0, 9.0, 5.0])
    pipeline = _pipeline(sandbox, existing={**EXISTING, "kwp_field": "kWc"})
    _check_refused(sandbox, pipeline, "existing.gpkg", "no field 'kWc'", "fields present: kwp, name", "set pv.existing.kwp_field")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize("key", ["existing", "exclusions"])
def test_validate_opens_existing_and_exclusions(sandbox: Sandbox, key: str) -> None:
    """A file without CRS is refused by validate as by run (validate used to skip pv.existing)."""
    _pv_inputs(sandbox)
    _existing(sandbox, [100.0, 9.0, 5.0], crs=None)
    zones = {"path": "../data_raw/tiny/existing.gpkg"}
    pv = (
        {"existing": {**zones, "kwp_field": "kwp"}}
        if key == "existing"
        else {"exclusions": [zones]}
    )
    _check_refused(
        sandbox, _pipeline(sandbox, **pv), "existing.gpkg", "no coordinate reference system"
    )


def _run_ok(sandbox: Sandbox, pipeline: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame, Path]:
    result = sandbox.run("-q", "run", pipeline)
    assert result.returncode == 0, result.stdout + result.stderr
    out = sandbox.repo / "outputs" / "tiny"
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes").set_index("commune_code")
    targets = pd.read_csv(out / "pv_targets.csv").set_index("indicator")
    return communes, targets, out


def test_one_installation_counted_once(sandbox: Sandbox) -> None:
    """I1 (100 kWp) covers a and b: counted once, on b (800 m² of it against 400 m² on a);
    I2 (9 kWp) covers a quarter of c, not its centre: still c's; I3 (5 kWp) touches no
    building: not counted, with a notice. 46001: 100 kWp, 46002: 9 kWp, territory 0.109 MWp
    (the per-building count gave 46001 200 kWp, 46002 0)."""
    _pv_inputs(sandbox)
    _existing(sandbox, [100.0, 9.0, 5.0])
    communes, targets, out = _run_ok(sandbox, _pipeline(sandbox, existing=EXISTING))
    assert communes.loc["46001", "pv_existing_kwp"] == pytest.approx(100.0)
    assert communes.loc["46002", "pv_existing_kwp"] == pytest.approx(9.0)
    assert targets.loc["pv_mwp", "existing"] == pytest.approx(0.109)
    assert targets.loc["pv_mwp", "gap_to_target"] == pytest.approx(1.0 - 0.109)
    b = gpd.read_file(out / "geocarbon.gpkg", layer="pv_buildings").set_index("building_id")
    assert b["existing_kwp"].to_dict() == {"a": 0.0, "b": 100.0, "c": 9.0, "d": 0.0}
    assert b["existing_installation"].to_dict() == {"a": True, "b": True, "c": True, "d": False}
    assert (b.loc[["a", "b", "c"], "excluded_reason"] == "existing installation").all()
    notices = {n["code"]: n for n in json.loads((out / "run.json").read_text())["notices"]}
    off = notices["existing_installations_off_buildings"]
    assert "1 existing installations touch no building (their 5.0 kWp" in off["message"]
    assert off["items"] == ["feature 3"]


def test_empty_kwp_is_unknown_with_a_notice(sandbox: Sandbox) -> None:
    """I2's power is empty: 46002's existing power is unknown (empty, not 0), and so is the
    territory's; 46001 keeps its 100 kWp."""
    _pv_inputs(sandbox)
    _existing(sandbox, [100.0, None, 5.0])
    communes, targets, out = _run_ok(sandbox, _pipeline(sandbox, existing=EXISTING))
    assert communes.loc["46001", "pv_existing_kwp"] == pytest.approx(100.0)
    assert communes["pv_existing_kwp"].isna().to_dict() == {"46001": False, "46002": True}
    assert targets["existing"].isna().to_dict() == {"pv_mwp": True}
    notices = {n["code"]: n for n in json.loads((out / "run.json").read_text())["notices"]}
    assert notices["existing_kwp_unknown"]["items"] == ["feature 2"]
    # validate says it too, and accepts the file
    result = sandbox.run("validate", _pipeline(sandbox, existing=EXISTING))
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "1 existing installations have no value in 'kwp'" in said, said


# --- irradiation raster, end to end -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        (-1378.0, ["-1,378 to -1,378", "cannot be negative", "nodata"]),
        (1e30, ["1e+30 to 1e+30", "nodata"]),
        (1_378_000.0, ["1,378,000 to 1,378,000", "Wh/m²/yr: divide them by 1000"]),
        (3.8, ["3.8 to 3.8", "kWh/m²/day: multiply them by 365"]),
    ],
)
def test_irradiation_in_another_unit_refused(
    sandbox: Sandbox, value: float, needles: list[str]
) -> None:
    _pv_inputs(sandbox)
    _raster(sandbox, "ghi.tif", value)
    _check_refused(
        sandbox,
        _pipeline(sandbox),
        "ghi.tif",
        "4 of 4 buildings",
        "allowed: 300 to 3,000 kWh/m²/yr",
        "MIN_IRRADIATION_KWH_PER_M2_YR",
        "MAX_IRRADIATION_KWH_PER_M2_YR",
        *needles,
    )


def test_valid_irradiation_validates(sandbox: Sandbox) -> None:
    _pv_inputs(sandbox)
    pipeline = _pipeline(sandbox)
    before = sandbox.digest()
    result = sandbox.run("validate", pipeline)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not changed(before, sandbox.digest())  # nothing created


# --- pure functions, hand-computed ------------------------------------------------------------


def test_existing_kwp_values_by_hand() -> None:
    values = pd.Series(["12,5", 3, None, "  ", np.nan, "0", 100_000.0], dtype=object)
    power, empty = existing_kwp_values(values, "f.gpkg", "kwp")
    assert power[[0, 1, 5, 6]].tolist() == [12.5, 3.0, 0.0, 100_000.0]
    assert np.isnan(power[[2, 3, 4]]).all()
    assert empty == [3, 4, 5]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("12 kWc", "'12 kWc' (text, not a number in kWp)"),
        (-0.5, "-0.5 (negative)"),
        (MAX_EXISTING_KWP + 1, "100,001 (above 100,000 kWp)"),
        (float("-inf"), "-inf (not a finite number)"),
        ("nan", "'nan' (not a finite number)"),
        (True, "True (not a number)"),
    ],
)
def test_existing_kwp_values_refused(value: Any, needle: str) -> None:
    with pytest.raises(InputError) as err:
        existing_kwp_values(pd.Series([5.0, value], dtype=object), "f.gpkg", "kwp")
    assert f"feature 2: {needle}" in str(err.value)
    assert "f.gpkg, field 'kwp'" in str(err.value) and "1 of 2 features" in str(err.value)


def test_existing_kwp_values_lists_five_and_counts_all() -> None:
    with pytest.raises(InputError) as err:
        existing_kwp_values(pd.Series([-1.0] * 7), "f.gpkg", "kwp")
    text = str(err.value)
    assert "7 of 7 features" in text and "feature 5: -1" in text and "feature 6" not in text
    assert "(and 2 more)" in text


def test_installation_buildings_by_hand() -> None:
    """Building 0: 10×10, building 1: 10×30 beside it; installation 0 overlaps 5×10 of
    building 0 (50 m²) and 5×10 of building 1 (50 m²): tie, the first; installation 1
    overlaps 2×10 of 0 (20 m²) and 8×10 of 1 (80 m²): building 1; installation 2 only
    touches building 1's far edge (no area): none; installation 3 is a point in building 1;
    installation 4 is far away; installation 5 is missing."""
    buildings = np.array([box(0, 0, 10, 10), box(10, 0, 20, 30), shapely.Polygon()], dtype=object)
    installations = np.array(
        [
            box(5, 0, 15, 10),
            box(8, 0, 18, 10),
            box(20, 0, 25, 5),
            Point(15, 20),
            box(100, 100, 110, 110),
            None,
        ],
        dtype=object,
    )
    assert installation_buildings(buildings, installations).tolist() == [0, 1, -1, 1, -1, -1]


def test_irradiation_problem_by_hand() -> None:
    ok = np.array([300.0, 1200.0, 3000.0, np.nan])
    assert irradiation_problem(ok) is None
    assert irradiation_problem(np.array([np.nan])) is None
    daily = irradiation_problem(np.array([3.8, 4.1, np.nan]))
    assert daily is not None
    assert "2 of 2 buildings" in daily and "3.8 to 4.1" in daily and "multiply them by 365" in daily
    wh = irradiation_problem(np.array([1_378_000.0, 1_400_000.0]))
    assert wh is not None and "divide them by 1000" in wh and "1,378,000 to 1,400,000" in wh
    # one building below the range among good ones: no unit guess, the generic fix
    mixed = irradiation_problem(np.array([1200.0, 299.0]))
    assert mixed is not None and "1 of 2 buildings" in mixed
    assert "give the annual global horizontal irradiation in kWh/m²/yr" in mixed
    huge = irradiation_problem(np.array([1e30]))
    assert huge is not None and "1e+30" in huge and "nodata" in huge


def test_show_value_keeps_what_was_read() -> None:
    assert [show_value(v) for v in (3.8, 1_378_000.0, 1e30, -500.0, 1234.5, math.inf)] == [
        "3.8",
        "1,378,000",
        "1e+30",
        "-500",
        "1,234.50",
        "inf",
    ]
