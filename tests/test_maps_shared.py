"""The maps of a run share their polygons: the geometry simplified and projected for one map
is used again by the next map of the same frame, and the pages are the bytes made without
it; another geometry is never served from it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geocarbon import maps
from geocarbon.maps import ChoroplethLayer, choropleth_map

X0, Y0 = 3_600_000.0, 2_400_000.0  # EPSG:3035, metres


def _frame(shift_m: float = 0.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "commune_name": ["a", "b", "c"],
            "commune_code": ["46001", "46002", "46003"],
            "stock_tc": [1.0, 2.0, np.nan],
            "flow_tco2e_per_yr": [-3.0, 0.5, 2.0],
        },
        geometry=[
            box(X0 + shift_m + i * 1000, Y0, X0 + shift_m + (i + 1) * 1000, Y0 + 1000)
            for i in range(3)
        ],
        crs="EPSG:3035",
    )


def _page(frame: gpd.GeoDataFrame, column: str) -> str:
    return choropleth_map(
        frame,
        [ChoroplethLayer(column, column, diverging=column.startswith("flow"))],
        title="t",
        tooltip_fields=[("commune_name", "name"), (column, column)],
        simplify_m=20.0,
    )


@pytest.fixture(autouse=True)
def _no_geometry_kept() -> None:
    maps._LAST_SHOWN.clear()


def test_second_map_of_a_frame_uses_its_geometry_again_same_bytes() -> None:
    frame = _frame()
    first = _page(frame, "stock_tc")
    kept = maps._LAST_SHOWN[0][2]
    second = _page(frame, "flow_tco2e_per_yr")
    assert maps._LAST_SHOWN[0][2] is kept  # not simplified and projected again
    maps._LAST_SHOWN.clear()
    assert _page(frame, "flow_tco2e_per_yr") == second
    assert _page(frame, "stock_tc") == first


def test_another_geometry_is_not_served_from_the_last_map() -> None:
    _page(_frame(), "stock_tc")
    moved = _page(_frame(shift_m=50_000.0), "stock_tc")
    maps._LAST_SHOWN.clear()
    assert _page(_frame(shift_m=50_000.0), "stock_tc") == moved
    # other tolerance, same polygons: simplified again
    frame = _frame()
    _page(frame, "stock_tc")
    kept = maps._LAST_SHOWN[0][2]
    choropleth_map(
        frame, [ChoroplethLayer("stock_tc", "s")], title="t", tooltip_fields=[], simplify_m=0.0
    )
    assert maps._LAST_SHOWN[0][2] is not kept


def test_rendered_macros_are_kept_as_text_not_compiled_and_branca_is_left_as_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import branca.element
    from jinja2 import Environment

    original = branca.element.Element
    compiled: list[str] = []
    real_from_string = Environment.from_string

    def from_string(self: Environment, source: str, *args: object, **kwargs: object) -> object:
        compiled.append(source)
        return real_from_string(self, source, *args, **kwargs)  # type: ignore[arg-type]

    frame = _frame()
    frame.loc[0, "commune_name"] = "{{ 7 * 7 }} <b>"
    monkeypatch.setattr(Environment, "from_string", from_string)
    page = _page(frame, "stock_tc")
    assert branca.element.Element is original
    # no rendered macro (the map's creation, its bounds, its layers' script) was compiled
    rendered = [s for s in compiled if "L.map(" in s or "fitBounds" in s or "legend" in s]
    assert not rendered, [s[:80] for s in rendered]
    assert "{{ 7 * 7 }}" not in page or "49" not in page.split("{{ 7 * 7 }}")[0][-5:]
    assert "\\u003cb\\u003e" in page or "&lt;b&gt;" in page  # escaped, never live HTML
