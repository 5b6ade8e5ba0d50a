"""End to end on a tiny hand-made territory: hand-computed stocks, output contract,
determinism, and one clear message with no output for each kind of bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import Polygon, box

from geocarbon.cli import main
from geocarbon.io.coefficients import read_generic_table
from tests.conftest import write_raster
from tests.hostile.conftest import make_tiny_inputs, tiny_pipeline_data

X0, Y0 = 3_600_000.0, 2_400_400.0  # EPSG:3035: 100 m pixels are exactly 1 ha


@pytest.fixture
def tiny(tmp_path: Path):
    """Two communes over a 4 x 4 raster of 1 ha pixels (LAEA Europe); see
    :func:`tests.hostile.conftest.make_tiny_inputs`."""
    communes, t = make_tiny_inputs(tmp_path)

    def pipeline(**updates):
        data = tiny_pipeline_data()
        for key, value in updates.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) and key in data else value
        from tests.conftest import write_pipeline

        return write_pipeline(tmp_path / "pipeline.yaml", data)

    return tmp_path, pipeline, communes, t


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _category_areas(out_dir: Path, commune: str) -> dict[str, float]:
    """Area [ha] of each stock category of a commune, from the carbon_stocks layer."""
    stocks = gpd.read_file(out_dir / "geocarbon.gpkg", layer="carbon_stocks")
    rows = stocks[stocks.commune_code == commune].drop_duplicates("category")
    return rows.set_index("category")["area_ha"].to_dict()


def _generic_totals() -> dict[str, float]:
    table, _ = read_generic_table()
    return table.groupby("category")["stock_tc_per_ha"].sum().to_dict()


def test_tiny_territory_hand_computed(tiny) -> None:
    d, pipeline, _, _ = tiny
    code, out = _run("-q", "run", str(pipeline()))
    assert code == 0, out
    gpkg = d / "out" / "geocarbon.gpkg"
    communes = gpd.read_file(gpkg, layer="communes").set_index("commune_code")
    landuse = gpd.read_file(gpkg, layer="landuse_areas")
    # land use: 46001 = 4 ha cropland (211), 3 ha artificial (112), 1 ha CLC 141
    west = landuse[landuse.commune_code == "46001"].set_index("landuse_code")["area_ha"].to_dict()
    assert west == pytest.approx({112: 3.0, 141: 1.0, 211: 4.0})
    # artificial split: T = 4, W = 1 >= 0.2 T -> sealed = A = 3, grassed = 0, wooded = 1
    assert _category_areas(d / "out", "46001") == pytest.approx(
        {"artificial_sealed": 3.0, "artificial_wooded": 1.0, "cropland": 4.0}
    )
    tot = _generic_totals()
    expected_w = 4 * tot["cropland"] + 3 * tot["artificial_sealed"] + 1 * tot["artificial_wooded"]
    expected_e = (
        4 * tot["forest_broadleaf"] + 2 * tot["forest_conifer"] + 2 * tot["grassland_herbaceous"]
    )
    assert communes.loc["46001", "stock_tc"] == pytest.approx(expected_w)
    assert communes.loc["46002", "stock_tc"] == pytest.approx(expected_e)
    assert communes.loc["46002", "stock_tc_per_ha"] == pytest.approx(expected_e / 8)
    assert communes["area_ha"].tolist() == pytest.approx([8.0, 8.0])
    assert communes["covered_share"].tolist() == pytest.approx([1.0, 1.0])
    pools = communes[
        ["stock_soil_tc", "stock_litter_tc", "stock_live_biomass_tc", "stock_dead_wood_tc"]
    ].sum(axis=1)
    np.testing.assert_allclose(pools, communes["stock_tc"])
    summary = (d / "out" / "carbon_stocks_summary.csv").read_text()
    assert summary.startswith("category,category_aldo,pool,area_ha,stock_tc,stock_tc_per_ha")
    run = json.loads((d / "out" / "run.json").read_text())
    assert (
        run["inputs"]["landcover"]["sha256"]
        == hashlib.sha256((d / "lc.tif").read_bytes()).hexdigest()
    )
    assert set(run["timings_s"]) >= {"read_inputs", "zonal", "stocks", "write"}
    assert run["totals"]["stock_tc"] == pytest.approx(expected_w + expected_e, rel=1e-6)
    html = (d / "out" / "maps" / "carbon_stocks.html").read_text()
    # the map speaks the report's language (French by default)
    assert "Densité de carbone (tC/ha)" in html and "Ouest" in html and "46002" in html


def test_output_contract_columns(tiny) -> None:
    d, pipeline, _, _ = tiny
    assert _run("-q", "run", str(pipeline()))[0] == 0
    gpkg = d / "out" / "geocarbon.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert set(layers) == {"communes", "landuse_areas", "carbon_stocks", "layer_styles"}
    cols = {name: set(pyogrio.read_info(gpkg, layer=name)["fields"]) for name in layers}
    assert cols["communes"] >= {
        "commune_code", "commune_name", "epci_code", "area_ha", "covered_share", "stock_tc", "stock_tc_per_ha",
        "stock_soil_tc", "stock_litter_tc", "stock_live_biomass_tc", "stock_dead_wood_tc",
    }  # fmt: skip
    assert cols["landuse_areas"] >= {"commune_code", "landuse_code", "category", "area_ha"}
    assert cols["carbon_stocks"] >= {
        "commune_code",
        "category",
        "pool",
        "area_ha",
        "ref_stock_tc_per_ha",
        "stock_tc",
    }


def test_outputs_are_deterministic(tiny) -> None:
    d, pipeline, _, _ = tiny
    p = pipeline()
    assert _run("-q", "run", str(p), "--output-dir", str(d / "a"))[0] == 0
    assert _run("-q", "run", str(p), "--output-dir", str(d / "b"))[0] == 0
    for rel in ("geocarbon.gpkg", "carbon_stocks_summary.csv", "maps/carbon_stocks.html"):
        assert (d / "a" / rel).read_bytes() == (d / "b" / rel).read_bytes(), rel


def test_existing_output_needs_overwrite(tiny) -> None:
    d, pipeline, _, _ = tiny
    p = pipeline()
    assert _run("-q", "run", str(p))[0] == 0
    before = (d / "out" / "geocarbon.gpkg").read_bytes()
    code, out = _run("-q", "run", str(p))
    assert code != 0 and "--overwrite" in out
    assert (d / "out" / "geocarbon.gpkg").read_bytes() == before
    assert _run("-q", "run", str(p), "--overwrite")[0] == 0


def test_failure_while_writing_leaves_no_partial_output(tiny, monkeypatch) -> None:
    d, pipeline, _, _ = tiny
    import geocarbon.capabilities.carbon_step as pl
    from geocarbon.errors import OutputError

    def boom(*_a, **_k):
        raise OutputError("simulated failure while rendering the map")

    monkeypatch.setattr(pl, "choropleth_map", boom)
    code, out = _run("-q", "run", str(pipeline()))
    assert code != 0 and "simulated failure" in out
    assert sorted(p.name for p in d.iterdir() if p.name.startswith((".out", "out"))) == []


def _assert_fails(d: Path, pipeline_path: Path, *needles: str) -> None:
    code, out = _run("-q", "run", str(pipeline_path))
    assert code != 0, out
    flat = " ".join(out.split())
    for needle in needles:
        assert needle in flat, flat
    assert "Traceback" not in out
    assert not (d / "out").exists()


def test_bad_input_missing_file(tiny) -> None:
    d, pipeline, _, _ = tiny
    _assert_fails(
        d, pipeline(landcover={"path": "nope.tif"}), "land cover: file not found", "nope.tif"
    )


def test_bad_input_raster_without_crs(tiny) -> None:
    d, pipeline, _, t = tiny
    write_raster(d / "nocrs.tif", np.full((4, 4), 211, dtype=np.uint16), transform=t, crs=None)
    _assert_fails(
        d, pipeline(landcover={"path": "nocrs.tif"}), "no coordinate reference system", "nocrs.tif"
    )


def test_bad_input_vector_without_crs(tiny) -> None:
    d, pipeline, communes, _ = tiny
    communes.set_crs(None, allow_override=True).to_file(d / "nocrs.shp")  # no .prj
    _assert_fails(
        d, pipeline(communes={"path": "nocrs.shp"}), "communes:", "no coordinate reference system"
    )


def test_bad_input_projected_geojson_read_as_wgs84(tiny) -> None:
    d, pipeline, communes, _ = tiny
    communes.set_crs(None, allow_override=True).to_file(d / "nocrs.geojson")  # read back as WGS 84
    _assert_fails(d, pipeline(communes={"path": "nocrs.geojson"}), "not longitudes/latitudes")


def test_bad_input_no_overlap(tiny) -> None:
    d, pipeline, communes, _ = tiny
    communes.set_geometry(communes.translate(50_000, 0)).to_file(d / "far.gpkg", layer="communes")
    _assert_fails(d, pipeline(communes={"path": "far.gpkg"}), "do not overlap")


def test_bad_input_duplicate_codes(tiny) -> None:
    d, pipeline, communes, _ = tiny
    communes.assign(code="46001").to_file(d / "dup.gpkg", layer="communes")
    _assert_fails(d, pipeline(communes={"path": "dup.gpkg"}), "duplicate commune codes", "46001")


def test_bad_input_unknown_class(tiny) -> None:
    d, pipeline, _, t = tiny
    arr = np.full((4, 4), 211, dtype=np.uint16)
    arr[0, 0] = 700
    write_raster(d / "odd.tif", arr, transform=t, crs="EPSG:3035", nodata=0)
    _assert_fails(
        d, pipeline(landcover={"path": "odd.tif"}), "absent from the nomenclature", "700 (1.0 ha)"
    )
    code, out = _run("validate", str(pipeline(landcover={"path": "odd.tif"})))
    assert code != 0 and "700" in out


def test_bad_input_non_integer_float_raster(tiny) -> None:
    d, pipeline, _, t = tiny
    write_raster(
        d / "cont.tif", np.full((4, 4), 0.37, dtype="float32"), transform=t, crs="EPSG:3035"
    )
    _assert_fails(d, pipeline(landcover={"path": "cont.tif"}), "non-integer values")


def test_bad_input_unknown_yaml_key(tiny) -> None:
    d, pipeline, _, _ = tiny
    _assert_fails(
        d, pipeline(landcover={"path": "lc.tif", "nodata": 0}), "unknown key 'landcover.nodata'"
    )


def test_bad_input_output_not_writable(tiny) -> None:
    d, pipeline, _, _ = tiny
    (d / "afile").write_text("not a folder")
    code, out = _run("-q", "run", str(pipeline(output_dir="afile/out")))
    assert code != 0 and "not writable" in " ".join(out.split())


def test_float_raster_with_nan_nodata(tiny) -> None:
    """NaN is nodata (never a class); communes on NaN pixels report covered_share < 1."""
    d, pipeline, _, t = tiny
    arr = np.array(
        [
            [211, 211, 311, 311],
            [211, 211, 311, 311],
            [112, 141, np.nan, np.nan],
            [112, 112, 231, 231],
        ],
        dtype="float32",
    )
    write_raster(d / "f.tif", arr, transform=t, crs="EPSG:3035", nodata=np.nan)
    code, out = _run("-q", "run", str(pipeline(landcover={"path": "f.tif"})))
    assert code == 0, out
    communes = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    assert communes.loc["46002", "covered_share"] == pytest.approx(0.75)  # 6 of 8 pixels valid
    assert communes.loc["46002", "landcover_area_ha"] == pytest.approx(6.0)
    run = json.loads((d / "out" / "run.json").read_text())
    assert any(
        n["code"] == "commune_low_coverage" and "46002 (75.0%)" in n["items"]
        for n in run["notices"]
    )


def test_commune_partly_outside_raster_is_reported(tiny) -> None:
    d, pipeline, communes, _ = tiny
    wide = communes.copy()
    wide.loc[1, "geometry"] = box(X0 + 200, Y0 - 400, X0 + 600, Y0)  # half of it east of the raster
    wide.to_file(d / "wide.gpkg", layer="communes")
    assert _run("-q", "run", str(pipeline(communes={"path": "wide.gpkg"})))[0] == 0
    communes_out = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    assert communes_out.loc["46002", "covered_share"] == pytest.approx(0.5)
    assert communes_out.loc["46002", "area_ha"] == pytest.approx(16.0)
    run = json.loads((d / "out" / "run.json").read_text())
    assert any(n["code"] == "commune_outside_raster" for n in run["notices"])


def test_invalid_geometry_is_repaired_and_listed(tiny) -> None:
    d, pipeline, communes, _ = tiny
    bad = communes.copy()
    # west commune drawn as a bow-tie over its square: invalid, repaired into two triangles
    bad.loc[0, "geometry"] = Polygon(
        [(X0, Y0), (X0 + 200, Y0 - 400), (X0 + 200, Y0), (X0, Y0 - 400)]
    )
    bad.to_file(d / "bad.gpkg", layer="communes")
    assert _run("-q", "run", str(pipeline(communes={"path": "bad.gpkg"})))[0] == 0
    run = json.loads((d / "out" / "run.json").read_text())
    repaired = [n for n in run["notices"] if n["code"] == "commune_geometry_repaired"]
    assert repaired and repaired[0]["items"][0].startswith("46001")


def test_validate_command(tiny) -> None:
    d, pipeline, _, _ = tiny
    code, out = _run("validate", str(pipeline()))
    assert code == 0 and "valid" in out
    assert not (d / "out").exists()


def test_forest_map_on_another_grid(tiny) -> None:
    """The forest map types land-cover forest pixels; its grid differs (nearest alignment)."""
    d, pipeline, _, _ = tiny
    # 200 m forest-type pixels: the east half's top-right 2x2 block is poplar (4), the
    # bottom-right block conifer (2); land-cover forest pixels are the 311 and 312 ones
    ft = np.array([[0, 4], [0, 2]], dtype=np.uint8)
    write_raster(
        d / "ft.tif", ft, transform=Affine(200, 0, X0, 0, -200, Y0), crs="EPSG:3035", nodata=0
    )
    p = pipeline(forest_map={"path": "ft.tif"})
    assert _run("-q", "run", str(p))[0] == 0
    east = _category_areas(d / "out", "46002")
    # 311 x 4 under poplar -> poplar; 312 x 2 under conifer -> conifer; 231 x 2 stays grassland
    assert east == pytest.approx(
        {"forest_poplar": 4.0, "forest_conifer": 2.0, "grassland_herbaceous": 2.0}
    )


def test_geographic_raster_gives_true_areas(tmp_path: Path) -> None:
    """A land cover in longitude/latitude: communes are reprojected to it, areas stay true."""
    t = Affine(0.001, 0, 1.0, 0, -0.001, 44.6)  # 0.001° pixels (~80 x 111 m) near Cahors
    arr = np.full((200, 300), 311, dtype=np.uint16)
    arr[:, 150:] = 211
    write_raster(tmp_path / "geo.tif", arr, transform=t, crs="EPSG:4326", nodata=0)
    communes = gpd.GeoDataFrame(
        {"code": ["46001", "46002"], "nom": ["A", "B"]},
        geometry=[box(1.02, 44.45, 1.15, 44.58), box(1.15, 44.45, 1.28, 44.58)],
        crs="EPSG:4326",
    ).to_crs("EPSG:2154")
    communes.to_file(tmp_path / "c.gpkg", layer="communes")
    from tests.conftest import write_pipeline

    p = write_pipeline(
        tmp_path / "p.yaml",
        {
            "name": "geo",
            "output_dir": "out",
            "communes": {"path": "c.gpkg"},
            "landcover": {"path": "geo.tif"},
        },
    )
    code, out = _run("-q", "run", str(p))
    assert code == 0, out
    res = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="communes")
    # pixel areas on the ellipsoid: land-cover area matches the commune's true area
    np.testing.assert_allclose(res["landcover_area_ha"], res["area_ha"], rtol=0.01)
    # 0.13° of latitude (~14.46 km) x 0.13° of longitude at 44.5° N (~10.32 km) = ~14,920 ha
    assert res["area_ha"].iloc[0] == pytest.approx(0.13 * 111.2 * 0.13 * 79.4 * 100, rel=0.01)


def test_clc_grid_codes_nomenclature(tiny) -> None:
    """Official CLC rasters hold grid codes 1–44 (211 = 12, 311 = 23...); 48 is no data."""
    d, pipeline, _, t = tiny
    grid = np.array(
        [[12, 12, 23, 23], [12, 12, 23, 23], [2, 10, 24, 24], [2, 2, 18, 48]], dtype=np.uint8
    )
    write_raster(d / "grid.tif", grid, transform=t, crs="EPSG:3035", nodata=255)
    code, out = _run(
        "-q", "run", str(pipeline(landcover={"path": "grid.tif", "nomenclature": "clc_grid_code"}))
    )
    assert code == 0, out
    east = _category_areas(d / "out", "46002")
    # 23 = 311 broadleaf (4 ha), 24 = 312 conifer (2 ha), 18 = 231 pasture (1 ha); 48 = no data
    # 7 of 8 ha covered: below 95 %, the commune's stocks are left empty (no data)...
    assert east == {}
    communes = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    assert communes.loc["46002", "covered_share"] == pytest.approx(7 / 8)
    assert communes.loc["46002", "landcover_covered_share"] == pytest.approx(7 / 8)
    assert np.isnan(communes.loc["46002", "stock_tc"])
    # ...while the land use found is kept, grid codes read as CLC classes
    landuse = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="landuse_areas")
    found = landuse[landuse.commune_code == "46002"].groupby("category")["area_ha"].sum()
    assert found.to_dict() == pytest.approx(
        {"forest_broadleaf": 4.0, "forest_conifer": 2.0, "grassland_herbaceous": 1.0}
    )
