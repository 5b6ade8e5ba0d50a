"""Inputs that used to be accepted with a silent choice: a column named twice, an EPCI with two
names, an output CRS made for another part of the world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geocarbon.errors import InputError
from geocarbon.io.tables import read_csv
from tests.hostile.conftest import Sandbox, assert_refused


def test_csv_column_named_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "changes.csv"
    path.write_text("commune,code12,code18,area,area\n46001,211,112,1.5,1000000\n")
    with pytest.raises(InputError, match=r"names the column\(s\) 'area' more than once"):
        read_csv(path, "change table")
    fine = tmp_path / "fine.csv"
    fine.write_text("a,a.1\n1,2\n")  # a column really named 'a.1' is not a repeat
    assert list(read_csv(fine, "table").columns) == ["a", "a.1"]


def test_epci_with_two_names_is_refused(sandbox: Sandbox) -> None:
    (sandbox.inputs / "epci.csv").write_text(
        "code,nom\n200000001,CA du Bon Nom\n200000001,WRONG NAME\n200000001,CA du Bon Nom\n"
    )
    p = sandbox.write_pipeline(communes={"epci_names": {"path": "../data_raw/tiny/epci.csv"}})
    for command in ("validate", "run"):
        before = sandbox.digest()
        r = sandbox.run(command, p)
        assert_refused(
            r, "epci.csv gives different names to one EPCI",
            "200000001: 'CA du Bon Nom', 'WRONG NAME'", before=before, after=sandbox.digest(),
        )  # fmt: skip


def test_output_crs_of_another_region_gives_a_notice(sandbox: Sandbox) -> None:
    p = sandbox.write_pipeline(output_crs="EPSG:3031")  # Antarctic polar stereographic
    r = sandbox.run("run", p)
    assert r.returncode == 0, r.stderr
    run = json.loads((sandbox.repo / "outputs" / "tiny" / "run.json").read_text())
    codes = [n["code"] for n in run["notices"]]
    assert "output_crs_area_of_use" in codes
    p = sandbox.write_pipeline(output_crs="EPSG:3035")  # Europe: no notice
    r = sandbox.run("run", p, "--overwrite")
    run = json.loads((sandbox.repo / "outputs" / "tiny" / "run.json").read_text())
    assert "output_crs_area_of_use" not in [n["code"] for n in run["notices"]]
