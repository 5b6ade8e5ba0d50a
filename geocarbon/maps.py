"""Interactive Folium maps (no computation: they show what the pipeline computed)."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from geocarbon.classes import (
    NO_DATA,
    Classes,
    classify,
    layer_classes,
    palette,
    round_sig,
)
from geocarbon.io.map_assets import read_map_asset
from geocarbon.labels import Language, label

if TYPE_CHECKING:  # Folium is imported when a map is made (geocarbon.maps_folium)
    import folium
    from branca.element import Element

    from geocarbon.maps_folium import PointsLayer as PointsLayer


def __getattr__(name: str) -> Any:
    """:class:`geocarbon.maps_folium.PointsLayer` (imported with Folium when first asked for)."""
    if name == "PointsLayer":
        from geocarbon.maps_folium import PointsLayer

        return PointsLayer
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


@dataclass(frozen=True)
class ChoroplethLayer:
    """One choropleth layer: a column, its title and colour scale."""

    column: str
    title: str
    colors: Sequence[str] | None = None
    """Sequential palette, light to dark; default: the figure's (:func:`geocarbon.classes.palette`)."""
    fmt: str = "{:,.0f}"
    """Unused (legend labels come from :func:`geocarbon.classes.layer_classes`); kept for callers."""
    diverging: bool = False
    """Classes symmetric around zero: red for negative values, blue for positive ones."""


def _deterministic_ids(html: str, ids: set[str]) -> str:
    """Replace Folium's random element ids (``ids``, 32 hex digits) by sequential ones (same
    map → same file); other hex strings (e.g. an id in the data) are left as they are.

    An id is replaced where it stands alone (no hex digit either side), numbered in the order
    of its first such place in the page: the text of matching every run of 32 hex digits (tested against it), found by
    searching each id instead of matching every run of hex digits of the page.
    """
    places: list[tuple[int, str]] = []
    for key in ids:
        if len(key) != 32 or not _HEX_ID.fullmatch(key):
            continue
        start = html.find(key)
        while start >= 0:
            end = start + 32
            if (start == 0 or html[start - 1] not in _HEX) and html[end : end + 1] not in _HEX:
                places.append((start, key))
            start = html.find(key, end)
    places.sort()
    mapping: dict[str, str] = {}
    pieces = []
    done = 0
    for start, key in places:
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        pieces += [html[done:start], mapping[key]]
        done = start + 32
    pieces.append(html[done:])
    return "".join(pieces)


#: The hex digits of Folium's ids, and an id.
_HEX = frozenset("0123456789abcdef")
_HEX_ID = re.compile(r"[0-9a-f]{32}")


def _element_ids(element: Element) -> set[str]:
    """Random ids of an element and of all its descendants."""
    ids = {element._id}
    for child in element._children.values():
        ids |= _element_ids(child)
    return ids


# Text from input data (commune names, building ids, charging point ids...) never becomes HTML:
# feature properties travel as JSON (Jinja's ``tojson`` escapes ``<``, ``>``, ``&`` and ``'``,
# so no value can end the ``<script>``), and tooltips and popups are built with DOM nodes
# whose ``textContent`` receives the values (never ``innerHTML``). Every map of geocarbon goes
# through :func:`choropleth_map`, which uses only these building blocks.

#: Global JS function ``geocarbonDetails(fields, aliases, skipEmpty)``: a tooltip or popup
#: content function (``layer → <div><table>``) that sets every label and value as text.
_DETAILS_JS = """<script>
// numbers for reading, in the map's language (window.geocarbonLocale): 3 significant digits,
// or no decimals with thousands separators from 1,000
window.geocarbonNumber = function (value) {
    var big = Math.abs(value) >= 1000;
    return value.toLocaleString(window.geocarbonLocale || "fr-FR", big ? {maximumFractionDigits: 0}
        : {maximumSignificantDigits: 3});
};
window.geocarbonDetails = function (fields, aliases, skipEmpty) {
    return function (layer) {
        var props = (layer.feature && layer.feature.properties) || {};
        var div = document.createElement("div");
        var table = document.createElement("table");
        div.appendChild(table);
        for (var i = 0; i < fields.length; i++) {
            var value = props[fields[i]];
            if (value === null || value === undefined || (typeof value === "number" && !isFinite(value))) {
                value = "";  // no data is shown empty, never "NaN"
            }
            if (skipEmpty && value === "") { continue; }
            var tr = document.createElement("tr");
            var th = document.createElement("th");
            var td = document.createElement("td");
            th.textContent = String(aliases[i]);
            td.textContent = typeof value === "number" ? geocarbonNumber(value)
                : typeof value === "object" ? JSON.stringify(value) : String(value);
            tr.appendChild(th);
            tr.appendChild(td);
            table.appendChild(tr);
        }
        return div;
    };
};
</script>
"""


