"""Rooftop PV: roof model by hand, one hour of one panel recomputed without pvlib, the La
Rochelle district end to end, and bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Polygon, box

from geocarbon.cli import main
from geocarbon.config import PvParameters
from geocarbon.demo import make_demo_weather
from geocarbon.errors import InputError
from geocarbon.io.weather import Weather, read_weather
from geocarbon.solar.roofs import roof_form, usable_area_m2, within
from geocarbon.solar.yield_model import check_weather, hourly_ac_kw_per_kwp, specific_yield
from tests.conftest import REPO, SHARED, realdata, run_shared_pipeline, write_pipeline

WEATHER = SHARED / "larochelle" / "weather_la_rochelle_tmyx.epw.gz"


def test_roof_form() -> None:
    got = roof_form(np.array([0.0, 0.9, 1.0, 1.1, 4.0, np.nan]), flat_max_range_m=1.0)
    assert got.tolist() == ["flat", "flat", "flat", "pitched", "pitched", "unknown"]


def test_usable_area_and_kwp() -> None:
    p = PvParameters()  # flat 40 %, pitched 40 %, unknown 25 %; x 0.75 below 50 m²; min 10 m²
    footprint = np.array([100.0, 40.0, 20.0, 100.0, 1500.0])
    roof = np.array(["flat", "pitched", "pitched", "unknown", "flat"])
    usable = usable_area_m2(footprint, roof, p)
    # 100 x 0.4 = 40; 40 x 0.4 x 0.75 = 12; 20 x 0.4 x 0.75 = 6 (below 10: kept as computed,
    # the building is excluded by roof_potential); 100 x 0.25 = 25; 600
    np.testing.assert_allclose(usable, [40.0, 12.0, 6.0, 25.0, 600.0])
    np.testing.assert_allclose(usable * p.kwp_per_m2, [8.0, 2.4, 1.2, 5.0, 120.0])  # 0.2 kWp/m²


def test_exclusion_zones_by_representative_point() -> None:
    points = gpd.GeoSeries(gpd.points_from_xy([5, 15, 50], [5, 5, 50]))
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(0, 0, 20, 20)])
    # the first zone containing the point wins; the third point is in none
    assert within(points, zones).tolist() == [0, 1, -1]


def test_points_in_no_zone_are_all_minus_one() -> None:
    # a chunk of buildings all outside the communes (a task of the PV step on a cluster, or
    # a buildings file beside the territory): every point in none, not an error
    points = gpd.GeoSeries(gpd.points_from_xy([50, 60], [50, 60]))
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)])
    assert within(points, zones).tolist() == [-1, -1]


def _solar_position(ts_utc: pd.Timestamp, lat: float, lon: float) -> tuple[float, float]:
    """Zenith and azimuth [deg] with NOAA's solar equations (independent of pvlib)."""
    jd = ts_utc.to_julian_date()
    t = (jd - 2451545.0) / 36525.0
    l0 = (280.46646 + t * (36000.76983 + 0.0003032 * t)) % 360
    m = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    mr = math.radians(m)
    c = (
        math.sin(mr) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * mr) * (0.019993 - 0.000101 * t)
        + math.sin(3 * mr) * 0.000289
    )
    true_long = l0 + c
    omega = 125.04 - 1934.136 * t
    app_long = true_long - 0.00569 - 0.00478 * math.sin(math.radians(omega))
    eps0 = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    eps = eps0 + 0.00256 * math.cos(math.radians(omega))
    decl = math.degrees(math.asin(math.sin(math.radians(eps)) * math.sin(math.radians(app_long))))
    y = math.tan(math.radians(eps / 2)) ** 2
    l0r = math.radians(l0)
    eq_time = 4 * math.degrees(
        y * math.sin(2 * l0r) - 2 * e * math.sin(mr) + 4 * e * y * math.sin(mr) * math.cos(2 * l0r)
        - 0.5 * y * y * math.sin(4 * l0r) - 1.25 * e * e * math.sin(2 * mr)
    )  # fmt: skip
    minutes = ts_utc.hour * 60 + ts_utc.minute + ts_utc.second / 60
    true_solar = (minutes + eq_time + 4 * lon) % 1440
    hour_angle = true_solar / 4 - 180
    lat_r, decl_r, ha_r = map(math.radians, (lat, decl, hour_angle))
    cos_z = math.sin(lat_r) * math.sin(decl_r) + math.cos(lat_r) * math.cos(decl_r) * math.cos(ha_r)
    zen = math.degrees(math.acos(cos_z))
    az = (
        math.degrees(
            math.atan2(
                math.sin(ha_r),
                math.cos(ha_r) * math.sin(lat_r) - math.tan(decl_r) * math.cos(lat_r),
            )
        )
        + 180
    )
    return zen, az % 360


