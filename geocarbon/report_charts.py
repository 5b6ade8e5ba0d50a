"""Charts and static map images of the territory report.

Pure functions: they take frames and return an inline image (an ``<svg>`` element or a
``data:image/png;base64`` URI), drawn on bare :class:`matplotlib.figure.Figure` objects with
matplotlib's SVG or Agg canvas (no pyplot, no figure manager), with no file written.
Images are deterministic: the same frames give the same bytes (no date, fixed ids).

Every number drawn is in the report's language: axis and colour-bar ticks as the report's
tables write them (:func:`geocarbon.report.number`), values and legend classes as the maps
do (:func:`geocarbon.classes.format_value`): French "1 200" and "0,5" (narrow no-break
space, decimal comma), English "1,200" and "0.5". Names
(EPCIs, communes, categories) are wrapped, never cut, and each chart is laid out within
:data:`MAX_WIDTH_IN`, the width of the report's A4 column.
"""

from __future__ import annotations

import base64
import io
import itertools
import os
import re
import tempfile
import textwrap
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# matplotlib keeps a font cache in the user's home folder; geocarbon writes nothing outside
# its output folder but the system's temporary folder
os.environ.setdefault(
    "MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / f"geocarbon-matplotlib-{os.getuid()}")
)

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import Formatter
from matplotlib.transforms import Bbox

from geocarbon.classes import NO_DATA, Classes, classify, format_value, layer_classes, palette
from geocarbon.labels import Language, label

PCAET_COLORS = {
    "forest": "#1b7837",
    "agricultural_soils": "#dfc27d",
    "other_soils": "#8c510a",
    "wood_products": "#762a83",
}
POOL_COLORS = {
    "soil": "#8c6d31",
    "litter": "#e7ba52",
    "live_biomass": "#31a354",
    "dead_wood": "#636363",
    "hedges": "#74c476",
}
ROOF_COLORS = {"flat": "#fdae6b", "pitched": "#e6550d", "unknown": "#bdbdbd"}
NO_DATA_COLOR = NO_DATA
#: Widest chart, inches: within the A4 page less the report's print margins (210 − 2 × 12 mm), so
#: a printed chart is shown at its own size, its text at its own size.
MAX_WIDTH_IN = 7.0
#: Names longer than this many characters are wrapped over several lines (never cut).
WRAP_CHARS = 28
#: Resolution of the static maps' PNG images, dots per inch.
MAP_DPI = 130
#: Height of one line of a bar's name, inches (9 pt text and its leading).
LINE_IN = 0.16