def _render_page(fmap: folium.Map) -> str:
    """The page's HTML, each element's Jinja template rendered once, element ids sequential.

    Branca renders every element into a plain ``Element`` whose text it then renders again as a
    Jinja template when the page is assembled: ``{{ ... }}`` in a commune name would be
    evaluated (and could run Python). Here the rendered texts are kept literal.
    """
    from branca.element import Element

    from geocarbon.maps_folium import _Raw, _Rendered, rendered_as_text

    root = fmap.get_root()
    with rendered_as_text():
        for child in list(root._children.values()):
            child.render()
    for part in (root.header, root.html, root.script):  # type: ignore[attr-defined]
        for name, child in list(part._children.items()):
            if type(child) in (Element, _Rendered) and child._template_str is not None:
                part._children[name] = _Raw(child._template_str)
    page = root._template.render(this=root, kwargs={})
    return _deterministic_ids(page, _element_ids(root))


#: Locale of the numbers shown in the tooltips and popups, per map language.
LOCALES = {"fr": "fr-FR", "en": "en-GB"}


def _offline_assets(
    fmap: folium.Map, extra_assets: Sequence[str] = (), lang: Language = "fr"
) -> None:
    """Inline the shipped Leaflet (and ``extra_assets``) in the page instead of Folium's CDN
    links (jQuery, Bootstrap, Font Awesome... are not used and left out); numbers in the
    tooltips follow ``lang``."""
    from geocarbon.maps_folium import _Raw

    fmap.default_js = []
    fmap.default_css = []
    root = fmap.get_root()
    names = ["leaflet.css", "leaflet.js", *extra_assets]
    for index, name in enumerate(names):
        tag = "style" if name.endswith(".css") else "script"
        root.header.add_child(  # type: ignore[attr-defined]
            _Raw(f"<{tag}>/* {name} (geocarbon/maps_lib) */\n{read_map_asset(name)}</{tag}>\n"),
            name=f"geocarbon_{name}",
            index=index,
        )
    locale = f"<script>window.geocarbonLocale = {_js(LOCALES[lang])};</script>\n"
    root.header.add_child(_Raw(locale + _DETAILS_JS), name="geocarbon_details", index=len(names))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Overlay:
    """Extra polygons shown above the choropleths, coloured by a class column."""

    name: str
    frame: gpd.GeoDataFrame
    class_column: str
    colors: dict[str, str]
    tooltip_fields: Sequence[tuple[str, str]] = ()
    focus: bool = False
    """Open the map on this overlay's extent (e.g. the buildings of a PV map) rather than on
    the communes'."""
    show: bool = True
    """Shown at opening; when False the overlay is only listed in the layer control (ticked
    by the reader), its legend hidden until then."""


def labelled(columns: Sequence[str], lang: Language = "fr") -> list[tuple[str, str]]:
    """Tooltip fields ``(column, display name with unit)`` of ``columns``, names from
    :func:`geocarbon.labels.label` in ``lang``."""
    return [(c, label(c, lang, unit=True)) for c in columns]


def commune_tooltip(
    frame: pd.DataFrame, fields: Sequence[tuple[str, str]], lang: Language = "fr"
) -> list[tuple[str, str]]:
    """Tooltip fields of a commune map: name, INSEE code, EPCI name (when known), then
    ``fields``; names in ``lang``."""
    head = [
        ("commune_name", label("commune_name", lang)),
        ("commune_code", label("commune_code", lang)),
    ]
    if "epci_name" in frame.columns:
        head.append(("epci_name", label("epci_name", lang)))
    return [*head, *fields]


def map_title(territory: str, text: str, lang: Language = "fr") -> str:
    """A map's title: the territory's name, then what the map shows (``text``, in ``lang``;
    French puts a space before the colon)."""
    return f"{territory}{' :' if lang == 'fr' else ':'} {text}"