def _hand_ac_kw(w: Weather, ts: pd.Timestamp, tilt: float, azimuth: float) -> float:
    """One hour of a 1 kWp panel: Hay–Davies POA, physical IAM, SAPM close-mount cell
    temperature, PVWatts DC, 14 % losses — written out by hand."""
    row = w.data.loc[ts]
    mid = (ts + pd.Timedelta(minutes=30)).tz_convert("UTC")
    zen, az = _solar_position(mid, w.latitude, w.longitude)
    b = 2 * math.pi * (mid.day_of_year - 1) / 365
    dni_extra = 1366.1 * (
        1.00011
        + 0.034221 * math.cos(b)
        + 0.00128 * math.sin(b)
        + 0.000719 * math.cos(2 * b)
        + 0.000077 * math.sin(2 * b)
    )
    tr, zr = math.radians(tilt), math.radians(zen)
    cos_aoi = math.cos(zr) * math.cos(tr) + math.sin(zr) * math.sin(tr) * math.cos(
        math.radians(az - azimuth)
    )
    aoi = math.degrees(math.acos(cos_aoi))
    ai = row.dni / dni_extra
    rb = max(cos_aoi, 0) / max(math.cos(zr), 0.01745)
    sky = row.dhi * (ai * rb + (1 - ai) * (1 + math.cos(tr)) / 2)
    ground = row.ghi * 0.2 * (1 - math.cos(tr)) / 2
    direct = row.dni * max(cos_aoi, 0)
    n, kl = 1.526, 4 * 0.002

    def tau(theta_deg: float) -> float:
        th = math.radians(max(theta_deg, 1e-6))
        thr = math.asin(math.sin(th) / n)
        refl = 0.5 * (
            math.sin(thr - th) ** 2 / math.sin(thr + th) ** 2
            + math.tan(thr - th) ** 2 / math.tan(thr + th) ** 2
        )
        return math.exp(-kl / math.cos(thr)) * (1 - refl)

    tau0 = math.exp(-kl) * (1 - ((n - 1) / (n + 1)) ** 2)
    effective = direct * tau(aoi) / tau0 + sky + ground
    poa = direct + sky + ground
    t_module = (
        poa * math.exp(-2.98 - 0.0471 * row.wind_speed) + row.temp_air
    )  # SAPM close mount glass/glass
    t_cell = t_module + poa / 1000 * 1.0
    dc = effective / 1000 * (1 - 0.004 * (t_cell - 25))
    return dc * 0.86


@realdata
def test_one_hour_one_panel_by_hand() -> None:
    w = read_weather(WEATHER)
    ts = pd.Timestamp("2019-06-21 12:00", tz=w.data.index.tz)
    ours = hourly_ac_kw_per_kwp(w, 30.0, 180.0).loc[ts]
    assert ours > 0.3
    assert ours == pytest.approx(_hand_ac_kw(w, ts, 30.0, 180.0), rel=0.005)
    ts2 = pd.Timestamp("2019-03-15 09:00", tz=w.data.index.tz)  # morning, panel facing south-west
    assert hourly_ac_kw_per_kwp(w, 35.0, 225.0).loc[ts2] == pytest.approx(
        _hand_ac_kw(w, ts2, 35.0, 225.0), rel=0.01
    )


