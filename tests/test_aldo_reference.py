"""Tests of the independent ALDO recomputation (``tests/aldo_reference.py``): hand-computed
single transitions, the reading of ADEME's biomass table, and the Lot against the existing
hand recomputation and the documented Grand Cahors figure."""

from __future__ import annotations

import pandas as pd
import pytest

from tests import aldo_reference as ref

ALDO = ref.shared_data_dir() / "aldo"
HAVE_ALDO = (ALDO / "clc12_to_clc18_change_ha_by_commune.csv.gz").is_file() and (
    ALDO / "flux-zpc.csv"
).is_file()
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not HAVE_ALDO,
        reason=f"ADEME's ALDO tables not found in {ALDO} (set GEOCARBON_DATA to the shared data folder)",
    ),
]

K = 44 / 12
CAHORS_COMMUNE = "46042"
CAHORS, FIGEAC, CAUVALDOR = "200023737", "200035327", "200066371"

# Values looked up for Cahors (46042) in the shared tables:
# zpc.csv: 46042 -> zone 4_1; communes_17122018.csv: region 76 (Occitanie, rad13 OCC),
# region-to-inter-region.json: 76 -> SUD-EST.
# flux-zpc.csv, zone 4_1: prai_cult -1.37, cult_for 0.51, for_cult -0.88, cult_prai 0.71,
#   prai_for -0.02, zh_cult -77, zh_for -42, for_art_imp -53, for_art_enh 1,
#   cult_art_imp -18, cult_art_enh 36, cult_art_arb 35.
# biomass-hors-forets.csv, SUD-EST stocks [tC/ha]: prairies zones arborées 44, arbustives 7,
#   herbacées 0 (empty), cultures 0, zones humides 0, sols artificiels arborés 44,
#   arbustifs (grassed) 7, imperméabilisés 0.
# bilan-carbone-foret-par-localisation.csv, rad13 OCC, Feuillu: carbone 76.89 + bois mort
#   8.83 = 85.72 tC/ha.


def _one(code12: int, code18: int, area_ha: float, commune: str = CAHORS_COMMUNE) -> pd.DataFrame:
    return pd.DataFrame(
        {"code12": [code12], "code18": [code18], "commune": [commune], "area": [area_ha]}
    )


def _flow(changes: pd.DataFrame, *, aldo_published: bool) -> float:
    s = ref.luc_tco2e_per_yr_by_commune(changes, aldo_published=aldo_published)
    return float(s.sum())


# Each case: 6 ha over 2012-2018, i.e. 1 ha/yr unless stated.
HAND_CASES = [
    # cropland -> sealed (211 -> 121): A = 1, W = 0: sealed 0.8, grassed 0.2 ha/yr
    #   sealed: cult_art_imp -18 (x1) + biomass 0 - 0 = -18;
    #   grassed: cult_art_enh 36 (x1) + biomass 7 - 0 = 43
    #   0.8 * -18 + 0.2 * 43 = -14.4 + 8.6 = -5.8 tC/yr
    pytest.param(211, 121, -5.8 * K, -5.8 * K, id="cropland->sealed"),
    # grassland -> cropland (231 -> 211): prai_cult -1.37 x 20 = -27.4; biomass 0 -> 0
    pytest.param(231, 211, -27.4 * K, -27.4 * K, id="grassland->cropland"),
    # deforestation, broadleaf -> cropland (311 -> 211): for_cult -0.88 x 20 = -17.6,
    #   litter -9, biomass 0 - 85.72 = -85.72: -112.32 tC/yr
    pytest.param(311, 211, -112.32 * K, -112.32 * K, id="forest->cropland"),
    # afforestation, cropland -> broadleaf (211 -> 311): cult_for 0.51 x 20 = 10.2,
    #   litter +9, no biomass term (forest growth): 19.2 tC/yr
    pytest.param(211, 311, 19.2 * K, 19.2 * K, id="cropland->forest"),
    # wetland -> cropland (411 -> 211): zh_cult -77 (x1, immediate), biomass 0 -> 0
    pytest.param(411, 211, -77 * K, -77 * K, id="wetland->cropland"),
    # artificial -> grassland (121 -> 231):
    #   sealed -> herbaceous: soil as cropland, cult_prai 0.71 x 20 = 14.2; biomass 0 - 0
    #   grassed -> herbaceous: soil prai -> prai 0; biomass 0 - 7 = -7
    #   published: 1 ha/yr each: 14.2 - 7 = 7.2 tC/yr
    #   corrected: 0.8 * 14.2 + 0.2 * -7 = 11.36 - 1.4 = 9.96 tC/yr
    pytest.param(121, 231, 7.2 * K, 9.96 * K, id="artificial->grassland"),
    # artificial (121) -> wooded artificial (141):
    #   sealed -> wooded: cult_art_arb 35 (x1), no litter (from sealed), biomass 44 - 0: 79
    #   grassed -> wooded: prai_for -0.02 (x1), litter +9, biomass 44 - 7 = 37: 45.98
    #   published: sealed -> wooded in full (W dropped for grassed): 79 tC/yr
    #   corrected: 0.8 * 79 = 63.2 tC/yr (the grassed 0.2 drops W too: ALDO's rule, which
    #   the corrected method keeps; only ALDO's slips are corrected)
    pytest.param(121, 141, 79 * K, 63.2 * K, id="artificial->wooded-artificial"),
    # wetland -> wooded artificial (411 -> 141): W is set to 0 for wetlands (ALDO's rule,
    #   kept by the corrected method): 0 in both modes (without that rule it would be
    #   zh_for -42 (x1) + litter 9 + biomass 44 - 0 = 11 tC/yr)
    pytest.param(411, 141, 0.0, 0.0, id="wetland->wooded-artificial"),
    # herbaceous -> wooded grassland (231 -> 323): same soil, no litter, biomass 44 - 0 = 44
    pytest.param(231, 323, 44 * K, 44 * K, id="grassland-types"),
    # no flow: no-stock classes, changes within forest, within cropland, within artificial
    pytest.param(331, 211, 0.0, 0.0, id="no-stock->cropland"),
    pytest.param(311, 324, 0.0, 0.0, id="broadleaf->mixed"),
    pytest.param(211, 242, 0.0, 0.0, id="within-cropland"),
    pytest.param(133, 121, 0.0, 0.0, id="within-artificial"),
]


