"""Hostile road networks and partial EV fleets in the charging step: a road file of points,
zero-length lines, lines that cross without a shared vertex or have only their end vertices,
one continent-long line, roads that reach no charging point, and an EV fleet table that lists
only some communes. Each case: one clear refusal, or right numbers with a notice saying what
was set aside (never ``inf`` in an output)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString, Point

from geocarbon.charging.indicators import access_by_zone, nearest_distance_m
from geocarbon.charging.network import (
    SEGMENT_MAX_M,
    lines_in_territory,
    network_distance_m,
    road_lines,
)
from geocarbon.errors import InputError
from tests.conftest import write_raster
from tests.hostile.conftest import X0, Y0, Sandbox, assert_refused

TO_LONLAT = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)


def _lines(*coords: Sequence[tuple[float, float]]) -> np.ndarray:
    return np.array([LineString(c) for c in coords], dtype=object)


# --- road_lines: what counts as a road -------------------------------------------------------


def test_road_file_of_points_refused_naming_file_and_types() -> None:
    roads = gpd.GeoSeries([Point(0, 0), Point(1, 1), Point(2, 2)])
    with pytest.raises(InputError) as err:
        road_lines(roads, "roads.gpkg")
    text = str(err.value)
    assert "roads.gpkg" in text and "no line geometry" in text and "3 Point" in text


def test_non_line_features_set_aside_with_notice() -> None:
    roads = gpd.GeoSeries(
        [LineString([(0, 0), (100, 0)]), Point(5, 5), Point(6, 6), Point(0, 0).buffer(1)]
    )
    lines, notices = road_lines(roads, "roads.gpkg")
    assert len(lines) == 1
    (notice,) = notices
    assert notice.code == "road_network_not_lines"
    assert "3 features" in notice.message
    assert notice.items == ["2 Point", "1 Polygon"]


def test_zero_length_lines_dropped_with_notice_or_refused_when_nothing_left() -> None:
    roads = gpd.GeoSeries(
        [LineString([(0, 0), (100, 0)]), LineString([(5, 5), (5, 5)]), LineString([(7, 7), (7, 7)])]
    )
    lines, notices = road_lines(roads, "roads.gpkg")
    assert [round(g.length) for g in lines] == [100]
    assert [n.code for n in notices] == ["road_network_zero_length"]
    assert "2 lines of zero length" in notices[0].message
    with pytest.raises(InputError, match="no line of non-zero length"):
        road_lines(gpd.GeoSeries([LineString([(5, 5), (5, 5)])]), "roads.gpkg")


# --- network_distance_m: hand-computed graphs -------------------------------------------------


def test_crossing_lines_without_shared_vertex_are_joined() -> None:
    # a cross: (0,0)-(2000,0) and (1000,-1000)-(1000,1000), 2 vertices each, no shared vertex
    roads = _lines([(0, 0), (2000, 0)], [(1000, -1000), (1000, 1000)])
    point = np.array([[0.0, 0.0]])
    cells = np.array([[1000.0, 1000.0], [1000.0, -1000.0], [500.0, 10.0], [1030.0, 600.0]])
    got = network_distance_m(roads, cells, point)
    # up/down the vertical road to the crossing (1000 m), then 1000 m west to the point;
    # (500, 10) snaps 10 m to (500, 0) then 500 m; (1030, 600) snaps 30 m to (1000, 600)
    np.testing.assert_allclose(got, [2000, 2000, 510, 30 + 600 + 1000], rtol=1e-9)


def test_grid_result_does_not_depend_on_vertex_density() -> None:
    # a 2 km road grid over 4 km x 4 km: lines every 2 km, drawn with end vertices only
    # or with a vertex every 10 m: the same roads, the same distances
    sparse = [[(0, y), (4000, y)] for y in (0, 2000, 4000)]
    sparse += [[(x, 0), (x, 4000)] for x in (0, 2000, 4000)]
    dense = [
        [(a + (b - a) * t, c + (d - c) * t) for t in np.linspace(0, 1, 401)]
        for (a, c), (b, d) in sparse
    ]
    point = np.array([[0.0, 0.0]])
    cells = np.array([[2900.0, 3000.0], [2000.0, 3000.0], [4000.0, 4000.0], [1000.0, 50.0]])
    got_sparse = network_distance_m(_lines(*sparse), cells, point)
    got_dense = network_distance_m(_lines(*dense), cells, point)
    # (2900,3000): 900 m off the road x = 2000, snaps to (2000,3000) -> 900 + 5000 along the
    # grid; (2000,3000): on the road, 5000; (4000,4000): 8000; (1000,50): 50 + 1000
    expected = [900 + 5000, 5000, 8000, 50 + 1000]
    np.testing.assert_allclose(got_sparse, expected, rtol=1e-9)
    np.testing.assert_allclose(got_dense, expected, rtol=1e-9)


def test_long_straight_line_snaps_to_its_nearest_spot_not_to_far_vertices() -> None:
    # one 10,000 km line with two vertices; cell 30 m off it, point 20 m off it, 5 km apart
    roads = _lines([(-5e6, 0), (5e6, 0)])
    got = network_distance_m(roads, np.array([[2500.0, 30.0]]), np.array([[-2500.0, -20.0]]))
    np.testing.assert_allclose(got, [30 + 5000 + 20], rtol=1e-9)
    assert SEGMENT_MAX_M == 100.0


def test_unreachable_cells_get_nan_never_inf() -> None:
    # two roads that do not touch; the point is on the first
    roads = _lines([(0, 0), (1000, 0)], [(0, 5000), (1000, 5000)])
    got = network_distance_m(
        roads, np.array([[500.0, 0.0], [500.0, 5000.0]]), np.array([[0.0, 0.0]])
    )
    assert got[0] == pytest.approx(500.0)
    assert np.isnan(got[1])
    assert not np.isinf(got).any()
    # no point at all: no distance, not inf
    assert np.isnan(network_distance_m(roads, np.array([[0.0, 0.0]]), np.zeros((0, 2)))).all()
    assert np.isnan(nearest_distance_m(np.array([[0.0, 0.0]]), np.zeros((0, 2)))).all()


def test_continent_long_line_clipped_in_its_own_crs_keeps_its_course() -> None:
    # a straight 10,000 km line in Lambert-93 through a 30 km territory (two vertices): cut
    # and densified in Lambert-93 before moving to the territory's CRS, it still crosses it
    line = gpd.GeoSeries([LineString([(-4_440_000, 6_392_000), (5_590_000, 6_392_000)])], crs=2154)
    lines = lines_in_territory(line, 2154, (560_000, 6_380_000, 590_000, 6_404_000), 10_000, 100)
    assert len(lines) == 1
    x0, y0, x1, y1 = lines[0].bounds
    assert (x0, x1) == pytest.approx((550_000, 600_000))
    assert y0 == pytest.approx(6_392_000) and y1 == pytest.approx(6_392_000)


# --- access_by_zone with cells that have no distance -----------------------------------------


def test_access_counts_cells_without_distance_as_beyond_every_distance() -> None:
    pop = np.array([10.0, 30.0, 60.0])
    dist = np.array([500.0, 3000.0, np.nan])
    out = access_by_zone(pop, dist, dist, np.array(["a", "a", "a"]), [1000.0, 5000.0], 10_000.0)
    row = out.loc["a"]
    assert row["ev_population_grid"] == 100
    assert row["ev_pop_share_within_1km"] == pytest.approx(0.10)
    assert row["ev_pop_share_within_5km"] == pytest.approx(0.40)
    # mean over the 40 inhabitants that have a distance: (10*500 + 30*3000) / 40
    assert row["ev_mean_distance_m"] == pytest.approx(2375.0)
    assert row["ev_white_zone_population"] == 60
    assert row["ev_population_unreachable"] == 60
    none = access_by_zone(
        np.array([5.0]), np.array([np.nan]), np.array([np.nan]), np.array(["b"]), [1000.0], 1e4
    )
    assert pd.isna(none["ev_mean_distance_m"].iloc[0])  # no data, not 0
    assert none.loc["b", "ev_pop_share_within_1km"] == 0


# --- end to end, through the CLI --------------------------------------------------------------


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def _charging_inputs(sandbox: Sandbox, roads: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """A point of 22 kW in 46001 at (X0+50, Y0-50), one of 50 kW in 46002 at (X0+350,
    Y0-350) only when ``two_points``; 10 inhabitants in every 100 m cell of the communes."""
    folder = sandbox.inputs
    write_raster(
        folder / "pop.tif",
        np.full((4, 4), 10.0, dtype=np.float32),
        transform=Affine(100, 0, X0, 0, -100, Y0),
        crs="EPSG:3035",
        nodata=-1,
    )
    lon, lat = _lonlat(X0 + 50, Y0 - 50)
    (folder / "irve.csv").write_text(
        "id_station_itinerance,id_pdc_itinerance,coordonneesXY,puissance_nominale\n"
        f'S1,P1,"[{lon:.7f}, {lat:.7f}]",22\n',
        encoding="utf-8",
    )
    charging: dict[str, Any] = {
        "points": {"path": "../data_raw/tiny/irve.csv"},
        "population_raster": "../data_raw/tiny/pop.tif",
        "distances_m": [1000, 5000],
    }
    if roads is not None:
        roads.to_file(folder / "roads.gpkg", layer="roads")
        charging["road_network"] = {"path": "../data_raw/tiny/roads.gpkg"}
    return charging


def _rows(path: Path, key: str) -> dict[Any, dict[Any, Any]]:
    """The rows of a CSV written by a run, by ``key`` (``level/code`` for the indicators)."""
    frame = pd.read_csv(path, dtype={"code": str})
    if key == "level/code":
        frame.index = frame["level"] + "/" + frame["code"]
    else:
        frame.index = frame[key]
    return {k: dict(v) for k, v in frame.to_dict("index").items()}


def _outputs(sandbox: Sandbox) -> str:
    return str((sandbox.repo / "outputs").relative_to(sandbox.root))


def _run_json(sandbox: Sandbox) -> dict[str, Any]:
    return json.loads((sandbox.repo / "outputs" / "tiny" / "run.json").read_text())


def test_cli_road_file_of_points_refused_by_validate_and_run(sandbox: Sandbox) -> None:
    roads = gpd.GeoDataFrame(
        geometry=[Point(X0 + 50, Y0 - 50), Point(X0 + 150, Y0 - 150)], crs="EPSG:3035"
    )
    p = sandbox.write_pipeline(charging=_charging_inputs(sandbox, roads))
    for command in ("validate", "run"):
        before = sandbox.digest()
        result = sandbox.run(command, p)
        assert_refused(
            result,
            "roads.gpkg",
            "no line geometry",
            "2 Point",
            before=before,
            after=sandbox.digest(),
            allowed=[_outputs(sandbox)] if command == "run" else [],
        )
        assert not (sandbox.repo / "outputs" / "tiny").exists()


def test_cli_cells_no_road_reaches_have_no_distance_and_a_notice(sandbox: Sandbox) -> None:
    # road 1 along x = X0+50 (through the point), road 2 along x = X0+350, not joined: the
    # cells of 46002 (x = X0+250, X0+350) snap to road 2, from which no point can be reached
    roads = gpd.GeoDataFrame(
        geometry=[
            LineString([(X0 + 50, Y0), (X0 + 50, Y0 - 400)]),
            LineString([(X0 + 350, Y0), (X0 + 350, Y0 - 400)]),
        ],
        crs="EPSG:3035",
    )
    p = sandbox.write_pipeline(charging=_charging_inputs(sandbox, roads))
    result = sandbox.run("run", p)
    assert result.returncode == 0, result.stdout + result.stderr
    out = sandbox.repo / "outputs" / "tiny"
    text = (out / "charging_indicators.csv").read_text()
    assert "inf" not in text.lower()
    table = _rows(out / "charging_indicators.csv", "level/code")
    west, east = table["commune/46001"], table["commune/46002"]
    # 46001: cells at x = X0+50 are 0, 100, 200, 300 m along road 1 from the point; cells at
    # x = X0+150 snap 100 m to it: 100, 200, 300, 400 m. Mean (600 + 1000) / 8 = 200 m
    assert west["ev_mean_distance_m"] == pytest.approx(200.0, rel=1e-3)
    assert west["ev_pop_share_within_1km"] == pytest.approx(1.0)
    assert west["ev_population_unreachable"] == 0
    # 46002: no distance (empty), beyond every distance, white zone
    assert np.isnan(east["ev_mean_distance_m"])
    assert east["ev_pop_share_within_1km"] == 0
    assert east["ev_population_unreachable"] == pytest.approx(80.0)
    assert east["ev_white_zone_population"] == pytest.approx(80.0)
    territory = table["territory/territory"]
    assert territory["ev_pop_share_within_5km"] == pytest.approx(0.5)
    assert territory["ev_mean_distance_m"] == pytest.approx(200.0, rel=1e-3)  # reached only
    run = _run_json(sandbox)
    (notice,) = [n for n in run["notices"] if n["code"] == "charging_unreachable_by_road"]
    assert "8 populated cells (80 inhabitants)" in notice["message"]
    assert notice["items"] == ["46002"]
    cells = gpd.read_file(out / "geocarbon.gpkg", layer="charging_access")
    assert not np.isinf(cells["distance_m"].to_numpy(dtype=float)).any()
    assert int(cells["distance_m"].isna().sum()) == 8


def test_cli_partial_fleet_kw_per_bev_over_known_communes_and_target_partial(
    sandbox: Sandbox,
) -> None:
    charging = _charging_inputs(sandbox, None)
    lon, lat = _lonlat(X0 + 350, Y0 - 350)
    with (sandbox.inputs / "irve.csv").open("a", encoding="utf-8") as f:
        f.write(f'S2,P2,"[{lon:.7f}, {lat:.7f}]",50\n')
    (sandbox.inputs / "fleet.csv").write_text("code_insee,bev,phev\n46001,10,0\n")
    charging["ev_fleet"] = {"path": "../data_raw/tiny/fleet.csv"}
    charging["targets"] = [{"indicator": "kw_per_bev", "value": 1.3}]
    p = sandbox.write_pipeline(charging=charging)
    result = sandbox.run("run", p)
    assert result.returncode == 0, result.stdout + result.stderr
    out = sandbox.repo / "outputs" / "tiny"
    table = _rows(out / "charging_indicators.csv", "level/code")
    territory = table["territory/territory"]
    assert territory["ev_kw"] == pytest.approx(72.0)  # both points
    # kW of 46001 only (22 kW) for its 10 BEV, not 72 kW / 10 BEV
    assert territory["ev_kw_per_bev"] == pytest.approx(2.2)
    assert territory["ev_fleet_communes"] == 1
    assert territory["communes"] == 2
    assert np.isnan(table["commune/46002"]["ev_kw_per_bev"])
    targets = _rows(out / "charging_targets.csv", "indicator")
    assert targets["kw_per_bev"]["value"] == pytest.approx(2.2)
    assert pd.isna(targets["kw_per_bev"]["reached"])  # not checked: partial
    assert "partial" in targets["kw_per_bev"]["note"]
    assert "1 of 2 communes" in targets["kw_per_bev"]["note"]
    run = _run_json(sandbox)
    (notice,) = [n for n in run["notices"] if n["code"] == "ev_fleet_unknown"]
    assert notice["items"] == ["46002"]
    assert "1 of 2 communes" in notice["message"]
    assert "only the communes with a known fleet" in notice["message"]
