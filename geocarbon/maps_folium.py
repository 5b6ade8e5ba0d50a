"""The Folium elements of geocarbon's maps: literal HTML, literal script, clustered points.

Imported when a map is made (Folium and Branca take a noticeable part of a run's start-up),
through :mod:`geocarbon.maps`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import branca.element as branca_element
import geopandas as gpd
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template


class _Raw(Element):
    """Literal HTML added to a page as is (not a Jinja template: ``{{`` in a title stays text)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _Rendered(Element):
    """What an element's macro rendered, kept as text: branca wraps each rendered macro in a
    new ``Element`` whose text it compiles as a Jinja template (long for a map's data, and
    never used: :func:`geocarbon.maps._render_page` puts the literal text in the page)."""

    def __init__(self, template: str | None = None, template_name: str | None = None) -> None:
        super().__init__()
        self._template_str = template

    def render(self, **kwargs: Any) -> str:
        return self._template_str or ""


@contextmanager
def rendered_as_text() -> Iterator[None]:
    """While rendering a map's elements, their rendered macros are kept as
    :class:`_Rendered` text instead of compiled templates (branca's ``MacroElement.render``
    creates them by the name ``Element`` of its module)."""
    saved = branca_element.Element
    branca_element.Element = _Rendered  # type: ignore[misc]
    try:
        yield
    finally:
        branca_element.Element = saved  # type: ignore[misc]


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


class _Script(MacroElement):
    """Literal JavaScript run after the map is created (built in Python, data as escaped JSON)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GeocarbonLayers"
        self.code = code
