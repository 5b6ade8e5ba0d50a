"""Carbon flows per commune [tCO2e/yr], positive = sequestration (ALDO's convention).

* **Land-use change** between two dates: annual changed area [ha/yr] × unit change
  [tC/ha] × 44/12, per pool (soil, litter, non-forest biomass, forest biomass lost by
  deforestation), following ADEME ALDO's rules.
* **Forest growth** on forest land: forest area [ha] × net balance [tC/ha/yr] × 44/12.
* **N2O** from soil and litter carbon losses.
* **Wood products** (harvest approach): the territory's share of the national harvest
  times the national wood-products sink.

Unit changes are ALDO's (``flux-zpc.csv`` × year multiplier, ``biomass-hors-forets.csv``)
with the coefficient set ``aldo``; with the ``generic`` set they are stock differences
(IPCC Tier 1: the new equilibrium is reached over 20 years; the annual flow over the
change period is the annual converted area × the stock difference).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import AGRICULTURAL_CATEGORIES, ARTIFICIAL, FOREST_CATEGORIES
from geocarbon.carbon.coefficients import ALDO_BIOMASS_COLUMN
from geocarbon.errors import CoefficientError
from geocarbon.values import ALDO_FOREST_LITTER_TC_PER_HA, ALDO_SEALED_SHARE

C_TO_CO2 = 44.0 / 12.0

#: Category → ALDO's flux identifier (column stems of ``flux-zpc.csv``).
FLUX_ID = {
    "cropland": "cult",
    "grassland_herbaceous": "prai",
    "grassland_shrubby": "prai",
    "grassland_wooded": "prai",
    "wetland": "zh",
    "orchard": "verg",
    "vineyard": "vign",
    "artificial_sealed": "art_imp",
    "artificial_grassed": "art_enh",
    "artificial_wooded": "art_arb",
    **dict.fromkeys(FOREST_CATEGORIES, "for"),
}
ARTIFICIAL_IDS = ("art_imp", "art_enh", "art_arb")

#: PCAET deposit categories, by the final land use of a change.
PCAET_CATEGORIES = ("forest", "agricultural_soils", "other_soils", "wood_products")
_PCAET_BY_FINAL_USE = {
    **dict.fromkeys(FOREST_CATEGORIES, "forest"),
    **dict.fromkeys(AGRICULTURAL_CATEGORIES, "agricultural_soils"),
    **dict.fromkeys(
        ["wetland", "artificial_sealed", "artificial_grassed", "artificial_wooded", "no_stock"],
        "other_soils",
    ),
}

FLOW_COLUMNS = [
    "commune_code",
    "flow_kind",
    "pool",
    "from_category",
    "to_category",
    "area_ha_per_yr",
    "unit_tc_per_ha",
    "flow_tco2e_per_yr",
    "pcaet_category",
]


def pcaet_category(to_category: str) -> str:
    """PCAET deposit category of a flow, from the final land use."""
    return _PCAET_BY_FINAL_USE.get(to_category, "other_soils")


# --------------------------------------------------------------------------------------
# Areas: categories of a change table and ALDO's split of changes to artificial land
# --------------------------------------------------------------------------------------


def categorise_changes(
    changes: pd.DataFrame,
    mapping: dict[int, str],
    years: int,
    *,
    sealed_share: float = ALDO_SEALED_SHARE,
    aldo_published: bool = False,
) -> pd.DataFrame:
    """Annual converted areas per commune and category pair.

    Parameters
    ----------
    changes : DataFrame
        ``commune_code``, ``from_code``, ``to_code``, ``area_ha`` over the period.
    mapping : dict
        Land-cover code → category (``artificial`` for artificial codes but CLC 141).
    years : int
        Length of the period.
    sealed_share : float
        Sealed share of artificial land (ALDO: 0.8).
    aldo_published : bool
        Reproduce ALDO's published areas: a change *from* artificial land counted in
        full both as sealed → X and as grassed → X; forest → grassed artificial land
        = (1 − s)·A whatever W. Otherwise changes from artificial land are split s /
        (1 − s) and the to-artificial split is the same for every origin.

    Returns
    -------
    DataFrame
        ``commune_code``, ``from_category``, ``to_category``, ``area_ha_per_yr``; rows
        whose categories are equal, or without a category (no-stock classes) on either
        side, are dropped.

    Notes
    -----
    Split of a change to artificial land (per commune and origin), with A the area to
    artificial codes but 141 and W the area to 141, T = A + W and s the sealed share:
    sealed = s·T if W < (1 − s)·T else A; grassed = (1 − s)·T − W if W < (1 − s)·T
    else 0; wooded = W, except that W is set to 0 (before the split) when the origin is
    grassed artificial land, wooded or shrubby grassland, orchards, vineyards or wetlands.
    Changes between two grassland types are kept (biomass change only); other changes
    within one soil type (between forest types, within cropland...) carry no flow.
    """
    frame = changes.assign(
        from_category=changes["from_code"].map(mapping),
        to_category=changes["to_code"].map(mapping),
    )
    frame = frame.groupby(["commune_code", "from_category", "to_category"], as_index=False).agg(
        area_ha=("area_ha", "sum")
    )
    origin = split_artificial_origin(frame, sealed_share, aldo_published=aldo_published)
    to_art = origin["to_category"].isin([ARTIFICIAL, "artificial_wooded"])
    split = split_to_artificial(origin[to_art], sealed_share, aldo_published=aldo_published)
    out = keep_changes_with_flow(pd.concat([origin[~to_art], split], ignore_index=True))
    out["area_ha_per_yr"] = out["area_ha"] / years
    return out[["commune_code", "from_category", "to_category", "area_ha_per_yr"]]


def split_artificial_origin(
    frame: pd.DataFrame, sealed_share: float, *, aldo_published: bool
) -> pd.DataFrame:
    """Changes from artificial land (but CLC 141) counted from its sealed and grassed parts.

    Parameters
    ----------
    frame : DataFrame
        ``commune_code``, ``from_category``, ``to_category``, ``area_ha`` [ha].
    sealed_share : float
        Sealed share of artificial land.
    aldo_published : bool
        Count the area in full from both parts (ALDO's published areas) instead of
        splitting it ``sealed_share`` / (1 − ``sealed_share``).

    Returns
    -------
    DataFrame
        ``frame`` with each row from ``artificial`` replaced by one from
        ``artificial_sealed`` and one from ``artificial_grassed``.
    """
    from_art = frame["from_category"] == ARTIFICIAL
    if aldo_published:
        return pd.concat(
            [
                frame[~from_art],
                frame[from_art].assign(from_category="artificial_sealed"),
                frame[from_art].assign(from_category="artificial_grassed"),
            ]
        )
    return pd.concat(
        [
            frame[~from_art],
            frame[from_art].assign(
                from_category="artificial_sealed",
                area_ha=frame.loc[from_art, "area_ha"] * sealed_share,
            ),
            frame[from_art].assign(
                from_category="artificial_grassed",
                area_ha=frame.loc[from_art, "area_ha"] * (1.0 - sealed_share),
            ),
        ]
    )


def split_to_artificial(
    art: pd.DataFrame, sealed_share: float, *, aldo_published: bool
) -> pd.DataFrame:
    """Split changes to artificial land into sealed, grassed and wooded artificial land.

    Parameters
    ----------
    art : DataFrame
        ``commune_code``, ``from_category``, ``to_category`` (``artificial`` or
        ``artificial_wooded``), ``area_ha`` [ha].
    sealed_share : float
        Sealed share of artificial land.
    aldo_published : bool
        Forest → grassed artificial land = (1 − s)·A whatever W (ALDO's published areas).

    Returns
    -------
    DataFrame
        ``commune_code``, ``from_category``, ``to_category``, ``area_ha`` [ha]; the rule
        is in the notes of :func:`categorise_changes`.
    """
    keys = ["commune_code", "from_category"]
    a = art[art["to_category"] == ARTIFICIAL].groupby(keys)["area_ha"].sum()
    w = art[art["to_category"] == "artificial_wooded"].groupby(keys)["area_ha"].sum()
    both = pd.concat({"a": a, "w": w}, axis=1).fillna(0.0).reset_index()
    s = sealed_share
    origin_category = both["from_category"]
    # ALDO sets W to 0 for these origins before splitting (its tool's code)
    drop_w = origin_category.isin(
        [
            "artificial_grassed",
            "grassland_wooded",
            "grassland_shrubby",
            "orchard",
            "vineyard",
            "wetland",
        ]
    ).to_numpy()
    w_kept = np.where(drop_w, 0.0, both["w"])
    total = both["a"].to_numpy() + w_kept
    below = w_kept < (1.0 - s) * total
    sealed = np.where(below, s * total, both["a"])
    grassed = np.where(below, (1.0 - s) * total - w_kept, 0.0)
    if aldo_published:
        forest = origin_category.isin(FOREST_CATEGORIES).to_numpy()
        grassed = np.where(forest, (1.0 - s) * both["a"], grassed)
    sealed = np.where(origin_category == "artificial_grassed", 0.0, sealed)
    grassed = np.where(origin_category == "artificial_sealed", 0.0, grassed)
    wooded = w_kept
    return pd.concat(
        [
            both[keys].assign(to_category="artificial_sealed", area_ha=sealed),
            both[keys].assign(to_category="artificial_grassed", area_ha=grassed),
            both[keys].assign(to_category="artificial_wooded", area_ha=wooded),
        ]
    )


def keep_changes_with_flow(out: pd.DataFrame) -> pd.DataFrame:
    """Changes that carry a flow, summed per commune and category pair.

    Drops rows without area or without a category (no-stock classes) on either side, and
    changes within one soil type except between two grassland types (their biomass
    differs: ALDO counts it, with no soil nor litter change).

    Parameters
    ----------
    out : DataFrame
        ``commune_code``, ``from_category``, ``to_category``, ``area_ha`` [ha].

    Returns
    -------
    DataFrame
        The same columns, one row per commune and category pair, sorted.
    """
    out = out[
        (out["area_ha"] > 0) & out["from_category"].isin(FLUX_ID) & out["to_category"].isin(FLUX_ID)
    ]
    grass = out["from_category"].str.startswith("grassland") & out["to_category"].str.startswith(
        "grassland"
    )
    out = out[
        (out["from_category"].map(FLUX_ID) != out["to_category"].map(FLUX_ID))
        | (grass & (out["from_category"] != out["to_category"]))
    ]
    return out.groupby(
        ["commune_code", "from_category", "to_category"], as_index=False, sort=True
    ).agg(area_ha=("area_ha", "sum"))


# --------------------------------------------------------------------------------------
# Unit changes [tC/ha], ALDO's rules
# --------------------------------------------------------------------------------------


def aldo_soil_terms(from_category: str, to_category: str) -> list[str]:
    """Columns of ``flux-zpc.csv`` whose sum is the soil change of a transition (empty = 0).

    ALDO's lookup: ``<from>_<to>`` with its exceptions (grassland → grassed artificial 0;
    grassland → wooded artificial ``prai_for``; forest → wooded artificial 0; cropland →
    orchard/vineyard 0; wetland → sealed ``zh_cult + cult_art_imp``, → grassed ``zh_prai``,
    → wooded ``zh_for``, → orchard/vineyard ``zh_cult``; orchards and vineyards behave
    as cropland towards artificial land and wetlands, and are 0 towards cropland and each
    other); origins on artificial land behave as cropland (sealed), shrubby grassland
    (grassed) and mixed forest (wooded).
    """
    f, t = FLUX_ID[from_category], FLUX_ID[to_category]
    f = {"art_imp": "cult", "art_enh": "prai", "art_arb": "for"}.get(f, f)
    if f == t:
        return []
    special: dict[tuple[str, str], list[str]] = {
        ("cult", "verg"): [],
        ("cult", "vign"): [],
        ("prai", "art_enh"): [],
        ("prai", "art_arb"): ["prai_for"],
        ("for", "art_arb"): [],
        ("zh", "verg"): ["zh_cult"],
        ("zh", "vign"): ["zh_cult"],
        ("zh", "art_imp"): ["zh_cult", "cult_art_imp"],
        ("zh", "art_enh"): ["zh_prai"],
        ("zh", "art_arb"): ["zh_for"],
        ("verg", "cult"): [],
        ("vign", "cult"): [],
        ("verg", "vign"): [],
        ("vign", "verg"): [],
    }
    if (f, t) in special:
        return special[(f, t)]
    if f in ("verg", "vign") and (t == "zh" or t in ARTIFICIAL_IDS):
        return [f"cult_{t}"]
    return [f"{f}_{t}"]


def aldo_soil_years(from_category: str, to_category: str) -> int:
    """ALDO's year multiplier of a soil change: 1 when the transition goes from or to
    wetlands, or to any artificial type (immediate stock difference); 20 otherwise
    (a yearly rate applied over 20 years, de-artificialisation included)."""
    f, t = FLUX_ID[from_category], FLUX_ID[to_category]
    if "zh" in (f, t) or t in ARTIFICIAL_IDS:
        return 1
    return 20


def litter_unit(from_category: str, to_category: str) -> float:
    """Litter change [tC/ha]: −9 when forest disappears (unless it becomes wooded artificial
    land), +9 when forest or wooded artificial land appears (unless from forest, wooded
    artificial or sealed land)."""
    woody = (*FOREST_CATEGORIES, "artificial_wooded")
    if from_category in FOREST_CATEGORIES and to_category not in woody:
        return -ALDO_FOREST_LITTER_TC_PER_HA
    if from_category not in (*woody, "artificial_sealed") and to_category in woody:
        return ALDO_FOREST_LITTER_TC_PER_HA
    return 0.0


def aldo_flux_columns() -> list[str]:
    """Every column of ``flux-zpc.csv`` a transition between two categories can read."""
    return sorted(
        {
            term
            for from_category in FLUX_ID
            for to_category in FLUX_ID
            if FLUX_ID[from_category] != FLUX_ID[to_category]
            for term in aldo_soil_terms(from_category, to_category)
        }
    )


def check_aldo_flux(flux_zpc: pd.DataFrame, zpc: pd.Series, source: str = "flux-zpc.csv") -> None:
    """Refuse a soil-flux table lacking a zone, a column or a value that the territory's
    communes may need (whatever changes the land-use table holds, so that ``validate``
    and ``run`` agree).

    Parameters
    ----------
    flux_zpc : DataFrame
        ``flux-zpc.csv`` indexed by pedoclimatic zone, values as numbers [tC/ha] (empty = NaN).
    zpc : Series
        Pedoclimatic zone per commune code.
    source : str
        The file, for messages.

    Raises
    ------
    CoefficientError
        Naming the file, the zone, the column and the communes concerned.
    """
    zones = sorted({str(z) for z in zpc.dropna()})
    missing_zones = [z for z in zones if z not in flux_zpc.index]
    if missing_zones:
        communes = sorted(zpc.index[zpc.isin(missing_zones)].astype(str))[:5]
        msg = (
            f"ALDO tables: {source} has no row for the pedoclimatic zones {missing_zones} "
            f"(communes {', '.join(communes)}, from zpc.csv); restore the published file"
        )
        raise CoefficientError(msg)
    columns = aldo_flux_columns()
    absent = [c for c in columns if c not in flux_zpc.columns]
    if absent:
        msg = (
            f"ALDO tables: {source} has no column {', '.join(repr(c) for c in absent)}; "
            "restore the published file"
        )
        raise CoefficientError(msg)
    values = flux_zpc.loc[zones, columns].apply(pd.to_numeric, errors="coerce")
    empty = values.isna()
    if empty.to_numpy().any():
        zone = str(empty.index[empty.any(axis=1).to_numpy()][0])
        cols = [c for c in columns if bool(empty.loc[zone, c])]
        communes = sorted(zpc.index[zpc == zone].astype(str))[:5]
        msg = (
            f"ALDO tables: {source}, zone {zone} (communes {', '.join(communes)}): column "
            f"{cols[0]!r} is empty{f' (and {len(cols) - 1} other columns)' if len(cols) > 1 else ''}; "
            "every soil change of the territory's zones needs a number [tC/ha]: fill it from "
            "ADEME's published table"
        )
        raise CoefficientError(msg)


@dataclass(frozen=True)
class LucCoefficients:
    """What land-use-change units need, per commune.

    Attributes
    ----------
    soil_unit : callable
        ``soil_unit(commune_codes, from_category, to_category) -> ndarray`` [tC/ha].
    biomass_unit : callable
        Non-forest biomass change, same signature [tC/ha].
    forest_biomass : DataFrame
        ``commune_code``, ``category`` (forest types), ``live_dead_tc_per_ha``.
    nonforest_biomass : DataFrame
        ``commune_code``, ``category``, ``stock_tc_per_ha`` (live biomass of non-forest
        categories, for deforestation).
    litter : bool
        Whether litter changes are counted (ALDO: yes).
    """

    soil_unit: Callable[[np.ndarray, str, str], np.ndarray]
    biomass_unit: Callable[[np.ndarray, str, str], np.ndarray]
    forest_biomass: pd.DataFrame
    nonforest_biomass: pd.DataFrame
    litter: bool = True


def aldo_luc_coefficients(
    flux_zpc: pd.DataFrame,
    zpc: pd.Series,
    biomass: pd.DataFrame,
    inter_region: pd.Series,
    reference: pd.DataFrame,
    *,
    aldo_published: bool = False,
) -> LucCoefficients:
    """Land-use-change units from ALDO's tables.

    Parameters
    ----------
    flux_zpc : DataFrame
        ``flux-zpc.csv`` (index: pedoclimatic zone).
    zpc, inter_region : Series
        Pedoclimatic zone and inter-region per commune code.
    biomass : DataFrame
        ``biomass-hors-forets.csv`` (index: inter-region).
    reference : DataFrame
        Reference stocks per commune (``commune_code``, ``category``, ``pool``,
        ``ref_stock_tc_per_ha``), for forest live + dead biomass and non-forest biomass.
    aldo_published : bool
        Use ALDO's transition columns of ``biomass-hors-forets.csv`` as published (one of
        them, wooded grassland → wetland, holds the Centre-Est value in every
        inter-region); otherwise biomass changes are the differences of the stock columns
        (equal to the transition columns everywhere else).
    """
    flux = flux_zpc.apply(pd.to_numeric, errors="coerce")

    def soil_unit(codes: np.ndarray, from_category: str, to_category: str) -> np.ndarray:
        terms = aldo_soil_terms(from_category, to_category)
        out = np.zeros(len(codes))
        zones = zpc.reindex(codes).to_numpy()
        for term in terms:
            if term not in flux.columns:
                msg = f"ALDO tables: flux-zpc.csv has no column {term!r} (transition {from_category} -> {to_category})"
                raise CoefficientError(msg)
            out += flux[term].reindex(zones).to_numpy(dtype=float)
        return out * aldo_soil_years(from_category, to_category)

    bio = biomass.apply(pd.to_numeric, errors="coerce").fillna(0.0)

    def stock(name: str, regions: np.ndarray) -> np.ndarray:
        col = ALDO_BIOMASS_COLUMN.get(name)
        if col is None or col not in bio.columns:
            return np.zeros(len(regions))
        return bio[col].reindex(regions).to_numpy(dtype=float)

    def biomass_unit(codes: np.ndarray, from_category: str, to_category: str) -> np.ndarray:
        regions = inter_region.reindex(codes).to_numpy()
        before, after = ALDO_BIOMASS_COLUMN.get(from_category), ALDO_BIOMASS_COLUMN.get(to_category)
        column = f"{before} vers {after}"
        if aldo_published and column in bio.columns:
            value = bio[column].reindex(regions).to_numpy(dtype=float)
            return np.where(value > 0, value * 20.0, value)
        return stock(to_category, regions) - stock(from_category, regions)

    forest_biomass, nonforest_biomass = _biomass_frames(reference, ["live_biomass"])
    return LucCoefficients(soil_unit, biomass_unit, forest_biomass, nonforest_biomass)


def _biomass_frames(
    reference: pd.DataFrame, nonforest_pools: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forest live + dead biomass, and the biomass of non-forest categories [tC/ha]."""
    ref = reference.pivot_table(
        index=["commune_code", "category"],
        columns="pool",
        values="ref_stock_tc_per_ha",
        aggfunc="first",
    ).reset_index()
    forest = ref[ref["category"].isin(FOREST_CATEGORIES)]
    forest_biomass = pd.DataFrame(
        {
            "commune_code": forest["commune_code"],
            "category": forest["category"],
            "live_dead_tc_per_ha": forest["live_biomass"] + forest["dead_wood"],
        }
    )
    nonforest = ref[~ref["category"].isin(FOREST_CATEGORIES)]
    nonforest_biomass = pd.DataFrame(
        {
            "commune_code": nonforest["commune_code"],
            "category": nonforest["category"],
            "stock_tc_per_ha": nonforest[nonforest_pools].sum(axis=1),
        }
    )
    return forest_biomass, nonforest_biomass


