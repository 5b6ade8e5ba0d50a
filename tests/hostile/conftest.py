"""Hostile inputs and faults: a sandbox holding a fake home, a fake repository and the inputs of
a tiny pipeline, the CLI run as a user runs it (a subprocess), and a fingerprint of the whole
tree so that every test can assert that nothing outside the output folder changed."""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import yaml
from affine import Affine
from shapely.geometry import box

from tests.conftest import REPO, write_raster

X0, Y0 = 3_600_000.0, 2_400_400.0  # EPSG:3035: 100 m pixels are exactly 1 ha


def tree_digest(root: Path) -> dict[str, str]:
    """Fingerprint of every entry under ``root``: files by SHA-256, folders and symlinks by
    kind and target (relative paths as keys)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames + filenames:
            p = base / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link:{p.readlink()}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Entries added, removed or modified between two digests."""
    keys = set(before) | set(after)
    return {k for k in keys if before.get(k) != after.get(k)}


class CliServer:
    """Client of :mod:`tests.hostile.cli_server`: ``python -m geocarbon.cli ARGS`` in a new
    (forked) process with the libraries already imported. ``GEOCARBON_TEST_FRESH_PROCESS=1``
    starts a fresh interpreter for every command instead (slower, same results)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile.cli_server"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._pending = b""
        assert self._message(120.0) == {"ready": True}

    def _message(self, timeout: float | None) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the CLI server stopped (exit {self.proc.wait()})")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def run(
        self, args: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        self.count += 1
        out, err = (self.folder / f"{self.count}.{k}" for k in ("out", "err"))
        request = {
            "args": args,
            "cwd": str(cwd),
            "env": env,
            "stdout": str(out),
            "stderr": str(err),
        }
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        pid = self._message(30.0)["pid"]
        try:
            code = self._message(timeout)["returncode"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._message(30.0)
            raise subprocess.TimeoutExpired(
                args, timeout, out.read_text(errors="replace"), err.read_text(errors="replace")
            ) from None
        cmd = [sys.executable, "-m", "geocarbon.cli", *args]
        return subprocess.CompletedProcess(
            cmd, code, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
        )

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass
class Sandbox:
    """A temporary world: ``home`` (a fake home folder with the user's files), ``repo`` (a fake
    repository with a .git folder, the pipeline file and its inputs) and ``cwd`` (where the
    commands run from, the repository root)."""

    root: Path
    home: Path
    repo: Path
    inputs: Path
    pipeline: Path
    env: dict[str, str] = field(default_factory=dict)
    server: CliServer | None = None

    @property
    def cwd(self) -> Path:
        return self.repo

    def digest(self) -> dict[str, str]:
        return tree_digest(self.root)

    def write_pipeline(self, name: str = "tiny.yaml", **updates: Any) -> Path:
        """A pipeline file in ``repo/pipelines`` (keys of ``updates`` replace or, for mappings,
        update the tiny pipeline's)."""
        data: dict[str, Any] = {
            "name": "tiny",
            "output_dir": "../outputs/tiny",
            "communes": {
                "path": "../data_raw/tiny/communes.gpkg",
                "code_field": "code",
                "name_field": "nom",
                "epci_field": "epci",
            },
            "landcover": {"path": "../data_raw/tiny/lc.tif"},
            "carbon": {"coefficients": "generic"},
        }
        for key, value in updates.items():
            if value is None:
                data.pop(key, None)
            elif isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        path = self.repo / "pipelines" / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def run(
        self,
        *args: str | Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """``geocarbon ARGS`` as a user runs it: a new process, no terminal, the fake HOME."""
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("COLUMNS", None)
        if self.server is not None:
            return self.server.run(list(map(str, args)), cwd or self.cwd, full_env, timeout)
        return subprocess.run(
            [sys.executable, "-m", "geocarbon.cli", *map(str, args)],
            cwd=cwd or self.cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def assert_refused(
    result: subprocess.CompletedProcess[str],
    *needles: str,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
    allowed: Iterable[str] = (),
) -> None:
    """Exit 2, one message naming every needle, no traceback, and (with digests) nothing changed
    outside the paths in ``allowed`` (relative to the sandbox root, prefixes)."""
    out = result.stdout + result.stderr
    assert result.returncode == 2, f"exit {result.returncode}\n{out}"
    assert "Traceback" not in out, out
    assert "error:" in out, out
    flat = " ".join(out.split())
    for needle in needles:
        assert needle.lower() in flat.lower(), f"{needle!r} not in message:\n{out}"
    if before is not None and after is not None:
        allowed = tuple(allowed)
        diff = {k for k in changed(before, after) if not k.startswith(allowed) or not allowed}
        assert not diff, f"changed outside the output folder: {sorted(diff)[:20]}"


def outputs_rel(sandbox: Sandbox) -> str:
    """The output folder of the sandbox's pipelines, relative to the sandbox root (for
    ``assert_refused(..., allowed=[...])``)."""
    return str((sandbox.repo / "outputs").relative_to(sandbox.root))


def run_json(sandbox: Sandbox) -> dict[str, Any]:
    """``run.json`` of the tiny pipeline's result."""
    import json

    return json.loads((sandbox.repo / "outputs" / "tiny" / "run.json").read_text())


def notice_of(run: dict[str, Any], code: str) -> dict[str, Any]:
    """The first notice with ``code`` in a ``run.json`` (fails when there is none)."""
    found = [n for n in run["notices"] if n["code"] == code]
    assert found, f"no notice {code!r} in {[n['code'] for n in run['notices']]}"
    return found[0]


def tiny_pipeline_data() -> dict[str, Any]:
    """The pipeline of :func:`make_tiny_inputs`' files (carbon only, generic coefficients),
    as a dict to update and write."""
    return {
        "name": "tiny",
        "output_dir": "out",
        "communes": {
            "path": "communes.gpkg",
            "code_field": "code",
            "name_field": "nom",
            "epci_field": "epci",
        },
        "landcover": {"path": "lc.tif"},
        "carbon": {"coefficients": "generic"},
    }


def make_tiny_inputs(folder: Path) -> tuple[gpd.GeoDataFrame, Affine]:
    """Two communes over a 4 x 4 raster of 1 ha pixels (LAEA Europe), CLC codes, written as
    ``lc.tif`` and ``communes.gpkg`` into ``folder``.

    Raster (CLC codes)::

        211 211 | 311 311
        211 211 | 311 311
        112 141 | 312 312
        112 112 | 231 231

    Commune 46001 = left half, 46002 = right half.
    """
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.array(
        [[211, 211, 311, 311], [211, 211, 311, 311], [112, 141, 312, 312], [112, 112, 231, 231]],
        dtype=np.uint16,
    )
    t = Affine(100, 0, X0, 0, -100, Y0)
    write_raster(folder / "lc.tif", arr, transform=t, crs="EPSG:3035", nodata=0)
    communes = gpd.GeoDataFrame(
        {"code": ["46001", "46002"], "nom": ["Ouest", "Est"], "epci": ["200000001", "200000001"]},
        geometry=[box(X0, Y0 - 400, X0 + 200, Y0), box(X0 + 200, Y0 - 400, X0 + 400, Y0)],
        crs="EPSG:3035",
    )
    communes.to_file(folder / "communes.gpkg", layer="communes")
    return communes, t


@pytest.fixture(scope="session")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer | None]:
    """One fork server per test process (None with ``GEOCARBON_TEST_FRESH_PROCESS=1``)."""
    if os.environ.get("GEOCARBON_TEST_FRESH_PROCESS") == "1":
        yield None
        return
    server = CliServer(tmp_path_factory.mktemp("cli_server"))
    yield server
    server.close()


@pytest.fixture
def sandbox(tmp_path: Path, cli_server: CliServer | None) -> Sandbox:
    root = tmp_path / "world"
    home = root / "home" / "user"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.txt").write_text("years of work\n")
    (home / ".bashrc").write_text("export PS1='$ '\n")
    repo = home / "projects" / "territory"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / "README.md").write_text("# our territory\n")
    (repo / "pipelines").mkdir()
    inputs = repo / "data_raw" / "tiny"
    make_tiny_inputs(inputs)
    (inputs / "notes.txt").write_text("field notes\n")
    box_ = Sandbox(root, home, repo, inputs, repo / "pipelines" / "tiny.yaml", server=cli_server)
    box_.env = {"HOME": str(home), "GEOCARBON_DATA": os.environ.get("GEOCARBON_DATA", "")}
    if not box_.env["GEOCARBON_DATA"]:
        box_.env.pop("GEOCARBON_DATA")
    box_.write_pipeline()
    return box_


RunCli = Callable[..., subprocess.CompletedProcess[str]]
