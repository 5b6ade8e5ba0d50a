"""Flows end to end: a two-raster territory with one pixel per transition (hand-computed),
rasters vs change table, bad inputs, and the Lot against ALDO's tables by hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import box

from geocarbon.cli import main
from geocarbon.io.coefficients import read_generic_table
from tests.conftest import REPO, SHARED, realdata, write_pipeline, write_raster

X0, Y0 = 3_600_000.0, 2_400_200.0
K = 44 / 12
# 100 m pixels (1 ha, LAEA Europe); one pixel per transition, 2012 -> 2018:
# 211->231 ploughed... reversed (crops to grass), 231->311 afforestation, 311->211 deforestation,
# 211->112 sprawl, 411->211 drained wetland; three pixels unchanged
LC_2018 = np.array([[231, 311, 211, 112], [211, 211, 311, 311]], dtype=np.uint16)
LC_2012 = np.array([[211, 231, 311, 211], [411, 211, 311, 311]], dtype=np.uint16)


@pytest.fixture
def two_dates(tmp_path: Path):
    t = Affine(100, 0, X0, 0, -100, Y0)
    write_raster(tmp_path / "lc2018.tif", LC_2018, transform=t, crs="EPSG:3035", nodata=0)
    write_raster(tmp_path / "lc2012.tif", LC_2012, transform=t, crs="EPSG:3035", nodata=0)
    communes = gpd.GeoDataFrame(
        {"code": ["46001"], "nom": ["Une"]},
        geometry=[box(X0, Y0 - 200, X0 + 400, Y0)],
        crs="EPSG:3035",
    )
    communes.to_file(tmp_path / "c.gpkg", layer="communes")

    def pipeline(flows: dict, **extra) -> Path:
        data = {
            "name": "two",
            "output_dir": "out",
            "communes": {"path": "c.gpkg"},
            "landcover": {"path": "lc2018.tif"},
            "flows": {"start_year": 2012, "end_year": 2018, "forest_growth": False, **flows},
            **extra,
        }
        return write_pipeline(tmp_path / "p.yaml", data)

    return tmp_path, pipeline


def _run(*args: str, env: dict | None = None) -> tuple[int, str]:
    result = CliRunner(env=env).invoke(main, list(args))
    return result.exit_code, result.output


def _flows(folder: Path) -> pd.DataFrame:
    return gpd.read_file(folder / "geocarbon.gpkg", layer="carbon_flows")


def test_one_pixel_per_transition_by_hand(two_dates) -> None:
    d, pipeline = two_dates
    code, out = _run("-q", "run", str(pipeline({"landcover_before": "lc2012.tif"})))
    assert code == 0, out
    flows = _flows(d / "out").set_index(["flow_kind", "from_category", "to_category", "pool"])[
        "flow_tco2e_per_yr"
    ]
    table, _ = read_generic_table()
    s = table.set_index(["category", "pool"])["stock_tc_per_ha"]

    def soil(c: str) -> float:
        return float(s[(c, "soil")])

    def bio(c: str) -> float:
        return float(s[(c, "live_biomass")] + s[(c, "dead_wood")])

    a = 1 / 6  # 1 ha changed over six years
    expected = {
        ("cropland", "grassland_herbaceous", "soil"): a
        * (soil("grassland_herbaceous") - soil("cropland")),
        ("cropland", "grassland_herbaceous", "biomass"): a
        * (bio("grassland_herbaceous") - bio("cropland")),
        ("forest_broadleaf", "cropland", "soil"): a * (soil("cropland") - soil("forest_broadleaf")),
        ("forest_broadleaf", "cropland", "forest_biomass"): a
        * (bio("cropland") - bio("forest_broadleaf")),
        # sprawl: T = 1 ha, no 141 -> 0.8 ha sealed, 0.2 ha grassed
        ("cropland", "artificial_sealed", "soil"): 0.8
        * a
        * (soil("artificial_sealed") - soil("cropland")),
        ("cropland", "artificial_sealed", "biomass"): 0.8
        * a
        * (bio("artificial_sealed") - bio("cropland")),
        ("cropland", "artificial_grassed", "soil"): 0.2
        * a
        * (soil("artificial_grassed") - soil("cropland")),
        ("cropland", "artificial_grassed", "biomass"): 0.2
        * a
        * (bio("artificial_grassed") - bio("cropland")),
        ("wetland", "cropland", "soil"): a * (soil("cropland") - soil("wetland")),
        ("wetland", "cropland", "biomass"): a * (bio("cropland") - bio("wetland")),
    }
    expected = {k: v for k, v in expected.items() if v != 0}
    luc = flows.loc["landuse_change"]
    assert set(luc.index) == set(expected)
    for key, tc in expected.items():
        assert luc[key] == pytest.approx(tc * K), key
    # afforestation: same soil value under grassland and forest in the generic set, no
    # biomass term (it is forest growth's) -> no land-use-change row
    assert ("grassland_herbaceous", "forest_broadleaf", "soil") not in luc.index
    # N2O on each soil loss
    n2o = flows.loc["n2o"]
    for frm, to, frac in (
        ("forest_broadleaf", "cropland", 1.0),
        ("cropland", "artificial_sealed", 0.8),
        ("wetland", "cropland", 1.0),
    ):
        loss = frac * a * (soil(to) - soil(frm))
        assert n2o[(frm, to, "n2o")] == pytest.approx(loss / 15 * 0.01225 * 44 / 28 * 273), (
            frm,
            to,
        )
    seq = pd.read_csv(d / "out" / "sequestration.csv")
    assert seq.loc[seq.level == "territory", "total"].iloc[0] == pytest.approx(flows.sum())


def test_rasters_and_derived_change_table_agree(two_dates) -> None:
    d, pipeline = two_dates
    assert (
        _run(
            "-q",
            "run",
            str(pipeline({"landcover_before": "lc2012.tif"})),
            "--output-dir",
            str(d / "r"),
        )[0]
        == 0
    )
    pairs = pd.DataFrame({"code12": LC_2012.ravel(), "code18": LC_2018.ravel()})
    table = pairs[pairs.code12 != pairs.code18].assign(commune="46001", area=1.0)
    table.to_csv(d / "changes.csv", index=False)
    assert (
        _run(
            "-q",
            "run",
            str(pipeline({"change_table": {"path": "changes.csv"}})),
            "--output-dir",
            str(d / "t"),
        )[0]
        == 0
    )
    a, b = _flows(d / "r"), _flows(d / "t")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def _fails(d: Path, p: Path, *needles: str) -> None:
    code, out = _run("-q", "run", str(p))
    flat = " ".join(out.split())
    assert code != 0, flat
    for needle in needles:
        assert needle in flat, flat
    assert "Traceback" not in out
    assert not (d / "out").exists()


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        (
            "commune,code12,code18,area\n46001,211,999,1.0\n",
            ("codes [999] are absent from the nomenclature",),
        ),
        ("commune,code12,code18,area\n46001,211,112,-2.0\n", ("negative areas", "line 2")),
        ("commune,code12,code18,area\n46001,211,112,abc\n", ("non-numeric areas", "'abc'")),
        (
            "commune,code12,code18,area\n46999,211,112,1.0\n",
            ("46999", "neither in the commune boundaries nor in the commune table"),
        ),
        ("commune,code12,code18,area\n", ("is empty",)),
        ("commune,old,code18,area\n46001,211,112,1\n", ("no column 'code12'",)),
    ],
)
def test_bad_change_tables(two_dates, rows: str, needles: tuple[str, ...]) -> None:
    d, pipeline = two_dates
    (d / "changes.csv").write_text(rows)
    _fails(d, pipeline({"change_table": {"path": "changes.csv"}}), *needles)


def test_bad_period_and_second_raster(two_dates) -> None:
    d, pipeline = two_dates
    _fails(d, pipeline({"landcover_before": "lc2012.tif", "start_year": 2018}), "has 0 years")
    write_raster(
        d / "far.tif",
        LC_2012,
        transform=Affine(100, 0, X0 + 90_000, 0, -100, Y0),
        crs="EPSG:3035",
        nodata=0,
    )
    _fails(d, pipeline({"landcover_before": "far.tif"}), "does not overlap")
    _fails(
        d,
        pipeline({"landcover_before": "lc2012.tif", "change_table": {"path": "x.csv"}}),
        "not both",
    )


# ----------------------------------------------------------------------------------------
# The Lot, against ALDO's tables by hand
# ----------------------------------------------------------------------------------------

CAHORS, FIGEAC, CAUVALDOR = "200023737", "200035327", "200066371"


@pytest.fixture(scope="module")
def lot_flows(tmp_path_factory: pytest.TempPathFactory, lot_out: Path) -> dict[str, Path]:
    """The Lot with the corrected method (the shipped pipelines/lot.yaml, shared with other
    modules) and with ALDO's published rules."""
    env = {"GEOCARBON_DATA": str(SHARED)} if "GEOCARBON_DATA" not in os.environ else {}
    base = tmp_path_factory.mktemp("lotflows")
    text = (REPO / "pipelines" / "lot.yaml").read_text()
    assert "aldo_published: false" in text
    yaml_path = base / "lot_published.yaml"
    yaml_path.write_text(
        text.replace("${GEOCARBON_DATA:-../../shared/data}", str(SHARED)).replace(
            "aldo_published: false", "aldo_published: true"
        )
    )
    out = base / "published"
    code, output = _run("-q", "run", str(yaml_path), "--output-dir", str(out), env=env)
    assert code == 0, output
    return {"corrected": lot_out, "published": out}


