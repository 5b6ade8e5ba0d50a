"""Interactive Folium maps (no computation: they show what the pipeline computed)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ChoroplethLayer:
    """One choropleth layer: a column, its title and colour scale."""

    column: str
    title: str
    colors: Sequence[str] = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b")
    fmt: str = "{:,.0f}"
    diverging: bool = False
    """Classes symmetric around zero: red for negative values, blue for positive ones."""


def _deterministic_ids(html: str) -> str:
    """Replace Folium's random element ids by sequential ones (same map → same file)."""
    mapping: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        return mapping[key]

    return re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", repl, html)


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
            f'border:1px solid #777;margin-right:5px"></span>{lo} – {hi}</div>'
        )
    rows.append(
        '<div><span style="display:inline-block;width:14px;height:10px;background:#cccccc;'
        'border:1px solid #777;margin-right:5px"></span>no data</div>'
    )
    return (
        '<div style="background:white;padding:6px 8px;border-radius:4px;box-shadow:0 0 4px #888">'
        f"<b>{layer.title}</b>{''.join(rows)}</div>"
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
        Shown in the page's title block.
    tooltip_fields : sequence of (column, label)
        Fields shown when hovering a polygon.
    simplify_m : float
        Tolerance [m] of the geometry simplification (keeps files small).

    Returns
    -------
    str
        A standalone HTML page.
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
            tooltip=folium.GeoJsonTooltip(
                fields=[c for c, _ in tooltip_fields],
                aliases=[lbl for _, lbl in tooltip_fields],
                localize=True,
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
            tooltip=folium.GeoJsonTooltip(
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
            f'border:1px solid #777;margin-right:5px"></span>{label}</div>'
            for label, c in overlay.colors.items()
        )
        legends.append(
            '<div style="background:white;padding:6px 8px;border-radius:4px;box-shadow:0 0 4px #888">'
            f"<b>{overlay.name}</b>{rows}</div>"
        )
    if extra is not None:
        extra.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    heading = (
        '<div style="position:fixed;top:10px;left:60px;z-index:9999;background:white;'
        'padding:6px 10px;border-radius:4px;box-shadow:0 0 4px #888;font:14px sans-serif">'
        f"<b>{title}</b></div>"
    )
    panel = (
        '<div style="position:fixed;bottom:48px;left:10px;z-index:9999;display:flex;gap:8px;'
        'font:12px sans-serif">' + "".join(legends) + "</div>"
    )
    root = fmap.get_root()
    root.html.add_child(folium.Element(heading + panel))  # type: ignore[attr-defined]
    return _deterministic_ids(fmap.get_root().render())
