"""Independent recomputation of ALDO's land-use-change flows from ADEME's change table.

Written for the tests, from ALDO's documented rules (``docs/carbon-method.md`` of the shared
data, section "What ALDO's published tool actually does"), without importing ``geocarbon``:
its figures are the yardstick the project's table-only route is checked against.

Input: the change table as ADEME publishes it (``code12, code18, commune, area``, area in ha
changed over the period). Output: the land-use-change flow per commune or per EPCI in
tCO2e/yr, positive = sequestration, the sum of four terms per transition:

* soil (``flux-zpc.csv`` per pedoclimatic zone, with ALDO's substitutions and year multiplier),
* litter (±9 tC/ha),
* non-forest biomass (``biomass-hors-forets.csv`` stocks per inter-region),
* deforestation (forest live + dead-wood carbon lost, regional forest inventory).

N2O is not part of this figure; neither is forest growth nor wood products.

Readings of points the documentation leaves open (each marked "Reading" below):

1. Non-forest biomass: the unit change is the stock difference stock(to) − stock(from) of
   ``biomass-hors-forets.csv`` (empty = 0 tC/ha). "Gains spread over 20 years, losses
   immediate" means the table's transition columns hold gains per year (÷ 20) and losses in
   full; × 20 for gains gives back the stock difference (checked by a test).
2. No biomass term when the destination is forest (afforestation belongs to forest growth),
   not even the loss of the previous shrub or orchard biomass; no biomass term between two
   forest types.
3. Origins on artificial land take the soil column of cropland (sealed), grassland (grassed)
   and forest (wooded), e.g. sealed → grassland reads ``cult_prai``: ``flux-zpc.csv`` has no
   column starting from artificial land, and this is how ALDO's tool keys them.
4. Changes between two codes of the same category (e.g. 211 → 242, 121 → 133, 311 → 324,
   and the rows whose two codes are equal) carry no flow; changes between two grassland
   types (231 / 322 / 323) carry a biomass term only (same soil, no litter).
5. Changes from or to CLC 331–335 (no stock) carry no flow at all.
6. Corrected mode, changes from artificial land (codes but 141) to CLC 141: split 0.8 / 0.2
   like every change from artificial land, and the to-artificial split is the same for every
   origin, so the grassed part (0.2) counts as grassed → wooded artificial land (soil
   ``prai_for``, litter +9, biomass gain) and the sealed part as sealed → wooded.
7. Published mode, W dropped for some origins: ALDO's tool computes sealed and grassed with
   W = 0 for those origins (sealed = 0.8·A, grassed = 0.2·A), not with the origin's W then
   dropped; the documentation's wording allows both, the published figures follow the former.
8. Forest density per commune: region (``rad13``) of the commune, composition of the
   original forest (311 broadleaf, 312 conifer, 313 and 324 mixed), inventory rows with
   ``surface_ic == "s"`` only; where the region's row is not significant, the ``France`` row;
   with the substitutions the project documents for ALDO (README, "Reference stocks"): Corsica
   conifer and mixed forests take the greco J row, Hauts-de-France's the greco B row, Pays de
   la Loire's mixed forests the greco A row, before the region's.
9. Arrondissements municipaux (75101–75120, 13201–13216, 69381–69389): their rows are kept
   under their own code for the per-commune figure (their own zpc from ``zpc.csv``), and take
   the region and EPCI of their commune (75056 / 13055 / 69123).
10. A commune absent from the change table had no recorded change: its flow is 0, a measured
    zero (the table covers every commune of metropolitan France).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

K_CO2_PER_C = 44.0 / 12.0
LITTER_TC_PER_HA = 9.0
SEALED_SHARE = 0.8
SLOW_YEARS = 20

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared public data: ``$GEOCARBON_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("GEOCARBON_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


# --------------------------------------------------------------------------------------
# Categories (ALDO's names, shortened)
# --------------------------------------------------------------------------------------

#: CLC level-3 code → category before the artificial split. ``art`` = artificial land but
#: CLC 141, split below into ``imp`` (sealed) and ``enh`` (grassed); ``arb`` = CLC 141.
CLC_TO_CATEGORY: dict[int, str] = {
    **dict.fromkeys([211, 212, 213, 241, 242, 243, 244], "cult"),
    **dict.fromkeys([231, 321], "herb"),
    322: "arbu",
    323: "arbo",
    **dict.fromkeys([411, 412, 421, 422, 423, 511, 512, 521, 522, 523], "zh"),
    **dict.fromkeys([222, 223], "verg"),
    221: "vign",
    **dict.fromkeys([111, 112, 121, 122, 123, 124, 131, 132, 133, 142], "art"),
    141: "arb",
    311: "feu",
    312: "con",
    313: "mix",
    324: "mix",
    **dict.fromkeys([331, 332, 333, 334, 335], "none"),
}
FORESTS = ("feu", "con", "mix")
ARTIFICIAL = ("imp", "enh", "arb")
GRASSLANDS = ("herb", "arbu", "arbo")
#: Inventory composition of each forest category.
FOREST_COMPOSITION = {"feu": "Feuillu", "con": "Conifere", "mix": "Mixte"}
#: Column of ``biomass-hors-forets.csv`` holding each non-forest category's stock [tC/ha].
BIOMASS_STOCK_COLUMN = {
    "cult": "cultures",
    "herb": "prairies zones herbacées",
    "arbu": "prairies zones arbustives",
    "arbo": "prairies zones arborées",
    "zh": "zones humides",
    "verg": "vergers",
    "vign": "vignes",
    "imp": "sols artificiels imperméabilisés",
    "enh": "sols artificiels arbustifs",
    "arb": "sols artificiels arborés et buissonants",
}
#: Region code (communes_17122018.csv) → ``rad13`` code of the forest inventory.
REGION_RAD13 = {
    "11": "IDF",
    "24": "CVL",
    "27": "BFC",
    "28": "NOR",
    "32": "HDF",
    "44": "GES",
    "52": "PDL",
    "53": "BRE",
    "75": "NAQ",
    "76": "OCC",
    "84": "ARA",
    "93": "PAC",
    "94": "COR",
}


def parent_commune(insee: str) -> str:
    """Commune of an arrondissement municipal (Paris, Marseille, Lyon); other codes unchanged."""
    n = int(insee) if insee.isdigit() else -1
    if 75101 <= n <= 75120:
        return "75056"
    if 13201 <= n <= 13216:
        return "13055"
    if 69381 <= n <= 69389:
        return "69123"
    return insee


# --------------------------------------------------------------------------------------
# Soil: flux-zpc.csv columns, ALDO's substitutions and year multiplier
# --------------------------------------------------------------------------------------

_SOIL_ID = {
    "cult": "cult",
    "herb": "prai",
    "arbu": "prai",
    "arbo": "prai",
    "zh": "zh",
    "verg": "verg",
    "vign": "vign",
    "imp": "art_imp",
    "enh": "art_enh",
    "arb": "art_arb",
    "feu": "for",
    "con": "for",
    "mix": "for",
}
# Reading 3: as an origin, sealed land reads cropland's columns, grassed land grassland's,
# wooded artificial land forest's.
_ORIGIN_SOIL_ID = {**_SOIL_ID, "imp": "cult", "enh": "prai", "arb": "for"}


def soil_columns(frm: str, to: str) -> list[str]:
    """Columns of ``flux-zpc.csv`` whose sum is the soil change of a transition (empty = 0).

    Substitutions of the documentation: cropland → orchard / vineyard 0; grassland →
    grassed artificial 0; grassland → wooded artificial ``prai_for``; forest → wooded
    artificial 0; wetland → sealed ``zh_cult + cult_art_imp``; orchards and vineyards behave as
    cropland towards artificial land and wetlands. Wetlands towards orchards / vineyards read
    ``zh_cult``, towards grassed / wooded artificial land ``zh_prai`` / ``zh_for`` (the
    destination's soil: the wetland's flux table has no artificial column); orchards and
    vineyards towards cropland or each other are 0 (same soil as cropland after the
    substitution above).
    """
    f, t = _ORIGIN_SOIL_ID[frm], _SOIL_ID[to]
    if f == t:
        return []
    if f == "cult" and t in ("verg", "vign"):
        return []
    if f in ("verg", "vign"):
        if t in ("cult", "verg", "vign"):
            return []
        if t == "zh" or t.startswith("art_"):
            f = "cult"
    if f == "prai" and t == "art_enh":
        return []
    if f == "prai" and t == "art_arb":
        return ["prai_for"]
    if f == "for" and t == "art_arb":
        return []
    if f == "zh":
        special = {
            "verg": ["zh_cult"],
            "vign": ["zh_cult"],
            "art_imp": ["zh_cult", "cult_art_imp"],
            "art_enh": ["zh_prai"],
            "art_arb": ["zh_for"],
        }
        if t in special:
            return special[t]
    return [f"{f}_{t}"]


def soil_years(frm: str, to: str) -> int:
    """Year multiplier of the soil term: 1 from or to wetlands and to any artificial type
    (a stock difference in tC/ha), 20 otherwise (a yearly rate in tC/ha/yr over 20 years,
    de-artificialisation included)."""
    if "zh" in (frm, to) or to in ARTIFICIAL:
        return 1
    return SLOW_YEARS


def litter_tc_per_ha(frm: str, to: str) -> float:
    """Litter change [tC/ha]: −9 when forest becomes anything but forest or wooded artificial
    land; +9 when forest or wooded artificial land appears, unless from forest, wooded
    artificial or sealed land."""
    woody = (*FORESTS, "arb")
    if frm in FORESTS and to not in woody:
        return -LITTER_TC_PER_HA
    if to in woody and frm not in (*woody, "imp"):
        return LITTER_TC_PER_HA
    return 0.0


# --------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AldoTables:
    """ADEME's reference tables, indexed for the recomputation.

    Attributes
    ----------
    zpc : Series
        INSEE code → pedoclimatic zone.
    flux : DataFrame
        ``flux-zpc.csv`` indexed by zone [tC/ha/yr for slow columns, tC/ha for immediate ones].
    region : Series
        INSEE code → region code (arrondissements included, from their commune).
    epci : Series
        INSEE code → EPCI SIREN (NaN for communes in no EPCI; arrondissements included).
    biomass_stock : DataFrame
        Non-forest biomass stock [tC/ha] per region code (rows) and category (columns).
    forest_tc_per_ha : DataFrame
        Forest live + dead-wood carbon [tC/ha] per region code (rows) and forest category.
    """

    zpc: pd.Series
    flux: pd.DataFrame
    region: pd.Series
    epci: pd.Series
    biomass_stock: pd.DataFrame
    forest_tc_per_ha: pd.DataFrame


def load_tables(aldo_dir: Path | None = None) -> AldoTables:
    """Read ALDO's tables from ``aldo_dir`` (default: the shared data's ``aldo/`` folder)."""
    d = aldo_dir or shared_data_dir() / "aldo"
    return _load_tables(Path(d))


@cache
def _load_tables(d: Path) -> AldoTables:
    zpc = pd.read_csv(d / "zpc.csv", dtype=str).set_index("insee")["zpc"]
    flux = pd.read_csv(d / "flux-zpc.csv", dtype={"zpc": str}).set_index("zpc").astype(float)
    communes = pd.read_csv(d / "communes_17122018.csv", dtype=str).set_index("insee")
    arr = [str(c) for c in [*range(75101, 75121), *range(13201, 13217), *range(69381, 69390)]]
    parents = [parent_commune(c) for c in arr]
    region = pd.concat(
        [communes["region"], pd.Series(communes.loc[parents, "region"].to_numpy(), index=arr)]
    )
    epci = pd.concat(
        [communes["epci"], pd.Series(communes.loc[parents, "epci"].to_numpy(), index=arr)]
    )
    inter = json.loads((d / "region-to-inter-region.json").read_text(encoding="utf-8"))
    bio = pd.read_csv(d / "biomass-hors-forets.csv").set_index("INTER_REG")
    stock_by_inter = bio[list(BIOMASS_STOCK_COLUMN.values())].astype(float).fillna(0.0)
    stock_by_inter.columns = list(BIOMASS_STOCK_COLUMN)
    regions = sorted(inter)
    biomass_stock = stock_by_inter.loc[[inter[r]["interRegion"] for r in regions]]
    biomass_stock.index = pd.Index(regions)
    inv = pd.read_csv(d / "bilan-carbone-foret-par-localisation.csv", dtype=str)
    inv = inv[inv["surface_ic"] == "s"]
    live_dead = pd.to_numeric(inv["carbone_(tC∙ha-1)"]) + pd.to_numeric(
        inv["bois_mort_carbone_(tC∙ha-1)"]
    )
    inv = inv.assign(tc_per_ha=live_dead)
    france = inv[inv["type_localisation"] == "France"].set_index("composition")["tc_per_ha"]
    rad13 = inv[inv["type_localisation"] == "rad13"].set_index(
        ["code_localisation", "composition"]
    )["tc_per_ha"]
    greco = inv[inv["type_localisation"] == "greco"].set_index(
        ["code_localisation", "composition"]
    )["tc_per_ha"]
    substitutes = {
        ("COR", "Conifere"): "J",
        ("COR", "Mixte"): "J",
        ("HDF", "Conifere"): "B",
        ("HDF", "Mixte"): "B",
        ("PDL", "Mixte"): "A",
    }

    def density(region: str, comp: str) -> float:  # Reading 8
        code = REGION_RAD13[region]
        sub = substitutes.get((code, comp))
        if sub is not None and (sub, comp) in greco.index:
            return float(greco[(sub, comp)])
        return float(rad13.get((code, comp), france[comp]))

    forest = pd.DataFrame(
        {cat: [density(r, comp) for r in regions] for cat, comp in FOREST_COMPOSITION.items()},
        index=regions,
    )
    return AldoTables(zpc, flux, region, epci, biomass_stock, forest)


# --------------------------------------------------------------------------------------
# Areas: categories, artificial split
# --------------------------------------------------------------------------------------


def transition_areas(
    changes: pd.DataFrame, *, aldo_published: bool, years: int = 6
) -> pd.DataFrame:
    """Annual converted area per commune and transition, after ALDO's artificial split.

    Parameters
    ----------
    changes : DataFrame
        ``code12``, ``code18`` (CLC codes), ``commune`` (INSEE code), ``area`` [ha over the
        period].
    aldo_published : bool
        ``True``: ALDO's published areas (a change from artificial land counted in full as
        sealed → X and as grassed → X; W set to 0 for origins grassed artificial, wooded or
        shrubby grassland, orchards, vineyards, wetlands; forest → grassed = 0.2·A).
        ``False``: changes from artificial land split 0.8 / 0.2, the same to-artificial
        split for every origin.
    years : int
        Length of the period [yr].

    Returns
    -------
    DataFrame
        ``commune``, ``frm``, ``to`` (categories), ``area_ha_per_yr`` [ha/yr], > 0.
    """
    codes = pd.concat([changes["code12"], changes["code18"]]).astype(int)
    unknown = sorted(set(codes) - set(CLC_TO_CATEGORY))
    if unknown:
        raise ValueError(f"CLC codes without an ALDO category: {unknown}")
    frame = pd.DataFrame(
        {
            "commune": changes["commune"].astype(str).str.zfill(5).to_numpy(),
            "f0": changes["code12"].astype(int).map(CLC_TO_CATEGORY).to_numpy(),
            "t0": changes["code18"].astype(int).map(CLC_TO_CATEGORY).to_numpy(),
            "area_ha_per_yr": changes["area"].astype(float).to_numpy() / years,
        }
    )
    both_forest = frame["f0"].isin(FORESTS) & frame["t0"].isin(FORESTS)
    keep = (frame["f0"] != frame["t0"]) & ~both_forest  # Reading 4
    keep &= (frame["f0"] != "none") & (frame["t0"] != "none")  # Reading 5
    frame = frame[keep].groupby(["commune", "f0", "t0"], as_index=False)["area_ha_per_yr"].sum()

    # origin side: artificial land but 141 is sealed and grassed land
    from_art = frame["f0"] == "art"
    s_imp, s_enh = (1.0, 1.0) if aldo_published else (SEALED_SHARE, 1.0 - SEALED_SHARE)
    rows = pd.concat(
        [
            frame[~from_art].assign(frm=frame.loc[~from_art, "f0"]),
            frame[from_art].assign(
                frm="imp", area_ha_per_yr=frame.loc[from_art, "area_ha_per_yr"] * s_imp
            ),
            frame[from_art].assign(
                frm="enh", area_ha_per_yr=frame.loc[from_art, "area_ha_per_yr"] * s_enh
            ),
        ],
        ignore_index=True,
    )
    to_art = rows["t0"].isin(["art", "arb"])
    plain = rows[~to_art].rename(columns={"t0": "to"})[["commune", "frm", "to", "area_ha_per_yr"]]

    # destination side: A = area to artificial codes but 141, W = area to 141, per origin
    art = rows[to_art]
    a = art[art["t0"] == "art"].groupby(["commune", "frm"])["area_ha_per_yr"].sum()
    w = art[art["t0"] == "arb"].groupby(["commune", "frm"])["area_ha_per_yr"].sum()
    aw = pd.concat({"a": a, "w": w}, axis=1).fillna(0.0).reset_index()
    frm = aw["frm"]
    a_v, w_v = aw["a"].to_numpy(), aw["w"].to_numpy()
    # Reading 7: W = 0 in the whole split; an ALDO rule (not one of its slips), so the
    # corrected method keeps it too
    drop_w = frm.isin(["enh", "arbo", "arbu", "verg", "vign", "zh"]).to_numpy()
    w_v = np.where(drop_w, 0.0, w_v)
    t_v = a_v + w_v
    below = w_v < (1.0 - SEALED_SHARE) * t_v
    sealed = np.where(below, SEALED_SHARE * t_v, a_v)
    grassed = np.where(below, (1.0 - SEALED_SHARE) * t_v - w_v, 0.0)
    if aldo_published:
        forest = frm.isin(FORESTS).to_numpy()
        grassed = np.where(forest, (1.0 - SEALED_SHARE) * a_v, grassed)
        sealed = np.where(frm == "enh", 0.0, sealed)  # grassed → sealed: not counted
        grassed = np.where(frm == "imp", 0.0, grassed)  # sealed → grassed: not counted
    split = pd.concat(
        [
            aw[["commune", "frm"]].assign(to="imp", area_ha_per_yr=sealed),
            aw[["commune", "frm"]].assign(to="enh", area_ha_per_yr=grassed),
            aw[["commune", "frm"]].assign(to="arb", area_ha_per_yr=w_v),
        ],
        ignore_index=True,
    )
    out = pd.concat([plain, split], ignore_index=True)
    out = out[(out["area_ha_per_yr"] > 0) & (out["frm"] != out["to"])]
    return out.groupby(["commune", "frm", "to"], as_index=False, sort=True)["area_ha_per_yr"].sum()


# --------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------


def luc_terms(
    changes: pd.DataFrame,
    *,
    aldo_published: bool,
    years: int = 6,
    tables: AldoTables | None = None,
) -> pd.DataFrame:
    """Land-use-change terms per commune and transition.

    Returns
    -------
    DataFrame
        ``commune``, ``frm``, ``to``, ``area_ha_per_yr`` [ha/yr], unit changes [tC/ha]
        ``soil_tc_per_ha`` (× year multiplier included), ``litter_tc_per_ha``,
        ``biomass_tc_per_ha`` (non-forest), ``deforestation_tc_per_ha``, and
        ``flow_tco2e_per_yr`` (positive = sequestration).
    """
    tab = tables or load_tables()
    t = transition_areas(changes, aldo_published=aldo_published, years=years)
    communes = t["commune"].to_numpy()
    missing = sorted(set(communes) - set(tab.zpc.index))
    if missing:
        raise ValueError(f"communes without a pedoclimatic zone in zpc.csv: {missing[:10]}")
    missing = sorted(set(communes) - set(tab.region.dropna().index))
    if missing:
        raise ValueError(f"communes without a region in communes_17122018.csv: {missing[:10]}")
    zones = tab.zpc.loc[communes].to_numpy()
    regions = tab.region.loc[communes].to_numpy()

    soil = np.zeros(len(t))
    litter = np.zeros(len(t))
    biomass = np.zeros(len(t))
    deforestation = np.zeros(len(t))
    for (frm, to), idx in t.groupby(["frm", "to"]).indices.items():
        for col in soil_columns(frm, to):
            values = tab.flux.loc[zones[idx], col].to_numpy()
            if np.isnan(values).any():
                raise ValueError(f"flux-zpc.csv: no value in column {col} for some zones")
            soil[idx] += values * soil_years(frm, to)
        litter[idx] = litter_tc_per_ha(frm, to)
        if frm in FORESTS and to not in FORESTS:
            deforestation[idx] = (
                tab.biomass_stock.loc[regions[idx], to].to_numpy()
                - tab.forest_tc_per_ha.loc[regions[idx], frm].to_numpy()
            )
        elif frm not in FORESTS and to not in FORESTS:  # Readings 1 and 2
            biomass[idx] = (
                tab.biomass_stock.loc[regions[idx], to].to_numpy()
                - tab.biomass_stock.loc[regions[idx], frm].to_numpy()
            )
    unit = soil + litter + biomass + deforestation
    return t.assign(
        soil_tc_per_ha=soil,
        litter_tc_per_ha=litter,
        biomass_tc_per_ha=biomass,
        deforestation_tc_per_ha=deforestation,
        flow_tco2e_per_yr=t["area_ha_per_yr"].to_numpy() * unit * K_CO2_PER_C,
    )


def luc_tco2e_per_yr_by_commune(
    changes: pd.DataFrame,
    *,
    aldo_published: bool,
    years: int = 6,
    tables: AldoTables | None = None,
) -> pd.Series:
    """Land-use-change flow per commune [tCO2e/yr], positive = sequestration.

    Soil + litter + non-forest biomass + deforestation; no N2O. Indexed by the change
    table's commune codes (arrondissements under their own code); communes whose changes
    all carry no flow get 0.

    Parameters
    ----------
    changes : DataFrame
        ``code12``, ``code18``, ``commune``, ``area`` [ha over the period].
    aldo_published : bool
        Reproduce ALDO's published areas (see :func:`transition_areas`) or the corrected
        method.
    years : int
        Length of the period [yr] (CLC 2012 → 2018: 6).
    tables : AldoTables, optional
        Reference tables (default: read from the shared data).
    """
    terms = luc_terms(changes, aldo_published=aldo_published, years=years, tables=tables)
    all_communes = changes["commune"].astype(str).str.zfill(5).unique()
    out = terms.groupby("commune")["flow_tco2e_per_yr"].sum()
    return out.reindex(sorted(all_communes), fill_value=0.0).rename("flow_tco2e_per_yr")


def luc_by_epci(
    changes: pd.DataFrame,
    *,
    aldo_published: bool,
    years: int = 6,
    tables: AldoTables | None = None,
) -> pd.Series:
    """Land-use-change flow per EPCI [tCO2e/yr], the sum of its communes.

    Every EPCI of ``communes_17122018.csv`` has a row (0 when none of its communes changed,
    Reading 10). Arrondissements count in their commune's EPCI. Communes in no EPCI (four
    islands) are not in the result; their flows are in ``result.attrs["no_epci"]`` (a dict
    commune → tCO2e/yr).

    Raises
    ------
    ValueError
        A commune of the change table that ``communes_17122018.csv`` does not know.
    """
    tab = tables or load_tables()
    by_commune = luc_tco2e_per_yr_by_commune(
        changes, aldo_published=aldo_published, years=years, tables=tab
    )
    unknown = sorted(set(by_commune.index) - set(tab.epci.index))
    if unknown:
        raise ValueError(f"communes unknown to communes_17122018.csv: {unknown[:10]}")
    epci = tab.epci.loc[by_commune.index]
    no_epci = by_commune[epci.isna().to_numpy()]
    out = by_commune.groupby(epci.to_numpy()).sum()
    out = out.reindex(sorted(set(tab.epci.dropna())), fill_value=0.0)
    out.index.name = "epci"
    out.attrs["no_epci"] = no_epci.to_dict()
    return out.rename("flow_tco2e_per_yr")


def n2o_tco2e_per_yr_by_commune(
    terms: pd.DataFrame, *, aldo_published: bool, gwp: float = 273.0
) -> pd.Series:
    """N2O from soil carbon loss per commune [tCO2e/yr, negative = emission], from
    :func:`luc_terms` (not part of the land-use-change figure; for comparisons with
    figures that include it).

    Per commune and transition, when soil + litter change is a loss ΔC [tC/yr]:
    N2O = |ΔC| / 15 × (1 % × 44/28 + 0.3 × 0.75 % × 44/28) [tN2O/yr] × ``gwp``; ALDO's
    published figures use 44/25 in the direct term.
    """
    dc = terms["area_ha_per_yr"] * (terms["soil_tc_per_ha"] + terms["litter_tc_per_ha"])
    direct = 44.0 / 25.0 if aldo_published else 44.0 / 28.0
    n2o = dc.clip(upper=0.0) / 15.0 * (0.01 * direct + 0.3 * 0.0075 * 44.0 / 28.0)
    return (n2o * gwp).groupby(terms["commune"]).sum().rename("n2o_tco2e_per_yr")


def read_change_table(path: Path | None = None) -> pd.DataFrame:
    """ADEME's change table (default: ``clc12_to_clc18_change_ha_by_commune.csv.gz`` of the
    shared data), commune codes as text."""
    p = path or shared_data_dir() / "aldo" / "clc12_to_clc18_change_ha_by_commune.csv.gz"
    return pd.read_csv(p, dtype={"commune": str})