def _hand_luc(epci: str) -> float:
    """Land-use-change flow of an EPCI [tCO2e/yr, soil + litter + biomass + deforestation],
    recomputed from ALDO's tables. In the Lot every change goes to artificial land (or
    stays within forest or within artificial land), which the test checks."""
    aldo = SHARED / "aldo"
    communes = pd.read_csv(aldo / "communes_17122018.csv", dtype=str)
    members = set(communes.loc[communes.epci == epci, "insee"])
    ch = pd.read_csv(aldo / "clc12_to_clc18_change_ha_by_commune.csv.gz", dtype={"commune": str})
    ch = ch[ch.commune.isin(members)]
    zpc = pd.read_csv(aldo / "zpc.csv", dtype=str).set_index("insee")["zpc"]
    flux = pd.read_csv(aldo / "flux-zpc.csv", dtype={"zpc": str}).set_index("zpc")
    bio = (
        pd.read_csv(aldo / "biomass-hors-forets.csv")
        .set_index("INTER_REG")
        .loc["SUD-EST"]
        .fillna(0)
    )
    forest = pd.read_csv(aldo / "bilan-carbone-foret-par-localisation.csv", dtype=str)
    occ = forest[
        (forest.type_localisation == "rad13") & (forest.code_localisation == "OCC")
    ].set_index("composition")
    live_dead = {
        c: float(occ.loc[c, "carbone_(tC∙ha-1)"]) + float(occ.loc[c, "bois_mort_carbone_(tC∙ha-1)"])
        for c in ("Feuillu", "Conifere", "Mixte")
    }
    origin = {
        211: "cult",
        212: "cult",
        242: "cult",
        243: "cult",
        231: "prai",
        311: "Feuillu",
        312: "Conifere",
        313: "Mixte",
        324: "Mixte",
    }
    artificial = set(range(111, 143))
    total_tc = 0.0
    for (commune, code12), g in ch.groupby(["commune", "code12"]):
        to_art = g[g.code18.isin(artificial)]
        rest = g[~g.code18.isin(artificial)]
        if code12 in artificial:
            assert set(g.code18) <= artificial  # artificial -> artificial: no flow
            continue
        kind = origin[code12]
        # changes within forest (e.g. 311 -> 324) or within the same category carry no flow
        assert all(
            origin.get(c18) in (kind, None) or (kind in live_dead and origin.get(c18) in live_dead)
            for c18 in rest.code18
        )
        a = to_art.loc[to_art.code18 != 141, "area"].sum() / 6
        w = to_art.loc[to_art.code18 == 141, "area"].sum() / 6
        t = a + w
        sealed, grassed = (0.8 * t, 0.2 * t - w) if w < 0.2 * t else (a, 0.0)
        z = flux.loc[zpc[commune]]
        if kind in live_dead:  # forest -> sealed / grassed: soil, litter -9, biomass lost
            total_tc += sealed * (z["for_art_imp"] - 9 + 0 - live_dead[kind])
            total_tc += grassed * (
                z["for_art_enh"] - 9 + bio["sols artificiels arbustifs"] - live_dead[kind]
            )
            total_tc += w * (
                0 - 9 * 0 + bio["sols artificiels arborés et buissonants"] - live_dead[kind]
            )
        else:  # cropland / grassland -> sealed / grassed (grassland -> grassed soil: 0)
            enh = z["cult_art_enh"] if kind == "cult" else 0.0
            total_tc += sealed * z[f"{kind}_art_imp"] + grassed * (
                enh + bio["sols artificiels arbustifs"]
            )
    return total_tc * K


