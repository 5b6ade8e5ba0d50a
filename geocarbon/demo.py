"""The embedded demo territory: a deterministic, fictional territory in EPSG:2154.

:func:`make_demo_territory` builds it in memory (pure, seeded, no network):

* 36 communes tiling a 30 km × 24 km territory (Voronoi cells of seeded points, clipped
  to an irregular outline), INSEE-like codes ``99001``… (département 99 does not exist
  in France, so codes never collide with real ones), generated names, three EPCIs;
* a Corine-Land-Cover-coded raster at 25 m (uint16, nodata 0) with village cores and
  suburbs around commune centres, an industrial zone, a river with wetlands and poplar
  plantations, forests on hills, vineyards and orchards on slopes, crops and grassland;
* the same land cover six years earlier (CLC 2012-like), with sprawl, clear-cuts,
  afforestation, ploughed grassland and a drained wetland, for the carbon flows;
* a forest-type raster (1 broadleaf, 2 conifer, 3 mixed, 4 poplar; nodata 0) on a
  different 20 m grid, as a rasterised IGN BD Forêt would be.

:func:`write_demo_territory` writes it into a folder through :mod:`geocarbon.io`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from geocarbon.config import PipelineConfig
from geocarbon.errors import ConfigError

logger = logging.getLogger(__name__)

DEMO_CRS = "EPSG:2154"
DEMO_SEED = 20181217
DEMO_FILES = {
    "communes": "communes.gpkg",
    "landcover": "landcover_clc2018_25m.tif",
    "landcover_before": "landcover_clc2012_25m.tif",
    "forest_map": "forest_type_20m.tif",
    "buildings": "buildings.gpkg",
    "weather": "weather_demo.epw",
    "charging_points": "irve_statique_demo.csv",
    "population": "population_200m.tif",
    "ev_fleet": "ev_fleet.csv",
    "hedges": "hedges_2018.gpkg",
    "hedges_before": "hedges_2012.gpkg",
}
#: File the demo generator writes in its folder: what it wrote (it replaces nothing else).
DEMO_MARKER = ".geocarbon-demo"
DEMO_SIGNATURE = "geocarbon-demo-inputs/1"
#: Version of the generated files: a demo folder written by an older generator (another
#: version in its marker) is generated again by ``geocarbon demo``.
DEMO_VERSION = 3
#: The demo's three fictional EPCI (SIREN → name).
DEMO_EPCI_NAMES = {
    "299000001": "Communauté de communes du Causse et de la Vallée",
    "299000002": "Communauté de communes du Pays du Sud",
    "299000003": "Communauté d'agglomération du Haut-Pays",
}
#: Lower-left corner of the territory in Lambert-93 [m] (a Quercy-like latitude).
ORIGIN_X, ORIGIN_Y = 560_000.0, 6_380_000.0
WIDTH_M, HEIGHT_M = 30_000.0, 24_000.0

_SYLLABLES = [
    "mar",
    "ca",
    "lon",
    "ver",
    "sal",
    "mont",
    "bru",
    "gne",
    "ri",
    "bel",
    "cas",
    "tel",
    "puy",
    "la",
    "roc",
    "fon",
    "vil",
    "nac",
    "sa",
    "gour",
]
_PREFIXES = ["", "", "", "Saint-", "Sainte-", "Le ", "La ", "Les "]
_SUFFIXES = ["", "", "", "-sur-Lot", "-en-Quercy", "-de-Causse", "-le-Haut", "-la-Vallée"]


@dataclass(frozen=True)
class DemoTerritory:
    """The demo territory, in memory."""

    communes: gpd.GeoDataFrame
    landcover: np.ndarray
    landcover_transform: Affine
    landcover_before: np.ndarray
    forest_type: np.ndarray
    forest_transform: Affine
    buildings: gpd.GeoDataFrame
    population: np.ndarray
    population_transform: Affine
    charging: pd.DataFrame
    hedges: gpd.GeoDataFrame
    hedges_before: gpd.GeoDataFrame


def smooth_field(
    shape: tuple[int, int], cells: int, rng: np.random.Generator, octaves: int = 3
) -> np.ndarray:
    """Smooth random field in [0, 1] (bilinear value noise, several octaves)."""
    rows, cols = shape
    out = np.zeros(shape)
    amp_total = 0.0
    for o in range(octaves):
        n = cells * 2**o
        coarse = rng.random((n + 1, n + 1))
        yi = np.linspace(0, n, rows)
        xi = np.linspace(0, n, cols)
        tmp = np.array([np.interp(xi, np.arange(n + 1), coarse[r]) for r in range(n + 1)])
        layer = np.array([np.interp(yi, np.arange(n + 1), tmp[:, c]) for c in range(cols)]).T
        amp = 0.5**o
        out += amp * layer
        amp_total += amp
    out /= amp_total
    return (out - out.min()) / (out.max() - out.min())


def _name(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        body = "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4))))
        name = f"{rng.choice(_PREFIXES)}{body.capitalize()}{rng.choice(_SUFFIXES)}"
        if name not in used:
            used.add(name)
            return name


def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """Irregular territory outline: the 30 × 24 km box with edges wobbling inwards."""
    n = 12
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    x0, y0, x1, y1 = ORIGIN_X, ORIGIN_Y, ORIGIN_X + WIDTH_M, ORIGIN_Y + HEIGHT_M
    inward = rng.uniform(0.0, 700.0, 4 * n)
    south = np.column_stack([x0 + t * WIDTH_M, y0 + inward[:n]])
    east = np.column_stack([x1 - inward[n : 2 * n], y0 + t * HEIGHT_M])
    north = np.column_stack([x1 - t * WIDTH_M, y1 - inward[2 * n : 3 * n]])
    west = np.column_stack([x0 + inward[3 * n :], y1 - t * HEIGHT_M])
    return shapely.Polygon(np.vstack([south, east, north, west]))


def make_communes(rng: np.random.Generator, n: int = 36) -> gpd.GeoDataFrame:
    """Communes tiling the territory (Voronoi cells of jittered grid points)."""
    outline = _outline(rng)
    nx, ny = 6, 6
    gx, gy = np.meshgrid(np.linspace(0.08, 0.92, nx), np.linspace(0.08, 0.92, ny))
    px = ORIGIN_X + (gx.ravel() + rng.uniform(-0.05, 0.05, nx * ny)) * WIDTH_M
    py = ORIGIN_Y + (gy.ravel() + rng.uniform(-0.05, 0.05, nx * ny)) * HEIGHT_M
    points = shapely.multipoints(np.column_stack([px, py])[:n])
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=outline.buffer(5_000)))
    seeds = shapely.points(np.column_stack([px, py])[:n])
    # order cells like their seeds (voronoi_polygons does not keep the input order)
    ordered = [next(c for c in cells if c.contains(s)) for s in seeds]
    geoms = [shapely.intersection(c, outline) for c in ordered]
    used: set[str] = set()
    names = [_name(rng, used) for _ in geoms]
    epci = np.where(
        px < ORIGIN_X + WIDTH_M * 0.38,
        "299000001",
        np.where(py < ORIGIN_Y + HEIGHT_M * 0.5, "299000002", "299000003"),
    )
    frame = gpd.GeoDataFrame(
        {
            "insee": [f"99{i + 1:03d}" for i in range(n)],
            "nom": names,
            "epci": epci[:n],
            "epci_nom": [DEMO_EPCI_NAMES[str(code)] for code in epci[:n]],
            "population": rng.integers(80, 4000, n),
        },
        geometry=geoms,
        crs=DEMO_CRS,
    )
    big = int(np.argmax(frame.geometry.area))
    frame.loc[big, "population"] = 15_000  # the territory's small town
    return frame


def make_landcover(
    communes: gpd.GeoDataFrame, rng: np.random.Generator, res_m: float = 25.0
) -> tuple[np.ndarray, Affine]:
    """CLC-coded land cover over the territory's bounding box (+1 km margin)."""
    from rasterio.features import rasterize

    minx, miny, maxx, maxy = communes.total_bounds
    minx, miny, maxx, maxy = minx - 1000, miny - 1000, maxx + 1000, maxy + 1000
    cols, rows = int(np.ceil((maxx - minx) / res_m)), int(np.ceil((maxy - miny) / res_m))
    transform = Affine(res_m, 0, minx, 0, -res_m, maxy)
    yy, xx = np.mgrid[0:rows, 0:cols]
    x = minx + (xx + 0.5) * res_m
    y = maxy - (yy + 0.5) * res_m
    relief = smooth_field((rows, cols), 4, rng)
    wet = smooth_field((rows, cols), 6, rng)
    mix = smooth_field((rows, cols), 10, rng)
    lc = np.full((rows, cols), 211, dtype=np.uint16)  # arable land
    lc[mix > 0.55] = 242  # complex cultivation
    lc[(mix > 0.45) & (mix <= 0.55)] = 243  # agriculture with natural areas
    lc[wet > 0.6] = 231  # pastures
    lc[(relief > 0.45) & (relief <= 0.55)] = 231
    lc[(relief > 0.5) & (relief <= 0.58) & (mix < 0.35)] = 221  # vineyards on slopes
    lc[(relief > 0.4) & (relief <= 0.47) & (mix > 0.7)] = 222  # orchards
    lc[(relief > 0.55) & (relief <= 0.6)] = 324  # transitional woodland
    lc[relief > 0.6] = 311  # broadleaf forest
    lc[(relief > 0.72) & (mix > 0.5)] = 313  # mixed
    lc[(relief > 0.8) & (mix < 0.45)] = 312  # conifer plantations
    lc[(relief > 0.66) & (relief <= 0.72) & (mix < 0.3)] = 322  # heath
    lc[(relief > 0.62) & (relief <= 0.66) & (mix > 0.75)] = 323  # wooded grassland
    lc[(relief > 0.9) & (mix > 0.8)] = 332  # bare rock on the highest causse
    # a river crossing west -> east, with wetlands and water along it
    river_y = miny + (maxy - miny) * (0.42 + 0.08 * np.sin((x - minx) / 4_000.0))
    dist = np.abs(y - river_y)
    lc[(dist < 250) & (wet > 0.5)] = 411
    lc[dist < 40] = 511
    # villages and the town around commune centres
    centres = communes.geometry.representative_point()
    pops = communes["population"].to_numpy()
    grain = smooth_field((rows, cols), 60, rng, octaves=2)
    for pt, pop in zip(centres, pops, strict=True):
        radius = 150.0 + 4.0 * np.sqrt(pop)
        d = np.hypot(x - pt.x, y - pt.y) / (0.75 + 0.5 * grain)
        water = lc == 511
        lc[(d < radius * 1.6) & ~water] = 112  # discontinuous urban fabric
        if pop > 5000:
            lc[(d < radius * 0.7) & ~water] = 111  # town centre
            lc[(d > radius * 1.4) & (d < radius * 2.3) & (grain > 0.62) & ~water] = (
                121  # industrial zone
            )
            lc[(d > radius * 0.7) & (d < radius * 1.3) & (grain < 0.4) & ~water] = (
                141  # urban parks
            )
            lc[(d > radius * 1.6) & (d < radius * 1.9) & (grain < 0.45) & ~water] = (
                142  # sports grounds
            )
    # a motorway and a quarry
    road = np.abs(x - (minx + (maxx - minx) * 0.7 + 0.15 * (y - miny))) < 30
    lc[road] = 122
    quarry = np.hypot(x - (minx + 0.2 * (maxx - minx)), y - (miny + 0.8 * (maxy - miny))) < 300
    lc[quarry] = 131
    # outside the territory outline the raster still holds land cover (as real CLC does)
    inside = rasterize(
        communes.geometry, out_shape=(rows, cols), transform=transform, fill=0, default_value=1
    )
    logger.debug(
        "demo land cover: %d of %d pixels inside the communes", int(inside.sum()), inside.size
    )
    return lc, transform


