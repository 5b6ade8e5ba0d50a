"""The fast paths of reading the inputs give what their plain paths give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geocarbon import table_checks
from geocarbon.carbon.landuse_change import (
    check_territory_rows,
    merge_arrondissements,
    read_change_rows,
)
from geocarbon.communes import (
    _normalised_codes_plain,
    _overlapping_pairs,
    _overlapping_pairs_plain,
    normalise_codes,
)
from geocarbon.errors import CoefficientError, InputError
from geocarbon.io.coefficients import _strip_key, _strip_key_plain, read_aldo_tables
from geocarbon.io.tables import _PARSES, read_csv, shared_parses
from geocarbon.table_checks import _shown, checked_numbers, drop_identical_duplicates
from geocarbon.territory import ARRONDISSEMENTS, _departement_of_plain, departement_of
from tests.conftest import SHARED

#: Key columns of every kind the tables may hold: text with spaces and empty cells, numbers,
#: mixed cells, pandas' string types, no cell at all.
KEY_COLUMNS = [
    pd.Series([" 46042", None, "", "2A004 ", "  "], name="insee", index=[5, 6, 7, 8, 9]),
    pd.Series(["1", 2, 3.5, None, " ", pd.NA], dtype=object),
    pd.Series(["x", " ", None], dtype="str"),
    pd.Series(pd.array(["a ", None], dtype="string")),
    pd.Series(["-12", "\x1c7\xa0", "\u3000", "+3"], dtype=object),
    pd.Series([1.0, np.nan]),
    pd.Series([1, 2]),
    pd.Series(pd.array([1, None], dtype="Int64")),
    pd.Series([True, None], dtype=object),
    pd.Series(["", ""]),
    pd.Series(["", None], dtype=object),
    pd.Series([None, None], dtype=object),
    pd.Series([np.nan, np.nan]),
    pd.Series([], dtype=object),
    pd.Series([], dtype="str"),
    pd.Series(pd.Categorical(["a", " b", None])),
    pd.Series(["46042", "2A004", "97105"], dtype=object),
    pd.Series(["46042", None, "2B033"], dtype=object, index=[2, 0, 1], name="insee"),
    pd.Series(["46042", "123", np.nan], dtype="str"),
    pd.Series(["a b", "cd"], dtype=object),
    pd.Series(["ab\x1c", "cd"], dtype=object),
    pd.Series(["4_1", "\xa0x"], dtype=object),
]


@pytest.mark.parametrize("column", KEY_COLUMNS)
@pytest.mark.parametrize("width", [0, 5])
def test_strip_key_as_plain(column: pd.Series, width: int) -> None:
    pd.testing.assert_series_equal(_strip_key(column, width), _strip_key_plain(column, width))


#: The key columns normalise_codes takes as text (numbers take the zero-padding path).
TEXT_KEY_COLUMNS = [
    c
    for c in KEY_COLUMNS
    if not (pd.api.types.is_integer_dtype(c) or pd.api.types.is_float_dtype(c))
]


@pytest.mark.parametrize("column", TEXT_KEY_COLUMNS)
def test_normalise_codes_as_plain(column: pd.Series) -> None:
    pd.testing.assert_series_equal(normalise_codes(column), _normalised_codes_plain(column))


def test_real_keys_as_plain() -> None:
    table = pd.read_csv(SHARED / "aldo" / "communes_17122018.csv", dtype=str)
    zones = pd.read_csv(SHARED / "aldo" / "zpc.csv", dtype=object)
    for column in [*(table[c] for c in table.columns), zones["insee"], zones["zpc"]]:
        pd.testing.assert_series_equal(normalise_codes(column), _normalised_codes_plain(column))
        for width in (0, 5):
            pd.testing.assert_series_equal(
                _strip_key(column, width), _strip_key_plain(column, width)
            )


def _squares() -> np.ndarray:
    """Touching, overlapping, nested, identical, disjoint and empty polygons."""
    return np.array(
        [
            shapely.box(0, 0, 1, 1),
            shapely.box(1, 0, 2, 1),  # touches the first
            shapely.box(1.5, 0.5, 3, 2),  # overlaps the second
            shapely.box(0.2, 0.2, 0.4, 0.4),  # inside the first
            shapely.box(0, 0, 1, 1),  # the first again
            shapely.box(10, 10, 11, 11),  # alone
            shapely.MultiPolygon([shapely.box(5, 5, 6, 6), shapely.box(0.5, -1, 0.8, 0.5)]),
            shapely.box(0, 0, 0.5, 1),  # inside the first, sharing edges
            shapely.Polygon(),
            None,
        ],
        dtype=object,
    )


def test_overlapping_pairs_hand_made() -> None:
    geoms = _squares()
    pairs = _overlapping_pairs(geoms)
    np.testing.assert_array_equal(pairs, _overlapping_pairs_plain(geoms))
    assert {tuple(p) for p in pairs.T} >= {(1, 2), (0, 3), (0, 4), (0, 6), (0, 7)}
    assert not shapely.is_prepared(geoms).any()


def test_overlapping_pairs_real_communes_moved() -> None:
    communes = gpd.read_file(SHARED / "lot" / "communes_2018.geojson").to_crs("EPSG:2154")
    geoms = np.asarray(shapely.make_valid(communes.geometry.to_numpy()))
    np.testing.assert_array_equal(_overlapping_pairs(geoms), _overlapping_pairs_plain(geoms))
    moved = geoms.copy()
    moved[::7] = shapely.buffer(moved[::7], 300.0)
    moved[3::11] = shapely.buffer(moved[3::11], -500.0)
    moved = np.concatenate([moved, geoms[:5], shapely.buffer(geoms[20:25], -100.0)])
    pairs = _overlapping_pairs(moved)
    assert pairs.shape[1] > 100
    np.testing.assert_array_equal(pairs, _overlapping_pairs_plain(moved))


@pytest.mark.parametrize(
    "codes",
    [
        pd.Series(["46042", "2a004", "97105", "9", "", "ßx1"], name="c", index=list("abcdef")),
        pd.Series(["1", None]),
        pd.Series([46042, 97105]),
        pd.Series([], dtype=object),
        pd.Series(["97"], dtype="string"),
        pd.Series(["97611", "2B033"], dtype="str"),
    ],
)
def test_departement_of_as_plain(codes: pd.Series) -> None:
    pd.testing.assert_series_equal(departement_of(codes), _departement_of_plain(codes))


def test_departement_of_real_change_table_as_plain() -> None:
    raw = pd.read_csv(SHARED / "aldo" / "clc12_to_clc18_change_ha_by_commune.csv.gz")
    codes = normalise_codes(raw["commune"])
    pd.testing.assert_series_equal(departement_of(codes), _departement_of_plain(codes))


def _drop_identical_duplicates_reference(
    frame: pd.DataFrame, key: list[str], *, source: str, compare: list[str] | None = None
) -> pd.DataFrame:
    """drop_identical_duplicates comparing every distinct row (the whole table)."""
    columns = list(dict.fromkeys([*key, *(compare if compare is not None else frame.columns)]))
    distinct = frame[columns].drop_duplicates()
    clash = distinct[distinct.duplicated(key, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        rows = clash[(clash[key] == first[key]).all(axis=1)]
        differ = next(
            c
            for c in columns
            if c not in key
            and rows[c].astype(object).where(rows[c].notna(), None).nunique(dropna=False) > 1
        )
        values = " and ".join(_shown(v) for v in rows[differ].head(2))
        name = ", ".join(f"{k} {first[k]!s}" for k in key)
        n_keys = len(clash.drop_duplicates(key))
        msg = (
            f"{source}: {name} is listed twice with different values of {differ!r}: {values}"
            f"{f' ({n_keys - 1} other keys too)' if n_keys > 1 else ''}; keep one row per "
            f"{', '.join(key)} (identical duplicates are allowed)"
        )
        raise CoefficientError(msg)
    return frame[~frame.duplicated(key)].reset_index(drop=True)


def _outcome(func: Any, *args: Any, **kwargs: Any) -> pd.DataFrame | str:
    try:
        return func(*args, **kwargs)
    except (CoefficientError, StopIteration) as err:  # a missing key has no differing column
        return f"{type(err).__name__}: {err}"


@pytest.mark.parametrize("seed", range(40))
def test_drop_identical_duplicates_as_whole_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    frame = pd.DataFrame(
        {
            "zpc": rng.choice(["1_1", "2_3", None, "4_1", "5_2"], n).astype(object),
            "kind": rng.choice(["a", "b"], n).astype(object),
            "stock": rng.choice([1.0, 2.5, np.nan], n, p=[0.8, 0.1, 0.1]),
            "other": rng.choice([1.0, 3.0], n, p=[0.9, 0.1]),
        },
        index=rng.permutation(n) + 7,
    )
    for key, compare in ((["zpc"], None), (["zpc", "kind"], None), (["zpc"], ["stock"])):
        got = _outcome(drop_identical_duplicates, frame, key, source="s", compare=compare)
        want = _outcome(
            _drop_identical_duplicates_reference, frame, key, source="s", compare=compare
        )
        if isinstance(want, str):
            assert got == want
        else:
            assert isinstance(got, pd.DataFrame)
            pd.testing.assert_frame_equal(got, want)


def _merge_arrondissements_reference(
    table: pd.DataFrame, territory: set[str], known_codes: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """merge_arrondissements looking every row up in the known codes and the territory (and
    the arrondissements its notice lists)."""
    arrondissement = table["commune_code"].map(ARRONDISSEMENTS)
    merged = (
        arrondissement.notna()
        & ~table["commune_code"].isin(known_codes)
        & arrondissement.isin(known_codes)
    )
    noticed = sorted(set(table.loc[merged & arrondissement.isin(territory), "commune_code"]))
    if merged.any():
        table["commune_code"] = np.where(merged, arrondissement, table["commune_code"]).astype(
            object
        )
    return table, noticed


def _stray_reference(table: pd.DataFrame, territory: set[str], known_codes: set[str]) -> list:
    """The communes check_territory_rows refuses, looking every row up in the known codes."""
    deps = set(departement_of(pd.Series(sorted(territory))))
    same_dep = departement_of(table["commune_code"]).isin(deps)
    return sorted(
        set(table.loc[same_dep & ~table["commune_code"].isin(known_codes), "commune_code"])
    )


def test_change_rows_of_the_territory_as_every_row() -> None:
    raw = pd.read_csv(SHARED / "aldo" / "clc12_to_clc18_change_ha_by_commune.csv.gz")
    table, _ = read_change_rows(raw, ("code12", "code18", "commune", "area"), "s")
    codes = set(table["commune_code"])
    cities = ("751", "132", "6938")
    without_cities = {c for c in codes if not c.startswith(cities)} | {"75056", "13055", "69123"}
    merges_noticed, refused = [], []
    for dep in ("46", "75", "13", "69"):
        territory = {c for c in codes if c.startswith(dep)}
        if dep != "46":
            territory |= {"75056", "13055", "69123"}
        for known in (codes, without_cities, territory, codes - {min(territory)}):
            got, notices = merge_arrondissements(table.copy(), territory, known, "s")
            want, noticed = _merge_arrondissements_reference(table.copy(), territory, known)
            pd.testing.assert_frame_equal(got, want)
            assert (notices[0].items if notices else []) == noticed
            merges_noticed.append(bool(noticed))
            stray = _stray_reference(got, territory, known)
            refused.append(bool(stray))
            if stray:
                with pytest.raises(InputError, match=f"communes {stray[0]}"):
                    check_territory_rows(got, territory, known, "s")
            else:
                inside, _, _ = check_territory_rows(got, territory, known, "s")
                assert inside.equals(got["commune_code"].isin(territory))
    assert any(merges_noticed)
    assert not all(merges_noticed)
    assert any(refused)
    assert not all(refused)


def _number_tables() -> list[pd.DataFrame]:
    """Tables of numbers as read: integers, floats, text, booleans, nullable integers, cells
    out of range, infinite or not numbers."""
    base = {
        "key": ["a", "b", "c"],
        "ints": [1, 2, 3],
        "floats": [0.5, np.nan, 2.0],
        "text": [" 1.5", "", None],
        "nullable": pd.array([1, None, 2], dtype="Int64"),
        "small": np.array([1.0, 2.0, 3.0], dtype=np.float32),
    }
    tables = [pd.DataFrame(base)]
    for column, value in (
        ("ints", 500),
        ("floats", np.inf),
        ("floats", -3.0),
        ("text", "n/a"),
        ("text", "900"),
        ("small", 1e6),
    ):
        cells = dict(base)
        cells[column] = (
            pd.Series(base[column]).astype(object).where([False, True, True], value).to_numpy()
            if column == "text"
            else np.where([True, False, True], value, base[column])
        )
        tables.append(pd.DataFrame(cells))
    tables.append(pd.DataFrame({**base, "flag": [True, False, True]}))
    return tables


@pytest.mark.parametrize("table", _number_tables())
def test_checked_numbers_as_column_by_column(
    table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns = [c for c in table.columns if c != "key"] + ["absent"]
    labels = "key " + table["key"]
    kwargs = {"source": "s", "labels": labels, "low": 0.0, "high": 100.0, "unit": "tC/ha"}
    got = _outcome(checked_numbers, table, iter(columns), **kwargs)
    monkeypatch.setattr(table_checks, "_numbers_in_range", lambda *a, **k: set())
    want = _outcome(checked_numbers, table, iter(columns), **kwargs)
    if isinstance(want, str):
        assert got == want
    else:
        assert isinstance(got, pd.DataFrame)
        pd.testing.assert_frame_equal(got, want)


def test_checked_aldo_tables_as_column_by_column(monkeypatch: pytest.MonkeyPatch) -> None:
    got = read_aldo_tables(SHARED / "aldo", flows=True)
    monkeypatch.setattr(table_checks, "_numbers_in_range", lambda *a, **k: set())
    want = read_aldo_tables(SHARED / "aldo", flows=True)
    for name in ("stocks", "biomass", "forest", "flux", "wood_use", "zpc", "communes"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))


def test_shared_parses_as_separate_reads(tmp_path: Path) -> None:
    """Inside shared_parses, a table read again with the same options is the same as read
    alone (its own copy: a change to one read is not seen by the next); other options, or
    another file, parse again; outside the block nothing is kept."""
    path = tmp_path / "t.csv"
    path.write_text("insee,region, epci\n01001,84,200069193\n2A004,94,\n", encoding="utf-8")
    other = tmp_path / "u.csv"
    other.write_text("insee,region, epci\n46042,76,244600573\n", encoding="utf-8")
    reads = [
        {"dtype": object},
        {"dtype": object},
        {"dtype": str},
        {"dtype": object, "na_values": [""]},
        {"dtype": object, "usecols": ["insee", "epci"]},
        {"dtype": object},
    ]
    alone = [read_csv(path, "t", **options) for options in reads]
    with shared_parses():
        shared = []
        for options in reads:
            frame = read_csv(path, "t", **options)
            shared.append(frame.copy())
            frame.iloc[0, 0] = "changed"
            frame["added"] = 1
        assert read_csv(other, "u", dtype=object)["insee"].tolist() == ["46042"]
    for got, want in zip(shared, alone, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert _PARSES.get() is None