@realdata
def test_la_rochelle_south_30_yield_in_published_range() -> None:
    w = read_weather(WEATHER)
    check_weather(w)
    assert w.data["ghi"].sum() / 1000 == pytest.approx(1378, rel=0.01)  # kWh/m²/yr, as published
    south = specific_yield(w, 30.0, 180.0)
    assert 1250 <= south <= 1450  # kWh/kWp, published range for La Rochelle
    east = specific_yield(w, 30.0, 90.0)
    assert east < 0.9 * south


def _broken_weather(tmp_path: Path, kind: str) -> Path:
    import gzip

    with gzip.open(WEATHER, "rt") as fh:
        lines = fh.read().splitlines()
    head, rows = lines[:8], lines[8:]
    if kind == "short":
        rows = rows[:-24]
    else:  # a missing GHI value: NaN, EPW's 9999 code, an absurd value, text
        fields = rows[4000].split(",")
        fields[13] = {"gap": "NaN", "epw_missing": "9999", "huge": "99999", "text": "abc"}[kind]
        rows[4000] = ",".join(fields)
    path = tmp_path / f"{kind}.epw"
    path.write_text("\n".join(head + rows) + "\n")
    return path


@realdata
@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("short", "8736 hourly rows"),
        ("gap", "missing values (ghi: 1)"),
        ("epw_missing", "1 value(s) of ghi outside 0–1500 W/m² (e.g. 9999 at 2019-06-16 16:00"),
        ("huge", "1 value(s) of ghi outside 0–1500 W/m² (e.g. 99999 at"),
        ("text", "column ghi holds 1 value(s) that are not numbers (e.g. 'abc' at"),
    ],
)
def test_bad_weather(tmp_path: Path, kind: str, needle: str) -> None:
    w = read_weather(_broken_weather(tmp_path, kind))
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        check_weather(w)


@pytest.fixture(scope="module")
def larochelle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_shared_pipeline(
        REPO / "pipelines" / "larochelle.yaml",
        tmp_path_factory.mktemp("lr") / "out",
        SHARED / "larochelle" / "weather_la_rochelle_tmyx.epw.gz",
    )


@realdata
def test_la_rochelle_district(larochelle: Path) -> None:
    b = gpd.read_file(larochelle / "geocarbon.gpkg", layer="pv_buildings")
    assert len(b) == 361  # every building is in the layer, kept or not
    assert set(b.columns) >= {
        "building_id",
        "commune_code",
        "footprint_m2",
        "roof_type",
        "usable_m2",
        "kwp",
        "kwh_per_yr",
        "kwh_per_kwp",
        "excluded_reason",
    }
    kept = b[b.excluded_reason == ""]
    assert (kept.usable_m2 >= 10).all()
    np.testing.assert_allclose(kept.kwp, kept.usable_m2 * 0.2)
    # too small: the computed usable area is kept (not zeroed), no panels, the reason says why
    small = b[b.excluded_reason == "usable roof area below 10 m²"]
    assert len(small) > 0 and (small.usable_m2 > 0).all() and (small.usable_m2 < 10).all()
    assert (small.kwp == 0).all() and (small.kwh_per_yr == 0).all()
    np.testing.assert_allclose(kept.kwh_per_yr, kept.kwp * kept.kwh_per_kwp)
    assert set(kept.roof_type) == {"flat", "pitched", "unknown"}
    # the 18 corrupt records of this export (every field "3" or "6") keep a reason
    assert (b.excluded_reason == "duplicate building id (corrupt record?)").sum() == 18
    # the export's cut BD TOPO names are recognised (constructi, etat_de_l_): its 95 light
    # structures (4 of them with 14.47 kWp of panels before) and its ruin carry no panels
    assert (b.excluded_reason == "light structure").sum() == 95
    ruin = b[b.excluded_reason == "not in service"]
    assert ruin.building_id.tolist() == ["batiment.BATIMENT0000002205861219"]
    assert set(b.loc[b.excluded_reason != "", "excluded_reason"]) == {
        "duplicate building id (corrupt record?)",
        "usable roof area below 10 m²",
        "light structure",
        "not in service",
    }
    assert kept.kwp.sum() == pytest.approx(2_664.669, abs=5e-4)
    run = json.loads((larochelle / "run.json").read_text(encoding="utf-8"))
    (excluded,) = [n for n in run["notices"] if n["code"] == "buildings_excluded"]
    assert {"light structure: 95", "not in service: 1"} <= set(excluded["items"])
    communes = gpd.read_file(larochelle / "geocarbon.gpkg", layer="communes").set_index(
        "commune_code"
    )
    lr = communes.loc["17200"]  # Lagord, next to La Rochelle, holds the district
    assert lr["pv_kwp"] == pytest.approx(kept.kwp.sum())
    assert lr["pv_mwh_per_yr"] == pytest.approx(kept.kwh_per_yr.sum() / 1e3)
    assert lr["pv_kwp_per_inhab"] == pytest.approx(lr["pv_kwp"] / lr["population"])
    assert communes.drop(index="17200")["pv_kwp"].sum() == 0
    yields = pd.read_csv(larochelle / "pv_yields.csv").set_index("case")["kwh_per_kwp"]
    assert 1250 <= yields["reference_south"] <= 1450
    assert (
        yields["pitched"] < yields["reference_south"]
    )  # an average over orientations, not all south
    targets = pd.read_csv(larochelle / "pv_targets.csv").set_index("indicator")
    assert targets.loc["pv_mwp", "potential"] == pytest.approx(kept.kwp.sum() / 1e3)
    assert "carbon_stocks" not in str(list((larochelle).iterdir()))  # no land cover: no carbon step
    assert (larochelle / "maps" / "rooftop_pv.html").is_file()


