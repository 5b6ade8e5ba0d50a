"""Exact-coverage land-cover areas of the carbon steps (``zonal.method: exact``)."""

from __future__ import annotations

from geocarbon.capabilities.carbon_step import carbon_inputs, communes_on_grid, landcover_nodata
from geocarbon.config import PipelineConfig
from geocarbon.geo import PixelAreaModel
from geocarbon.io.exact import exact_cells
from geocarbon.notices import Notice
from geocarbon.state import Inputs
from geocarbon.zonal import ZonalResult
from geocarbon.zonal_exact import difference_notice, exact_crosstab


def exact_landcover_crosstab(
    cfg: PipelineConfig,
    inputs: Inputs,
    pixel_areas: PixelAreaModel,
    centre: ZonalResult,
    notices: list[Notice],
) -> ZonalResult:
    """The land cover per commune from exact coverage fractions, with the forest map and
    the land cover at the start date as the cell-centre cross-tab has them.

    Parameters
    ----------
    cfg, inputs
        The run's configuration and inputs.
    pixel_areas : PixelAreaModel
        True pixel areas [m²] of the land-cover grid.
    centre : ZonalResult
        The cell-centre cross-tab of the same run, compared with the exact areas.
    notices : list of Notice
        Gets the ``zonal_exact_difference`` notice (per commune: exact and cell-centre
        areas [ha] and their difference).

    Returns
    -------
    ZonalResult
        The exact cross-tab, in the cell-centre engine's shape.
    """
    read = carbon_inputs(inputs)
    landcover = read.landcover
    assert landcover is not None
    zones = communes_on_grid(inputs, landcover)
    aligned = [("forest", read.forest_map)] if read.forest_map is not None else []
    if read.landcover_before is not None:
        aligned.append(("before", read.landcover_before))
    exact = exact_crosstab(
        # exactextract's per-pixel output takes ~100 bytes a pixel: a quarter of a block
        exact_cells(zones, landcover, aligned, batch_pixels=cfg.processing.block_pixels // 4),
        len(zones),
        pixel_areas,
        landcover.width,
        secondary=[name for name, _ in aligned],
        extra_nodata=landcover_nodata(cfg),
        labels={
            "landcover": f"land cover {landcover.path}",
            **{name: f"{raster.what} {raster.path}" for name, raster in aligned},
        },
    )
    codes = inputs.communes["commune_code"].to_numpy()
    notice = difference_notice(codes, exact.valid_area_m2, centre.valid_area_m2)
    if notice is not None:
        notices.append(notice)
    return exact
