"""Class breaks and colours of every mapped value: the one place they are chosen.

The interactive maps and the QGIS styles of the GeoPackage (``layer_styles``) take their classes
from :func:`layer_classes`, so that a layer has the same classes and colours everywhere. Values
read against fixed thresholds (buildings by annual energy, population cells by distance to a
charging point) use the same :class:`FixedClasses` on the maps and in QGIS
(:data:`PV_BUILDING_CLASSES`, :data:`ACCESS_CLASSES`).

Class membership (:func:`classify`):

* sequential scales: class 0 is ``bins[0] <= v <= bins[1]``, class ``k > 0`` is
  ``bins[k] < v <= bins[k + 1]``. A first class with equal edges (``[0, 0]``) holds exactly
  that value (e.g. the communes with no charging point at all);
* diverging scales (symmetric around zero): negative classes are ``bins[k] <= v < bins[k + 1]``,
  positive classes ``bins[k] < v <= bins[k + 1]``, and when the values hold exact zeros a neutral
  class ``[0, 0]`` holds them (zero is neither sequestration nor emission);
* NaN is "no data": never a class (index ``-1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from geocarbon.labels import Language, label

#: Sequential palette (light to dark green), five classes.
SEQUENTIAL = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b")
#: Diverging palette: three reds (emission, negative values; darkest first) then three blues
#: (sequestration, positive values; lightest first).
DIVERGING_NEGATIVE = ("#b2182b", "#ef8a62", "#fddbc7")
DIVERGING_POSITIVE = ("#d1e5f0", "#67a9cf", "#2166ac")
#: Colour of a class of exact zeros on a diverging scale, and of a layer that does not change.
NEUTRAL = "#f0f0f0"
#: Colour of features with no data.
NO_DATA = "#cccccc"
#: Land-use-change hot spots (stock losses and gains, tC/ha): oranges for losses, purples for
#: gains, so that they are not read as the red/blue flow choropleth beneath them. Order of
#: ``geocarbon.carbon.pixels.HOTSPOT_CLASSES``: loss > 50, loss 10–50, gain 10–50, gain > 50.
HOTSPOT = ("#b35806", "#f1a340", "#998ec3", "#542788")
#: Rooftop photovoltaics: light yellow to brown, five classes.
PV = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#cc4c02")
#: Charging points: light to dark blue, five classes.
CHARGING = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
#: Buildings of the PV map by annual energy: under 5, 5–20, 20–100, over 100 MWh/yr.
PV_ENERGY = ("#fee391", "#fec44f", "#ec7014", "#8c2d04")
#: Buildings of the PV map without potential (excluded or too small).
NO_POTENTIAL = "#9e9e9e"
#: Population cells of the charging map by distance to the nearest point: within 1 km,
#: 1–5 km, 5 km and more, white zone (green near, red far).
ACCESS = ("#1a9850", "#a6d96a", "#fdae61", "#d73027")

#: The palette of each mapped figure (column id → sequential palette, light to dark): the
#: interactive maps, the QGIS styles (``geocarbon.styles``) and the report's static maps
#: (``geocarbon.report_charts``) all take it from here, so a figure has the same colours in
#: each. Diverging figures (flows, tCO2e/yr) always use :data:`DIVERGING_NEGATIVE` and
#: :data:`DIVERGING_POSITIVE`; a figure not listed uses :data:`SEQUENTIAL`.
PALETTES: dict[str, tuple[str, ...]] = {
    "stock_tc_per_ha": SEQUENTIAL,
    "stock_tc": SEQUENTIAL,
    "pv_mwh_per_yr": PV,
    "pv_mwp": PV,
    "pv_kwp": PV,
    "pv_kwp_per_inhab": PV,
    "kwh_per_yr": PV,
    "ev_points_per_100k_inhab": CHARGING,
    "ev_points": CHARGING,
    "power_kw": CHARGING,
    # distance to the nearest charging point: near in green, far in red (as the access
    # classes of the charging map)
    "distance_m": ACCESS,
}


def palette(figure: str) -> tuple[str, ...]:
    """The sequential palette (light to dark) of the mapped figure ``figure`` (a column id),
    from :data:`PALETTES`; :data:`SEQUENTIAL` for a figure not listed."""
    return PALETTES.get(figure, SEQUENTIAL)


@dataclass(frozen=True)
class Classes:
    """Classes of one mapped value.

    Attributes
    ----------
    bins : list of float
        Class edges, ``len(colors) + 1`` values, non-decreasing (in the values' unit).
    colors : list of str
        One ``#rrggbb`` colour per class.
    labels : list of str
        One legend label per class (edges rounded to 2 significant digits).
    note : str
        ``""``; ``"no data"`` (no finite value: no class); ``"no change"`` (a diverging layer
        whose values are all zero: one neutral class); ``"single value"`` (all values equal).
    diverging : bool
        Scale symmetric around zero (membership rules of the module docstring).
    """

    bins: list[float]
    colors: list[str]
    labels: list[str]
    note: str = ""
    diverging: bool = False


def round_sig(value: float, digits: int = 2) -> float:
    """``value`` rounded to ``digits`` significant digits (0 and non-finite values unchanged)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(round(value, -math.floor(math.log10(abs(value))) + digits - 1))


def _round_out(value: float, up: bool, digits: int = 2) -> float:
    """``value`` rounded to ``digits`` significant digits away from the data (up or down)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    step = math.ceil(value / scale) if up else math.floor(value / scale)
    return float(round(step * scale, 12))


def format_value(value: float, lang: str = "en", digits: int = 2) -> str:
    """A number for reading: ``digits`` significant digits, thousands separators, no false
    decimals ("5,200", "0.034"; French: "5 200", "0,034"), minus sign "−"."""
    if not math.isfinite(value):
        return ""
    v = round_sig(value, digits)
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(v))))
    text = f"{abs(v):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return ("−" if v < 0 else "") + text


def _label(lo: float, hi: float, lang: str) -> str:
    if lo == hi:
        return format_value(lo, lang)
    return f"{format_value(lo, lang)} – {format_value(hi, lang)}"


def _distinct_edges(edges: Sequence[float]) -> list[float]:
    out: list[float] = []
    for e in edges:
        if not out or e > out[-1]:
            out.append(float(e))
    return out


def layer_classes(
    values: np.ndarray,
    *,
    diverging: bool,
    colors: Sequence[str] | None = None,
    n: int = 5,
    lang: str = "en",
) -> Classes:
    """Class breaks, colours and legend labels of one mapped value.

    Parameters
    ----------
    values : ndarray of float
        The mapped values (any unit; NaN = no data, never a class).
    diverging : bool
        True for signed values (flows, tCO2e/yr: negative = emission in reds, positive =
        sequestration in blues): classes symmetric around zero. False: sequential classes
        from quantiles.
    colors : sequence of str, optional
        Sequential palette, light to dark (default :data:`SEQUENTIAL`); ignored when
        ``diverging``. At most ``len(colors)`` classes.
    n : int
        Wanted number of sequential classes (fewer when the values have fewer distinct
        rounded quantiles).
    lang : {"en", "fr"}
        Number format of the labels.

    Returns
    -------
    Classes
        Edges rounded to 2 significant digits, increasing and distinct (except a first class
        of one exact value), covering every finite value. A legend has a single class only
        when every value is equal (labelled with that value; "no change" for zeros on a
        diverging scale).
    """
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    if len(finite) == 0:
        return Classes([], [], [], "no data", diverging)
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        if diverging and lo == 0:
            return Classes([0.0, 0.0], [NEUTRAL], ["0"], "no change", True)
        if diverging:
            color = DIVERGING_NEGATIVE[1] if lo < 0 else DIVERGING_POSITIVE[1]
        else:
            palette = list(colors or SEQUENTIAL)
            color = palette[min(1, len(palette) - 1)]  # light: overlays stay readable
        return Classes([lo, lo], [color], [format_value(lo, lang, 3)], "single value", diverging)
    if diverging:
        return _diverging(finite, lang)
    return _sequential(finite, list(colors or SEQUENTIAL), n, lang)


def _sequential(finite: np.ndarray, palette: list[str], n: int, lang: str) -> Classes:
    n = max(2, min(n, len(palette)))
    lo, hi = float(finite.min()), float(finite.max())
    top = _round_out(hi, up=True)
    ties = np.count_nonzero(finite == lo)
    if ties > 1 and ties * n >= len(finite):
        # many values equal to the minimum (e.g. communes without any charging point): the
        # minimum gets a class of its own, the other values quantile classes above it
        rest = finite[finite > lo]
        qs = np.quantile(rest, np.linspace(0, 1, n))[1:-1]
        inner = [round_sig(float(q)) for q in qs]
        edges = [lo, *_distinct_edges([lo, *[e for e in inner if lo < e < top], top])]
    else:
        bottom = _round_out(lo, up=False)
        qs = np.quantile(finite, np.linspace(0, 1, n + 1))[1:-1]
        inner = [round_sig(float(q)) for q in qs]
        edges = _distinct_edges([bottom, *[e for e in inner if bottom < e < top], top])
    k = len(edges) - 1
    # spread the palette over the classes (light to dark, both ends kept)
    picks = np.round(np.linspace(0, len(palette) - 1, k)).astype(int) if k > 1 else [0]
    cols = [palette[i] for i in picks]
    labels = [_label(edges[i], edges[i + 1], lang) for i in range(k)]
    return Classes(edges, cols, labels, "", False)


def _diverging(finite: np.ndarray, lang: str) -> Classes:
    mag = np.abs(finite[finite != 0])
    top = _round_out(float(mag.max()), up=True)
    inner = sorted({round_sig(float(np.quantile(mag, q))) for q in (0.5, 0.9)})
    inner = [v for v in inner if 0 < v < top]
    side = [*inner, top]
    n_side = len(side)
    neg_edges = [-v for v in reversed(side)]  # -top ... -inner[0]
    has_zero = bool(np.any(finite == 0))
    edges = [*neg_edges, 0.0]
    cols = list(DIVERGING_NEGATIVE[3 - n_side :])
    if has_zero:
        edges.append(0.0)
        cols.append(NEUTRAL)
    edges += side
    cols += list(DIVERGING_POSITIVE[:n_side])
    labels = []
    for i in range(len(cols)):
        a, b = edges[i], edges[i + 1]
        labels.append("0" if a == b == 0 else _label(a, b, lang))
    full = Classes(edges, cols, labels, "", True)
    # the scale is symmetric, but the legend shows no outer class that no value falls in
    # (a legend starting at -29,000 where the lowest value is -615 tells of emitters that
    # do not exist); kept classes keep their colour, so a shade means the same on both sides
    counts = np.bincount(classify(finite, full), minlength=len(cols))
    lo, hi = 0, len(cols)
    while lo < hi - 1 and counts[lo] == 0 and edges[lo + 1] <= 0:
        lo += 1
    while hi > lo + 1 and counts[hi - 1] == 0 and edges[hi - 1] >= 0:
        hi -= 1
    return Classes(edges[lo : hi + 1], cols[lo:hi], labels[lo:hi], "", True)


def classify(values: np.ndarray, classes: Classes) -> np.ndarray:
    """Class index of each value (``-1`` = no data or outside every class).

    Parameters
    ----------
    values : ndarray of float
        Values in the unit of ``classes``.
    classes : Classes
        From :func:`layer_classes`.

    Returns
    -------
    ndarray of int
        Index into ``classes.colors`` / ``classes.labels``.
    """
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, -1, dtype=int)
    b = classes.bins
    finite = np.isfinite(v)
    for k in range(len(classes.colors)):
        lo, hi = b[k], b[k + 1]
        if lo == hi:
            inside = v == lo
        elif classes.diverging and hi <= 0:
            inside = (v >= lo) & (v < hi)
        elif k == 0 and not classes.diverging:
            inside = (v >= lo) & (v <= hi)
        else:
            inside = (v > lo) & (v <= hi)
        out[finite & inside & (out < 0)] = k
    # the diverging extremes are inclusive
    if classes.diverging and len(b) > 1:
        out[finite & (v == b[0]) & (out < 0)] = 0
    return out


# --------------------------------------------------------------------------------------------
# fixed classes: the same bounds on every territory (not chosen from the values)


@dataclass(frozen=True)
class FixedClasses:
    """Classes of one value with fixed bounds, drawn the same on the maps and in QGIS.

    A feature is in class ``k`` when its value ``v`` (column :attr:`column`, in the unit of
    its name) holds ``bins[k] < v <= bins[k + 1]`` (``bins[0] <= v`` for the first class when
    :attr:`lowest_inclusive`) and it is not flagged by :attr:`flag_column`. Every other
    feature is in the *other* class (:attr:`other_label_id`, :attr:`other_color`), shown last
    in the legends. The map builders classify with :meth:`classify`;
    :mod:`geocarbon.styles` writes the same rule as a QGIS expression and graduated ranges.

    Attributes
    ----------
    title_id : str
        Display-name id (:mod:`geocarbon.labels`) of the legend's title.
    column : str
        The classified column.
    bins : tuple of float
        Class bounds in the column's unit, ``len(colors) + 1`` increasing values (the last
        may be ``inf``: an open class).
    colors : tuple of str
        ``#rrggbb`` colour of each class.
    label_ids : tuple of str
        Display-name id of each class (its bounds may be in a reading unit: MWh, km).
    other_label_id, other_color : str
        Display-name id and colour of the other class.
    flag_column : str
        Column putting a feature in the other class whatever its value.
    flag : {"text", "true"}
        ``"text"``: flagged unless the column holds an empty text (an exclusion reason);
        ``"true"``: flagged when the column is true.
    lowest_inclusive : bool
        Whether the first class holds its lower bound.
    missing_last : bool
        A missing value (NaN) is in the last class (e.g. no point reachable: far) rather
        than in the other class.
    """

    title_id: str
    column: str
    bins: tuple[float, ...]
    colors: tuple[str, ...]
    label_ids: tuple[str, ...]
    other_label_id: str
    other_color: str
    flag_column: str
    flag: str
    lowest_inclusive: bool = True
    missing_last: bool = False

    def labels(self, lang: Language = "fr") -> list[str]:
        """Legend label of each class (without the other class), in ``lang``."""
        return [label(i, lang) for i in self.label_ids]

    def other_label(self, lang: Language = "fr", suffix: str = "") -> str:
        """Legend label of the other class in ``lang``, followed by ``suffix``."""
        return label(self.other_label_id, lang) + suffix

    def legend(self, lang: Language = "fr", other_suffix: str = "") -> dict[str, str]:
        """Legend label → colour of every class, the other class last."""
        legend = dict(zip(self.labels(lang), self.colors, strict=True))
        legend[self.other_label(lang, other_suffix)] = self.other_color
        return legend

    def flagged(self, frame: Any) -> np.ndarray:
        """Which rows of ``frame`` :attr:`flag_column` puts in the other class."""
        col = frame[self.flag_column]
        if self.flag == "text":
            return ~np.asarray(col.astype(object) == "", dtype=bool)
        return np.asarray(col.astype(object).fillna(False).astype(bool), dtype=bool)

    def classify(self, frame: Any) -> np.ndarray:
        """Class index of each row of ``frame``: ``0 .. len(colors) - 1``, or
        ``len(colors)`` for the other class.

        Parameters
        ----------
        frame : DataFrame
            Holds :attr:`column` (in its unit) and :attr:`flag_column`.

        Returns
        -------
        ndarray of int
        """
        v = np.asarray(frame[self.column], dtype=float)
        n = len(self.colors)
        if self.missing_last:
            v = np.where(np.isnan(v), np.inf, v)
        out = np.full(v.shape, n, dtype=int)
        b = self.bins
        for k in range(n):
            above = (v >= b[k]) if (k == 0 and self.lowest_inclusive) else (v > b[k])
            out[above & (v <= b[k + 1]) & (out == n)] = k
        out[self.flagged(frame)] = n
        return out

    def names(self, frame: Any, lang: Language = "fr", other_suffix: str = "") -> np.ndarray:
        """Legend label of each row of ``frame`` (see :meth:`classify`)."""
        names = np.array([*self.labels(lang), self.other_label(lang, other_suffix)], dtype=object)
        return names[self.classify(frame)]


#: Buildings of the rooftop PV map and of the GeoPackage's ``pv_buildings`` layer, by
#: annual energy ``kwh_per_yr`` [kWh/yr]: under 5, 5–20, 20–100, over 100 MWh/yr; an
#: excluded building (``excluded_reason`` set) or one producing nothing has no potential.
PV_BUILDING_CLASSES = FixedClasses(
    title_id="pv_buildings_map",
    column="kwh_per_yr",
    bins=(0.0, 5_000.0, 20_000.0, 100_000.0, math.inf),
    colors=PV_ENERGY,
    label_ids=("pv_class_under_5", "pv_class_5_20", "pv_class_20_100", "pv_class_over_100"),
    other_label_id="no_potential",
    other_color=NO_POTENTIAL,
    flag_column="excluded_reason",
    flag="text",
    lowest_inclusive=False,
)

#: Population cells of the charging map and of the GeoPackage's ``charging_access`` layer,
#: by distance to the nearest point ``distance_m`` [m]: within 1 km, 1–5 km, 5 km and more
#: (no point reachable included); a populated cell beyond the white-zone distance
#: (``white_zone`` true) is a white zone.
ACCESS_CLASSES = FixedClasses(
    title_id="population_by_distance",
    column="distance_m",
    bins=(0.0, 1_000.0, 5_000.0, math.inf),
    colors=ACCESS[:3],
    label_ids=("access_within_1km", "access_1_5km", "access_5km_more"),
    other_label_id="white_zone",
    other_color=ACCESS[3],
    flag_column="white_zone",
    flag="true",
    lowest_inclusive=True,
    missing_last=True,
)


def white_zone_suffix(white_zone_m: float | None, lang: Language = "fr") -> str:
    """The white zone's distance after its legend label (" (> 10 km)"), "" when unknown."""
    if white_zone_m is None:
        return ""
    return f" (> {format_value(white_zone_m / 1000, lang, 3)} km)"