def generic_luc_coefficients(reference: pd.DataFrame) -> LucCoefficients:
    """Land-use-change units as stock differences of a reference-stock table (IPCC Tier 1)."""
    wide = reference.pivot_table(
        index=["commune_code", "category"],
        columns="pool",
        values="ref_stock_tc_per_ha",
        aggfunc="first",
    )

    def lookup(codes: np.ndarray, category: str, pools: list[str]) -> np.ndarray:
        idx = pd.MultiIndex.from_arrays([codes, np.full(len(codes), category)])
        return wide.reindex(idx)[pools].sum(axis=1).to_numpy(dtype=float)

    def soil_unit(codes: np.ndarray, from_category: str, to_category: str) -> np.ndarray:
        return lookup(codes, to_category, ["soil"]) - lookup(codes, from_category, ["soil"])

    def biomass_unit(codes: np.ndarray, from_category: str, to_category: str) -> np.ndarray:
        return lookup(codes, to_category, ["live_biomass", "dead_wood"]) - lookup(
            codes, from_category, ["live_biomass", "dead_wood"]
        )

    forest_biomass, nonforest_biomass = _biomass_frames(reference, ["live_biomass", "dead_wood"])
    return LucCoefficients(soil_unit, biomass_unit, forest_biomass, nonforest_biomass, litter=False)


