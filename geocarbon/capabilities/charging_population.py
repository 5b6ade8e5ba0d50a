"""The population grid of the charging step: a raster, square polygons or a CSV of cell ids
(INSEE Filosofi in each form it is published), read over the communes, and its cells joined
to the commune holding their centre."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geocarbon.charging.clean import population_cell_mask
from geocarbon.charging.population import (
    GridCells,
    cell_id_column,
    cells_from_ids,
    cells_from_squares,
    find_column,
    outside_notice,
    overlapping,
    population_counts,
)
from geocarbon.config import PipelineConfig, PopulationGridConfig
from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel
from geocarbon.io.raster import RasterInfo, raster_info, read_cells
from geocarbon.io.tables import csv_columns, csv_dialect, read_csv
from geocarbon.io.vectors import layer_summary, read_vector
from geocarbon.notices import Notice
from geocarbon.zonal import typical_pixel_ha


def read_population_grid(cfg: PipelineConfig, communes: gpd.GeoDataFrame) -> GridCells:
    """The cells of the pipeline's population grid over the communes' extent, checked.

    Raises
    ------
    InputError
        The grid cannot be read, its values or cells are not a population grid, or no
        usable cell lies within the communes' extent.
    """
    assert cfg.charging is not None
    grid = cfg.charging.population_grid()
    assert grid is not None
    form = grid.resolved_form()
    if form == "raster":
        return _raster_cells(grid, communes, cfg.processing.block_pixels)
    cells = _vector_cells(grid, communes) if form == "vector" else _csv_cells(grid, communes)
    # row by row from the north-west as a raster is read: sums do not depend on the file's order
    order = np.lexsort((cells.xy[:, 0], -cells.xy[:, 1]))
    cells.xy, cells.population = cells.xy[order], cells.population[order]
    if len(cells.population) == 0:
        msg = (
            f"population grid {grid.path} does not overlap the communes (no cell within their "
            "extent); check its extent and CRS"
        )
        raise InputError(msg)
    return cells


def _raster_cells(
    grid: PopulationGridConfig, communes: gpd.GeoDataFrame, block_pixels: int
) -> GridCells:
    """Cells of a population raster over the communes' extent, read block by block.

    Only the window over the communes is read (distances are measured from the territory's
    cells), at most ``block_pixels`` pixels at once. Negative or infinite cells are treated
    as no data, with a notice (see :func:`geocarbon.charging.clean.population_cell_mask`).
    """
    info = raster_info(grid.path, "population raster")
    minx, miny, maxx, maxy = (float(v) for v in communes.to_crs(info.crs).total_bounds)
    xs, ys, pop = read_cells(info, (minx, miny, maxx, maxy), block_pixels=block_pixels)
    cell_ha = _cell_ha(info)
    keep, notices = population_cell_mask(pop, str(grid.path), cell_ha / 100.0)
    if not keep.any():
        if notices:
            msg = f"population raster {grid.path}: no usable cell over the communes ({notices[0].message}: {', '.join(notices[0].items)})"
        else:
            msg = f"population raster {grid.path} does not overlap the communes (no populated cell within their extent); check its extent and CRS"
        raise InputError(msg)
    return GridCells(
        source=str(grid.path),
        what="population raster",
        crs=info.crs,
        xy=np.column_stack([xs[keep], ys[keep]]),
        population=pop[keep],
        cell_size=abs(info.transform.a),
        cell_height=abs(info.transform.e),
        side_m=float(np.sqrt(cell_ha * 1e4)),
        extent=info.bounds,
        notices=notices,
    )


def _cell_ha(info: RasterInfo) -> float:
    """Area of a typical cell of the raster [ha]."""
    return typical_pixel_ha(
        PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height),
        info.width,
        info.height,
    )


def _field(columns: list[str], grid: PopulationGridConfig) -> str:
    """The population column of a vector or CSV grid (see
    :func:`geocarbon.charging.population.find_column`)."""
    assert grid.field is not None
    found = find_column(columns, grid.field)
    if found is None:
        msg = (
            f"population grid {grid.path}: no column {grid.field!r} (charging.population.field); "
            f"columns present: {', '.join(columns[:30])}"
        )
        raise InputError(msg)
    return found


def _vector_cells(grid: PopulationGridConfig, communes: gpd.GeoDataFrame) -> GridCells:
    """The square cells of a vector grid that touch the communes' extent, in the layer's
    CRS; its extent is the whole layer's."""
    what = "population grid"
    fields, crs, extent = layer_summary(grid.path, what, grid.layer)
    column = _field(fields, grid)
    bounds = tuple(float(v) for v in communes.to_crs(crs).total_bounds)
    frame = read_vector(
        grid.path,
        what,
        grid.layer,
        allow_empty=True,
        bbox=bounds,  # type: ignore[arg-type]
        columns=[column],
        fid_as_index=True,
    )
    source = str(grid.path)
    fids = frame.index.to_numpy()

    def row_name(i: int) -> str:
        return f"feature {fids[i]}"

    side_m, xy = cells_from_squares(frame.geometry, source, row_name)
    population = population_counts(frame[column], source, column, row_name, side_m**2 / 1e6)
    return GridCells(source, what, frame.crs, xy, population, side_m, side_m, side_m, extent)


