"""The import rules of the package's architecture, checked on the source (every import
statement, at module level or inside functions).

* The models (``geocarbon/carbon``, ``geocarbon/solar``, ``geocarbon/charging``, the zonal
  engine and the rasteriser) are pure: they import neither the readers and writers
  (``geocarbon.io``), the maps, the report, the CLI, the demo, the configuration models, the
  pipeline nor the capabilities' adapters. Shared value types come from ``geocarbon.values``.
* The pipeline, the CLI and the report name no capability: they loop over the registry.
* No function is longer than 60 lines (the demo generator aside).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "geocarbon"

#: What the models must not import (a module or any module below it).
FORBIDDEN_IN_MODELS = (
    "geocarbon.io",
    "geocarbon.maps",
    "geocarbon.report",
    "geocarbon.report_charts",
    "geocarbon.cli",
    "geocarbon.demo",
    "geocarbon.config",
    "geocarbon.pipeline",
    "geocarbon.capabilities",
    "geocarbon.styles",
    "geocarbon.deliverables",
    "geocarbon.state",
)

MODEL_FILES = sorted(
    [
        *PACKAGE.joinpath("carbon").glob("*.py"),
        *PACKAGE.joinpath("solar").glob("*.py"),
        *PACKAGE.joinpath("charging").glob("*.py"),
        PACKAGE / "zonal.py",
        PACKAGE / "kernels.py",
        PACKAGE / "rasterize.py",
    ]
)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path`` (``from x import y`` gives ``x`` and
    ``x.y``, since ``y`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return sorted(found)


def violations(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for line, module in imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    ]


def test_the_rule_finds_what_it_must(tmp_path: Path) -> None:
    # the checker itself: absolute, relative and function-level imports are all seen
    sample = REPO / "geocarbon" / "carbon" / "_sample_for_test.py"
    sample.write_text(
        "from geocarbon.io.raster import raster_info\n"
        "from ..config import PipelineConfig\n"
        "def f():\n    import geocarbon.maps\n"
        "from geocarbon import report\n",
        encoding="utf-8",
    )
    try:
        found = violations(sample, FORBIDDEN_IN_MODELS)
    finally:
        sample.unlink()
    assert [v.split(" imports ")[1] for v in found] == [
        "geocarbon.io.raster",
        "geocarbon.io.raster.raster_info",
        "geocarbon.config",
        "geocarbon.config.PipelineConfig",
        "geocarbon.maps",
        "geocarbon.report",
    ]


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_models_are_pure(path: Path) -> None:
    assert violations(path, FORBIDDEN_IN_MODELS) == []


def test_there_are_models_to_check() -> None:
    assert len(MODEL_FILES) >= 15


@pytest.mark.parametrize("name", ["pipeline.py", "cli.py", "report.py"])
def test_orchestration_names_no_capability(name: str) -> None:
    """No import of a capability's package or adapter: the registry is the only way in."""
    found = [
        f"{name}:{line} imports {module}"
        for line, module in imported_modules(PACKAGE / name)
        if module.startswith(("geocarbon.capabilities.", "geocarbon.carbon", "geocarbon.solar"))
        or module.startswith("geocarbon.charging")
    ]
    assert found == []


@pytest.mark.parametrize(
    "name", ["maps.py", "classes.py", "styles.py", "report.py", "report_charts.py", "labels.py"]
)
def test_shared_presentation_imports_no_capability(name: str) -> None:
    """Maps, classes, styles and the report builder serve every capability and know none:
    what is a capability's own (its hot-spot classes, its sections) lives in its adapter."""
    found = [
        f"{name}:{line} imports {module}"
        for line, module in imported_modules(PACKAGE / name)
        if module.startswith(
            ("geocarbon.carbon", "geocarbon.solar", "geocarbon.charging", "geocarbon.capabilities.")
        )
    ]
    assert found == []


#: The longest a function of the package may be [lines], outside the demo generator.
MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_the_limit() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "demo.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({lines})")
    assert long == []
