"""Agricultural practices that store carbon ("pratiques stockantes", ADEME ALDO).

ALDO gives, for 12 practices (INRA study, Pellerin et al. 2013), a soil and a biomass rate in
tC/ha/yr, applied to the area on which the practice is adopted, for 20 years (the soil then
reaches a new equilibrium: saturation). The result is a **potential**, reported apart from the
observed flows: it is never added to ``flow_tco2e_per_yr`` nor to ``sequestration.csv``.

The API is two functions on plain tables:

- :func:`check_rates` checks a rates table (the built-in one is read by
  ``geocarbon.io.coefficients.read_practice_rates``);
- :func:`practice_potential` turns areas [ha] per practice (any extra columns, e.g. a commune
  code or a year of adoption, are kept) into flows [tCO2e/yr] and 20-year totals [tCO2e].

>>> import pandas as pd
>>> rates = pd.DataFrame({"id": ["catchCrops"], "applies_to": ["cropland"],
...                       "soil_tc_per_ha_yr": [0.24], "biomass_tc_per_ha_yr": [0.0]})
>>> out = practice_potential(pd.DataFrame({"practice": ["catchCrops"], "area_ha": [100.0]}), rates)
>>> round(float(out["flow_tco2e_per_yr"].iloc[0]), 3)  # 0.24 x 100 x 44/12
88.0
>>> round(float(out["total_tco2e_20yr"].iloc[0]), 1)
1760.0
"""

from __future__ import annotations

import pandas as pd

from geocarbon.errors import CoefficientError

#: tCO2 per tC.
CO2_PER_C = 44.0 / 12.0
#: Years a practice's rate applies before saturation (ALDO, INRA 2013).
PRACTICE_YEARS = 20
#: Largest rate accepted from a table [tC/ha/yr]: ALDO's highest is 0.70 (agroforestry biomass).
RATE_MAX_TC_PER_HA_YR = 5.0

#: What a practice applies to → the land-use categories (after the artificial split) whose
#: area bounds the practice's area in a commune, EPCI or territory.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "cropland": ("cropland",),
    "grassland": ("grassland_herbaceous", "grassland_shrubby", "grassland_wooded"),
    "vineyard": ("vineyard",),
    "orchard": ("orchard",),
}

RATE_COLUMNS = ["id", "applies_to", "soil_tc_per_ha_yr", "biomass_tc_per_ha_yr"]
POTENTIAL_COLUMNS = [
    "soil_tco2e_per_yr",
    "biomass_tco2e_per_yr",
    "flow_tco2e_per_yr",
    "total_tco2e_20yr",
]


def check_rates(table: pd.DataFrame, source: str = "practice rates") -> pd.DataFrame:
    """Check a rates table and return it indexed by practice id.

    Parameters
    ----------
    table : DataFrame
        ``id``, ``applies_to`` (a key of :data:`APPLIES_TO`), ``soil_tc_per_ha_yr`` and
        ``biomass_tc_per_ha_yr`` [tC/ha/yr, 0 to :data:`RATE_MAX_TC_PER_HA_YR`]
        (``source`` optional).
    source : str
        Name of the table in messages.

    Returns
    -------
    DataFrame
        The table indexed by ``id``, rates as floats.

    Raises
    ------
    CoefficientError
        Missing column, repeated id, unknown ``applies_to`` or a rate out of range.
    """
    missing = [c for c in RATE_COLUMNS if c not in table.columns]
    if missing:
        msg = (
            f"{source}: missing column(s) {', '.join(missing)}; expected {', '.join(RATE_COLUMNS)}"
        )
        raise CoefficientError(msg)
    repeated = table["id"][table["id"].duplicated()].tolist()
    if repeated:
        msg = f"{source}: practice id(s) {', '.join(map(str, repeated))} listed twice; keep one row each"
        raise CoefficientError(msg)
    unknown = sorted(set(table["applies_to"]) - set(APPLIES_TO))
    if unknown:
        msg = f"{source}: applies_to {', '.join(map(str, unknown))} unknown; use one of {', '.join(APPLIES_TO)}"
        raise CoefficientError(msg)
    out = table.set_index("id")
    for column in ("soil_tc_per_ha_yr", "biomass_tc_per_ha_yr"):
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() | (values < 0) | (values > RATE_MAX_TC_PER_HA_YR)
        if bad.any():
            practice = out.index[bad.to_numpy()][0]
            msg = (
                f"{source}: practice {practice}, {column} = {out[column][practice]!r}; give a rate "
                f"between 0 and {RATE_MAX_TC_PER_HA_YR:g} tC/ha/yr"
            )
            raise CoefficientError(msg)
        out[column] = values.astype(float)
    return out