def landuse_change_flows(areas: pd.DataFrame, coeffs: LucCoefficients) -> pd.DataFrame:
    """Flows of land-use change, one row per commune, transition and pool.

    Parameters
    ----------
    areas : DataFrame
        Output of :func:`categorise_changes`.
    coeffs : LucCoefficients
        Unit changes.

    Returns
    -------
    DataFrame
        :data:`FLOW_COLUMNS` with ``flow_kind = "landuse_change"`` and pools ``soil``,
        ``litter``, ``biomass`` (non-forest biomass change) and ``forest_biomass``
        (deforestation: the new land use's biomass minus the forest's live and dead
        biomass, lost at once; afforestation is counted in forest growth).
    """
    parts = []
    forest_biomass = coeffs.forest_biomass.set_index(["commune_code", "category"])
    nonforest_biomass = coeffs.nonforest_biomass.set_index(["commune_code", "category"])
    for (from_key, to_key), group in areas.groupby(["from_category", "to_category"], sort=True):
        from_category, to_category = str(from_key), str(to_key)
        codes = group["commune_code"].to_numpy()
        area = group["area_ha_per_yr"].to_numpy()
        units = transition_units(
            coeffs,
            codes,
            from_category,
            to_category,
            forest_biomass["live_dead_tc_per_ha"],
            nonforest_biomass["stock_tc_per_ha"],
        )
        for pool, unit in units.items():
            if np.isnan(unit).any():
                missing = sorted(set(codes[np.isnan(unit)]))[:5]
                msg = f"no {pool} coefficient for {from_category} -> {to_category} in communes {missing}"
                raise CoefficientError(msg)
            parts.append(
                pd.DataFrame(
                    {
                        "commune_code": codes,
                        "flow_kind": "landuse_change",
                        "pool": pool,
                        "from_category": from_category,
                        "to_category": to_category,
                        "area_ha_per_yr": area,
                        "unit_tc_per_ha": unit,
                        "flow_tco2e_per_yr": area * unit * C_TO_CO2,
                        "pcaet_category": pcaet_category(to_category),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=FLOW_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out[out["unit_tc_per_ha"] != 0][FLOW_COLUMNS].reset_index(drop=True)


def transition_units(
    coeffs: LucCoefficients,
    codes: np.ndarray,
    from_category: str,
    to_category: str,
    forest_biomass_tc_per_ha: pd.Series,
    nonforest_biomass_tc_per_ha: pd.Series,
) -> dict[str, np.ndarray]:
    """Unit changes [tC/ha] of one transition in each commune, per pool.

    Parameters
    ----------
    coeffs : LucCoefficients
        Unit changes.
    codes : ndarray
        Commune codes.
    from_category, to_category : str
        Categories before and after the change.
    forest_biomass_tc_per_ha, nonforest_biomass_tc_per_ha : Series
        Live and dead biomass of forests, and biomass stock of other land [tC/ha], indexed
        by commune code and category.

    Returns
    -------
    dict of str to ndarray
        ``soil``, ``litter`` (when the coefficients have one), and ``forest_biomass``
        (deforestation) or ``biomass`` (between non-forest categories); NaN where a
        coefficient is missing.
    """
    units = {"soil": coeffs.soil_unit(codes, from_category, to_category)}
    if coeffs.litter:
        units["litter"] = np.full(len(codes), litter_unit(from_category, to_category))
    from_forest = from_category in FOREST_CATEGORIES
    to_forest = to_category in FOREST_CATEGORIES
    if from_forest and not to_forest:
        index_from = pd.MultiIndex.from_arrays([codes, np.full(len(codes), from_category)])
        index_to = pd.MultiIndex.from_arrays([codes, np.full(len(codes), to_category)])
        units["forest_biomass"] = (
            nonforest_biomass_tc_per_ha.reindex(index_to).fillna(0.0).to_numpy()
            - forest_biomass_tc_per_ha.reindex(index_from).to_numpy()
        )
    elif not from_forest and not to_forest:
        units["biomass"] = coeffs.biomass_unit(codes, from_category, to_category)
    return units


def n2o_flows(luc: pd.DataFrame, gwp: float, *, aldo_published: bool = False) -> pd.DataFrame:
    """N2O from soil and litter carbon losses [tCO2e/yr] (always an emission, negative).

    For each commune and transition whose soil + litter change ΔC [tC/yr] is a loss:
    N2O = |ΔC| / 15 (C:N) × (1 % × 44/28 direct + 0.3 × 0.75 % × 44/28 leaching),
    × GWP. ALDO's published figures use 44/25 in the direct term (``aldo_published``).
    """
    soil = luc[luc["pool"].isin(["soil", "litter"])]
    keys = ["commune_code", "from_category", "to_category"]
    agg = soil.groupby(keys, as_index=False).agg(
        area_ha_per_yr=("area_ha_per_yr", "first"), flow_tco2e_per_yr=("flow_tco2e_per_yr", "sum")
    )
    dc = agg["flow_tco2e_per_yr"] / C_TO_CO2  # tC/yr
    loss = dc < 0
    direct = 44.0 / 25.0 if aldo_published else 44.0 / 28.0
    n2o_t = -(dc.abs() / 15.0) * (0.01 * direct + 0.3 * 0.0075 * 44.0 / 28.0)
    out = agg[loss].assign(
        flow_kind="n2o",
        pool="n2o",
        unit_tc_per_ha=np.nan,
        flow_tco2e_per_yr=(n2o_t[loss] * gwp).to_numpy(),
    )
    out["pcaet_category"] = out["to_category"].map(pcaet_category)
    return out[FLOW_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class ForestGrowthCoefficients:
    """Per commune and forest type (index: ``commune_code``, ``category``).

    Columns: ``net_tc_per_ha_yr`` (production − mortality − harvest), ``harvest_tc_per_ha_yr``,
    ``harvest_m3_per_ha_yr``, ``source``.
    """

    table: pd.DataFrame


@dataclass(frozen=True)
class FlowUnits:
    """What the flows were computed with, per commune (zone): land-use-change units, forest
    growth coefficients and the lumber/industry shares of the harvest (None with the generic
    coefficient set)."""

    luc: LucCoefficients
    growth: ForestGrowthCoefficients
    shares: pd.DataFrame | None


def forest_growth_flows(
    forest_areas: pd.DataFrame, coeffs: ForestGrowthCoefficients, harvest_factor: float = 1.0
) -> pd.DataFrame:
    """Net forest growth [tCO2e/yr] = area × (production − mortality − harvest × factor) × 44/12.

    Parameters
    ----------
    forest_areas : DataFrame
        ``commune_code``, ``category`` (forest types), ``area_ha`` at the end date.
    harvest_factor : float
        Harvest scenario (1.2 = +20 % harvest): net = balance − (factor − 1) × harvest.
    """
    merged = forest_areas.merge(coeffs.table, on=["commune_code", "category"], how="left")
    if merged["net_tc_per_ha_yr"].isna().any():
        bad = merged.loc[merged["net_tc_per_ha_yr"].isna(), ["commune_code", "category"]].head(5)
        msg = f"no forest growth coefficient for:\n{bad.to_string(index=False)}"
        raise CoefficientError(msg)
    unit = merged["net_tc_per_ha_yr"] - (harvest_factor - 1.0) * merged["harvest_tc_per_ha_yr"]
    out = pd.DataFrame(
        {
            "commune_code": merged["commune_code"],
            "flow_kind": "forest_growth",
            "pool": "forest_biomass",
            "from_category": merged["category"],
            "to_category": merged["category"],
            "area_ha_per_yr": merged["area_ha"],
            "unit_tc_per_ha": unit,
            "flow_tco2e_per_yr": merged["area_ha"] * unit * C_TO_CO2,
            "pcaet_category": "forest",
        }
    )
    return out[FLOW_COLUMNS].reset_index(drop=True)


#: Total / trunk volume ratio by forest type (ALDO, wood products).
TOTAL_TO_TRUNK = {
    "forest_conifer": 1.3,
    "forest_broadleaf": 1.44,
    "forest_mixed": 1.37,
    "forest_poplar": 1.3,
}
#: France harvest [m3/yr] of lumber (BO) and industry wood (BI), and the national
#: wood-products sink [tCO2/yr] of each (CITEPA 2016–2019, as in ALDO).
FRANCE_HARVEST_M3 = {"bo": 19_253_833.33, "bi": 10_472_666.67}
FRANCE_SINK_TCO2 = {"bo": 918_160.6252, "bi": 441_532.8296}


def wood_products_flows(
    forest_areas: pd.DataFrame,
    coeffs: ForestGrowthCoefficients,
    shares: pd.DataFrame,
    harvest_factor: float = 1.0,
) -> pd.DataFrame:
    """Wood-products sink [tCO2e/yr], harvest approach (ALDO).

    Local harvest per forest type: trunk volume V = harvest [m3/ha/yr] × area × factor;
    total volume = V × :data:`TOTAL_TO_TRUNK`; harvested wood = 0.9 V + 0.5 (total − V);
    lumber = wood × %BO, industry = wood × %BI (by region); the flow is the local share of
    the national harvest × the national sink.

    Parameters
    ----------
    shares : DataFrame
        ``commune_code``, ``bo_share``, ``bi_share`` (0–1).
    """
    merged = forest_areas.merge(coeffs.table, on=["commune_code", "category"], how="left")
    merged = merged.merge(shares, on="commune_code", how="left")
    trunk = merged["harvest_m3_per_ha_yr"].fillna(0.0) * merged["area_ha"] * harvest_factor
    total = trunk * merged["category"].map(TOTAL_TO_TRUNK)
    wood = 0.9 * trunk + 0.5 * (total - trunk)
    bo = wood * merged["bo_share"].fillna(0.0)
    bi = wood * merged["bi_share"].fillna(0.0)
    flow = (
        bo / FRANCE_HARVEST_M3["bo"] * FRANCE_SINK_TCO2["bo"]
        + bi / FRANCE_HARVEST_M3["bi"] * FRANCE_SINK_TCO2["bi"]
    )
    out = pd.DataFrame(
        {
            "commune_code": merged["commune_code"],
            "flow_kind": "wood_products",
            "pool": "wood_products",
            "from_category": merged["category"],
            "to_category": merged["category"],
            "area_ha_per_yr": merged["area_ha"],
            "unit_tc_per_ha": np.nan,
            "flow_tco2e_per_yr": flow,
            "pcaet_category": "wood_products",
        }
    )
    return out[FLOW_COLUMNS].reset_index(drop=True)


#: Population of France used by ALDO for the consumption approach [inhabitants]: the sum
#: over its EPCIs (``totalPopulation`` of ``data/dataByEpci/france.json``,
#: github.com/incubateur-ademe/aldo, commit a8f42b2).
FRANCE_POPULATION = 64_299_705


def wood_products_consumption_flows(population: pd.DataFrame) -> pd.DataFrame:
    """Wood-products sink [tCO2e/yr], consumption approach (ALDO): the national sink of
    lumber and of industry wood (:data:`FRANCE_SINK_TCO2`) × the zone's share of France's
    population (:data:`FRANCE_POPULATION`), as ``getFluxByConsumption`` in
    ``calculations/flux/woodProducts.js`` of github.com/incubateur-ademe/aldo.

    Parameters
    ----------
    population : DataFrame
        ``commune_code`` (the zone's code), ``population`` [inhabitants].

    Returns
    -------
    DataFrame
        :data:`FLOW_COLUMNS`, one row per zone and product (``from_category`` ``lumber``
        or ``industry_wood``); no area, no unit change.
    """
    parts = []
    for product, key in (("lumber", "bo"), ("industry_wood", "bi")):
        share = population["population"].astype(float) / FRANCE_POPULATION
        parts.append(
            pd.DataFrame(
                {
                    "commune_code": population["commune_code"],
                    "flow_kind": "wood_products",
                    "pool": "wood_products",
                    "from_category": product,
                    "to_category": product,
                    "area_ha_per_yr": np.nan,
                    "unit_tc_per_ha": np.nan,
                    "flow_tco2e_per_yr": share * FRANCE_SINK_TCO2[key],
                    "pcaet_category": "wood_products",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[FLOW_COLUMNS]


def flows_by_commune(flows: pd.DataFrame, communes: pd.Series) -> pd.DataFrame:
    """Net flow and one column per PCAET category [tCO2e/yr] per commune (index = code)."""
    wide = flows.pivot_table(
        index="commune_code",
        columns="pcaet_category",
        values="flow_tco2e_per_yr",
        aggfunc="sum",
        fill_value=0.0,
    )
    wide = wide.reindex(index=communes, columns=list(PCAET_CATEGORIES), fill_value=0.0).fillna(0.0)
    out = wide.rename(columns={c: f"flow_{c}_tco2e_per_yr" for c in PCAET_CATEGORIES})
    out.insert(0, "flow_tco2e_per_yr", wide.sum(axis=1))
    return out


def wood_products_shown(approach: str, sequestration: pd.DataFrame | None) -> str:
    """How the wood-products figure of ``sequestration`` was made, for the texts that state
    the method: the configured ``approach`` (``flows.wood_products``: ``"harvest"``,
    ``"consumption"``, ``"none"``), or ``"not_computed"`` when one was asked for but the
    figure is empty (no regional lumber/industry shares of the harvest in the coefficient
    set: the notice ``wood_products_not_computed``)."""
    computed = (
        sequestration is not None
        and "wood_products" in sequestration.columns
        and bool(sequestration["wood_products"].notna().any())
    )
    return approach if approach == "none" or computed else "not_computed"
