"""An EPCI's climate plan start to finish: picking the territory, what each figure covers,
and carbon from ADEME's tables alone.

Unit tests on tiny hand-made tables; end-to-end runs on the shared real data (the Lot, the
national ALDO tables), checked against the whole-Lot run and against an independent
recomputation of ALDO's land-use-change rules (``tests/aldo_reference.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.windows import Window

from geocarbon.carbon.area_table import area_table_long, zone_mean
from geocarbon.cli import main
from geocarbon.errors import InputError
from geocarbon.territory import (
    departement_of,
    epci_coverage,
    level_rows,
    select_communes,
)
from tests.conftest import REPO, SHARED, realdata, write_pipeline

sys.path.insert(0, str(Path(__file__).parent))
import aldo_reference

CAHORS, FIGEAC, VILLEFRANCHOIS = "200023737", "200067361", "200069383"
FIGURES = ["forest", "agricultural_soils", "other_soils", "wood_products", "total"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# ----------------------------------------------------------------------------------------
# Units
# ----------------------------------------------------------------------------------------


def test_departement_of_codes() -> None:
    got = departement_of(pd.Series(["46042", "2A004", "2B033", "97105", "01001"])).tolist()
    assert got == ["46", "2A", "2B", "971", "01"]


def test_selection_is_the_union_and_names_what_matches_nothing() -> None:
    codes = pd.Series(["46001", "46002", "15001", "12001"])
    epci = pd.Series(["E1", "E1", "E2", None])
    sel = select_communes(
        codes,
        epci,
        epci_codes=["E2"],
        departements=["12"],
        commune_codes=["46002"],
        source="layer",
        epci_source="table",
    )
    assert sel.mask.tolist() == [False, True, True, True]
    with pytest.raises(InputError, match=r"territory.epci: E9 matches no commune of table"):
        select_communes(
            codes,
            epci,
            epci_codes=["E9"],
            departements=[],
            commune_codes=[],
            source="layer",
            epci_source="table",
        )
    with pytest.raises(InputError, match="EPCI membership is unknown"):
        select_communes(
            codes,
            epci,
            epci_codes=["E1"],
            departements=[],
            commune_codes=[],
            source="layer",
            epci_source=None,
        )


def test_epci_coverage_counts_members_missing_from_the_run() -> None:
    run = pd.Series(["E1", "E1", "E2", "E1"], index=["a", "b", "c", "x"])  # x: not in the table
    members = pd.Series(["E1", "E1", "E2", "E2", "E3"], index=["a", "b", "c", "d", "e"])
    cov = epci_coverage(run, members, "table", layer_codes={"a", "b", "c", "x"})
    assert cov.loc["E1"].to_dict() == {
        "communes_in_run": 3.0,
        "communes_in_epci": 2.0,
        "communes_missing": 0.0,
        "communes_missing_from_layer": 0.0,
        "epci_complete": True,
    }
    assert cov.loc["E2", "communes_missing"] == 1.0 and not cov.loc["E2", "epci_complete"]
    # d is not in the layer at all (outside it, or another vintage), not left out by a pick
    assert cov.loc["E2", "communes_missing_from_layer"] == 1.0
    unknown = epci_coverage(run, None, None)
    assert not unknown["epci_complete"].any() and unknown["communes_in_epci"].isna().all()


def test_level_rows_sum_communes_with_data_and_flag_the_rest() -> None:
    communes = pd.DataFrame(
        {
            "commune_code": ["a", "b", "c", "d"],
            "commune_name": list("ABCD"),
            "epci_code": ["E1", "E1", "E2", "E2"],
            "area_ha": [100.0, 300.0, 50.0, 50.0],
        }
    )
    values = pd.DataFrame({"total": [10.0, -3.0, 5.0, np.nan]}, index=list("abcd"))
    has = pd.Series([True, True, True, False], index=list("abcd"))
    share = pd.Series([1.0, 0.99, 1.0, 0.4], index=list("abcd"))
    sizes = epci_coverage(
        pd.Series(["E1", "E1", "E2", "E2"], index=list("abcd")),
        pd.Series(["E1", "E1", "E1", "E2", "E2"], index=list("abecd")),
        "t",
    )
    rows = level_rows(
        values,
        communes,
        territory_name="T",
        has_data=has,
        epci_sizes=sizes,
        share=share,
        weights=communes.set_index("commune_code")["area_ha"],
        what="land cover",
    ).set_index(["level", "code"])
    # commune d (40 % covered) is empty, never 0, and says why
    assert np.isnan(rows.loc[("commune", "d"), "total"])
    assert "covers 40.0% of the commune" in rows.loc[("commune", "d"), "coverage_note"]
    # E1: both its communes are in the run, but its third member (e) is not
    assert rows.loc[("epci", "E1"), "total"] == 7.0
    assert rows.loc[("epci", "E1"), "communes_in_epci"] == 3.0
    assert not rows.loc[("epci", "E1"), "complete"]
    assert "2 of the 3 communes of the EPCI" in rows.loc[("epci", "E1"), "coverage_note"]
    # E2: whole, but one commune without data: partial figure, flagged
    assert rows.loc[("epci", "E2"), "total"] == 5.0
    assert rows.loc[("epci", "E2"), "communes_with_data"] == 1.0
    assert not rows.loc[("epci", "E2"), "complete"]
    # area-weighted share: (50 * 1.0 + 50 * 0.4) / 100
    assert rows.loc[("epci", "E2"), "landcover_covered_share"] == pytest.approx(0.7)
    assert rows.loc[("territory", "territory"), "total"] == 12.0
    assert not rows.loc[("territory", "territory"), "complete"]


def test_level_rows_empty_when_no_commune_has_data() -> None:
    communes = pd.DataFrame(
        {"commune_code": ["a", "b"], "commune_name": ["A", "B"], "epci_code": ["E", "E"]}
    )
    values = pd.DataFrame({"total": [np.nan, np.nan]}, index=["a", "b"])
    rows = level_rows(
        values,
        communes,
        territory_name="T",
        has_data=pd.Series([False, False], index=["a", "b"]),
        epci_sizes=None,
    )
    assert rows["total"].isna().all()  # no data is empty, never 0
    assert not rows["complete"].any()


def test_area_table_wide_and_long() -> None:
    wide = pd.DataFrame(
        {
            "siren": ["200000001", "200000002", None],
            "112": ["10.5", None, None],
            "311": ["4", "2.5", None],
            "Unnamed: 3": [None, None, None],
        }
    )
    got = area_table_long(wide, source="t.csv", code_field="siren", layout="wide")
    assert got.to_dict("records") == [
        {"commune_code": "200000001", "landuse_code": 112, "area_ha": 10.5},
        {"commune_code": "200000001", "landuse_code": 311, "area_ha": 4.0},
        {"commune_code": "200000002", "landuse_code": 311, "area_ha": 2.5},
    ]
    long = pd.DataFrame({"insee": ["46042", "46042"], "code": ["211", "211"], "area": ["1", "2"]})
    got = area_table_long(long, source="t.csv", code_field="insee", layout="long")
    assert got.to_dict("records") == [
        {"commune_code": "46042", "landuse_code": 211, "area_ha": 3.0}
    ]
    with pytest.raises(InputError, match=r"columns 'Déboisement' are not land-cover codes"):
        area_table_long(
            wide.head(2).assign(Déboisement=1), source="t.csv", code_field="siren", layout="wide"
        )
    with pytest.raises(InputError, match=r"not areas in hectares \(200000002: '-1'\)"):
        area_table_long(
            wide.assign(**{"112": ["1", "-1", None]}),
            source="t.csv",
            code_field="siren",
            layout="wide",
        )
    with pytest.raises(InputError, match="zones listed twice: 200000001"):
        area_table_long(
            pd.concat([wide.head(1), wide.head(1)]),
            source="t.csv",
            code_field="siren",
            layout="wide",
        )


def test_zone_mean_averages_communes() -> None:
    frame = pd.DataFrame(
        {
            "commune_code": ["a", "b", "c"],
            "category": ["cropland"] * 3,
            "ref_stock_tc_per_ha": [50.0, 70.0, 10.0],
            "coefficient_source": ["z1", "z2", "z3"],
        }
    )
    got = zone_mean(frame, pd.Series({"a": "E", "b": "E", "c": "F"}), ["category"])
    assert got.set_index("commune_code")["ref_stock_tc_per_ha"].to_dict() == {
        "E": 60.0,
        "F": 10.0,
    }


# ----------------------------------------------------------------------------------------
# The Lot: one EPCI, EPCIs across départements, a land cover over part of the territory
# ----------------------------------------------------------------------------------------


def _lot_pipeline(**changes: Any) -> dict[str, Any]:
    """The Lot pipeline (pipelines/lot.yaml) with absolute paths and ``changes``."""
    import yaml

    text = (REPO / "pipelines" / "lot.yaml").read_text()
    data = yaml.safe_load(text.replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED)))
    data.pop("output_dir", None)
    data.update(changes)
    return data


def _run_pipeline(tmp: Path, name: str, data: dict[str, Any], *cmd: str) -> Path:
    path = write_pipeline(tmp / f"{name}.yaml", {"name": name, **data})
    out = tmp / f"out_{name}"
    code, output = _run("-q", "run", str(path), "--output-dir", str(out), *cmd)
    assert code == 0, output
    return out


def _seq(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "sequestration.csv", dtype={"code": str}).set_index(["level", "code"])


@pytest.fixture(scope="module")
def lot_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not (SHARED / "aldo" / "flux-zpc.csv").is_file():
        pytest.skip(f"real public data not found at {SHARED}")
    tmp = tmp_path_factory.mktemp("territory")
    published = _lot_pipeline()
    published["flows"]["aldo_published"] = True
    runs = {"lot": _run_pipeline(tmp, "lot", published)}
    cahors = _lot_pipeline(territory={"epci": [int(CAHORS)]})
    cahors["flows"]["aldo_published"] = True
    runs["cahors"] = _run_pipeline(tmp, "cahors", cahors)
    # communes of two EPCIs: Cahors (Grand Cahors) and Figeac (Grand-Figeac, which spans
    # the Lot and the Aveyron)
    runs["two"] = _run_pipeline(
        tmp, "two", _lot_pipeline(territory={"communes": ["46042", "46102"]})
    )
    runs["figeac"] = _run_pipeline(tmp, "figeac", _lot_pipeline(territory={"epci": [FIGEAC]}))
    # the land cover over the western 40 % of the Lot only
    with rasterio.open(SHARED / "lot" / "clc2018_100m.tif") as src:
        window = Window(0, 0, int(src.width * 0.4), src.height)
        profile = src.profile | {
            "width": window.width,
            "height": window.height,
            "transform": src.window_transform(window),
        }
        box = tmp / "clc_box.tif"
        with rasterio.open(box, "w", **profile) as dst:
            dst.write(src.read(1, window=window), 1)
    boxed = _lot_pipeline()
    boxed["landcover"]["path"] = str(box)
    runs["box"] = _run_pipeline(tmp, "box", boxed)
    # the start date over the box only (flows from two rasters)
    before = _lot_pipeline()
    before["flows"] = {"start_year": 2012, "end_year": 2018, "landcover_before": str(box)}
    runs["before_box"] = _run_pipeline(tmp, "before_box", before)
    # the Lot's boundaries with ADEME's areas per EPCI (no raster)
    tables = _lot_pipeline()
    del tables["landcover"]
    tables["areas"] = {
        "path": str(SHARED / "aldo" / "clc18_area_ha_by_epci.csv"),
        "level": "epci",
        "code_field": "siren",
    }
    runs["tables"] = _run_pipeline(tmp, "tables", tables)
    # Cahors alone: no change recorded over 2012-2018
    runs["cahors_town"] = _run_pipeline(
        tmp, "cahors_town", _lot_pipeline(territory={"communes": ["46042"]})
    )
    return runs


@realdata
def test_one_epci_picked_from_the_lot_equals_the_whole_lot_run(lot_runs) -> None:
    seq, lot = _seq(lot_runs["cahors"]), _seq(lot_runs["lot"])
    assert list(seq.index.get_level_values("level")).count("commune") == 36
    row = seq.loc[("epci", CAHORS)]
    # ALDO's reference figure for the Grand Cahors: land-use change (with its N2O), all in
    # "other soils", -1,242.1 tCO2e/yr with ALDO's published rules
    assert row["other_soils"] == pytest.approx(-1242.1, abs=0.05)
    for col in FIGURES:
        assert row[col] == pytest.approx(lot.loc[("epci", CAHORS), col], rel=1e-9)
    assert bool(row["complete"]) and row["communes_in_epci"] == 36
    # the territory is the EPCI
    assert seq.loc[("territory", "territory"), "total"] == pytest.approx(row["total"])
    communes = gpd.read_file(lot_runs["cahors"] / "geocarbon.gpkg", layer="communes")
    assert len(communes) == 36 and (communes["epci_code"] == CAHORS).all()
    notices = json.loads((lot_runs["cahors"] / "run.json").read_text())["notices"]
    assert any(n["code"] == "territory_selection" for n in notices)
    aside = next(n for n in notices if n["code"] == "change_rows_outside_territory")
    assert "left aside" in aside["message"]


@realdata
def test_partial_epcis_are_flagged_in_the_whole_lot(lot_runs) -> None:
    seq = _seq(lot_runs["lot"])
    figeac = seq.loc[("epci", FIGEAC)]
    assert (figeac["communes_in_run"], figeac["communes_in_epci"]) == (86, 92)
    assert not bool(figeac["complete"])
    assert "86 of the 92 communes" in figeac["coverage_note"]
    assert not bool(seq.loc[("epci", VILLEFRANCHOIS), "complete"])
    assert bool(seq.loc[("epci", CAHORS), "complete"])


@realdata
def test_an_epci_across_two_departements_and_communes_of_two_epcis(lot_runs) -> None:
    figeac = _seq(lot_runs["figeac"])
    assert list(figeac.index.get_level_values("level")).count("commune") == 86
    row = figeac.loc[("epci", FIGEAC)]
    assert not bool(row["complete"]) and row["communes_in_epci"] == 92
    assert row["total"] == pytest.approx(_seq(lot_runs["lot"]).loc[("epci", FIGEAC), "total"])
    two = _seq(lot_runs["two"])
    assert sorted(two.xs("commune").index) == ["46042", "46102"]
    assert sorted(two.xs("epci").index) == [CAHORS, FIGEAC]
    assert not two.xs("epci")["complete"].any()  # one commune of each
    assert two.loc[("territory", "territory"), "total"] == pytest.approx(
        two.xs("commune")["total"].sum()
    )


@realdata
def test_land_cover_over_part_of_the_territory(lot_runs) -> None:
    out = lot_runs["box"]
    seq = _seq(out)
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes").set_index("commune_code")
    share = communes["landcover_covered_share"]
    assert (share < 0.05).sum() > 50 and (share >= 0.95).sum() > 50  # the box cuts the Lot
    low = share < 0.95
    # communes under 95 % covered: every stock and flow empty (never 0), for every kind alike
    cols = [c for c in communes.columns if c.startswith(("stock_", "flow_"))]
    assert communes.loc[low, cols].isna().all().all()
    assert communes.loc[~low, cols].notna().all().all()
    assert (communes.loc[low, "carbon_complete"] == 0).all()
    commune_rows = seq.xs("commune")
    assert commune_rows.loc[low[low].index, "total"].isna().all()
    assert not commune_rows.loc[low[low].index, "complete"].any()
    # no EPCI without land cover reports a flow; every partial EPCI row is flagged
    epci = seq.xs("epci")
    for code, row in epci.iterrows():
        members = communes[communes["epci_code"] == code]
        with_data = int((members["landcover_covered_share"] >= 0.95).sum())
        assert row["communes_with_data"] == with_data
        if with_data == 0:
            assert np.isnan(row["total"]), code
        if with_data < len(members):
            assert not bool(row["complete"]) and "partial" in row["coverage_note"]
    assert not bool(seq.loc[("territory", "territory"), "complete"])
    # the flows layer holds no row of a commune without data
    flows = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_flows")
    assert not flows["commune_code"].isin(low[low].index).any()
    # the report's headline says the figures are partial
    report = (out / "report.html").read_text()
    assert "Ces chiffres sont partiels" in report and "Les stocks et flux couvrent" in report


# ----------------------------------------------------------------------------------------
# ALDO's tables alone: every EPCI of France
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def france(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "aldo" / "clc18_area_ha_by_epci.csv").is_file():
        pytest.skip(f"real public data not found at {SHARED}")
    import yaml

    tmp = tmp_path_factory.mktemp("france")
    text = (REPO / "pipelines" / "france_epci.yaml").read_text()
    data = yaml.safe_load(text.replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED)))
    data.pop("output_dir")
    path = write_pipeline(tmp / "france.yaml", data)
    code, output = _run("validate", str(path))
    assert code == 0 and "valid" in output, output
    out = tmp / "out"
    code, output = _run("-q", "run", str(path), "--output-dir", str(out))
    assert code == 0, output
    return out


@realdata
def test_table_only_run_has_one_row_per_epci(france) -> None:
    seq = pd.read_csv(france / "sequestration.csv", dtype={"code": str})
    areas = pd.read_csv(
        SHARED / "aldo" / "clc18_area_ha_by_epci.csv", dtype={"siren": str}, encoding="utf-8-sig"
    ).dropna(subset=["siren"])
    epci = seq[seq["level"] == "epci"]
    assert epci["code"].is_unique
    assert set(areas["siren"]) <= set(epci["code"])
    assert (seq["level"] == "territory").sum() == 1 and not (seq["level"] == "commune").any()
    # EPCIs the area table lacks, or the commune table does not know: empty, said why
    empty = epci[epci["total"].isna()]
    assert len(empty) < 20 and (empty["coverage_note"].str.len() > 10).all()
    assert not empty["complete"].any()
    # ALDO's rows coded 1-4 are no EPCI: said so, not blamed on a vintage
    pseudo = epci.set_index("code").loc[["1", "2", "3", "4"], "coverage_note"]
    assert pseudo.str.startswith("not an EPCI SIREN code").all(), pseudo
    assert "another vintage" in epci.set_index("code").loc["200072122", "coverage_note"]
    layer = gpd.read_file(france / "geocarbon.gpkg", layer="epci")
    assert not isinstance(layer, gpd.GeoDataFrame)  # no boundaries given: a table
    found = layer.set_index("epci_code")["inputs_found"]
    members = pd.read_csv(SHARED / "aldo" / "communes_17122018.csv", dtype=str)
    members = set(members.loc[members["epci"] == CAHORS, "insee"])
    changed = aldo_reference.read_change_table()["commune"].isin(members)
    n = aldo_reference.read_change_table().loc[changed, "commune"].nunique()
    assert n == 9
    assert (
        found[CAHORS]
        == f"areas; changes for {n} of 36 communes; coefficients for 36 of 36 communes"
    )
    assert "absent from the area table" in found["200077014"]
    assert not (france / "maps").exists()  # no boundaries, no map


@realdata
def test_table_only_landuse_change_equals_an_independent_recomputation(france) -> None:
    flows = gpd.read_file(france / "geocarbon.gpkg", layer="carbon_flows")
    got = (
        flows[flows["flow_kind"] == "landuse_change"]
        .groupby("epci_code")["flow_tco2e_per_yr"]
        .sum()
    )
    reference = aldo_reference.luc_by_epci(aldo_reference.read_change_table(), aldo_published=False)
    seq = pd.read_csv(france / "sequestration.csv", dtype={"code": str})
    with_data = seq.loc[(seq["level"] == "epci") & seq["complete"], "code"]
    compared = reference.reindex(with_data).dropna()
    assert len(compared) > 1200
    got = got.reindex(compared.index).fillna(0.0)  # no row: no change recorded
    rel = (got - compared).abs() / compared.abs().clip(lower=1.0)
    assert rel.max() < 1e-3, rel.sort_values().tail()
    # the Grand Cahors from the tables equals its raster run (flows from the same change table)
    assert got[CAHORS] == pytest.approx(-1183.625, abs=0.01)


@realdata
def test_start_date_over_part_of_the_territory(lot_runs) -> None:
    out = lot_runs["before_box"]
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes").set_index("commune_code")
    before = communes["landcover_before_covered_share"]
    assert (before < 0.05).sum() > 50 and (communes["landcover_covered_share"] > 0.95).all()
    low = before < 0.95
    flows = [c for c in communes.columns if c.startswith("flow_")]
    assert communes.loc[low, flows].isna().all().all()  # no change measurable: empty, not 0
    assert communes.loc[low, "stock_tc"].isna().all()  # one rule for every figure
    seq = _seq(out).xs("epci")
    for code, row in seq.iterrows():
        members = communes[communes["epci_code"] == code]
        with_data = int((members["landcover_before_covered_share"] >= 0.95).sum())
        if with_data == 0:
            assert np.isnan(row["other_soils"]), code  # never 0 for want of a start date
        if with_data < len(members):
            assert not bool(row["complete"]), code


@realdata
def test_epci_areas_with_boundaries_never_mix_a_cut_epci(lot_runs) -> None:
    seq = _seq(lot_runs["tables"])
    assert not (seq.index.get_level_values("level") == "commune").any()
    for code in (FIGEAC, VILLEFRANCHOIS):  # 86 of 92, 2 of 29 communes in the Lot
        row = seq.loc[("epci", code)]
        assert row[FIGURES].isna().all(), code
        assert not bool(row["complete"]) and "cover the whole EPCI" in row["coverage_note"]
    cahors = seq.loc[("epci", CAHORS)]
    assert bool(cahors["complete"])
    # the same land-use change as the raster run (the same change table, per commune)
    lot = gpd.read_file(lot_runs["lot"] / "geocarbon.gpkg", layer="carbon_flows")
    tables = gpd.read_file(lot_runs["tables"] / "geocarbon.gpkg", layer="carbon_flows")
    cahors_communes = set(
        gpd.read_file(lot_runs["cahors"] / "geocarbon.gpkg", layer="communes")["commune_code"]
    )
    luc_raster = lot[
        lot["commune_code"].isin(cahors_communes) & (lot["flow_kind"] == "landuse_change")
    ]["flow_tco2e_per_yr"].sum()
    luc_tables = tables[
        (tables["epci_code"] == CAHORS) & (tables["flow_kind"] == "landuse_change")
    ]["flow_tco2e_per_yr"].sum()
    # (the published and corrected rules agree on the Grand Cahors' land-use change alone)
    assert luc_tables == pytest.approx(luc_raster, rel=1e-9)
    assert luc_tables == pytest.approx(-1183.625, abs=0.01)
    assert not bool(seq.loc[("territory", "territory"), "complete"])
    epci = gpd.read_file(lot_runs["tables"] / "geocarbon.gpkg", layer="epci")
    assert epci.geometry.notna().all()  # boundaries given: the EPCIs are drawn


@realdata
def test_a_territory_without_change_and_a_territory_row_of_a_cut_epci(lot_runs) -> None:
    seq = _seq(lot_runs["cahors_town"])
    row = seq.loc[("commune", "46042")]
    assert row["other_soils"] == 0.0 and row["agricultural_soils"] == 0.0  # measured zero
    assert row["forest"] > 0
    notices = json.loads((lot_runs["cahors_town"] / "run.json").read_text())["notices"]
    assert any(n["code"] == "no_change_recorded" for n in notices)
    # picked by an EPCI the run holds only part of: the territory row is not the EPCI's
    figeac = _seq(lot_runs["figeac"]).loc[("territory", "territory")]
    assert not bool(figeac["complete"])
    assert "the run holds 86 communes of EPCI 200067361, which has 92" in figeac["coverage_note"]


@realdata
def test_one_epci_across_two_departements_from_the_tables(tmp_path: Path) -> None:
    import yaml

    text = (REPO / "pipelines" / "france_epci.yaml").read_text()
    data = yaml.safe_load(text.replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED)))
    data.pop("output_dir")
    data["territory"] = {"epci": [FIGEAC]}  # CC Grand-Figeac: 92 communes of the Lot and the Aveyron
    out = _run_pipeline(tmp_path, "figeac_tables", data)
    seq = _seq(out)
    row = seq.loc[("epci", FIGEAC)]
    assert bool(row["complete"]) and row["communes_in_run"] == 92 == row["communes_in_epci"]
    assert row[FIGURES].notna().all() and row["forest"] > 0
    deps = gpd.read_file(out / "geocarbon.gpkg", layer="communes")["commune_code"].str[:2]
    assert set(deps) == {"12", "46"}
    assert bool(seq.loc[("territory", "territory"), "complete"])
    # its land-use change is the independent recomputation's, Aveyron communes included
    flows = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_flows")
    luc = flows.loc[flows["flow_kind"] == "landuse_change", "flow_tco2e_per_yr"].sum()
    reference = aldo_reference.luc_by_epci(aldo_reference.read_change_table(), aldo_published=False)
    assert luc == pytest.approx(reference[FIGEAC], rel=1e-6)
