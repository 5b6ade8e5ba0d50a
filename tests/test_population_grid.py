"""The population grid in each form INSEE publishes it (Filosofi): square polygons, a CSV of
INSPIRE cell ids, and a raster; every person of a cell whose centre lies in a commune is
counted in it, with no resampling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import MultiPolygon, box

from geocarbon.charging.population import cells_from_ids, cells_from_squares, population_counts
from geocarbon.cli import main
from geocarbon.errors import InputError
from tests.conftest import REPO, SHARED, realdata, write_pipeline, write_raster

# The grid: 200 m EPSG:3035 cells, south-west corner of cell (i, j) at (X0 + 200 i, Y0 + 200 j)
# [m], centre at (X0 + 100 + 200 i, Y0 + 100 + 200 j); near Cahors.
X0, Y0, SIDE = 3_650_000, 2_430_000, 200
# Two communes, drawn as EPSG:3035 boxes (offsets from X0, Y0 [m]) and written in Lambert-93:
#   46001: x 50..600,   y 50..450 → the centres of cells i = 0..2, j = 0..1 (6 cells)
#   46002: x 600..1050, y 50..450 → the centres of cells i = 3..4, j = 0..1 (4 cells)
# Cells of row j = 2 (y 400..600, centre y 500) and column i = 5 (x 1000..1200, centre x 1100)
# have their centre in no commune but overlap one by 50 m: (6 + 2) = 8 cells, not counted.
# Counted cells whose square reaches out of the communes (x < 50 or y < 50): row j = 0
# (i = 0..4) and cell (0, 1), 5 of them populated ((2, 0) holds 0). Cell (10, 10) is far from
# both: neither.
POPULATION = {
    (0, 0): 12.5, (1, 0): 3.0, (2, 0): 0.0, (0, 1): 7.25, (1, 1): 20.0, (2, 1): 1.0,
    (3, 0): 4.0, (4, 0): 9.5, (3, 1): 2.0, (4, 1): 6.0,
    (0, 2): 1.0, (1, 2): 2.0, (2, 2): 3.0, (3, 2): 4.0, (4, 2): 5.0, (5, 2): 6.0,
    (5, 0): 0.5, (5, 1): 1.5,
    (10, 10): 100.0,
}  # fmt: skip
POP_46001 = 12.5 + 3.0 + 0.0 + 7.25 + 20.0 + 1.0  # 43.75
POP_46002 = 4.0 + 9.5 + 2.0 + 6.0  # 21.5
POP_OUTSIDE = 1.0 + 2.0 + 3.0 + 4.0 + 5.0 + 6.0 + 0.5 + 1.5  # 23.0: 8 cells
POP_REACHING_OUT = 12.5 + 3.0 + 4.0 + 9.5 + 7.25  # 36.25: (0, 1, 3, 4; 0) and (0, 1)
POP_FAR = 100.0
TOTAL = POP_46001 + POP_46002 + POP_OUTSIDE + POP_FAR  # 188.25, every cell of the file


def _cell_box(i: int, j: int) -> object:
    return box(X0 + SIDE * i, Y0 + SIDE * j, X0 + SIDE * (i + 1), Y0 + SIDE * (j + 1))


def _cell_id(i: int, j: int, side: int = SIDE) -> str:
    # INSPIRE: northing then easting of the south-west corner [m]
    return f"CRS3035RES{side}mN{Y0 + side * j}E{X0 + side * i}"


def _write_communes(folder: Path) -> None:
    """The two communes, as EPSG:3035 boxes written in Lambert-93 (their sides densified)."""
    boxes = [
        box(X0 + 50, Y0 + 50, X0 + 600, Y0 + 450),
        box(X0 + 600, Y0 + 50, X0 + 1050, Y0 + 450),
    ]
    frame = gpd.GeoDataFrame(
        {"code": ["46001", "46002"], "nom": ["Une", "Deux"]},
        geometry=gpd.GeoSeries(boxes, crs="EPSG:3035").segmentize(10.0),
        crs="EPSG:3035",
    )
    frame.to_crs("EPSG:2154").to_file(folder / "communes.gpkg", layer="communes")


def _write_point(folder: Path) -> None:
    """One 22 kW charging point at the centre of cell (0, 0)."""
    lon, lat = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform(
        X0 + 100, Y0 + 100
    )
    (folder / "irve.csv").write_text(
        "id_station_itinerance,id_pdc_itinerance,coordonneesXY,puissance_nominale,"
        f'code_insee_commune\nS1,P1,"[{lon:.9f}, {lat:.9f}]",22,46001\n'
    )


def _write_squares(path: Path, field: str = "Ind", crs: str = "EPSG:3035") -> None:
    cells = list(POPULATION)
    frame = gpd.GeoDataFrame(
        {field: [POPULATION[c] for c in cells]},
        geometry=[_cell_box(*c) for c in cells],
        crs="EPSG:3035",
    )
    frame.to_crs(crs).to_file(path, layer="carreaux_200m")


def _write_csv(path: Path, sep: str = ",", decimal: str = ".") -> None:
    rows = [
        # a 200 m file also names the enclosing 1 km cell: the 200 m id is the cell's
        (_cell_id(i, j), _cell_id(i // 5 * 5, j // 5 * 5, 1000), str(p).replace(".", decimal))
        for (i, j), p in POPULATION.items()
    ]
    lines = [sep.join(["Idcar_1km", "Idcar_200m", "Ind"])]
    lines += [sep.join([one_km, cell, pop]) for cell, one_km, pop in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_raster(path: Path) -> None:
    """The same cells as a raster (NaN: no cell), 11 x 13 cells from (X0, Y0)."""
    array = np.full((11, 13), np.nan, dtype="float32")
    for (i, j), p in POPULATION.items():
        array[10 - j, i] = p  # row 0 is the north
    transform = Affine(SIDE, 0, X0, 0, -SIDE, Y0 + 11 * SIDE)
    write_raster(path, array, transform=transform, crs="EPSG:3035", nodata=np.nan)


def _run(folder: Path, population: dict[str, object], name: str = "grid") -> Path:
    """Run a charging pipeline on the communes and the point with ``population``."""
    pipeline = write_pipeline(
        folder / f"{name}.yaml",
        {
            "name": name,
            "output_dir": f"out_{name}",
            "communes": {"path": "communes.gpkg"},
            "charging": {
                "points": {"path": "irve.csv"},
                "distances_m": [500, 1000],
                **population,
            },
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code == 0, result.output
    return folder / f"out_{name}"


@pytest.fixture
def territory(tmp_path: Path) -> Path:
    _write_communes(tmp_path)
    _write_point(tmp_path)
    return tmp_path


FORMS = {
    "vector": ("squares.gpkg", _write_squares, {"field": "Ind"}),
    "csv": ("cells.csv", _write_csv, {"field": "Ind"}),
    "raster": ("pop.tif", _write_raster, {}),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_person_of_the_territory_is_counted(territory: Path, form: str) -> None:
    name, write, keys = FORMS[form]
    write(territory / name)
    out = _run(territory, {"population": {"path": name, **keys}})
    table = pd.read_csv(out / "charging_indicators.csv", dtype={"code": str})
    by_code = table.set_index("code")
    # each cell counts whole in the commune holding its centre: nothing lost, nothing resampled
    assert by_code.loc["46001", "ev_population_grid"] == POP_46001
    assert by_code.loc["46002", "ev_population_grid"] == POP_46002
    territory_row = table[table.level == "territory"].iloc[0]
    assert territory_row["ev_population_grid"] == POP_46001 + POP_46002  # 65.25
    # the point is at the centre of cell (0, 0): 46001's cells are at most
    # 200 × √(2² + 1²) = 447 m from it, 46002's at least 600 m and at most 200 × √(4² + 1²) = 825 m
    assert by_code.loc["46001", "ev_pop_share_within_500m"] == 1.0
    assert by_code.loc["46002", "ev_pop_share_within_500m"] == 0.0
    assert by_code.loc["46002", "ev_pop_share_within_1km"] == 1.0
    assert territory_row["ev_pop_share_within_500m"] == POP_46001 / (POP_46001 + POP_46002)
    # mean distance of 46002: (4 × 600 + 9.5 × 800 + 2 × 200√10 + 6 × 200√17) / 21.5 = 754.08 m
    # in EPSG:3035 metres; distances are measured in the territory's own equal-area projection,
    # and EPSG:3035's scale at 44° N departs from the true one by about 0.03 %
    mean_m = (4 * 600 + 9.5 * 800 + 2 * 200 * 10**0.5 + 6 * 200 * 17**0.5) / POP_46002
    assert by_code.loc["46002", "ev_mean_distance_m"] == pytest.approx(mean_m, rel=5e-4)
    # the cells left out are said: 8 cells overlapping the communes from outside, 23 people
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (notice,) = [n for n in run["notices"] if n["code"] == "population_cells_outside"]
    assert notice["facts"]["n_cells"] == 8 and notice["facts"]["population"] == POP_OUTSIDE
    assert notice["facts"]["n_cells_reaching_out"] == 5
    assert notice["facts"]["population_reaching_out"] == POP_REACHING_OUT
    # the sum of people is conserved: counted + left out (said) + far away = the file's total
    counted = territory_row["ev_population_grid"]
    assert counted + notice["facts"]["population"] + POP_FAR == TOTAL == sum(POPULATION.values())
    access = gpd.read_file(out / "geocarbon.gpkg", layer="charging_access")
    assert len(access) == 10 and access["population"].sum() == POP_46001 + POP_46002
    assert set(access["cell_size_m"]) == {200.0}


def test_squares_in_lambert93_and_lower_case_fields(territory: Path) -> None:
    # INSEE's 2019 files write ind, not Ind; squares drawn in Lambert-93 (rotated a little)
    _write_squares(territory / "l93.gpkg", field="ind", crs="EPSG:2154")
    out = _run(territory, {"population": {"path": "l93.gpkg", "field": "Ind"}})
    table = pd.read_csv(out / "charging_indicators.csv", dtype={"code": str}).set_index("code")
    assert table.loc["46001", "ev_population_grid"] == POP_46001
    assert table.loc["46002", "ev_population_grid"] == POP_46002


def test_semicolon_csv_with_decimal_commas(territory: Path) -> None:
    _write_csv(territory / "cells.csv", sep=";", decimal=",")
    keys = {"path": "cells.csv", "field": "Ind", "separator": ";"}
    out = _run(territory, {"population": keys})
    table = pd.read_csv(out / "charging_indicators.csv", dtype={"code": str}).set_index("code")
    assert table.loc["46001", "ev_population_grid"] == POP_46001  # 12,5 and 7,25 read
    # the same file with the wrong separator: one message saying which one to set
    shutil.rmtree(out)
    keys["separator"] = ","
    pipeline = write_pipeline(
        territory / "p.yaml",
        {
            "name": "p",
            "communes": {"path": "communes.gpkg"},
            "charging": {"points": {"path": "irve.csv"}, "population": keys},
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code != 0 and "separator: ';'" in " ".join(result.output.split())


def _error(folder: Path, population: dict[str, object]) -> str:
    pipeline = write_pipeline(
        folder / "bad.yaml",
        {
            "name": "bad",
            "output_dir": "out_bad",
            "communes": {"path": "communes.gpkg"},
            "charging": {"points": {"path": "irve.csv"}, **population},
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code != 0
    assert not (folder / "out_bad").exists()  # no partial output
    return " ".join(result.output.split())


def test_bad_grids_are_refused_clearly(territory: Path) -> None:
    _write_csv(territory / "cells.csv")
    text = (territory / "cells.csv").read_text().splitlines()
    # a missing population column: the columns present are listed
    said = _error(territory, {"population": {"path": "cells.csv", "field": "Men"}})
    assert "no column 'Men'" in said and "Idcar_200m, Ind" in said
    # an id that is no cell id, on line 3
    bad = [*text[:2], "CRS3035RES1000mN2430000E3650000,N2430200E3650200,3", *text[3:]]
    (territory / "bad_id.csv").write_text("\n".join(bad) + "\n")
    said = _error(territory, {"population": {"path": "bad_id.csv", "field": "Ind"}})
    assert "column 'Idcar_200m'" in said and "line 3: 'N2430200E3650200'" in said
    # a value that is no number, on line 2
    bad = [*text[:1], text[1].rsplit(",", 1)[0] + ",douze", *text[2:]]
    (territory / "bad_value.csv").write_text("\n".join(bad) + "\n")
    said = _error(territory, {"population": {"path": "bad_value.csv", "field": "Ind"}})
    assert "column 'Ind'" in said and "line 2: 'douze'" in said
    # the enclosing 1 km cell named as the cell: its ids repeat
    keys = {"path": "cells.csv", "field": "Ind", "cell_id_field": "Idcar_1km"}
    said = _error(territory, {"population": keys})
    assert "each cell must be listed once" in said and "line 2: CRS3035RES1000mN" in said


def test_non_square_features_are_refused(territory: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"Ind": [5.0, 8.0]},
        geometry=[_cell_box(0, 0), box(X0 + 200, Y0, X0 + 600, Y0 + 200)],  # 400 x 200 m
        crs="EPSG:3035",
    )
    frame.to_file(territory / "rect.gpkg", layer="cells")
    said = _error(territory, {"population": {"path": "rect.gpkg", "field": "Ind"}})
    assert "1 feature(s) are not square cells" in said and "feature 2: polygon of 80,000" in said
    # the field missing: the layer's fields are listed
    said = _error(territory, {"population": {"path": "rect.gpkg", "field": "Men"}})
    assert "no column 'Men'" in said and "columns present: Ind" in said


def test_population_and_population_raster_are_exclusive(territory: Path) -> None:
    _write_raster(territory / "pop.tif")
    said = _error(territory, {"population": {"path": "pop.tif"}, "population_raster": "pop.tif"})
    assert "population or population_raster, not both" in said
    said = _error(territory, {"population": {"path": "cells.csv"}})
    assert "needs 'field'" in said and "read as csv" in said


def test_cell_ids_by_hand() -> None:
    ids = pd.Series(["CRS3035RES200mN2029800E4252400", "CRS3035RES1000mN2029000E4252000"])
    with pytest.raises(InputError, match="mix several grids"):
        cells_from_ids(ids, "f.csv", "Idcar", lambda i: f"line {i + 2}")
    crs, side_m, xy = cells_from_ids(ids[:1], "f.csv", "Idcar", lambda i: f"line {i + 2}")
    # south-west corner (E 4,252,400, N 2,029,800) + half of 200 m
    assert crs.to_epsg() == 3035 and side_m == 200.0
    assert xy.tolist() == [[4_252_500.0, 2_029_900.0]]
    geographic = pd.Series(["CRS4326RES200mN45E1"])
    with pytest.raises(InputError, match="not a projected CRS"):
        cells_from_ids(geographic, "f.csv", "Idcar", str)


def test_squares_by_hand() -> None:
    squares = gpd.GeoSeries([_cell_box(0, 0), _cell_box(3, 1)], crs="EPSG:3035")
    side_m, xy = cells_from_squares(squares, "f.gpkg", str)
    assert side_m == 200.0 and xy.tolist() == [[X0 + 100, Y0 + 100], [X0 + 700, Y0 + 300]]
    # INSEE's GeoPackages hold multipolygons of one square; a square densified (more vertices
    # on its sides) is still one
    one_part = gpd.GeoSeries([MultiPolygon([_cell_box(0, 0)])], crs="EPSG:3035")
    assert cells_from_squares(one_part, "f.gpkg", str)[1].tolist() == [[X0 + 100, Y0 + 100]]
    dense = squares.segmentize(50.0)  # 4 vertices per side
    assert cells_from_squares(dense, "f.gpkg", str)[0] == 200.0
    two_parts = gpd.GeoSeries([MultiPolygon([_cell_box(0, 0), _cell_box(2, 0)])], crs="EPSG:3035")
    with pytest.raises(InputError, match="feature 0: 2 polygons"):
        cells_from_squares(two_parts, "f.gpkg", lambda i: f"feature {i}")
    with pytest.raises(InputError, match="cells of several sizes"):
        cells_from_squares(
            gpd.GeoSeries([_cell_box(0, 0), box(X0, Y0, X0 + 1000, Y0 + 1000)], crs="EPSG:3035"),
            "f.gpkg",
            str,
        )
    with pytest.raises(InputError, match="geographic CRS"):
        cells_from_squares(squares.to_crs("EPSG:4326"), "f.gpkg", str)
    with pytest.raises(InputError, match="above 4,000 inhabitants per cell"):
        # 100,000 per km² on 0.04 km²: 4,000 per cell at most
        population_counts(pd.Series(["12", "4000.5"]), "f.csv", "Ind", str, 0.04)


@realdata
def test_lot_grid_as_squares_and_cell_ids_gives_the_raster_figures(
    lot_charging_out: Path, tmp_path: Path
) -> None:
    """The Lot's 1 km grid (EPSG:3035, 1,000 m pixels on a 1 km grid) written as INSEE
    publishes it, as squares and as a CSV of cell ids: the same figures as the raster."""
    import rasterio

    with rasterio.open(SHARED / "lot" / "population_1km_2015.tif") as src:
        assert src.crs.to_epsg() == 3035 and src.transform.a == 1000 == -src.transform.e
        assert src.transform.c % 1000 == 0 and src.transform.f % 1000 == 0
        values, transform = src.read(1), src.transform
    rows, cols = np.nonzero(np.isfinite(values))
    west = transform.c + cols * 1000.0
    south = transform.f - (rows + 1) * 1000.0
    pop = values[rows, cols].astype(float)
    squares = [box(x, y, x + 1000, y + 1000) for x, y in zip(west, south, strict=True)]
    gpd.GeoDataFrame({"Ind": pop}, geometry=squares, crs="EPSG:3035").to_file(
        tmp_path / "carreaux_1km.gpkg"
    )
    ids = [f"CRS3035RES1000mN{int(y)}E{int(x)}" for x, y in zip(west, south, strict=True)]
    pd.DataFrame({"Idcar_1km": ids, "Ind": pop}).to_csv(tmp_path / "carreaux_1km.csv", index=False)
    shipped = yaml.safe_load((REPO / "pipelines" / "lot_charging.yaml").read_text())
    raster_table = (lot_charging_out / "charging_indicators.csv").read_bytes()
    raster_access = gpd.read_file(lot_charging_out / "geocarbon.gpkg", layer="charging_access")
    for name in ("carreaux_1km.gpkg", "carreaux_1km.csv"):
        charging = {k: v for k, v in shipped["charging"].items() if k != "population_raster"}
        charging["population"] = {"path": str(tmp_path / name), "field": "Ind"}
        out = tmp_path / f"out_{name}"
        pipeline = {**shipped, "output_dir": str(out), "charging": charging}
        # the shipped pipeline's paths are ${GEOCARBON_DATA}/...: the pipeline can move
        path = write_pipeline(tmp_path / f"{name}.yaml", pipeline)
        env = {"GEOCARBON_DATA": str(SHARED)}
        result = CliRunner(env=env).invoke(main, ["-q", "run", str(path)])
        assert result.exit_code == 0, result.output
        # every figure of every commune, EPCI and the territory: the same bytes
        assert (out / "charging_indicators.csv").read_bytes() == raster_table
        table = pd.read_csv(out / "charging_indicators.csv")
        assert table.loc[table.level == "territory", "ev_population_grid"].item() == 166_515
        access = gpd.read_file(out / "geocarbon.gpkg", layer="charging_access")
        pd.testing.assert_frame_equal(
            access.drop(columns="geometry"), raster_access.drop(columns="geometry")
        )