def _csv_cells(grid: PopulationGridConfig, communes: gpd.GeoDataFrame) -> GridCells:
    """The cells of a CSV of cell ids that touch the communes' extent, in the ids' CRS; its
    extent is that of every cell of the file."""
    what = "population grid"
    sep, encoding = csv_dialect(grid.path, what, grid.separator, grid.encoding)  # once
    columns = csv_columns(grid.path, what, sep=sep, encoding=encoding)
    column = _field(columns, grid)
    id_column = cell_id_column(columns, grid.cell_id_field, str(grid.path))
    table = read_csv(
        grid.path,
        what,
        dtype=str,
        sep=sep,
        encoding=encoding,
        usecols=[id_column, column],
        na_values=[""],
    )
    source = str(grid.path)

    def row_name(i: int) -> str:
        return f"line {i + 2}"  # the header is line 1

    crs, side_m, xy = cells_from_ids(table[id_column], source, id_column, row_name)
    population = population_counts(table[column], source, column, row_name, side_m**2 / 1e6)
    half = side_m / 2.0
    extent = (
        float(xy[:, 0].min() - half),
        float(xy[:, 1].min() - half),
        float(xy[:, 0].max() + half),
        float(xy[:, 1].max() + half),
    )
    bounds = tuple(float(v) for v in communes.to_crs(crs).total_bounds)
    near = overlapping(xy, side_m, bounds)  # type: ignore[arg-type]
    return GridCells(source, what, crs, xy[near], population[near], side_m, side_m, side_m, extent)


def commune_cells(
    grid: GridCells, zones: gpd.GeoDataFrame, notices: list[Notice]
) -> gpd.GeoDataFrame:
    """The cells of the grid whose centre lies in a commune (``zones``: the communes in an
    equal-area CRS), with their ``commune_code``: each cell's people go whole to the commune
    holding its centre. Populated cells overlapping the communes with their centre in none
    are counted in a notice.

    Returns
    -------
    GeoDataFrame
        ``population`` [inhabitants], ``cell_size_m``, ``commune_code``; cell centres in the
        grid's CRS.

    Raises
    ------
    InputError
        No cell centre lies in the communes.
    """
    notices += grid.notices
    cells = gpd.GeoDataFrame(
        {"population": grid.population, "cell_size_m": grid.cell_size},
        geometry=gpd.points_from_xy(grid.xy[:, 0], grid.xy[:, 1]),
        crs=grid.crs,
    )
    joined = gpd.sjoin(
        cells.to_crs(zones.crs), zones[["commune_code", "geometry"]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    cells["commune_code"] = joined["commune_code"].fillna("").to_numpy()
    notices += _edge_notice(grid, cells, zones)
    cells = cells[cells["commune_code"] != ""].reset_index(drop=True)
    if len(cells) == 0:
        msg = f"{grid.what} {grid.source}: no populated cell centre lies in the communes"
        raise InputError(msg)
    return cells


def _squares(grid: GridCells, cells: gpd.GeoDataFrame, crs: object) -> np.ndarray:
    """The squares of ``cells`` (centres in the grid's CRS), drawn in ``crs``."""
    hw, hh = grid.cell_size / 2.0, grid.cell_height / 2.0
    x, y = cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()
    boxes = gpd.GeoSeries(shapely.box(x - hw, y - hh, x + hw, y + hh), crs=grid.crs)
    return np.asarray(boxes.to_crs(crs).values, dtype=object)


def _edge_notice(grid: GridCells, cells: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> list[Notice]:
    """The notice of the populated cells whose centre lies in no commune but whose square
    overlaps one, with the populated cells counted in a commune whose square reaches beyond
    the communes (none when no cell overlaps the communes from outside).

    ``cells``: every cell read, with its ``commune_code`` (empty: centre in no commune).
    """
    populated = cells["population"].to_numpy() > 0
    out = cells[populated & (cells["commune_code"] == "").to_numpy()]
    squares = _squares(grid, out, zones.crs)
    union = shapely.union_all(np.asarray(zones.geometry.values, dtype=object))
    shapely.prepare(union)
    overlap = shapely.intersects(union, squares)
    # a square that only shares an edge with a commune does not overlap it
    overlap[overlap] = shapely.area(shapely.intersection(squares[overlap], union)) > 0
    if not overlap.any():
        return []
    counted = cells[populated & (cells["commune_code"] != "").to_numpy()]
    beyond = ~shapely.contains(union, _squares(grid, counted, zones.crs))
    touched = gpd.sjoin(
        gpd.GeoDataFrame(geometry=squares[overlap], crs=zones.crs),
        zones[["commune_code", "geometry"]],
        predicate="intersects",
    )
    return [
        outside_notice(
            grid.source,
            grid.what,
            (int(overlap.sum()), float(out["population"].to_numpy()[overlap].sum())),
            (int(beyond.sum()), float(counted["population"].to_numpy()[beyond].sum())),
            touched["commune_code"].astype(str).tolist(),
        )
    ]
