"""Class breaks and colours (geocarbon.classes): hand-made values, hand-computed classes."""

from __future__ import annotations

import numpy as np

from geocarbon.classes import (
    DIVERGING_NEGATIVE,
    DIVERGING_POSITIVE,
    HOTSPOT,
    NEUTRAL,
    SEQUENTIAL,
    classify,
    format_value,
    layer_classes,
)

nan = float("nan")


def test_all_zero_diverging_layer_says_no_change() -> None:
    c = layer_classes(np.array([0.0, 0.0, nan]), diverging=True)
    assert c.note == "no change"
    assert c.colors == [NEUTRAL] and c.labels == ["0"]
    assert list(classify(np.array([0.0, 0.0, nan]), c)) == [0, 0, -1]


def test_equal_values_make_one_class_labelled_with_the_value() -> None:
    c = layer_classes(np.array([7.0, 7.0]), diverging=False)
    assert (c.labels, c.note, c.bins) == (["7"], "single value", [7.0, 7.0])


def test_no_data_is_never_a_class() -> None:
    c = layer_classes(np.array([nan, nan]), diverging=False)
    assert (c.bins, c.colors, c.note) == ([], [], "no data")
    c = layer_classes(np.array([1.0, nan, 3.0]), diverging=False)
    assert classify(np.array([nan]), c)[0] == -1


def test_sequential_edges_are_rounded_increasing_and_cover_the_data() -> None:
    values = np.array([5165.408, 12.0, 300.0, 0.5, 2956.0, nan])
    c = layer_classes(values, diverging=False)
    # sorted 0.5, 12, 300, 2956, 5165.408; linear quantiles at 20/40/60/80 %:
    # 0.5 + 0.8 * 11.5 = 9.7, 12 + 0.6 * 288 = 184.8, 300 + 0.4 * 2656 = 1362.4,
    # 2956 + 0.2 * 2209.408 = 3397.9 → 2 significant digits; max rounded up to 5,200
    assert c.bins == [0.5, 9.7, 180.0, 1400.0, 3400.0, 5200.0]
    assert c.colors == list(SEQUENTIAL)
    assert c.labels[0] == "0.5 – 9.7" and c.labels[-1] == "3,400 – 5,200"
    assert list(classify(values, c)) == [4, 1, 2, 0, 3, -1]