@realdata
@pytest.mark.parametrize("epci", [CAHORS, FIGEAC, CAUVALDOR])
def test_lot_landuse_change_by_hand(lot_flows, epci: str) -> None:
    flows = _flows(lot_flows["corrected"])
    communes = gpd.read_file(lot_flows["corrected"] / "geocarbon.gpkg", layer="communes")[
        ["commune_code", "epci_code"]
    ]
    luc = flows[flows.flow_kind == "landuse_change"].merge(communes, on="commune_code")
    got = luc.loc[luc.epci_code == epci, "flow_tco2e_per_yr"].sum()
    assert got == pytest.approx(_hand_luc(epci), rel=1e-3)
    assert got < 0  # artificialisation emits


def _cahors_flows(out: Path) -> pd.DataFrame:
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes")[
        ["commune_code", "epci_code"]
    ]
    return _flows(out).merge(communes, on="commune_code").query("epci_code == @CAHORS")


@realdata
@pytest.mark.parametrize("mode", ["published", "corrected"])
def test_lot_matches_aldo_reference_for_grand_cahors(lot_flows, mode: str) -> None:
    from tests.test_aldo_reference import grand_cahors_figures

    # the independent recomputation from ALDO's tables (tests/aldo_reference.py): published
    # -1,242.09 (N2O with 44/25), corrected -1,236.88 (44/28); the two differ by 5.2, so
    # the tolerance (the figure's last digit) tells them apart
    expected = grand_cahors_figures(aldo_published=mode == "published")
    seq = pd.read_csv(lot_flows[mode] / "sequestration.csv", dtype={"code": str}).set_index("code")
    # every land-use change of the Grand Cahors goes to artificial land: all in "other soils"
    assert seq.loc[CAHORS, "other_soils"] == pytest.approx(expected["total"], abs=0.005)
    assert seq.loc[CAHORS, "other_soils"] == pytest.approx(
        {"published": -1242.09, "corrected": -1236.88}[mode], abs=0.005
    )
    assert seq.loc[CAHORS, "agricultural_soils"] == 0.0
    assert seq.loc[CAHORS, "name"] == "CA du Grand Cahors"  # from the EPCI table
    cahors = _cahors_flows(lot_flows[mode])
    no_deforestation = cahors[
        (cahors.flow_kind.isin(["landuse_change", "n2o"])) & (cahors.pool != "forest_biomass")
    ]
    # the documented "≈ −574 without deforestation" (../shared/docs/carbon-method.md) is the
    # published figure: -515.59 (soil, litter, non-forest biomass) - 58.47 (N2O) = -574.05
    got = no_deforestation["flow_tco2e_per_yr"].sum()
    assert got == pytest.approx(expected["no_deforestation"], abs=0.005)
    if mode == "published":
        assert got == pytest.approx(-574.05, abs=0.005)


