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

from geocarbon.capabilities.pv_step import covers_target
from geocarbon.charging.indicators import (
    access_by_zone,
    area_share_inside,
    nearest_distance_m,
    raster_footprint,
)
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
         "communes_missing_from_layer": [0.0], "epci_complete": [True]},
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
    existing 5 kWp installation on the first, the only public building (a gymnasium);
    nothing in B."""
    _communes(tmp_path)
    gpd.GeoDataFrame(
        {
            "id": ["sw", "nw", "se", "ne"],
            "zmin": [10.0] * 4,
            "zmax": [10.2] * 4,
            "usage": ["Sportif", "", "", ""],
        },
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
                              "roof_max_field": "zmax", "usage_field": "usage"},
                "weather": {"path": str(weather_file(tmp_path))},
                "existing": {"path": "pv.gpkg", "kwp_field": "kwp"},
                "targets": [{"indicator": "pv_mwp", "value": target_mwp},
                            {"indicator": "pv_kwp_per_inhab", "value": 1e-6},
                            {"indicator": "public_roofs_equipped_share", "value": 0.5}]}},
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
    # shares and ratios over the part covered are not checked either way: the gymnasium is
    # the one public roof seen, and it is equipped (1 of 1), but B's are unknown
    assert pd.isna(targets["pv_kwp_per_inhab"]["potential_covers_target"])
    public = targets["public_roofs_equipped_share"]
    assert public["existing"] == 1.0 and public["potential"] == 1.0
    assert pd.isna(public["potential_covers_target"])
    assert public["note"].endswith("a share or ratio over the part covered: not checked")


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
    # a partial potential above the target does cover it (a lower bound)...
    assert targets["pv_mwp"]["potential_covers_target"] in (True, "True")
    assert targets["pv_mwp"]["note"].endswith("checked only once it reaches the target")
    # ... a partial share or ratio above its target does not: the rest may lower it
    assert pd.isna(targets["pv_kwp_per_inhab"]["potential_covers_target"])
    assert pd.isna(targets["public_roofs_equipped_share"]["potential_covers_target"])


@pytest.mark.parametrize(
    ("value", "target", "partial", "total", "expected"),
    [
        (6.0, 5.0, False, True, True),  # complete: checked both ways
        (4.0, 5.0, False, True, False),
        (0.4, 0.5, False, False, False),
        (6.0, 5.0, True, True, True),  # a partial total reaching its target: reached
        (4.0, 5.0, True, True, None),  # a partial total below: the rest may hold it
        (0.9, 0.5, True, False, None),  # a partial share: not checked either way
        (0.1, 0.5, True, False, None),
        (float("nan"), 0.5, False, False, None),  # no value: not checked, never False
    ],
)
def test_covers_target_rule(
    value: float, target: float, partial: bool, total: bool, expected: bool | None
) -> None:
    assert covers_target(value, target, partial=partial, total=total) is expected


# ---------------------------------------------------------------- charging, end to end


Point = tuple[float, float, str, str]  # x, y (Lambert-93), power [kW] ("": unknown), commune


def _charging_run(
    tmp_path: Path,
    raster_cols: int,
    table: bool = False,
    points: list[Point] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A population grid of 100 m cells, 1 inhabitant each, from A's west edge over
    ``raster_cols`` columns (10: A only; 15: A and B's west half); ``points`` (by default
    one 22 kW point at A's centre); ``extra`` replaces keys of the charging section."""
    _communes(tmp_path)
    write_raster(
        tmp_path / "pop.tif",
        np.ones((10, raster_cols), dtype="float32"),
        transform=Affine(100, 0, X0, 0, -100, Y0 + 1000),
        crs="EPSG:2154",
        nodata=-1,
    )
    to_wgs84 = Transformer.from_crs(2154, 4326, always_xy=True)
    lines = [
        "id_station_itinerance,id_pdc_itinerance,nom_station,coordonneesXY,puissance_nominale,"
        "code_insee_commune"
    ]
    for i, (x, y, kw, code) in enumerate(points or [(X0 + 500, Y0 + 500, "22", "46901")]):
        lon, lat = to_wgs84.transform(x, y)
        lines.append(f'S{i + 1},P{i + 1},station {i + 1},"[{lon:.7f}, {lat:.7f}]",{kw},{code}')
    (tmp_path / "irve.csv").write_text("\n".join(lines) + "\n")
    communes: dict[str, Any] = {
        "path": "c.gpkg", "code_field": "code", "name_field": "nom", "epci_field": "epci",
        "population_field": "pop",
    }  # fmt: skip
    if table:
        # the EPCI has a third commune, outside the run (another département)
        (tmp_path / "t.csv").write_text(f"insee,epci\n46901,{EPCI}\n46902,{EPCI}\n12901,{EPCI}\n")
        communes["table"] = {"path": "t.csv", "code_field": "insee", "epci_field": "epci"}
    charging: dict[str, Any] = {
        "points": {"path": "irve.csv"}, "population_raster": "pop.tif",
        "distances_m": [1000, 5000], "white_zone_m": 5000,
        "targets": [{"indicator": "pop_share_within_5km", "value": 0.9},
                    {"indicator": "points", "value": 1}],
    }  # fmt: skip
    charging.update(extra or {})
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "ch", "output_dir": "out", "communes": communes, "charging": charging},
    )
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
    assert epci["coverage_note"].startswith("partial: 2 of the 3 communes of the EPCI in the run")
    # the grid covers both communes: the territory row is complete
    terr = rows["territory/territory"]
    assert terr["complete"] and terr["communes_with_data"] == 2
    assert terr["ev_population_grid"] == 200