#: Decimal places of the coordinates written in the maps [degrees]: 1e-5° ≈ 1 m, well below
#: the simplification tolerance.
COORD_DECIMALS = 5

#: Basemap tiles (the only thing a map fetches; optional: without network the map shows its
#: layers on a plain background and says why the background is missing).
TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
"""The note shown when the background tiles fail to load (English; each map shows it in its
language: ``label("map_offline_note", lang)``)."""


#: The JSON encoder of the maps' data: compact, non-ASCII kept, no NaN.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _js(value: Any) -> str:
    """``value`` as JSON that cannot end a ``<script>`` (``<``, ``>``, ``&``, ``'`` escaped,
    as Jinja's ``tojson`` does)."""
    return _script_safe(_ENCODER.encode(value))


def _script_safe(text: str) -> str:
    """JSON ``text`` with ``<``, ``>``, ``&``, ``'`` and the JavaScript line separators escaped."""
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _reading_value(value: Any) -> Any:
    """A property value as shown: floats rounded for reading (4 significant digits, no
    decimals from 1,000; the tooltip shows 3), NaN → None (shown empty), numpy → Python."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not np.isfinite(v):
            return None
        if abs(v) >= 1000:
            return round(v)
        return round_sig(v, 4)
    if pd.isna(value):
        return None
    return str(value)


def _collection_js(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> str:
    """A GeoJSON FeatureCollection (WGS 84) of ``frame`` with ``columns`` as properties,
    coordinates rounded to :data:`COORD_DECIMALS`, values rounded for reading, as
    script-safe JSON text (:func:`_js` of the collection built feature by feature, the same
    text), made column by column: property values converted per column
    (:func:`_reading_values`), each geometry's GeoJSON from its coordinates at once
    (:func:`_geometry_texts`, kept for the next map of the same polygons).
    """
    columns = list(columns)
    values = [_reading_values(frame[c]) for c in columns]
    geometries = _geometry_texts(frame.geometry.to_numpy())
    features = [
        '{"type":"Feature","properties":'
        + _ENCODER.encode(dict(zip(columns, row, strict=True)))
        + ',"geometry":'
        + geometry
        + "}"
        for row, geometry in zip(
            zip(*values, strict=True) if columns else [()] * len(frame), geometries, strict=True
        )
    ]
    # escaped as a whole, as _js escapes the collection's text
    return _script_safe('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}")


def _reading_values(column: pd.Series) -> list[Any]:
    """``[_reading_value(v) for v in column]``, numeric columns converted at once."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind in "iub":
        return column.to_numpy().tolist()  # Python ints and bools, as _reading_value gives
    if kind == "f":
        return [_reading_float(v) for v in column.to_numpy(dtype=float).tolist()]
    return [_reading_value(v) for v in column.tolist()]


def _reading_float(value: float) -> float | int | None:
    """:func:`_reading_value` of a Python float."""
    if not math.isfinite(value):
        return None
    if abs(value) >= 1000:
        return round(value)
    return round_sig(value, 4)


#: Each geometry's GeoJSON text made last by :func:`_geometry_texts`: (the geometries, texts).
_LAST_TEXTS: list[tuple[list[Any], list[str]]] = []


def _geometry_texts(geometries: np.ndarray) -> list[str]:
    """Each geometry's GeoJSON as JSON text, coordinates rounded to :data:`COORD_DECIMALS`:
    ``_js(shapely.geometry.mapping(g))`` of the geometries rounded.

    Polygons and multipolygons are written from their rings' coordinates taken at once;
    other geometries (and empty ones) through :func:`shapely.geometry.mapping`. The texts of
    the last geometries are kept: the maps of a run show the same polygons (shapely's
    geometries do not change, so the very same objects have the same text).
    """
    shapes = list(geometries)
    last = _LAST_TEXTS[0] if _LAST_TEXTS else None
    if (
        last is not None
        and len(last[0]) == len(shapes)
        and all(a is b for a, b in zip(last[0], shapes, strict=True))
    ):
        return last[1]
    texts = _polygon_texts(geometries)
    for i, shape in enumerate(shapes):
        if texts[i] is None:
            rounded = shapely.transform(shape, lambda xy: np.round(xy, COORD_DECIMALS))
            texts[i] = _ENCODER.encode(shapely.geometry.mapping(rounded))
    done = [str(t) for t in texts]
    _LAST_TEXTS[:] = [(shapes, done)]
    return done


