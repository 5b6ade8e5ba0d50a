"""QGIS styles of the outputs: the same classes and colours as the maps, as QGIS QML.

Pure functions: they build the text of QML documents and the rows of the GeoPackage's
``layer_styles`` table (the table QGIS itself reads and writes: one row per style of a
layer, the default one flagged ``useAsDefault``); :mod:`geocarbon.io.writers` writes them.

Classes come from :func:`geocarbon.classes.layer_classes`, as on the maps, so a layer
opened in QGIS shows the classes and colours of the map of the same figure. Layers the maps
draw in fixed classes (buildings by annual energy, population cells by distance to a charging
point) get those very classes (:class:`geocarbon.classes.FixedClasses`): same bounds, colours
and labels, and the same rule for the features in none of them (no potential, white zone).
"""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from geocarbon.classes import (
    ACCESS_CLASSES,
    NO_DATA,
    PV_BUILDING_CLASSES,
    FixedClasses,
    palette,
    white_zone_suffix,
)
from geocarbon.labels import Language, label

#: QGIS version the QML documents declare (any QGIS 3 reads them).
QGIS_VERSION = "3.28.0-Firenze"

#: Colour of features without a value (as on the maps).
NO_DATA_COLOR = NO_DATA

#: Value standing for "no data" in the class expression of a layer whose main column
#: has empty values (a graduated renderer draws only features inside one of its ranges).
NO_DATA_VALUE = -1e300

#: Value standing for the *other* class of fixed classes (no potential, white zone) in the
#: class expression of their style (see :func:`fixed_classes_expression`).
OTHER_CLASS_VALUE = -1e300

#: Upper bound written for an open class (QML ranges hold finite bounds; every finite value
#: is at most this).
OPEN_UPPER = sys.float_info.max

Geometry = Literal["polygon", "point", "line"]


@dataclass(frozen=True)
class StyleSpec:
    """A figure a layer can be drawn by: its column and whether its scale is centred on 0."""

    column: str
    diverging: bool = False
    colors: tuple[str, ...] | None = None
    """Sequential palette, light to dark; default: the figure's palette on the maps
    (:func:`geocarbon.classes.palette`)."""
    fixed: FixedClasses | None = None
    """Fixed classes of the figure on the maps; the style then has exactly those classes
    (not classes chosen from the layer's values)."""


#: Figures each spatial layer is styled by, in order: the first one present with values is
#: the layer's default style; every one present gets a style QGIS lists for the layer.
LAYER_FIGURES: dict[str, tuple[StyleSpec, ...]] = {
    "communes": (
        StyleSpec("stock_tc_per_ha"),
        StyleSpec("flow_tco2e_per_yr", diverging=True),
        StyleSpec("pv_mwh_per_yr"),
        StyleSpec("ev_points_per_100k_inhab"),
        StyleSpec("ev_points"),
    ),
    "epci": (
        StyleSpec("stock_tc_per_ha"),
        StyleSpec("flow_tco2e_per_yr", diverging=True),
        StyleSpec("pv_mwh_per_yr"),
        StyleSpec("ev_points_per_100k_inhab"),
    ),
    "pv_buildings": (StyleSpec(PV_BUILDING_CLASSES.column, fixed=PV_BUILDING_CLASSES),),
    "charging_points": (StyleSpec("power_kw"),),
    "charging_access": (StyleSpec(ACCESS_CLASSES.column, fixed=ACCESS_CLASSES),),
}


@dataclass(frozen=True)
class LayerStyle:
    """One row of ``layer_styles``: a named QML style of one layer."""

    table: str
    geometry_column: str
    name: str
    qml: str
    default: bool
    description: str


