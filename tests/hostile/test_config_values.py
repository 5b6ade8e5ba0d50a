"""Absurd configuration values and unreadable pipeline or vector files: each is refused when
the file is read, with one message naming the key (or file), the value and what is allowed;
``run`` and ``validate`` exit 2 and change nothing."""

from __future__ import annotations

import gzip
import logging
import math
import re
import struct
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import yaml
from shapely.geometry import box

from geocarbon.config import (
    BLOCK_PIXELS_MAX,
    DISTANCE_MAX_M,
    PipelineConfig,
    config_from_dict,
    load_config,
)
from geocarbon.errors import ConfigError, InputError
from geocarbon.io.tables import YAML_MAX_BYTES, read_csv, read_json, read_yaml
from geocarbon.io.vectors import read_vector
from tests.conftest import REPO
from tests.hostile.conftest import Sandbox, assert_refused

INF, NAN = math.inf, math.nan

BASE: dict[str, Any] = {
    "name": "t",
    "communes": {"path": "c.gpkg"},
    "landcover": {"path": "lc.tif"},
}
PV: dict[str, Any] = {"buildings": {"path": "b.gpkg"}, "weather": {"path": "w.epw"}}
CHARGING: dict[str, Any] = {"points": {"path": "p.csv"}}
FLOWS: dict[str, Any] = {"start_year": 2012, "end_year": 2018, "landcover_before": "lc12.tif"}


