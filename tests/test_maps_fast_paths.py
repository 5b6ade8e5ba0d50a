"""The maps' fast paths give the plain paths' text: the features' JSON made column by column
with each geometry's coordinates taken at once (:func:`geocarbon.maps._collection_js` against
``_js(_collection(...))``), and Folium's ids numbered by searching them
(:func:`geocarbon.maps._deterministic_ids` against ``_deterministic_ids_plain``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

from geocarbon import maps
from geocarbon.maps import ChoroplethLayer, Overlay, choropleth_map

# --- the plain paths, as the maps were made before (the oracles) ---


def _deterministic_ids_plain(html: str, ids: set[str]) -> str:
    """:func:`_deterministic_ids` by matching every run of 32 hex digits of the page."""
    mapping: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in ids:
            return key
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        return mapping[key]

    return re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", repl, html)


def _collection(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS 84) of ``frame`` with ``columns`` as properties,
    coordinates rounded to :data:`maps.COORD_DECIMALS`, values rounded for reading."""
    geoms = shapely.transform(
        frame.geometry.to_numpy(), lambda xy: np.round(xy, maps.COORD_DECIMALS)
    )
    records = frame[list(columns)].to_dict("records") if columns else [{}] * len(frame)
    features = [
        {
            "type": "Feature",
            "properties": {k: maps._reading_value(v) for k, v in rec.items()},
            "geometry": mapping(g),
        }
        for rec, g in zip(records, geoms, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


HOLED = Polygon(
    [(1.123456789, 44.987654321), (1.2, 44.9), (1.3, 45.1), (1.123456789, 44.987654321)],
    [[(1.2, 44.95), (1.25, 44.95), (1.22, 45.0), (1.2, 44.95)]],
)
SHAPES = [
    box(0.5, 44.0, 0.6, 44.1),
    HOLED,
    MultiPolygon([HOLED, box(-0.00001, -0.000004, 0.00002, 0.00001)]),
    MultiPolygon([box(2.0, 45.0, 2.1, 45.1), box(3.0, 45.0, 3.2, 45.3)]),
    Polygon(),
    MultiPolygon(),
    shapely.from_wkt("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), EMPTY)"),  # an empty part
    Point(1.000004, 2.999996),
    LineString([(0.0, 0.0), (1.5, 2.5)]),
    shapely.GeometryCollection([Point(0, 0), box(0, 0, 1, 1)]),
    Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5), (0, 0, 5)]),
    box(123456.789012345, -98765.4321, 123457.0, -98765.0),
]


