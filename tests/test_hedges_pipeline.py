"""Hedges and agricultural practices through a whole run, on two hand-made communes, and on
the demo territory."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geocarbon.capabilities.carbon_hedges import line_layer
from geocarbon.cli import main
from geocarbon.errors import InputError
from tests.conftest import write_pipeline
from tests.hostile.conftest import make_tiny_inputs, tiny_pipeline_data

X0, Y0 = 3_600_000.0, 2_400_400.0  # EPSG:3035, 100 m pixels (see make_tiny_inputs)
C_TO_CO2 = 44 / 12


def _hedges(folder: Path) -> None:
    """Raster (CLC) of make_tiny_inputs, 46001 west of X0 + 200, 46002 east of it::

    211 211 | 311 311
    211 211 | 311 311
    112 141 | 312 312
    112 112 | 231 231
    """
    lines = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"]},
        geometry=[
            # 150 m on cropland in 46001, 150 m on forest (311) in 46002
            shapely.LineString([(X0 + 50, Y0 - 50), (X0 + 350, Y0 - 50)]),
            # 46001: 50 m on cropland, 100 m on CLC 141, 50 m on CLC 112
            shapely.LineString([(X0 + 150, Y0 - 150), (X0 + 150, Y0 - 350)]),
            # 46002: 140 m on grassland (231)
            shapely.LineString([(X0 + 250, Y0 - 350), (X0 + 390, Y0 - 350)]),
        ],
        crs="EPSG:3035",
    )
    lines.to_file(folder / "hedges.gpkg", layer="haies")
    # the 2012 layer in degrees: lengths are measured after reprojection (the category changes
    # only at the commune border along this line, so its lengths stay exact)
    lines.iloc[:1].to_crs("EPSG:4326").to_file(folder / "hedges_2012.geojson")


def _pipeline(folder: Path, **carbon: object) -> Path:
    data = tiny_pipeline_data()
    data["carbon"].update(carbon)
    data["flows"] = {"start_year": 2012, "end_year": 2018, "landcover_before": "lc.tif"}
    return write_pipeline(folder / "pipeline.yaml", data)


def test_hedges_and_practices_by_hand(tmp_path: Path) -> None:
    make_tiny_inputs(tmp_path)
    _hedges(tmp_path)
    pipeline = _pipeline(
        tmp_path,
        hedges={"path": "hedges.gpkg", "path_before": "hedges_2012.geojson"},
        practices=[
            {"practice": "catchCrops", "area_ha": 3, "level": "commune", "code": "46001"},
            {
                "practice": "prairieIntensification",
                "area_ha": 5,
                "level": "commune",
                "code": "46002",
            },
        ],
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes").set_index("commune_code")
    # lengths: 46001 = 150 + 200 m, of which 150 + 50 on cropland; 46002 = 150 + 140 m, 140 on grassland
    assert communes["hedge_length_km"].to_dict() == pytest.approx({"46001": 0.35, "46002": 0.29})
    assert communes["hedge_length_agricultural_km"].to_dict() == pytest.approx(
        {"46001": 0.2, "46002": 0.14}
    )
    assert communes["hedge_length_other_km"].to_dict() == pytest.approx(
        {"46001": 0.15, "46002": 0.15}
    )
    # stock: agricultural km x 101 tC/km (generic coefficients, ALDO's default)
    assert communes["stock_hedges_tc"].to_dict() == pytest.approx({"46001": 20.2, "46002": 14.14})
    stocks = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_stocks")
    hedges = stocks[stocks["pool"] == "hedges"]
    assert sorted(zip(hedges.commune_code, hedges.category, strict=True)) == [
        ("46001", "cropland"),
        ("46002", "grassland_herbaceous"),
    ]
    assert hedges["area_ha"].isna().all()
    # every length per commune and land use, with or without a stock
    lengths = gpd.read_file(out / "geocarbon.gpkg", layer="hedge_lengths")
    got = {(r.commune_code, r.category, r.stock_counted): r.length_km for r in lengths.itertuples()}
    assert got == pytest.approx(
        {
            ("46001", "cropland", True): 0.2,
            ("46001", "artificial", False): 0.05,  # CLC 112 (before the artificial split)
            ("46001", "artificial_wooded", False): 0.1,
            ("46002", "forest_broadleaf", False): 0.15,
            ("46002", "grassland_herbaceous", True): 0.14,
        }
    )
    # the total stock is the other pools plus the hedges
    others = [c for c in communes.columns if c.startswith("stock_") and c.endswith("_tc")]
    parts = communes[[c for c in others if c not in ("stock_tc", "stock_hedges_aerial_tc")]]
    assert communes["stock_tc"].to_numpy() == pytest.approx(parts.sum(axis=1).to_numpy())
    # flow: agricultural length 2012 -> 2018: 46001 0.15 -> 0.2 km, 46002 0 -> 0.14 km
    flows = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_flows")
    hedge_flows = flows[flows.flow_kind == "hedges"].set_index("commune_code")
    expected = {"46001": 0.05 / 6 * 101 * C_TO_CO2, "46002": 0.14 / 6 * 101 * C_TO_CO2}
    # (GeoJSON keeps degrees to about a centimetre: the 2012 length to within 1e-4)
    assert hedge_flows["flow_tco2e_per_yr"].to_dict() == pytest.approx(expected, rel=1e-4)
    assert set(hedge_flows["pcaet_category"]) == {"agricultural_soils"}
    seq = pd.read_csv(out / "sequestration.csv").set_index("level")
    # the land cover does not change: agricultural soils = the hedges alone; practices not in it
    assert seq.loc["territory", "agricultural_soils"] == pytest.approx(
        sum(expected.values()), rel=1e-4
    )
    # practices: a potential, apart: 0.24 x 3 x 44/12 and 0.39 x 5 x 44/12
    practices = pd.read_csv(out / "practices.csv")
    assert practices["potential_tco2e_per_yr"].tolist() == pytest.approx(
        [0.24 * 3 * C_TO_CO2, 0.39 * 5 * C_TO_CO2]
    )
    assert practices["available_area_ha"].tolist() == pytest.approx([4.0, 2.0])
    run = json.loads((out / "run.json").read_text())
    assert run["totals"]["hedge_length_km"] == pytest.approx(0.64)
    assert run["totals"]["stock_hedges_tc"] == pytest.approx(34.34)
    assert run["totals"]["practices_potential_tco2e_per_yr"] == pytest.approx(
        (0.24 * 3 + 0.39 * 5) * C_TO_CO2, abs=1e-3
    )
    notices = run["notices"]
    codes = {n["code"] for n in notices}
    # 5 ha of grassland intensification on 2 ha of grassland; 300 m off farmland
    assert {"practice_area_over_land", "hedges_off_agricultural_land"} <= codes
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Haies" in page and "Pratiques agricoles stockantes" in page


def test_a_layer_of_polygons_is_not_a_hedge_layer(tmp_path: Path) -> None:
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:2154").to_file(
        tmp_path / "h.gpkg", layer="haies"
    )
    with pytest.raises(InputError, match="not lines"):
        line_layer(tmp_path / "h.gpkg", None, "hedges", [])


def test_hedge_flow_needs_the_flows_period(tmp_path: Path) -> None:
    make_tiny_inputs(tmp_path)
    _hedges(tmp_path)
    data = {
        "name": "tiny",
        "output_dir": "out",
        "communes": {"path": "communes.gpkg", "code_field": "code"},
        "landcover": {"path": "lc.tif"},
        "carbon": {"hedges": {"path": "hedges.gpkg", "path_before": "hedges_2012.geojson"}},
    }
    result = CliRunner().invoke(main, ["-q", "run", str(write_pipeline(tmp_path / "p.yaml", data))])
    assert result.exit_code != 0
    assert "path_before" in result.output and "flows" in result.output
    assert not (tmp_path / "out" / "geocarbon.gpkg").exists()


def test_an_unknown_practice_or_unit_is_refused(tmp_path: Path) -> None:
    make_tiny_inputs(tmp_path)
    bad_id = _pipeline(tmp_path, practices=[{"practice": "catchcrop", "area_ha": 1}])
    result = CliRunner().invoke(main, ["-q", "run", str(bad_id)])
    assert result.exit_code != 0 and "catchCrops" in result.output
    bad_code = _pipeline(
        tmp_path,
        practices=[{"practice": "catchCrops", "area_ha": 1, "level": "commune", "code": "99999"}],
    )
    result = CliRunner().invoke(main, ["-q", "run", str(bad_code)])
    assert result.exit_code != 0 and "99999" in result.output
    assert not (tmp_path / "out" / "geocarbon.gpkg").exists()
    result = CliRunner().invoke(main, ["-q", "validate", str(bad_code)])
    assert result.exit_code != 0 and "99999" in result.output


def test_the_demo_gains_hedges_and_practices(demo_out: Path) -> None:
    communes = gpd.read_file(demo_out / "geocarbon.gpkg", layer="communes")
    hedges = communes["stock_hedges_tc"].sum()
    assert communes["hedge_length_km"].sum() > 50 and hedges > 0
    # the stock of the demo before hedges, unchanged: the change is the hedges pool alone
    assert round(communes["stock_tc"].sum() - hedges) == 6_438_587
    flows = gpd.read_file(demo_out / "geocarbon.gpkg", layer="carbon_flows")
    hedge_flow = flows.loc[flows.flow_kind == "hedges", "flow_tco2e_per_yr"].sum()
    assert hedge_flow < 0  # more hedges grubbed up than planted in the demo
    assert round(communes["flow_tco2e_per_yr"].sum() - hedge_flow) == 69_967
    practices = pd.read_csv(demo_out / "practices.csv")
    assert set(practices["practice"]) == {
        "catchCrops",
        "cropsHedges",
        "vineyardsInterCoverCropping",
    }
    page = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "id='hedges'" in page and "id='practices'" in page


def test_aldo_carbon_per_km_of_the_lot_in_a_run(tmp_path: Path, shared: Path) -> None:
    # the two hand-made communes carry Lot codes (46001, 46002): ALDO's 103.26 tC/km
    make_tiny_inputs(tmp_path)
    _hedges(tmp_path)
    pipeline = _pipeline(
        tmp_path, coefficients="aldo", aldo_dir=str(shared / "aldo"), hedges={"path": "hedges.gpkg"}
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code == 0, result.output
    communes = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="communes")
    communes = communes.set_index("commune_code")
    assert communes["stock_hedges_tc"].to_dict() == pytest.approx(
        {"46001": 0.2 * 103.255711587173, "46002": 0.14 * 103.255711587173}
    )
    assert communes["stock_hedges_aerial_tc"].to_dict() == pytest.approx(
        {"46001": 0.2 * 80.6685470724251, "46002": 0.14 * 80.6685470724251}
    )
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert "hedges_default_carbon_per_km" not in {n["code"] for n in run["notices"]}