# IGN inventory rows of Occitanie (rad13 OCC, statistically significant), which the Lot's
# communes (region 76) take: composition -> (net balance [tC/ha/yr], harvest [m3/ha/yr]);
# bilan-carbone-foret-par-localisation.csv: Feuillu 1.12 / 0.81, Conifere 1.03 / 3.9,
# Mixte 1.39 / 1.72. proportion-usage-bois-par-region.csv, OCC: lumber (BO) 36.73 %,
# industry wood (BI) 24.43 % of the harvest.
COMPOSITION = {"forest_broadleaf": "Feuillu", "forest_conifer": "Conifere", "forest_mixed": "Mixte"}
# total / trunk volume per forest type (ALDO) and the national figures of
# ../shared/docs/carbon-method.md (harvest 19.25 / 10.47 Mm3, sink 918,161 / 441,533 tCO2/yr)
TOTAL_PER_TRUNK = {"forest_broadleaf": 1.44, "forest_conifer": 1.3, "forest_mixed": 1.37}
NATIONAL_TCO2_PER_M3 = {"bo": 918_161 / 19.25e6, "bi": 441_533 / 10.47e6}


def _occitanie() -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    aldo = SHARED / "aldo"
    forest = pd.read_csv(aldo / "bilan-carbone-foret-par-localisation.csv", dtype=str)
    occ = forest[
        (forest.type_localisation == "rad13")
        & (forest.code_localisation == "OCC")
        & (forest.surface_ic == "s")
    ].set_index("composition")
    coeffs = {
        cat: (
            float(occ.loc[comp, "bilan_carbone_(tC∙ha-1∙an-1)"]),
            float(occ.loc[comp, "prelevement_volume_(m3∙ha-1∙an-1)"]),
        )
        for cat, comp in COMPOSITION.items()
    }
    use = pd.read_csv(aldo / "proportion-usage-bois-par-region.csv").set_index("code_localisation")
    shares = {"bo": use.loc["OCC", "% BO"] / 100, "bi": use.loc["OCC", "% BI"] / 100}
    return coeffs, shares


