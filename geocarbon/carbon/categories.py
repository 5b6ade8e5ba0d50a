"""Land-use categories: the CLC → category mapping of ADEME ALDO, forest types, and the
artificial-land split.

Category identifiers are English snake_case; :data:`ALDO_NAMES` gives ALDO's labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocarbon.errors import InputError
from geocarbon.values import ALDO_SEALED_SHARE

#: Categories a stock is computed for, with ALDO's French label.
ALDO_NAMES: dict[str, str] = {
    "cropland": "cultures",
    "grassland_herbaceous": "prairies zones herbacées",
    "grassland_shrubby": "prairies zones arbustives",
    "grassland_wooded": "prairies zones arborées",
    "wetland": "zones humides",
    "orchard": "vergers",
    "vineyard": "vignes",
    "artificial_sealed": "sols artificiels imperméabilisés",
    "artificial_grassed": "sols artificiels enherbés et arbustifs",
    "artificial_wooded": "sols artificiels arborés et buissonants",
    "forest_broadleaf": "forêt feuillus",
    "forest_conifer": "forêt conifères",
    "forest_mixed": "forêt mixte",
    "forest_poplar": "forêt peupleraies",
    "no_stock": "sans stock (roches, glaciers, sols nus)",
}
STOCK_CATEGORIES = tuple(ALDO_NAMES)

#: Land-cover category before the artificial split (CLC 111–142 but 141).
ARTIFICIAL = "artificial"
#: Categories a land-cover mapping may use.
LANDCOVER_CATEGORIES = (*STOCK_CATEGORIES, ARTIFICIAL)
FOREST_CATEGORIES = ("forest_broadleaf", "forest_conifer", "forest_mixed", "forest_poplar")
#: Agricultural land (ALDO's "Sols agricoles": cropland, grassland, orchards, vineyards).
AGRICULTURAL_CATEGORIES = (
    "cropland",
    "grassland_herbaceous",
    "grassland_shrubby",
    "grassland_wooded",
    "orchard",
    "vineyard",
)


def _codes(*codes: int) -> list[int]:
    return list(codes)


#: Corine Land Cover level-3 code → category, as in ALDO (CLC 324 → mixed forest, as in
#: ALDO's current constants; 141 is the wooded part of artificial land).
CLC_CATEGORIES: dict[int, str] = {
    **dict.fromkeys(_codes(211, 212, 213, 241, 242, 243, 244), "cropland"),
    **dict.fromkeys(_codes(231, 321), "grassland_herbaceous"),
    322: "grassland_shrubby",
    323: "grassland_wooded",
    **dict.fromkeys(_codes(411, 412, 421, 422, 423, 511, 512, 521, 522, 523), "wetland"),
    **dict.fromkeys(_codes(222, 223), "orchard"),
    221: "vineyard",
    **dict.fromkeys(_codes(111, 112, 121, 122, 123, 124, 131, 132, 133, 142), ARTIFICIAL),
    141: "artificial_wooded",
    311: "forest_broadleaf",
    312: "forest_conifer",
    313: "forest_mixed",
    324: "forest_mixed",
    **dict.fromkeys(_codes(331, 332, 333, 334, 335), "no_stock"),
}

#: CLC codes that are not land cover but missing data in Copernicus products.
CLC_NODATA_CODES = (990, 995, 999)

#: The official CLC rasters store a grid code 1–44 (the level-3 classes in order) instead of
#: the three-digit code; 48 is "no data", 49 and 50 unclassified land and water.
CLC_GRID_CODES: dict[int, int] = {i + 1: code for i, code in enumerate(sorted(CLC_CATEGORIES))}
CLC_GRID_NODATA = (48, 49, 50)


def mapping_from_table(table: pd.DataFrame, source: str) -> dict[int, str]:
    """Build a code → category mapping from a table with columns ``code`` and ``category``.

    Raises
    ------
    InputError
        Unknown categories, non-integer or duplicated codes.
    """
    for col in ("code", "category"):
        if col not in table.columns:
            msg = f"land-cover mapping {source}: column {col!r} missing; columns: {', '.join(table.columns)}"
            raise InputError(msg)
    codes = pd.to_numeric(table["code"], errors="coerce")
    bad = table.loc[codes.isna() | (codes != np.floor(codes)), "code"].tolist()
    if bad:
        msg = f"land-cover mapping {source}: codes must be integers; got {bad[:10]}"
        raise InputError(msg)
    dups = codes[codes.duplicated()].astype(int).tolist()
    if dups:
        msg = f"land-cover mapping {source}: codes listed twice: {dups[:10]}"
        raise InputError(msg)
    cats = table["category"].astype(str).str.strip()
    unknown = sorted(set(cats) - set(LANDCOVER_CATEGORIES))
    if unknown:
        msg = (
            f"land-cover mapping {source}: unknown categories {unknown}; "
            f"use one of: {', '.join(LANDCOVER_CATEGORIES)}"
        )
        raise InputError(msg)
    return dict(zip(codes.astype(int).tolist(), cats.tolist(), strict=True))


def check_mapping_covers(codes_area_ha: pd.Series, mapping: dict[int, str], source: str) -> None:
    """Raise when land-cover codes found in the raster are absent from the mapping.

    Parameters
    ----------
    codes_area_ha : Series
        Area [ha] per code found in the raster (index = code).
    """
    missing = codes_area_ha[~codes_area_ha.index.isin(list(mapping))]
    if len(missing):
        listed = ", ".join(f"{int(str(c))} ({a:,.1f} ha)" for c, a in missing.sort_index().items())
        msg = (
            f"land cover {source}: class codes absent from the nomenclature: {listed}. "
            "Map them in landcover.category_overrides (code: category), give a mapping table "
            "(landcover.nomenclature: table), or declare them as nodata (landcover.nodata_values)."
        )
        raise InputError(msg)


def assign_categories(
    areas: pd.DataFrame,
    mapping: dict[int, str],
    forest_codes: dict[int, str] | None = None,
    forest_mode: str = "composition",
) -> pd.Series:
    """Category of each row of a land-use area table.

    Parameters
    ----------
    areas : DataFrame
        Columns ``landuse_code`` and, when a forest map is used, ``forest_code``
        (-1 where the forest map has no value).
    mapping : dict
        Land-cover code → category.
    forest_codes : dict, optional
        Forest-map code → forest type (``broadleaf``, ``conifer``, ``mixed``, ``poplar``).
    forest_mode : {"composition", "override"}
        ``composition``: the forest map gives the type of land-cover forest pixels only;
        ``override``: every pixel the forest map types becomes forest of that type.
    """
    cats = areas["landuse_code"].map(mapping)
    if forest_codes and "forest_code" in areas.columns:
        ftype = areas["forest_code"].map({k: f"forest_{v}" for k, v in forest_codes.items()})
        typed = ftype.notna()
        if forest_mode == "override":
            cats = cats.where(~typed, ftype)
        else:
            is_forest = cats.isin(FOREST_CATEGORIES)
            cats = cats.where(~(typed & is_forest), ftype)
    return cats.astype(object)


def split_artificial(
    category_areas: pd.DataFrame, sealed_share: float = ALDO_SEALED_SHARE
) -> pd.DataFrame:
    """ALDO's split of artificial land into sealed, grassed and wooded parts, per commune.

    ALDO assumes artificial land is ``sealed_share`` (80 %) sealed; the green rest is
    wooded (CLC 141) first, grassed/shrubby for the remainder. With A the area of
    artificial codes other than 141 and W that of 141, T = A + W:
    if W < (1 − s)·T: sealed = s·T, grassed = (1 − s)·T − W, wooded = W;
    otherwise sealed = A, grassed = 0, wooded = W.

    Parameters
    ----------
    category_areas : DataFrame
        ``commune_code``, ``category``, ``area_ha`` (``artificial`` rows are split).

    Returns
    -------
    DataFrame
        Same columns, ``artificial`` replaced by ``artificial_sealed`` and
        ``artificial_grassed``; areas [ha] summed per commune and category.
    """
    frame = category_areas.groupby(["commune_code", "category"], as_index=False).agg(
        area_ha=("area_ha", "sum")
    )
    wide = frame.pivot_table(
        index="commune_code", columns="category", values="area_ha", aggfunc="sum", fill_value=0.0
    )
    if ARTIFICIAL not in wide.columns:
        return frame
    a = wide[ARTIFICIAL]
    w = (
        wide["artificial_wooded"]
        if "artificial_wooded" in wide.columns
        else pd.Series(0.0, index=wide.index)
    )
    total = a + w
    green_share = 1.0 - sealed_share
    below = w < green_share * total
    sealed = np.where(below, sealed_share * total, a)
    grassed = np.where(below, green_share * total - w, 0.0)
    split = pd.DataFrame(
        {"artificial_sealed": sealed, "artificial_grassed": grassed},
        index=wide.index,
    )
    split = split.reset_index().melt(
        id_vars="commune_code", var_name="category", value_name="area_ha"
    )
    split = split[split["area_ha"] > 0]
    rest = frame[frame["category"] != ARTIFICIAL]
    out = pd.concat([rest, split], ignore_index=True)
    return out.groupby(["commune_code", "category"], as_index=False, sort=True).agg(
        area_ha=("area_ha", "sum")
    )
