"""Readers of coefficient sets: ADEME ALDO's reference tables and the generic table."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

import pandas as pd

from geocarbon.errors import CoefficientError, InputError
from geocarbon.io.tables import read_csv, read_json
from geocarbon.table_checks import checked_numbers as checked_numbers
from geocarbon.table_checks import drop_identical_duplicates as drop_identical_duplicates
from geocarbon.values import ALDO_FILES as ALDO_FILES
from geocarbon.values import ALDO_FLOW_FILES as ALDO_FLOW_FILES
from geocarbon.values import FOREST_AREA_COLUMNS, STOCK_MAX_TC_PER_HA
from geocarbon.values import FOREST_FLOW_MAX_TC_PER_HA_YR as FOREST_FLOW_MAX_TC_PER_HA_YR
from geocarbon.values import FOREST_HARVEST_MAX_M3_PER_HA_YR as FOREST_HARVEST_MAX_M3_PER_HA_YR
from geocarbon.values import SOIL_FLUX_MAX_TC_PER_HA as SOIL_FLUX_MAX_TC_PER_HA
from geocarbon.values import AldoTables as AldoTables

#: Columns of the IGN forest inventory table read as numbers, with their bounds and unit.
FOREST_STOCK_COLUMNS = ("carbone_(tC∙ha-1)", "bois_mort_carbone_(tC∙ha-1)")
FOREST_BALANCE_COLUMN = "bilan_carbone_(tC∙ha-1∙an-1)"
FOREST_HARVEST_C_COLUMN = "prelevement_carbone_(tC∙ha-1∙an-1)"
FOREST_HARVEST_M3_COLUMN = "prelevement_volume_(m3∙ha-1∙an-1)"


def _labels(frame: pd.DataFrame, *columns: str) -> pd.Series:
    """A label per row from key columns, e.g. ``"zpc 4_1"``."""
    parts = [column + " " + frame[column].astype(str) for column in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + ", " + part
    return out


def _strip_key(series: pd.Series, width: int = 0) -> pd.Series:
    """Key cells as stripped text (zero-padded to ``width``); empty cells stay NaN.

    One pass over plain Python lists; a column without any non-empty key (whose result
    type pandas infers otherwise) goes through :func:`_strip_key_plain`, which gives the
    same values cell by cell.
    """
    present = series.notna().to_numpy().tolist()
    values = series.to_numpy(dtype=object).tolist()
    clean = _clean_keys(values, present, width)
    if clean is not None:
        return pd.Series(clean, index=series.index, name=series.name)
    text = [
        (v.strip() if isinstance(v, str) else str(v)) if keep else None
        for v, keep in zip(values, present, strict=True)
    ]
    text = [(v.zfill(width) if width else v) if v else None for v in text]
    if not any(text):
        return _strip_key_plain(series, width)
    return pd.Series(text, index=series.index, name=series.name)


def _clean_keys(values: list[object], present: list[bool], width: int) -> list[object] | None:
    """The key cells as :func:`_strip_key` gives them when every present cell is already
    text without whitespace, at least ``width`` (and 1) characters long: the cells
    themselves, None where missing; None when a cell needs stripping or padding, is not
    text, or no cell is present.

    Whitespace is what ``str.strip`` and ``str.split`` both remove (one pass over the cells
    joined by a character that is none).
    """
    cells = values if all(present) else [v for v, keep in zip(values, present, strict=True) if keep]
    if not cells:
        return None
    try:
        joined = "\0".join(cells)  # type: ignore[arg-type]
    except TypeError:  # a cell that is not text
        return None
    if min(map(len, cells)) < max(width, 1) or joined.split(maxsplit=1) != [joined]:  # type: ignore[arg-type]
        return None
    if cells is values:
        return values
    return [v if keep else None for v, keep in zip(values, present, strict=True)]


def _strip_key_plain(series: pd.Series, width: int = 0) -> pd.Series:
    """:func:`_strip_key` cell by cell through ``Series.map``."""
    text = series.astype(object).where(series.notna(), None)
    text = text.map(lambda v: v.strip() if isinstance(v, str) else (None if v is None else str(v)))
    text = text.where(text.notna() & text.ne(""), None)
    if width:
        text = text.map(lambda v: v.zfill(width) if isinstance(v, str) else v)
    return text


def check_aldo_tables(tables: AldoTables) -> AldoTables:
    """ALDO's tables with their numbers checked and converted, one row per key.

    * ``stocks-zpc.csv``: every stock a number between 0 and :data:`STOCK_MAX_TC_PER_HA`
      (an empty cell stays empty: ALDO has no stock in that pool);
    * ``biomass-hors-forets.csv``: stocks likewise, transition columns (``... vers ...``)
      within ± :data:`STOCK_MAX_TC_PER_HA` (empty = 0, as in ALDO);
    * the IGN forest inventory: live and dead wood stocks 0 to :data:`STOCK_MAX_TC_PER_HA`,
      balance and harvest within :data:`FOREST_FLOW_MAX_TC_PER_HA_YR` and
      :data:`FOREST_HARVEST_MAX_M3_PER_HA_YR` (empty in rows that are not significant);
    * ``flux-zpc.csv``: within ± :data:`SOIL_FLUX_MAX_TC_PER_HA`;
    * ``proportion-usage-bois-par-region.csv``: ``% BO`` and ``% BI`` between 0 and 100,
      their sum at most 100;
    * duplicated keys (zone, inter-region, commune, region, inventory location) refused when
      their rows disagree, dropped when identical.

    Raises
    ------
    CoefficientError
        Naming the file, the row, the column and the value.
    """
    sources = _aldo_sources(tables.folder)
    stocks = _checked_stocks(tables.stocks, sources["stocks"])
    biomass = _checked_biomass(tables.biomass, sources["biomass"])
    forest = _checked_forest(tables.forest, sources["forest"])
    zpc, communes, locations = _checked_commune_keys(tables, sources)
    flux = None if tables.flux is None else _checked_flux(tables.flux, sources["flux"])
    wood_use = tables.wood_use
    if wood_use is not None:
        wood_use = _checked_wood_use(wood_use, sources["wood_use"])
    return replace(
        tables,
        stocks=stocks,
        zpc=zpc,
        communes=communes,
        biomass=biomass,
        forest=forest,
        forest_locations=locations,
        flux=flux,
        wood_use=wood_use,
    )


def _aldo_sources(folder: Path) -> dict[str, str]:
    """The name of each ALDO table in messages, e.g. ``"ALDO tables: <folder>/stocks-zpc.csv"``."""
    sources = {key: f"ALDO tables: {folder / name}" for key, name in ALDO_FILES.items()}
    sources.update({key: f"ALDO tables: {folder / name}" for key, name in ALDO_FLOW_FILES.items()})
    return sources


#: Bounds of a carbon stock (tC/ha), as keyword arguments of :func:`checked_numbers`.
_STOCK_RANGE = {"low": 0.0, "high": STOCK_MAX_TC_PER_HA, "unit": "tC/ha"}


def _checked_stocks(stocks: pd.DataFrame, source: str) -> pd.DataFrame:
    """``stocks-zpc.csv`` with every stock (tC/ha) a number in [0, :data:`STOCK_MAX_TC_PER_HA`].

    An empty cell stays empty (ALDO has no stock in that pool); identical duplicated zones
    are dropped, disagreeing ones refused.
    """
    stocks = stocks.assign(zpc=_strip_key(stocks["zpc"]))
    stocks = checked_numbers(
        stocks,
        [c for c in stocks.columns if c != "zpc"],
        source=source,
        labels=_labels(stocks, "zpc"),
        blank="no stock in that pool",
        **_STOCK_RANGE,  # type: ignore[arg-type]
    )
    return drop_identical_duplicates(stocks, ["zpc"], source=source)


def _checked_biomass(biomass: pd.DataFrame, source: str) -> pd.DataFrame:
    """``biomass-hors-forets.csv`` with its stocks and transitions checked (tC/ha).

    Stocks lie in [0, :data:`STOCK_MAX_TC_PER_HA`], transition columns (``... vers ...``)
    within ± :data:`STOCK_MAX_TC_PER_HA`; an empty cell means 0 tC/ha, as in ALDO.
    """
    biomass = biomass.assign(INTER_REG=_strip_key(biomass["INTER_REG"]))
    value_columns = [c for c in biomass.columns if c != "INTER_REG"]
    transitions = [c for c in value_columns if " vers " in c]
    labels = _labels(biomass, "INTER_REG")
    biomass = checked_numbers(
        biomass,
        [c for c in value_columns if c not in transitions],
        source=source,
        labels=labels,
        blank="0 tC/ha",
        **_STOCK_RANGE,  # type: ignore[arg-type]
    )
    biomass = checked_numbers(
        biomass,
        transitions,
        source=source,
        labels=labels,
        low=-STOCK_MAX_TC_PER_HA,
        high=STOCK_MAX_TC_PER_HA,
        unit="tC/ha",
        blank="0 tC/ha",
    )
    return drop_identical_duplicates(biomass, ["INTER_REG"], source=source)


def _checked_forest(forest: pd.DataFrame, source: str) -> pd.DataFrame:
    """The IGN forest inventory with its stocks (tC/ha) and flows (tC/ha/yr, m3/ha/yr) checked.

    Live and dead wood stocks lie in [0, :data:`STOCK_MAX_TC_PER_HA`], the balance within
    ± :data:`FOREST_FLOW_MAX_TC_PER_HA_YR`, the harvest in [0,
    :data:`FOREST_FLOW_MAX_TC_PER_HA_YR`] tC/ha/yr and [0,
    :data:`FOREST_HARVEST_MAX_M3_PER_HA_YR`] m3/ha/yr; empty in rows that are not significant.
    """
    forest = forest.assign(
        type_localisation=_strip_key(forest["type_localisation"]),
        code_localisation=_strip_key(forest["code_localisation"]),
    )
    labels = _labels(forest, "type_localisation", "code_localisation", "composition")
    blank = "no value at this level (the next level of the cascade is used)"
    # (columns, lowest, highest, unit) of the forest inventory
    forest_ranges: list[tuple[list[str], float, float, str]] = [
        (list(FOREST_STOCK_COLUMNS), 0.0, STOCK_MAX_TC_PER_HA, "tC/ha"),
        (
            [FOREST_BALANCE_COLUMN],
            -FOREST_FLOW_MAX_TC_PER_HA_YR,
            FOREST_FLOW_MAX_TC_PER_HA_YR,
            "tC/ha/yr",
        ),
        ([FOREST_HARVEST_C_COLUMN], 0.0, FOREST_FLOW_MAX_TC_PER_HA_YR, "tC/ha/yr"),
        ([FOREST_HARVEST_M3_COLUMN], 0.0, FOREST_HARVEST_MAX_M3_PER_HA_YR, "m3/ha/yr"),
    ]
    for columns, low, high, unit in forest_ranges:
        forest = checked_numbers(
            forest, columns, source=source, labels=labels, low=low, high=high, unit=unit,
            blank=blank,
        )  # fmt: skip
    return drop_identical_duplicates(
        forest, ["type_localisation", "code_localisation", "composition"], source=source
    )


def _checked_commune_keys(
    tables: AldoTables, sources: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """The commune tables (zone, region, forest location) with one row per INSEE code.

    Codes are stripped and zero-padded to 5 characters; rows without a code are left out,
    identical duplicates dropped and disagreeing ones refused.

    Returns
    -------
    zpc, communes, locations : DataFrame
        ``locations`` is None when the tables have no forest locations.
    """
    zpc = tables.zpc.assign(
        insee=_strip_key(tables.zpc["insee"], 5), zpc=_strip_key(tables.zpc["zpc"])
    )
    zpc = drop_identical_duplicates(
        zpc.dropna(subset=["insee"]), ["insee"], source=sources["zpc"], compare=["zpc"]
    )
    communes = tables.communes.assign(
        insee=_strip_key(tables.communes["insee"], 5), region=_strip_key(tables.communes["region"])
    )
    communes = drop_identical_duplicates(
        communes.dropna(subset=["insee"]), ["insee"], source=sources["communes"], compare=["region"]
    )
    locations = tables.forest_locations
    if locations is not None:
        locations = _checked_forest_locations(locations, tables.forest_locations_path)
    return zpc, communes, locations


#: Largest forest area of one type at one location of a commune [ha] (the largest French
#: commune, Maripasoula, covers about 1.84 Mha).
FOREST_LOCATION_MAX_HA = 2_000_000.0


def _checked_forest_locations(locations: pd.DataFrame, path: Path | None) -> pd.DataFrame:
    """The forest-location table checked: codes stripped, INSEE codes zero-padded.

    Without area columns, one row per commune (identical duplicates dropped, disagreeing
    ones refused). With area columns (all four of
    :data:`~geocarbon.values.FOREST_AREA_COLUMNS`, ha, empty = 0), several
    rows per commune are kept, one per location; a location listed twice for a commune is
    refused.

    Raises
    ------
    CoefficientError
        Naming the file, the commune, the column and the value.
    """
    source = f"forest locations: {path}"
    codes = [c for c in ("groupeser", "greco", "bassin_populicole") if c in locations.columns]
    locations = locations.assign(
        insee=_strip_key(locations["insee"], 5), **{c: _strip_key(locations[c]) for c in codes}
    ).dropna(subset=["insee"])
    areas = [c for c in FOREST_AREA_COLUMNS.values() if c in locations.columns]
    if not areas:
        return drop_identical_duplicates(locations, ["insee"], source=source, compare=codes)
    missing = [c for c in FOREST_AREA_COLUMNS.values() if c not in areas]
    if missing:
        msg = (
            f"{source}: area columns {', '.join(areas)} without {', '.join(missing)}; give the "
            "forest area [ha] of every type at each location (broadleaf_ha, conifer_ha, "
            "mixed_ha, poplar_ha; 0 where there is none), or none of them"
        )
        raise CoefficientError(msg)
    locations = checked_numbers(
        locations, areas, source=source, labels=_labels(locations, "insee"), low=0.0,
        high=FOREST_LOCATION_MAX_HA, unit="ha",
    )  # fmt: skip
    locations[areas] = locations[areas].fillna(0.0)
    keys = ["insee", *codes]
    twice = locations[locations.duplicated(keys, keep=False)]
    if len(twice):
        first = twice.iloc[0]
        where = ", ".join(f"{c} {first[c]}" for c in codes if first[c] is not None)
        msg = (
            f"{source}: commune insee {first['insee']} lists the location "
            f"{where or '(no code)'} on {int(twice[keys].fillna('').eq(first[keys].fillna('')).all(axis=1).sum())} "
            "rows; give each location of a commune once, with its forest areas summed"
        )
        raise CoefficientError(msg)
    return locations.reset_index(drop=True)


def _checked_flux(flux: pd.DataFrame, source: str) -> pd.DataFrame:
    """``flux-zpc.csv`` with every soil flux (tC/ha) within ± :data:`SOIL_FLUX_MAX_TC_PER_HA`."""
    flux = flux.assign(zpc=_strip_key(flux["zpc"]))
    flux = checked_numbers(
        flux,
        [c for c in flux.columns if c != "zpc"],
        source=source,
        labels=_labels(flux, "zpc"),
        low=-SOIL_FLUX_MAX_TC_PER_HA,
        high=SOIL_FLUX_MAX_TC_PER_HA,
        unit="tC/ha",
        blank="no value (refused for the zones of the territory)",
    )
    return drop_identical_duplicates(flux, ["zpc"], source=source)


def _checked_wood_use(wood_use: pd.DataFrame, source: str) -> pd.DataFrame:
    """``proportion-usage-bois-par-region.csv`` with ``% BO`` and ``% BI`` checked (%).

    Each share lies in [0, 100] and their sum is at most 100.

    Raises
    ------
    CoefficientError
        When the two shares of a region add up to more than 100 %.
    """
    wood_use = wood_use.assign(code_localisation=_strip_key(wood_use["code_localisation"]))
    labels = _labels(wood_use, "code_localisation")
    wood_use = checked_numbers(
        wood_use,
        ["% BO", "% BI"],
        source=source,
        labels=labels,
        low=0.0,
        high=100.0,
        unit="%",
        blank="no share (refused for the regions of the territory)",
    )
    total = wood_use["% BO"] + wood_use["% BI"]
    over = (total > 100.0).to_numpy()
    if over.any():
        first = over.nonzero()[0][0]
        msg = (
            f"{source}: {labels.iloc[first]}: '% BO' + '% BI' = "
            f"{total.iloc[first]:g} %, more than 100 % of the harvest; correct the shares "
            "or restore the published file"
        )
        raise CoefficientError(msg)
    return drop_identical_duplicates(wood_use, ["code_localisation"], source=source)


def read_aldo_tables(
    folder: Path, forest_locations: Path | None = None, *, flows: bool = False
) -> AldoTables:
    """Read the ALDO table folder.

    Parameters
    ----------
    folder : Path
        Folder holding the files of :data:`ALDO_FILES`.
    forest_locations : Path, optional
        CSV ``insee,groupeser,greco[,bassin_populicole]`` giving each commune's
        sylvo-ecological region, for the finest levels of the forest cascade.
    flows : bool
        Also read the tables of flows (:data:`ALDO_FLOW_FILES`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        msg = f"ALDO tables: folder not found: {folder} (carbon.aldo_dir in the pipeline file)"
        raise InputError(msg)
    what = "ALDO tables"
    stocks = read_csv(
        folder / ALDO_FILES["stocks"], what, required=["zpc"], dtype={"zpc": str}, na_values=[""]
    )
    zpc = read_csv(folder / ALDO_FILES["zpc"], what, required=["insee", "zpc"], dtype=object)
    communes = read_csv(
        folder / ALDO_FILES["communes"], what, required=["insee", "region"], dtype=object
    )
    inter_regions = _read_inter_regions(folder, what)
    biomass = read_csv(folder / ALDO_FILES["biomass"], what, required=["INTER_REG"], na_values=[""])
    forest = _read_forest_inventory(folder, what)
    locations = None
    if forest_locations is not None:
        locations = read_csv(forest_locations, "forest locations", required=["insee"], dtype=object)
    flux, wood_use = _read_flow_tables(folder, what) if flows else (None, None)
    tables = AldoTables(
        folder,
        stocks,
        zpc,
        communes,
        inter_regions,
        biomass,
        forest,
        locations,
        flux,
        wood_use,
        Path(forest_locations) if forest_locations is not None else None,
    )
    return check_aldo_tables(tables)


def _read_inter_regions(folder: Path, what: str) -> dict[str, str]:
    """Each region code's inter-region, from ALDO's ``inter_regions`` JSON file.

    Raises
    ------
    InputError
        When the file does not map region codes to ``{"interRegion": ...}``.
    """
    raw_regions = read_json(folder / ALDO_FILES["inter_regions"], what)
    try:
        return {str(k): str(v["interRegion"]) for k, v in raw_regions.items()}
    except (AttributeError, KeyError, TypeError):
        msg = f"{what}: {folder / ALDO_FILES['inter_regions']} must map region codes to {{'interRegion': ...}}"
        raise InputError(msg) from None


def _read_forest_inventory(folder: Path, what: str) -> pd.DataFrame:
    """The IGN forest inventory table of the ALDO folder (stocks in tC/ha), NA read as empty."""
    return read_csv(
        folder / ALDO_FILES["forest"],
        what,
        required=[
            "type_localisation",
            "code_localisation",
            "composition",
            "surface_ic",
            "carbone_(tC∙ha-1)",
            "bois_mort_carbone_(tC∙ha-1)",
        ],
        dtype={"code_localisation": str},
        na_values=["", "NA"],  # the published table writes NA in rows that are not significant
    )


def _read_flow_tables(folder: Path, what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables of flows: soil fluxes (tC/ha) and wood-use shares (%) of :data:`ALDO_FLOW_FILES`."""
    flux = read_csv(
        folder / ALDO_FLOW_FILES["flux"],
        what,
        required=["zpc"],
        dtype={"zpc": str},
        na_values=[""],
    )
    wood_use = read_csv(
        folder / ALDO_FLOW_FILES["wood_use"],
        what,
        required=["code_localisation", "% BO", "% BI"],
        na_values=[""],
    )
    return flux, wood_use


def read_generic_table(path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """Read a generic coefficient table (the built-in IPCC-based one when ``path`` is None).

    Returns
    -------
    table : DataFrame
        ``category``, ``pool``, ``stock_tc_per_ha``, ``source``.
    origin : str
        Where it was read from.
    """
    required = ["category", "pool", "stock_tc_per_ha"]
    if path is None:
        ref = resources.files("geocarbon.carbon").joinpath("data/generic_ipcc.csv")
        with resources.as_file(ref) as real:
            table = read_csv(
                real, "built-in generic coefficients", required=required, na_values=[""]
            )
        return table, "geocarbon built-in generic_ipcc.csv"
    return read_csv(path, "generic coefficients", required=required, na_values=[""]), str(path)


def read_generic_growth_table(path: Path | None = None) -> pd.DataFrame:
    """Forest growth per forest type (built-in: IGN national averages).

    Columns: ``category``, ``net_tc_per_ha_yr``, ``harvest_tc_per_ha_yr``,
    ``harvest_m3_per_ha_yr``, ``source``.
    """
    required = ["category", "net_tc_per_ha_yr", "harvest_tc_per_ha_yr", "harvest_m3_per_ha_yr"]
    if path is None:
        ref = resources.files("geocarbon.carbon").joinpath("data/generic_forest_growth.csv")
        with resources.as_file(ref) as real:
            return read_csv(real, "built-in forest growth table", required=required, na_values=[""])
    return read_csv(path, "forest growth table", required=required, na_values=[""])


def read_practice_rates(path: Path | None = None) -> pd.DataFrame:
    """Rates of the agricultural practices (built-in: ADEME ALDO's 12 practices, INRA 2013).

    Columns: ``id``, ``applies_to``, ``soil_tc_per_ha_yr``, ``biomass_tc_per_ha_yr`` [tC/ha/yr],
    ``source``; see :func:`geocarbon.carbon.practices.check_rates`.
    """
    required = ["id", "applies_to", "soil_tc_per_ha_yr", "biomass_tc_per_ha_yr"]
    if path is None:
        ref = resources.files("geocarbon.carbon").joinpath("data/practices.csv")
        with resources.as_file(ref) as real:
            return read_csv(real, "built-in practice rates", required=required, na_values=[""])
    return read_csv(path, "practice rates", required=required, na_values=[""])
