"""Charging coverage: each IRVE defect cleaned as expected, distances by hand, the Lot."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import box

from geocarbon.charging.clean import clean_points, points_from_irve
from geocarbon.charging.indicators import access_by_zone, nearest_distance_m
from geocarbon.cli import main
from geocarbon.errors import InputError
from tests.conftest import realdata, write_pipeline, write_raster

# two communes side by side around Cahors (EPSG:4326)
COMMUNES = gpd.GeoDataFrame(
    {"commune_code": ["46042", "46043"], "commune_name": ["A", "B"]},
    geometry=[box(1.40, 44.40, 1.45, 44.50), box(1.45, 44.40, 1.50, 44.50)],
    crs="EPSG:4326",
)

IRVE_V2 = """id_station_itinerance,id_pdc_itinerance,nom_station,coordonneesXY,puissance_nominale,code_insee_commune,prise_type_2,prise_type_combo_ccs
S1,P1,ok,"[1.41, 44.41]",22,46042,true,false
S2,P2,swapped,"[44.42, 1.42]",22,46042,true,false
S3,P3,postcode,"[1.46, 44.41]",7.4,46000,true,false
S4,P4,connector,"[1.47, 44.45]",50,46043,false,true
S4,P4,connector,"[1.47, 44.45]",50,46043,true,false
S5,P5,dup id here,"[1.43, 44.47]",11,46042,true,false
S5b,P5,dup id there,"[1.48, 44.48]",11,46043,true,false
S6,P6,watts,"[1.44, 44.44]",22000,46042,true,false
S7,P7,outside,"[2.50, 45.50]",22,46042,true,false
S8,P8,no coords,"",22,46042,true,false
S9,P9,declared elsewhere,"[1.46, 44.46]",150,46042,false,true
"""


@pytest.fixture
def cleaned(tmp_path: Path) -> pd.DataFrame:
    (tmp_path / "irve.csv").write_text(IRVE_V2)
    raw = points_from_irve(pd.read_csv(tmp_path / "irve.csv", dtype=str), "irve.csv")
    return clean_points(raw, COMMUNES, {"46042", "46043"}).set_index("point_id", drop=False)


def _flags(frame: pd.DataFrame, pid: str) -> set[str]:
    values = frame.loc[[pid], "qa_flags"]
    return {f for v in values for f in str(v).split(";") if f}


def test_clean_point_has_no_flag(cleaned: pd.DataFrame) -> None:
    assert _flags(cleaned, "P1") == set()
    assert cleaned.loc["P1", "commune_code"] == "46042"


def test_swapped_coordinates_are_put_back(cleaned: pd.DataFrame) -> None:
    assert "lat_lon_swapped" in _flags(cleaned, "P2")
    assert (
        cleaned.loc["P2", "geometry"].x == pytest.approx(1.42)
        and cleaned.loc["P2", "commune_code"] == "46042"
    )


def test_postcode_in_insee_field(cleaned: pd.DataFrame) -> None:
    assert {"declared_code_differs", "declared_code_unknown"} <= _flags(cleaned, "P3")
    assert (
        cleaned.loc["P3", "commune_code"] == "46043"
        and cleaned.loc["P3", "declared_commune_code"] == "46000"
    )


def test_one_row_per_connector_is_merged(cleaned: pd.DataFrame) -> None:
    assert (cleaned["point_id"] == "P4").sum() == 1
    assert "connector_rows_merged" in _flags(cleaned, "P4")


def test_duplicated_ids_at_different_places_are_kept_and_flagged(cleaned: pd.DataFrame) -> None:
    assert (cleaned["point_id"] == "P5").sum() == 2
    assert "duplicate_point_id" in _flags(cleaned, "P5")


def test_power_in_watts(cleaned: pd.DataFrame) -> None:
    assert cleaned.loc["P6", "power_kw"] == 22.0 and "power_in_watts" in _flags(cleaned, "P6")


def test_points_outside_the_territory(cleaned: pd.DataFrame) -> None:
    assert "outside_territory" in _flags(cleaned, "P7") and cleaned.loc["P7", "commune_code"] == ""


def test_unparseable_coordinates_are_kept_and_flagged(cleaned: pd.DataFrame) -> None:
    assert "coordinates_unparseable" in _flags(cleaned, "P8")
    assert cleaned.loc["P8", "geometry"] is None


def test_commune_by_location_beside_the_declared_one(cleaned: pd.DataFrame) -> None:
    assert (
        cleaned.loc["P9", "commune_code"] == "46043"
        and cleaned.loc["P9", "declared_commune_code"] == "46042"
    )
    assert "declared_code_differs" in _flags(cleaned, "P9")
    assert len(cleaned) == 10  # 11 rows, the two connector rows of P4 merged; nothing dropped


def test_missing_power_column_and_empty_file() -> None:
    no_power = pd.DataFrame({"id_pdc_itinerance": ["P1"], "coordonneesXY": ["[1.41, 44.41]"]})
    with pytest.raises(InputError, match="no column 'puissance_nominale'"):
        points_from_irve(no_power, "x.csv")
    with pytest.raises(InputError, match="is empty"):
        points_from_irve(no_power.iloc[:0], "x.csv")


def test_distances_and_shares_by_hand() -> None:
    cells = np.array([[0.0, 0.0], [3000.0, 4000.0], [0.0, 12000.0]])
    points = np.array([[0.0, 0.0], [0.0, 20000.0]])
    d = nearest_distance_m(cells, points)
    np.testing.assert_allclose(d, [0.0, 5000.0, 8000.0])  # 3-4-5 triangle; 20 - 12 km
    fast = nearest_distance_m(cells, points[1:])
    pop = np.array([100.0, 50.0, 50.0])
    out = access_by_zone(
        pop, d, fast, np.array(["a", "a", "a"]), [1000.0, 5000.0, 10000.0], white_zone_m=6000.0
    ).loc["a"]
    assert out["ev_pop_share_within_1km"] == pytest.approx(0.5)
    assert out["ev_pop_share_within_5km"] == pytest.approx(0.75)
    assert out["ev_pop_share_within_10km"] == pytest.approx(1.0)
    assert out["ev_pop_share_within_10km_fast"] == pytest.approx(
        0.25
    )  # only the third cell is 8 km from it
    assert out["ev_mean_distance_m"] == pytest.approx((0 * 100 + 5000 * 50 + 8000 * 50) / 200)
    assert out["ev_white_zone_population"] == 50.0


def test_population_raster_not_overlapping(tmp_path: Path) -> None:
    (tmp_path / "irve.csv").write_text(IRVE_V2)
    COMMUNES.rename(columns={"commune_code": "code", "commune_name": "nom"}).to_file(
        tmp_path / "c.gpkg", layer="c"
    )
    write_raster(
        tmp_path / "pop.tif",
        np.full((3, 3), 10.0, dtype="float32"),
        transform=Affine(1000, 0, 3_000_000, 0, -1000, 3_000_000),
        crs="EPSG:3035",
        nodata=-1,
    )
    p = write_pipeline(
        tmp_path / "p.yaml",
        {
            "name": "ch",
            "output_dir": "out",
            "communes": {"path": "c.gpkg"},
            "charging": {"points": {"path": "irve.csv"}, "population_raster": "pop.tif"},
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code != 0 and "does not overlap the communes" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def lot(lot_charging_out: Path) -> Path:
    return lot_charging_out  # pipelines/lot_charging.yaml, run once per test process


@realdata
def test_lot_stations_points_and_communes(lot: Path) -> None:
    points = gpd.read_file(lot / "geocarbon.gpkg", layer="charging_points")
    assert len(points) == 139 and points["station_id"].nunique() == 55
    # the layer's Xlongitude / Ylatitude columns agree with its geometry; counts are whole
    for flag in ("coordinates_columns_differ", "station_points_", "coordinates_not_degrees"):
        assert not points.qa_flags.str.contains(flag).any()
    assert points.loc[points.commune_code != "", "commune_code"].nunique() == 46
    stations = points.drop_duplicates("station_id")
    differs = stations[stations.qa_flags.str.contains("declared_code_differs")]
    assert len(differs) == 4
    assert set(differs.declared_commune_code) == {"81170", "81640", "46090", "46700"}
    # 81640 and 46700 are postal codes, not INSEE codes (the national commune table says so)
    unknown = stations[stations.qa_flags.str.contains("declared_code_unknown")]
    assert set(unknown.declared_commune_code) == {"81640", "46700"}


@realdata
def test_lot_population_access(lot: Path) -> None:
    table = pd.read_csv(lot / "charging_indicators.csv", dtype={"code": str})
    territory = table[table.level == "territory"].iloc[0]
    assert territory["ev_population_grid"] == pytest.approx(
        166_500, rel=0.005
    )  # grid population inside the Lot
    assert 0.5 < territory["ev_pop_share_within_5km"] < territory["ev_pop_share_within_10km"] <= 1.0
    epci = table[table.level == "epci"]
    assert len(epci) == 10 and epci["ev_pop_share_within_5km"].between(0, 1).all()
    # EPCI shares are the population-weighted means of their communes
    communes = table[table.level == "commune"]
    communes_geo = gpd.read_file(lot / "geocarbon.gpkg", layer="communes")[
        ["commune_code", "epci_code"]
    ]
    merged = communes.merge(communes_geo, left_on="code", right_on="commune_code")
    cahors = merged[merged.epci_code == "200023737"]
    expected = (
        cahors.ev_pop_share_within_5km * cahors.ev_population_grid
    ).sum() / cahors.ev_population_grid.sum()
    assert epci.set_index("code").loc["200023737", "ev_pop_share_within_5km"] == pytest.approx(
        expected
    )
    assert territory["ev_points"] == 139 and territory["communes_with_point"] == 46
    access = gpd.read_file(lot / "geocarbon.gpkg", layer="charging_access")
    assert {"population", "distance_m", "commune_code"} <= set(access.columns)
    assert (lot / "maps" / "charging.html").is_file()
    targets = pd.read_csv(lot / "charging_targets.csv").set_index("indicator")
    assert targets.loc["communes_covered_share", "value"] == pytest.approx(46 / 312)


def test_network_distance_by_hand() -> None:
    from shapely.geometry import LineString

    from geocarbon.charging.network import network_distance_m

    # an L-shaped road (0,0) -> (500,0) -> (1000,0) -> (1000,1000); a point 10 m off its start
    road = np.array([LineString([(0, 0), (500, 0), (1000, 0), (1000, 1000)])], dtype=object)
    cells = np.array([[1000.0, 1000.0], [1030.0, 300.0], [0.0, 40.0]])
    points = np.array([[0.0, 10.0]])
    got = network_distance_m(road, cells, points)
    # the road is cut every 100 m: cells snap to the nearest 100 m mark: (1000,1000) at 0 m,
    # (1000,300) at 30 m, (0,0) at 40 m; then along the road to (0,0) and 10 m to the point
    np.testing.assert_allclose(got, [0 + 2000 + 10, 30 + 1300 + 10, 40 + 10], rtol=1e-9)
    # never shorter than the straight line
    assert (got >= np.hypot(*(cells - points[0]).T) - 1e-6).all()


def test_afir_kw_per_battery_ev(tmp_path: Path) -> None:
    (tmp_path / "irve.csv").write_text(IRVE_V2)
    (tmp_path / "fleet.csv").write_text("code_insee,bev,phev\n46042,10,10\n46043,0,4\n")
    COMMUNES.rename(columns={"commune_code": "code", "commune_name": "nom"}).to_file(
        tmp_path / "c.gpkg", layer="c"
    )
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "ch", "output_dir": "out", "communes": {"path": "c.gpkg"},
         "charging": {"points": {"path": "irve.csv"}, "ev_fleet": {"path": "fleet.csv"},
                      "targets": [{"indicator": "kw_per_bev", "value": 1.3}]}},
    )  # fmt: skip
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code == 0, result.output
    communes = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    # 46042: P1 22 kW, P2 22 (swapped back), P5 11 (its first place), P6 22 (given in W) = 77 kW
    assert communes.loc["46042", "ev_kw"] == pytest.approx(77.0)
    assert communes.loc["46042", "ev_kw_per_bev"] == pytest.approx(7.7)
    assert communes.loc["46042", "ev_afir_required_kw"] == pytest.approx(1.3 * 10 + 0.8 * 10)
    assert np.isnan(communes.loc["46043", "ev_kw_per_bev"])  # no battery EV
    targets = pd.read_csv(tmp_path / "out" / "charging_targets.csv").set_index("indicator")
    # territory: 77 + 7.4 (P3) + 50 (P4) + 11 (P5 elsewhere) + 150 (P9) = 295.4 kW for 10 BEV
    assert targets.loc["kw_per_bev", "value"] == pytest.approx(29.54)