@realdata
def test_lot_forest_growth_and_wood_products_by_hand(lot_flows) -> None:
    coeffs, shares = _occitanie()
    assert coeffs == {
        "forest_broadleaf": (1.12, 0.81),
        "forest_conifer": (1.03, 3.9),
        "forest_mixed": (1.39, 1.72),
    }
    assert shares["bo"] == pytest.approx(0.3673, abs=5e-5)
    assert shares["bi"] == pytest.approx(0.2443, abs=5e-5)
    flows = _cahors_flows(lot_flows["corrected"])
    growth = flows[flows.flow_kind == "forest_growth"]
    wood = flows[flows.flow_kind == "wood_products"]
    assert set(growth.to_category) <= set(COMPOSITION) | {"forest_poplar"}
    # no poplar in Corine Land Cover
    assert growth.loc[growth.to_category == "forest_poplar", "area_ha_per_yr"].sum() == 0
    growth = growth[growth.to_category != "forest_poplar"]
    area = growth.set_index(["commune_code", "to_category"])["area_ha_per_yr"]
    assert area.sum() > 1000  # the Grand Cahors holds some 10,000 ha of forest
    # growth: area x net balance x 44/12 (harvest factor 1)
    net = area.index.get_level_values("to_category").map(lambda c: coeffs[c][0])
    expected_growth = area * net.to_numpy() * K
    got = growth.set_index(["commune_code", "to_category"])["flow_tco2e_per_yr"]
    pd.testing.assert_series_equal(
        got.sort_index(), expected_growth.sort_index(), check_names=False, rtol=1e-9
    )
    # wood products: trunk V = harvest x area; harvested wood = 0.9 V + 0.5 (total - V);
    # lumber and industry shares x the national sink per m3 harvested
    cats = area.index.get_level_values("to_category")
    trunk = area * cats.map(lambda c: coeffs[c][1]).to_numpy()
    total = trunk * cats.map(TOTAL_PER_TRUNK).to_numpy()
    harvested = 0.9 * trunk + 0.5 * (total - trunk)
    per_m3 = sum(shares[k] * NATIONAL_TCO2_PER_M3[k] for k in ("bo", "bi"))
    expected_wood = harvested * per_m3
    got_wood = wood[wood.to_category != "forest_poplar"].set_index(["commune_code", "to_category"])[
        "flow_tco2e_per_yr"
    ]
    # the national figures are rounded in the method note (19.25 Mm3 for 19,253,833 m3)
    pd.testing.assert_series_equal(
        got_wood.sort_index(), expected_wood.sort_index(), check_names=False, rtol=5e-4
    )
    seq = pd.read_csv(lot_flows["corrected"] / "sequestration.csv", dtype={"code": str})
    row = seq[seq.level == "epci"].set_index("code").loc[CAHORS]
    assert row["forest"] == pytest.approx(expected_growth.sum(), rel=1e-9)
    assert row["wood_products"] == pytest.approx(expected_wood.sum(), rel=5e-4)