def _set(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with the dotted ``key`` set (missing sections are added: pv,
    charging and flows get their minimal required keys)."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(data))
    parts = key.split(".")
    node = out
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            seed = (
                {"pv": PV, "charging": CHARGING, "flows": FLOWS}.get(part) if depth == 0 else None
            )
            node[part] = yaml.safe_load(yaml.safe_dump(seed)) if seed else {}
        node = node[part]
    node[parts[-1]] = value
    return out


def _refused(key: str, value: Any) -> str:
    with pytest.raises(ConfigError) as err:
        config_from_dict(_set(BASE, key, value), Path("/nonexistent"), source="t.yaml")
    return " ".join(str(err.value).split())


# (dotted key, value, text the message must hold: the key, the allowed range, the value)
OUT_OF_RANGE = [
    ("pv.parameters.usable_share.flat", 1.5, "pv.parameters.usable_share.flat: must be between 0 and 1 (got 1.5)"),
    ("pv.parameters.usable_share.unknown", -0.1, "usable_share.unknown: must be between 0 and 1 (got -0.1)"),
    ("pv.parameters.small_roof_factor", 2, "small_roof_factor: must be between 0 and 1 (got 2)"),
    ("carbon.artificial_sealed_share", 1.01, "carbon.artificial_sealed_share: must be between 0 and 1 (got 1.01)"),
    ("flows.harvest_factor", -1, "flows.harvest_factor: must be between 0 and 10 (got -1)"),
    ("flows.harvest_factor", 1e308, "flows.harvest_factor: must be between 0 and 10 (got 1e+308)"),
    ("flows.n2o_gwp", 0.273, "flows.n2o_gwp: must be between 100 and 400 (got 0.273)"),
    ("flows.n2o_gwp", 2730, "flows.n2o_gwp: must be between 100 and 400 (got 2730)"),
    ("flows.start_year", 12, "flows.start_year: must be between 1900 and 2100 (got 12)"),
    ("flows.end_year", 20180, "flows.end_year: must be between 1900 and 2100 (got 20180)"),
    ("landcover.year", 1018, "landcover.year: must be between 1900 and 2100 (got 1018)"),
    ("pv.parameters.kwp_per_m2", 0, "kwp_per_m2: must be greater than 0 and at most 0.5 kWp/m² (got 0)"),
    ("pv.parameters.kwp_per_m2", 200, "kwp_per_m2: must be greater than 0 and at most 0.5 kWp/m² (got 200)"),
    ("pv.parameters.flat_tilt_deg", 91, "flat_tilt_deg: must be between 0 and 90 degrees (got 91)"),
    ("pv.parameters.pitched_tilt_deg", -5, "pitched_tilt_deg: must be between 0 and 90 degrees (got -5)"),
    ("pv.parameters.flat_azimuth_deg", 360, "flat_azimuth_deg: must be at least 0 and less than 360 degrees (got 360)"),
    ("pv.parameters.pitched_azimuths_deg", [90, -90], "pitched_azimuths_deg[1]: must be at least 0 and less than 360 degrees (got -90)"),
    ("pv.parameters.pitched_azimuths_deg", [], "pitched_azimuths_deg: List should have at least 1 item"),
    ("pv.parameters.losses_percent", 100, "losses_percent: must be at least 0 and less than 100 % (got 100)"),
    ("pv.parameters.losses_percent", -1, "losses_percent: must be at least 0 and less than 100 % (got -1)"),
    ("pv.parameters.gamma_pdc_per_c", -0.4, "gamma_pdc_per_c: must be between -0.01 and 0 per °C (got -0.4)"),
    ("pv.parameters.gamma_pdc_per_c", 0.004, "gamma_pdc_per_c: must be between -0.01 and 0 per °C (got 0.004)"),
    ("pv.parameters.flat_roof_max_range_m", -1, "flat_roof_max_range_m: must be between 0 and 100 m (got -1)"),
    ("pv.parameters.small_roof_m2", -50, "small_roof_m2: must be at least 0 m² (got -50)"),
    ("pv.parameters.min_usable_m2", -1, "min_usable_m2: must be at least 0 m² (got -1)"),
    ("pv.parameters.temperature_model", "glass", "temperature_model: Input should be 'open_rack_glass_glass'"),
    ("charging.distances_m", [1000, 0], "charging.distances_m[1]: must be greater than 0 and at most 1_000_000 m (got 0)"),
    ("charging.distances_m", [-5000], "charging.distances_m[0]: must be greater than 0 and at most 1_000_000 m (got -5000)"),
    ("charging.distances_m", [1e12], "charging.distances_m[0]: must be greater than 0 and at most 1_000_000 m"),
    ("charging.distances_m", [], "charging.distances_m: List should have at least 1 item"),
    ("charging.distances_m", [1000, 5000, 1000], "distances_m lists 1000 more than once"),
    ("charging.white_zone_m", 0, "charging.white_zone_m: must be greater than 0 and at most 1_000_000 m (got 0)"),
    ("charging.fast_kw", 0, "charging.fast_kw: must be greater than 0 and at most 1000 kW (got 0)"),
    ("charging.fast_kw", 1e308, "charging.fast_kw: must be greater than 0 and at most 1000 kW (got 1e+308)"),
    ("charging.afir_kw_per_bev", -1.3, "charging.afir_kw_per_bev: must be between 0 and 10 kW (got -1.3)"),
    ("charging.afir_kw_per_phev", 800, "charging.afir_kw_per_phev: must be between 0 and 10 kW (got 800)"),
    ("maps.simplify_m", -1, "maps.simplify_m: must be between 0 and 1000 m (got -1)"),
    ("maps.simplify_m", 1e9, "maps.simplify_m: must be between 0 and 1000 m (got 1000000000.0)"),
    ("processing.block_pixels", 0, "processing.block_pixels: must be between 10_000 and 25_000_000 pixels (got 0)"),
    ("processing.block_pixels", 10**12, "processing.block_pixels: must be between 10_000 and 25_000_000 pixels (got 1000000000000)"),
    ("pv.targets", [{"indicator": "pv_mwp", "value": -5}], "pv.targets[0]: the target of pv_mwp must be at least 0 (got -5)"),
    ("pv.targets", [{"indicator": "public_roofs_equipped_share", "value": 50}], "public_roofs_equipped_share is a share: it must be between 0 and 1 (got 50"),
    ("pv.targets", [{"indicator": "pv_mwp", "value": 5, "year": 3030}], "pv.targets[0].year: must be between 1900 and 2100 (got 3030)"),
    ("charging.targets", [{"indicator": "communes_covered_share", "value": 1.5}], "communes_covered_share is a share: it must be between 0 and 1 (got 1.5"),
    ("charging.targets", [{"indicator": "points", "value": -1}], "charging.targets[0]: the target of points must be at least 0 (got -1)"),
    ("charging.targets", [{"indicator": "pop_share_within_5km", "value": 0.9}], "pop_share_within_5km needs 5000 in distances_m"),
    ("carbon.overrides", {"cropland": {"soil": -1}}, "carbon.overrides.cropland.soil: must be between 0 and 2000 tC/ha (got -1)"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "needle"), OUT_OF_RANGE, ids=lambda v: str(v)[:40])
def test_out_of_range_values_are_refused_with_key_range_and_value(
    key: str, value: Any, needle: str
) -> None:
    if key == "charging.targets" and value[0]["indicator"] == "pop_share_within_5km":
        message = _refused("charging", {**CHARGING, "distances_m": [1000], "targets": value})
    else:
        message = _refused(key, value)
    assert needle in message, message
    assert message.startswith("t.yaml: the pipeline configuration is invalid:")


NOT_FINITE = [
    ("pv.parameters.usable_share.pitched", NAN),
    ("pv.parameters.small_roof_m2", NAN),
    ("pv.parameters.large_roof_m2", INF),
    ("pv.parameters.kwp_per_m2", INF),
    ("carbon.artificial_sealed_share", NAN),
    ("flows.harvest_factor", INF),
    ("flows.n2o_gwp", NAN),
    ("maps.simplify_m", INF),
    ("charging.white_zone_m", INF),
    ("charging.fast_kw", NAN),
    ("charging.afir_kw_per_bev", INF),
    ("charging.distances_m", [1000, INF]),
    ("carbon.overrides", {"cropland": {"soil": INF}}),
    ("carbon.overrides", {"cropland": {"soil": NAN}}),
    ("landcover.nodata_values", [999, -INF]),
    ("pv.targets", [{"indicator": "pv_mwp", "value": INF}]),
    ("charging.targets", [{"indicator": "points", "value": NAN}]),
    ("pv.parameters.gamma_pdc_per_c", "-inf"),  # text that parses as a number
    ("pv.parameters.losses_percent", "1e400"),  # overflows to infinity
]


@pytest.mark.parametrize(("key", "value"), NOT_FINITE, ids=lambda v: str(v)[:40])
def test_infinity_and_nan_are_refused_everywhere_a_number_is_expected(key: str, value: Any) -> None:
    message = _refused(key, value)
    assert key in message
    assert "must be a finite number, not infinity or NaN" in message


def test_nan_as_a_nodata_code_says_nan_pixels_are_always_no_data() -> None:
    message = _refused("landcover.nodata_values", [999, NAN])
    assert "landcover.nodata_values[1]: must be a finite number" in message
    assert "NaN pixels are always no data" in message


def test_yaml_infinity_and_nan_are_refused_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\ncommunes: {path: c.gpkg}\nlandcover: {path: lc.tif}\n"
        "maps: {simplify_m: .inf}\ncarbon: {artificial_sealed_share: .nan}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "maps.simplify_m: must be a finite number, not infinity or NaN (got inf)" in message
    assert "carbon.artificial_sealed_share: must be a finite number" in message


ACCEPTED = [
    ("pv.parameters.usable_share.flat", 0.0),
    ("pv.parameters.usable_share.pitched", 1.0),
    ("pv.parameters.gamma_pdc_per_c", -0.0025),  # CdTe
    ("pv.parameters.flat_azimuth_deg", 0.0),
    ("pv.parameters.temperature_model", "open_rack_glass_polymer"),
    ("flows.n2o_gwp", 265),
    ("flows.harvest_factor", 0.0),
    ("processing.block_pixels", BLOCK_PIXELS_MAX),
    ("charging.distances_m", [500, 1500.5, DISTANCE_MAX_M]),
    ("charging.fast_kw", 150),
    ("maps.simplify_m", 0),
    ("landcover.nodata_values", [0, 999, -3.4e38]),
    ("carbon.overrides", {"cropland": {"soil": 0.0}}),
    ("pv.targets", [{"indicator": "public_roofs_equipped_share", "value": 1.0, "year": 2030}]),
    ("output_crs", "EPSG:2154"),
    ("output_crs", "EPSG:4326"),  # geographic: areas are never computed in the output CRS
    ("output_crs", "+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80"),
]


@pytest.mark.parametrize(("key", "value"), ACCEPTED, ids=lambda v: str(v)[:40])
def test_plausible_values_at_and_inside_the_bounds_are_accepted(key: str, value: Any) -> None:
    cfg = config_from_dict(_set(BASE, key, value), Path("/nonexistent"))
    assert isinstance(cfg, PipelineConfig)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("EPSG:999999", "output_crs: pyproj cannot build the CRS 'EPSG:999999'"),
        ("Lambert 93 please", "output_crs: pyproj cannot build the CRS 'Lambert 93 please'"),
        (
            "EPSG:5714",
            "output_crs: 'EPSG:5714' is a Vertical CRS (MSL height), not a horizontal CRS",
        ),
        ("EPSG:4978", "output_crs: 'EPSG:4978' is a Geocentric CRS"),
        ("  ", "output_crs: is empty; give a CRS such as EPSG:2154, or remove the key"),
    ],
)
def test_output_crs_is_built_with_pyproj_when_the_file_is_read(value: str, needle: str) -> None:
    message = _refused("output_crs", value)
    assert needle in message, message
    assert message.count(" - ") == 1  # one problem, one line


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_output_dir_is_refused(value: str) -> None:
    message = _refused("output_dir", value)
    assert (
        "output_dir: is empty (an empty string, or a variable that expands to nothing)" in message
    )


