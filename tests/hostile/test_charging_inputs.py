"""Hostile charging-point inputs: coordinates in projected metres, station layers whose
coordinate columns disagree with their geometry or use a decimal comma, unusable station point
counts (``nbre_pdc``), powers with a decimal comma, and files whose points all fall outside the
territory. Each case: one clear refusal (exit 2, nothing changed outside the output folder) or a
correct result with the QA flag and notice that say what was set aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from geocarbon.charging.clean import (
    check_degrees,
    clean_points,
    coordinates_not_degrees,
    parse_decimal,
    parse_xy,
    point_notices,
    points_from_irve,
    points_from_stations,
    station_coordinates,
    station_count_notice,
    station_point_counts,
)
from geocarbon.errors import InputError
from tests.hostile.conftest import X0, Y0, Sandbox, assert_refused
from tests.hostile.conftest import notice_of as _notice
from tests.hostile.conftest import outputs_rel as _outputs
from tests.hostile.conftest import run_json as _run_json

TO_LONLAT = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
TO_L93 = Transformer.from_crs("EPSG:3035", "EPSG:2154", always_xy=True)

# sandbox communes (EPSG:3035): 46001 = [X0, X0 + 200] x [Y0 - 400, Y0], 46002 east of it
IN_46001_A = (X0 + 50, Y0 - 50)
IN_46001_B = (X0 + 150, Y0 - 350)
IN_46002 = (X0 + 250, Y0 - 50)

# two communes in degrees for the pure functions
COMMUNES = gpd.GeoDataFrame(
    {"commune_code": ["46042", "46043"], "commune_name": ["A", "B"]},
    geometry=[box(1.40, 44.40, 1.45, 44.50), box(1.45, 44.40, 1.50, 44.50)],
    crs="EPSG:4326",
)


def _lonlat(xy: tuple[float, float]) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(*xy)
    return float(lon), float(lat)


def _l93(xy: tuple[float, float]) -> tuple[float, float]:
    x, y = TO_L93.transform(*xy)
    return float(x), float(y)


def _irve(folder: Path, rows: list[tuple[str, tuple[float, float], str]]) -> None:
    """An IRVE statique v2 file: (point id, (lon, lat) as written, declared power)."""
    lines = ["id_station_itinerance,id_pdc_itinerance,coordonneesXY,puissance_nominale"]
    lines += [f'S{pid},{pid},"[{x:.7f}, {y:.7f}]",{power}' for pid, (x, y), power in rows]
    (folder / "irve.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pipeline(sandbox: Sandbox, points: str = "irve.csv", **points_cfg: Any) -> Path:
    return sandbox.write_pipeline(
        landcover=None,
        carbon=None,
        charging={"points": {"path": f"../data_raw/tiny/{points}", **points_cfg}},
    )


def _result(sandbox: Sandbox) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    gpkg = sandbox.repo / "outputs" / "tiny" / "geocarbon.gpkg"
    communes = gpd.read_file(gpkg, layer="communes").set_index("commune_code")
    points = gpd.read_file(gpkg, layer="charging_points")
    return communes, points


# --- pure functions, by hand ----------------------------------------------------------------


def test_parse_decimal_accepts_a_decimal_comma() -> None:
    cells = pd.Series(["22,0", "22.5", " 7 ", "12 points", "", None, "1,000,5", "-1,5", "3,"])
    got = parse_decimal(cells)
    nan = np.nan
    np.testing.assert_array_equal(got, [22.0, 22.5, 7.0, nan, nan, nan, nan, -1.5, nan])
    # numbers stay numbers
    np.testing.assert_array_equal(parse_decimal(pd.Series([1.843358, np.nan])), [1.843358, nan])


def test_parse_xy_accepts_decimal_commas() -> None:
    cells = pd.Series(["[1.843358, 44.924358]", "[1,843358, 44,924358]", "[1,8; -44,9]",
                       "[1,8, 44]", "[1, 2, 3]", ""])  # fmt: skip
    lon, lat = parse_xy(cells)
    nan = np.nan
    np.testing.assert_array_equal(lon, [1.843358, 1.843358, 1.8, nan, nan, nan])
    np.testing.assert_array_equal(lat, [44.924358, 44.924358, -44.9, nan, nan, nan])


def test_coordinates_not_degrees_by_hand() -> None:
    lon = np.array([574000.0, 1.84, 44.9, 166.4, -22.3, 200.0, 179.0, np.nan, -180.0])
    lat = np.array([6390000.0, 44.9, 1.84, -22.3, 166.4, 10.0, 91.0, np.nan, -90.0])
    # metres; degrees; swapped degrees (France); New Caledonia; New Caledonia swapped (166 is
    # a longitude, not metres); 200 cannot be a longitude nor a latitude; 179/91 neither
    # order; no coordinates; the corner of the degree range
    assert coordinates_not_degrees(lon, lat).tolist() == [
        True, False, False, False, False, True, True, False, False,
    ]  # fmt: skip


def test_check_degrees_refuses_when_most_points_are_metres() -> None:
    lon = np.array([574000.0, 575000.0, 1.84, np.nan])
    lat = np.array([6390000.0, 6391000.0, 44.9, np.nan])
    with pytest.raises(InputError) as err:
        check_degrees(lon, lat, "irve.csv", "'coordonneesXY'")
    message = str(err.value)
    for needle in ("irve.csv", "2 of the 3 points", "'coordonneesXY'", "[574000, 6390000]",
                   "projected metres", "Lambert-93", "WGS84 degrees (EPSG:4326)"):  # fmt: skip
        assert needle in message, message
    # half of them (1 of 2) is not most: flagged point by point, not refused
    check_degrees(lon[1:3], lat[1:3], "irve.csv", "'coordonneesXY'")
    check_degrees(np.array([np.nan]), np.array([np.nan]), "irve.csv", "'coordonneesXY'")


def test_station_point_counts_by_hand() -> None:
    cells = pd.Series(["2", "0", "-4", "2.7", "12 points", "", None, "5000", "3,0", "inf", "1000"])
    points, invalid, implausible = station_point_counts(cells)
    assert points.tolist() == [2, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1000]
    assert invalid.tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert implausible.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0]


def test_station_count_notice_lists_stations_and_values() -> None:
    frame = pd.DataFrame(
        {"id_station_itinerance": ["A", "B", "C", "D"], "nbre_pdc": ["2", "0", "12 points", "2.7"]}
    )
    (notice,) = station_count_notice(frame, "stations.csv")
    assert notice.code == "station_points_invalid"
    assert notice.items == ["B: '0'", "C: '12 points'", "D: '2.7'"]
    assert "3 stations" in notice.message and "each counts as one point" in notice.message
    assert station_count_notice(frame.iloc[:1], "stations.csv") == []


def test_station_geometry_wins_over_disagreeing_columns() -> None:
    a, b = _lonlat(IN_46001_A), _lonlat(IN_46002)
    xa, ya = _l93(IN_46001_A)
    frame = gpd.GeoDataFrame(
        {
            "id_station_itinerance": ["A", "B", "C"],
            # A: Lambert-93 metres in the columns; B: decimal comma, agrees; C: no geometry
            "Xlongitude": [f"{xa:.1f}", f"{b[0]:.7f}".replace(".", ","), "1,5"],
            "Ylatitude": [f"{ya:.1f}", f"{b[1]:.7f}".replace(".", ","), "44,25"],
        },
        geometry=[Point(IN_46001_A), Point(IN_46002), None],
        crs="EPSG:3035",
    )
    lon, lat, differ = station_coordinates(frame, "stations.gpkg")
    np.testing.assert_allclose(lon, [a[0], b[0], 1.5], atol=1e-9)
    np.testing.assert_allclose(lat, [a[1], b[1], 44.25], atol=1e-9)
    assert differ.tolist() == [True, False, False]


def test_station_columns_alone_in_metres_are_refused() -> None:
    xa, ya = _l93(IN_46001_A)
    frame = pd.DataFrame(
        {"id_station_itinerance": ["A"], "nbre_pdc": ["2"], "Xlongitude": [xa], "Ylatitude": [ya]}
    )
    with pytest.raises(InputError, match=r"'Xlongitude' / 'Ylatitude'.*Lambert-93"):
        points_from_stations(frame, "stations.csv")


def test_station_and_irve_powers_read_a_decimal_comma_alike() -> None:
    stations = pd.DataFrame(
        {
            "id_station_itinerance": ["A", "B"],
            "nbre_pdc": ["1", "1"],
            "Xlongitude": ["1,41", "1.46"],
            "Ylatitude": ["44,41", "44.41"],
            "puissance_nominale": ["22,0", "7.4"],
        }
    )
    irve = pd.DataFrame(
        {
            "id_pdc_itinerance": ["A#1", "B#1"],
            "coordonneesXY": ["[1.41, 44.41]", "[1.46, 44.41]"],
            "puissance_nominale": ["22,0", "7.4"],
        }
    )
    from_stations = points_from_stations(stations, "stations.csv")
    from_irve = points_from_irve(irve, "irve.csv")
    assert from_stations["power_kw"].tolist() == [22.0, 7.4] == from_irve["power_kw"].tolist()
    assert from_stations["lon"].tolist() == [1.41, 1.46]
    cleaned = clean_points(from_stations, COMMUNES)
    assert cleaned["commune_code"].tolist() == ["46042", "46043"]
    assert cleaned["qa_flags"].tolist() == ["", ""]


def test_a_few_points_in_metres_are_flagged_not_located() -> None:
    irve = pd.DataFrame(
        {
            "id_pdc_itinerance": ["P1", "P2", "P3"],
            "coordonneesXY": ["[1.41, 44.41]", "[574000.0, 6390000.0]", "[1.46, 44.41]"],
            "puissance_nominale": ["22", "22", "22"],
        }
    )
    cleaned = clean_points(points_from_irve(irve, "irve.csv"), COMMUNES)
    assert cleaned["qa_flags"].tolist() == ["", "coordinates_not_degrees", ""]
    assert cleaned["commune_code"].tolist() == ["46042", "", "46043"]
    assert cleaned.geometry.isna().tolist() == [False, True, False]
    notices = {n.code: n for n in point_notices(cleaned, "irve.csv")}
    assert notices["charging_coordinates_not_degrees"].items == ["P2"]
    assert "3 points read, 2 in the territory" in notices["charging_qa"].message
    assert "charging_no_point_in_territory" not in notices


def test_point_notices_when_no_point_is_usable_or_inside() -> None:
    unusable = pd.DataFrame(
        {
            "id_pdc_itinerance": ["P1", "P2"],
            "coordonneesXY": ["", "n/a"],
            "puissance_nominale": ["22", "22"],
        }
    )
    cleaned = clean_points(points_from_irve(unusable, "irve.csv"), COMMUNES)
    with pytest.raises(InputError, match=r"none of the 2 points read has usable coordinates "
                       r"\(coordinates_unparseable: 2\)"):  # fmt: skip
        point_notices(cleaned, "irve.csv")
    elsewhere = unusable.assign(coordonneesXY=["[2.35, 48.85]", "[2.36, 48.86]"])
    cleaned = clean_points(points_from_irve(elsewhere, "irve.csv"), COMMUNES)
    notices = {n.code: n for n in point_notices(cleaned, "irve.csv")}
    notice = notices["charging_no_point_in_territory"]
    assert "none of the 2 points read lies in the territory" in notice.message
    assert "longitudes 2.35 to 2.36, latitudes 48.85 to 48.86" in notice.message
    assert notice.items == ["outside_territory: 2"]


# --- end to end (the CLI in a sandbox) ------------------------------------------------------


def test_irve_in_lambert93_is_refused(sandbox: Sandbox) -> None:
    _irve(
        sandbox.inputs,
        [("P1", _l93(IN_46001_A), "22"), ("P2", _l93(IN_46001_B), "22"),
         ("P3", _l93(IN_46002), "50")],
    )  # fmt: skip
    _pipeline(sandbox)
    for command in ("validate", "run"):
        before = sandbox.digest()
        result = sandbox.run(command, sandbox.pipeline)
        assert_refused(
            result, "irve.csv", "3 of the 3 points", "'coordonneesXY'", "projected metres",
            "Lambert-93", "WGS84 degrees",
            before=before, after=sandbox.digest(), allowed=[_outputs(sandbox)],
        )  # fmt: skip
        assert not (sandbox.repo / "outputs" / "tiny" / "run.json").exists()


def test_irve_with_one_point_in_metres_is_counted_without_it(sandbox: Sandbox) -> None:
    _irve(
        sandbox.inputs,
        [("P1", _lonlat(IN_46001_A), "22"), ("P2", _l93(IN_46001_B), "22"),
         ("P3", _lonlat(IN_46002), "50")],
    )  # fmt: skip
    _pipeline(sandbox)
    result = sandbox.run("run", sandbox.pipeline)
    assert result.returncode == 0, result.stderr
    communes, points = _result(sandbox)
    assert communes.loc["46001", "ev_points"] == 1  # P2 is located nowhere
    assert communes.loc["46002", "ev_points"] == 1
    flags = dict(zip(points["point_id"], points["qa_flags"].fillna(""), strict=True))
    assert flags == {"P1": "", "P2": "coordinates_not_degrees", "P3": ""}
    assert _notice(_run_json(sandbox), "charging_coordinates_not_degrees")["items"] == ["P2"]
    assert "charging 2 points in 2 communes" in " ".join((result.stdout + result.stderr).split())


def _stations_gpkg(folder: Path, xcol: list[str], ycol: list[str]) -> None:
    """Three stations of two points each, a valid point geometry (EPSG:3035) and the given
    Xlongitude / Ylatitude columns."""
    gpd.GeoDataFrame(
        {
            "id_station_itinerance": ["SA", "SB", "SC"],
            "nbre_pdc": ["2", "2", "2"],
            "Xlongitude": xcol,
            "Ylatitude": ycol,
        },
        geometry=[Point(IN_46001_A), Point(IN_46001_B), Point(IN_46002)],
        crs="EPSG:3035",
    ).to_file(folder / "stations.gpkg", layer="stations")


@pytest.mark.parametrize("columns", ["lambert93", "decimal_comma"])
def test_station_layer_geometry_is_used(sandbox: Sandbox, columns: str) -> None:
    places = [IN_46001_A, IN_46001_B, IN_46002]
    if columns == "lambert93":
        xy = [_l93(p) for p in places]
        xcol, ycol = [f"{x:.1f}" for x, _ in xy], [f"{y:.1f}" for _, y in xy]
    else:
        xy = [_lonlat(p) for p in places]
        xcol = [f"{x:.6f}".replace(".", ",") for x, _ in xy]
        ycol = [f"{y:.6f}".replace(".", ",") for _, y in xy]
    _stations_gpkg(sandbox.inputs, xcol, ycol)
    _pipeline(sandbox, "stations.gpkg", layout="stations")
    assert sandbox.run("validate", sandbox.pipeline).returncode == 0
    result = sandbox.run("run", sandbox.pipeline)
    assert result.returncode == 0, result.stderr
    communes, points = _result(sandbox)
    assert communes.loc["46001", "ev_points"] == 4
    assert communes.loc["46002", "ev_points"] == 2
    assert communes.loc["46001", "ev_stations"] == 2
    # no power column in this layout: every point's power is unknown
    expected = (
        "coordinates_columns_differ;power_unknown" if columns == "lambert93" else "power_unknown"
    )
    assert points["qa_flags"].fillna("").tolist() == [expected] * 6
    codes = [n["code"] for n in _run_json(sandbox)["notices"]]
    if columns == "lambert93":
        notice = _notice(_run_json(sandbox), "charging_coordinates_columns_differ")
        assert notice["items"] == ["SA", "SB", "SC"]
        assert "the geometry, in the layer's own CRS, is used" in notice["message"]
    else:
        assert "charging_coordinates_columns_differ" not in codes


def test_station_point_counts_flagged_end_to_end(sandbox: Sandbox) -> None:
    lon_lat = [_lonlat(IN_46001_A), _lonlat(IN_46001_B), _lonlat(IN_46002), _lonlat(IN_46002)]
    rows = ["id_station_itinerance,nbre_pdc,Xlongitude,Ylatitude,puissance_nominale"]
    counts = ["3", "0", "12 points", "2,7"]
    powers = ["22,0", "7.4", "50", ""]
    for i, ((x, y), n, kw) in enumerate(zip(lon_lat, counts, powers, strict=True)):
        rows.append(f'S{i},"{n}",{x:.7f},{y:.7f},"{kw}"')
    (sandbox.inputs / "stations.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    _pipeline(sandbox, "stations.csv", layout="stations")
    result = sandbox.run("run", sandbox.pipeline)
    assert result.returncode == 0, result.stderr
    communes, points = _result(sandbox)
    # S0: 3 points of 22 kW; S1 ("0"): one point; S2 ("12 points") and S3 (2.7): one each
    assert communes.loc["46001", "ev_points"] == 4
    assert communes.loc["46002", "ev_points"] == 2
    assert communes.loc["46001", "ev_kw"] == pytest.approx(3 * 22.0 + 7.4)
    assert communes.loc["46002", "ev_kw"] == 50.0
    by_station = points.groupby("station_id")["qa_flags"].first().fillna("")
    assert by_station["S0"] == ""
    assert by_station["S1"] == "station_points_invalid"
    assert by_station["S2"] == "station_points_invalid"
    assert by_station["S3"] == "station_points_invalid;power_unknown"
    notice = _notice(_run_json(sandbox), "station_points_invalid")
    assert notice["items"] == ["S1: '0'", "S2: '12 points'", "S3: '2,7'"]
    assert "each counts as one point" in notice["message"]


def test_no_point_in_the_territory_is_said_loudly(sandbox: Sandbox) -> None:
    _irve(sandbox.inputs, [("P1", (2.35, 48.85), "22"), ("P2", (2.36, 48.86), "22")])
    _pipeline(sandbox)
    result = sandbox.run("run", sandbox.pipeline)
    assert result.returncode == 0, result.stderr
    out = " ".join((result.stdout + result.stderr).split())
    assert "none of the 2 points read lies in the territory" in out
    notice = _notice(_run_json(sandbox), "charging_no_point_in_territory")
    assert notice["items"] == ["outside_territory: 2"]


def test_no_usable_coordinates_is_refused(sandbox: Sandbox) -> None:
    (sandbox.inputs / "irve.csv").write_text(
        "id_station_itinerance,id_pdc_itinerance,coordonneesXY,puissance_nominale\n"
        'S1,P1,"",22\nS2,P2,"[1.4; x]",22\n',
        encoding="utf-8",
    )
    _pipeline(sandbox)
    for command in ("validate", "run"):
        before = sandbox.digest()
        result = sandbox.run(command, sandbox.pipeline)
        assert_refused(
            result, "irve.csv", "none of the 2 points read has usable coordinates",
            "coordinates_unparseable: 2",
            before=before, after=sandbox.digest(), allowed=[_outputs(sandbox)],
        )  # fmt: skip
