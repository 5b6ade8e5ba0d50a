"""QGIS-ready outputs: the GeoPackage's ``layer_styles`` (QGIS's own table and QML, the maps'
classes and colours), one output CRS rule, counts as integers, GeoTIFF overviews, band
description, unit and QML style."""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import Point, box

from geocarbon.classes import (
    ACCESS_CLASSES,
    PV_BUILDING_CLASSES,
    classify,
    layer_classes,
    white_zone_suffix,
)
from geocarbon.cli import main
from geocarbon.io.writers import (
    LAYER_STYLES_COLUMNS,
    BlockRasterWriter,
    RasterBand,
    integer_counts,
    write_csv,
    write_gpkg_layers,
)
from geocarbon.labels import label
from geocarbon.pipeline import default_output_crs
from geocarbon.styles import NO_DATA_COLOR, hex_to_qgis, layer_styles
from tests.test_pipeline import tiny  # noqa: F401  (fixture)

#: The columns of ``layer_styles`` as QGIS creates the table (QgsOgrProviderMetadata::saveStyle).
QGIS_LAYER_STYLES = [
    "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
    "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
]  # fmt: skip


def _communes() -> gpd.GeoDataFrame:
    """Four square communes near Cahors (Lambert-93), one without a stock (no data)."""
    return gpd.GeoDataFrame(
        {
            "commune_code": ["46001", "46002", "46003", "46004"],
            "stock_tc_per_ha": [40.0, 80.0, 120.0, np.nan],
            "flow_tco2e_per_yr": [-300.0, 0.0, 50.0, 900.0],
            "pv_buildings": [12.0, np.nan, 0.0, 3.0],
        },
        geometry=[
            box(570_000 + 1000 * i, 6_370_000, 571_000 + 1000 * i, 6_371_000) for i in range(4)
        ],
        crs="EPSG:2154",
    )


def _qgis_range(value: float, ranges: list[ET.Element]) -> int:
    """The range QGIS draws a value with: the first whose bounds (inclusive) hold it."""
    for k, r in enumerate(ranges):
        if float(r.get("lower", "nan")) <= value <= float(r.get("upper", "nan")):
            return k
    return -1


def _styles_table(path: Path) -> pd.DataFrame:
    with sqlite3.connect(path) as con:
        return pd.read_sql("SELECT * FROM layer_styles ORDER BY id", con)


def test_layer_styles_are_qgis_rows_with_the_maps_classes(tmp_path: Path) -> None:
    communes = _communes()
    points = gpd.GeoDataFrame(
        {"point_id": ["a", "b", "c"], "power_kw": [7.4, 22.0, 150.0]},
        geometry=[Point(570_500, 6_370_500), Point(571_500, 6_370_500), Point(572_500, 6_370_500)],
        crs="EPSG:2154",
    )
    layers = {"communes": communes, "charging_points": points, "table": pd.DataFrame({"a": [1]})}
    path = tmp_path / "out.gpkg"
    write_gpkg_layers(path, layers, layer_styles(layers, language="fr"))

    # QGIS finds the table by name through GDAL, with its own columns
    assert "layer_styles" in dict(pyogrio.list_layers(path))
    rows = _styles_table(path)
    assert list(rows.columns) == ["id", *QGIS_LAYER_STYLES] == ["id", *LAYER_STYLES_COLUMNS]
    # QGIS selects a layer's styles with f_table_schema='' and its geometry column
    assert set(rows["f_table_schema"]) == {""}
    geom = pyogrio.read_info(path, layer="communes")["geometry_name"]
    assert set(rows["f_geometry_column"]) == {geom}
    # communes: density (default) then net flow; points: power; no style for a table
    assert rows[["f_table_name", "styleName", "useAsDefault"]].values.tolist() == [
        ["communes", "Densité de carbone (tC/ha)", 1],
        ["communes", "Flux net (tCO2e/an)", 0],
        ["charging_points", "Puissance (kW)", 1],
    ]
    for row, column, diverging, kind in (
        (0, "stock_tc_per_ha", False, "fill"),
        (1, "flow_tco2e_per_yr", True, "fill"),
        (2, "power_kw", False, "marker"),
    ):
        root = ET.fromstring(rows.loc[row, "styleQML"].split("\n", 1)[1])
        assert root.tag == "qgis"
        renderer = root.find("renderer-v2")
        assert renderer is not None and renderer.get("type") == "graduatedSymbol"
        frame = communes if kind == "fill" else points
        values = frame[column].to_numpy(dtype=float)
        palette = (
            ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b") if kind == "marker" else None
        )
        classes = layer_classes(values, diverging=diverging, colors=palette, lang="fr")
        ranges = renderer.findall("ranges/range")
        symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
        n = len(classes.colors)
        assert [r.get("label") for r in ranges[:n]] == classes.labels
        assert [float(r.get("lower", "nan")) for r in ranges[:n]] == pytest.approx(
            classes.bins[:-1]
        )
        assert [float(r.get("upper", "nan")) for r in ranges[:n]] == pytest.approx(classes.bins[1:])
        colours = [
            symbols[r.get("symbol")].find("layer/prop[@k='color']").get("v")  # type: ignore[union-attr]
            for r in ranges
        ]
        assert colours[:n] == [hex_to_qgis(c) for c in classes.colors]
        assert {s.get("type") for s in symbols.values()} == {kind}
        # each feature gets in QGIS the class (and colour) the maps give it
        expected = classify(values, classes)
        for value, k in zip(values, expected, strict=True):
            if np.isfinite(value):
                assert colours[_qgis_range(value, ranges)] == hex_to_qgis(classes.colors[k])
        if column == "stock_tc_per_ha":
            # one commune has no stock: drawn grey as "no data", as on the map
            assert renderer.get("attr") == 'coalesce("stock_tc_per_ha", -1e+300)'
            assert ranges[-1].get("label") == "pas de donnée"
            assert colours[-1] == hex_to_qgis(NO_DATA_COLOR)
            assert _qgis_range(-1e300, ranges) == len(ranges) - 1
        else:
            assert renderer.get("attr") == f'"{column}"' and len(ranges) == n
    # the flow of 0 is neither sequestration nor emission: the neutral class of the maps
    flow = ET.fromstring(rows.loc[1, "styleQML"].split("\n", 1)[1]).find("renderer-v2")
    assert flow is not None
    flow_ranges = flow.findall("ranges/range")
    assert flow_ranges[_qgis_range(0.0, flow_ranges)].get("label") == "0"