def test_fast_share_by_hand_with_points_of_unknown_power() -> None:
    # cells: (0, 0) 100 inhabitants and (3000, 4000) 50 in zone a; (0, 12000) 50 in zone b;
    # a fast point at (0, 20000), a point of unknown power at (0, 0)
    cells = np.array([[0.0, 0.0], [3000.0, 4000.0], [0.0, 12000.0]])
    pop = np.array([100.0, 50.0, 50.0])
    fast = nearest_distance_m(cells, np.array([[0.0, 20000.0]]))
    unknown = nearest_distance_m(cells, np.array([[0.0, 0.0]]))
    np.testing.assert_allclose(unknown, [0.0, 5000.0, 12000.0])
    dist = np.minimum(fast, unknown)
    zone = np.array(["a", "a", "b"])
    out = access_by_zone(pop, dist, fast, zone, [1000.0, 10000.0], 6000.0, unknown)
    # a: its first cell has the unknown point within 1 km and 10 km and no fast point
    # within them (the fast one is 20 km away): undetermined, the share is empty
    assert (
        out[["ev_pop_share_within_1km_fast", "ev_pop_share_within_10km_fast"]].loc["a"].isna().all()
    )
    # b: no point at all within 1 km (0, certain); the fast point 8 km away: 1.0, whatever
    # the power of the point 12 km away
    assert out.loc["b", "ev_pop_share_within_1km_fast"] == 0.0
    assert out.loc["b", "ev_pop_share_within_10km_fast"] == 1.0
    # the shares of any point do not depend on powers: a 100 of 150 within 1 km
    assert out.loc["a", "ev_pop_share_within_1km"] == pytest.approx(100 / 150)
    # without points of unknown power, the fast shares are exact figures (0 is 0)
    known = access_by_zone(pop, fast, fast, zone, [1000.0, 10000.0], 6000.0)
    assert known.loc["a", "ev_pop_share_within_10km_fast"] == 0.0
    # no point of known power at all: no fast distance anywhere; every cell with a point
    # within the distance is undetermined
    no_fast = np.full(3, np.nan)
    none = access_by_zone(pop, unknown, no_fast, zone, [1000.0, 10000.0], 6e3, unknown)
    assert none["ev_pop_share_within_1km_fast"].isna().tolist() == [True, False]  # a, b
    # b's only point is 12 km away: no fast point within 10 km, for certain
    assert none.loc["b", "ev_pop_share_within_10km_fast"] == 0.0


FAST_COLUMNS = ("ev_pop_share_within_1km_fast", "ev_pop_share_within_5km_fast")


def test_charging_fast_shares_empty_when_no_power_is_known(tmp_path: Path) -> None:
    # one point of unknown power at A's centre; the grid covers A and B
    out = _charging_run(tmp_path, 20, points=[(X0 + 500, Y0 + 500, "", "46901")])
    access = gpd.read_file(out / "geocarbon.gpkg", layer="charging_access")
    assert access["fast_distance_m"].isna().all()
    np.testing.assert_allclose(access["unknown_power_distance_m"], access["distance_m"])
    communes = _layer(out)
    rows = _csv(out / "charging_indicators.csv")
    # every populated cell has the point within 5 km (B's farthest: 1.5 km), and a cell of
    # each commune within 1 km (B's nearest: 552 m): every fast share is unknown, not 0
    for key in ("commune/46901", "commune/46902", f"epci/{EPCI}", "territory/territory"):
        for col in FAST_COLUMNS:
            assert np.isnan(rows[key][col]), (key, col)
    for code in ("46901", "46902"):
        for col in FAST_COLUMNS:
            assert np.isnan(communes[code][col]), (code, col)
    # shares within a distance of any point are known: all 200 inhabitants within 5 km
    assert rows["territory/territory"]["ev_pop_share_within_5km"] == 1.0
    assert rows["territory/territory"]["ev_points_power_unknown"] == 1
    assert np.isnan(rows["territory/territory"]["ev_kw"])  # unknown, not 0 kW
    # A's point has no known power: A's kW are unknown; B has no point: 0 kW
    assert np.isnan(communes["46901"]["ev_kw"]) and communes["46902"]["ev_kw"] == 0.0