def test_bad_buildings_get_a_reason(tmp_path: Path) -> None:
    from tests.test_pv_support import weather_file

    x0, y0 = 380_000.0, 6_570_000.0  # near La Rochelle, Lambert-93
    weather = weather_file(tmp_path)
    communes = gpd.GeoDataFrame(
        {"code": ["17300"], "nom": ["X"]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000)],
        crs="EPSG:2154",
    )
    communes.to_file(tmp_path / "c.gpkg", layer="communes")
    bowtie = Polygon(
        [(x0 + 100, y0 + 100), (x0 + 200, y0 + 200), (x0 + 200, y0 + 100), (x0 + 100, y0 + 200)]
    )
    buildings = gpd.GeoDataFrame(
        {"id": ["a", "b", "c", "d", "e", "f", "g"], "hauteur": [5.0, -3.0, 4.0, None, 6.0, 5.0, 1e308],
         "altitude_minimale_toit": [10, 10, 10, None, 10, 10, 10],
         "altitude_maximale_toit": [10.5, 14, 10.2, None, 10.1, 10.5, 10.5]},
        geometry=[box(x0 + 10, y0 + 10, x0 + 30, y0 + 30), box(x0 + 40, y0 + 40, x0 + 60, y0 + 60), bowtie,
                  box(x0 + 300, y0 + 300, x0 + 320, y0 + 320), box(x0 + 5000, y0 + 5000, x0 + 5020, y0 + 5020),
                  box(x0 - 100, y0 - 100, x0 + 1000, y0 + 1000), box(x0 + 400, y0 + 400, x0 + 420, y0 + 420)],
        crs="EPSG:2154",
    )  # fmt: skip
    buildings.to_file(tmp_path / "b.gpkg", layer="b")
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "pv", "output_dir": "out", "communes": {"path": "c.gpkg"},
         "pv": {"buildings": {"path": "b.gpkg", "id_field": "id"}, "weather": {"path": str(weather)}}},
    )  # fmt: skip
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code == 0, result.output
    out = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    # true footprint areas (Lambert-93 shrinks areas by ~0.2 % here)
    assert out.loc["a", "footprint_m2"] == pytest.approx(400, rel=0.005)
    assert out.loc["a", "roof_type"] == "flat"
    assert out.loc["a", "usable_m2"] == pytest.approx(0.4 * out.loc["a", "footprint_m2"])
    assert out.loc["b", "excluded_reason"] == "negative height"
    # the bow-tie is repaired into two triangles of 5,000 m² together
    assert out.loc["c", "excluded_reason"] == ""
    assert out.loc["c", "footprint_m2"] == pytest.approx(5000, rel=0.005)
    assert out.loc["d", "roof_type"] == "unknown"
    assert out.loc["d", "usable_m2"] == pytest.approx(0.25 * out.loc["d", "footprint_m2"])
    assert out.loc["e", "excluded_reason"] == "outside the communes"
    # a 121 ha "building" (a parcel or territory polygon) and a 1e308 m height get no panels
    assert out.loc["f", "excluded_reason"] == "implausible footprint (over 100 ha)"
    assert out.loc["g", "excluded_reason"] == "implausible height (over 1,000 m)"