def test_counts_are_integers_in_gpkg_and_csv(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "pv_buildings": [12.0, np.nan, 0.0],
            "ev_points_15_26kw": [1.0, 2.0, 0.0],
            "population": [417.0, 3184.0, 12.5],  # a grid estimate: not whole, left as it is
            "ev_points_per_100k_inhab": [1.0, 2.0, 3.0],  # a ratio, not a count
        }
    )
    out = integer_counts(frame)
    assert str(out["pv_buildings"].dtype) == "Int64" and out["pv_buildings"].isna().tolist() == [
        False,
        True,
        False,
    ]
    assert str(out["ev_points_15_26kw"].dtype) == "Int64"
    assert out["population"].dtype == float and out["ev_points_per_100k_inhab"].dtype == float
    assert frame["pv_buildings"].dtype == float  # the caller's frame is unchanged
    write_csv(tmp_path / "t.csv", frame)
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[1:] == ["12,1,417.0,1.0", ",2,3184.0,2.0", "0,0,12.5,3.0"]
    write_gpkg_layers(tmp_path / "t.gpkg", {"communes": _communes()})
    info = pyogrio.read_info(tmp_path / "t.gpkg", layer="communes")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["pv_buildings"].startswith("int") and types["stock_tc_per_ha"] == "float64"
    back = pyogrio.read_dataframe(tmp_path / "t.gpkg", layer="communes")
    assert back["pv_buildings"].tolist()[0] == 12 and back["pv_buildings"].tolist()[2] == 0


