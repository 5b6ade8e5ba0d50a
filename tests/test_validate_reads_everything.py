"""``geocarbon validate`` runs the whole read phase: the existing PV installations
(``pv.existing``) and the EV fleet (``charging.ev_fleet``) are opened and checked as ``run``
opens and checks them, so a corrupt file or an absent field fails ``validate`` (exit 2, one
message naming the file) and not only ``run``. A sound file validates (exit 0): the refusals
come from the file, not from the rest of the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import box

from tests.conftest import write_raster
from tests.hostile.conftest import X0, Y0, Sandbox, assert_refused, make_tiny_inputs


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """The tiny pipeline's two communes (46001 west, 46002 east, EPSG:3035) in a repository
    folder, the commands run from its root with a fake home."""
    repo = tmp_path / "repo"
    inputs = repo / "data_raw" / "tiny"
    make_tiny_inputs(inputs)
    (repo / "pipelines").mkdir()
    box_ = Sandbox(tmp_path, tmp_path / "home", repo, inputs, repo / "pipelines" / "tiny.yaml")
    box_.env = {"HOME": str(box_.home)}
    return box_


# --- rooftop PV: existing installations ------------------------------------------------------


def _pv_pipeline(sandbox: Sandbox, existing: dict[str, Any]) -> Path:
    """One flat-roofed building in commune 46001, a 1,200 kWh/m²/yr irradiation raster."""
    write_raster(
        sandbox.inputs / "ghi.tif",
        np.full((4, 4), 1200.0),
        transform=Affine(100, 0, X0, 0, -100, Y0),
        crs="EPSG:3035",
    )
    gpd.GeoDataFrame(
        {"id": ["a"], "altitude_minimale_toit": [10.0], "altitude_maximale_toit": [10.2]},
        geometry=[box(X0 + 10, Y0 - 50, X0 + 30, Y0 - 30)],
        crs="EPSG:3035",
    ).to_file(sandbox.inputs / "buildings.gpkg", layer="buildings")
    pv = {
        "buildings": {"path": "../data_raw/tiny/buildings.gpkg", "id_field": "id"},
        "irradiation_raster": "../data_raw/tiny/ghi.tif",
        "existing": {"path": "../data_raw/tiny/existing.gpkg", **existing},
    }
    return sandbox.write_pipeline(landcover=None, carbon=None, maps={"enabled": False}, pv=pv)


def _sound_existing(sandbox: Sandbox) -> None:
    """One 9 kWp installation over building ``a``."""
    gpd.GeoDataFrame(
        {"kwp": [9.0]}, geometry=[box(X0 + 5, Y0 - 55, X0 + 35, Y0 - 25)], crs="EPSG:3035"
    ).to_file(sandbox.inputs / "existing.gpkg", layer="existing")


def test_sound_existing_installations_validate(sandbox: Sandbox) -> None:
    _sound_existing(sandbox)
    result = sandbox.run("validate", _pv_pipeline(sandbox, {"kwp_field": "kwp"}))
    assert result.returncode == 0, result.stdout + result.stderr


def test_corrupt_existing_installations_fail_validate(sandbox: Sandbox) -> None:
    (sandbox.inputs / "existing.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x13" * 200)
    result = sandbox.run("validate", _pv_pipeline(sandbox, {"kwp_field": "kwp"}))
    assert_refused(result, "existing.gpkg")


def test_existing_installations_without_their_field_fail_validate(sandbox: Sandbox) -> None:
    _sound_existing(sandbox)
    result = sandbox.run("validate", _pv_pipeline(sandbox, {"kwp_field": "kWc"}))
    assert_refused(result, "existing.gpkg", "no field 'kWc'", "pv.existing.kwp_field")


# --- charging: EV fleet -----------------------------------------------------------------------


def _charging_pipeline(sandbox: Sandbox, fleet: str) -> Path:
    """One 22 kW point in commune 46001 (IRVE v2, in degrees) and an EV fleet file."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(
        X0 + 50, Y0 - 50
    )
    (sandbox.inputs / "irve.csv").write_text(
        "id_station_itinerance,id_pdc_itinerance,coordonneesXY,puissance_nominale\n"
        f'S1,P1,"[{lon:.7f}, {lat:.7f}]",22\n',
        encoding="utf-8",
    )
    (sandbox.inputs / "fleet.csv").write_bytes(fleet.encode("utf-8"))
    charging = {
        "points": {"path": "../data_raw/tiny/irve.csv"},
        "ev_fleet": {"path": "../data_raw/tiny/fleet.csv"},
    }
    return sandbox.write_pipeline(
        landcover=None, carbon=None, maps={"enabled": False}, charging=charging
    )


def test_sound_ev_fleet_validates(sandbox: Sandbox) -> None:
    fleet = "code_insee,bev,phev\n46001,10,4\n46002,3,1\n"
    result = sandbox.run("validate", _charging_pipeline(sandbox, fleet))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("fleet", "needles"),
    [
        # the battery EV column is absent
        ("code_insee,phev\n46001,4\n46002,1\n", ["bev"]),
        # a count that is text
        ("code_insee,bev,phev\n46001,dix,4\n46002,3,1\n", ["column 'bev'", "46001: 'dix'"]),
        # not a table at all: binary bytes
        ("\x00\x01\x02PK\x03\x04" * 20, []),
    ],
    ids=["absent-field", "text-count", "corrupt"],
)
def test_bad_ev_fleet_fails_validate(sandbox: Sandbox, fleet: str, needles: list[str]) -> None:
    result = sandbox.run("validate", _charging_pipeline(sandbox, fleet))
    assert_refused(result, "EV fleet", "fleet.csv", *needles)
