"""What rooftop PV and charging figures cover: shares by hand, empty (never 0) figures where
the building data or the population grid do not reach, partial rows flagged; La Rochelle's
district and the Lot's charging run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import box

from geocarbon.charging.indicators import area_share_inside, raster_footprint
from geocarbon.cli import main
from geocarbon.solar.roofs import buildings_cover
from geocarbon.territory import level_rows
from tests.conftest import REPO, SHARED, realdata, run_shared_pipeline, write_pipeline, write_raster
from tests.test_pv_support import weather_file

# two 1 km × 1 km communes side by side near Cahors (Lambert-93): A west, B east
X0, Y0 = 570_000.0, 6_370_000.0
EPCI = "200000001"


def _communes(folder: Path) -> Path:
    gpd.GeoDataFrame(
        {"code": ["46901", "46902"], "nom": ["A", "B"], "epci": [EPCI, EPCI], "pop": [300, 100]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs="EPSG:2154",
    ).to_file(folder / "c.gpkg", layer="communes")
    return folder / "c.gpkg"


Row = dict[str, Any]


def _records(frame: pd.DataFrame, key: str | list[str]) -> dict[str, Row]:
    """Rows of a table as plain dicts, by ``key`` (columns joined with "/")."""
    keys = [key] if isinstance(key, str) else key
    out: dict[str, Row] = {}
    for record in frame.reset_index().to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        out["/".join(str(row[k]) for k in keys)] = row
    return out


def _csv(path: Path) -> dict[str, Row]:
    """The rows of a level table (``level/code``) written by a run."""
    return _records(pd.read_csv(path, dtype={"code": str}), ["level", "code"])


def _layer(out: Path) -> dict[str, Row]:
    """The communes layer of a run, by commune code."""
    return _records(
        pd.DataFrame(gpd.read_file(out / "geocarbon.gpkg", layer="communes")), "commune_code"
    )


# ---------------------------------------------------------------- pure functions, by hand


def test_area_share_inside_by_hand() -> None:
    zones = gpd.GeoSeries([box(0, 0, 4, 1), box(10, 10, 11, 11), None, box(0, 0, 2, 2)])
    got = area_share_inside(zones, box(1, 0, 9, 9))
    # 3 of 4 m²; outside; no geometry; 2 of 4 m²
    np.testing.assert_allclose(got, [0.75, 0.0, np.nan, 0.5])


def test_buildings_cover_is_the_hull_without_implausible_footprints() -> None:
    footprints = np.array(
        [box(0, 0, 10, 10), box(90, 0, 100, 10), box(0, 90, 10, 100), None, box(0, 0, 2e3, 2e3)],
        dtype=object,
    )
    # the triangle (0,0) (100,0) (100,10)... hull of the three squares: 100 × 100 minus the
    # corner triangle (10,100)-(100,100)-(100,10): 10,000 − 90 × 90 / 2 = 5,950 m²; the
    # 4 km² "building" (over the 1 km² limit) and the missing geometry are left out
    assert buildings_cover(footprints, 1e6).area == pytest.approx(5_950.0)
    assert buildings_cover(np.array([None], dtype=object), 1e6).is_empty


def test_raster_footprint_in_another_crs() -> None:
    # a 1 km square of Lambert-93 drawn in the same CRS is itself
    square = raster_footprint((X0, Y0, X0 + 1000, Y0 + 1000), "EPSG:2154", "EPSG:2154")
    assert square.area == pytest.approx(1e6)
    # and in Web Mercator it still covers the square's centre
    merc = raster_footprint((X0, Y0, X0 + 1000, Y0 + 1000), "EPSG:2154", "EPSG:3857")
    cx, cy = Transformer.from_crs(2154, 3857, always_xy=True).transform(X0 + 500, Y0 + 500)
    assert merc.contains(gpd.points_from_xy([cx], [cy])[0])


def test_level_rows_flags_communes_summed_over_part_of_their_area() -> None:
    communes = pd.DataFrame(
        {"commune_code": ["1", "2", "3"], "commune_name": ["a", "b", "c"], "epci_code": ["E"] * 3}
    )
    values = pd.DataFrame({"kwp": [10.0, 5.0, np.nan]}, index=["1", "2", "3"])
    sizes = pd.DataFrame(
        {"communes_in_run": [3.0], "communes_in_epci": [3.0], "communes_missing": [0.0],
         "epci_complete": [True]},
        index=["E"],
    )  # fmt: skip
    table = level_rows(
        values,
        communes,
        territory_name="t",
        has_data=pd.Series([True, True, False], index=["1", "2", "3"]),
        epci_sizes=sizes,
        share=pd.Series([1.0, 0.4, 0.0], index=["1", "2", "3"]),
        weights=pd.Series([100.0, 100.0, 200.0], index=["1", "2", "3"]),
        what="building data",
        share_column="pv_covered_share",
        complete=pd.Series([True, False, False], index=["1", "2", "3"]),
    )
    assert "landcover_covered_share" not in table.columns
    rows = _records(table, ["level", "code"])
    assert rows["commune/1"]["complete"] and rows["commune/1"]["kwp"] == 10
    # commune 2 keeps its 5 kWp but is flagged
    two = rows["commune/2"]
    assert two["kwp"] == 5 and not two["complete"]
    assert two["coverage_note"] == (
        "partial: building data covers 40.0% of the commune: figures sum the part covered"
    )
    assert np.isnan(rows["commune/3"]["kwp"])
    epci = rows["epci/E"]
    assert epci["kwp"] == 15 and not epci["complete"]
    # (1 × 100 + 0.4 × 100 + 0 × 200) / 400 = 0.35
    assert epci["pv_covered_share"] == pytest.approx(0.35)
    assert epci["coverage_note"] == (
        "partial: building data for 2 of 3 communes; 1 of them only partly covered"
    )
    terr = rows["territory/territory"]
    assert terr["kwp"] == 15 and not terr["complete"]
    assert terr["coverage_note"].endswith("1 of them only partly covered")
    # without ``complete``: a commune with data is complete, as before
    plain = level_rows(
        values,
        communes,
        territory_name="t",
        has_data=pd.Series([True, True, False], index=["1", "2", "3"]),
        epci_sizes=sizes,
        share=pd.Series([1.0, 0.4, 0.0], index=["1", "2", "3"]),
    )
    assert _records(plain, ["level", "code"])["commune/2"]["complete"]
    assert "landcover_covered_share" in plain.columns


# ---------------------------------------------------------------- rooftop PV, end to end


def _square(x: float, y: float) -> Any:
    return box(x, y, x + 20, y + 20)


def _pv_run(tmp_path: Path, east_x: float, target_mwp: float) -> Path:
    """Four flat 20 m × 20 m buildings in A, at its west corners and at ``east_x``; one
    existing 5 kWp installation on the first; nothing in B."""
    _communes(tmp_path)
    gpd.GeoDataFrame(
        {"id": ["sw", "nw", "se", "ne"], "zmin": [10.0] * 4, "zmax": [10.2] * 4},
        geometry=[
            _square(X0, Y0),
            _square(X0, Y0 + 980),
            _square(east_x, Y0),
            _square(east_x, Y0 + 980),
        ],
        crs="EPSG:2154",
    ).to_file(tmp_path / "b.gpkg", layer="b")
    gpd.GeoDataFrame({"kwp": [5.0]}, geometry=[box(X0, Y0, X0 + 20, Y0 + 20)], crs=2154).to_file(
        tmp_path / "pv.gpkg", layer="pv"
    )
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "pv", "output_dir": "out",
         "communes": {"path": "c.gpkg", "code_field": "code", "name_field": "nom",
                      "epci_field": "epci", "population_field": "pop"},
         "pv": {"buildings": {"path": "b.gpkg", "id_field": "id", "roof_min_field": "zmin",
                              "roof_max_field": "zmax"},
                "weather": {"path": str(weather_file(tmp_path))},
                "existing": {"path": "pv.gpkg", "kwp_field": "kwp"},
                "targets": [{"indicator": "pv_mwp", "value": target_mwp},
                            {"indicator": "pv_kwp_per_inhab", "value": 1e-6}]}},
    )  # fmt: skip
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def test_pv_commune_the_buildings_do_not_reach_is_empty(tmp_path: Path) -> None:
    out = _pv_run(tmp_path, X0 + 980, target_mwp=5.0)
    b = gpd.read_file(out / "geocarbon.gpkg", layer="pv_buildings")
    kwp = float(b["kwp"].sum())
    assert kwp > 0
    communes = _layer(out)
    a, east = communes["46901"], communes["46902"]
    # the buildings' hull is A's square exactly: A covered, B not at all
    assert a["pv_covered_share"] == pytest.approx(1.0, abs=1e-6) and a["pv_complete"]
    assert east["pv_covered_share"] == pytest.approx(0.0, abs=1e-6) and not east["pv_complete"]
    # 3 buildings with potential: "sw" already carries an installation
    assert a["pv_kwp"] == pytest.approx(kwp) and a["pv_buildings"] == 3
    assert a["pv_existing_kwp"] == 5.0
    for col in ("pv_buildings", "pv_usable_m2", "pv_kwp", "pv_mwp", "pv_mwh_per_yr",
                "pv_kwp_per_inhab", "pv_existing_kwp"):  # fmt: skip
        assert np.isnan(east[col]), col  # no data, not 0
    rows = _csv(out / "pv_indicators.csv")
    assert rows["commune/46901"]["complete"] and pd.isna(rows["commune/46901"]["coverage_note"])
    assert rows["commune/46902"]["coverage_note"] == "no building data for this commune"
    epci = rows[f"epci/{EPCI}"]
    assert epci["pv_kwp"] == pytest.approx(kwp) and epci["pv_existing_kwp"] == 5.0
    assert epci["communes_in_run"] == 2 and epci["communes_with_data"] == 1
    assert not epci["complete"] and epci["pv_covered_share"] == pytest.approx(0.5, abs=1e-6)
    assert epci["coverage_note"] == "partial: building data for 1 of 2 communes"
    # kWp per inhabitant over the communes with data: A's 300 inhabitants, not 400
    assert epci["population"] == 300 and epci["pv_kwp_per_inhab"] == pytest.approx(kwp / 300)
    summary = _records(pd.read_csv(out / "pv_summary.csv"), "group")["all"]
    assert summary["mwp"] == pytest.approx(kwp / 1e3)
    assert (summary["communes"], summary["communes_with_data"]) == (2, 1)
    assert summary["pv_covered_share"] == pytest.approx(0.5, abs=1e-6) and not summary["complete"]
    targets = _records(pd.read_csv(out / "pv_targets.csv"), "indicator")
    # existing power of the communes with data (B's is unknown, not a reason to lose A's)
    assert targets["pv_mwp"]["existing"] == pytest.approx(0.005)
    # 5 MWp not reached by the part covered: not checked (the rest may hold it)
    assert pd.isna(targets["pv_mwp"]["potential_covers_target"])
    assert targets["pv_mwp"]["note"].startswith("partial: building data for 1 of 2 communes")
    assert targets["pv_kwp_per_inhab"]["potential"] == pytest.approx(kwp / 300)


def test_pv_commune_partly_covered_keeps_its_sum_flagged(tmp_path: Path) -> None:
    out = _pv_run(tmp_path, X0 + 480, target_mwp=1e-6)
    a = _layer(out)["46901"]
    kwp = float(gpd.read_file(out / "geocarbon.gpkg", layer="pv_buildings")["kwp"].sum())
    # hull: the west half of A (500 m × 1000 m of 1000 m × 1000 m)
    assert a["pv_covered_share"] == pytest.approx(0.5, rel=1e-4) and not a["pv_complete"]
    assert a["pv_kwp"] == pytest.approx(kwp)
    rows = _csv(out / "pv_indicators.csv")
    assert not rows["commune/46901"]["complete"]
    assert rows["commune/46901"]["coverage_note"] == (
        "partial: building data covers 50.0% of the commune: figures sum the part covered"
    )
    assert rows["territory/territory"]["pv_kwp"] == pytest.approx(kwp)
    assert rows["territory/territory"]["pv_covered_share"] == pytest.approx(0.25, rel=1e-4)
    targets = _records(pd.read_csv(out / "pv_targets.csv"), "indicator")
    # a partial potential above the target does cover it
    assert targets["pv_mwp"]["potential_covers_target"] in (True, "True")


# ---------------------------------------------------------------- charging, end to end


def _charging_run(tmp_path: Path, raster_cols: int, table: bool = False) -> Path:
    """A population grid of 100 m cells, 1 inhabitant each, from A's west edge over
    ``raster_cols`` columns (10: A only; 15: A and B's west half); one 22 kW point at A's
    centre."""
    _communes(tmp_path)
    write_raster(
        tmp_path / "pop.tif",
        np.ones((10, raster_cols), dtype="float32"),
        transform=Affine(100, 0, X0, 0, -100, Y0 + 1000),
        crs="EPSG:2154",
        nodata=-1,
    )
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(X0 + 500, Y0 + 500)
    (tmp_path / "irve.csv").write_text(
        "id_station_itinerance,id_pdc_itinerance,nom_station,coordonneesXY,puissance_nominale,"
        f'code_insee_commune\nS1,P1,centre,"[{lon:.7f}, {lat:.7f}]",22,46901\n'
    )
    communes: dict[str, Any] = {
        "path": "c.gpkg", "code_field": "code", "name_field": "nom", "epci_field": "epci",
        "population_field": "pop",
    }  # fmt: skip
    if table:
        # the EPCI has a third commune, outside the run (another département)
        (tmp_path / "t.csv").write_text(f"insee,epci\n46901,{EPCI}\n46902,{EPCI}\n12901,{EPCI}\n")
        communes["table"] = {"path": "t.csv", "code_field": "insee", "epci_field": "epci"}
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "ch", "output_dir": "out", "communes": communes,
         "charging": {"points": {"path": "irve.csv"}, "population_raster": "pop.tif",
                      "distances_m": [1000, 5000], "white_zone_m": 5000,
                      "targets": [{"indicator": "pop_share_within_5km", "value": 0.9},
                                  {"indicator": "points", "value": 1}]}},
    )  # fmt: skip
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


POPULATION_COLUMNS = (
    "ev_population_grid",
    "ev_pop_share_within_1km",
    "ev_pop_share_within_5km",
    "ev_pop_share_within_5km_fast",
    "ev_mean_distance_m",
    "ev_white_zone_population",
    "ev_population_unreachable",
)


@pytest.mark.parametrize(("cols", "b_share"), [(10, 0.0), (15, 0.5)])
def test_charging_population_indicators_only_where_the_grid_covers(
    tmp_path: Path, cols: int, b_share: float
) -> None:
    out = _charging_run(tmp_path, cols)
    communes = _layer(out)
    a, east = communes["46901"], communes["46902"]
    assert a["population_covered_share"] == pytest.approx(1.0, abs=1e-6)
    assert east["population_covered_share"] == pytest.approx(b_share, abs=1e-6)
    # A: 100 cells of 1 inhabitant, all within 1 km (at most 636 m) of its central point
    assert a["ev_population_grid"] == 100 and a["ev_pop_share_within_1km"] == 1.0
    assert a["ev_pop_share_within_5km"] == 1.0
    # B: counts kept (0 points: a count), population indicators empty (not 0 %)
    assert east["ev_points"] == 0 and east["ev_stations"] == 0
    for col in POPULATION_COLUMNS:
        assert np.isnan(east[col]), col
    rows = _csv(out / "charging_indicators.csv")
    assert np.isnan(rows["commune/46902"]["ev_pop_share_within_5km"])
    assert rows["commune/46902"]["coverage_note"].startswith(
        "no population grid for this commune"
        if b_share == 0
        else "population grid covers 50.0% of the commune: population indicators left empty"
    )
    terr = rows["territory/territory"]
    # the territory's shares sum the covered commune only: 100 inhabitants, all within 1 km
    assert terr["ev_population_grid"] == 100 and terr["ev_pop_share_within_1km"] == 1.0
    assert terr["ev_points"] == 1 and terr["communes"] == 2
    assert terr["communes_with_data"] == 1 and not terr["complete"]
    assert terr["population_covered_share"] == pytest.approx((1.0 + b_share) / 2, abs=1e-6)
    assert terr["coverage_note"] == "partial: population grid for 1 of 2 communes"
    epci = rows[f"epci/{EPCI}"]
    assert (epci["communes_in_run"], epci["communes_in_epci"]) == (2, 2)
    assert not epci["complete"] and epci["coverage_note"] == (
        "partial: population grid for 1 of 2 communes"
    )
    targets = _records(pd.read_csv(out / "charging_targets.csv"), "indicator")
    assert pd.isna(targets["pop_share_within_5km"]["reached"])
    assert targets["pop_share_within_5km"]["note"].startswith(
        "partial: population grid for 1 of 2 communes"
    )
    assert targets["points"]["reached"] in (True, "True")  # counts are not partial


def test_charging_epci_partly_in_the_run_is_flagged(tmp_path: Path) -> None:
    out = _charging_run(tmp_path, 20, table=True)
    rows = _csv(out / "charging_indicators.csv")
    epci = rows[f"epci/{EPCI}"]
    assert (epci["communes_in_run"], epci["communes_in_epci"]) == (2, 3)
    assert not epci["complete"]
    assert epci["coverage_note"] == "partial: 2 of the 3 communes of the EPCI in the run"
    # the grid covers both communes: the territory row is complete
    terr = rows["territory/territory"]
    assert terr["complete"] and terr["communes_with_data"] == 2
    assert terr["ev_population_grid"] == 200


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def larochelle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_shared_pipeline(
        REPO / "pipelines" / "larochelle.yaml",
        tmp_path_factory.mktemp("lrcov") / "out",
        SHARED / "larochelle" / "buildings_bdtopo.gpkg",
    )


@realdata
def test_la_rochelle_district_covers_part_of_one_commune(larochelle: Path) -> None:
    communes = gpd.read_file(larochelle / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    assert len(communes) == 466
    others = communes.drop(index="17200")
    assert others["pv_kwp"].isna().all() and others["pv_mwh_per_yr"].isna().all()
    # the share recomputed apart: the convex hull of the buildings in Lambert-93
    buildings = gpd.read_file(SHARED / "larochelle" / "buildings_bdtopo.gpkg").to_crs(2154)
    hull = buildings.geometry[~buildings.geometry.is_empty].union_all().convex_hull
    lagord = communes.to_crs(2154).geometry["17200"]
    expected = lagord.intersection(hull).area / lagord.area
    assert 0 < expected < 0.95
    lr = communes.loc["17200"]
    assert lr["pv_covered_share"] == pytest.approx(expected, rel=2e-3)
    assert not lr["pv_complete"]
    rows = _csv(larochelle / "pv_indicators.csv")
    assert rows["commune/17200"]["coverage_note"] == (
        f"partial: building data covers {expected:.1%} of the commune: figures sum the part covered"
    )
    terr = rows["territory/territory"]
    # the totals of the district do not change
    assert round(terr["pv_kwp"], 3) == 2_679.141
    assert round(terr["pv_mwh_per_yr"], 3) == 3_177.501
    assert terr["communes_with_data"] == 1 and terr["communes_in_run"] == 466
    assert not terr["complete"]
    summary = _records(pd.read_csv(larochelle / "pv_summary.csv"), "group")["all"]
    assert round(summary["mwp"] * 1e3, 3) == 2_679.141
    assert summary["communes_with_data"] == 1 and not summary["complete"]
    targets = _records(pd.read_csv(larochelle / "pv_targets.csv"), "indicator")
    assert targets["pv_mwp"]["note"].startswith("partial: building data for 1 of 466")
    assert pd.isna(targets["pv_mwp"]["potential_covers_target"])  # 2.7 of 5 MWp


@pytest.fixture(scope="module")
def lot_charging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_shared_pipeline(
        REPO / "pipelines" / "lot_charging.yaml",
        tmp_path_factory.mktemp("lccov") / "out",
        SHARED / "lot" / "irve_stations_2022-12-05.gpkg",
    )


@realdata
def test_lot_charging_epci_rows_say_what_they_cover(lot_charging: Path) -> None:
    rows = _csv(lot_charging / "charging_indicators.csv")
    figeac = rows["epci/200067361"]  # CC Grand-Figeac: 6 of its communes are in the Aveyron
    assert (figeac["communes_in_run"], figeac["communes_in_epci"]) == (86, 92)
    assert not figeac["complete"]
    assert figeac["coverage_note"] == "partial: 86 of the 92 communes of the EPCI in the run"
    cahors = rows["epci/200023737"]
    assert (cahors["communes_in_run"], cahors["communes_in_epci"]) == (36, 36)
    assert cahors["complete"] and pd.isna(cahors["coverage_note"])
    # the 1 km grid covers the whole Lot: every commune has its population indicators
    table = pd.read_csv(lot_charging / "charging_indicators.csv", dtype={"code": str})
    communes = table[table["level"] == "commune"]
    assert len(communes) == 312 and (communes["population_covered_share"] > 0.999).all()
    assert communes["ev_pop_share_within_5km"].notna().all()
    terr = rows["territory/territory"]
    assert terr["complete"] and terr["communes_with_data"] == 312