def _at(lon: float, lat: float, codes: list[str], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Two small communes around (lon, lat), in ``crs``."""
    frame = gpd.GeoDataFrame(
        {"commune_code": codes},
        geometry=[
            box(lon, lat, lon + 0.05, lat + 0.05),
            box(lon + 0.05, lat, lon + 0.1, lat + 0.05),
        ],
        crs="EPSG:4326",
    )
    return frame.to_crs(crs)


LAEA_NO_CODE = "+proj=laea +lat_0=44.6 +lon_0=1.5 +ellps=GRS80 +units=m +no_defs"


@pytest.mark.parametrize(
    ("where", "codes", "inputs", "expected"),
    [
        # metropolitan France: Lambert-93 whatever the inputs' CRS (a custom LAEA here)
        ((1.44, 44.45), ["46042", "46043"], [LAEA_NO_CODE], 2154),
        ((9.0, 42.0), ["2A004", "2B033"], ["EPSG:4326"], 2154),  # Corse
        ((55.45, -21.1), ["97411", "97415"], [None], 2975),  # La Réunion: RGR92 / UTM 40S
        ((-61.6, 16.2), ["97101", "97102"], [None], 5490),  # Guadeloupe: RGAF09 / UTM 20N
        # not French codes: the inputs' projected CRS with an EPSG code
        ((9.5, 50.0), ["x1", "x2"], ["EPSG:4326", "EPSG:25832"], 25832),
        # none: a named equal-area CRS (Europe, then the world), never "unknown"
        ((9.5, 50.0), ["x1", "x2"], [LAEA_NO_CODE, "EPSG:4326"], 3035),
        ((-75.0, 45.0), ["x1", "x2"], ["EPSG:4326"], 6933),
    ],
)
def test_output_crs_rule(where, codes, inputs, expected) -> None:
    from pyproj import CRS

    communes = _at(*where, codes, crs="EPSG:3857")
    crs = default_output_crs(communes, [CRS.from_user_input(c) if c else None for c in inputs])
    assert crs.to_epsg() == expected
    assert crs.name and crs.name.lower() != "unknown"


def test_geotiff_overviews_band_metadata_and_style(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    change = rng.normal(0.0, 30.0, size=(300, 260)).astype("float32")
    change[:40, :40] = 0.0
    change[0, 0] = np.nan
    path = tmp_path / "rasters" / "change.tif"
    band = RasterBand("Variation 2012–2018", "tC/ha", diverging=True, language="en")
    with BlockRasterWriter(
        {"change": path},
        crs="EPSG:2154",
        transform=Affine(25, 0, 570_000, 0, -25, 6_380_000),
        width=260,
        height=300,
        nodata=float("nan"),
        bands={"change": band},
    ) as writer:
        writer.write("change", change[:150], 0, 0)
        writer.write("change", change[150:], 150, 0)
    with rasterio.open(path) as src:
        # factors 2 to 16 (down to at least 16 pixels a side; GDAL reports 16 as 15 here)
        assert len(src.overviews(1)) == 4 and src.overviews(1)[:3] == [2, 4, 8]
        assert src.descriptions == ("Variation 2012–2018",) and src.units == ("tC/ha",)
        np.testing.assert_array_equal(src.read(1), change)  # values untouched
    assert not list(path.parent.glob(".*"))  # no temporary file left
    qml = path.with_suffix(".qml")
    root = ET.fromstring(qml.read_text(encoding="utf-8").split("\n", 1)[1])
    shader = root.find("pipe/rasterrenderer/rastershader/colorrampshader")
    assert root.find("pipe/rasterrenderer").get("type") == "singlebandpseudocolor"  # type: ignore[union-attr]
    assert shader is not None and shader.get("colorRampType") == "DISCRETE"
    items = shader.findall("item")
    classes = layer_classes(change, diverging=True, lang="en")  # every pixel (small raster)
    assert [i.get("color") for i in items] == classes.colors
    assert [i.get("label") for i in items] == classes.labels
    assert items[-1].get("value") == "inf"
    # QGIS discrete rule (first item whose value is at least the pixel's) = the maps' classes
    uppers = [float(i.get("value", "nan")) for i in items]
    sample = change[np.isfinite(change)][::97].astype(float)  # QGIS compares doubles
    got = [next(k for k, u in enumerate(uppers) if v <= u) for v in sample]
    assert got == classify(sample, classes).tolist()
    # a pixel that did not change is neither a loss nor a gain: the neutral class
    assert items[next(k for k, u in enumerate(uppers) if u >= 0.0)].get("color") == "#f0f0f0"


def test_pipeline_writes_styles_in_lambert93(tiny) -> None:  # noqa: F811
    d, pipeline, _, _ = tiny
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline())])
    assert result.exit_code == 0, result.output
    gpkg = d / "out" / "geocarbon.gpkg"
    # the tiny territory is in metropolitan France, its land cover in LAEA Europe
    assert pyogrio.read_info(gpkg, layer="communes")["crs"] == "EPSG:2154"
    rows = _styles_table(gpkg)
    default = rows[(rows.f_table_name == "communes") & (rows.useAsDefault == 1)]
    assert default["styleName"].tolist() == ["Densité de carbone (tC/ha)"]
    root = ET.fromstring(default["styleQML"].iloc[0].split("\n", 1)[1])
    assert root.find("renderer-v2").get("attr") == '"stock_tc_per_ha"'  # type: ignore[union-attr]
    communes = gpd.read_file(gpkg, layer="communes")
    classes = layer_classes(communes["stock_tc_per_ha"].to_numpy(), diverging=False, lang="fr")
    labels = [r.get("label") for r in root.findall("renderer-v2/ranges/range")]
    assert labels == classes.labels


def test_layer_without_values_opens_with_one_grey_symbol() -> None:
    points = gpd.GeoDataFrame(
        {"point_id": ["a", "b"], "power_kw": [np.nan, np.nan]},  # powers unknown
        geometry=[Point(570_500, 6_370_500), Point(571_500, 6_370_500)],
        crs="EPSG:2154",
    )
    (style,) = layer_styles({"charging_points": points}, language="en")
    assert style.default and style.name == "Power (kW) — no data"
    root = ET.fromstring(style.qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "singleSymbol"
    colour = renderer.find("symbols/symbol/layer/prop[@k='color']")
    assert colour is not None and colour.get("v") == hex_to_qgis(NO_DATA_COLOR)


# --------------------------------------------------------------------------------------------
# layers the maps draw in fixed classes: the QGIS style has exactly those classes

#: Largest finite double: the upper bound QML holds for an open class.
DBL_MAX = 1.7976931348623157e308


def _qgis_value(expression: str, row: pd.Series) -> float:
    """What QGIS computes for ``row`` with one of the two class expressions below (written
    out by hand: NULL comparisons are NULL, ``coalesce`` takes the first non-NULL)."""
    if expression == PV_EXPRESSION:
        reason, kwh = row["excluded_reason"], row["kwh_per_yr"]
        if not (isinstance(reason, str) and reason == ""):  # NOT coalesce(reason = '', false)
            return -1e300
        if pd.isna(kwh):
            return -1e300
        return float(kwh) if kwh > 0.0 else -1e300
    if expression == ACCESS_EXPRESSION:
        if bool(row["white_zone"]) if pd.notna(row["white_zone"]) else False:
            return -1e300
        d = row["distance_m"]
        if pd.isna(d):
            return DBL_MAX
        return float(d) if d >= 0.0 else -1e300
    raise AssertionError(f"unexpected expression {expression}")


PV_EXPRESSION = (
    "CASE WHEN NOT coalesce(\"excluded_reason\" = '', false) THEN -1e+300 "
    'WHEN "kwh_per_yr" IS NULL THEN -1e+300 '
    'WHEN "kwh_per_yr" > 0.0 THEN "kwh_per_yr" ELSE -1e+300 END'
)
ACCESS_EXPRESSION = (
    'CASE WHEN coalesce("white_zone", false) THEN -1e+300 '
    'WHEN "distance_m" IS NULL THEN 1.7976931348623157e+308 '
    'WHEN "distance_m" >= 0.0 THEN "distance_m" ELSE -1e+300 END'
)

#: Buildings: annual energy [kWh/yr], exclusion reason, and the class the PV map gives them
#: (under 5, 5–20, 20–100, over 100 MWh/yr; no potential when excluded or producing nothing).
BUILDINGS = [
    (0.0, "", "sans potentiel"),
    (4_000.0, "", "moins de 5 MWh/an"),
    (5_000.0, "", "moins de 5 MWh/an"),
    (5_001.0, "", "5 à 20 MWh/an"),
    (20_000.0, "", "5 à 20 MWh/an"),
    (60_000.0, "", "20 à 100 MWh/an"),
    (150_000.0, "", "plus de 100 MWh/an"),
    (8_000.0, "existing installation", "sans potentiel"),
    (np.nan, "", "sans potentiel"),
]
#: Population cells: distance to the nearest point [m], white zone, and their class on the
#: charging map (a missing distance is no point reachable: far; white zone beyond 10 km).
CELLS = [
    (0.0, False, "à moins de 1 km"),
    (1_000.0, False, "à moins de 1 km"),
    (1_000.5, False, "de 1 à 5 km"),
    (5_000.0, False, "de 1 à 5 km"),
    (7_000.0, False, "5 km et plus"),
    (np.nan, False, "5 km et plus"),  # no point reachable, nobody lives there
    (np.nan, True, "zone blanche (> 10 km)"),
    (20_000.0, True, "zone blanche (> 10 km)"),
]


def _fixed_layers() -> dict[str, gpd.GeoDataFrame]:
    def at(i: int) -> Point:
        return Point(570_000 + 100 * i, 6_370_000)

    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"b{i}" for i in range(len(BUILDINGS))],
            "kwh_per_yr": [b[0] for b in BUILDINGS],
            "excluded_reason": [b[1] for b in BUILDINGS],
        },
        geometry=[at(i).buffer(10, cap_style="square") for i in range(len(BUILDINGS))],
        crs="EPSG:2154",
    )
    cells = gpd.GeoDataFrame(
        {
            "population": [5.0] * len(CELLS),
            "distance_m": [c[0] for c in CELLS],
            "white_zone": [c[1] for c in CELLS],
        },
        geometry=[at(i) for i in range(len(CELLS))],
        crs="EPSG:2154",
    )
    return {"pv_buildings": buildings, "charging_access": cells}


@pytest.mark.parametrize(
    ("table", "fixed", "cases", "expression", "ranges", "symbol"),
    [
        (
            "pv_buildings",
            PV_BUILDING_CLASSES,
            BUILDINGS,
            PV_EXPRESSION,
            [
                (0.0, 5_000.0, "#fee391", "moins de 5 MWh/an"),
                (5_000.0, 20_000.0, "#fec44f", "5 à 20 MWh/an"),
                (20_000.0, 100_000.0, "#ec7014", "20 à 100 MWh/an"),
                (100_000.0, DBL_MAX, "#8c2d04", "plus de 100 MWh/an"),
                (-1e300, -1e300, "#9e9e9e", "sans potentiel"),
            ],
            "fill",
        ),
        (
            "charging_access",
            ACCESS_CLASSES,
            CELLS,
            ACCESS_EXPRESSION,
            [
                (0.0, 1_000.0, "#1a9850", "à moins de 1 km"),
                (1_000.0, 5_000.0, "#a6d96a", "de 1 à 5 km"),
                (5_000.0, DBL_MAX, "#fdae61", "5 km et plus"),
                (-1e300, -1e300, "#d73027", "zone blanche (> 10 km)"),
            ],
            "marker",
        ),
    ],
)
def test_fixed_class_layers_have_the_maps_classes_in_qgis(
    tmp_path: Path, table, fixed, cases, expression, ranges, symbol
) -> None:
    """Buildings (PV map) and population cells (charging map) are drawn in fixed classes;
    their QGIS style holds exactly those classes (bounds in the layer's unit: kWh/yr, m;
    labels in the style's language), and every feature gets in QGIS the map's class."""
    layers = _fixed_layers()
    path = tmp_path / "out.gpkg"
    write_gpkg_layers(path, layers, layer_styles(layers, language="fr", white_zone_m=10_000.0))
    back = gpd.read_file(path, layer=table)
    rows = _styles_table(path)
    style = rows[rows.f_table_name == table]
    assert len(style) == 1 and style["useAsDefault"].iloc[0] == 1
    assert style["styleName"].iloc[0] == label(fixed.title_id, "fr")
    root = ET.fromstring(style["styleQML"].iloc[0].split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == expression
    qml_ranges = renderer.findall("ranges/range")
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    assert {s.get("type") for s in symbols.values()} == {symbol}
    colour = {
        r.get("label"): symbols[r.get("symbol")].find("layer/prop[@k='color']").get("v")  # type: ignore[union-attr]
        for r in qml_ranges
    }
    got = [
        (
            float(r.get("lower", "nan")),
            float(r.get("upper", "nan")),
            colour[r.get("label")],
            r.get("label"),
        )
        for r in qml_ranges
    ]
    assert got == [(lo, hi, hex_to_qgis(c), text) for lo, hi, c, text in ranges]
    # the map's classes (the rule and legend the map builders use) are those very classes
    suffix = white_zone_suffix(10_000.0, "fr") if fixed is ACCESS_CLASSES else ""
    legend = fixed.legend("fr", suffix)
    assert list(legend.items()) == [(text, c) for _, _, c, text in ranges]
    assert list(fixed.names(layers[table], "fr", suffix)) == [c[2] for c in cases]
    # each feature, read back from the file, gets in QGIS the colour it has on the map
    for (_, row), case in zip(back.iterrows(), cases, strict=True):
        k = _qgis_range(_qgis_value(expression, row), qml_ranges)
        assert k >= 0 and qml_ranges[k].get("label") == case[2], (row.to_dict(), case)
        assert colour[qml_ranges[k].get("label")] == hex_to_qgis(legend[case[2]])


def test_fixed_class_style_follows_the_language() -> None:
    layers = _fixed_layers()
    styles = {s.table: s for s in layer_styles(layers, language="en")}
    assert styles["pv_buildings"].name == "Buildings by rooftop PV energy"
    assert styles["charging_access"].name == "Population by distance to a charging point"
    labels = re.findall(r'label="([^"]*)"', styles["pv_buildings"].qml)
    assert labels == [
        "under 5 MWh/yr", "5–20 MWh/yr", "20–100 MWh/yr", "over 100 MWh/yr", "no potential",
    ]  # fmt: skip
    # no white-zone distance given: the label alone
    assert re.findall(r'label="([^"]*)"', styles["charging_access"].qml)[-1] == "white zone"
