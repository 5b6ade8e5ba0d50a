"""Reference stocks (tC/ha) per commune, category and pool, from a coefficient set.

Two sets are supported, both read from data:

* **ALDO** (ADEME): soil by pedoclimatic zone of the commune (``stocks-zpc.csv``),
  litter 9 tC/ha in forests, non-forest biomass by inter-region
  (``biomass-hors-forets.csv``), forest live biomass and dead wood from the IGN
  inventory by location with the cascade groupeser → greco → region (rad13) → poplar
  basin → France (``bilan-carbone-foret-par-localisation.csv``).
* **generic**: one value per category and pool for every commune (built-in table
  derived from the IPCC Guidelines, or the user's).

Overrides from the pipeline file replace any value.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import FOREST_CATEGORIES, STOCK_CATEGORIES
from geocarbon.errors import CoefficientError
from geocarbon.notices import Notice
from geocarbon.table_checks import checked_numbers, drop_identical_duplicates
from geocarbon.values import (
    ALDO_FILES,
    ALDO_FOREST_LITTER_TC_PER_HA,
    CARBON_POOLS,
    STOCK_MAX_TC_PER_HA,
    AldoTables,
)

#: INSEE region code → IGN inventory region code (``rad13``).
REGION_TO_RAD13 = {
    "11": "IDF", "24": "CVL", "27": "BFC", "28": "NOR", "32": "HDF", "44": "GES", "52": "PDL",
    "53": "BRE", "75": "NAQ", "76": "OCC", "84": "ARA", "93": "PAC", "94": "COR",
}  # fmt: skip

#: Column of ``stocks-zpc.csv`` used for each category's soil stock.
ALDO_SOIL_COLUMN = {
    "cropland": "cultures",
    "grassland_herbaceous": "prairies",
    "grassland_shrubby": "prairies",
    "grassland_wooded": "prairies",
    "wetland": "zones humides",
    "orchard": "vergers",
    "vineyard": "vignes",
    "artificial_sealed": "sols artificiels imperméabilisés",
    "artificial_grassed": "sols artificiels enherbés",
    "artificial_wooded": "sols artificiels arborés et buissonants",
    **dict.fromkeys(FOREST_CATEGORIES, "forêts"),
}

#: Column of ``biomass-hors-forets.csv`` used for each non-forest category's live biomass
#: (an empty cell means 0, as in ALDO).
ALDO_BIOMASS_COLUMN = {
    "cropland": "cultures",
    "grassland_herbaceous": "prairies zones herbacées",
    "grassland_shrubby": "prairies zones arbustives",
    "grassland_wooded": "prairies zones arborées",
    "wetland": "zones humides",
    "orchard": "vergers",
    "vineyard": "vignes",
    "artificial_sealed": "sols artificiels imperméabilisés",
    "artificial_grassed": "sols artificiels arbustifs",
    "artificial_wooded": "sols artificiels arborés et buissonants",
}

#: Forest category → composition in the IGN inventory table.
ALDO_COMPOSITION = {
    "forest_broadleaf": "Feuillu",
    "forest_conifer": "Conifere",
    "forest_mixed": "Mixte",
    "forest_poplar": "Peupleraie",
}

#: ALDO's substitutions: (rad13, composition) → greco used instead of the region.
ALDO_REGION_SUBSTITUTES = {
    ("COR", "Conifere"): "J",
    ("COR", "Mixte"): "J",
    ("HDF", "Conifere"): "B",
    ("HDF", "Mixte"): "B",
    ("PDL", "Mixte"): "A",
}

REFERENCE_COLUMNS = [
    "commune_code",
    "category",
    "pool",
    "ref_stock_tc_per_ha",
    "coefficient_source",
]


def _aldo_soil(tables: AldoTables, zpc: pd.Series) -> pd.DataFrame:
    stocks = tables.stocks.set_index("zpc")
    needed = sorted(set(ALDO_SOIL_COLUMN.values()))
    missing = [c for c in needed if c not in stocks.columns]
    if missing:
        msg = f"ALDO tables: stocks-zpc.csv lacks columns {missing}"
        raise CoefficientError(msg)
    unknown = sorted(set(zpc) - set(stocks.index))
    if unknown:
        communes = sorted(zpc.index[zpc.isin(unknown)].astype(str))
        msg = (
            f"ALDO tables: {tables.folder / ALDO_FILES['zpc']} gives communes "
            f"{_few(communes)} the pedoclimatic zones {unknown}, which have no row in "
            f"{tables.folder / ALDO_FILES['stocks']} (zones there: "
            f"{', '.join(map(str, stocks.index))}); correct the communes' zone in zpc.csv or "
            "restore the published stocks-zpc.csv"
        )
        raise CoefficientError(msg)
    rows = []
    for category, column in ALDO_SOIL_COLUMN.items():
        values = pd.to_numeric(stocks[column], errors="coerce").reindex(zpc.to_numpy()).to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "commune_code": zpc.index,
                    "category": category,
                    "pool": "soil",
                    "ref_stock_tc_per_ha": values,
                    "coefficient_source": [f"stocks-zpc.csv zpc {z} '{column}'" for z in zpc],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _aldo_biomass(tables: AldoTables, inter_region: pd.Series) -> pd.DataFrame:
    biomass = tables.biomass.set_index("INTER_REG")
    unknown = sorted(set(inter_region) - set(biomass.index))
    if unknown:
        msg = (
            f"ALDO tables: inter-regions {unknown} (from region-to-inter-region.json) have no "
            f"row in {tables.folder / ALDO_FILES['biomass']} (column INTER_REG: "
            f"{', '.join(map(str, biomass.index))}); restore the published files"
        )
        raise CoefficientError(msg)
    rows = []
    for category, column in ALDO_BIOMASS_COLUMN.items():
        if column in biomass.columns:
            numbers = pd.to_numeric(biomass[column], errors="coerce").fillna(0.0)
            values = numbers.reindex(inter_region.to_numpy()).to_numpy()
        else:
            values = np.zeros(len(inter_region))
        rows.append(
            pd.DataFrame(
                {
                    "commune_code": inter_region.index,
                    "category": category,
                    "pool": "live_biomass",
                    "ref_stock_tc_per_ha": values,
                    "coefficient_source": [
                        f"biomass-hors-forets.csv {r} '{column}'" for r in inter_region
                    ],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def forest_inventory_row(
    forest: pd.DataFrame, composition: str, locations: dict[str, str | None], column: str
) -> tuple[pd.Series, str]:
    """Row of the IGN inventory table used for a composition at a location.

    Uses the most specific level whose row is statistically significant
    (``surface_ic == "s"``) and has a value in ``column``: groupeser → greco → rad13 →
    bassin_populicole → France, with ALDO's regional substitutions for Corsica,
    Hauts-de-France and Pays de la Loire.

    Parameters
    ----------
    forest : DataFrame
        The IGN inventory table (``bilan-carbone-foret-par-localisation.csv``).
    composition : str
        ``Feuillu``, ``Conifere``, ``Mixte`` or ``Peupleraie``.
    locations : dict
        Codes for ``groupeser``, ``greco``, ``rad13``, ``bassin_populicole`` (None = unknown).
    column : str
        Column that must hold a value.

    Returns
    -------
    row : Series
    source : str
        The level and code used, e.g. ``"rad13 OCC"``.
    """
    ok = forest[(forest["surface_ic"] == "s") & (forest["composition"] == composition)]
    ok = ok[pd.to_numeric(ok[column], errors="coerce").notna()]
    levels = [
        ("groupeser", locations.get("groupeser")),
        ("greco", locations.get("greco")),
        ("rad13", locations.get("rad13")),
        ("bassin_populicole", locations.get("bassin_populicole")),
        ("France", "France"),
    ]
    rad13 = locations.get("rad13")
    substitute = ALDO_REGION_SUBSTITUTES.get((rad13 or "", composition))
    if substitute and not locations.get("groupeser") and not locations.get("greco"):
        levels.insert(2, ("greco", substitute))
    for level, code in levels:
        if not code:
            continue
        hit = ok[(ok["type_localisation"] == level) & (ok["code_localisation"] == code)]
        if len(hit):
            return hit.iloc[0], f"{level} {code}"
    msg = f"ALDO tables: no forest inventory value {column!r} for {composition}, not even at France level"
    raise CoefficientError(msg)


def forest_cascade(
    forest: pd.DataFrame, composition: str, locations: dict[str, str | None]
) -> tuple[float, float, str]:
    """Forest live biomass and dead wood [tC/ha] for a composition at a location.

    See :func:`forest_inventory_row` for the cascade.

    Returns
    -------
    live_tc_per_ha, dead_tc_per_ha : float
    source : str
        The level and code used, e.g. ``"rad13 OCC"``.
    """
    row, source = forest_inventory_row(forest, composition, locations, "carbone_(tC∙ha-1)")
    live = float(row["carbone_(tC∙ha-1)"])
    dead = pd.to_numeric(row["bois_mort_carbone_(tC∙ha-1)"], errors="coerce")
    return live, float(0.0 if pd.isna(dead) else dead), source


def commune_forest_locations(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    """Forest-inventory location codes per commune (rad13 from the region; finer levels
    from the optional forest-location table)."""
    locs = pd.DataFrame(
        {"commune_code": region.index, "rad13": region.map(REGION_TO_RAD13).to_numpy()}
    )
    for col in ("groupeser", "greco", "bassin_populicole"):
        locs[col] = None
    if tables.forest_locations is not None:
        extra = tables.forest_locations.drop_duplicates("insee").set_index("insee")
        for col in ("groupeser", "greco", "bassin_populicole"):
            if col in extra.columns:
                locs[col] = extra[col].reindex(locs["commune_code"]).to_numpy()
    return locs.astype(object).where(locs.notna(), None)


def _few(items: list[str], n: int = 5) -> str:
    """The first ``n`` items, and how many more."""
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def unmatched_forest_locations(tables: AldoTables, communes: np.ndarray) -> list[Notice]:
    """Notice of the forest-location codes of the territory's communes that match no row of
    the forest inventory, and of the communes the forest-location table does not list
    (both use the regional level, rad13, or the next level found).

    Parameters
    ----------
    tables : AldoTables
        With ``forest_locations`` (nothing to report without it).
    communes : ndarray
        Commune codes of the territory.
    """
    if tables.forest_locations is None:
        return []
    locs = tables.forest_locations.set_index("insee")
    codes = pd.Index(communes).astype(str)
    forest = tables.forest
    items: list[str] = []
    matched_fine = pd.Series(False, index=codes)
    given_fine = pd.Series(False, index=codes)
    for level in ("groupeser", "greco", "bassin_populicole"):
        if level not in locs.columns:
            continue
        known = set(forest.loc[forest["type_localisation"] == level, "code_localisation"])
        given = locs[level].reindex(codes)
        has = given.notna()
        hit = has & given.isin(known)
        if level != "bassin_populicole":
            given_fine |= has
            matched_fine |= hit
        for code, n in given[has & ~hit].value_counts().sort_index().items():
            items.append(f"{level} {code!r}: {n} communes")
    if items:
        fallback = int((given_fine & ~matched_fine).sum())
        items.append(f"{fallback} communes fall back to the regional level (rad13)")
    absent = ~codes.isin(locs.index)
    notices = []
    where = tables.forest_locations_path or "carbon.forest_locations"
    if items:
        notices.append(
            Notice(
                "forest_location_unmatched",
                f"forest locations {where}: codes that match no row of the forest inventory "
                f"({ALDO_FILES['forest']}); check the codes (e.g. groupeser 'A1', greco 'A')",
                items,
                facts={"where": str(where), "forest_table": ALDO_FILES["forest"]},
            )
        )
    if absent.any():
        notices.append(
            Notice(
                "forest_location_missing",
                f"forest locations {where}: {int(absent.sum())} communes of the territory are not "
                "listed (they use the regional level, rad13)",
                sorted(codes[absent])[:50],
                facts={"where": str(where), "n_communes": int(absent.sum())},
            )
        )
    return notices


def location_groups(
    tables: AldoTables, region: pd.Series
) -> Iterator[tuple[dict[str, str | None], np.ndarray]]:
    """Communes grouped by their forest-inventory location codes: (codes, communes)."""
    locs = commune_forest_locations(tables, region)
    keys = ["groupeser", "greco", "rad13", "bassin_populicole"]
    for combo, group in locs.groupby(keys, dropna=False, sort=True):
        where: dict[str, str | None] = {
            k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            for k, v in zip(keys, combo, strict=True)
        }
        yield where, group["commune_code"].to_numpy()


def _aldo_forest(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    rows = []
    for where, communes in location_groups(tables, region):
        for category, composition in ALDO_COMPOSITION.items():
            live, dead, source = forest_cascade(tables.forest, composition, where)
            for pool, value in (("live_biomass", live), ("dead_wood", dead)):
                rows.append(
                    pd.DataFrame(
                        {
                            "commune_code": communes,
                            "category": category,
                            "pool": pool,
                            "ref_stock_tc_per_ha": value,
                            "coefficient_source": f"IGN inventory {composition} {source}",
                        }
                    )
                )
    return pd.concat(rows, ignore_index=True)


def aldo_reference_stocks(tables: AldoTables, zpc: pd.Series, region: pd.Series) -> pd.DataFrame:
    """Reference stocks of every category and pool for each commune, by ALDO's rules.

    Parameters
    ----------
    tables : AldoTables
        The ALDO tables.
    zpc : Series
        Pedoclimatic zone per commune code (no missing value).
    region : Series
        INSEE region code per commune code (no missing value).

    Returns
    -------
    DataFrame
        :data:`REFERENCE_COLUMNS`, stocks in tC/ha; every category × pool present
        (0 where ALDO has no stock for that pool).
    """
    inter = region.map(tables.inter_regions)
    if inter.isna().any():
        bad = sorted(set(region[inter.isna()].astype(str)))
        communes = sorted(region.index[inter.isna()].astype(str))
        msg = (
            f"ALDO tables: regions {bad} (of communes {_few(communes)} in "
            f"{ALDO_FILES['communes']}) are not in "
            f"{tables.folder / ALDO_FILES['inter_regions']} (regions there: "
            f"{', '.join(sorted(tables.inter_regions))}); add them with their 'interRegion', "
            "or restore the published file"
        )
        raise CoefficientError(msg)
    parts = [_aldo_soil(tables, zpc), _aldo_biomass(tables, inter), _aldo_forest(tables, region)]
    litter = pd.DataFrame(
        {
            "commune_code": np.repeat(zpc.index.to_numpy(), len(FOREST_CATEGORIES)),
            "category": list(FOREST_CATEGORIES) * len(zpc),
            "pool": "litter",
            "ref_stock_tc_per_ha": ALDO_FOREST_LITTER_TC_PER_HA,
            "coefficient_source": "ALDO forest litter 9 tC/ha",
        }
    )
    parts.append(litter)
    table = pd.concat(parts, ignore_index=True)
    return complete_reference(table, zpc.index.to_numpy(), "ALDO: no stock in this pool")


def complete_reference(table: pd.DataFrame, communes: np.ndarray, zero_source: str) -> pd.DataFrame:
    """Add zero rows for every (commune, category, pool) the table lacks; sort."""
    full = pd.MultiIndex.from_product(
        [communes, STOCK_CATEGORIES, CARBON_POOLS], names=["commune_code", "category", "pool"]
    ).to_frame(index=False)
    out = full.merge(table, on=["commune_code", "category", "pool"], how="left")
    absent = out["ref_stock_tc_per_ha"].isna()
    out.loc[absent, "coefficient_source"] = zero_source
    out["ref_stock_tc_per_ha"] = out["ref_stock_tc_per_ha"].fillna(0.0).astype(float)
    return (
        out[REFERENCE_COLUMNS]
        .sort_values(["commune_code", "category", "pool"], kind="stable")
        .reset_index(drop=True)
    )


def check_generic_table(table: pd.DataFrame, origin: str) -> pd.DataFrame:
    """The generic table checked: known categories and pools, every stock a number between 0
    and :data:`~geocarbon.values.STOCK_MAX_TC_PER_HA` tC/ha, one row per (category, pool)
    (identical duplicates dropped).

    Raises
    ------
    CoefficientError
        Naming the file, the row, the column and the value, and the allowed values.
    """
    source = f"generic coefficients {origin}"
    for column, known in (("category", STOCK_CATEGORIES), ("pool", CARBON_POOLS)):
        cells = table[column]
        unknown = sorted({str(v) for v in cells if v not in known})
        if unknown:
            msg = (
                f"{source}: column {column!r} holds unknown values "
                f"{', '.join(repr(u) for u in unknown)}; use one of {', '.join(known)} "
                "(lower case, no spaces around)"
            )
            raise CoefficientError(msg)
    labels = "category " + table["category"].astype(str) + ", pool " + table["pool"].astype(str)
    checked = checked_numbers(
        table,
        ["stock_tc_per_ha"],
        source=source,
        labels=labels,
        low=0.0,
        high=STOCK_MAX_TC_PER_HA,
        unit="tC/ha",
    )
    empty = checked["stock_tc_per_ha"].isna().to_numpy()
    if empty.any():
        first = empty.nonzero()[0][0]
        msg = (
            f"{source}: {labels.iloc[first]}, column 'stock_tc_per_ha' is empty; give a stock "
            f"between 0 and {STOCK_MAX_TC_PER_HA:g} tC/ha (0 if the pool holds none), or "
            "remove the row (an absent category/pool counts 0)"
        )
        raise CoefficientError(msg)
    return drop_identical_duplicates(
        checked, ["category", "pool"], source=source, compare=["stock_tc_per_ha"]
    )


def generic_reference_stocks(
    table: pd.DataFrame, communes: np.ndarray, origin: str
) -> pd.DataFrame:
    """Reference stocks from a table ``category,pool,stock_tc_per_ha[,source]`` for every commune."""
    table = check_generic_table(table, origin)
    base = pd.DataFrame(
        {
            "category": table["category"],
            "pool": table["pool"],
            "ref_stock_tc_per_ha": table["stock_tc_per_ha"],
            "coefficient_source": origin,
        }
    )
    per_commune = pd.DataFrame({"commune_code": communes}).merge(base, how="cross")
    return complete_reference(per_commune, communes, f"{origin}: not listed, 0")


def check_override_categories(overrides: dict[str, dict[str, float]]) -> None:
    """Refuse overrides of categories that do not exist (checked by ``validate`` too).

    Raises
    ------
    CoefficientError
        Naming the unknown categories and the known ones.
    """
    unknown = sorted(set(overrides) - set(STOCK_CATEGORIES))
    if unknown:
        msg = f"carbon.overrides: unknown categories {unknown}; use one of {', '.join(STOCK_CATEGORIES)}"
        raise CoefficientError(msg)


def apply_overrides(
    reference: pd.DataFrame, overrides: dict[str, dict[str, float]]
) -> tuple[pd.DataFrame, list[Notice]]:
    """Replace reference stocks by the pipeline's overrides (category → pool → tC/ha)."""
    check_override_categories(overrides)
    out = reference.copy()
    applied = []
    for category, pools in sorted(overrides.items()):
        for pool, value in sorted(pools.items()):
            sel = (out["category"] == category) & (out["pool"] == pool)
            out.loc[sel, "ref_stock_tc_per_ha"] = float(value)
            out.loc[sel, "coefficient_source"] = "pipeline override"
            applied.append(f"{category}/{pool} = {value} tC/ha")
    notices = (
        [
            Notice(
                "coefficient_override", "reference stocks overridden by the pipeline file", applied
            )
        ]
        if applied
        else []
    )
    return out, notices
