"""Hedges: length per commune and land-use category, stock and flow, by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geocarbon.carbon.hedges import (
    DEFAULT_C_TOT_KM,
    agricultural_km,
    carbon_per_km,
    clip_to_communes,
    hedge_flows,
    hedge_stocks,
    length_by_category,
    segments,
)
from geocarbon.io.tables import read_csv

CRS = "EPSG:2154"


def two_communes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"commune_code": ["46001", "46002"]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs=CRS,
    )


def hedge_lines() -> gpd.GeoSeries:
    return gpd.GeoSeries(
        [
            shapely.LineString([(500, 500), (1500, 500)]),  # 500 m in each commune
            shapely.LineString([(100, 100), (100, 900)]),  # 800 m in 46001
            shapely.LineString([(1000, 200), (1000, 700)]),  # 500 m along the border
            shapely.LineString([(1800, 900), (2500, 900)]),  # 200 m in 46002, 500 m outside
        ],
        crs=CRS,
    )


def test_lines_are_split_at_commune_borders_and_counted_once() -> None:
    pieces = clip_to_communes(hedge_lines(), two_communes())
    per = pieces.groupby("commune_code")["length_m"].sum()
    # 46001: 500 + 800 + 500 (the stretch on the border, counted in the first commune only)
    assert per["46001"] == pytest.approx(1800.0)
    assert per["46002"] == pytest.approx(700.0)  # 500 + 200; the 500 m outside are not in it
    assert pieces["line"].tolist() == [0, 0, 1, 2, 3]


def test_length_per_category_from_segment_midpoints() -> None:
    pieces = clip_to_communes(hedge_lines(), two_communes())
    segs = segments(pieces, step_m=10.0)
    # the segments add up exactly to the clipped lengths
    assert segs["length_m"].sum() == pytest.approx(2500.0)
    assert segs["length_m"].max() <= 10.0 + 1e-9
    # land cover: cropland west of x = 1200 m, broadleaf forest east of it
    category = np.where(segs["x"] < 1200, "cropland", "forest_broadleaf")
    lengths = length_by_category(pieces, segs, category)
    got = {(r.commune_code, r.category): r.length_km for r in lengths.itertuples()}
    assert got == pytest.approx(
        {
            ("46001", "cropland"): 1.8,
            ("46002", "cropland"): 0.2,  # x 1000-1200 of the first line
            ("46002", "forest_broadleaf"): 0.5,  # x 1200-1500 and the 200 m of the last
        }
    )
    # stock on agricultural land only, at the département's C_tot_km
    per_km = carbon_per_km(
        pd.Series(["46001", "46002"]),
        pd.Series(["46", "46"]),
        pd.DataFrame({"dep": [46], "C_aerien_km": [80.0], "C_tot_km": [100.0]}),
    )
    stocks = hedge_stocks(lengths, per_km)
    assert stocks["category"].tolist() == ["cropland", "cropland"]
    assert stocks["stock_tc"].tolist() == pytest.approx([180.0, 20.0])  # 1.8 and 0.2 km x 100
    assert stocks["stock_aerial_tc"].tolist() == pytest.approx([144.0, 16.0])
    assert stocks["pool"].unique().tolist() == ["hedges"]
    assert agricultural_km(lengths).to_dict() == pytest.approx({"46001": 1.8, "46002": 0.2})


def test_geographic_lines_measured_after_projection() -> None:
    # the same lines in degrees and back: the projected length is what is measured
    lines = hedge_lines().to_crs("EPSG:4326").to_crs(CRS)
    pieces = clip_to_communes(lines, two_communes())
    assert pieces["length_m"].sum() == pytest.approx(2500.0, abs=0.01)


def test_carbon_per_km_of_the_real_table(shared: Path) -> None:
    table = read_csv(shared / "aldo" / "carbone-haies.csv", "hedge carbon")
    per_km = carbon_per_km(pd.Series(["46042", "75056"]), pd.Series(["46", "75"]), table)
    lot = per_km.iloc[0]
    assert lot["c_tot_tc_per_km"] == pytest.approx(103.255711587173)
    assert lot["c_aerial_tc_per_km"] == pytest.approx(80.6685470724251)
    assert "46" in lot["c_source"]
    paris = per_km.iloc[1]  # not among the 31 départements of the study
    assert paris["c_tot_tc_per_km"] == DEFAULT_C_TOT_KM
    assert np.isnan(paris["c_aerial_tc_per_km"])
    assert "default" in paris["c_source"]


def test_generic_runs_use_the_default_per_km() -> None:
    per_km = carbon_per_km(pd.Series(["46042"]), pd.Series(["46"]), None)
    assert per_km["c_tot_tc_per_km"].tolist() == [101.0]


def test_flow_of_a_gain_and_a_loss_by_hand() -> None:
    per_km = carbon_per_km(pd.Series(["a", "b"]), pd.Series(["01", "01"]), None)
    before = pd.Series({"a": 1.0, "b": 0.5})
    after = pd.Series({"a": 1.8, "b": 0.2})
    flows = hedge_flows(before, after, per_km, years=6)
    # a: +0.8 km / 6 yr x 101 tC/km x 44/12 = 49.3778 ; b: -0.3 / 6 x 101 x 44/12 = -18.5167
    assert flows["flow_tco2e_per_yr"].tolist() == pytest.approx(
        [0.8 / 6 * 101 * 44 / 12, -0.3 / 6 * 101 * 44 / 12]
    )
    assert flows["flow_kind"].unique().tolist() == ["hedges"]
    assert flows["pcaet_category"].unique().tolist() == ["agricultural_soils"]