@realdata
def test_lot_levels_agree_and_are_documented(lot_flows) -> None:
    out = lot_flows["corrected"]
    seq = pd.read_csv(out / "sequestration.csv", dtype={"code": str})
    cats = ["forest", "agricultural_soils", "other_soils", "wood_products"]
    territory = seq[seq.level == "territory"][[*cats, "total"]].iloc[0]
    for level in ("commune", "epci"):
        np.testing.assert_allclose(
            seq[seq.level == level][[*cats, "total"]].sum(), territory, rtol=1e-9
        )
    np.testing.assert_allclose(seq[cats].sum(axis=1), seq["total"], rtol=1e-9)
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes")
    assert communes["flow_tco2e_per_yr"].sum() == pytest.approx(territory["total"], rel=1e-9)
    doc = json.loads((out / "sequestration.json").read_text())
    assert doc["period"] == "2012-2018" and doc["years"] == 6
    assert "positive = sequestration" in doc["sign_convention"]
    assert len(doc["rows"]) == len(seq)
    assert (out / "maps" / "carbon_flows.html").is_file()
    # forests of the Lot grow: a net sink, and wood products are a (small) sink too
    assert territory["forest"] > 0 and territory["wood_products"] > 0


def test_pixel_maps_and_hotspots(two_dates) -> None:
    import rasterio

    d, pipeline = two_dates
    assert _run("-q", "run", str(pipeline({"landcover_before": "lc2012.tif"})))[0] == 0
    table, _ = read_generic_table()
    tot = table.groupby("category")["stock_tc_per_ha"].sum()
    rasters = d / "out" / "rasters"
    with (
        rasterio.open(rasters / "stock_density_tc_per_ha_2018.tif") as r18,
        rasterio.open(rasters / "stock_density_tc_per_ha_2012.tif") as r12,
        rasterio.open(rasters / "stock_change_tc_per_ha_2012_2018.tif") as rc,
    ):
        end, start, change = r18.read(1), r12.read(1), rc.read(1)
        assert r18.crs.to_epsg() == 3035 and r18.transform == rc.transform
    # pixel (0, 0): cropland in 2012, grassland in 2018
    assert start[0, 0] == pytest.approx(tot["cropland"], rel=1e-6)
    assert end[0, 0] == pytest.approx(tot["grassland_herbaceous"], rel=1e-6)
    # pixel (0, 3): artificial land = 0.8 sealed + 0.2 grassed
    assert end[0, 3] == pytest.approx(
        0.8 * tot["artificial_sealed"] + 0.2 * tot["artificial_grassed"], rel=1e-6
    )
    np.testing.assert_allclose(change, end - start, rtol=1e-6)
    assert change[1, 2] == 0.0  # forest stayed forest
    # the deforested pixel is a hot spot of loss on the flows map
    html = (d / "out" / "maps" / "carbon_flows.html").read_text()
    # the demo-like test pipeline speaks French by default (report.language)
    assert "Points chauds de changement d" in html and "perte de plus de 50 tC/ha" in html


