"""Commune layer checks: codes, duplicates, geometries, neighbour fallback."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from geocarbon.communes import fill_from_neighbours, join_commune_table, prepare_communes
from geocarbon.errors import InputError


def _layer(codes: list, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, "nom": [f"C{c}" for c in codes]}, geometry=geoms, crs="EPSG:2154"
    )


def _prep(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list]:
    return prepare_communes(frame, source="c.gpkg", code_field="code", name_field="nom")


def test_integer_codes_are_zero_padded_and_sorted() -> None:
    out, notices = _prep(_layer([2001, 1001], [box(1, 0, 2, 1), box(0, 0, 1, 1)]))
    assert out["commune_code"].tolist() == ["01001", "02001"]
    assert notices == []


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(InputError, match=r"duplicate commune codes.*46001"):
        _prep(_layer(["46001", "46001"], [box(0, 0, 1, 1), box(1, 0, 2, 1)]))


def test_missing_field_lists_the_fields() -> None:
    with pytest.raises(InputError, match=r"no field .insee.*fields present: code, nom"):
        prepare_communes(
            _layer(["1"], [box(0, 0, 1, 1)]), source="c", code_field="insee", name_field="nom"
        )


def test_invalid_geometry_is_repaired_and_reported() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-intersecting
    out, notices = _prep(_layer(["46001", "46002"], [bowtie, box(5, 5, 6, 6)]))
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(2.0)  # both triangles kept
    assert notices[0].code == "commune_geometry_repaired"
    assert notices[0].items[0].startswith("46001: Self-intersection")


def test_empty_geometry_is_refused() -> None:
    with pytest.raises(InputError, match="empty geometry: 46002"):
        _prep(_layer(["46001", "46002"], [box(0, 0, 1, 1), Polygon()]))


def test_fill_from_neighbours_longest_shared_border_then_nearest() -> None:
    # a 3 x 1 strip: B touches A (long border) and C (short border); D is an island far away
    frame = gpd.GeoDataFrame(
        {"commune_code": ["A", "B", "C", "D"]},
        geometry=[
            box(0, 0, 1000, 1000),
            box(1000, 0, 2000, 1000),
            box(2000, 900, 2100, 1000),
            box(9000, 0, 9100, 100),
        ],
        crs="EPSG:2154",
    )
    values = pd.Series({"A": "zone1", "C": "zone2"})
    filled, notices = fill_from_neighbours(frame, values, "zpc")
    assert filled.to_dict() == {"A": "zone1", "B": "zone1", "C": "zone2", "D": "zone2"}
    assert notices[0].items == ["B -> zone1 (neighbours)", "D -> zone2 (nearest commune C)"]


def test_join_table_lists_communes_absent() -> None:
    out, _ = _prep(_layer(["46001", "46298"], [box(0, 0, 1, 1), box(1, 0, 2, 1)]))
    table = pd.DataFrame({"insee": ["46001"], "epci": ["200066371"], "population": ["10"]})
    joined, notices = join_commune_table(
        out,
        table,
        source="t.csv",
        code_field="insee",
        epci_field="epci",
        population_field="population",
    )
    assert joined["epci_code"].tolist()[0] == "200066371"
    assert notices[0].items == ["46298"]


def _sq(x0: float, x1: float) -> Polygon:
    """A 1 km-high rectangle from x0 to x1 [m] east of a Lambert-93 point of the Lot."""
    return box(580_000 + x0, 6_380_000, 580_000 + x1, 6_381_000)


def test_commune_repeated_or_nested_is_refused() -> None:
    """The same polygon under two codes, or a commune déléguée inside its commune nouvelle."""
    same = _layer(["46001", "46002", "46999"], [_sq(0, 1000), _sq(1000, 2000), _sq(0, 1000)])
    with pytest.raises(
        InputError, match=r"46001 and 46999 share 100\.1 ha \(100% of the smaller\)"
    ):
        _prep(same)
    nested = _layer(["46001", "46002"], [_sq(0, 2000), _sq(0, 1000)])
    with pytest.raises(InputError, match="communes déléguées"):
        _prep(nested)


def test_partial_overlap_is_reported_with_its_area() -> None:
    """Two 100 ha rectangles overlapping by a 20 m x 1000 m strip (2 ha): a notice with the
    figure; a strip of 5 m (0.5 ha) is below the notice threshold (1 ha)."""
    _, notices = _prep(_layer(["46001", "46002"], [_sq(0, 1020), _sq(1000, 2000)]))
    assert [n.code for n in notices] == ["communes_overlap"]
    assert notices[0].items == ["46001/46002: 2.0 ha"]
    _, notices = _prep(_layer(["46001", "46002"], [_sq(0, 1005), _sq(1000, 2000)]))
    assert notices == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-5", "46002: '-5'"),
        ("1 234", "46002: '1 234'"),
        ("inf", "46002: 'inf'"),
        ("1e12", "46002: '1e12'"),
    ],
)
def test_bad_population_is_refused(value: str, shown: str) -> None:
    frame = _layer(["46001", "46002"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    frame["pop"] = ["120", value]
    with pytest.raises(InputError, match=f"population in c.gpkg, field 'pop'.*{shown}"):
        prepare_communes(
            frame, source="c.gpkg", code_field="code", name_field="nom", population_field="pop"
        )


def test_empty_population_is_no_data_with_a_notice() -> None:
    frame = _layer(["46001", "46002"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    frame["pop"] = [120, None]
    out, notices = prepare_communes(
        frame, source="c.gpkg", code_field="code", name_field="nom", population_field="pop"
    )
    assert out["population"].iloc[0] == 120 and pd.isna(out["population"].iloc[1])
    assert [(n.code, n.items) for n in notices] == [("population_missing", ["46002"])]
    table = pd.DataFrame({"insee": ["46001", "46002"], "epci": ["1", "1"], "pop": ["7", "-1"]})
    with pytest.raises(InputError, match=r"column 'pop'.*46002: '-1'"):
        join_commune_table(out, table, source="t.csv", code_field="insee", epci_field="epci",
                           population_field="pop")  # fmt: skip
