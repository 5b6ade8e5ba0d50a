"""What a run can compute, one capability each, behind one small interface.

A capability (carbon stocks and flows, rooftop PV, public charging) says whether a pipeline
asks for it, reads and checks its inputs, computes, and gives its layers, files, report
sections and summary line. The pipeline, the CLI and the report loop over
:data:`CAPABILITIES` and name none of them; adding one is a new module implementing
:class:`Capability` and one line in :func:`registered` (see CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from geocarbon.spec import InputSpec, LayerSpec

if TYPE_CHECKING:
    import pandas as pd
    from pydantic import BaseModel

    from geocarbon.config import PipelineConfig
    from geocarbon.io.deferred import DeferredFiles
    from geocarbon.notices import Notice
    from geocarbon.state import Inputs, Progress, Results, StepAnnouncer, Timer


class Capability:
    """One thing a run can compute. Subclasses override what they need; every method has a
    do-nothing default so that a capability implements only its own parts.

    Methods are called in this order: :meth:`enabled`; :meth:`read` (every enabled
    capability, before any computing); :meth:`validate` (``geocarbon validate``) or
    :meth:`compute`; :meth:`layers`, :meth:`write`; the report (:meth:`report_sections`,
    :meth:`targets`, :meth:`method_lines`, :meth:`source_lines`); :meth:`summary_line`.
    """

    #: Stable identifier (``carbon``, ``pv``, ``charging``): the key of its results.
    name: ClassVar[str] = ""
    #: What the CLI's ``validate`` says was checked (English).
    checked: ClassVar[str] = ""
    #: The pipeline file's section of a capability added with :func:`register` (the built-in
    #: ones have theirs in :class:`geocarbon.config.PipelineConfig`), its model (a pydantic
    #: model forbidding unknown keys) and its description (JSON Schema, README).
    config_key: ClassVar[str | None] = None
    config_model: ClassVar[type[BaseModel] | None] = None
    config_description: ClassVar[str] = ""
    #: The input files the pipeline may name for this capability (:mod:`geocarbon.spec`).
    inputs: ClassVar[tuple[InputSpec, ...]] = ()
    #: The GeoPackage columns this capability writes, with their units (:mod:`geocarbon.spec`).
    outputs: ClassVar[tuple[LayerSpec, ...]] = ()
    #: How its figures are computed, (French, English) sentences of the report's method.
    method_texts: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Sources and licences of its inputs: input role → (French, English) sentence.
    source_texts: ClassVar[dict[str, tuple[str, str]]] = {}

    def enabled(self, cfg: PipelineConfig) -> bool:
        """Whether the pipeline asks for this capability."""
        return False

    def read(self, cfg: PipelineConfig, inputs: Inputs) -> None:
        """Open and check this capability's inputs (headers, CRS, extents), recording each
        file in ``inputs.files``; add what was read to ``inputs``."""

    def validate(self, cfg: PipelineConfig, inputs: Inputs) -> list[Notice]:
        """Every check of this capability's inputs, without computing; the notices found."""
        return []

    def validated(self, inputs: Inputs) -> str:
        """What ``geocarbon validate`` says it checked (default: :attr:`checked`)."""
        return self.checked

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        """Compute this capability's figures into ``results``."""

    def computed(self, results: Results) -> bool:
        """Whether ``results`` holds this capability's figures."""
        return False

    def output_crs_candidates(self, inputs: Inputs, results: Results) -> list[Any]:
        """CRSs of this capability's inputs, in order, for the output CRS rule."""
        return []

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        """GeoPackage layers of this capability (in the output CRS ``crs``)."""
        return {}

    def style_options(self, cfg: PipelineConfig) -> dict[str, Any]:
        """Keyword arguments this capability's layers need from
        :func:`geocarbon.styles.layer_styles`."""
        return {}

    #: What the progress display says while :meth:`write_files` runs.
    writing: ClassVar[str] = ""

    def write(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, announce: StepAnnouncer, later: DeferredFiles,
    ) -> None:  # fmt: skip
        """Write this capability's files into ``folder`` (a temporary folder moved into place
        when the whole run succeeded): :meth:`write_files`, announced as :attr:`writing`."""
        if type(self).write_files is Capability.write_files:
            return
        with announce(self.writing or f"writing {self.name} outputs"):
            self.write_files(cfg, inputs, results, communes, folder, later)

    def write_files(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, later: DeferredFiles,
    ) -> None:  # fmt: skip
        """Write this capability's tables and rasters into ``folder``; hand what takes long
        to make (maps, workbooks: functions returning file contents) to ``later``, which
        makes them in a worker process while the other outputs are written."""

    def report_sections(self, report: Any) -> None:
        """Append this capability's sections to the territory report
        (:class:`geocarbon.report.ReportBuilder`)."""

    def targets(self, report: Any) -> list[str]:
        """Rows of the report's targets table (HTML ``<tr>``)."""
        return []

    def method_lines(self, cfg: Any, results: Any, lang: Any) -> list[str]:
        """Method paragraphs of the report for this capability (default: its
        :attr:`method_texts` in ``lang``)."""
        return [text[0] if lang == "fr" else text[1] for text in self.method_texts]

    def source_lines(
        self, cfg: Any, results: Any, keys: set[str], lang: Any
    ) -> list[tuple[str, str]]:
        """Sources and attributions of this capability's inputs among ``keys`` (input
        role, sentence; default: its :attr:`source_texts`);
        :data:`geocarbon.report.SOURCE_RANKS` orders them."""
        return [
            (role, text[0] if lang == "fr" else text[1])
            for role, text in self.source_texts.items()
            if role in keys
        ]

    def commune_columns(self, results: Results) -> list[tuple[str, list[str]]]:
        """The report's per-commune tables of this capability: (title id, columns)."""
        return []

    def map_titles(self) -> dict[str, str]:
        """Display-name ids of the interactive maps this capability writes (file stem →
        id)."""
        return {}

    def run_totals(self, results: Results) -> dict[str, Any]:
        """This capability's totals in ``run.json`` (figure → value)."""
        return {}

    def run_facts(self, results: Results) -> dict[str, Any]:
        """Entries this capability adds to the top level of ``run.json`` (key → value)."""
        return {}

    def epci_count(self, results: Results) -> int | None:
        """How many EPCIs this capability's figures are computed for, in a run whose figures
        are per EPCI rather than per commune (None otherwise)."""
        return None

    def summary_line(self, results: Results) -> str:
        """Part of the CLI's closing line (empty: nothing to say)."""
        return ""