def test_irradiation_raster_scales_yields(tmp_path: Path) -> None:
    from affine import Affine

    from tests.conftest import write_raster
    from tests.test_pv_support import weather_file

    weather = weather_file(tmp_path)
    ghi_ref = read_weather(weather).data["ghi"].sum() / 1e3
    x0, y0 = 380_000.0, 6_570_000.0
    gpd.GeoDataFrame(
        {"code": ["17300"], "nom": ["X"]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000)],
        crs="EPSG:2154",
    ).to_file(tmp_path / "c.gpkg", layer="communes")
    gpd.GeoDataFrame(
        {
            "id": ["in", "off"],
            "altitude_minimale_toit": [10.0, 10.0],
            "altitude_maximale_toit": [10.2, 10.2],
        },
        geometry=[
            box(x0 + 10, y0 + 10, x0 + 40, y0 + 40),
            box(x0 + 800, y0 + 800, x0 + 830, y0 + 830),
        ],
        crs="EPSG:2154",
    ).to_file(tmp_path / "b.gpkg", layer="b")
    # 1,500 kWh/m²/yr over the south-west quarter of the commune only
    write_raster(
        tmp_path / "ghi.tif",
        np.full((5, 5), 1500.0, dtype="float32"),
        transform=Affine(100, 0, x0, 0, -100, y0 + 500),
        crs="EPSG:2154",
        nodata=-1,
    )

    def run(pv: dict) -> tuple[int, str]:
        p = write_pipeline(
            tmp_path / "p.yaml",
            {
                "name": "pv",
                "output_dir": "out",
                "communes": {"path": "c.gpkg"},
                "pv": {"buildings": {"path": "b.gpkg", "id_field": "id"}, **pv},
            },
        )
        r = CliRunner().invoke(main, ["-q", "run", str(p), "--overwrite"])
        return r.exit_code, r.output

    code, out = run({"weather": {"path": str(weather)}})
    assert code == 0, out
    base = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    code, out = run({"weather": {"path": str(weather)}, "irradiation_raster": "ghi.tif"})
    assert code == 0, out
    scaled = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    assert scaled.loc["in", "kwh_per_kwp"] == pytest.approx(
        base.loc["in", "kwh_per_kwp"] * 1500 / ghi_ref
    )
    assert scaled.loc["off", "excluded_reason"] == "outside the irradiation raster"
    # a raster that covers no building: one clear message
    write_raster(
        tmp_path / "far.tif",
        np.full((5, 5), 1500.0, dtype="float32"),
        transform=Affine(100, 0, x0 + 50_000, 0, -100, y0),
        crs="EPSG:2154",
    )
    code, out = run({"weather": {"path": str(weather)}, "irradiation_raster": "far.tif"})
    assert code != 0 and "does not cover the buildings" in " ".join(out.split())
    # raster alone: a synthetic year at the territory gives the shape, the raster the level
    code, out = run({"irradiation_raster": "ghi.tif"})
    assert code == 0, out
    alone = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    # the 30 m x 30 m flat roof: 40 % usable x 0.2 kWp/m² of its true footprint (~900 m²)
    footprint = alone.loc["in", "footprint_m2"]
    assert footprint == pytest.approx(900, rel=0.005)
    assert alone.loc["in", "kwp"] == pytest.approx(0.4 * 0.2 * footprint, rel=1e-9)
    # the shape: the demo's synthetic year at the commune's centre, flat roofs south 15°
    # on open racks; its yield per kWh/m² of horizontal irradiation x 1,500
    centre = gpd.read_file(tmp_path / "c.gpkg").to_crs("EPSG:4326").union_all().centroid
    year = Weather(make_demo_weather(centre.y, centre.x), centre.y, centre.x, 0.0, "test")
    flat = specific_yield(
        year,
        15.0,
        180.0,
        temperature_model="open_rack_glass_glass",
        losses_percent=14.0,
        gamma_pdc_per_c=-0.004,
    )
    per_ghi = flat / (year.data["ghi"].sum() / 1e3)
    assert 0.75 < per_ghi < 1.1  # a plausible ratio of yield to horizontal irradiation
    assert alone.loc["in", "kwh_per_kwp"] == pytest.approx(1500 * per_ghi, rel=1e-6)
    assert alone.loc["in", "kwh_per_yr"] == pytest.approx(
        0.4 * 0.2 * footprint * 1500 * per_ghi, rel=1e-6
    )
    assert alone.loc["off", "excluded_reason"] == "outside the irradiation raster"
    assert alone.loc["off", "kwp"] == 0 and alone.loc["off", "kwh_per_yr"] == 0
    # the level is the raster's: 1,200 instead of 1,500 kWh/m²/yr gives 0.8 x the energy
    write_raster(
        tmp_path / "ghi.tif",
        np.full((5, 5), 1200.0, dtype="float32"),
        transform=Affine(100, 0, x0, 0, -100, y0 + 500),
        crs="EPSG:2154",
        nodata=-1,
    )
    code, out = run({"irradiation_raster": "ghi.tif"})
    assert code == 0, out
    lower = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    assert lower.loc["in", "kwh_per_yr"] == pytest.approx(
        0.8 * alone.loc["in", "kwh_per_yr"], rel=1e-9
    )