def _polygon_texts(geometries: np.ndarray) -> list[str | None]:
    """The GeoJSON text of each non-empty polygon or multipolygon without empty parts
    (coordinates rounded to :data:`COORD_DECIMALS`); None for the other geometries."""
    texts: list[str | None] = [None] * len(geometries)
    types = shapely.get_type_id(geometries)
    chosen = np.flatnonzero(((types == 3) | (types == 6)) & ~shapely.is_empty(geometries))
    parts, owner = shapely.get_parts(geometries[chosen], return_index=True)
    empty = np.unique(owner[shapely.is_empty(parts)])
    if len(empty):  # a multipolygon with an empty part: written by shapely
        chosen = np.delete(chosen, empty)
        parts, owner = shapely.get_parts(geometries[chosen], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords = np.round(shapely.get_coordinates(rings), COORD_DECIMALS).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    ring_lists: list[list[Any]] = [[] for _ in range(len(parts))]
    start = 0
    for part, end in zip(ring_part.tolist(), ends, strict=True):
        ring_lists[part].append(coords[start:end])
        start = end
    shape_parts: list[list[Any]] = [[] for _ in range(len(chosen))]
    for part, index in enumerate(owner.tolist()):
        shape_parts[index].append(ring_lists[part])
    for index, multi, polygons in zip(
        chosen.tolist(), (types[chosen] == 6).tolist(), shape_parts, strict=True
    ):
        if multi:
            texts[index] = '{"type":"MultiPolygon","coordinates":' + _ENCODER.encode(polygons) + "}"
        else:
            texts[index] = '{"type":"Polygon","coordinates":' + _ENCODER.encode(polygons[0]) + "}"
    return texts


def _swatch(color: str) -> str:
    return (
        f'<span style="display:inline-block;width:14px;height:10px;background:{color};'
        'border:1px solid #777;margin-right:5px;vertical-align:middle"></span>'
    )


def _legend_box(
    key: str, title: str, rows: Sequence[tuple[str, str]], note: str = "", note_key: str = ""
) -> str:
    """A legend (hidden until its layer is shown): title, one swatch and label per class."""
    body = "".join(f"<div>{_swatch(c)}{html.escape(label)}</div>" for c, label in rows)
    if note:
        body += f'<div style="font-style:italic">{html.escape(note)}</div>'
    return (
        f'<div class="geocarbon-legend" data-layer="{key}" data-note="{html.escape(note_key)}" '
        'style="display:none;background:white;'
        "padding:6px 8px;border-radius:4px;box-shadow:0 0 4px #888;font:12px sans-serif;"
        f'max-width:260px"><b>{html.escape(title)}</b>{body}</div>'
    )


def _choropleth_legend(
    key: str, layer: ChoroplethLayer, classes: Classes, has_nan: bool, lang: Language = "fr"
) -> str:
    rows = list(zip(classes.colors, classes.labels, strict=True))
    note_ids = {"no change": "no_change_note", "single value": "single_value_note"}
    note = label(note_ids.get(classes.note, "no_data"), lang) if classes.note else ""
    if has_nan:
        rows.append((NO_DATA, label("no_data", lang)))
    return _legend_box(key, layer.title, rows, note, classes.note)


_LAYERS_JS = """
(function () {
    var map = %(map)s;
    var legendControl = L.control({position: "bottomleft"});
    legendControl.onAdd = function () {
        var box = L.DomUtil.create("div", "geocarbon-legends");
        document.querySelectorAll(".geocarbon-legend").forEach(function (el) { box.appendChild(el); });
        L.DomEvent.disableClickPropagation(box);
        return box;
    };
    legendControl.addTo(map);
    L.control.scale({imperial: false}).addTo(map);  // metric only (km, m)
    function showLegend(layer, shown) {
        var key = layer && layer.geocarbonKey;
        if (!key) { return; }
        document.querySelectorAll(".geocarbon-legend").forEach(function (el) {
            if (el.getAttribute("data-layer") === key) { el.style.display = shown ? "block" : "none"; }
        });
    }
    // the legend follows the layers shown (a radio choice swaps the choropleth's legend)
    map.on("layeradd", function (e) { showLegend(e.layer, true); });
    map.on("layerremove", function (e) { showLegend(e.layer, false); });
    var tiles = L.tileLayer(%(tiles_url)s, {maxZoom: 19, attribution: %(tiles_attribution)s});
    var warned = false;
    tiles.on("tileerror", function () {
        if (warned) { return; }
        warned = true;
        var note = document.getElementById("geocarbon-offline-note");
        if (note) { note.style.display = "block"; }
    });
    var bases = {}, overlays = {};
    %(layers)s
    overlays[%(tiles_name)s] = tiles;
    tiles.addTo(map);
    L.control.layers(bases, overlays, {collapsed: false, position: "topright"}).addTo(map);
})();
"""


def _choropleth_js(name: str, data: str, key: str, colors: list[str], tips: str) -> str:
    return f"var {name} = window.{name} = geocarbonChoropleth({data}, {_js(key)}, {_js(colors)}, {_js(NO_DATA)}, {tips});\n"


_HELPERS_JS = """<script>
// a choropleth: the shared features restyled by one class column (class index per feature)
window.geocarbonChoropleth = function (data, key, colors, noData, tips) {
    var layer = L.geoJSON(data, {
        style: function (feature) {
            var k = feature.properties[key];
            var fill = (k === null || k === undefined || k < 0) ? noData : colors[k];
            return {fillColor: fill, color: "#555555", weight: 0.6, fillOpacity: 0.75};
        },
        onEachFeature: function (feature, item) {
            item.on("mouseover", function () { item.setStyle({weight: 2.5, color: "#000000"}); });
            item.on("mouseout", function () { layer.resetStyle(item); });
        }
    });
    if (tips) { layer.bindTooltip(geocarbonDetails(tips[0], tips[1], false), {sticky: true}); }
    return layer;
};
// polygons coloured by a class name (hot spots, buildings, population cells)
window.geocarbonClassed = function (data, column, colors, tips) {
    var layer = L.geoJSON(data, {
        style: function (feature) {
            var c = colors[feature.properties[column]] || "#000000";
            return {fillColor: c, color: c, weight: 0.5, fillOpacity: 0.8};
        }
    });
    if (tips) { layer.bindTooltip(geocarbonDetails(tips[0], tips[1], false), {sticky: true}); }
    return layer;
};
</script>
"""


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float]]:
    minx, miny, maxx, maxy = frame.total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def choropleth_map(
    frame: gpd.GeoDataFrame,
    layers: Sequence[ChoroplethLayer],
    *,
    title: str,
    tooltip_fields: Sequence[tuple[str, str]],
    simplify_m: float = 20.0,
    overlays: Sequence[Overlay] = (),
    extra: Any = None,
    lang: Language = "fr",
) -> str:
    """A map with exclusive choropleths (one shown at a time), their legends and tooltips.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons (communes or EPCIs; any CRS, shown in WGS 84) with the mapped columns.
    layers : sequence of ChoroplethLayer
        Choropleths, chosen with radio buttons (the first is shown at opening); their classes
        come from :func:`geocarbon.classes.layer_classes`. The polygons are written once in
        the page and shared by every choropleth (each holds only its class index).
    title : str
        Shown in the page's title block (plain text: it is escaped here).
    tooltip_fields : sequence of (column, label)
        Fields shown when hovering a polygon, numbers rounded for reading. Values are set as
        text, never as HTML: input text (commune names...) cannot inject markup or script.
    simplify_m : float
        Tolerance [m] of the geometry simplification (keeps files small).
    overlays : sequence of Overlay
        Polygons shown above the choropleths, each switchable with its own legend (their
        tooltips are set as text too). An overlay with ``focus`` sets the opening extent.
    extra : folium element, optional
        A layer such as :class:`PointsLayer` (shown, switchable); the shipped libraries named
        in its ``assets`` attribute are inlined in the page.
    lang : {"fr", "en"}
        Language of the page's own texts (background layer, offline note, "no data" and other
        legend notes) and number format of the legends and tooltips; titles, layer names and
        field names are given by the caller in that language (from :mod:`geocarbon.labels`).

    Returns
    -------
    str
        A standalone HTML page that works offline: Leaflet and the other libraries are
        inlined from ``geocarbon/maps_lib``; only the optional background tiles need network
        (without it, a note says so and the layers show on a plain background).
    """
    from geocarbon.maps_folium import _Script

    shown = _frame_for_map(frame, simplify_m)
    fmap = _new_map()
    focus = next((o for o in overlays if o.focus and len(o.frame)), None)
    fmap.fit_bounds(_bounds(focus.frame.to_crs("EPSG:4326") if focus else shown))
    parts, legends = _choropleth_scripts(shown, layers, tooltip_fields, lang)
    overlay_parts, overlay_legends = _overlay_scripts(overlays)
    parts += overlay_parts
    if extra is not None:
        parts.append(_add_extra(fmap, extra))
    _Script(_layers_code(fmap, parts, lang)).add_to(fmap)
    legends += overlay_legends
    return _finished_page(fmap, title, legends, getattr(extra, "assets", ()), lang)