def test_output_dir_from_a_variable_expanding_to_nothing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEOCARBON_TEST_EMPTY", raising=False)
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\noutput_dir: ${GEOCARBON_TEST_EMPTY:-}\ncommunes: {path: c.gpkg}\n"
        "landcover: {path: lc.tif}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="output_dir: is empty"):
        load_config(path)
    path.write_text(path.read_text().replace(":-}", "}"), encoding="utf-8")
    with pytest.raises(ConfigError, match="GEOCARBON_TEST_EMPTY is used in the pipeline file"):
        load_config(path)


def test_several_problems_are_listed_one_per_line() -> None:
    data = _set(_set(BASE, "maps.simplify_m", -1), "processing.block_pixels", 5)
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, Path("/nonexistent"), source="t.yaml")
    lines = str(err.value).splitlines()
    assert lines[0] == "t.yaml: the pipeline configuration is invalid:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - maps.simplify_m",
        "  - processing.block_pixels",
    ]


# ---------------------------------------------------------------- pipeline files

BOMB = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n".encode()
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _pipeline_text() -> str:
    return yaml.safe_dump(BASE, sort_keys=False)


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (
            "name: t\ndescription: Forêt de Grésigne\n".encode("latin-1"),
            ["is not UTF-8 text (byte 0xea on line 2)", "must be UTF-8", "iconv -f latin1 -t utf-8"],
        ),
        ("name: t\n".encode("utf-16"), ["is UTF-16 text", "iconv -f utf-16 -t utf-8"]),
        (BOMB, ["line 2: YAML aliases (*a) are not allowed", "write the values out in full"]),
        (b"", ["is empty; a pipeline file is a mapping of keys"]),
        (b"# all commented out\n\n", ["is empty; a pipeline file is a mapping of keys"]),
        (bytes(range(256)) * 4, ["is a binary file (it holds NUL bytes)"]),
        (b"- communes\n- landcover\n", ["a pipeline file must be a mapping of keys"]),
        (b"name: t\nlandcover: {path: a.tif}\nlandcover: {path: b.tif}\n", ["line 3: the key 'landcover' is given twice"]),
        (b"name: t\nflows: {start_year: 2018-13-45}\n", ["not valid YAML: month must be in 1..12"]),
        (b"name: [unclosed\n", ["not valid YAML: line 2, column 1: expected ',' or ']'"]),
        (b"name: t\n\tcommunes: x\n", ["not valid YAML: line 2, column 1: found character"]),
        (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", ["nested too deeply"]),
        (b"# " + b"x" * YAML_MAX_BYTES, ["is larger than 1024 kB: this is not a pipeline file"]),
    ],
    ids=["latin1", "utf16", "alias-bomb", "empty", "comments-only", "binary", "a-list",
         "duplicate-key", "bad-date", "syntax", "tab", "too-deep", "too-large"],
)  # fmt: skip
def test_unreadable_pipeline_files_give_one_message(
    tmp_path: Path, content: bytes, needles: list[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


def test_alias_bomb_is_small_and_refused_before_any_expansion() -> None:
    assert len(BOMB) < 400  # 9**9 = 387 million strings once expanded
    with pytest.raises(ConfigError, match=r"aliases \(\*a\) are not allowed"):
        read_yaml_text(BOMB)


def read_yaml_text(content: bytes) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_bytes(content)
        return read_yaml(path)


def test_anchors_without_aliases_and_a_bom_are_fine() -> None:
    data = read_yaml_text(b"\xef\xbb\xbfname: t\nmaps: &m {enabled: false}\n")
    assert data == {"name": "t", "maps": {"enabled": False}}


def test_a_folder_and_an_unreadable_pipeline_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "lot.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"lot.yaml is a folder, not a pipeline file"):
        load_config(folder)
    path = tmp_path / "t.yaml"
    path.write_text(_pipeline_text(), encoding="utf-8")

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)  # tests run as root: chmod cannot deny
    with pytest.raises(ConfigError, match=r"cannot be read \(permission denied\)"):
        load_config(path)


def test_shipped_pipelines_use_no_aliases_and_load() -> None:
    files = sorted((REPO / "pipelines").glob("*.yaml"))
    assert len(files) >= 4
    for path in files:  # an alias or a duplicate key would be refused here
        assert load_config(path).name == path.stem


# ---------------------------------------------------------------- tables


def test_csv_and_json_readers_give_one_input_error(tmp_path: Path) -> None:
    latin = tmp_path / "t.csv"
    latin.write_bytes("code,nom\n46001,Forêt\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"table: .*t.csv is not UTF-8 text.*iconv -f latin1"):
        read_csv(latin, "table")
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"table: .*e.csv is empty"):
        read_csv(empty, "table")
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 50_000)[:200])
    with pytest.raises(InputError, match=r"table: cannot read .*t.csv.gz.*is the file complete"):
        read_csv(truncated, "table")
    not_gzip = tmp_path / "n.csv.gz"
    not_gzip.write_bytes(b"code,nom\n")
    with pytest.raises(InputError, match=r"table: cannot read .*n.csv.gz"):
        read_csv(not_gzip, "table")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(InputError, match=r"table: .*folder.csv is a folder"):
        read_csv(tmp_path / "folder.csv", "table")
    js = tmp_path / "r.json"
    js.write_bytes('{"nom": "Forêt"}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"regions: .*r.json is not UTF-8 text"):
        read_json(js, "regions")


# ---------------------------------------------------------------- vector files


def _layer(n: int, crs: str = "EPSG:2154") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"4600{i}" for i in range(n)]},
        geometry=[box(i * 10, 0, i * 10 + 5, 5) for i in range(n)],
        crs=crs,
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb"])
@pytest.mark.parametrize("what", ["communes", "buildings", "road network"])
def test_an_empty_vector_layer_names_the_input_kind(tmp_path: Path, suffix: str, what: str) -> None:
    path = tmp_path / f"empty{suffix}"
    _layer(1).iloc[:0].to_file(path)
    with pytest.raises(InputError, match=rf"^{what}: .*empty{suffix} is empty: it has no features"):
        read_vector(path, what)


