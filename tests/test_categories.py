"""Land-use categories, forest map, and ALDO's artificial-land split (hand-computed)."""

from __future__ import annotations

import pandas as pd
import pytest

from geocarbon.carbon.categories import (
    CLC_CATEGORIES,
    assign_categories,
    check_mapping_covers,
    mapping_from_table,
    split_artificial,
)
from geocarbon.errors import InputError


def _split(rows: list[tuple[str, str, float]], share: float = 0.8) -> dict[tuple[str, str], float]:
    frame = pd.DataFrame(rows, columns=["commune_code", "category", "area_ha"])
    out = split_artificial(frame, share)
    return {(r.commune_code, r.category): round(r.area_ha, 9) for r in out.itertuples()}


def test_artificial_split_little_wooded_land() -> None:
    # A = 90 ha of artificial codes, W = 10 ha of CLC 141, T = 100 ha; W < 0.2 T:
    # sealed = 0.8 x 100 = 80; grassed = 0.2 x 100 - 10 = 10; wooded = 10
    got = _split(
        [("1", "artificial", 90.0), ("1", "artificial_wooded", 10.0), ("1", "cropland", 5.0)]
    )
    assert got == {
        ("1", "artificial_sealed"): 80.0,
        ("1", "artificial_grassed"): 10.0,
        ("1", "artificial_wooded"): 10.0,
        ("1", "cropland"): 5.0,
    }


def test_artificial_split_much_wooded_land() -> None:
    # A = 60, W = 40, T = 100: W >= 0.2 T -> sealed = A = 60, grassed = 0, wooded = 40
    got = _split([("1", "artificial", 60.0), ("1", "artificial_wooded", 40.0)])
    assert got == {("1", "artificial_sealed"): 60.0, ("1", "artificial_wooded"): 40.0}


def test_artificial_split_per_commune_and_share_parameter() -> None:
    # commune 1 without 141: sealed 0.7 x 50 = 35, grassed 15; commune 2 untouched
    got = _split([("1", "artificial", 50.0), ("2", "forest_broadleaf", 7.0)], share=0.7)
    assert got == {
        ("1", "artificial_sealed"): 35.0,
        ("1", "artificial_grassed"): 15.0,
        ("2", "forest_broadleaf"): 7.0,
    }


def test_split_preserves_total_area() -> None:
    rows = [
        ("a", "artificial", 12.5),
        ("a", "artificial_wooded", 1.0),
        ("b", "artificial", 3.0),
        ("b", "artificial_wooded", 9.0),
    ]
    assert sum(_split(rows).values()) == pytest.approx(25.5)


def test_clc_mapping_matches_aldo() -> None:
    assert CLC_CATEGORIES[324] == "forest_mixed"
    assert CLC_CATEGORIES[323] == "grassland_wooded"
    assert CLC_CATEGORIES[142] == "artificial"
    assert CLC_CATEGORIES[141] == "artificial_wooded"
    assert CLC_CATEGORIES[221] == "vineyard"
    assert {CLC_CATEGORIES[c] for c in (331, 332, 333, 334, 335)} == {"no_stock"}
    assert len(CLC_CATEGORIES) == 44  # every CLC level-3 land-cover class


def test_forest_map_composition_and_override() -> None:
    areas = pd.DataFrame({"landuse_code": [311, 311, 211, 312], "forest_code": [2, -1, 4, 9]})
    codes = {1: "broadleaf", 2: "conifer", 3: "mixed", 4: "poplar"}
    comp = assign_categories(areas, CLC_CATEGORIES, codes, "composition").tolist()
    # forest typed by the map; forest without map value keeps CLC; cropland stays cropland;
    # a map code not in the legend (9) is ignored
    assert comp == ["forest_conifer", "forest_broadleaf", "cropland", "forest_conifer"]
    over = assign_categories(areas, CLC_CATEGORIES, codes, "override").tolist()
    assert over == ["forest_conifer", "forest_broadleaf", "forest_poplar", "forest_conifer"]


def test_mapping_table_checks() -> None:
    good = pd.DataFrame({"code": [1, 2], "category": ["cropland", "artificial"]})
    assert mapping_from_table(good, "m.csv") == {1: "cropland", 2: "artificial"}
    with pytest.raises(InputError, match="unknown categories"):
        mapping_from_table(pd.DataFrame({"code": [1], "category": ["fields"]}), "m.csv")
    with pytest.raises(InputError, match="listed twice"):
        mapping_from_table(pd.DataFrame({"code": [1, 1], "category": ["cropland"] * 2}), "m.csv")


def test_classes_absent_from_mapping_are_named_with_their_area() -> None:
    found = pd.Series({211: 10.0, 700: 2.5})
    with pytest.raises(InputError, match=r"700 \(2.5 ha\)"):
        check_mapping_covers(found, CLC_CATEGORIES, "lc.tif")


def test_clc_nodata_codes_are_no_data_without_configuring_them() -> None:
    from types import SimpleNamespace

    from geocarbon.capabilities.carbon_step import landcover_nodata

    def nodata(nomenclature: str, configured: list[float]) -> list[float]:
        cfg = SimpleNamespace(
            landcover=SimpleNamespace(nomenclature=nomenclature, nodata_values=configured)
        )
        return landcover_nodata(cfg)  # type: ignore[arg-type]

    assert nodata("clc", []) == [990.0, 995.0, 999.0]
    # listed in the pipeline too (the shipped pipelines do): each once
    assert nodata("clc", [990.0, 995.0, 999.0]) == [990.0, 995.0, 999.0]
    assert nodata("clc_grid_code", [0.0]) == [0.0, 48.0, 49.0, 50.0]
    assert nodata("table", [7.0]) == [7.0]