def _new_map() -> folium.Map:
    """An empty Folium map (Folium is imported here, by the first map a run makes)."""
    import folium

    return folium.Map(tiles=None, control_scale=False, maxZoom=19, zoomSnap=0.25)


def simplified_geometry(geometry: gpd.GeoSeries, simplify_m: float) -> gpd.GeoSeries:
    """``geometry`` simplified with tolerance ``simplify_m`` [m] (topology of each shape kept),
    as the interactive maps and the report's static maps show it; unchanged when the
    tolerance is 0 or the CRS is not projected (not in metres).

    Parameters
    ----------
    geometry : GeoSeries
        Polygons or lines, any CRS.
    simplify_m : float
        Tolerance [m] (``cfg.maps.simplify_m``).
    """
    if simplify_m > 0 and geometry.crs is not None and geometry.crs.is_projected:
        return geometry.simplify(simplify_m, preserve_topology=True)
    return geometry


def _frame_for_map(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    """A copy of ``frame`` simplified with tolerance ``simplify_m`` [m] (when projected), in WGS 84.

    The maps of a run show the same polygons (the carbon stocks and flows maps, the
    communes): the last geometry simplified and projected is kept (:data:`_LAST_SHOWN`) and
    used again when the next map gives the very same geometry array and tolerance.
    """
    source = frame.geometry.values
    last = _LAST_SHOWN[0] if _LAST_SHOWN else None
    if last is not None and last[0] is source and last[1] == simplify_m:
        geometry = last[2]
    else:
        geometry = simplified_geometry(frame.geometry, simplify_m)
        if frame.crs is not None:
            geometry = geometry.to_crs("EPSG:4326")
        _LAST_SHOWN[:] = [(source, simplify_m, geometry)]
    shown = frame.copy()
    shown[frame.geometry.name] = geometry.values  # row by row, as the frame's own
    return shown.set_crs(geometry.crs, allow_override=True)


#: The last geometry :func:`_frame_for_map` made: (the frame's geometry array, tolerance [m],
#: the simplified geometry in WGS 84).
_LAST_SHOWN: list[tuple[Any, float, gpd.GeoSeries]] = []


def _choropleth_scripts(
    shown: gpd.GeoDataFrame,
    layers: Sequence[ChoroplethLayer],
    tooltip_fields: Sequence[tuple[str, str]],
    lang: Language,
) -> tuple[list[str], list[str]]:
    """The JavaScript of the choropleths and their legends (HTML).

    The polygons and tooltip fields are written once (``geocarbon_zones``) with one class
    index column per choropleth (``_k0``, ``_k1``...; -1 for no data); the first choropleth
    is shown at opening.

    Returns
    -------
    parts : list of str
        JavaScript statements, in the order they run.
    legends : list of str
        One legend box per choropleth.
    """
    fields = [c for c, _ in tooltip_fields]
    tips = _js([fields, [lbl for _, lbl in tooltip_fields]])
    props = shown[[*dict.fromkeys(fields)]].copy()
    legends = []
    scripts = []
    for i, layer in enumerate(layers):
        values = shown[layer.column].to_numpy(dtype=float)
        classes = layer_classes(
            values,
            diverging=layer.diverging,
            colors=layer.colors or palette(layer.column),
            lang=lang,
        )
        k = classify(values, classes)
        props[f"_k{i}"] = pd.array(np.where(k >= 0, k, -1), dtype="int64")
        key = f"choropleth_{i}"
        legends.append(_choropleth_legend(key, layer, classes, bool(np.isnan(values).any()), lang))
        scripts.append((key, layer.title, classes.colors))
    data = _collection_js(gpd.GeoDataFrame(props, geometry=shown.geometry), list(props.columns))
    parts = [f"var geocarbon_zones = window.geocarbon_zones = {data};"]
    for i, (key, name, colors) in enumerate(scripts):
        var = f"geocarbon_{key}"
        parts.append(_choropleth_js(var, "geocarbon_zones", f"_k{i}", colors, tips))
        parts.append(f"{var}.geocarbonKey = {_js(key)}; bases[{_js(name)}] = {var};")
        if i == 0:
            parts.append(f"{var}.addTo(map);")
    return parts, legends


def _overlay_scripts(overlays: Sequence[Overlay]) -> tuple[list[str], list[str]]:
    """The JavaScript of the overlays (polygons coloured by class, in WGS 84) and their legends.

    Returns
    -------
    parts : list of str
        JavaScript statements, in the order they run.
    legends : list of str
        One legend box per overlay.
    """
    parts = []
    legends = []
    for j, overlay in enumerate(overlays):
        ov = overlay.frame.to_crs("EPSG:4326") if overlay.frame.crs is not None else overlay.frame
        cols = [*dict.fromkeys([overlay.class_column, *[c for c, _ in overlay.tooltip_fields]])]
        var, key = f"geocarbon_overlay_{j}", f"overlay_{j}"
        ov_tips = (
            _js(
                [[c for c, _ in overlay.tooltip_fields], [lbl for _, lbl in overlay.tooltip_fields]]
            )
            if overlay.tooltip_fields
            else "null"
        )
        parts.append(
            f"var {var} = window.{var} = geocarbonClassed({_collection_js(ov, cols)}, "
            f"{_js(overlay.class_column)}, {_js(overlay.colors)}, {ov_tips});"
        )
        parts.append(
            f"{var}.geocarbonKey = {_js(key)}; overlays[{_js(overlay.name)}] = {var};"
            + (f" {var}.addTo(map);" if overlay.show else "")
        )
        legends.append(
            _legend_box(key, overlay.name, [(c, lbl) for lbl, c in overlay.colors.items()])
        )
    return parts, legends


def _add_extra(fmap: folium.Map, extra: Any) -> str:
    """Add the ``extra`` layer to the map; return the statement showing it in the layer control."""
    extra.add_to(fmap)
    name = getattr(extra, "layer_name", None) or "Points"
    # Folium adds the layer to the map; shown in the control here
    return f"overlays[{_js(name)}] = {extra.get_name()};"


def _layers_code(fmap: folium.Map, parts: list[str], lang: Language) -> str:
    """The script run once the map exists: legends, scale, background tiles, layers and control."""
    return _LAYERS_JS % {
        "map": fmap.get_name(),
        "tiles_url": _js(TILES_URL),
        "tiles_attribution": _js(TILES_ATTRIBUTION),
        "tiles_name": _js(label("map_background", lang)),
        "layers": "\n    ".join(parts),
    }


def _finished_page(
    fmap: folium.Map, title: str, legends: list[str], assets: Sequence[str], lang: Language
) -> str:
    """The standalone page: title block, legends, inlined libraries (``assets`` too), page title.

    ``title`` is plain text (escaped here); ``lang`` is set on the ``<html>`` element.
    """
    from geocarbon.maps_folium import _Raw

    heading = (
        '<div style="position:fixed;top:10px;left:60px;z-index:9999;background:white;'
        "padding:6px 10px;border-radius:4px;box-shadow:0 0 4px #888;font:14px sans-serif;"
        'max-width:60%">'
        f"<b>{html.escape(title)}</b>"
        '<div id="geocarbon-offline-note" style="display:none;font-size:12px;color:#555">'
        f"{html.escape(label('map_offline_note', lang))}</div></div>"
    )
    style = "<style>.leaflet-container{background:#eef0ea}</style>"
    root = fmap.get_root()
    root.html.add_child(_Raw(style + heading + "".join(legends)))  # type: ignore[attr-defined]
    _offline_assets(fmap, assets, lang)
    root.header.add_child(_Raw(_HELPERS_JS), name="geocarbon_helpers")  # type: ignore[attr-defined]
    root.header.add_child(_Raw(f"<title>{html.escape(title)}</title>\n"), name="geocarbon_title")  # type: ignore[attr-defined]
    page = _render_page(fmap)
    # the page's language (screen readers, hyphenation, the browser's translation offer)
    return page.replace("<html>", f'<html lang="{lang}">', 1)