def test_a_layer_without_any_geometry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame({"code": ["1", "2"]}, geometry=[None, None], crs="EPSG:2154").to_file(path)
    with pytest.raises(
        InputError, match=r"^buildings: .*has 2 feature\(s\) but none has a geometry"
    ):
        read_vector(path, "buildings")


def test_an_empty_exclusion_layer_is_allowed_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "zones.gpkg"
    _layer(1).iloc[:0].to_file(path)
    with caplog.at_level(logging.WARNING, logger="geocarbon"):
        frame = read_vector(path, "exclusion zones", allow_empty=True)
    assert len(frame) == 0 and frame.crs == "EPSG:2154"
    assert (
        "exclusion zones: " in caplog.text
        and "is empty: it has no features; it is ignored" in caplog.text
    )
    nulls = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[None], crs="EPSG:2154").to_file(nulls)
    assert len(read_vector(nulls, "existing installations", allow_empty=True)) == 0


def test_zero_byte_and_damaged_vector_files(tmp_path: Path) -> None:
    zero = tmp_path / "zero.gpkg"
    zero.write_bytes(b"")
    with pytest.raises(InputError, match=r"^communes: .*zero.gpkg is empty \(0 bytes\)"):
        read_vector(zero, "communes")
    full = tmp_path / "full.gpkg"
    _layer(500).to_file(full)
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InputError, match=r"^communes: cannot (open|read) .*cut.gpkg"):
        read_vector(cut, "communes")
    junk = tmp_path / "junk.geojson"
    junk.write_bytes(b'{"type": "FeatureCollection", "features": [{"type": "Feat')
    with pytest.raises(InputError, match=r"^buildings: cannot (open|read) .*junk.geojson"):
        read_vector(junk, "buildings")


