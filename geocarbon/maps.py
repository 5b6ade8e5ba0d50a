"""Interactive Folium maps (no computation: they show what the pipeline computed)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element
from folium.map import Layer
from folium.template import Template

from geocarbon.io.map_assets import read_map_asset


@dataclass(frozen=True)
class ChoroplethLayer:
    """One choropleth layer: a column, its title and colour scale."""

    column: str
    title: str
    colors: Sequence[str] = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b")
    fmt: str = "{:,.0f}"
    diverging: bool = False
    """Classes symmetric around zero: red for negative values, blue for positive ones."""


def _deterministic_ids(html: str, ids: set[str]) -> str:
    """Replace Folium's random element ids (``ids``, 32 hex digits) by sequential ones (same
    map → same file); other hex strings (e.g. an id in the data) are left as they are."""
    mapping: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in ids:
            return key
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        return mapping[key]

    return re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", repl, html)


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
            td.textContent = typeof value === "number" ? value.toLocaleString()
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


class _Raw(Element):
    """Literal HTML added to a page as is (not a Jinja template: ``{{`` in a title stays text)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _TextTooltip(folium.GeoJsonTooltip):
    """Folium's GeoJSON tooltip, its content set as text (Folium's own sets ``innerHTML``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip(
            geocarbonDetails({{ this.fields|tojson }}, {{ this.aliases|tojson }}, false),
            {{ this.tooltip_options|tojavascript }}
        );
        {% endmacro %}
        """
    )


class PointsLayer(Layer):
    """Clustered circle markers with a popup of fields set as text.

    Parameters
    ----------
    frame : GeoDataFrame
        Points (any CRS; shown in WGS 84) with the popup fields and ``radius_column``.
    popup_fields : sequence of (column, label)
        Rows of the popup (empty values are left out).
    name : str
        Name in the layer control.
    radius_column : str
        Column of the marker radii [px].
    color : str
        Marker colour.
    """

    #: Shipped libraries the layer needs (besides Leaflet).
    assets = ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css")

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.markerClusterGroup();
        {{ this.get_name() }}.addLayers(L.geoJSON({{ this.data|tojson }}, {
            pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, Object.assign(
                    {radius: feature.properties[{{ this.radius_column|tojson }}]},
                    {{ this.marker_style|tojson }}
                ));
            },
            onEachFeature: function (feature, layer) {
                layer.bindPopup(geocarbonDetails(
                    {{ this.fields|tojson }}, {{ this.aliases|tojson }}, true
                ));
            }
        }).getLayers());
        {% endmacro %}
        """
    )

    def __init__(
        self,
        frame: gpd.GeoDataFrame,
        popup_fields: Sequence[tuple[str, str]],
        *,
        name: str,
        radius_column: str,
        color: str = "#08519c",
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PointsLayer"
        shown = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if shown.crs is not None:
            shown = shown.to_crs("EPSG:4326")
        keep = [*dict.fromkeys([c for c, _ in popup_fields] + [radius_column])]
        self.data = shown[[*keep, "geometry"]].__geo_interface__
        self.fields = [c for c, _ in popup_fields]
        self.aliases = [lbl for _, lbl in popup_fields]
        self.radius_column = radius_column
        self.marker_style = {"color": color, "fill": True, "fillOpacity": 0.8, "weight": 3}


def _render_page(fmap: folium.Map) -> str:
    """The page's HTML, each element's Jinja template rendered once, element ids sequential.

    Branca renders every element into a plain ``Element`` whose text it then renders again as a
    Jinja template when the page is assembled: ``{{ ... }}`` in a commune name would be
    evaluated (and could run Python). Here the rendered texts are kept literal.
    """
    root = fmap.get_root()
    for child in list(root._children.values()):
        child.render()
    for part in (root.header, root.html, root.script):  # type: ignore[attr-defined]
        for name, child in list(part._children.items()):
            if type(child) is Element and child._template_str is not None:
                part._children[name] = _Raw(child._template_str)
    page = root._template.render(this=root, kwargs={})
    return _deterministic_ids(page, _element_ids(root))


def _offline_assets(fmap: folium.Map, extra_assets: Sequence[str] = ()) -> None:
    """Inline the shipped Leaflet (and ``extra_assets``) in the page instead of Folium's CDN
    links (jQuery, Bootstrap, Font Awesome... are not used and left out)."""
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
    root.header.add_child(_Raw(_DETAILS_JS), name="geocarbon_details", index=len(names))  # type: ignore[attr-defined]


def _round_sig(value: float, digits: int = 2) -> float:
    if value == 0 or not np.isfinite(value):
        return value
    return float(round(value, -int(np.floor(np.log10(abs(value)))) + digits - 1))


def _legend_html(layer: ChoroplethLayer, bins: Sequence[float], colors: Sequence[str]) -> str:
    """A legend box: one swatch and value range per class."""
    rows = []
    for k, color in enumerate(colors):
        lo, hi = layer.fmt.format(bins[k]), layer.fmt.format(bins[k + 1])
        rows.append(
            f'<div><span style="display:inline-block;width:14px;height:10px;background:{color};'
            f'border:1px solid #777;margin-right:5px"></span>{html.escape(lo)} – {html.escape(hi)}</div>'
        )
    rows.append(
        '<div><span style="display:inline-block;width:14px;height:10px;background:#cccccc;'
        'border:1px solid #777;margin-right:5px"></span>no data</div>'
    )
    return (
        '<div style="background:white;padding:6px 8px;border-radius:4px;box-shadow:0 0 4px #888">'
        f"<b>{html.escape(layer.title)}</b>{''.join(rows)}</div>"
    )


DIVERGING = ("#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac")


def _diverging_bins(values: np.ndarray) -> tuple[list[float], list[str]]:
    """Six classes symmetric around zero from quantiles of |value| (zero is a class edge)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    q50, q90 = (
        (_round_sig(float(np.quantile(finite, q))) for q in (0.5, 0.9))
        if len(finite)
        else (0.0, 0.0)
    )
    inner = sorted({v for v in (q50, q90) if 0 < v < top})
    edges = [-top, *[-v for v in reversed(inner)], 0.0, *inner, top]
    n_side = len(inner) + 1
    colors = list(DIVERGING[3 - n_side : 3]) + list(DIVERGING[3 : 3 + n_side])
    return [float(e) for e in edges], colors


