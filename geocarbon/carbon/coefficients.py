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

from collections.abc import Callable

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
    FOREST_AREA_COLUMNS,
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
    Hauts-de-France and Pays de la Loire (conifer and mixed forests of COR and HDF, mixed
    forests of PDL take the greco J, B or A row *instead of* their region's, as
    ``getIgnLocalisation`` in ``data/shared.js`` of github.com/incubateur-ademe/aldo,
    commit a8f42b2). The inventory gives poplar (``Peupleraie``) only by poplar basin and
    for France, so poplar stands resolve to their basin, else France.

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
    if substitute:
        # ALDO uses the greco instead of the region (data/shared.js getIgnLocalisation)
        levels[2] = ("greco", substitute)
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


#: Location codes of a forest-location row, from the finest level to the poplar basin.
LOCATION_KEYS = ["groupeser", "greco", "rad13", "bassin_populicole"]


def commune_forest_locations(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    """Forest-inventory locations of each commune: one row per (commune, location).

    rad13 comes from the commune's region; groupeser, greco and bassin_populicole from the
    optional forest-location table, which may give several rows per commune (a commune
    spanning several sylvo-ecological regions), each with the forest area of every type
    there (:data:`FOREST_AREA_COLUMNS`, ha). A commune the table does not list has one row
    with its region only.

    Returns
    -------
    DataFrame
        ``commune_code``, :data:`LOCATION_KEYS` (None = unknown) and the area columns [ha]
        (NaN when the table gives no areas).
    """
    rad13 = pd.Series(region.map(REGION_TO_RAD13).to_numpy(), index=region.index.astype(str))
    base = pd.DataFrame({"commune_code": rad13.index, "rad13": rad13.to_numpy()})
    extra = tables.forest_locations
    if extra is None:
        locs = base.assign(groupeser=None, greco=None, bassin_populicole=None)
    else:
        extra = extra.rename(columns={"insee": "commune_code"})
        keep = [c for c in ("groupeser", "greco", "bassin_populicole") if c in extra.columns]
        areas = [c for c in FOREST_AREA_COLUMNS.values() if c in extra.columns]
        locs = base.merge(extra[["commune_code", *keep, *areas]], on="commune_code", how="left")
        for col in ("groupeser", "greco", "bassin_populicole"):
            if col not in locs.columns:
                locs[col] = None
    for col in FOREST_AREA_COLUMNS.values():
        locs[col] = pd.to_numeric(locs[col], errors="coerce") if col in locs.columns else np.nan
    codes = locs[LOCATION_KEYS].astype(object)
    locs[LOCATION_KEYS] = codes.where(codes.notna(), None)
    return locs[["commune_code", *LOCATION_KEYS, *FOREST_AREA_COLUMNS.values()]].reset_index(
        drop=True
    )


#: Values of a location for a composition, and where they come from (level and code).
LocationValues = Callable[[str, dict[str, str | None]], tuple[dict[str, float], str]]


def _location_table(locs: pd.DataFrame, values_of: LocationValues) -> pd.DataFrame:
    """The values each distinct location resolves to, per forest category (long frame with
    ``loc_id``, ``category``, ``source`` and one column per value)."""
    rows = []
    for loc_id, combo in enumerate(locs[LOCATION_KEYS].drop_duplicates().itertuples(index=False)):
        where = {
            k: (None if v is None else str(v)) for k, v in zip(LOCATION_KEYS, combo, strict=True)
        }
        for category, composition in ALDO_COMPOSITION.items():
            values, source = values_of(composition, where)
            rows.append({"loc_key": tuple(combo), "loc_id": loc_id, "category": category,
                         "source": source, **values})  # fmt: skip
    return pd.DataFrame(rows)


def weighted_by_location(
    tables: AldoTables, region: pd.Series, values_of: LocationValues, columns: list[str]
) -> pd.DataFrame:
    """Per commune and forest category, the area-weighted mean of the values each of the
    commune's locations resolves to, as ALDO does (``getForestBiomassCarbonDensities`` in
    ``data/stocks.js`` of github.com/incubateur-ademe/aldo, commit a8f42b2): weights = the
    type's forest area at each location; when the commune's rows give no area of that
    type (no area columns, or all 0), the unweighted mean of its locations.

    Parameters
    ----------
    tables : AldoTables
        With the forest inventory and the optional forest-location table.
    region : Series
        INSEE region code per commune code.
    values_of : callable
        ``(composition, location codes) -> ({column: value}, source)``.
    columns : list of str
        The value columns ``values_of`` gives.

    Returns
    -------
    DataFrame
        ``commune_code``, ``category``, ``columns``, ``source``, ``n_locations``,
        ``weighted`` (bool).
    """
    locs = commune_forest_locations(tables, region)
    table = _location_table(locs, values_of)
    loc_keys: list[tuple[object, ...]] = [tuple(r) for r in locs[LOCATION_KEYS].to_numpy()]
    locs = locs.assign(loc_key=pd.Series(loc_keys, index=locs.index, dtype=object))
    long = locs.merge(table, on="loc_key", how="left")
    area = pd.Series(np.nan, index=long.index)
    for category, column in FOREST_AREA_COLUMNS.items():
        sel = long["category"] == category
        area[sel] = long.loc[sel, column]
    long["weight_ha"] = area.fillna(0.0)
    keys = ["commune_code", "category"]
    total = long.groupby(keys, sort=False)["weight_ha"].transform("sum")
    weighted = total > 0
    long["w"] = np.where(weighted, long["weight_ha"] / total.where(weighted, 1.0), 0.0)
    count = long.groupby(keys, sort=False)["loc_id"].transform("size")
    long.loc[~weighted, "w"] = 1.0 / count[~weighted]
    for column in columns:
        long[column] = long[column].astype(float) * long["w"]
    grouped = long.groupby(keys, sort=False)
    out = grouped[columns].sum()
    out["n_locations"] = grouped.size()
    out["weighted"] = grouped["weight_ha"].sum() > 0
    out["source"] = grouped["source"].first()
    several = out.index[out["n_locations"] > 1]
    if len(several):
        multi = long.set_index(keys).loc[several].groupby(level=[0, 1], sort=False)
        out.loc[several, "source"] = [_weighted_source(g) for _, g in multi]
    return out.reset_index()


def _weighted_source(group: pd.DataFrame) -> str:
    """One location's source, or the locations with their weights (%)."""
    if len(group) == 1:
        return str(group["source"].iloc[0])
    how = "area-weighted" if group["weight_ha"].sum() > 0 else "unweighted mean"
    parts = ", ".join(f"{s} {w:.0%}" for s, w in zip(group["source"], group["w"], strict=True))
    return f"{how} over {len(group)} locations: {parts}"


def unweighted_location_notice(tables: AldoTables, region: pd.Series) -> list[Notice]:
    """Notice of the communes with several locations but no forest area of a type at any of
    them: their reference values for that type are the unweighted mean of the locations.

    Parameters
    ----------
    tables : AldoTables
        With the optional forest-location table (nothing to report without it).
    region : Series
        INSEE region code per commune code.
    """
    if tables.forest_locations is None:
        return []
    where = str(tables.forest_locations_path or "carbon.forest_locations")
    weighted = aldo_forest_stocks(tables, region)
    sel = (weighted["n_locations"] > 1) & ~weighted["weighted"].astype(bool)
    if not sel.any():
        return []
    items = [
        f"{row.commune_code} {row.category}: {row.n_locations} locations"
        for row in weighted[sel].itertuples(index=False)
    ]
    return [
        Notice(
            "forest_location_unweighted",
            f"forest locations {where}: {int(sel.sum())} commune forest types have several "
            "locations but no forest area there; their reference values are the unweighted "
            "mean of the locations (as ALDO does); give the areas per type to weight them",
            items[:50],
            facts={"where": where, "n_items": int(sel.sum())},
        )
    ]


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
    codes = pd.Index(communes).astype(str)
    rows = tables.forest_locations[tables.forest_locations["insee"].isin(codes)]
    forest, items = tables.forest, []
    given_fine = pd.Series(False, index=rows.index)
    matched_fine = pd.Series(False, index=rows.index)
    for level in ("groupeser", "greco", "bassin_populicole"):
        if level not in rows.columns:
            continue
        known = set(forest.loc[forest["type_localisation"] == level, "code_localisation"])
        given = rows[level]
        has = given.notna()
        hit = has & given.isin(known)
        if level != "bassin_populicole":
            given_fine |= has
            matched_fine |= hit
        missed = rows[has & ~hit].drop_duplicates(["insee", level])
        for code, n in missed[level].value_counts().sort_index().items():
            items.append(f"{level} {code!r}: {n} communes")
    if items:
        fallback = rows.loc[given_fine & ~matched_fine, "insee"].nunique()
        items.append(f"{fallback} communes fall back to the regional level (rad13)")
    locs = rows.set_index("insee")
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


def _stock_values(forest: pd.DataFrame) -> LocationValues:
    """Live biomass and dead wood [tC/ha] of a location, by the cascade."""

    def values_of(composition: str, where: dict[str, str | None]) -> tuple[dict[str, float], str]:
        live, dead, source = forest_cascade(forest, composition, where)
        return {"live_biomass": live, "dead_wood": dead}, f"IGN inventory {composition} {source}"

    return values_of


def aldo_forest_stocks(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    """Forest live biomass and dead wood [tC/ha] per commune and forest type, area-weighted
    over the commune's locations (see :func:`weighted_by_location`)."""
    return weighted_by_location(
        tables, region, _stock_values(tables.forest), ["live_biomass", "dead_wood"]
    )


def _aldo_forest(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    weighted = aldo_forest_stocks(tables, region)
    rows = [
        pd.DataFrame(
            {
                "commune_code": weighted["commune_code"],
                "category": weighted["category"],
                "pool": pool,
                "ref_stock_tc_per_ha": weighted[pool].astype(float),
                "coefficient_source": weighted["source"],
            }
        )
        for pool in ("live_biomass", "dead_wood")
    ]
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