@pytest.mark.parametrize("part", [".shp", ".shx", ".dbf"])
def test_a_truncated_shapefile_is_refused_not_read_with_missing_shapes(
    tmp_path: Path, part: str
) -> None:
    path = tmp_path / "b.shp"
    _layer(200).to_file(path)
    target = path.with_suffix(part)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=rf"^buildings: .*b\{part} is truncated"):
        read_vector(path, "buildings")


def test_shapefile_header_lengths_are_read_as_documented(tmp_path: Path) -> None:
    path = tmp_path / "b.shp"
    _layer(3).to_file(path)
    words = struct.unpack_from(">i", path.read_bytes(), 24)[0]
    assert words * 2 == path.stat().st_size  # the check compares exactly this
    assert len(read_vector(path, "buildings")) == 3


# ---------------------------------------------------------------- end to end (the CLI)

E2E_PIPELINES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "usable_share": (
        {"pv": {**PV, "parameters": {"usable_share": {"flat": 1.5}}}},
        ["pv.parameters.usable_share.flat: must be between 0 and 1 (got 1.5)"],
    ),
    "simplify_inf": (
        {"maps": {"simplify_m": INF}},
        ["maps.simplify_m: must be a finite number, not infinity or NaN (got inf)"],
    ),
    "block_pixels": (
        {"processing": {"block_pixels": 10**12}},
        ["processing.block_pixels: must be between 10_000 and 25_000_000 pixels"],
    ),
    "distance": (
        {"charging": {**CHARGING, "distances_m": [1000, -1]}},
        ["charging.distances_m[1]: must be greater than 0"],
    ),
    "output_crs": ({"output_crs": "EPSG:999999"}, ["output_crs: pyproj cannot build the CRS 'EPSG:999999'"]),
    "output_dir_empty": ({"output_dir": ""}, ["output_dir: is empty"]),
    "output_dir_unset": (
        {"output_dir": "${GEOCARBON_TEST_UNSET:-}"},
        ["output_dir: is empty (an empty string, or a variable that expands to nothing)"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", sorted(E2E_PIPELINES))
def test_cli_refuses_absurd_values_and_changes_nothing(
    sandbox: Sandbox, case: str, command: str
) -> None:
    updates, needles = E2E_PIPELINES[case]
    path = sandbox.write_pipeline(**updates)
    before = sandbox.digest()
    result = sandbox.run(command, path, env={"GEOCARBON_TEST_UNSET": ""})
    assert_refused(result, *needles, before=before, after=sandbox.digest())


E2E_FILES: dict[str, tuple[bytes, list[str]]] = {
    "latin1": (
        "name: tiny\ndescription: Forêt\n".encode("latin-1"),
        ["is not UTF-8 text", "must be UTF-8", "iconv -f latin1 -t utf-8"],
    ),
    "alias_bomb": (BOMB, ["YAML aliases (*a) are not allowed in a pipeline file"]),
    "empty": (b"", ["is empty; a pipeline file is a mapping of keys"]),
    "binary": (bytes(range(256)), ["is a binary file"]),
}


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", sorted(E2E_FILES))
def test_cli_refuses_unreadable_pipeline_files(sandbox: Sandbox, case: str, command: str) -> None:
    content, needles = E2E_FILES[case]
    path = sandbox.repo / "pipelines" / f"{case}.yaml"
    path.write_bytes(content)
    before = sandbox.digest()
    result = sandbox.run(command, path)
    assert_refused(result, str(path), *needles, before=before, after=sandbox.digest())
    assert len(result.stderr.strip().splitlines()) <= 2  # one message


def test_cli_refuses_a_folder_as_pipeline_file(sandbox: Sandbox) -> None:
    before = sandbox.digest()
    result = sandbox.run("validate", sandbox.repo / "pipelines")
    assert_refused(
        result, "is a folder, not a pipeline file", before=before, after=sandbox.digest()
    )


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("damage", ["no_features", "truncated", "zero_bytes"])
def test_cli_names_the_communes_when_their_file_is_empty_or_damaged(
    sandbox: Sandbox, command: str, damage: str
) -> None:
    path = sandbox.inputs / "communes.gpkg"
    if damage == "no_features":
        gpd.read_file(path).iloc[:0].to_file(path, layer="communes")
        needle = "is empty: it has no features"
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:4096])
        needle = "communes.gpkg"
    else:
        path.write_bytes(b"")
        needle = "is empty (0 bytes)"
    before = sandbox.digest()
    result = sandbox.run(command, sandbox.pipeline)
    assert_refused(result, "communes:", needle, before=before, after=sandbox.digest())