def test_exclusion_zones_existing_installations_and_empty_geometry(tmp_path: Path) -> None:
    from tests.test_pv_support import weather_file

    weather = weather_file(tmp_path)
    x0, y0 = 380_000.0, 6_570_000.0
    gpd.GeoDataFrame(
        {"code": ["17300"], "nom": ["X"], "pop": [1000]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000)],
        crs="EPSG:2154",
    ).to_file(tmp_path / "c.gpkg", layer="communes")
    gpd.GeoDataFrame(
        {
            "id": ["free", "heritage", "equipped", "empty"],
            "altitude_minimale_toit": [10.0] * 4,
            "altitude_maximale_toit": [13.0] * 4,
            "usage_1": ["Sportif", "Religieux", "Sportif", ""],
        },
        geometry=[
            box(x0 + 10, y0 + 10, x0 + 40, y0 + 40),
            box(x0 + 500, y0 + 500, x0 + 530, y0 + 530),
            box(x0 + 700, y0 + 100, x0 + 730, y0 + 130),
            Polygon(),
        ],
        crs="EPSG:2154",
    ).to_file(tmp_path / "b.gpkg", layer="b")
    gpd.GeoDataFrame(
        geometry=[box(x0 + 400, y0 + 400, x0 + 600, y0 + 600)], crs="EPSG:2154"
    ).to_file(tmp_path / "sites.gpkg", layer="s")
    gpd.GeoDataFrame(
        {"kwp": [9.0]}, geometry=[box(x0 + 690, y0 + 90, x0 + 740, y0 + 140)], crs="EPSG:2154"
    ).to_file(tmp_path / "pv.gpkg", layer="pv")
    p = write_pipeline(
        tmp_path / "p.yaml",
        {"name": "pv", "output_dir": "out", "communes": {"path": "c.gpkg", "population_field": "pop"},
         "pv": {"buildings": {"path": "b.gpkg", "id_field": "id"}, "weather": {"path": str(weather)},
                "exclusions": [{"path": "sites.gpkg", "reason": "heritage site (site classé)"}],
                "existing": {"path": "pv.gpkg", "kwp_field": "kwp"},
                "targets": [{"indicator": "public_roofs_equipped_share", "value": 0.5, "year": 2030},
                            {"indicator": "pv_mwp", "value": 0.001}]}},
    )  # fmt: skip
    r = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert r.exit_code == 0, r.output
    out = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="pv_buildings").set_index(
        "building_id"
    )
    assert out.loc["free", "excluded_reason"] == "" and out.loc["free", "kwp"] > 0
    assert (
        out.loc["heritage", "excluded_reason"] == "heritage site (site classé)"
        and out.loc["heritage", "kwp"] == 0
    )
    assert out.loc["equipped", "excluded_reason"] == "existing installation"
    assert out.loc["empty", "excluded_reason"] == "no geometry"
    targets = pd.read_csv(tmp_path / "out" / "pv_targets.csv").set_index("indicator")
    # public roofs: 3 ("free", "heritage", "equipped"), 1 equipped -> 1/3; gap 0.5 - 1/3
    assert targets.loc["public_roofs_equipped_share", "existing"] == pytest.approx(1 / 3)
    assert targets.loc["public_roofs_equipped_share", "gap_to_target"] == pytest.approx(0.5 - 1 / 3)
    assert targets.loc["pv_mwp", "existing"] == pytest.approx(0.009)  # 9 kWp installed
    communes = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="communes")
    assert communes["pv_existing_kwp"].iloc[0] == 9.0
    assert communes["pv_kwp_per_inhab"].iloc[0] == pytest.approx(communes["pv_kwp"].iloc[0] / 1000)