def _quantile_bins(values: np.ndarray, n: int) -> list[float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return [0.0, 1.0]
    qs = np.quantile(finite, np.linspace(0, 1, n + 1))
    inner = [_round_sig(q) for q in qs[1:-1]]
    edges = np.unique([float(qs[0]), *inner, float(qs[-1])])
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0] + 1.0])
    return [float(e) for e in edges]


@dataclass(frozen=True)
class Overlay:
    """Extra polygons shown above the choropleths, coloured by a class column."""

    name: str
    frame: gpd.GeoDataFrame
    class_column: str
    colors: dict[str, str]
    tooltip_fields: Sequence[tuple[str, str]] = ()


def commune_tooltip(
    frame: pd.DataFrame, fields: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Tooltip fields of a commune map: name, INSEE code, EPCI name (when known), then ``fields``."""
    head = [("commune_name", "Commune"), ("commune_code", "INSEE code")]
    if "epci_name" in frame.columns:
        head.append(("epci_name", "EPCI"))
    return [*head, *fields]


def hotspot_overlay(hotspots: gpd.GeoDataFrame) -> Overlay:
    """Land-use-change hot spots: losses in red, gains in blue."""
    from geocarbon.carbon.pixels import HOTSPOT_CLASSES

    palette = ["#67001f", "#d6604d", "#4393c3", "#053061"]
    return Overlay(
        "Land-use change hot spots (stock change, tC/ha)",
        hotspots,
        "change_class",
        {label: palette[i] for i, (_, _, label) in enumerate(HOTSPOT_CLASSES)},
        (("change_class", "Change"), ("area_ha", "Area (ha)")),
    )


def choropleth_map(
    frame: gpd.GeoDataFrame,
    layers: Sequence[ChoroplethLayer],
    *,
    title: str,
    tooltip_fields: Sequence[tuple[str, str]],
    simplify_m: float = 20.0,
    overlays: Sequence[Overlay] = (),
    extra: Any = None,
) -> str:
    """A Folium map with one switchable choropleth per layer, legends and tooltips.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons in a projected CRS with the mapped columns.
    layers : sequence of ChoroplethLayer
        Quantile classes; the first layer is shown at opening, the others can be switched
        on in the layer control.
    title : str
        Shown in the page's title block (plain text: it is escaped here).
    tooltip_fields : sequence of (column, label)
        Fields shown when hovering a polygon. Values are set as text, never as HTML: input
        text (commune names...) cannot inject markup or script.
    simplify_m : float
        Tolerance [m] of the geometry simplification (keeps files small).
    overlays : sequence of Overlay
        Polygons shown above the choropleths (their tooltips are set as text too).
    extra : folium element, optional
        Added to the map before the layer control, e.g. a :class:`PointsLayer`; the shipped
        libraries named in its ``assets`` attribute are inlined in the page.

    Returns
    -------
    str
        A standalone HTML page that works offline: Leaflet and the other libraries are
        inlined from ``geocarbon/maps_lib`` (only the basemap tiles need network).
    """
    shown = frame.copy()
    if simplify_m > 0 and shown.crs is not None and shown.crs.is_projected:
        shown["geometry"] = shown.geometry.simplify(simplify_m, preserve_topology=True)
    shown = shown.to_crs("EPSG:4326")
    for col, _ in tooltip_fields:
        if col in shown.columns and pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].round(3)
    minx, miny, maxx, maxy = shown.total_bounds
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    keep = [c for c, _ in tooltip_fields] + [layer.column for layer in layers]
    data = shown[[*dict.fromkeys(keep), "geometry"]]
    legends = []
    for i, layer in enumerate(layers):
        values = data[layer.column].to_numpy(dtype=float)
        if layer.diverging:
            bins, colors = _diverging_bins(values)
        else:
            bins = _quantile_bins(values, len(layer.colors))
            colors = list(layer.colors)[: len(bins) - 1]
        cmap = cm.StepColormap(colors, index=bins, vmin=bins[0], vmax=bins[-1])
        group = folium.FeatureGroup(name=layer.title, overlay=True, show=(i == 0))

        def style(feature: dict, col: str = layer.column, cmap: cm.StepColormap = cmap) -> dict:
            value = feature["properties"].get(col)
            fill = "#cccccc" if value is None or not np.isfinite(value) else cmap(value)
            return {"fillColor": fill, "color": "#555555", "weight": 0.6, "fillOpacity": 0.75}

        folium.GeoJson(
            data.__geo_interface__,
            style_function=style,
            highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
            tooltip=_TextTooltip(
                fields=[c for c, _ in tooltip_fields],
                aliases=[lbl for _, lbl in tooltip_fields],
            ),
            name=layer.title,
        ).add_to(group)
        group.add_to(fmap)
        legends.append(_legend_html(layer, bins, colors))
    for overlay in overlays:
        shown_overlay = overlay.frame.to_crs("EPSG:4326")
        if "area_ha" in shown_overlay.columns:
            shown_overlay["area_ha"] = shown_overlay["area_ha"].round(2)
        group = folium.FeatureGroup(name=overlay.name, overlay=True, show=True)

        def overlay_style(feature: dict, ov: Overlay = overlay) -> dict:
            color = ov.colors.get(feature["properties"].get(ov.class_column), "#000000")
            return {"fillColor": color, "color": color, "weight": 0.5, "fillOpacity": 0.8}

        folium.GeoJson(
            shown_overlay.__geo_interface__,
            style_function=overlay_style,
            tooltip=_TextTooltip(
                fields=[c for c, _ in overlay.tooltip_fields],
                aliases=[lbl for _, lbl in overlay.tooltip_fields],
            )
            if overlay.tooltip_fields
            else None,
            name=overlay.name,
        ).add_to(group)
        group.add_to(fmap)
        rows = "".join(
            f'<div><span style="display:inline-block;width:14px;height:10px;background:{c};'
            f'border:1px solid #777;margin-right:5px"></span>{html.escape(label)}</div>'
            for label, c in overlay.colors.items()
        )
        legends.append(
            '<div style="background:white;padding:6px 8px;border-radius:4px;box-shadow:0 0 4px #888">'
            f"<b>{html.escape(overlay.name)}</b>{rows}</div>"
        )
    if extra is not None:
        extra.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    heading = (
        '<div style="position:fixed;top:10px;left:60px;z-index:9999;background:white;'
        'padding:6px 10px;border-radius:4px;box-shadow:0 0 4px #888;font:14px sans-serif">'
        f"<b>{html.escape(title)}</b></div>"
    )
    panel = (
        '<div style="position:fixed;bottom:48px;left:10px;z-index:9999;display:flex;gap:8px;'
        'font:12px sans-serif">' + "".join(legends) + "</div>"
    )
    root = fmap.get_root()
    root.html.add_child(_Raw(heading + panel))  # type: ignore[attr-defined]
    _offline_assets(fmap, getattr(extra, "assets", ()))
    return _render_page(fmap)