@pytest.mark.parametrize(("code12", "code18", "published", "corrected"), HAND_CASES)
def test_single_transition_by_hand(
    code12: int, code18: int, published: float, corrected: float
) -> None:
    changes = _one(code12, code18, 6.0)
    assert _flow(changes, aldo_published=True) == pytest.approx(published, abs=1e-9)
    assert _flow(changes, aldo_published=False) == pytest.approx(corrected, abs=1e-9)


def test_forest_to_artificial_split_and_published_over_count() -> None:
    # broadleaf -> 121: 24 ha (A = 4 ha/yr), broadleaf -> 141: 0.6 ha (W = 0.1 ha/yr)
    # T = 4.1, W < 0.2 T = 0.82: sealed = 0.8 * 4.1 = 3.28, wooded = 0.1;
    # grassed = 0.2 T - W = 0.72 (corrected), 0.2 A = 0.8 (published: 0.8 W over-counted)
    # unit changes [tC/ha]:
    #   sealed: for_art_imp -53, litter -9, biomass 0 - 85.72: -147.72
    #   grassed: for_art_enh 1, litter -9, biomass 7 - 85.72: -86.72
    #   wooded: soil 0 (forest -> wooded), no litter, biomass 44 - 85.72: -41.72
    # corrected: 3.28*-147.72 + 0.72*-86.72 + 0.1*-41.72 = -484.5216 - 62.4384 - 4.172
    # published: -484.5216 + 0.8 * -86.72 - 4.172 = -484.5216 - 69.376 - 4.172
    changes = pd.concat([_one(311, 121, 24.0), _one(311, 141, 0.6)])
    assert _flow(changes, aldo_published=False) == pytest.approx(-551.132 * K, rel=1e-12)
    assert _flow(changes, aldo_published=True) == pytest.approx(-558.0696 * K, rel=1e-12)
    areas = ref.transition_areas(changes, aldo_published=False).set_index("to")
    assert areas["area_ha_per_yr"].sum() == pytest.approx(4.1)  # nothing created or lost


def test_years_divide_the_changed_area() -> None:
    # 231 -> 211 over 10 years: 6 ha / 10 = 0.6 ha/yr x -27.4 tC/ha
    flow = ref.luc_tco2e_per_yr_by_commune(_one(231, 211, 6.0), aldo_published=False, years=10)
    assert float(flow.sum()) == pytest.approx(0.6 * -27.4 * K)


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="999"):
        ref.luc_tco2e_per_yr_by_commune(_one(999, 211, 1.0), aldo_published=False)


def test_epci_sum_and_arrondissements() -> None:
    # 75101 (Paris 1er) counts in Paris's EPCI (Métropole du Grand Paris, 200054781);
    # 46042 in CA du Grand Cahors. Zone 2_2 (75101): prai_cult -0.46; region 11 -> NORD-OUEST.
    changes = pd.concat([_one(231, 211, 6.0, "75101"), _one(231, 211, 12.0)])
    epci = ref.luc_by_epci(changes, aldo_published=True)
    assert epci["200054781"] == pytest.approx(-0.46 * 20 * K)
    assert epci[CAHORS] == pytest.approx(2 * -27.4 * K)
    assert (epci.drop(["200054781", CAHORS]) == 0).all()
    assert epci.attrs["no_epci"] == {}


def test_biomass_table_transitions_are_stock_differences() -> None:
    # Reading 1: the transition columns of biomass-hors-forets.csv hold gains per year
    # (stock difference / 20) and losses in full. The one exception, wooded grassland ->
    # wetland (-57 everywhere whatever the region's stock), does not occur in the national
    # change table, so stock differences reproduce the published figures.
    bio = pd.read_csv(ALDO / "biomass-hors-forets.csv").set_index("INTER_REG")
    odd = []
    for region, row in bio.iterrows():
        for col, value in row.items():
            if " vers " not in str(col):
                continue
            frm, to = str(col).split(" vers ")
            diff = (0 if pd.isna(row[to]) else row[to]) - (0 if pd.isna(row[frm]) else row[frm])
            expected = diff / 20 if diff > 0 else diff
            if abs((0 if pd.isna(value) else value) - expected) > 1e-9:
                odd.append((region, col))
    assert {c for _, c in odd} == {"prairies zones arborées vers zones humides"}
    changes = ref.read_change_table()
    wetland = changes["code18"].map(ref.CLC_TO_CATEGORY) == "zh"
    assert not ((changes["code12"] == 323) & wetland).any()