def test_a_geographic_output_crs_is_accepted_and_areas_are_unchanged(sandbox: Sandbox) -> None:
    """EPSG:4326 output: layers are reprojected, areas stay those of an equal-area projection
    (each commune is 2 x 4 pixels of 1 ha)."""
    path = sandbox.write_pipeline(output_crs="EPSG:4326")
    result = sandbox.run("run", path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = gpd.read_file(sandbox.repo / "outputs" / "tiny" / "geocarbon.gpkg", layer="communes")
    assert out.crs == "EPSG:4326"
    assert out["area_ha"].tolist() == pytest.approx([8.0, 8.0], rel=1e-6)
    assert out["landcover_area_ha"].tolist() == pytest.approx([8.0, 8.0])


def test_a_partial_usable_share_keeps_the_defaults_of_the_other_roof_forms() -> None:
    """Only the flat share given: pitched and unknown roofs keep 0.40 and 0.25 (an absent
    form would otherwise give those roofs no usable share at all)."""
    cfg = config_from_dict(_set(BASE, "pv.parameters.usable_share", {"flat": 0.5}), Path("/x"))
    assert cfg.pv is not None
    assert cfg.pv.parameters.usable_share == {"flat": 0.5, "pitched": 0.40, "unknown": 0.25}


def test_override_of_an_unknown_category_is_refused_by_validate(sandbox: Sandbox) -> None:
    """carbon.overrides names a category that does not exist: validate says so (not only run,
    after the zonal pass)."""
    p = sandbox.write_pipeline(
        carbon={"coefficients": "generic", "overrides": {"lava": {"soil": 5}}}
    )
    for command in ("validate", "run"):
        before = sandbox.digest()
        r = sandbox.run(command, p)
        assert_refused(
            r,
            "carbon.overrides: unknown categories ['lava']",
            before=before,
            after=sandbox.digest(),
        )


def test_pipeline_file_that_is_a_pipe_or_a_broken_link(tmp_path: Path) -> None:
    """A FIFO would block the read forever; a link loop is not 'not found'."""
    import os

    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_config(fifo)
    loop_a, loop_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    with pytest.raises(ConfigError, match="symbolic link to nothing"):
        load_config(loop_a)


def test_yaml_syntax_error_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\n\tcommunes: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "\n" not in str(err.value) and "<unicode string>" not in str(err.value)


def test_csv_with_another_separator_or_utf16_says_so(tmp_path: Path) -> None:
    semi = tmp_path / "irve.csv"
    semi.write_text("id_pdc_itinerance;puissance_nominale\nFR1;22\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"separated by ';', not ','.*separator: ';'"):
        read_csv(semi, "charging points")
    tab = tmp_path / "fleet.csv"
    tab.write_text("code_insee\tbev\n46001\t3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"separated by a tab"):
        read_csv(tab, "EV fleet")
    assert read_csv(semi, "charging points", sep=";")["puissance_nominale"].tolist() == [22]
    utf16 = tmp_path / "u16.csv"
    utf16.write_text("a,b\n1,2\n", encoding="utf-16")
    with pytest.raises(InputError, match=r"it is UTF-16.*iconv -f utf-16 -t utf-8"):
        read_csv(utf16, "charging points")


@pytest.mark.parametrize(
    ("update", "where"),
    [
        ({"carbon": {"coefficients": "generic", "overrides": {"cropland": {"soil": True}}}}, "carbon.overrides"),
        ({"maps": {"simplify_m": True}}, "maps.simplify_m"),
        ({"landcover": {"path": "lc.tif", "nodata_values": [False]}}, "landcover.nodata_values"),
    ],
)  # fmt: skip
def test_true_false_is_not_a_number(tmp_path: Path, update: dict[str, Any], where: str) -> None:
    """YAML's true would be read as 1.0 tC/ha (57.4 -> 50.6 MtC on the Lot, silently)."""
    data = {"name": "t", "communes": {"path": "c.gpkg"}, "landcover": {"path": "lc.tif"}, **update}
    with pytest.raises(
        ConfigError, match=rf"{re.escape(where)}: must be a number or a text, not true/false"
    ):
        config_from_dict(data, tmp_path)
    fine = {"name": "t", "communes": {"path": "c.gpkg"}, "landcover": {"path": "lc.tif"},
            "maps": {"enabled": False}, "flows": None}  # fmt: skip
    assert config_from_dict(fine, tmp_path).maps.enabled is False
