"""Exact-coverage zonal cross-tab: areas from the fraction of each pixel inside each zone.

The cell-centre engine (:mod:`geocarbon.zonal`) gives each pixel wholly to the zone holding
its centre; a zone of a few pixels (a small commune on a 100 m grid) then gains or loses
whole pixels along its boundary. Here each pixel counts in every zone it overlaps, for the
share of its area inside the zone (its coverage fraction, computed by exactextract:
:func:`geocarbon.io.exact.exact_cells`), times its true area [m²]
(:meth:`geocarbon.geo.PixelAreaModel.cells_m2`, never an area in degrees). On an equal-area
grid the areas of a zone then add up to its area inside the raster, to float precision.

The result has the shape of the cell-centre engine's (:class:`~geocarbon.zonal.ZonalResult`),
so everything downstream is unchanged; secondary layers (forest map, land cover at the
start date) are cross-tabulated as there, each (class, secondary class) pair weighted by
the coverage fraction of its pixels. Where zones overlap, a pixel counts in each of them
for its share (the cell-centre engine gives it to the last one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from geocarbon.geo import M2_PER_HA, PixelAreaModel
from geocarbon.notices import Notice
from geocarbon.values import ExactCells
from geocarbon.zonal import NO_VALUE, ZonalResult, check_integral, valid_mask

#: Communes whose figures the difference notice names first (all are in its items).
DIFFERENCE_SHOWN = 10


def exact_crosstab(
    batches: Iterable[ExactCells],
    n_zones: int,
    pixel_areas: PixelAreaModel,
    width: int,
    *,
    main: str = "landcover",
    secondary: Sequence[str] = (),
    extra_nodata: Sequence[float] = (),
    labels: Mapping[str, str] | None = None,
) -> ZonalResult:
    """Cross-tabulate zones with categorical layers from exact coverage fractions.

    Parameters
    ----------
    batches : iterable of ExactCells
        The (zone, pixel) pairs with coverage fractions and the layers' values.
    n_zones : int
        Number of zones (zone ``i`` is index ``i``).
    pixel_areas : PixelAreaModel
        True pixel areas [m²] of the grid.
    width : int
        Columns of the grid (pixel index = ``row * width + col``).
    main, secondary, extra_nodata, labels
        As :func:`geocarbon.zonal.zonal_crosstab`.

    Returns
    -------
    ZonalResult
        ``zone_area_m2``: the zone's area over the grid [m²] (nodata included);
        ``valid_area_m2``: over valid pixels of ``main``; ``pixel_count``: pixels the zone
        overlaps, even partly; ``crosstab`` as the cell-centre engine's; no ``sums``;
        ``outside_valid_area_m2`` NaN (not computed).

    Raises
    ------
    InputError
        When a float categorical layer holds non-integer, infinite or out-of-range values.
    """
    names = [main, *secondary]
    totals = (np.zeros(n_zones), np.zeros(n_zones), np.zeros(n_zones, dtype=np.int64))
    parts = [
        _batch_areas(cells, totals, pixel_areas, width, names, extra_nodata, labels or {})
        for cells in batches
    ]
    return ZonalResult(
        zone_area_m2=totals[0],
        valid_area_m2=totals[1],
        pixel_count=totals[2],
        crosstab=_merged(parts, names),
        sums=pd.DataFrame(index=pd.RangeIndex(n_zones, name="zone")),
        outside_valid_area_m2=float("nan"),
        layers=names,
    )


def _batch_areas(
    cells: ExactCells,
    totals: tuple[np.ndarray, np.ndarray, np.ndarray],
    pixel_areas: PixelAreaModel,
    width: int,
    names: list[str],
    extra_nodata: Sequence[float],
    labels: Mapping[str, str],
) -> pd.DataFrame:
    """Add one batch's areas [m²] to ``totals`` (zone area, valid area, pixels touched)
    and return its cross-tab: ``zone``, each layer's code, ``area_m2`` (valid pixels of the
    main layer ``names[0]``; :data:`NO_VALUE` where a secondary layer has none)."""
    zone_m2, valid_m2, count = totals
    n_zones = len(zone_m2)
    rows, cols = np.divmod(cells.cell, width)
    area_m2 = pixel_areas.cells_m2(rows, cols) * cells.coverage
    zone_m2 += np.bincount(cells.zone, weights=area_m2, minlength=n_zones)
    count += np.bincount(cells.zone, minlength=n_zones)
    for name in names:
        if np.issubdtype(cells.values[name].dtype, np.floating):
            check_integral(cells.values[name], labels.get(name, name))
    main = names[0]
    ok = valid_mask(cells.values[main], cells.nodata.get(main), extra_nodata)
    valid_m2 += np.bincount(cells.zone[ok], weights=area_m2[ok], minlength=n_zones)
    columns = {"zone": cells.zone[ok], main: cells.values[main][ok].astype(np.int64)}
    for name in names[1:]:
        values = cells.values[name][ok]
        has = valid_mask(values, cells.nodata.get(name))
        columns[name] = np.where(has, np.nan_to_num(values), NO_VALUE).astype(np.int64)
    columns["area_m2"] = area_m2[ok]
    return pd.DataFrame(columns).groupby(["zone", *names], as_index=False).sum()


def _merged(parts: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """The batches' tables as one, a row per (zone, class combination), sorted."""
    if not parts:
        empty = {"zone": np.array([], dtype=np.int64)}
        return pd.DataFrame({**empty, **dict.fromkeys(names, empty["zone"]), "area_m2": []})
    table = pd.concat(parts, ignore_index=True)
    return table.groupby(["zone", *names], as_index=False, sort=True).agg(
        area_m2=("area_m2", "sum")
    )