def test_charging_kw_zero_without_point_and_distances_below_1km_in_metres(
    tmp_path: Path,
) -> None:
    # the default 22 kW point at A's centre; the grid covers A and B (100 cells each, 1
    # inhabitant per cell); distances 500 m and 1.5 km
    out = _charging_run(tmp_path, 20, extra={"distances_m": [500, 1500], "targets": []})
    communes = _layer(out)
    rows = _csv(out / "charging_indicators.csv")
    # B has no point: 0 kW (not empty); A's point: 22 kW; EPCI and territory: 22 kW
    assert communes["46902"]["ev_kw"] == 0.0 and communes["46901"]["ev_kw"] == 22.0
    assert rows["commune/46902"]["ev_kw"] == 0.0
    assert rows[f"epci/{EPCI}"]["ev_kw"] == 22.0 and rows["territory/territory"]["ev_kw"] == 22.0
    # columns named in metres below 1 km, in km from 1 km
    share_cols = sorted(c for c in rows["territory/territory"] if "pop_share" in c)
    assert share_cols == [
        "ev_pop_share_within_1.5km",
        "ev_pop_share_within_1.5km_fast",
        "ev_pop_share_within_500m",
        "ev_pop_share_within_500m_fast",
    ]
    # A's cell centres lie at ±50, ±150, ..., ±450 m from the point in x and y; within
    # 500 m (x² + y² ≤ 250,000), per quadrant: x = 50 or 150: 5 values of y each; 250 or
    # 350: 4 (y ≤ 433, ≤ 357); 450: 2 (y ≤ 218) → 20 × 4 = 80 of A's 100 inhabitants.
    # B's cells lie 550 to 1,450 m east: none within 500 m; within 1.5 km (x² + y² ≤
    # 2,250,000) all but the column at 1,450 m with |y| = 450 (y ≤ 384 there): 98 of 100
    assert communes["46901"]["ev_pop_share_within_500m"] == pytest.approx(0.8)
    assert communes["46902"]["ev_pop_share_within_500m"] == 0.0
    assert communes["46902"]["ev_pop_share_within_1.5km"] == pytest.approx(0.98)
    assert rows["territory/territory"]["ev_pop_share_within_500m"] == pytest.approx(80 / 200)
    assert rows["territory/territory"]["ev_pop_share_within_1.5km"] == pytest.approx(198 / 200)


