"""Value types and constants shared by the readers (``geocarbon.io``), the configuration and
the pure models (``geocarbon.carbon``, ``geocarbon.solar``, ``geocarbon.charging``, the zonal
engine): a neutral module that imports none of them, so that the models need not import the
readers to know what they are given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS

#: ALDO litter stock of forests [tC/ha]: the litter pool of the four forest types, gained or
#: lost at once when forest appears or goes.
ALDO_FOREST_LITTER_TC_PER_HA = 9.0
#: ALDO's sealed share of artificial land (0–1): the rest is grassed or wooded.
ALDO_SEALED_SHARE = 0.8

#: Carbon pools of the stock tables (ALDO's), in the order of the outputs.
CARBON_POOLS = ("soil", "litter", "live_biomass", "dead_wood")


#: Largest carbon stock of one pool [tC/ha] accepted from a coefficient table or an override:
#: the densest stocks known (peatland soils, old-growth temperate rainforest biomass) stay
#: below about 1,500 tC/ha; ALDO's tables peak at 135 tC/ha.
STOCK_MAX_TC_PER_HA = 2_000.0


@dataclass(frozen=True)
class RasterInfo:
    """What geocarbon needs to know of a single-band raster.

    ``what`` names the input kind ("land cover", "population raster"...) in messages.
    """

    path: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    dtype: str
    nodata: float | None
    what: str = "raster"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        left, top = self.transform.c, self.transform.f
        right = left + self.transform.a * self.width
        bottom = top + self.transform.e * self.height
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))


@dataclass
class RasterBlock:
    """One block of the reference grid with the values of every layer read for it.

    Attributes
    ----------
    row_off, col_off : int
        Offset of the block in the reference grid (pixels).
    transform : Affine
        Transform of the block (its own origin).
    arrays : dict of str to ndarray
        Values of each layer on the block, shape (rows, cols).
    nodata : dict of str to float or None
        Nodata value of each layer (after alignment).
    """

    row_off: int
    col_off: int
    transform: Affine
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    nodata: dict[str, float | None] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the block."""
        first = next(iter(self.arrays.values()))
        return (int(first.shape[0]), int(first.shape[1]))


@dataclass(frozen=True)
class Weather:
    """Hourly weather of a site.

    Attributes
    ----------
    data : DataFrame
        Hour-beginning, time-zone-aware index; columns ``ghi``, ``dni``, ``dhi`` [W/m²],
        ``temp_air`` [°C], ``wind_speed`` [m/s].
    latitude, longitude : float
        Site [degrees].
    altitude : float
        Site altitude [m].
    source : str
        File and format.
    """

    data: pd.DataFrame
    latitude: float
    longitude: float
    altitude: float
    source: str


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


#: Bounds of the other numbers of the coefficient tables. Each is about ten times the largest
#: magnitude of the published tables, so that no real table approaches it while a slip
#: (a sign, a unit, a fill value such as 1e30) is refused.
#: Soil change of a transition in ``flux-zpc.csv`` [tC/ha, or tC/ha/yr over 20 years]:
#: largest published magnitude 89 (wetland -> cropland, zone 1_2).
SOIL_FLUX_MAX_TC_PER_HA = 900.0


#: Net balance and harvest of the forest inventory [tC/ha/yr]: largest published magnitude
#: 5.87 (harvest); the growth table of the generic set holds 4.22 at most.
FOREST_FLOW_MAX_TC_PER_HA_YR = 60.0


#: Harvest volume of the forest inventory [m3/ha/yr]: largest published value 21.89.
FOREST_HARVEST_MAX_M3_PER_HA_YR = 220.0


#: Forest category → column of the forest-location table giving that type's forest area
#: [ha] at the location (IGN's per-commune forest table: SUR_FEUILLUS, SUR_RESINEUX,
#: SUR_MIXTES, SUR_PEUPLERAIES).
FOREST_AREA_COLUMNS = {
    "forest_broadleaf": "broadleaf_ha",
    "forest_conifer": "conifer_ha",
    "forest_mixed": "mixed_ha",
    "forest_poplar": "poplar_ha",
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
    forest_locations_path: Path | None = None


@dataclass
class ExactCells:
    """Pixels covered by a batch of zones: one entry per (zone, pixel).

    Attributes
    ----------
    zone : ndarray of int
        Index of the zone (row of the zones given).
    cell : ndarray of int
        Pixel index in the reference grid (``row * width + col``).
    coverage : ndarray of float
        Fraction (0–1) of the pixel's area inside the zone.
    values : dict of str to ndarray
        Each layer's value of the pixel (NaN where a float layer holds NaN).
    nodata : dict of str to float or None
        Each layer's nodata value.
    """

    zone: np.ndarray
    cell: np.ndarray
    coverage: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    nodata: dict[str, float | None] = field(default_factory=dict)