def practice_potential(
    areas: pd.DataFrame, rates: pd.DataFrame, years: int = PRACTICE_YEARS
) -> pd.DataFrame:
    """Storage potential of practices adopted on given areas.

    Parameters
    ----------
    areas : DataFrame
        ``practice`` (an id of ``rates``) and ``area_ha`` [ha] (the area on which the practice is
        adopted); any other column (commune code, level, year of adoption...) is kept.
    rates : DataFrame
        A rates table (:func:`check_rates`'s input or output).
    years : int
        Years the rates apply (ALDO: 20).

    Returns
    -------
    DataFrame
        ``areas`` with ``applies_to``, ``soil_tc_per_ha_yr``, ``biomass_tc_per_ha_yr`` and
        :data:`POTENTIAL_COLUMNS`: ``soil_tco2e_per_yr`` = soil rate × area × 44/12,
        ``biomass_tco2e_per_yr`` likewise, ``flow_tco2e_per_yr`` their sum (positive =
        sequestration), each for ``years`` years; ``total_tco2e_20yr`` = flow × ``years``.

    Raises
    ------
    CoefficientError
        A practice absent from ``rates``, or a negative or missing area.
    """
    table = rates if rates.index.name == "id" else check_rates(rates)
    unknown = sorted(set(areas["practice"]) - set(table.index))
    if unknown:
        msg = f"practices: unknown practice(s) {', '.join(map(str, unknown))}; known: {', '.join(table.index)}"
        raise CoefficientError(msg)
    area = pd.to_numeric(areas["area_ha"], errors="coerce")
    if (area.isna() | (area < 0)).any():
        msg = "practices: every area_ha must be a number of hectares, 0 or more"
        raise CoefficientError(msg)
    out = areas.copy()
    picked = table.reindex(out["practice"].to_numpy())
    out["applies_to"] = picked["applies_to"].to_numpy()
    for pool in ("soil", "biomass"):
        rate = picked[f"{pool}_tc_per_ha_yr"].to_numpy(dtype=float)
        out[f"{pool}_tc_per_ha_yr"] = rate
        out[f"{pool}_tco2e_per_yr"] = rate * area.to_numpy(dtype=float) * CO2_PER_C
    out["flow_tco2e_per_yr"] = out["soil_tco2e_per_yr"] + out["biomass_tco2e_per_yr"]
    out["total_tco2e_20yr"] = out["flow_tco2e_per_yr"] * years
    return out


def category_area_for(category_areas: pd.DataFrame, applies_to: str) -> pd.Series:
    """Area [ha] per commune of the categories a practice applies to.

    Parameters
    ----------
    category_areas : DataFrame
        ``commune_code``, ``category`` (after the artificial split), ``area_ha``.
    applies_to : str
        A key of :data:`APPLIES_TO`.

    Returns
    -------
    Series
        ``area_ha`` per ``commune_code`` (communes without such land absent).
    """
    rows = category_areas[category_areas["category"].isin(APPLIES_TO[applies_to])]
    return rows.groupby("commune_code")["area_ha"].sum()