def _members(epci: str) -> set[str]:
    tab = ref.load_tables()
    return set(tab.epci[tab.epci == epci].index)


def grand_cahors_figures(*, aldo_published: bool) -> dict[str, float]:
    """The Grand Cahors's land-use-change flow [tCO2e/yr] recomputed from ALDO's tables:
    ``luc`` (soil + litter + biomass + deforestation), ``n2o`` (from soil loss),
    ``total`` = luc + n2o, and ``no_deforestation`` = total without the forest biomass lost
    (soil + litter + non-forest biomass + N2O)."""
    changes = ref.read_change_table()
    changes = changes[changes["commune"].isin(_members(CAHORS))]
    luc = float(ref.luc_by_epci(changes, aldo_published=aldo_published)[CAHORS])
    terms = ref.luc_terms(changes, aldo_published=aldo_published)
    n2o = float(ref.n2o_tco2e_per_yr_by_commune(terms, aldo_published=aldo_published).sum())
    kept = terms["soil_tc_per_ha"] + terms["litter_tc_per_ha"] + terms["biomass_tc_per_ha"]
    no_deforestation = float((terms["area_ha_per_yr"] * kept).sum() * K)
    return {
        "luc": luc,
        "n2o": n2o,
        "total": luc + n2o,
        "no_deforestation": no_deforestation + n2o,
    }


def test_grand_cahors_matches_the_documented_figure() -> None:
    published = grand_cahors_figures(aldo_published=True)
    corrected = grand_cahors_figures(aldo_published=False)
    # The documented figures (../shared/docs/carbon-method.md, "Reference values for the
    # Lot"): "CA du Grand Cahors ≈ −1,240 tCO2e/yr including deforestation at regional forest
    # densities (≈ −574 without it)", ALDO's published rules. Both include N2O from soil loss.
    # Recomputed here with ALDO's published N2O (44/25, GWP 273):
    #   land-use change -1,183.63, N2O -58.47: total -1,242.09;
    #   without the forest biomass lost: -515.59 - 58.47 = -574.05.
    assert published["luc"] == pytest.approx(-1183.63, abs=0.005)
    assert published["n2o"] == pytest.approx(-58.47, abs=0.005)
    assert published["total"] == pytest.approx(-1242.09, abs=0.005)
    assert published["no_deforestation"] == pytest.approx(-574.05, abs=0.005)
    assert round(published["total"], -1) == -1240 and round(published["no_deforestation"]) == -574
    # the corrected method: the same areas (no change from artificial land, no forest ->
    # wooded artificial land in the Grand Cahors), N2O with 44/28: -53.25, total -1,236.88
    assert corrected["luc"] == pytest.approx(published["luc"], abs=1e-9)
    assert corrected["n2o"] == pytest.approx(-53.25, abs=0.005)
    assert corrected["total"] == pytest.approx(-1236.88, abs=0.005)
    # same soil losses, N2O factor (1 % x 44/28 + 0.3 x 0.75 % x 44/28) instead of
    # (1 % x 44/25 + 0.3 x 0.75 % x 44/28)
    ratio = (0.01 + 0.3 * 0.0075) * 44 / 28 / (0.01 * 44 / 25 + 0.3 * 0.0075 * 44 / 28)
    assert corrected["n2o"] == pytest.approx(published["n2o"] * ratio, rel=1e-12)


@pytest.mark.parametrize("epci", [CAHORS, FIGEAC, CAUVALDOR])
def test_lot_epcis_match_the_existing_hand_recomputation(epci: str) -> None:
    from tests.test_flows_pipeline import _hand_luc

    changes = ref.read_change_table()
    changes = changes[changes["commune"].isin(_members(epci))]
    got = ref.luc_by_epci(changes, aldo_published=False)[epci]
    assert got == pytest.approx(_hand_luc(epci), rel=1e-3)


def test_national_table_runs_and_levels_agree() -> None:
    changes = ref.read_change_table()
    tab = ref.load_tables()
    for published in (True, False):
        by_commune = ref.luc_tco2e_per_yr_by_commune(changes, aldo_published=published, tables=tab)
        by_epci = ref.luc_by_epci(changes, aldo_published=published, tables=tab)
        assert set(by_epci.index) == set(tab.epci.dropna())
        assert by_epci.notna().all()
        no_epci = sum(by_epci.attrs["no_epci"].values())
        assert by_epci.sum() + no_epci == pytest.approx(by_commune.sum(), rel=1e-12)
        assert set(by_epci.attrs["no_epci"]) <= {"29083", "85113", "22016", "29155"}