def test_harvest_scenario_effect_is_mapped(two_dates) -> None:
    d, pipeline = two_dates
    p = pipeline({"landcover_before": "lc2012.tif", "forest_growth": True, "harvest_factor": 1.2})
    assert _run("-q", "run", str(p))[0] == 0
    communes = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="communes")
    growth = pd.read_csv(
        REPO / "geocarbon" / "carbon" / "data" / "generic_forest_growth.csv"
    ).set_index("category")
    # 3 ha of broadleaf forest in 2018: +20 % harvest takes 0.2 x 1.08 tC/ha/yr more
    expected = -3 * 0.2 * growth.loc["forest_broadleaf", "harvest_tc_per_ha_yr"] * K
    assert communes["flow_harvest_scenario_effect_tco2e_per_yr"].iloc[0] == pytest.approx(expected)
    assert "Effet de la récolte × 1,2" in (d / "out" / "maps" / "carbon_flows.html").read_text()


@pytest.mark.parametrize("approach", ["consumption", "harvest", "none"])
def test_wood_products_approach_chosen_and_stated(two_dates, approach: str) -> None:
    """ALDO's two approaches: consumption = France's sink (918,160.6252 lumber +
    441,532.8296 industry wood, tCO2/yr) x population / 64,299,705 (ALDO's France total);
    the commune of the tiny ALDO tables has 100 inhabitants and 3 ha of broadleaf forest
    (region OCC's inventory row: harvest 2.0 m3/ha/yr; OCC shares 36.7 % / 24.4 %)."""
    from tests.hostile.test_coefficient_values import make_aldo

    d, pipeline = two_dates
    aldo = make_aldo(d / "aldo")
    p = pipeline(
        {"landcover_before": "lc2012.tif", "wood_products": approach},
        carbon={"coefficients": "aldo", "aldo_dir": str(aldo)},
    )
    code, out = _run("-q", "run", str(p))
    assert code == 0, out
    seq = pd.read_csv(d / "out" / "sequestration.csv", dtype={"code": str})
    wood = seq.loc[seq.level == "commune", "wood_products"].iloc[0]
    trunk = 2.0 * 3  # broadleaf: trunk volume, total = 1.44 x trunk
    harvested = 0.9 * trunk + 0.5 * (1.44 * trunk - trunk)
    expected = {
        "consumption": 100 / 64_299_705 * (918_160.6252 + 441_532.8296),  # 2.1146
        "harvest": harvested
        * (0.367 * 918_160.6252 / 19_253_833.33 + 0.244 * 441_532.8296 / 10_472_666.67),
    }
    if approach == "none":
        assert np.isnan(wood)  # not computed: empty, never 0
    else:
        assert wood == pytest.approx(expected[approach], rel=1e-9)
    doc = json.loads((d / "out" / "sequestration.json").read_text())
    words = {"consumption": "consumption approach", "harvest": "harvest approach"}
    assert doc["method"]["wood_products"].startswith(words.get(approach, "not computed"))
    communes = gpd.read_file(d / "out" / "geocarbon.gpkg", layer="communes")
    assert communes["wood_products_approach"].tolist() == [approach]
    run = json.loads((d / "out" / "run.json").read_text())
    assert run["config"]["flows"]["wood_products"] == approach
    report = (d / "out" / "report.html").read_text()
    french = {
        "consumption": "approche consommation",
        "harvest": "approche récolte",
        "none": "sans les produits bois",
    }
    assert french[approach] in report


def test_wood_products_switch_of_older_pipelines_still_reads() -> None:
    from geocarbon.config import FlowsConfig

    base = {"start_year": 2012, "end_year": 2018, "landcover_before": "lc.tif"}
    assert FlowsConfig.model_validate({**base, "wood_products": True}).wood_products == "harvest"
    assert FlowsConfig.model_validate({**base, "wood_products": False}).wood_products == "none"
    assert FlowsConfig.model_validate(base).wood_products == "harvest"
    with pytest.raises(ValueError, match="consumption"):
        FlowsConfig.model_validate({**base, "wood_products": "population"})