def test_pvgis_tmy_json_is_read(tmp_path: Path) -> None:
    """A PVGIS TMY export (JSON layout) is read through pvlib, whatever its months' years."""
    import json

    from geocarbon.demo import make_demo_weather

    data = make_demo_weather(45.0, 1.0)
    years = {m: 2005 + m for m in range(1, 13)}  # a typical year picks months of different years
    hourly = [
        {
            "time(UTC)": ts.tz_convert("UTC").replace(year=years[ts.tz_convert("UTC").month]).strftime("%Y%m%d:%H%M"),
            "T2m": row.temp_air, "RH": row.relative_humidity, "G(h)": row.ghi, "Gb(n)": row.dni,
            "Gd(h)": row.dhi, "IR(h)": 300.0, "WS10m": row.wind_speed, "WD10m": 180.0, "SP": row.pressure,
        }
        for ts, row in data.iterrows()
    ]  # fmt: skip
    doc = {
        "inputs": {"location": {"latitude": 45.0, "longitude": 1.0, "elevation": 150.0}},
        "meta": {"inputs": {}},
        "outputs": {
            "months_selected": [{"month": m, "year": y} for m, y in years.items()],
            "tmy_hourly": hourly,
        },
    }
    path = tmp_path / "tmy_45.000_1.000.json"
    path.write_text(json.dumps(doc))
    w = read_weather(path)
    check_weather(w)
    assert (w.latitude, w.longitude, w.altitude) == (45.0, 1.0, 150.0)
    assert w.data["ghi"].sum() == pytest.approx(data["ghi"].sum())
    assert specific_yield(w, 30.0, 180.0) == pytest.approx(
        specific_yield(Weather(data, 45.0, 1.0, 150.0, "x"), 30.0, 180.0), rel=0.01
    )


def _year_at(lat: float, lon: float, tz: str) -> Weather:
    index = pd.date_range("2019-01-01", periods=8760, freq="h", tz=tz)
    data = pd.DataFrame(
        {"ghi": 0.0, "dni": 0.0, "dhi": 0.0, "temp_air": 10.0, "wind_speed": 2.0}, index=index
    )
    return Weather(data, lat, lon, 10.0, "w.epw (epw)")


def test_weather_recorded_far_away_or_in_a_wrong_time_zone() -> None:
    """La Rochelle (46.16 N, 1.15 W): a year from Sydney is refused, one from Bordeaux
    (~180 km) is fine, one from Toulouse (~370 km) gets a notice; a UTC-12 time zone at
    longitude -1.15 is 11.9 h off solar time and refused."""
    from geocarbon.solar.yield_model import check_weather_site

    lat, lon = 46.16, -1.15
    with pytest.raises(InputError, match=r"recorded at \(-33\.95, 151\.18\), 17,3\d\d km"):
        check_weather_site(_year_at(-33.95, 151.18, "Etc/GMT-10"), lat, lon)
    assert check_weather_site(_year_at(44.84, -0.58, "Etc/GMT-1"), lat, lon) == []
    far = check_weather_site(_year_at(43.60, 1.44, "Etc/GMT-1"), lat, lon)
    assert [n.code for n in far] == ["weather_site_far"] and "35" in far[0].message
    with pytest.raises(InputError, match=r"UTC-12 h\) is 11\.9 h off"):
        check_weather_site(_year_at(46.16, -1.15, "Etc/GMT+12"), lat, lon)


