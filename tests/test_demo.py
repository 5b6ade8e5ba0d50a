"""The embedded demo territory: deterministic generation and a full run."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geocarbon.carbon.categories import CLC_CATEGORIES
from geocarbon.cli import main
from geocarbon.demo import make_demo_territory, write_demo_territory
from tests.conftest import REPO


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = write_demo_territory(tmp_path / "a")
    write_demo_territory(tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert {p.name for p in a.values()} == {
        "communes.gpkg",
        "landcover_clc2018_25m.tif",
        "landcover_clc2012_25m.tif",
        "forest_type_20m.tif",
        "buildings.gpkg",
        "weather_demo.epw",
        "irve_statique_demo.csv",
        "population_200m.tif",
        "ev_fleet.csv",
        "hedges_2018.gpkg",
        "hedges_2012.gpkg",
    }


def test_territory_is_realistic() -> None:
    t = make_demo_territory()
    c = t.communes
    assert 20 <= len(c) <= 50
    assert c["insee"].is_unique and c["insee"].str.fullmatch(r"99\d{3}").all()
    assert c.crs.to_epsg() == 2154
    assert c.geometry.is_valid.all() and (c.geometry.area > 1e6).all()
    # communes tile the territory: no overlap, no gap inside the outline
    union = c.geometry.union_all()
    assert c.geometry.area.sum() == pytest.approx(union.area, rel=1e-9)
    assert union.geom_type == "Polygon"
    assert c["epci"].nunique() == 3
    codes = set(np.unique(t.landcover).tolist())
    assert codes <= set(CLC_CATEGORIES)
    assert {112, 211, 231, 311, 312, 313, 141, 221, 511} <= codes
    assert set(np.unique(t.forest_type).tolist()) == {0, 1, 2, 3, 4}
    assert t.forest_transform.a != t.landcover_transform.a  # a different grid on purpose
    changed = t.landcover_before != t.landcover
    assert 0.003 < changed.mean() < 0.05  # a few per cent of the land changed in six years
    pairs = set(
        zip(t.landcover_before[changed].tolist(), t.landcover[changed].tolist(), strict=True)
    )
    assert {(211, 112), (231, 211), (311, 324), (231, 311), (311, 231), (411, 211)} <= pairs


@pytest.mark.slow
def test_demo_command_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    shutil.copy(REPO / "pipelines" / "demo.yaml", tmp_path / "pipelines" / "demo.yaml")
    pipeline = tmp_path / "pipelines" / "demo.yaml"
    result = CliRunner().invoke(main, ["-q", "demo", "--pipeline", str(pipeline)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "outputs" / "demo"
    assert (tmp_path / "data_raw" / "demo" / "communes.gpkg").is_file()
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes")
    assert len(communes) == 36
    # every pixel counted once: commune land-cover areas add up to the territory's area
    assert communes["landcover_area_ha"].sum() == pytest.approx(communes["area_ha"].sum(), rel=2e-3)
    assert communes["covered_share"].min() > 0.98
    assert (communes["stock_tc_per_ha"] > 30).all() and (communes["stock_tc_per_ha"] < 250).all()
    stocks = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_stocks")
    assert "forest_poplar" in set(stocks["category"])  # from the forest-type map
    assert (out / "maps" / "carbon_stocks.html").stat().st_size > 10_000
    assert (out / "maps" / "carbon_flows.html").stat().st_size > 10_000
    seq = pd.read_csv(out / "sequestration.csv")
    assert set(seq["level"]) == {"commune", "epci", "territory"}
    assert seq.loc[seq.level == "territory", "forest"].iloc[0] > 0  # forests grow
    assert seq.loc[seq.level == "territory", "other_soils"].iloc[0] < 0  # sprawl emits
    # rooftop PV on the generated buildings and weather
    b = gpd.read_file(out / "geocarbon.gpkg", layer="pv_buildings")
    assert len(b) > 5_000 and set(b.roof_type) == {"flat", "pitched", "unknown"}
    assert (communes["pv_kwp"] > 0).all()
    yields = pd.read_csv(out / "pv_yields.csv").set_index("case")["kwh_per_kwp"]
    assert 1_000 < yields["reference_south"] < 1_400
    assert (out / "maps" / "rooftop_pv.html").is_file() and (out / "pv_targets.csv").is_file()
    # charging points with the defects the demo file carries, population access, AFIR
    points = gpd.read_file(out / "geocarbon.gpkg", layer="charging_points")
    flags = set(";".join(points.qa_flags).split(";")) - {""}
    assert {"power_in_watts", "lat_lon_swapped", "connector_rows_merged"} <= flags
    table = pd.read_csv(out / "charging_indicators.csv")
    territory = table[table.level == "territory"].iloc[0]
    assert 0 < territory["ev_pop_share_within_5km"] <= 1 and territory["ev_kw_per_bev"] > 0
    assert (out / "maps" / "charging.html").is_file()
    # the territory report gathers every step
    page = (out / "report.html").read_text(encoding="utf-8")
    for heading in (  # in French, the report's default language
        "Stocks de carbone",
        "Flux de carbone 2012-2018",
        "Photovoltaïque en toiture",
        "Recharge publique",
        "Avertissements",
    ):
        assert heading in page
    for name in ("carbon_stocks.html", "carbon_flows.html", "rooftop_pv.html", "charging.html"):
        assert f"maps/{name}" in page
    # a second run gives the same files
    first = {
        p: (out / p).read_bytes()
        for p in (
            "geocarbon.gpkg",
            "carbon_stocks_summary.csv",
            "sequestration.csv",
            "pv_summary.csv",
            "charging_indicators.csv",
            "report.html",
            "maps/carbon_stocks.html",
            "maps/carbon_flows.html",
            "maps/rooftop_pv.html",
            "maps/charging.html",
            "rasters/stock_change_tc_per_ha_2012_2018.tif",
        )
    }
    result = CliRunner().invoke(main, ["-q", "demo", "--pipeline", str(pipeline)])
    assert result.exit_code == 0
    assert all((out / p).read_bytes() == data for p, data in first.items())