def test_charging_fast_shares_exact_where_unknown_powers_cannot_change_them(
    tmp_path: Path,
) -> None:
    # a 50 kW (fast) point at A's centre; a point of unknown power at B's east edge; every
    # commune has 10 battery EVs
    (tmp_path / "fleet.csv").write_text("code_insee,bev,phev\n46901,10,0\n46902,10,0\n")
    out = _charging_run(
        tmp_path,
        20,
        points=[(X0 + 500, Y0 + 500, "50", "46901"), (X0 + 1950, Y0 + 500, "", "46902")],
        extra={
            "ev_fleet": {"path": "fleet.csv"},
            "targets": [
                {"indicator": "kw_per_bev", "value": 2.0},
                {"indicator": "kw_per_bev", "value": 3.0},
                {"indicator": "pop_share_within_5km", "value": 0.9},
                {"indicator": "points", "value": 3},
            ],
        },
    )
    rows = _csv(out / "charging_indicators.csv")
    a, b = rows["commune/46901"], rows["commune/46902"]
    # within 1 km: every cell of A has the fast point (at most 636 m) -> 1.0, exact; B's
    # cells next to the unknown point have no fast point within 1 km (the nearest is 1.45 km
    # away): B's share is unknown, and so are the EPCI's and the territory's
    assert a["ev_pop_share_within_1km_fast"] == 1.0
    assert np.isnan(b["ev_pop_share_within_1km_fast"])
    assert np.isnan(rows[f"epci/{EPCI}"]["ev_pop_share_within_1km_fast"])
    assert np.isnan(rows["territory/territory"]["ev_pop_share_within_1km_fast"])
    # within 5 km: every cell has the fast point (B's farthest: 1,518 m): 1.0 everywhere
    for key in ("commune/46901", "commune/46902", f"epci/{EPCI}", "territory/territory"):
        assert rows[key]["ev_pop_share_within_5km_fast"] == 1.0, key
    targets = pd.read_csv(out / "charging_targets.csv")
    kw = _records(targets[targets["indicator"] == "kw_per_bev"], "target")
    # 50 kW known for 20 BEVs: 2.5 kW per BEV, a lower bound (the second point's kW unknown)
    assert kw["2.0"]["value"] == kw["3.0"]["value"] == 2.5
    assert kw["2.0"]["reached"] in (True, "True")  # 2.5 >= 2: reached whatever the rest
    assert pd.isna(kw["3.0"]["reached"])  # below 3: the unknown kW may reach it
    assert kw["3.0"]["note"].startswith("lower bound: 1 of 2 points have no power")
    rest = _records(targets[targets["indicator"] != "kw_per_bev"], "indicator")
    assert rest["pop_share_within_5km"]["reached"] in (True, "True")
    assert rest["points"]["reached"] in (False, "False")  # 2 points of 3: a count, checked


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def larochelle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the shipped pipeline without its territory: the district's buildings over all 466
    # communes of Charente-Maritime (465 the data do not reach)
    tmp = tmp_path_factory.mktemp("lrcov")
    text = (REPO / "pipelines" / "larochelle.yaml").read_text(encoding="utf-8")
    start = text.index("territory:")
    end = text.index("communes:\n  path:")
    text = (text[:start] + text[end:]).replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED))
    pipeline = tmp / "larochelle.yaml"
    pipeline.write_text(text, encoding="utf-8")
    return run_shared_pipeline(
        pipeline, tmp / "out", SHARED / "larochelle" / "buildings_bdtopo.gpkg"
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
    # the totals of the district (2,679.141 kWp, 3,177.501 MWh/yr before its 4 light
    # structures with panels were excluded, issue 12)
    assert round(terr["pv_kwp"], 3) == 2_664.669
    assert round(terr["pv_mwh_per_yr"], 3) == 3_160.427
    assert terr["communes_with_data"] == 1 and terr["communes_in_run"] == 466
    assert not terr["complete"]
    summary = _records(pd.read_csv(larochelle / "pv_summary.csv"), "group")["all"]
    assert round(summary["mwp"] * 1e3, 3) == 2_664.669
    assert summary["communes_with_data"] == 1 and not summary["complete"]
    targets = _records(pd.read_csv(larochelle / "pv_targets.csv"), "indicator")
    assert targets["pv_mwp"]["note"].startswith("partial: building data for 1 of 466")
    assert pd.isna(targets["pv_mwp"]["potential_covers_target"])  # 2.7 of 5 MWp
    # the district's public roofs say nothing of the 465 other communes': not checked
    public = targets["public_roofs_equipped_share"]
    assert public["note"].startswith("partial: building data for 1 of 466")
    assert pd.isna(public["potential_covers_target"])


@pytest.fixture(scope="module")
def lot_charging(lot_charging_out: Path) -> Path:
    return lot_charging_out  # pipelines/lot_charging.yaml, run once per test process


@realdata
def test_lot_charging_epci_rows_say_what_they_cover(lot_charging: Path) -> None:
    rows = _csv(lot_charging / "charging_indicators.csv")
    figeac = rows["epci/200067361"]  # CC Grand-Figeac: 6 of its communes are in the Aveyron
    assert (figeac["communes_in_run"], figeac["communes_in_epci"]) == (86, 92)
    assert not figeac["complete"]
    assert figeac["coverage_note"].startswith(
        "partial: 86 of the 92 communes of the EPCI in the run"
    )
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


@realdata
def test_lot_charging_fast_shares_empty_without_any_known_power(lot_charging: Path) -> None:
    table = pd.read_csv(lot_charging / "charging_indicators.csv", dtype={"code": str})
    # all 139 points of the file have no power: whether a fast point is near is unknown
    terr = table[table["level"] == "territory"].iloc[0]
    assert terr["ev_points"] == 139 and terr["ev_points_power_unknown"] == 139
    access = gpd.read_file(lot_charging / "geocarbon.gpkg", layer="charging_access")
    assert access["fast_distance_m"].isna().all()
    fast = [c for c in table.columns if c.startswith("ev_pop_share") and c.endswith("_fast")]
    assert sorted(fast) == sorted(f"ev_pop_share_within_{d}km_fast" for d in (1, 5, 10))
    # a row's share is 0 only where no point at all lies within the distance of any of its
    # populated cells (then no fast point does either); empty wherever a point is near
    for d in (1, 5, 10):
        col = f"ev_pop_share_within_{d}km_fast"
        known = table[col].notna()
        assert (table.loc[known, col] == 0).all(), col
        assert (table.loc[known, f"ev_pop_share_within_{d}km"] == 0).all(), col
        near = table[f"ev_pop_share_within_{d}km"] > 0
        assert table.loc[near, col].isna().all(), col
    assert pd.isna(terr["ev_pop_share_within_1km_fast"])
    communes = table[table["level"] == "commune"]
    assert communes["ev_pop_share_within_10km_fast"].isna().sum() > 300