def test_every_field_the_pipeline_names_must_exist() -> None:
    """A misspelled (or wrongly cased: BD TOPO 3.5 writes USAGE1) field is refused with the
    file's fields; a default name absent from the file is not (another layout)."""
    from geocarbon.capabilities.pv_step import prepare_buildings
    from geocarbon.config import PvConfig
    from geocarbon.errors import InputError

    raw = gpd.GeoDataFrame(
        {"ID": ["a"], "HAUTEUR": [6.0], "USAGE1": ["Sportif"]},
        geometry=[box(0, 0, 10, 10)],
        crs="EPSG:2154",
    )

    def pv(**buildings: object) -> PvConfig:
        return PvConfig.model_validate(
            {"buildings": {"path": "b.gpkg", **buildings}, "weather": {"path": "w.epw"}}
        )

    with pytest.raises(InputError) as err:
        prepare_buildings(raw, pv(id_field="ID", usage_field="usage1"), "b.gpkg")
    text = str(err.value)
    assert "no field 'usage1' (pv.buildings.usage_field)" in text
    assert "did you mean 'USAGE1'?" in text and "fields: ID, HAUTEUR, USAGE1" in text
    with pytest.raises(InputError, match=r"no field 'altitude_2' \(pv.buildings.roof_max_field\)"):
        prepare_buildings(raw, pv(roof_max_field="altitude_2"), "b.gpkg")
    # these BD TOPO 3.5 names are recognised (layout auto): height and usage read
    out, _ = prepare_buildings(raw, pv(), "b.gpkg")
    assert out["height_m"].tolist() == [6.0] and out["public"].tolist() == [True]
    # no known layout: the defaults (hauteur, altitude_*_toit, usage_1) are absent: accepted,
    # values unknown
    raw = raw.rename(columns={"HAUTEUR": "h", "USAGE1": "u"})
    out, notices = prepare_buildings(raw, pv(id_field="ID"), "b.gpkg")
    assert out["building_id"].tolist() == ["a"] and np.isnan(out["height_m"]).all()
    assert [n.facts["layout"] for n in notices if n.code == "buildings_layout"] == ["none"]
    # heights do not set roof forms: the notice must not suggest they do
    (height,) = [n for n in notices if n.code == "buildings_without_height"]
    assert "heights are unknown" in height.message
    assert "roof forms come from the roof altitudes, not from heights" in height.message
    # named and present: used
    out, _ = prepare_buildings(raw, pv(height_field="h", usage_field="u"), "b.gpkg")
    assert out["height_m"].tolist() == [6.0] and out["public"].tolist() == [True]


def test_roof_altitudes_stored_as_text_are_read() -> None:
    """Some exports store roof altitudes as text ('152.3'): read as numbers; a cell that is
    no number leaves that roof's form unknown (with the notice), never a crash."""
    from geocarbon.capabilities.pv_step import prepare_buildings
    from geocarbon.config import PvConfig

    raw = gpd.GeoDataFrame(
        {"zmin": ["150.0", "150.0", "n/a"], "zmax": ["150.2", "154.5", "151"]},
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)],
        crs="EPSG:2154",
    )
    pv = PvConfig.model_validate(
        {
            "buildings": {"path": "b.gpkg", "roof_min_field": "zmin", "roof_max_field": "zmax"},
            "weather": {"path": "w.epw"},
        }
    )
    out, notices = prepare_buildings(raw, pv, "b.gpkg")
    assert out["roof_range_m"].iloc[:2].tolist() == pytest.approx([0.2, 4.5])
    assert np.isnan(out["roof_range_m"].iloc[2])
    assert [n.facts["n_buildings"] for n in notices if n.code == "roof_form_unknown"] == [1]
