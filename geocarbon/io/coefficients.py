"""Readers of coefficient sets: ADEME ALDO's reference tables and the generic table."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from geocarbon.errors import InputError
from geocarbon.io.tables import read_csv, read_json

#: Files of an ALDO table folder, as published in ADEME's ALDO repository.
ALDO_FILES = {
    "stocks": "stocks-zpc.csv",
    "zpc": "zpc.csv",
    "communes": "communes_17122018.csv",
    "inter_regions": "region-to-inter-region.json",
    "biomass": "biomass-hors-forets.csv",
    "forest": "bilan-carbone-foret-par-localisation.csv",
}
#: Files needed for flows only.
ALDO_FLOW_FILES = {
    "flux": "flux-zpc.csv",
    "wood_use": "proportion-usage-bois-par-region.csv",
}


@dataclass(frozen=True)
class AldoTables:
    """ALDO's reference tables, as read (units: tC/ha)."""

    folder: Path
    stocks: pd.DataFrame
    zpc: pd.DataFrame
    communes: pd.DataFrame
    inter_regions: dict[str, str]
    biomass: pd.DataFrame
    forest: pd.DataFrame
    forest_locations: pd.DataFrame | None = None
    flux: pd.DataFrame | None = None
    wood_use: pd.DataFrame | None = None


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
    stocks = read_csv(folder / ALDO_FILES["stocks"], what, required=["zpc"], dtype={"zpc": str})
    zpc = read_csv(folder / ALDO_FILES["zpc"], what, required=["insee", "zpc"], dtype=object)
    communes = read_csv(
        folder / ALDO_FILES["communes"], what, required=["insee", "region"], dtype=str
    )
    raw_regions = read_json(folder / ALDO_FILES["inter_regions"], what)
    try:
        inter_regions = {str(k): str(v["interRegion"]) for k, v in raw_regions.items()}
    except (AttributeError, KeyError, TypeError):
        msg = f"{what}: {folder / ALDO_FILES['inter_regions']} must map region codes to {{'interRegion': ...}}"
        raise InputError(msg) from None
    biomass = read_csv(folder / ALDO_FILES["biomass"], what, required=["INTER_REG"])
    forest = read_csv(
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
    )
    locations = None
    if forest_locations is not None:
        locations = read_csv(forest_locations, "forest locations", required=["insee"], dtype=object)
    flux = wood_use = None
    if flows:
        flux = read_csv(
            folder / ALDO_FLOW_FILES["flux"], what, required=["zpc"], dtype={"zpc": str}
        )
        wood_use = read_csv(
            folder / ALDO_FLOW_FILES["wood_use"],
            what,
            required=["code_localisation", "% BO", "% BI"],
        )
    return AldoTables(
        folder, stocks, zpc, communes, inter_regions, biomass, forest, locations, flux, wood_use
    )


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
            table = read_csv(real, "built-in generic coefficients", required=required)
        return table, "geocarbon built-in generic_ipcc.csv"
    return read_csv(path, "generic coefficients", required=required), str(path)


def read_generic_growth_table(path: Path | None = None) -> pd.DataFrame:
    """Forest growth per forest type (built-in: IGN national averages).

    Columns: ``category``, ``net_tc_per_ha_yr``, ``harvest_tc_per_ha_yr``,
    ``harvest_m3_per_ha_yr``, ``source``.
    """
    required = ["category", "net_tc_per_ha_yr", "harvest_tc_per_ha_yr", "harvest_m3_per_ha_yr"]
    if path is None:
        ref = resources.files("geocarbon.carbon").joinpath("data/generic_forest_growth.csv")
        with resources.as_file(ref) as real:
            return read_csv(real, "built-in forest growth table", required=required)
    return read_csv(path, "forest growth table", required=required)