def _frame() -> gpd.GeoDataFrame:
    n = len(SHAPES)
    floats = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-9, 0.123456, 999.95, 1000.0, -2.5e6]
    return gpd.GeoDataFrame(
        {
            "name": ["a", "<b>&'x", None, np.nan, "\u2028", "é", "{{ 1 }}", "", *"wxyzt"][:n],
            "code": [f"{i:05d}" for i in range(n)],
            "value": (floats * 2)[:n],
            "small": np.linspace(-1.0, 1.0, n).astype("float32"),
            "count": np.arange(n, dtype="int64") - 3,
            "flag": [i % 2 == 0 for i in range(n)],
            "maybe": pd.array([1, None, *range(n - 2)], dtype="Int64"),
            "day": pd.date_range("2024-01-01", periods=n),
            "kind": pd.Categorical(["x", "y"] * (n // 2) + ["x"] * (n % 2)),
            "mixed": [1, 2.5, "s", None, np.int64(7), np.float32(0.5), True, *range(n - 7)],
        },
        geometry=SHAPES,
        crs="EPSG:4326",
    )


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    maps._LAST_TEXTS.clear()
    maps._LAST_SHOWN.clear()


def test_collection_text_is_the_plain_collections_json() -> None:
    frame = _frame()
    columns = [c for c in frame.columns if c != "geometry"]
    assert maps._collection_js(frame, columns) == maps._js(_collection(frame, columns))
    assert maps._collection_js(frame, columns[:2]) == maps._js(_collection(frame, columns[:2]))
    assert maps._collection_js(frame, []) == maps._js(_collection(frame, []))
    points = frame[frame.geom_type == "Point"]
    assert maps._collection_js(points, ["value"]) == maps._js(_collection(points, ["value"]))
    none = frame.iloc[:0]
    assert maps._collection_js(none, ["name"]) == maps._js(_collection(none, ["name"]))


def test_geometry_texts_are_the_plain_geojson_kept_for_the_same_geometries_only() -> None:
    geometries = _frame().geometry.to_numpy()
    rounded = shapely.transform(geometries, lambda xy: np.round(xy, maps.COORD_DECIMALS))
    plain = [maps._js(shapely.geometry.mapping(g)) for g in rounded]
    assert maps._geometry_texts(geometries) == plain
    kept = maps._LAST_TEXTS[0][1]
    assert maps._geometry_texts(geometries.copy()) is kept  # the very same geometries
    moved = shapely.transform(geometries, lambda xy: xy + 1.0)  # same length, other shapes
    again = [maps._js(shapely.geometry.mapping(g)) for g in shapely.transform(
        moved, lambda xy: np.round(xy, maps.COORD_DECIMALS)
    )]  # fmt: skip
    assert maps._geometry_texts(moved) == again
    assert maps._geometry_texts(moved[:3]) == again[:3]


def test_only_polygons_geometries_written_from_coordinates_at_once() -> None:
    texts = maps._polygon_texts(_frame().geometry.to_numpy())
    written = [i for i, t in enumerate(texts) if t is not None]
    assert written == [0, 1, 2, 3, 10, 11]  # empty ones, parts empty, others: by shapely


def _plain_page(monkeypatch: pytest.MonkeyPatch, make: object) -> str:
    with monkeypatch.context() as m:
        m.setattr(maps, "_collection_js", lambda f, c: maps._js(_collection(f, c)))
        m.setattr(maps, "_deterministic_ids", _deterministic_ids_plain)
        maps._LAST_SHOWN.clear()
        return make()  # type: ignore[operator]


def test_map_pages_are_the_plain_paths_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    x0, y0 = 3_600_000.0, 2_400_000.0  # EPSG:3035, metres
    zones = gpd.GeoDataFrame(
        {
            "commune_name": ["a", "<b>", "c'd"],
            "commune_code": ["46001", "46002", "46003"],
            "stock_tc": [1.0, 2.0, np.nan],
            "flow_tco2e_per_yr": [-3.0, 0.5, 2000.4],
        },
        geometry=[
            box(x0 + i * 1000, y0, x0 + (i + 1) * 1000, y0 + 1000).difference(
                box(x0 + i * 1000 + 200, y0 + 200, x0 + i * 1000 + 300, y0 + 300)
            )
            for i in range(3)
        ],
        crs="EPSG:3035",
    )
    spots = gpd.GeoDataFrame(
        {"change": ["loss", "gain"]},
        geometry=[box(x0, y0, x0 + 100, y0 + 100), box(x0 + 500, y0, x0 + 600, y0 + 100)],
        crs="EPSG:3035",
    )

    def pages() -> list[str]:
        layers = [ChoroplethLayer("stock_tc", "s"), ChoroplethLayer("flow_tco2e_per_yr", "f")]
        first = choropleth_map(zones, layers, title="t", tooltip_fields=[("commune_name", "n")])
        second = choropleth_map(
            zones,
            layers[::-1],
            title="u",
            tooltip_fields=[("stock_tc", "s")],
            overlays=[Overlay("spots", spots, "change", {"loss": "#f00", "gain": "#00f"})],
        )
        return [first, second]

    fast = pages()
    assert fast == _plain_page(monkeypatch, pages)
    assert pages() == fast  # polygons' texts kept from the maps before


HEX_ID = "0123456789abcdef0123456789abcdef"
OTHER_ID = "fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize(
    "page",
    [
        "",
        f"{HEX_ID}",
        f"<div id='map_{OTHER_ID}'></div><script>var map_{HEX_ID} = map_{OTHER_ID};</script>",
        f"a{HEX_ID}b {HEX_ID}0 0{HEX_ID} {HEX_ID}{HEX_ID} {OTHER_ID}",
        f"{HEX_ID[:-1]} {HEX_ID.upper()} x{HEX_ID}\n{OTHER_ID}_{HEX_ID}",
        f'{{"id":"{OTHER_ID}"}} map_{HEX_ID}.fitBounds(); {"9" * 32} {HEX_ID}',
    ],
)
def test_ids_numbered_as_by_matching_every_hex_run(page: str) -> None:
    for ids in ({HEX_ID, OTHER_ID}, {HEX_ID}, {OTHER_ID, "9" * 32, "xyz"}, set()):
        assert maps._deterministic_ids(page, ids) == _deterministic_ids_plain(page, ids)