def column_totals(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, float]:
    """Sum of each of ``columns`` that ``frame`` holds with a value (rounded to 3 decimals)."""
    return {
        c: round(float(frame[c].sum()), 3)
        for c in columns
        if c in frame.columns and frame[c].notna().any()
    }


def with_added_columns(shared: pd.DataFrame, own: pd.DataFrame, name: str) -> pd.DataFrame:
    """``shared`` (the run's communes) with the columns capability ``name`` added to its own
    copy ``own``, in the order it added them. A capability adds its columns and changes
    nothing it did not add: a changed row or column of ``shared`` is a programming error.

    Raises
    ------
    RuntimeError
        When ``own`` lost or reordered rows, or changed a column of ``shared``.
    """
    if not own.index.equals(shared.index):
        msg = f"capability {name!r} changed the rows of the communes; it may only add columns"
        raise RuntimeError(msg)
    changed = [c for c in shared.columns if c not in own.columns or not own[c].equals(shared[c])]
    if changed:
        msg = (
            f"capability {name!r} changed the columns {', '.join(map(str, changed))} of the "
            "communes; it may only add columns of its own"
        )
        raise RuntimeError(msg)
    added = [c for c in own.columns if c not in shared.columns]
    out = shared.copy()
    for column in added:
        out[column] = own[column]
    return out


def registered() -> list[Capability]:
    """The capabilities a run may compute, in the order they run, write and report."""
    from geocarbon.capabilities.carbon import CarbonCapability
    from geocarbon.capabilities.carbon_scenarios import ScenariosCapability
    from geocarbon.capabilities.carbon_uncertainty import CarbonUncertaintyCapability
    from geocarbon.capabilities.charging import ChargingCapability
    from geocarbon.capabilities.pv import PvCapability

    return [
        CarbonCapability(),
        CarbonUncertaintyCapability(),
        ScenariosCapability(),
        PvCapability(),
        ChargingCapability(),
    ]


#: Capabilities added at run time (tests, extensions): see :func:`register`.
_EXTRA: list[Capability] = []


def register(capability: Capability) -> None:
    """Add a capability after the built-in ones (its ``name`` must be new)."""
    names = {c.name for c in all_capabilities()}
    if not capability.name or capability.name in names:
        msg = f"capability name {capability.name!r} is empty or already registered"
        raise ValueError(msg)
    _EXTRA.append(capability)


def unregister(name: str) -> None:
    """Remove a capability added with :func:`register`."""
    _EXTRA[:] = [c for c in _EXTRA if c.name != name]


def all_capabilities() -> list[Capability]:
    """The built-in capabilities, then those added with :func:`register`."""
    return registered() + list(_EXTRA)


def enabled(cfg: PipelineConfig) -> Iterator[Capability]:
    """The capabilities ``cfg`` asks for, in order."""
    return (c for c in all_capabilities() if c.enabled(cfg))


def computed(results: Results) -> Iterator[Capability]:
    """The capabilities whose figures ``results`` holds, in order."""
    return (c for c in all_capabilities() if c.computed(results))
