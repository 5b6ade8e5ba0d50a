"""Pixel maps of carbon stock density [tC/ha] and of its change between two dates, and
the land-use-change hot spots drawn from them.

A pixel's density is the sum over pools of the reference stocks of its commune and
category. Artificial land is not split at pixel level: its density is the sealed share ×
the sealed density + the rest × the grassed density (ALDO's 80/20 assumption).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import shapes

from geocarbon.carbon.categories import ARTIFICIAL, FOREST_CATEGORIES, STOCK_CATEGORIES
from geocarbon.geo import area_ha

#: Change classes of the hot-spot layer [tC/ha]: (lower bound, upper bound, label).
HOTSPOT_CLASSES = (
    (-np.inf, -50.0, "loss over 50 tC/ha"),
    (-50.0, -10.0, "loss 10–50 tC/ha"),
    (10.0, 50.0, "gain 10–50 tC/ha"),
    (50.0, np.inf, "gain over 50 tC/ha"),
)


@dataclass(frozen=True)
class DensityLookup:
    """Stock density [tC/ha] per (zone index, category index), and code → category index.

    Attributes
    ----------
    table : ndarray, shape (n_zones, n_categories)
    codes : ndarray
        Sorted land-cover codes of the nomenclature.
    code_category : ndarray
        Category index of each code in ``codes`` (-1 = no category).
    forest_category : dict
        Forest-map code → category index.
    """

    table: np.ndarray
    codes: np.ndarray
    code_category: np.ndarray
    forest_category: dict[int, int]
    forest_mode: str = "composition"

    def density(
        self,
        zones: np.ndarray,
        codes: np.ndarray,
        valid: np.ndarray,
        forest: np.ndarray | None = None,
    ) -> np.ndarray:
        """Density [tC/ha] of each pixel (NaN outside communes or on nodata).

        Parameters
        ----------
        zones : ndarray
            Global zone index of each pixel (-1 = none).
        codes : ndarray
            Land-cover code of each pixel.
        valid : ndarray of bool
            Pixels holding a land-cover value.
        forest : ndarray, optional
            Forest-map code of each pixel.
        """
        flat = codes.astype(np.int64, copy=False)
        pos = np.clip(np.searchsorted(self.codes, flat), 0, len(self.codes) - 1)
        cat = np.where(self.codes[pos] == flat, self.code_category[pos], -1)
        if forest is not None and self.forest_category:
            fkeys = np.array(sorted(self.forest_category), dtype=np.int64)
            fvals = np.array([self.forest_category[k] for k in fkeys], dtype=np.int64)
            fpos = np.clip(np.searchsorted(fkeys, forest.astype(np.int64)), 0, len(fkeys) - 1)
            typed = fkeys[fpos] == forest
            forest_idx = [STOCK_CATEGORIES.index(c) for c in FOREST_CATEGORIES]
            where = typed if self.forest_mode == "override" else typed & np.isin(cat, forest_idx)
            cat = np.where(where, fvals[fpos], cat)
        ok = valid & (zones >= 0) & (cat >= 0)
        out = np.full(codes.shape, np.nan, dtype=np.float32)
        out[ok] = self.table[zones[ok], cat[ok]]
        return out


def density_lookup(
    reference: pd.DataFrame,
    commune_codes: np.ndarray,
    mapping: dict[int, str],
    *,
    sealed_share: float = 0.8,
    forest_codes: dict[int, str] | None = None,
    forest_mode: str = "composition",
) -> DensityLookup:
    """Build the density lookup from reference stocks (``commune_code``, ``category``,
    ``pool``, ``ref_stock_tc_per_ha``)."""
    cats = [*STOCK_CATEGORIES, ARTIFICIAL]
    total = reference.groupby(["commune_code", "category"])["ref_stock_tc_per_ha"].sum().unstack()
    total = total.reindex(index=commune_codes, columns=list(STOCK_CATEGORIES)).fillna(0.0)
    total[ARTIFICIAL] = (
        sealed_share * total["artificial_sealed"] + (1 - sealed_share) * total["artificial_grassed"]
    )
    table = total[cats].to_numpy(dtype=np.float32)
    keys = np.array(sorted(mapping), dtype=np.int64)
    code_category = np.array(
        [cats.index(mapping[int(k)]) if mapping[int(k)] in cats else -1 for k in keys]
    )
    fcat = {int(k): cats.index(f"forest_{v}") for k, v in (forest_codes or {}).items()}
    return DensityLookup(table, keys, code_category, fcat, forest_mode)


def hotspot_polygons(change: np.ndarray, transform: Affine) -> list[tuple[shapely.Geometry, int]]:
    """Polygons of pixels whose density changed by more than 10 tC/ha, by class.

    Returns
    -------
    list of (geometry, class index in :data:`HOTSPOT_CLASSES`)
    """
    classes = np.zeros(change.shape, dtype=np.uint8)
    for i, (lo, hi, _) in enumerate(HOTSPOT_CLASSES, start=1):
        classes[(change >= lo) & (change < hi)] = i
    if not classes.any():
        return []
    out = []
    for geom, value in shapes(classes, mask=classes > 0, transform=transform, connectivity=8):
        out.append((shapely.geometry.shape(geom), int(value) - 1))
    return out


def hotspot_frame(polygons: list[tuple[shapely.Geometry, int]], crs: object) -> gpd.GeoDataFrame:
    """Hot spots as a GeoDataFrame (``change_class``, ``area_ha``)."""
    frame = gpd.GeoDataFrame(
        {
            "change_class": [HOTSPOT_CLASSES[c][2] for _, c in polygons],
            "class_index": [c for _, c in polygons],
        },
        geometry=[g for g, _ in polygons],
        crs=crs,
    )
    frame["area_ha"] = area_ha(frame)
    return frame