def test_ties_at_the_minimum_never_give_a_single_class() -> None:
    # four communes without a charging point, one with 5: the "0 – 1" single class
    c = layer_classes(np.array([0.0, 0.0, 0.0, 0.0, 5.0]), diverging=False)
    assert len(c.colors) >= 2
    assert c.bins[0] == 0.0 and c.bins[-1] == 5.0
    assert list(classify(np.array([0.0, 0.0, 0.0, 0.0, 5.0]), c)) == [0, 0, 0, 0, len(c.colors) - 1]
    c = layer_classes(np.array([0.0] * 9 + [5.0]), diverging=False)
    assert c.bins == [0.0, 0.0, 5.0] and c.labels == ["0", "0 – 5"]
    assert list(classify(np.array([0.0, 5.0, 0.5]), c)) == [0, 1, 1]
    # three zeros of 13 values (≥ 1 in 5): zero alone, then quantile classes of 1…10 at
    # 25/50/75 %: 3.25, 5.5, 7.75 → 3.2, 5.5, 7.8 (2 significant digits)
    values = np.array([0.0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    c = layer_classes(values, diverging=False)
    assert c.bins == [0.0, 0.0, 3.2, 5.5, 7.8, 10.0]
    assert c.labels[:2] == ["0", "0 – 3.2"]
    assert list(classify(values, c)) == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4]


def test_diverging_is_symmetric_red_negative_blue_positive_zero_neutral() -> None:
    values = np.array([-3.0, -1.0, 0.0, 2.0, 10.0, 400.0])
    c = layer_classes(values, diverging=True)
    # |non-zero|: 1, 2, 3, 10, 400 → median 3, 90 % quantile 244 → 240; top 400; symmetric
    # edges -400, -240, -3, 0, 0, 3, 240, 400, but the two outer red classes hold no value
    # (the lowest is -3): they are left out of the legend, the kept classes keep their colour
    assert c.bins == [-3.0, 0.0, 0.0, 3.0, 240.0, 400.0]
    assert c.colors == [DIVERGING_NEGATIVE[-1], NEUTRAL, *DIVERGING_POSITIVE]
    assert c.labels[1] == "0" and c.labels[0] == "−3 – 0"
    assert list(classify(values, c)) == [0, 0, 1, 2, 3, 4]
    assert classify(np.array([-400.0]), c)[0] == -1  # beyond the data: no class


def test_diverging_without_zeros_has_no_neutral_class() -> None:
    c = layer_classes(np.array([-1.0, 1.0]), diverging=True)
    assert c.bins == [-1.0, 0.0, 1.0]
    assert c.colors == [DIVERGING_NEGATIVE[-1], DIVERGING_POSITIVE[0]]
    assert list(classify(np.array([-1.0, -0.01, 0.01, 1.0]), c)) == [0, 0, 1, 1]


def test_labels_are_rounded_for_reading() -> None:
    assert format_value(5165.408) == "5,200"
    assert format_value(5165.408, "fr") == "5\u202f200"
    assert format_value(-0.0345) == "−0.035"
    assert format_value(0.0345, "fr") == "0,035"
    assert format_value(nan) == ""


def test_hotspot_palette_is_distinct_from_the_choropleths() -> None:
    assert len(HOTSPOT) == 4
    assert not set(HOTSPOT) & {*SEQUENTIAL, *DIVERGING_NEGATIVE, *DIVERGING_POSITIVE, NEUTRAL}


def test_one_palette_per_figure_for_maps_qgis_styles_and_report() -> None:
    """The PV and charging figures have their own palettes, taken from one table by the
    interactive maps, the QGIS styles and the report's static maps (they cannot drift)."""
    import json
    import re

    import geopandas as gpd
    from shapely.geometry import Point

    from geocarbon.classes import CHARGING, PALETTES, PV, palette
    from geocarbon.labels import label
    from geocarbon.maps import ChoroplethLayer, choropleth_map
    from geocarbon.report_charts import map_classes
    from geocarbon.styles import LAYER_FIGURES, layer_styles

    assert palette("pv_mwh_per_yr") == PV and palette("ev_points_per_100k_inhab") == CHARGING
    assert palette("stock_tc_per_ha") == SEQUENTIAL == palette("not_a_figure")
    assert not set(PV) & set(CHARGING) and not set(PV) & set(SEQUENTIAL)
    # every figure styled in QGIS has a palette of at least two colours
    for specs in LAYER_FIGURES.values():
        for spec in specs:
            assert spec.diverging or len(palette(spec.column)) >= 2
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    frame = gpd.GeoDataFrame(
        {
            "commune_name": [f"c{i}" for i in range(10)],
            "commune_code": [f"460{i:02d}" for i in range(10)],
            **{figure: values for figure in PALETTES if figure != "distance_m"},
        },
        geometry=[Point(i * 0.01, 44.0).buffer(0.004) for i in range(10)],
        crs="EPSG:4326",
    )
    styles = {s.name: s.qml for s in layer_styles({"communes": frame}, language="en")}
    for figure in ("pv_mwh_per_yr", "ev_points_per_100k_inhab", "stock_tc_per_ha"):
        expected = list(layer_classes(values, diverging=False, colors=palette(figure)).colors)
        # the report's static map
        classes, _ = map_classes(values, diverging=False, figure=figure)
        assert classes.colors == expected, figure
        # the interactive map (class colours of the choropleth, as JSON in the page)
        page = choropleth_map(
            frame, [ChoroplethLayer(figure, figure)], title="t", tooltip_fields=[], simplify_m=0
        )
        colours = re.search(r'geocarbonChoropleth\(geocarbon_zones, "_k0", (\[[^\]]*\])', page)
        assert colours is not None and json.loads(colours.group(1)) == expected, figure
        # the QGIS style of the figure
        qml = styles[label(figure, "en", unit=True)]
        qgis = [
            "#{:02x}{:02x}{:02x}".format(*map(int, c.split(",")[:3]))
            for c in re.findall(r'<prop k="color" v="([^"]+)"', qml)
        ]
        assert qgis == expected, figure


def test_fixed_classes_of_buildings_and_cells() -> None:
    """Fixed classes (hand-computed): buildings by kWh/yr with labels in MWh/yr, cells by
    metres with labels in km; bounds belong to the lower class; the other class last."""
    import pandas as pd

    from geocarbon.classes import (
        ACCESS,
        ACCESS_CLASSES,
        NO_POTENTIAL,
        PV_BUILDING_CLASSES,
        PV_ENERGY,
        white_zone_suffix,
    )

    buildings = pd.DataFrame(
        {
            "kwh_per_yr": [0.0, 1.0, 5_000.0, 5_000.5, 100_000.0, 100_001.0, 9_000.0, nan],
            "excluded_reason": ["", "", "", "", "", "", "roof too small", ""],
        }
    )
    assert PV_BUILDING_CLASSES.classify(buildings).tolist() == [4, 0, 0, 1, 2, 3, 4, 4]
    assert PV_BUILDING_CLASSES.legend("en") == {
        "under 5 MWh/yr": PV_ENERGY[0],
        "5–20 MWh/yr": PV_ENERGY[1],
        "20–100 MWh/yr": PV_ENERGY[2],
        "over 100 MWh/yr": PV_ENERGY[3],
        "no potential": NO_POTENTIAL,
    }
    cells = pd.DataFrame(
        {
            "distance_m": [0.0, 999.0, 1_000.0, 4_999.0, 5_000.0, 5_000.1, nan, 12_000.0],
            "white_zone": [False, False, False, False, False, False, False, True],
        }
    )
    assert ACCESS_CLASSES.classify(cells).tolist() == [0, 0, 0, 1, 1, 2, 2, 3]
    legend = ACCESS_CLASSES.legend("fr", white_zone_suffix(12_500.0, "fr"))
    assert list(legend) == [
        "à moins de 1 km",
        "de 1 à 5 km",
        "5 km et plus",
        "zone blanche (> 12,5 km)",
    ]
    assert list(legend.values()) == list(ACCESS)
