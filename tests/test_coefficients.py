"""Reference stocks: ALDO forest cascade (hand-made table), generic table, overrides, and
the real ALDO tables recomputed by hand for Lot communes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geocarbon.carbon.coefficients import (
    aldo_reference_stocks,
    apply_overrides,
    forest_cascade,
    generic_reference_stocks,
)
from geocarbon.carbon.stocks import compute_stocks, stocks_by_commune
from geocarbon.errors import CoefficientError
from geocarbon.io.coefficients import read_aldo_tables, read_generic_table

C, D = "carbone_(tC∙ha-1)", "bois_mort_carbone_(tC∙ha-1)"


def _forest_table() -> pd.DataFrame:
    rows = [
        ("groupeser", "F1", "Feuillu", "s", 100.0, 10.0),
        ("greco", "F", "Feuillu", "s", 90.0, 9.0),
        ("greco", "F", "Mixte", "n.s", np.nan, np.nan),
        ("rad13", "OCC", "Feuillu", "s", 80.0, 8.0),
        ("rad13", "OCC", "Mixte", "s", 70.0, 7.0),
        ("greco", "B", "Mixte", "s", 66.0, 6.0),
        ("rad13", "HDF", "Mixte", "n.s", np.nan, np.nan),
        ("bassin_populicole", "Sud", "Peupleraie", "s", 59.0, 4.0),
        ("France", "France", "Feuillu", "s", 60.0, 6.0),
        ("France", "France", "Mixte", "s", 50.0, 5.0),
        ("France", "France", "Peupleraie", "s", 61.0, 3.5),
        ("France", "France", "Conifere", "s", 77.0, 6.0),
    ]
    return pd.DataFrame(
        rows, columns=["type_localisation", "code_localisation", "composition", "surface_ic", C, D]
    )


def test_forest_cascade_uses_most_specific_significant_level() -> None:
    t = _forest_table()
    assert forest_cascade(t, "Feuillu", {"groupeser": "F1", "greco": "F", "rad13": "OCC"}) == (
        100.0,
        10.0,
        "groupeser F1",
    )
    assert forest_cascade(t, "Feuillu", {"greco": "F", "rad13": "OCC"}) == (90.0, 9.0, "greco F")
    # greco F has no significant Mixte value -> region
    assert forest_cascade(t, "Mixte", {"greco": "F", "rad13": "OCC"}) == (70.0, 7.0, "rad13 OCC")
    assert forest_cascade(t, "Conifere", {"rad13": "OCC"}) == (77.0, 6.0, "France France")
    assert forest_cascade(t, "Peupleraie", {"rad13": "OCC", "bassin_populicole": "Sud"}) == (
        59.0,
        4.0,
        "bassin_populicole Sud",
    )
    # ALDO's substitution: Hauts-de-France mixed forest uses greco B
    assert forest_cascade(t, "Mixte", {"rad13": "HDF"}) == (66.0, 6.0, "greco B")


def test_generic_table_and_overrides() -> None:
    table, origin = read_generic_table()
    assert origin.startswith("geocarbon built-in")
    assert len(table) == 60 and table["source"].str.len().min() > 10  # every value cites a source
    ref = generic_reference_stocks(table, np.array(["1", "2"]), origin)
    assert len(ref) == 2 * 15 * 4
    ref2, notices = apply_overrides(ref, {"cropland": {"soil": 50.0}})
    sel = (ref2.category == "cropland") & (ref2.pool == "soil")
    assert ref2.loc[sel, "ref_stock_tc_per_ha"].tolist() == [50.0, 50.0]
    assert notices and "cropland/soil = 50.0" in notices[0].items[0]
    with pytest.raises(CoefficientError, match="unknown categories"):
        apply_overrides(ref, {"meadow": {"soil": 1.0}})


def test_compute_stocks_is_area_times_reference() -> None:
    areas = pd.DataFrame(
        {
            "commune_code": ["1", "1"],
            "category": ["cropland", "forest_mixed"],
            "area_ha": [10.0, 2.0],
        }
    )
    ref = pd.DataFrame(
        [
            ("1", "cropland", "soil", 50.0),
            ("1", "cropland", "litter", 0.0),
            ("1", "cropland", "live_biomass", 0.0),
            ("1", "cropland", "dead_wood", 0.0),
            ("1", "forest_mixed", "soil", 80.0),
            ("1", "forest_mixed", "litter", 9.0),
            ("1", "forest_mixed", "live_biomass", 70.0),
            ("1", "forest_mixed", "dead_wood", 7.0),
        ],
        columns=["commune_code", "category", "pool", "ref_stock_tc_per_ha"],
    )
    stocks = compute_stocks(areas, ref)
    per = stocks_by_commune(stocks).loc["1"]
    # 10 x 50 + 2 x (80 + 9 + 70 + 7) = 500 + 332 = 832
    assert per["stock_tc"] == 832.0
    assert per["stock_soil_tc"] == 660.0 and per["stock_litter_tc"] == 18.0
    with pytest.raises(CoefficientError, match="no reference stock"):
        compute_stocks(areas, ref[ref.category == "cropland"])


def test_aldo_reference_values_for_lot_communes(shared) -> None:
    """Reference stocks for two Lot communes, read by hand from the ALDO tables."""
    tables = read_aldo_tables(shared / "aldo")
    zpc = tables.zpc.set_index("insee")["zpc"]
    codes = ["46042", "46102"]  # Cahors, Figeac
    ref = aldo_reference_stocks(tables, zpc.reindex(codes), pd.Series("76", index=codes))
    ref = ref.set_index(["commune_code", "category", "pool"])["ref_stock_tc_per_ha"]
    stocks = tables.stocks.set_index("zpc")
    for code in codes:
        z = zpc[code]
        assert ref[(code, "cropland", "soil")] == float(stocks.loc[z, "cultures"])
        assert ref[(code, "grassland_wooded", "soil")] == float(stocks.loc[z, "prairies"])
        assert ref[(code, "forest_poplar", "soil")] == float(stocks.loc[z, "forêts"])
        assert ref[(code, "artificial_sealed", "soil")] == 30.0
    # Occitanie (76) -> inter-region SUD-EST: wooded grassland 44, shrubs 7, orchards 16, vines 5
    assert ref[("46042", "grassland_wooded", "live_biomass")] == 44.0
    assert ref[("46042", "artificial_grassed", "live_biomass")] == 7.0
    assert ref[("46042", "orchard", "live_biomass")] == 16.0
    assert ref[("46042", "cropland", "live_biomass")] == 0.0
    # forest: region OCC rows of the IGN inventory (broadleaf 76.89 / 8.83; conifer 67.65 / 4.86)
    assert ref[("46042", "forest_broadleaf", "live_biomass")] == 76.89
    assert ref[("46042", "forest_broadleaf", "dead_wood")] == 8.83
    assert ref[("46042", "forest_conifer", "live_biomass")] == 67.65
    # poplar: no region value -> France 60.95 (no poplar basin without a location table)
    assert ref[("46042", "forest_poplar", "live_biomass")] == 60.95
    assert ref[("46042", "forest_mixed", "litter")] == 9.0
    assert ref[("46042", "cropland", "litter")] == 0.0