def make_forest_type(
    lc: np.ndarray, lc_transform: Affine, rng: np.random.Generator, res_m: float = 20.0
) -> tuple[np.ndarray, Affine]:
    """Forest-type raster on its own 20 m grid (shifted origin), derived from forest pixels."""
    rows_lc, cols_lc = lc.shape
    minx, maxy = lc_transform.c + 7.0, lc_transform.f - 3.0
    width_m, height_m = cols_lc * lc_transform.a, rows_lc * -lc_transform.e
    cols, rows = int(width_m // res_m), int(height_m // res_m)
    transform = Affine(res_m, 0, minx, 0, -res_m, maxy)
    yy, xx = np.mgrid[0:rows, 0:cols]
    x = minx + (xx + 0.5) * res_m
    y = maxy - (yy + 0.5) * res_m
    col_lc = np.clip(((x - lc_transform.c) / lc_transform.a).astype(int), 0, cols_lc - 1)
    row_lc = np.clip(((y - lc_transform.f) / lc_transform.e).astype(int), 0, rows_lc - 1)
    src = lc[row_lc, col_lc]
    ftype = np.zeros((rows, cols), dtype=np.uint8)
    ftype[src == 311] = 1
    ftype[src == 312] = 2
    ftype[(src == 313) | (src == 324)] = 3
    # the finer forest map types part of the transitional woodland as broadleaf
    noise = smooth_field((rows, cols), 12, rng, octaves=2)
    ftype[(src == 324) & (noise > 0.6)] = 1
    # poplar plantations, mapped as broadleaf woodland in CLC but typed by the forest map
    ftype[(src == 311) & (noise < 0.25)] = 4
    return ftype, transform


def make_landcover_before(lc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Land cover six years earlier (CLC 2012-like): the changes seen by 2018 undone.

    Urban sprawl on cropland and pasture, grassland ploughed, forest cleared (to
    transitional woodland, pasture or a quarry), afforestation of pasture, and a wetland
    drained for crops, each in patches of a few hectares.
    """
    before = lc.copy()
    shape = lc.shape

    def patches(share: float) -> np.ndarray:
        field = smooth_field(shape, 40, rng, octaves=2)
        return field > np.quantile(field, 1.0 - share)

    before[(lc == 112) & patches(0.25)] = 211  # sprawl on cropland
    before[(lc == 121) & patches(0.4)] = 231  # industrial zone on pasture
    before[(lc == 211) & patches(0.03)] = 231  # grassland ploughed
    before[(lc == 324) & patches(0.12)] = 311  # clear-cuts (transitional woodland in 2018)
    before[(lc == 231) & patches(0.01)] = 311  # forest cleared for pasture
    before[(lc == 311) & patches(0.01)] = 231  # afforestation of pasture
    before[(lc == 211) & patches(0.01)] = 411  # wetland drained for crops
    before[(lc == 131) & patches(0.5)] = 313  # the quarry grew into mixed forest
    return before


def make_demo_territory(seed: int = DEMO_SEED) -> DemoTerritory:
    """Build the demo territory in memory (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    communes = make_communes(rng)
    lc, lc_t = make_landcover(communes, rng)
    ft, ft_t = make_forest_type(lc, lc_t, rng)
    before = make_landcover_before(lc, rng)
    buildings = make_demo_buildings(communes, rng)
    pop, pop_t = make_demo_population(communes, rng)
    charging = make_demo_charging(communes, rng)
    hedges, hedges_before = make_demo_hedges(communes, lc, lc_t, rng)
    return DemoTerritory(
        communes, lc, lc_t, before, ft, ft_t, buildings, pop, pop_t, charging, hedges,
        hedges_before,
    )  # fmt: skip


def write_demo_territory(folder: Path, seed: int = DEMO_SEED) -> dict[str, Path]:
    """Generate the demo territory and write its files into ``folder``."""
    from geocarbon.io.weather import write_epw
    from geocarbon.io.writers import write_csv, write_geotiff, write_vector

    folder = Path(folder)
    territory = make_demo_territory(seed)
    paths = {key: folder / name for key, name in DEMO_FILES.items()}
    write_vector(paths["communes"], territory.communes, layer="communes")
    write_vector(paths["buildings"], territory.buildings, layer="batiment")
    write_vector(paths["hedges"], territory.hedges, layer="haies")
    write_vector(paths["hedges_before"], territory.hedges_before, layer="haies")
    write_geotiff(
        paths["population"],
        territory.population,
        crs="EPSG:3035",
        transform=territory.population_transform,
        nodata=float("nan"),
        tags={"DESCRIPTION": "geocarbon demo territory (fictional): inhabitants per 200 m cell"},
    )
    write_csv(paths["charging_points"], territory.charging)
    fleet = pd.DataFrame(
        {
            "code_insee": territory.communes["insee"],
            "bev": (territory.communes["population"] * 0.012).round().astype(int),
            "phev": (territory.communes["population"] * 0.006).round().astype(int),
        }
    )
    write_csv(paths["ev_fleet"], fleet)
    centre = territory.communes.to_crs("EPSG:4326").union_all().centroid
    write_epw(
        paths["weather"],
        make_demo_weather(centre.y, centre.x, seed),
        latitude=centre.y,
        longitude=centre.x,
        altitude=150.0,
        tz_hours=1.0,
        name="geocarbon demo territory (synthetic)",
    )
    rasters = (
        ("landcover", territory.landcover, territory.landcover_transform, "CLC 2018 level-3 codes"),
        (
            "landcover_before",
            territory.landcover_before,
            territory.landcover_transform,
            "CLC 2012 level-3 codes",
        ),
        (
            "forest_map",
            territory.forest_type,
            territory.forest_transform,
            "forest type 1 broadleaf 2 conifer 3 mixed 4 poplar",
        ),
    )
    for key, array, transform, what in rasters:
        write_geotiff(
            paths[key],
            array,
            crs=DEMO_CRS,
            transform=transform,
            nodata=0,
            tags={"DESCRIPTION": f"geocarbon demo territory (fictional): {what}"},
        )
    logger.info("demo territory written to %s", folder)
    return paths


def make_demo_hedges(
    communes: gpd.GeoDataFrame, lc: np.ndarray, transform: Affine, rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Hedge lines (BD Haies-like) at two dates: about 400 hedges of 80-600 m along field
    edges (north-south or east-west), mostly on farmland, some crossing commune borders; 40
    planted and 60 grubbed up between 2012 and 2018. The 2012 layer is in WGS84 degrees
    (lengths are measured after reprojection), the 2018 one in Lambert-93."""
    farmland = np.isin(lc, [211, 231, 242, 243, 221, 222])
    rows, cols = np.nonzero(farmland)
    pick = rng.choice(len(rows), size=460, replace=False)
    x = transform.c + (cols[pick] + 0.5) * transform.a
    y = transform.f + (rows[pick] + 0.5) * transform.e
    length = rng.uniform(80.0, 600.0, len(pick))
    east = rng.random(len(pick)) < 0.5
    lines = [
        shapely.LineString([(x0, y0), (x0 + n, y0)] if e else [(x0, y0), (x0, y0 + n)])
        for x0, y0, n, e in zip(x, y, length, east, strict=True)
    ]
    inside = communes.union_all()
    kept = [line for line in lines if line.intersects(inside)]
    ids = [f"HAIE{i:05d}" for i in range(len(kept))]
    frame = gpd.GeoDataFrame({"id": ids}, geometry=kept, crs=DEMO_CRS)
    both, planted, removed = frame.iloc[:-100], frame.iloc[-100:-60], frame.iloc[-60:]
    after = pd.concat([both, planted], ignore_index=True)
    before = pd.concat([both, removed], ignore_index=True).to_crs("EPSG:4326")
    return gpd.GeoDataFrame(after, crs=DEMO_CRS), gpd.GeoDataFrame(before, crs="EPSG:4326")


def make_demo_buildings(communes: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Building footprints in the villages and the town, BD TOPO-like attributes (a sample:
    one house for eight inhabitants, so that the demo runs in seconds).

    Houses (pitched roofs, 2–4 m from eaves to ridge), annexes, farm sheds and, in the
    town, blocks of flats, an industrial zone with large flat roofs, a gym and a church
    (public buildings). One building in ten has no roof altitudes (roof form unknown).
    """
    rows = []
    centres = communes.geometry.representative_point()
    for code, pt, pop in zip(communes["insee"], centres, communes["population"], strict=True):
        radius = 150.0 + 4.0 * np.sqrt(pop)
        n_houses = int(pop / 8)  # a sample of the houses (keeps the demo fast)
        for _ in range(n_houses):
            r, a = radius * np.sqrt(rng.random()), rng.random() * 2 * np.pi
            w, d = rng.uniform(8, 14), rng.uniform(7, 11)
            rows.append(
                (
                    code,
                    pt.x + r * np.cos(a),
                    pt.y + r * np.sin(a),
                    w,
                    d,
                    "Résidentiel",
                    rng.uniform(4, 7),
                    rng.uniform(2.0, 4.0),
                )
            )
            if rng.random() < 0.4:
                rows.append(
                    (
                        code,
                        pt.x + r * np.cos(a) + 12,
                        pt.y + r * np.sin(a),
                        rng.uniform(3, 6),
                        rng.uniform(3, 5),
                        "Annexe",
                        2.5,
                        0.4,
                    )
                )
        for _ in range(int(pop / 200) + 1):  # farm sheds around the village
            r, a = radius * rng.uniform(1.5, 3.0), rng.random() * 2 * np.pi
            rows.append(
                (
                    code,
                    pt.x + r * np.cos(a),
                    pt.y + r * np.sin(a),
                    rng.uniform(20, 40),
                    rng.uniform(12, 20),
                    "Agricole",
                    7.0,
                    rng.uniform(1.5, 3.0),
                )
            )
        if pop > 5000:
            for k in range(12):  # blocks of flats, flat roofs
                a = k / 12 * 2 * np.pi
                rows.append(
                    (
                        code,
                        pt.x + 0.5 * radius * np.cos(a),
                        pt.y + 0.5 * radius * np.sin(a),
                        40.0,
                        14.0,
                        "Résidentiel",
                        15.0,
                        0.3,
                    )
                )
            for k in range(6):  # industrial zone: large flat roofs
                rows.append(
                    (
                        code,
                        pt.x + 1.9 * radius,
                        pt.y + (k - 3) * 70.0,
                        60.0,
                        45.0,
                        "Industriel",
                        9.0,
                        0.5,
                    )
                )
            rows.append((code, pt.x - 0.3 * radius, pt.y, 45.0, 30.0, "Sportif", 10.0, 0.6))
            rows.append((code, pt.x, pt.y + 0.2 * radius, 30.0, 14.0, "Religieux", 14.0, 8.0))
    geoms, attrs = [], []
    for i, (_code, x, y, w, d, usage, height, roof_range) in enumerate(rows):
        angle = rng.uniform(0, np.pi)
        corners = np.array([[-w / 2, -d / 2], [w / 2, -d / 2], [w / 2, d / 2], [-w / 2, d / 2]])
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        geoms.append(shapely.Polygon(corners @ rot.T + [x, y]))
        ground = 150.0 + rng.uniform(0, 5)
        known = rng.random() > 0.1
        attrs.append(
            {
                "id": f"DEMO{i + 1:06d}",
                "usage_1": usage,
                "hauteur": round(height, 1),
                "altitude_minimale_toit": round(ground + height, 1) if known else None,
                "altitude_maximale_toit": round(ground + height + roof_range, 1) if known else None,
            }
        )
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs=DEMO_CRS)


def make_demo_population(
    communes: gpd.GeoDataFrame, rng: np.random.Generator, res_m: float = 200.0
) -> tuple[np.ndarray, Affine]:
    """Population per 200 m cell (INSEE-grid-like, EPSG:3035): each commune's population
    spread around its centre (Gaussian decay) with scattered hamlets; NaN = nobody."""
    eq = communes.to_crs("EPSG:3035")
    minx, miny, maxx, maxy = eq.total_bounds
    minx, miny = np.floor(minx / res_m) * res_m, np.floor(miny / res_m) * res_m
    cols, rows = int(np.ceil((maxx - minx) / res_m)), int(np.ceil((maxy - miny) / res_m))
    transform = Affine(res_m, 0, minx, 0, -res_m, miny + rows * res_m)
    yy, xx = np.mgrid[0:rows, 0:cols]
    x = minx + (xx + 0.5) * res_m
    y = miny + rows * res_m - (yy + 0.5) * res_m
    grid = np.zeros((rows, cols))
    for pt, pop in zip(eq.geometry.representative_point(), eq["population"], strict=True):
        sigma = 250.0 + 6.0 * np.sqrt(pop)
        core = np.exp(-((x - pt.x) ** 2 + (y - pt.y) ** 2) / (2 * sigma**2))
        hamlets = (rng.random((rows, cols)) < 0.01) * np.exp(
            -((x - pt.x) ** 2 + (y - pt.y) ** 2) / (2 * (8 * sigma) ** 2)
        )
        weights = core + 0.3 * hamlets
        grid += pop * 0.85 * core / core.sum() + pop * 0.15 * hamlets / max(hamlets.sum(), 1e-9)
        del weights
    grid = np.round(grid, 1)
    grid[grid < 0.5] = np.nan
    return grid.astype("float32"), transform


def make_demo_charging(communes: gpd.GeoDataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Public charging points in IRVE statique v2 layout (one row per point), about two
    points per 1,000 inhabitants in the larger communes, with a few of the defects seen in
    real files (a point written once per connector, a power in watts, swapped coordinates)."""
    wgs = communes.to_crs("EPSG:4326")
    rows = []
    k = 0
    for code, pt, pop in zip(
        wgs["insee"], wgs.geometry.representative_point(), wgs["population"], strict=True
    ):
        n_stations = int(pop / 900)
        for s_i in range(n_stations):
            station = f"FRDEMO{code}{s_i + 1:02d}"
            lon = pt.x + rng.normal(0, 0.004)
            lat = pt.y + rng.normal(0, 0.003)
            power = float(rng.choice([7.4, 22.0, 22.0, 50.0, 150.0]))
            for p_i in range(2):
                k += 1
                rows.append(
                    {
                        "id_station_itinerance": station,
                        "id_pdc_itinerance": f"{station}P{p_i + 1}",
                        "nom_station": f"Demo {code} {s_i + 1}",
                        "implantation_station": "Voirie",
                        "nbre_pdc": 2,
                        "puissance_nominale": power,
                        "prise_type_2": "true" if power < 50 else "false",
                        "prise_type_combo_ccs": "true" if power >= 50 else "false",
                        "code_insee_commune": code,
                        "coordonneesXY": f"[{lon:.6f}, {lat:.6f}]",
                    }
                )
    if len(rows) >= 6:
        rows[1]["puissance_nominale"] = float(rows[1]["puissance_nominale"]) * 1000  # power in W
        lon, lat = (float(v) for v in str(rows[2]["coordonneesXY"]).strip("[]").split(","))
        rows[2]["coordonneesXY"] = f"[{lat:.6f}, {lon:.6f}]"  # swapped
        rows.append(
            dict(rows[4], prise_type_2="true", prise_type_combo_ccs="false")
        )  # per connector
    return pd.DataFrame(rows)




def make_demo_weather(
    latitude: float = 44.6, longitude: float = 1.45, seed: int = DEMO_SEED
) -> pd.DataFrame:
    """The demo territory's weather year (see
    :func:`geocarbon.solar.synthetic.synthetic_weather_year`)."""
    from geocarbon.solar.synthetic import synthetic_weather_year

    return synthetic_weather_year(latitude, longitude, seed)


def demo_pipeline_path() -> Path:
    """``pipelines/demo.yaml`` of the current folder (the repository root)."""
    path = Path.cwd() / "pipelines" / "demo.yaml"
    if not path.is_file():
        msg = (
            f"no demo pipeline at {path}: run 'geocarbon demo' from the repository root, "
            "or give the file with --pipeline"
        )
        raise ConfigError(msg)
    return path


def ensure_demo_inputs(cfg: PipelineConfig, *, regenerate: bool = False) -> None:
    """Generate the demo files the pipeline refers to when they are missing (or always, with
    ``regenerate``).

    The generator writes only into its own demo folder (the folder of ``communes.path``): a
    folder that does not exist yet, an empty one, or one it wrote before (it holds
    :data:`DEMO_MARKER`). It never replaces a file it did not write: a folder holding other
    files, or a pipeline naming inputs the generator does not make, is refused.

    Raises
    ------
    ConfigError
        When generating would write anywhere else than the demo's own files.
    """
    from geocarbon.pipeline import config_input_paths

    wanted = [p for _, p in config_input_paths(cfg)]
    if not regenerate and all(p.exists() for p in wanted) and _demo_version(wanted) != "older":
        return
    assert cfg.communes.path is not None  # the demo pipeline has boundaries
    folder = cfg.communes.path.parent
    names = set(DEMO_FILES.values())
    foreign = [p for p in wanted if p.parent != folder or p.name not in names]
    if foreign:
        msg = (
            f"the demo generator makes only {', '.join(sorted(names))} in one folder, but the pipeline "
            f"{cfg.source_file} refers to {', '.join(map(str, foreign))}; the demo runs only "
            "pipelines/demo.yaml-like pipelines (use 'geocarbon run' for your own territory)"
        )
        raise ConfigError(msg)
    _check_demo_folder(folder)
    write_demo_folder(folder)


def _demo_version(paths: list[Path]) -> str:
    """``"older"`` when the marker of the demo folder holding ``paths`` says an older generator
    wrote it (so it is generated again), ``"current"`` when this one did, ``"unknown"`` without
    a readable marker (files left as they are)."""
    if not paths:
        return "current"
    try:
        data = json.loads((paths[0].parent / DEMO_MARKER).read_text(encoding="utf-8"))
        if data.get("signature") != DEMO_SIGNATURE:
            return "unknown"
        return "current" if int(data.get("version", 1)) == DEMO_VERSION else "older"
    except (OSError, ValueError, AttributeError, TypeError):
        return "unknown"


def _check_demo_folder(folder: Path) -> None:
    """Refuse a demo folder holding files the demo generator did not write."""
    if folder.exists() and not folder.is_dir():
        msg = f"demo folder {folder} exists and is not a folder"
        raise ConfigError(msg)
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if not present:
        return
    marker = folder / DEMO_MARKER
    written: set[str] = set()
    if marker.is_file():
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            if data.get("signature") == DEMO_SIGNATURE:
                written = set(data.get("files", []))
        except (OSError, ValueError, AttributeError):
            written = set()
    if not written:
        msg = (
            f"demo folder {folder} holds files the demo generator did not write ({', '.join(sorted(present)[:8])}); "
            "the demo writes its inputs only into its own folder: point the demo pipeline to a new or empty "
            "folder (e.g. data_raw/demo), or delete that folder yourself if it is an old demo"
        )
        raise ConfigError(msg)
    clash = (present & set(DEMO_FILES.values())) - written
    if clash:
        msg = (
            f"demo folder {folder} holds {', '.join(sorted(clash))}, which the demo generator did not write; "
            "move them elsewhere or point the demo pipeline to a new folder"
        )
        raise ConfigError(msg)


def write_demo_folder(folder: Path, seed: int = DEMO_SEED) -> dict[str, Path]:
    """Generate the demo territory into a temporary folder beside ``folder``, then move its
    files into ``folder`` and write :data:`DEMO_MARKER` (all or nothing)."""
    import contextlib
    import shutil
    import tempfile

    from geocarbon.errors import OutputError
    from geocarbon.io.outdir import os_error_message
    from geocarbon.io.writers import write_json

    created: list[Path] = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.demo-tmp-"))
    except OSError as err:
        raise OutputError(os_error_message(err, folder)) from None
    try:
        written = write_demo_territory(tmp, seed)
        for path in written.values():
            path.replace(folder / path.name)
        write_json(
            folder / DEMO_MARKER,
            {
                "signature": DEMO_SIGNATURE,
                "version": DEMO_VERSION,
                "seed": seed,
                "files": sorted(DEMO_FILES.values()),
            },
        )
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if folder in created:  # a folder made for this call holds nothing of the user's
            shutil.rmtree(folder, ignore_errors=True)
        for path in created[1:]:
            with contextlib.suppress(OSError):
                path.rmdir()
        if isinstance(err, OSError):
            raise OutputError(os_error_message(err, folder)) from None
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return {key: folder / name for key, name in DEMO_FILES.items()}