def hex_to_qgis(color: str, alpha: int = 255) -> str:
    """``#rrggbb`` (or ``#rgb``) as QGIS writes colours: ``r,g,b,a``."""
    text = color.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if not re.fullmatch(r"[0-9a-fA-F]{6}", text):
        msg = f"not a #rrggbb colour: {color!r}"
        raise ValueError(msg)
    r, g, b = (int(text[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _number(value: float) -> str:
    """A class bound as QML stores it (``inf`` for an open bound)."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _root() -> ET.Element:
    return ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology"})


def _document(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def _symbol(parent: ET.Element, name: str, color: str, geometry: Geometry) -> None:
    """A one-layer symbol: filled polygon with a thin grey outline, or a round marker."""
    kind = {"polygon": "fill", "point": "marker", "line": "line"}[geometry]
    symbol = ET.SubElement(
        parent,
        "symbol",
        {
            "type": kind,
            "name": name,
            "alpha": "1",
            "clip_to_extent": "1",
            "force_rhr": "0",
        },
    )
    if geometry == "polygon":
        props = {
            "color": hex_to_qgis(color),
            "style": "solid",
            "outline_color": "119,119,119,255",
            "outline_style": "solid",
            "outline_width": "0.2",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
        }
        cls = "SimpleFill"
    elif geometry == "point":
        props = {
            "color": hex_to_qgis(color),
            "name": "circle",
            "size": "2.4",
            "size_unit": "MM",
            "outline_color": "68,68,68,255",
            "outline_style": "solid",
            "outline_width": "0.2",
            "outline_width_unit": "MM",
        }
        cls = "SimpleMarker"
    else:
        props = {"line_color": hex_to_qgis(color), "line_width": "0.6", "line_width_unit": "MM"}
        cls = "SimpleLine"
    layer = ET.SubElement(
        symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"}
    )
    # QGIS >= 3.26 reads the Option map; earlier versions read the prop elements.
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(options, "Option", {"name": key, "type": "QString", "value": value})
    for key, value in props.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def graduated_qml(
    column: str,
    bins: Sequence[float],
    colors: Sequence[str],
    labels: Sequence[str],
    *,
    geometry: Geometry,
    no_data_label: str | None = None,
    diverging: bool = False,
    attr: str | None = None,
    no_data_color: str = NO_DATA_COLOR,
) -> str:
    """A QML style drawing a layer in classes of ``column`` (QGIS graduated renderer).

    Parameters
    ----------
    column : str
        The attribute classified (in the unit of its name).
    bins : sequence of float
        Class bounds, ``len(colors) + 1`` increasing values (same unit as ``column``).
    colors : sequence of str
        ``#rrggbb`` colour of each class.
    labels : sequence of str
        Legend text of each class.
    geometry : {"polygon", "point", "line"}
        Geometry of the layer.
    no_data_label : str, optional
        When given, features without a value are drawn grey under this legend entry (the
        renderer then classifies ``coalesce(column, NO_DATA_VALUE)``).
    diverging : bool
        Classes of a scale centred on zero (negative classes exclude their upper edge, as
        :func:`geocarbon.classes.classify` does).
    attr : str, optional
        QGIS expression classified instead of ``column`` (it gives :data:`NO_DATA_VALUE`
        to the features of the ``no_data_label`` entry).
    no_data_color : str
        Colour of the ``no_data_label`` entry.

    Returns
    -------
    str
        The QML document.
    """
    _check_classes(bins, colors, labels)
    root = _root()
    renderer = _graduated_renderer(root, _classified_attribute(column, attr, no_data_label))
    entries = [(bins[k], bins[k + 1], colors[k], labels[k]) for k in range(len(colors))]
    if no_data_label is not None:
        entries.append((NO_DATA_VALUE, NO_DATA_VALUE, no_data_color, no_data_label))
    _add_ranges(renderer, entries, geometry, diverging=diverging)
    mode = ET.SubElement(renderer, "classificationMethod", {"id": "Manual"})
    ET.SubElement(mode, "symmetricMode", {"enabled": "0", "symmetrypoint": "0", "astride": "0"})
    ET.SubElement(
        mode, "labelFormat", {"format": "%1 - %2", "labelprecision": "4", "trimtrailingzeroes": "1"}
    )
    return _document(root)


def _check_classes(bins: Sequence[float], colors: Sequence[str], labels: Sequence[str]) -> None:
    """Refuse classes whose bounds, colours and labels do not match (``len(colors) + 1`` bounds)."""
    if len(bins) != len(colors) + 1 or len(labels) != len(colors):
        msg = f"{len(bins)} bounds, {len(colors)} colours and {len(labels)} labels do not make classes"
        raise ValueError(msg)


def _classified_attribute(column: str, attr: str | None, no_data_label: str | None) -> str:
    """The expression a graduated renderer classifies: ``attr``, else the quoted ``column``
    (with :data:`NO_DATA_VALUE` for a missing value when there is a no-data entry)."""
    if attr is not None:
        return attr
    attr = _quoted(column)
    if no_data_label is not None:
        attr = f"coalesce({attr}, {_number(NO_DATA_VALUE)})"
    return attr


def _graduated_renderer(root: ET.Element, attr: str) -> ET.Element:
    """Add a QGIS graduated-colour renderer classifying the expression ``attr`` to ``root``."""
    return ET.SubElement(
        root,
        "renderer-v2",
        {
            "type": "graduatedSymbol",
            "attr": attr,
            "graduatedMethod": "GraduatedColor",
            "forceraster": "0",
            "symbollevels": "0",
            "enableorderby": "0",
        },
    )


def _add_ranges(
    renderer: ET.Element,
    entries: Sequence[tuple[float, float, str, str]],
    geometry: Geometry,
    *,
    diverging: bool,
) -> None:
    """Add a range and its symbol to ``renderer`` for each ``(lower, upper, colour, label)``.

    Bounds are in the unit of the classified column; with ``diverging``, a negative class
    excludes its upper edge.
    """
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for k, (lower, upper, color, text) in enumerate(entries):
        if diverging and lower < upper <= 0:
            # a negative class excludes its upper edge (that value is in the next class);
            # QGIS puts a value in the first range holding it, edges included
            upper = math.nextafter(upper, -math.inf)
        ET.SubElement(
            ranges,
            "range",
            {
                "lower": _number(lower),
                "upper": _number(upper),
                "symbol": str(k),
                "label": text,
                "render": "true",
            },
        )
        _symbol(symbols, str(k), color, geometry)


def fixed_classes_expression(fixed: FixedClasses) -> str:
    """The QGIS expression classifying a feature as :meth:`FixedClasses.classify` does.

    It gives the value of ``fixed.column`` when the feature is in one of the classes, and
    :data:`OTHER_CLASS_VALUE` when it is in the other class (flagged, missing value unless
    ``missing_last``, value outside the bounds); a missing value counted in the last class
    gets :data:`OPEN_UPPER`.
    """
    col, flag = _quoted(fixed.column), _quoted(fixed.flag_column)
    other = _number(OTHER_CLASS_VALUE)
    flagged = (
        f"NOT coalesce({flag} = '', false)" if fixed.flag == "text" else f"coalesce({flag}, false)"
    )
    missing = _number(OPEN_UPPER) if fixed.missing_last else other
    inside = f"{col} {'>=' if fixed.lowest_inclusive else '>'} {_number(fixed.bins[0])}"
    if math.isfinite(fixed.bins[-1]):
        inside += f" AND {col} <= {_number(fixed.bins[-1])}"
    return (
        f"CASE WHEN {flagged} THEN {other} WHEN {col} IS NULL THEN {missing} "
        f"WHEN {inside} THEN {col} ELSE {other} END"
    )


def fixed_classes_qml(
    fixed: FixedClasses,
    *,
    geometry: Geometry,
    language: Language = "fr",
    other_suffix: str = "",
) -> str:
    """A QML style drawing a layer in the fixed classes the maps use (QGIS graduated renderer).

    Parameters
    ----------
    fixed : FixedClasses
        The classes (bounds in the unit of ``fixed.column``), e.g.
        :data:`geocarbon.classes.PV_BUILDING_CLASSES`.
    geometry : {"polygon", "point", "line"}
        Geometry of the layer.
    language : {"fr", "en"}
        Language of the legend labels.
    other_suffix : str
        Text after the other class's label (the white zone's distance), as on the map.

    Returns
    -------
    str
        The QML document: one range per class, bounds ``bins[k]`` to ``bins[k + 1]`` (an open
        upper bound written as :data:`OPEN_UPPER`), then the other class. QGIS draws a value
        with the first range holding it (bounds included); the expression
        (:func:`fixed_classes_expression`) leaves out the values the first class does not
        hold, so each feature gets the class and colour it has on the map.
    """
    bins = [b if math.isfinite(b) else OPEN_UPPER for b in fixed.bins]
    return graduated_qml(
        fixed.column,
        bins,
        list(fixed.colors),
        fixed.labels(language),
        geometry=geometry,
        no_data_label=fixed.other_label(language, other_suffix),
        attr=fixed_classes_expression(fixed),
        no_data_color=fixed.other_color,
    )


def single_symbol_qml(color: str, *, geometry: Geometry) -> str:
    """A QML style drawing every feature of a layer with one symbol (a layer none of whose
    figures has a value, e.g. charging points of unknown power)."""
    root = _root()
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {"type": "singleSymbol", "forceraster": "0", "symbollevels": "0", "enableorderby": "0"},
    )
    _symbol(ET.SubElement(renderer, "symbols"), "0", color, geometry)
    return _document(root)


def raster_qml(
    bins: Sequence[float],
    colors: Sequence[str],
    labels: Sequence[str],
    *,
    band: int = 1,
    diverging: bool = False,
) -> str:
    """A QML style for a single-band GeoTIFF: discrete colour classes (QGIS pseudocolour).

    Parameters
    ----------
    bins : sequence of float
        Class bounds (unit of the band), ``len(colors) + 1`` increasing values; the first
        and last classes are open so every pixel outside the bounds is still coloured.
    colors, labels : sequence of str
        ``#rrggbb`` colour and legend text of each class.
    band : int
        Band drawn.
    diverging : bool
        Classes of a scale centred on zero (negative classes exclude their upper edge).

    Returns
    -------
    str
        The QML document.
    """
    _check_classes(bins, colors, labels)
    root = _root()
    shader = _pseudocolor_shader(root, bins, band)
    uppers = _raster_class_uppers(bins, diverging)
    for upper, color, text in zip(uppers, colors, labels, strict=True):
        ET.SubElement(
            shader,
            "item",
            {"value": _number(upper), "color": color.lower(), "alpha": "255", "label": text},
        )
    return _document(root)


def _pseudocolor_shader(root: ET.Element, bins: Sequence[float], band: int) -> ET.Element:
    """Add a discrete single-band pseudocolour renderer of ``band`` to ``root``; return its
    colour-ramp shader (classification from ``bins[0]`` to ``bins[-1]``, unit of the band)."""
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(
        pipe,
        "rasterrenderer",
        {
            "type": "singlebandpseudocolor",
            "band": str(band),
            "opacity": "1",
            "alphaBand": "-1",
            "classificationMin": _number(bins[0]),
            "classificationMax": _number(bins[-1]),
            "nodataColor": "",
        },
    )
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader")
    shader.attrib.update(
        {
            "colorRampType": "DISCRETE",
            "classificationMode": "1",
            "clip": "0",
            "minimumValue": _number(bins[0]),
            "maximumValue": _number(bins[-1]),
        }
    )
    return shader


def _raster_class_uppers(bins: Sequence[float], diverging: bool) -> list[float]:
    """The upper value of each raster class (unit of the band); the last class is open.

    With ``diverging``, a negative class excludes its upper edge (QGIS gives a pixel the
    first class whose upper value is at least the pixel's).
    """
    uppers = [*bins[1:-1], math.inf]
    if diverging:
        uppers = [
            math.nextafter(u, -math.inf) if lo < u <= 0 else u
            for lo, u in zip(bins[:-1], uppers, strict=True)
        ]
    return uppers


def _classes(
    values: Any, diverging: bool, colors: Sequence[str] | None = None, language: Language = "fr"
) -> Any:
    from geocarbon.classes import layer_classes

    return layer_classes(
        np.asarray(values, dtype=float), diverging=diverging, colors=colors, lang=language
    )


def _no_data_label(language: Language) -> str:
    return label("no_data", language)


def layer_styles(
    layers: dict[str, pd.DataFrame],
    *,
    language: Language = "fr",
    geometry_columns: dict[str, str] | None = None,
    white_zone_m: float | None = None,
) -> list[LayerStyle]:
    """The QGIS styles of the spatial layers of a GeoPackage, classed as on the maps.

    Every figure of :data:`LAYER_FIGURES` a layer holds with at least one value gets a style
    named after it; the first is the layer's default.

    Parameters
    ----------
    layers : dict of str to DataFrame
        The layers as written (attribute-only tables are skipped).
    language : {"fr", "en"}
        Language of style names and legends.
    geometry_columns : dict of str to str, optional
        Geometry column of each layer in the file (``geom`` when not given).
    white_zone_m : float, optional
        White-zone distance [m] of the charging run, shown after the white zone's label as
        on the charging map.

    Returns
    -------
    list of LayerStyle
    """
    import geopandas as gpd

    styles: list[LayerStyle] = []
    for table, frame in layers.items():
        if not isinstance(frame, gpd.GeoDataFrame) or table not in LAYER_FIGURES:
            continue
        geometry = _geometry_kind(frame)
        if geometry is None:
            continue
        geometry_column = (geometry_columns or {}).get(table, "geom")
        styles += _table_styles(
            table, frame, geometry, geometry_column, language=language, white_zone_m=white_zone_m
        )
    return styles


def _table_styles(
    table: str,
    frame: pd.DataFrame,
    geometry: Geometry,
    geometry_column: str,
    *,
    language: Language,
    white_zone_m: float | None,
) -> list[LayerStyle]:
    """The styles of one layer: one per figure of :data:`LAYER_FIGURES` it holds with a value
    (the first is the default), or one symbol when it holds none.

    ``white_zone_m`` [m] is the charging run's white-zone distance (shown after the white
    zone's label).
    """
    styles: list[LayerStyle] = []
    for spec in LAYER_FIGURES[table]:
        if spec.column not in frame.columns:
            continue
        if spec.fixed is not None:
            # the map's fixed classes, whatever the values
            suffix = white_zone_suffix(white_zone_m, language)
            name = label(spec.fixed.title_id, language)
            qml = fixed_classes_qml(
                spec.fixed,
                geometry=geometry,
                language=language,
                other_suffix=suffix if spec.fixed is ACCESS_CLASSES else "",
            )
            description = name
        else:
            graduated = _graduated_style(spec, frame[spec.column], geometry, language)
            if graduated is None:
                continue
            name, qml, description = graduated
        styles.append(
            LayerStyle(
                table=table,
                geometry_column=geometry_column,
                name=name,
                qml=qml,
                default=not styles,
                description=description,
            )
        )
    if not styles:
        styles.append(_no_value_style(table, geometry, geometry_column, language))
    return styles


def _no_value_style(
    table: str, geometry: Geometry, geometry_column: str, language: Language
) -> LayerStyle:
    """The style of a layer none of whose figures has a value: one symbol, in the no-data
    colour, named after the layer's first figure."""
    spec = LAYER_FIGURES[table][0]
    name = f"{label(spec.column, language, unit=True)} — {_no_data_label(language)}"
    return LayerStyle(
        table=table,
        geometry_column=geometry_column,
        name=name,
        qml=single_symbol_qml(NO_DATA_COLOR, geometry=geometry),
        default=True,
        description=name,
    )


def _graduated_style(
    spec: StyleSpec, column: pd.Series, geometry: Geometry, language: Language
) -> tuple[str, str, str] | None:
    """A figure's style in classes of its values, as on the maps (unit of ``spec.column``).

    Returns
    -------
    (name, qml, description) or None
        None when no value of the column is a finite number.
    """
    values = pd.to_numeric(column, errors="coerce").astype(float)
    if not np.isfinite(values.to_numpy()).any():
        return None
    colors = spec.colors or palette(spec.column)
    classes = _classes(values.to_numpy(), spec.diverging, colors, language)
    missing = bool(values.isna().any())
    qml = graduated_qml(
        spec.column,
        list(classes.bins),
        list(classes.colors),
        list(classes.labels),
        geometry=geometry,
        no_data_label=_no_data_label(language) if missing else None,
        diverging=bool(classes.diverging),
    )
    name = label(spec.column, language, unit=True)
    description = name + (f" — {classes.note}" if getattr(classes, "note", "") else "")
    return name, qml, description


def _geometry_kind(frame: Any) -> Geometry | None:
    kinds = set(frame.geometry.dropna().geom_type)
    if not kinds:
        return None
    if kinds <= {"Polygon", "MultiPolygon"}:
        return "polygon"
    if kinds <= {"Point", "MultiPoint"}:
        return "point"
    if kinds <= {"LineString", "MultiLineString"}:
        return "line"
    return None


def band_classes(values: Any, *, diverging: bool, language: Language = "fr") -> Any:
    """Classes of a raster band's values (a sample of them: an overview), as on the maps."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return _classes(finite, diverging, None, language)