def difference_notice(
    codes: np.ndarray, exact_m2: np.ndarray, centre_m2: np.ndarray
) -> Notice | None:
    """How far cell-centre counting is from the exact areas, per commune.

    Parameters
    ----------
    codes : ndarray of str
        Commune code of each zone.
    exact_m2, centre_m2 : ndarray of float
        Valid land-cover area [m²] of each zone, exact and by cell centres.

    Returns
    -------
    Notice or None
        ``zonal_exact_difference``: every commune whose two areas differ, largest relative
        difference first (items: ``code (exact ha; cell centres ha: ±%)``), with the largest
        absolute and relative differences and the territory totals in its facts; None when
        no commune has land cover.
    """
    exact_ha, centre_ha = exact_m2 / M2_PER_HA, centre_m2 / M2_PER_HA
    diff_ha = centre_ha - exact_ha
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(exact_ha > 0, diff_ha / exact_ha, np.nan)
    if not (exact_ha > 0).any():
        return None
    order = np.lexsort((-np.abs(diff_ha), -np.nan_to_num(np.abs(rel), nan=np.inf)))
    order = order[diff_ha[order] != 0]
    items = [
        f"{codes[i]} ({exact_ha[i]:,.2f} ha exact; {centre_ha[i]:,.2f} ha by cell centres: "
        + (f"{rel[i]:+.1%})" if np.isfinite(rel[i]) else "no exact area)")
        for i in order
    ]
    worst_abs = int(np.argmax(np.abs(diff_ha)))
    worst_rel = int(np.nanargmax(np.abs(rel)))
    facts = {
        "n_communes": len(items),
        "max_abs_diff_ha": float(abs(diff_ha[worst_abs])),
        "max_abs_commune": str(codes[worst_abs]),
        "max_rel_diff_share": float(abs(rel[worst_rel])),
        "max_rel_commune": str(codes[worst_rel]),
        "exact_total_ha": float(exact_ha.sum()),
        "centre_total_ha": float(centre_ha.sum()),
    }
    return Notice(
        "zonal_exact_difference",
        f"exact land-cover areas (zonal.method: exact) differ from cell-centre counting in "
        f"{facts['n_communes']:,} communes: up to {facts['max_abs_diff_ha']:,.2f} ha "
        f"({facts['max_abs_commune']}) and {facts['max_rel_diff_share']:.1%} "
        f"({facts['max_rel_commune']}); territory {facts['exact_total_ha']:,.1f} ha exact, "
        f"{facts['centre_total_ha']:,.1f} ha by cell centres; the exact areas are used",
        items,
        facts=facts,
    )
