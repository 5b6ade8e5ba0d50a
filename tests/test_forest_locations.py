"""Forests by location: a commune spanning several sylvo-ecological regions takes the
area-weighted mix of the values its locations resolve to (ALDO's rule), poplar by poplar
basin, ALDO's regional substitutions; hand-computed expectations.

ALDO's rules are read from its public source, github.com/incubateur-ademe/aldo at commit
a8f42b2310ad5748111cfeb122233f63773ce231: ``data/stocks.js``
(``getForestBiomassCarbonDensities``: weighted by the type's area, unweighted mean when the
area is 0; ``getCarbonDataForCommuneAndComposition``: groupeser → greco → rad13 →
bassin_populicole → France), ``data/shared.js`` (``getIgnLocalisation``: substitutions) and
``data/flux.js`` (``getForestBiomassFluxesByCommune``: forest growth per location row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geocarbon.carbon.coefficients import (
    aldo_forest_stocks,
    aldo_reference_stocks,
    commune_forest_locations,
    unmatched_forest_locations,
    unweighted_location_notice,
)
from geocarbon.carbon.growth import aldo_forest_growth
from geocarbon.errors import CoefficientError
from geocarbon.io.coefficients import read_aldo_tables
from geocarbon.values import AldoTables

C, D = "carbone_(tC∙ha-1)", "bois_mort_carbone_(tC∙ha-1)"
B, HC, HV = (
    "bilan_carbone_(tC∙ha-1∙an-1)",
    "prelevement_carbone_(tC∙ha-1∙an-1)",
    "prelevement_volume_(m3∙ha-1∙an-1)",
)
AREA_HEADER = "insee,groupeser,greco,bassin_populicole,broadleaf_ha,conifer_ha,mixed_ha,poplar_ha"


def _forest() -> pd.DataFrame:
    rows = [
        # level, code, composition, significance, live, dead, balance, harvest tC, harvest m3
        ("groupeser", "F1", "Feuillu", "s", 100.0, 10.0, 2.0, 1.0, 4.0),
        ("greco", "F", "Feuillu", "s", 90.0, 9.0, 1.0, 0.5, 2.0),
        ("rad13", "OCC", "Feuillu", "s", 80.0, 8.0, 1.5, 0.8, 3.0),
        ("rad13", "OCC", "Mixte", "s", 70.0, 7.0, 1.2, 0.6, 2.5),
        ("rad13", "OCC", "Conifere", "s", 60.0, 6.0, 1.1, 0.7, 2.2),
        ("groupeser", "A1", "Mixte", "s", 2.0, 1.0, 0.1, 0.1, 0.1),
        ("rad13", "CVL", "Mixte", "s", 4.0, 1.0, 0.1, 0.1, 0.1),
        ("greco", "J", "Conifere", "s", 35.0, 2.0, 0.6, 0.4, 0.9),
        ("rad13", "COR", "Conifere", "n.s", np.nan, np.nan, np.nan, np.nan, np.nan),
        ("groupeser", "K1", "Conifere", "n.s", np.nan, np.nan, np.nan, np.nan, np.nan),
        ("bassin_populicole", "Sud", "Peupleraie", "s", 59.0, 4.0, -0.3, 5.9, 21.9),
        ("bassin_populicole", "Nord", "Peupleraie", "s", 50.0, 2.0, 1.0, 3.0, 10.0),
        ("bassin_populicole", "Nord-Ouest", "Peupleraie", "s", 70.0, 4.0, 0.7, 3.3, 12.0),
        ("France", "France", "Feuillu", "s", 60.0, 6.0, 1.0, 1.0, 2.0),
        ("France", "France", "Mixte", "s", 50.0, 5.0, 1.0, 1.0, 2.0),
        ("France", "France", "Conifere", "s", 77.0, 6.0, 0.5, 2.3, 7.0),
        ("France", "France", "Peupleraie", "s", 61.0, 3.5, 0.4, 4.2, 15.3),
    ]
    columns = ["type_localisation", "code_localisation", "composition", "surface_ic", C, D, B]
    return pd.DataFrame(rows, columns=[*columns, HC, HV])


def _tables(locations: str | None) -> AldoTables:
    floc = None
    if locations is not None:
        from io import StringIO

        floc = pd.read_csv(StringIO(locations), dtype=object)
        for col in ("broadleaf_ha", "conifer_ha", "mixed_ha", "poplar_ha"):
            if col in floc.columns:
                floc[col] = pd.to_numeric(floc[col])
    empty = pd.DataFrame()
    return AldoTables(Path("aldo"), empty, empty, empty, {}, empty, _forest(), floc)


def _value(frame: pd.DataFrame, commune: str, category: str, column: str) -> float:
    row = frame[(frame["commune_code"] == commune) & (frame["category"] == category)]
    assert len(row) == 1
    return float(row[column].iloc[0])


TWO_SER = f"""{AREA_HEADER}
46001,F1,,Sud,30,0,0,5
46001,,F,,10,0,0,15
46002,F1,,,0,0,0,0
46002,,F,,0,0,0,0
"""
REGION = pd.Series(["76", "76", "76"], index=["46001", "46002", "46003"])


def test_two_ser_commune_takes_the_area_weighted_mix() -> None:
    stocks = aldo_forest_stocks(_tables(TWO_SER), REGION)
    # broadleaf: F1 (groupeser) 30 ha at 100 tC/ha, greco F 10 ha at 90 tC/ha
    assert _value(stocks, "46001", "forest_broadleaf", "live_biomass") == pytest.approx(
        (100 * 30 + 90 * 10) / 40
    )  # 97.5
    assert _value(stocks, "46001", "forest_broadleaf", "dead_wood") == pytest.approx(
        (10 * 30 + 9 * 10) / 40
    )  # 9.75
    # poplar: basin Sud 5 ha at 59, no basin (France) 15 ha at 61
    assert _value(stocks, "46001", "forest_poplar", "live_biomass") == pytest.approx(60.5)
    assert _value(stocks, "46001", "forest_poplar", "dead_wood") == pytest.approx(3.625)
    source = stocks[(stocks.commune_code == "46001") & (stocks.category == "forest_broadleaf")]
    assert source["source"].iloc[0] == (
        "area-weighted over 2 locations: IGN inventory Feuillu groupeser F1 75%, "
        "IGN inventory Feuillu greco F 25%"
    )
    # no area of any type at 46002's two locations: unweighted mean, as ALDO
    assert _value(stocks, "46002", "forest_broadleaf", "live_biomass") == pytest.approx(95.0)
    # a commune the table does not list: its region (rad13 OCC)
    assert _value(stocks, "46003", "forest_broadleaf", "live_biomass") == 80.0
    assert _value(stocks, "46003", "forest_broadleaf", "dead_wood") == 8.0


def test_unweighted_mean_is_noticed() -> None:
    notices = unweighted_location_notice(_tables(TWO_SER), REGION)
    assert [n.code for n in notices] == ["forest_location_unweighted"]
    items = notices[0].items
    # 46002: every type; 46001: conifer and mixed (no area of them at either location)
    assert "46002 forest_broadleaf: 2 locations" in items
    assert "46001 forest_conifer: 2 locations" in items
    assert "46001 forest_broadleaf: 2 locations" not in items
    assert notices[0].facts["n_items"] == 6
    # one row per commune, no areas: nothing to say
    one = "insee,groupeser\n46001,F1\n"
    assert unweighted_location_notice(_tables(one), REGION) == []


def test_forest_growth_is_weighted_like_the_stocks() -> None:
    growth = aldo_forest_growth(_tables(TWO_SER), REGION).table
    # ALDO sums area x coefficient over the location rows; per ha of the commune's forest:
    assert _value(growth, "46001", "forest_broadleaf", "net_tc_per_ha_yr") == pytest.approx(
        (2.0 * 30 + 1.0 * 10) / 40
    )  # 1.75
    assert _value(growth, "46001", "forest_broadleaf", "harvest_m3_per_ha_yr") == pytest.approx(
        (4.0 * 30 + 2.0 * 10) / 40
    )  # 3.5
    assert _value(growth, "46001", "forest_poplar", "harvest_tc_per_ha_yr") == pytest.approx(
        (5.9 * 5 + 4.2 * 15) / 20
    )  # 4.625
    assert _value(growth, "46003", "forest_mixed", "net_tc_per_ha_yr") == 1.2


def test_aldo_unit_test_fixtures_give_aldo_results() -> None:
    """The fixtures of ALDO's own tests (``data/tests/stocks.test.js``, commit a8f42b2):
    mixed forest 10 ha at groupeser A1 (2 tC/ha) and 30 ha in region CVL (4 tC/ha) → 3.5;
    the same with 0 ha → 3; poplar dead wood 10 ha in basin Nord (2) and 30 ha in basin
    Nord-Ouest (4) → 3.5. ALDO weights over an EPCI's rows; here the rows are one commune's
    (the rule is the same)."""
    region = pd.Series(["24"], index=["45001"])  # Centre-Val de Loire: rad13 CVL
    weighted = f"{AREA_HEADER}\n45001,A1,,,0,0,10,0\n45001,,,,0,0,30,0\n"
    stocks = aldo_forest_stocks(_tables(weighted), region)
    assert _value(stocks, "45001", "forest_mixed", "live_biomass") == 3.5
    zero = f"{AREA_HEADER}\n45001,A1,,,0,0,0,0\n45001,,,,0,0,0,0\n"
    assert (
        _value(aldo_forest_stocks(_tables(zero), region), "45001", "forest_mixed", "live_biomass")
        == 3.0
    )
    poplar = f"{AREA_HEADER}\n45001,,,Nord,0,0,0,10\n45001,,,Nord-Ouest,0,0,0,30\n"
    stocks = aldo_forest_stocks(_tables(poplar), region)
    assert _value(stocks, "45001", "forest_poplar", "dead_wood") == 3.5


def test_substitute_greco_replaces_the_region_even_with_finer_codes() -> None:
    """ALDO uses greco J instead of region COR for conifers, whatever the finer codes: a
    Corsican commune whose groupeser K1 has no significant conifer row gets greco J (35), not
    France (77)."""
    region = pd.Series(["94", "94"], index=["2A004", "2A001"])
    stocks = aldo_forest_stocks(_tables("insee,groupeser\n2A004,K1\n"), region)
    assert _value(stocks, "2A004", "forest_conifer", "live_biomass") == 35.0
    assert _value(stocks, "2A001", "forest_conifer", "live_biomass") == 35.0


def test_poplar_cascade_goes_to_the_basin_then_france() -> None:
    region = pd.Series(["76", "76"], index=["46001", "46002"])
    stocks = aldo_forest_stocks(
        _tables("insee,groupeser,greco,bassin_populicole\n46001,F1,F,Nord\n46002,F1,F,\n"), region
    )
    assert _value(stocks, "46001", "forest_poplar", "live_biomass") == 50.0
    assert _value(stocks, "46002", "forest_poplar", "live_biomass") == 61.0


def test_locations_table_keeps_every_row() -> None:
    locs = commune_forest_locations(_tables(TWO_SER), REGION)
    assert (locs["commune_code"] == "46001").sum() == 2
    assert locs.loc[locs["commune_code"] == "46003", "rad13"].tolist() == ["OCC"]
    notices = unmatched_forest_locations(_tables(TWO_SER), np.array(["46001", "46002", "46003"]))
    assert [n.code for n in notices] == ["forest_location_missing"]


# --- reading the table --------------------------------------------------------------------


def _aldo_folder(tmp_path: Path) -> Path:
    from tests.hostile.test_coefficient_values import make_aldo

    return make_aldo(tmp_path / "aldo")


def test_read_keeps_several_rows_per_commune_with_areas(tmp_path: Path) -> None:
    floc = tmp_path / "floc.csv"
    floc.write_text(f"{AREA_HEADER}\n46001,F1,,,30,,1,0\n46001,G1,,,10,2,0,0\n", encoding="utf-8")
    tables = read_aldo_tables(_aldo_folder(tmp_path), floc)
    assert tables.forest_locations is not None
    assert len(tables.forest_locations) == 2
    assert tables.forest_locations["conifer_ha"].tolist() == [0.0, 2.0]  # empty = 0 ha


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        # the same location twice for a commune
        (
            f"{AREA_HEADER}\n46001,F1,,,30,0,0,0\n46001,F1,,,10,0,0,0\n",
            ["insee 46001", "groupeser F1", "2 rows"],
        ),
        # some area columns but not all
        ("insee,groupeser,broadleaf_ha\n46001,F1,3\n", ["conifer_ha", "mixed_ha", "poplar_ha"]),
        # a negative area
        (f"{AREA_HEADER}\n46001,F1,,,-3,0,0,0\n", ["insee 46001", "broadleaf_ha", "-3"]),
        # two rows, no areas, different codes: which one? refused
        ("insee,groupeser\n46001,F1\n46001,G1\n", ["insee 46001", "'F1'", "'G1'"]),
    ],
)
def test_read_refuses_ambiguous_tables(tmp_path: Path, text: str, needles: list[str]) -> None:
    floc = tmp_path / "floc.csv"
    floc.write_text(text, encoding="utf-8")
    with pytest.raises(CoefficientError) as err:
        read_aldo_tables(_aldo_folder(tmp_path), floc)
    for needle in ["floc.csv", *needles]:
        assert needle in str(err.value)


# --- the real ALDO tables, by hand ---------------------------------------------------------


def test_real_tables_reference_stocks_by_hand(shared: Path, tmp_path: Path) -> None:
    """Reference forest stocks [tC/ha] of three communes from the shared
    ``bilan-carbone-foret-par-localisation.csv``, with location inputs given here (the
    per-commune forest table ALDO reads, ``surface-foret.csv``, is not published in its
    repository): Pierrerue (34201) spanning groupeser JX (60 ha broadleaf, 10 ha mixed) and
    G8 (40 ha broadleaf), poplar basin Sud; Ajaccio (2A004) with groupeser K1; Cahors (46042)
    unlisted (region OCC)."""
    floc = tmp_path / "floc.csv"
    floc.write_text(
        f"{AREA_HEADER}\n34201,JX,,Sud,60,0,10,0\n34201,G8,,Sud,40,0,0,0\n2A004,K1,,,,,,\n",
        encoding="utf-8",
    )
    tables = read_aldo_tables(shared / "aldo", floc)
    zpc = pd.Series(["4_1", "4_1", "4_1"], index=["34201", "2A004", "46042"])
    region = pd.Series(["76", "94", "76"], index=zpc.index)
    ref = aldo_reference_stocks(tables, zpc, region).set_index(["commune_code", "category", "pool"])
    stock = ref["ref_stock_tc_per_ha"]
    # broadleaf: JX 40.38 / 3.39 (60 ha), G8 86.44 / 9.73 (40 ha)
    assert stock["34201", "forest_broadleaf", "live_biomass"] == pytest.approx(58.804)
    assert stock["34201", "forest_broadleaf", "dead_wood"] == pytest.approx(5.926)
    # mixed: all 10 ha at JX (37.77); G8's mixed row is not significant
    assert stock["34201", "forest_mixed", "live_biomass"] == pytest.approx(37.77)
    # conifer: no area anywhere → unweighted mean of JX 34.73 and G8 94.97
    assert stock["34201", "forest_conifer", "live_biomass"] == pytest.approx(64.85)
    # poplar: basin Sud 59.38 / 4.32
    assert stock["34201", "forest_poplar", "live_biomass"] == pytest.approx(59.38)
    assert stock["34201", "forest_poplar", "dead_wood"] == pytest.approx(4.32)
    # Ajaccio: K1 broadleaf 71.23; K1 conifer/mixed not significant → greco J (ALDO's
    # substitute for Corsica) 34.73 / 37.77; poplar France 60.95
    assert stock["2A004", "forest_broadleaf", "live_biomass"] == pytest.approx(71.23)
    assert stock["2A004", "forest_conifer", "live_biomass"] == pytest.approx(34.73)
    assert stock["2A004", "forest_mixed", "dead_wood"] == pytest.approx(2.92)
    assert stock["2A004", "forest_poplar", "live_biomass"] == pytest.approx(60.95)
    # Cahors: region OCC
    assert stock["46042", "forest_broadleaf", "live_biomass"] == pytest.approx(76.89)
    assert stock["46042", "forest_conifer", "dead_wood"] == pytest.approx(4.86)
    assert stock["46042", "forest_broadleaf", "litter"] == 9.0