matplotlib.rcParams.update(
    {
        "svg.hashsalt": "geocarbon",
        "svg.fonttype": "none",  # text stays text: searchable, selectable in the PDF
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _subplots(
    nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs: Any
) -> tuple[Figure, Any]:
    """A chart of ``figsize`` inches and its axes (:meth:`matplotlib.figure.Figure.subplots`,
    ``kwargs`` such as ``squeeze``), drawn without pyplot on the SVG canvas it is saved with
    (:func:`_svg`: its texts measured as the SVG writes them)."""
    fig = Figure(figsize=figsize)
    FigureCanvasSVG(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


#: The renderer measuring the texts of each SVG chart (:func:`_svg_renderer`).
_RENDERERS: weakref.WeakKeyDictionary[Figure, RendererSVG] = weakref.WeakKeyDictionary()


def _svg_renderer(fig: Figure) -> RendererSVG:
    """A renderer measuring texts as the SVG canvas of ``fig`` draws them (at 72 dpi, the
    figure's dpi from then on), the same one each time for the same figure: a text is
    measured once for the layout and the legend."""
    renderer = _RENDERERS.get(fig)
    if renderer is None:
        fig.set_dpi(72)
        width_pt, height_pt = fig.get_size_inches() * 72
        renderer = _RENDERERS[fig] = RendererSVG(width_pt, height_pt, io.StringIO())
    return renderer


#: Room between a chart's parts (axes, legend, colour bar), inches (6 points).
GAP_IN = 6 / 72
#: Room between a chart's outermost texts and the edge of its image, inches.
EDGE_IN = 6 / 72


def _fit_axes(fig: Figure, ax: Any, renderer: Any, colorbar: Any = None) -> None:
    """Place ``ax`` so that it, its tick labels and axis labels fill ``fig`` within
    :data:`EDGE_IN`, above the figure's legend (:func:`_legend_below`), and ``colorbar`` (its
    axes) right of it: 60 % of its height, centred, one twentieth as wide as tall.

    The room around the axes is measured on ``renderer`` (the canvas the figure is saved
    with) twice: the ticks of the axes placed once may differ from those placed at first.
    """
    dpi = fig.dpi
    width_in, height_in = fig.get_size_inches()
    below_in = EDGE_IN + sum(
        leg.get_window_extent(renderer).height / dpi + GAP_IN for leg in fig.legends
    )
    for _ in range(2):
        inner, outer = ax.get_window_extent(renderer), _box(ax, renderer)
        left = (inner.x0 - outer.x0) / dpi + EDGE_IN
        bottom = (inner.y0 - outer.y0) / dpi + below_in
        top = (outer.y1 - inner.y1) / dpi + EDGE_IN
        right = (outer.x1 - inner.x1) / dpi + EDGE_IN
        axes_h = height_in - bottom - top
        if colorbar is not None:
            bar_w = 0.6 * axes_h / 20
            bar_right = (
                _box(colorbar, renderer).x1 - colorbar.get_window_extent(renderer).x1
            ) / dpi
            right = max(right, 2 * GAP_IN) + bar_w + bar_right + EDGE_IN
            bar_x = width_in - EDGE_IN - bar_right - bar_w
            colorbar.set_position(
                (bar_x / width_in, (bottom + 0.2 * axes_h) / height_in,
                 bar_w / width_in, 0.6 * axes_h / height_in)
            )  # fmt: skip
        ax.set_position(
            (left / width_in, bottom / height_in, (width_in - left - right) / width_in,
             axes_h / height_in)
        )  # fmt: skip


def _fit_panels(fig: Figure, panels: np.ndarray, renderer: Any, ylabel: Any = None) -> None:
    """Place the axes of ``panels`` (rows × columns, hidden ones left empty) in a grid filling
    ``fig`` within :data:`EDGE_IN`, right of the figure's y label (``ylabel``, its text) and above
    its legend, every panel with the same room around it: the largest any panel needs for its
    title, tick labels and axis labels (measured on ``renderer``, twice as in
    :func:`_fit_axes`)."""
    dpi = fig.dpi
    width_in, height_in = fig.get_size_inches()
    below_in = EDGE_IN + sum(
        leg.get_window_extent(renderer).height / dpi + GAP_IN for leg in fig.legends
    )
    left_in = EDGE_IN
    if ylabel is not None:
        ylabel.set_x(EDGE_IN / width_in)
        left_in += ylabel.get_window_extent(renderer).width / dpi + GAP_IN
    lines, columns = panels.shape
    cell_w = (width_in - left_in - EDGE_IN) / columns
    cell_h = (height_in - below_in - EDGE_IN) / lines
    shown = [ax for ax in panels.flat if ax.get_visible()]
    for _ in range(2):
        room = np.zeros(4)  # left, bottom, right, top, inches
        for ax in shown:
            inner, outer = ax.get_window_extent(renderer), _box(ax, renderer)
            sides = [
                inner.x0 - outer.x0,
                inner.y0 - outer.y0,
                outer.x1 - inner.x1,
                outer.y1 - inner.y1,
            ]
            room = np.maximum(room, np.array(sides) / dpi)
        room += GAP_IN
        for (i, j), ax in np.ndenumerate(panels):
            x = left_in + j * cell_w + room[0]
            y = below_in + (lines - 1 - i) * cell_h + room[1]
            ax.set_position(
                (x / width_in, y / height_in, (cell_w - room[0] - room[2]) / width_in,
                 (cell_h - room[1] - room[3]) / height_in)
            )  # fmt: skip


def _box(ax: Any, renderer: Any) -> Bbox:
    """The box of ``ax``, its axes' ticks, tick labels and labels and its title (pixels of
    ``renderer``); what the axes draw within them is left out (clipped to the axes)."""
    boxes = [ax.get_window_extent(renderer)]
    boxes += [axis.get_tightbbox(renderer) for axis in (ax.xaxis, ax.yaxis) if axis.get_visible()]
    if ax.title.get_text():
        boxes.append(ax.title.get_window_extent(renderer))
    return Bbox.union([b for b in boxes if b is not None and b.width and b.height])


def _svg(fig: Figure, colorbar: Any = None, panels: Any = None, ylabel: Any = None) -> str:
    """The chart ``fig`` as an inline ``<svg>`` element (no XML prolog, no date, stable ids),
    at the figure's size: its axes placed by :func:`_fit_axes` (``colorbar``: the axes of its
    colour bar), or the grid of ``panels`` by :func:`_fit_panels` (``ylabel``: the figure's
    y label)."""
    renderer = _svg_renderer(fig)
    if panels is None:
        _fit_axes(fig, fig.axes[0], renderer, colorbar)
    else:
        _fit_panels(fig, panels, renderer, ylabel)
    buf = io.StringIO()
    fig.canvas.print_figure(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # inline in HTML the SVG namespaces are implied; the metadata names matplotlib's site
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    return re.sub(r' xmlns(:\w+)?="[^"]*"', "", text)


def _map_png_uri(canvas: FigureCanvasAgg, ax: Any, legend: Any) -> str:
    """The map of ``canvas`` as a ``data:image/png;base64`` URI (no software or date metadata):
    ``ax`` (equal aspect, no axis) left of ``legend`` (upper right), the image cut to them
    and a margin of ``savefig.pad_inches`` (what ``bbox_inches="tight"`` saves, measured
    here without drawing the figure a first time)."""
    fig = canvas.figure
    renderer = canvas.get_renderer()  # Agg at the figure's dpi: the PNG's text sizes
    dpi = fig.dpi
    width_in, height_in = fig.get_size_inches()
    legend_in = legend.get_window_extent(renderer).width / dpi
    ax.set_position(
        (EDGE_IN / width_in, EDGE_IN / height_in,
         (width_in - 2 * EDGE_IN - GAP_IN - legend_in) / width_in,
         (height_in - 2 * EDGE_IN) / height_in)
    )  # fmt: skip
    ax.apply_aspect()
    drawn = Bbox.union([ax.get_window_extent(renderer), legend.get_window_extent(renderer)])
    pad = float(matplotlib.rcParams["savefig.pad_inches"])
    box = Bbox(drawn.get_points() / dpi).padded(pad)
    buf = io.BytesIO()
    canvas.print_figure(
        buf,
        format="png",
        dpi=dpi,
        bbox_inches=box,
        metadata={"Software": None},
        pil_kwargs={"compress_level": 3},
    )
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _number(value: float, language: Language) -> str:
    """A value drawn on a chart (bar label, matrix cell): every digit of its integer part
    and at least three significant digits, in the report's number format."""
    if not np.isfinite(value):
        return ""
    whole = int(np.floor(np.log10(abs(value)))) + 1 if value else 1
    return format_value(value, language, digits=max(3, whole))


class _NumberFormatter(Formatter):
    """Tick labels written as the report's tables write numbers (:func:`_number_axis`)."""

    def __init__(self, axis: Axis, language: Language) -> None:
        self._axis = axis
        self.language = language

    def _span(self) -> float:
        lo, hi = self._axis.get_view_interval()
        return float(abs(hi - lo) or 1.0)

    def _label(self, value: float, decimals: int, span: float) -> str:
        from geocarbon.report import number  # the report imports this module

        return number(0.0 if abs(value) <= span * 1e-9 else value, self.language, decimals)

    @staticmethod
    def _decimals(ticks: Sequence[float] | np.ndarray, span: float) -> int:
        """As few decimals as every finite tick needs (6 at most)."""
        finite = [t for t in ticks if np.isfinite(t)]
        return next(
            (d for d in range(7) if all(abs(round(t, d) - t) <= span * 1e-9 for t in finite)), 6
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        span = self._span()
        return self._label(x, self._decimals(self._axis.get_majorticklocs(), span), span)

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        """The labels of the axis's major ticks (``values``): their decimals found once."""
        span = self._span()
        decimals = self._decimals(values, span)
        return [self._label(v, decimals, span) for v in values]


def _number_axis(axis: Axis, language: Language) -> None:
    """Tick labels of a numeric axis written as the report's tables write numbers
    (:func:`geocarbon.report.number`: French "1 200" and "0,5"), every tick with the same
    decimals (as few as the round tick values need: "0,5 1,0 1,5"); a tick within a
    billionth of the axis span from zero is zero (no "−0")."""
    axis.set_major_formatter(_NumberFormatter(axis, language))


def _wrap(name: str, width: int = WRAP_CHARS) -> str:
    """``name`` over lines of at most ``width`` characters (a longer word stays whole)."""
    lines = textwrap.wrap(str(name), width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines) or str(name)


def _zone_names(rows: pd.DataFrame) -> list[str]:
    """Wrapped names of zones (their code when the name is empty)."""
    return [
        _wrap(n if isinstance(n, str) and n.strip() else str(c))
        for n, c in zip(rows["name"], rows["code"], strict=True)
    ]


def _bars_height_in(names: Sequence[str]) -> float:
    """Height of the bars of a horizontal bar chart, inches: each bar the height of its
    name's lines."""
    return float(sum(max(0.3, LINE_IN * (n.count("\n") + 1) + 0.1) for n in names))


def _legend_below(fig: Figure, ax: Any, ncol: int = 4, fontsize: float = 8) -> None:
    """The axes' legend under the chart, within the figure's width: in fewer than ``ncol``
    columns when they would be wider (measured on the figure's canvas)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    renderer = _svg_renderer(fig)
    for columns in range(max(1, min(ncol, len(handles))), 0, -1):
        legend = fig.legend(
            handles, labels, loc="lower center", ncol=columns, frameon=False, fontsize=fontsize
        )
        if columns == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            return
        legend.remove()


# ----------------------------------------------------------------------------------------
# classes of the static maps


def map_classes(
    values: Any, *, diverging: bool, language: Language = "fr", figure: str = ""
) -> tuple[Classes, np.ndarray]:
    """Classes of a map layer (those of the interactive maps and the QGIS styles, from
    :func:`geocarbon.classes.layer_classes`) and the class of each value (-1: no data).

    Parameters
    ----------
    values : array-like of float
        Values of the layer, any unit; NaN is "no data".
    diverging : bool
        Classes symmetric around zero (flows: positive = sequestration).
    figure : str
        The figure's column id: its palette is that of the interactive map
        (:func:`geocarbon.classes.palette`).
    """
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    classes = layer_classes(arr, diverging=diverging, colors=palette(figure), lang=language)
    return classes, classify(arr, classes)


def theme_map(
    communes: Any,
    column: str,
    title: str,
    *,
    diverging: bool = False,
    language: Language = "fr",
    outline: Any = None,
) -> str:
    """A static map of one commune (or EPCI) layer in its classes, as a PNG data URI.

    Parameters
    ----------
    communes : GeoDataFrame
        Polygons in a projected CRS (metres), with ``column``.
    column : str
        The value shown (its unit in its name, e.g. ``stock_tc_per_ha``).
    title : str
        Legend title, with its unit.
    outline : GeoDataFrame, optional
        Boundaries drawn over the classes (EPCIs).
    """
    classes, index = map_classes(
        communes[column], diverging=diverging, language=language, figure=column
    )
    fig = Figure(figsize=(MAX_WIDTH_IN, 5.2), dpi=MAP_DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _draw_classes(ax, np.asarray(communes.geometry.values), index, classes.colors)
    if outline is not None and len(outline):
        _draw_outline(ax, np.asarray(outline.geometry.values))
    ax.autoscale_view()
    ax.set_axis_off()
    ax.set_aspect("equal")
    handles = [
        Patch(facecolor=c, edgecolor="#666666", label=lab)
        for c, lab in zip(classes.colors, classes.labels, strict=True)
    ]
    if (index < 0).any():
        handles.append(
            Patch(
                facecolor=NO_DATA_COLOR,
                edgecolor="#666666",
                label="sans donnée" if language == "fr" else "no data",
            )
        )
    legend = fig.legend(
        handles=handles,
        title=_wrap(title),
        loc="upper right",
        frameon=False,
        fontsize=8,
        title_fontsize=8,
    )
    _scale_bar(ax, language)
    return _map_png_uri(canvas, ax, legend)


def _draw_classes(ax: Any, geometry: np.ndarray, index: np.ndarray, colors: Sequence[str]) -> None:
    """The polygons of ``geometry`` filled with the colour of their class (``index``: the
    class of each, -1 for no data), one collection per class, grey edges."""
    for k, color in [*enumerate(colors), (-1, NO_DATA_COLOR)]:
        paths = _polygon_paths(geometry[index == k])
        if paths:
            ax.add_collection(
                PathCollection(paths, facecolors=color, edgecolors="#666666", linewidths=0.25)
            )


def _draw_outline(ax: Any, geometry: np.ndarray) -> None:
    """The boundaries of the polygons of ``geometry`` (EPCIs) as dark lines over the classes."""
    lines = shapely.get_parts(shapely.boundary(geometry[~shapely.is_missing(geometry)]))
    coords = [shapely.get_coordinates(line) for line in lines if not line.is_empty]
    ax.add_collection(LineCollection(coords, colors="#222222", linewidths=0.8))


def _polygon_paths(geometry: np.ndarray) -> list[MplPath]:
    """One path per polygon of ``geometry`` (shapely polygons and multipolygons; empty and
    missing ones left out): its exterior ring then its holes, each ring a sub-path."""
    polygons = shapely.get_parts(geometry[~shapely.is_missing(geometry)])
    polygons = polygons[~shapely.is_empty(polygons)]
    if not len(polygons):
        return []
    rings, owner = shapely.get_rings(polygons, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[np.searchsorted(ring_of, np.arange(len(rings)))] = MplPath.MOVETO
    starts = np.searchsorted(owner[ring_of], np.arange(len(polygons) + 1))
    return [MplPath(coords[a:b], codes[a:b]) for a, b in itertools.pairwise(starts)]


def _scale_bar(ax: Any, language: Language = "fr") -> None:
    """A round-length scale bar in the lower left corner (axes in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    length = 10 ** np.floor(np.log10(width / 4))
    for step in (5, 2):
        if step * length <= width / 4:
            length *= step
            break
    x, y = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    ax.plot([x, x + length], [y, y], color="#222222", linewidth=2)
    ax.text(
        x + length / 2,
        y + (y1 - y0) * 0.015,
        f"{format_value(length / 1000, language)} km",
        ha="center",
        fontsize=7,
    )


# ----------------------------------------------------------------------------------------
# charts


def _finish(fig: Figure, ax: Any, xlabel: str = "", ylabel: str = "") -> str:
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(axis="x" if ax.get_xlabel() else "y", color="#e9ecef", linewidth=0.6)
    ax.set_axisbelow(True)
    return _svg(fig)


def _range_bars(ax: Any, ranges: pd.DataFrame, ys: np.ndarray) -> None:
    """Horizontal error bars from ``p5`` to ``p95`` around ``p50`` at heights ``ys`` (rows
    without a range left out)."""
    known = ranges[["p5", "p50", "p95"]].notna().all(axis=1).to_numpy()
    if not known.any():
        return
    mid = ranges["p50"].to_numpy(dtype=float)[known]
    low = mid - ranges["p5"].to_numpy(dtype=float)[known]
    high = ranges["p95"].to_numpy(dtype=float)[known] - mid
    ax.errorbar(
        mid,
        ys[known],
        xerr=[np.maximum(low, 0.0), np.maximum(high, 0.0)],
        fmt="none",
        ecolor="#343a40",
        elinewidth=1.0,
        capsize=3,
        zorder=4,
        label="P5–P95",
    )


def stocks_by_category(
    summary: pd.DataFrame, language: Language = "fr", ranges: pd.DataFrame | None = None
) -> str:
    """Carbon stocks by land-use category and pool, as a stacked horizontal bar (tC).

    Parameters
    ----------
    summary : DataFrame
        ``carbon_stocks_summary`` rows: ``category``, ``pool``, ``stock_tc``.
    ranges : DataFrame, optional
        ``p5``, ``p50``, ``p95`` [tC] of each category's stock (index: category), drawn as
        an error bar from P5 to P95 on each bar.
    """
    rows = summary[summary["category"] != "total"]
    table = rows.pivot_table(index="category", columns="pool", values="stock_tc", aggfunc="sum")
    table = table.loc[table.sum(axis=1) > 0]
    table = table.loc[table.sum(axis=1).sort_values().index]
    pools = [p for p in POOL_COLORS if p in table.columns] + [
        p for p in table.columns if p not in POOL_COLORS
    ]
    names = [_wrap(label(c, language)) for c in table.index]
    fig, ax = _subplots(figsize=(MAX_WIDTH_IN, _bars_height_in(names) + 1.4))
    left = np.zeros(len(table))
    millions = float(table.sum(axis=1).max()) >= 1e7
    scale = 1e6 if millions else 1e3
    for pool in pools:
        vals = table[pool].fillna(0).to_numpy() / scale
        ax.barh(
            np.arange(len(names)),
            vals,
            left=left,
            color=POOL_COLORS.get(pool, "#999999"),
            label=label(pool, language),
        )
        left += vals
    if ranges is not None:
        _range_bars(ax, ranges.reindex(table.index) / scale, np.arange(len(names)))
    ax.set_yticks(np.arange(len(names)), names)
    _legend_below(fig, ax, ncol=4 if ranges is None else 5)
    if millions:
        unit = "millions de tC" if language == "fr" else "million tC"
    else:
        unit = "milliers de tC" if language == "fr" else "thousand tC"
    _number_axis(ax.xaxis, language)
    return _finish(fig, ax, xlabel=unit)


def flows_by_epci(seq: pd.DataFrame, language: Language = "fr", top_n: int = 30) -> str:
    """Net flows by PCAET category per EPCI (or per commune when the run has one EPCI or
    none), as a diverging bar: positive = sequestration (tCO2e/yr).

    Parameters
    ----------
    seq : DataFrame
        ``sequestration`` rows: ``level``, ``code``, ``name`` and one column per PCAET
        category (tCO2e/yr).
    top_n : int
        At most this many bars: the zones of largest net flow (in absolute value).
    """
    level = "epci" if (seq["level"] == "epci").sum() >= 2 else "commune"
    rows = seq[seq["level"] == level].copy()
    rows = rows.loc[rows["total"].notna()]
    if len(rows) > top_n:
        rows = rows.reindex(rows["total"].abs().sort_values(ascending=False).index[:top_n])
    rows = rows.sort_values("total")
    names = _zone_names(rows)
    ys = np.arange(len(rows))
    fig, ax = _subplots(figsize=(MAX_WIDTH_IN, _bars_height_in(names) + 1.6))
    pos = np.zeros(len(rows))
    neg = np.zeros(len(rows))
    for cat, color in PCAET_COLORS.items():
        if cat not in rows.columns:
            continue
        vals = rows[cat].fillna(0).to_numpy(dtype=float)
        if not np.any(vals):
            continue
        base = np.where(vals >= 0, pos, neg)
        ax.barh(ys, vals, left=base, color=color, label=label(cat, language))
        pos += np.where(vals >= 0, vals, 0)
        neg += np.where(vals < 0, vals, 0)
    ax.scatter(
        rows["total"],
        ys,
        color="black",
        marker="|",
        s=120,
        zorder=3,
        label=label("total", language),
    )
    ranged = "total_p5" in rows.columns
    if ranged:
        bounds = rows[["total_p5", "total_p50", "total_p95"]].set_axis(["p5", "p50", "p95"], axis=1)
        _range_bars(ax, bounds, ys)
    ax.axvline(0, color="#222222", linewidth=0.8)
    ax.set_yticks(ys, names)
    _number_axis(ax.xaxis, language)
    _legend_below(fig, ax, ncol=6 if ranged else 5)
    unit = (
        "tCO2e/an (positif = séquestration, négatif = émission)"
        if language == "fr"
        else "tCO2e/yr (positive = sequestration, negative = emission)"
    )
    return _finish(fig, ax, xlabel=unit)


def landuse_change_matrix(flows: pd.DataFrame, language: Language = "fr") -> str:
    """Land-use change matrix: area changed per year from each category (rows) to each
    category (columns), ha/yr, from the ``landuse_change`` rows of the flows."""
    luc = flows[flows["flow_kind"] == "landuse_change"]
    # one area per zone and category pair (each pair has a row per pool)
    per_pair = luc.drop_duplicates(["zone_code", "from_category", "to_category"])
    matrix = per_pair.pivot_table(
        index="from_category", columns="to_category", values="area_ha_per_yr", aggfunc="sum"
    )
    rows, cols = sorted(matrix.index), sorted(matrix.columns)
    matrix = matrix.reindex(index=rows, columns=cols)
    row_names = [_wrap(label(c, language)) for c in rows]
    col_names = [_wrap(label(c, language)) for c in cols]
    col_lines = max((n.count("\n") + 1 for n in col_names), default=1)
    fig, ax = _subplots(
        figsize=(
            min(MAX_WIDTH_IN, 0.7 * len(cols) + 3.6),
            _bars_height_in(row_names) + 1.8 + 0.12 * col_lines,
        ),
    )
    data = matrix.to_numpy(dtype=float)
    shown = np.ma.masked_invalid(np.where(data > 0, data, np.nan))
    cmap = matplotlib.colormaps["YlOrBr"].with_extremes(bad="#ffffff")
    im = ax.imshow(shown, cmap=cmap, aspect="auto")
    for (i, j), v in np.ndenumerate(data):
        if np.isfinite(v) and v > 0:
            ax.text(
                j,
                i,
                _number(v, language),
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if v > np.nanmax(data) * 0.6 else "black",
            )
    ax.set_xticks(range(len(cols)), col_names, rotation=50, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), row_names, fontsize=7)
    ax.set_xlabel("vers" if language == "fr" else "to")
    ax.set_ylabel("depuis" if language == "fr" else "from")
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    bar = fig.colorbar(
        im, cax=fig.add_axes((0.0, 0.0, 1.0, 1.0)), label="ha/an" if language == "fr" else "ha/yr"
    )
    _number_axis(bar.ax.yaxis, language)
    return _svg(fig, colorbar=bar.ax)


def pv_by_roof_form(summary: pd.DataFrame, language: Language = "fr") -> str:
    """Rooftop PV potential by roof form (MWp), from the PV summary rows ``roof <form>``."""
    rows = summary[summary["group"].astype(str).str.startswith("roof ")]
    forms = [str(g).removeprefix("roof ") for g in rows["group"]]
    names = [_wrap(label(f, language)) for f in forms]
    fig, ax = _subplots(figsize=(5.5, _bars_height_in(names) + 1.0))
    vals = rows["mwp"].to_numpy(dtype=float)
    ys = np.arange(len(names))
    ax.barh(ys, vals, color=[ROOF_COLORS.get(f, "#999999") for f in forms])
    ax.set_yticks(ys, names)
    for y, v in enumerate(vals):
        ax.text(v, y, " " + _number(v, language), va="center", fontsize=8)
    ax.margins(x=0.15)  # room for the labels of the longest bar
    _number_axis(ax.xaxis, language)
    return _finish(fig, ax, xlabel=label("pv_mwp", language, unit=True))


def pv_by_commune(levels: pd.DataFrame, language: Language = "fr", top_n: int = 15) -> str:
    """The ``top_n`` communes by rooftop PV potential (MWp)."""
    rows = levels[(levels["level"] == "commune") & levels["pv_mwp"].notna()]
    rows = rows.sort_values("pv_mwp", ascending=False).head(top_n).iloc[::-1]
    names = _zone_names(rows)
    fig, ax = _subplots(figsize=(6.5, _bars_height_in(names) + 1.0))
    ys = np.arange(len(names))
    ax.barh(ys, rows["pv_mwp"].to_numpy(dtype=float), color="#e6550d")
    ax.set_yticks(ys, names)
    _number_axis(ax.xaxis, language)
    return _finish(fig, ax, xlabel=label("pv_mwp", language, unit=True))


def population_by_distance(
    indicators: pd.DataFrame, shares: Sequence[tuple[float, str]], language: Language = "fr"
) -> str:
    """Share of the population within each distance of a public charging point, per EPCI
    and for the territory (per cent); ``shares``: each distance [m] with its column of
    ``indicators``."""
    distances_m = [d for d, _ in shares]
    rows = indicators[indicators["level"].isin(["territory", "epci"])]
    fig, ax = _subplots(figsize=(MAX_WIDTH_IN, 3.2))
    xs = np.arange(len(distances_m))
    n = max(len(rows), 1)
    width = 0.8 / n
    cmap = matplotlib.colormaps["tab10"]
    for k, (_, row) in enumerate(rows.iterrows()):
        vals = [float(row.get(column, np.nan)) * 100 for _, column in shares]
        name = (
            label("territory", language)
            if row["level"] == "territory"
            else _wrap(str(row.get("name") or "") or str(row["code"]))
        )
        color = "#222222" if row["level"] == "territory" else cmap(k % 10)
        ax.bar(xs + (k - (n - 1) / 2) * width, vals, width=width, color=color, label=name)
    ax.set_xticks(
        xs,
        [
            f"≤ {format_value(d, language)} m"
            if d < 1000
            else f"≤ {format_value(d / 1000, language)} km"
            for d in distances_m
        ],
    )
    ax.set_ylim(0, 100)
    _number_axis(ax.yaxis, language)
    _legend_below(fig, ax, ncol=3, fontsize=7)
    return _finish(
        fig,
        ax,
        ylabel=("% de la population" if language == "fr" else "% of the population"),
    )


#: Colours of scenario trajectories (the baseline is grey and dashed).
SCENARIO_COLORS = ("#1b7837", "#2166ac", "#b2182b", "#e08214", "#762a83", "#01665e")


def scenario_trajectories(rows: pd.DataFrame, language: Language = "fr", columns: int = 1) -> str:
    """Net flow per year of each scenario [tCO2e/yr], one panel per zone: the baseline dashed,
    the targets as points, P5-P95 bands where ``rows`` has them.

    Parameters
    ----------
    rows : DataFrame
        ``scenarios`` rows of the zones to draw: ``scenario``, ``scenario_label``, ``code``,
        ``name``, ``year``, ``flow_tco2e_per_yr``, ``target_tco2e_per_yr`` and optionally
        ``flow_tco2e_per_yr_p5`` / ``flow_tco2e_per_yr_p95``.
    columns : int
        Panels per row.
    """
    codes = list(dict.fromkeys(rows["code"]))
    lines = -(-len(codes) // columns)
    fig, axes = _subplots(
        lines,
        columns,
        figsize=(MAX_WIDTH_IN, 2.6 * lines + 0.8),
        squeeze=False,
    )
    scenarios = list(dict.fromkeys(rows["scenario"]))
    for ax, code in zip(axes.flat, codes, strict=False):
        zone = rows[rows["code"] == code]
        for i, scenario in enumerate(scenarios):
            one = zone[zone["scenario"] == scenario].sort_values("year")
            baseline = i == 0
            color = "#636363" if baseline else SCENARIO_COLORS[(i - 1) % len(SCENARIO_COLORS)]
            if "flow_tco2e_per_yr_p5" in one and one["flow_tco2e_per_yr_p5"].notna().any():
                ax.fill_between(
                    one["year"], one["flow_tco2e_per_yr_p5"], one["flow_tco2e_per_yr_p95"],
                    color=color, alpha=0.15, linewidth=0,
                )  # fmt: skip
            ax.plot(
                one["year"], one["flow_tco2e_per_yr"], color=color,
                linestyle="--" if baseline else "-", label=str(one["scenario_label"].iloc[0]),
            )  # fmt: skip
        targets = zone.dropna(subset=["target_tco2e_per_yr"]).drop_duplicates("year")
        if len(targets):
            ax.scatter(
                targets["year"], targets["target_tco2e_per_yr"], color="black", zorder=3,
                label="objectif" if language == "fr" else "target",
            )  # fmt: skip
        ax.set_title(_wrap(str(zone["name"].iloc[0] or code), 64 // columns), fontsize=9)
        _number_axis(ax.yaxis, language)
    for ax in list(axes.flat)[len(codes) :]:
        ax.set_visible(False)
    _legend_below(fig, axes.flat[0], ncol=2)
    ylabel = fig.supylabel("tCO2e/an" if language == "fr" else "tCO2e/yr", fontsize=9)
    return _svg(fig, panels=axes, ylabel=ylabel)
