"""Writing the territory report: report.html (always) and report.pdf (when asked and a PDF
engine is installed), with the facts about the inputs it lists (file name, modification date,
SHA-256)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geocarbon.io.background import Background, Forked, Worker, children_allowed
from geocarbon.io.pdf import pdf_engine, print_pdf
from geocarbon.io.tables import sha256_file
from geocarbon.io.writers import write_text
from geocarbon.notices import Notice

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    # the report (and matplotlib under it) is imported where it is drawn: in the forked
    # process of a run, not in the process writing the other outputs
    from geocarbon.report import Figures, InputFact, ReportBody


def input_facts(files: dict[str, Path]) -> list[InputFact]:
    """Name, modification date (UTC, day only: the same files give the same report) and
    SHA-256 of each input file, in key order; folders and missing files are left out."""
    from geocarbon.report import InputFact

    out = []
    for key, path in sorted(files.items()):
        p = Path(path)
        if not p.is_file():
            continue
        day = dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC).date().isoformat()
        out.append(InputFact(key, p.name, day, sha256_file(p)))
    return out


def latest_input_day(files: dict[str, Path]) -> dt.date | None:
    """The latest modification day (UTC) of the input files: the date the report and the
    spreadsheet give their figures (the same files give the same outputs; run.json holds
    the time of the run)."""
    days = [dt.date.fromisoformat(f.modified) for f in input_facts(files) if f.modified]
    return max(days) if days else None


@dataclass
class PendingReport:
    """A report whose sections are being drawn (:func:`start_report`).

    Attributes
    ----------
    engine
        The PDF engine, or None when no PDF is to be made.
    facts
        The inputs the report lists.
    notices
        The notices of the run when the drawing started (their text, to compare).
    body
        The sections being drawn, with the notices of the run once drawn.
    """

    engine: Any
    facts: list[InputFact]
    notices: str
    body: Forked[tuple[ReportBody, str]]


def _notices_key(results: Any) -> str:
    return repr([n.as_dict() for n in results.notices])


def _draw_body(
    cfg: Any, results: Any, facts: list[InputFact], figures: Figures = "all"
) -> tuple[ReportBody, str]:
    from geocarbon.report import report_body

    return report_body(cfg, results, facts, figures), _notices_key(results)


def _draw_static_maps(cfg: Any, results: Any, facts: list[InputFact]) -> list[str]:
    from geocarbon.report import static_maps

    return static_maps(cfg, results, facts)


def _draw_in_two(cfg: Any, results: Any, facts: list[InputFact]) -> tuple[ReportBody, str]:
    """:func:`_draw_body` by two processes: the static maps by a process forked from this
    one, which has the results already, while this one draws the charts; the whole report
    drawn again here when the two do not match."""
    from geocarbon.report import report_body, with_static_maps

    draw_maps = functools.partial(_draw_static_maps, cfg, results, facts)
    with Background(draw_maps, fork=children_allowed()) as maps:
        body = report_body(cfg, results, facts, "charts")
        whole = with_static_maps(body, maps.result())
    if whole is None:
        logger.debug("report: the static maps did not match the charts' places")
        whole = report_body(cfg, results, facts)
    return whole, _notices_key(results)


def _prepare_map_geometry(cfg: Any, communes: Any) -> None:
    from geocarbon.report import prepare_map_geometry

    prepare_map_geometry(cfg, communes)


def prepare_report(worker: Worker, cfg: Any, communes: Any) -> None:
    """Have ``worker`` (:func:`geocarbon.io.deferred.files_worker`) compute, while the
    results are computed, what its report will draw from the ``communes`` as read: the
    static maps' geometry (:func:`geocarbon.report.prepare_map_geometry`)."""
    if "geometry" in communes.columns:  # the columns it depends on, sent alone
        columns = [c for c in ("epci_code", "geometry") if c in communes.columns]
        worker.post(_prepare_map_geometry, cfg, communes[columns])


def start_report(
    cfg: Any, results: Any, *, fork: bool = True, worker: Worker | None = None
) -> PendingReport:
    """Start drawing the report of ``results`` (charts, static maps, tables) while the other
    outputs are written: in ``worker`` (:func:`geocarbon.io.deferred.files_worker`, which
    has imported matplotlib; the results pickled to it), which draws the charts while a
    process it forks draws the static maps; else in a process forked now
    (:class:`geocarbon.io.background.Background`) with ``fork``, else in this process when
    :func:`write_report` asks for it. The notice of a PDF that cannot be made is added
    first, so that the report lists it."""
    engine = _pdf_engine(cfg, results)
    facts = input_facts(results.files)
    key = _notices_key(results)
    body: Forked[tuple[ReportBody, str]]
    if worker is not None and worker.submit(_draw_in_two, cfg, results, facts):
        logger.debug("report: drawn by the process forked at the start of the run")
        body = worker
    else:
        logger.debug("report: drawn by a process forked now" if fork else "report: drawn here")
        body = Background(lambda: _draw_body(cfg, results, facts), fork=fork)
    return PendingReport(engine, facts, key, body)


def _pdf_engine(cfg: Any, results: Any) -> Any:
    """The PDF engine when ``cfg.report.pdf`` asks for a PDF (None otherwise, or with a
    notice in ``results.notices`` when no engine is installed)."""
    want_pdf = bool(getattr(getattr(cfg, "report", None), "pdf", False))
    engine = pdf_engine() if want_pdf else None
    if want_pdf and engine is None:
        results.notices.append(
            Notice(
                "report_pdf_not_made",
                "report.pdf was not written: no PDF engine (headless Chromium) is installed; "
                "install the 'chromium' package, or print report.html from a browser (A4), or "
                "set report.pdf: false in the pipeline to stop this notice",
                facts={"why": "no PDF engine"},
            )
        )
    return engine


def write_report(
    folder: Path, cfg: Any, results: Any, maps: list[str], pending: PendingReport | None = None
) -> None:
    """Write ``report.html`` into ``folder`` and, when ``cfg.report.pdf``, ``report.pdf``.

    ``pending`` is the report started by :func:`start_report` (started here when None); its
    sections are drawn again here if the run's notices changed since it started, so the
    page is the one drawn after every other output. A PDF that cannot be made (no headless
    Chromium, or it failed) adds a notice to ``results.notices`` (shown in the report and in
    run.json); the run goes on.
    """
    from geocarbon.report import report_body, report_page

    if pending is None:
        pending = start_report(cfg, results, fork=False)
    with pending.body:
        body, notices_after = pending.body.result()
    # a notice added meanwhile: drawn again here, so that the report lists it
    if notices_after != pending.notices or _notices_key(results) != pending.notices:
        body = report_body(cfg, results, pending.facts)
    page = folder / "report.html"
    write_text(page, report_page(cfg, results, body, maps))
    engine, facts = pending.engine, pending.facts
    if engine is not None:
        # the PDF's dates are the report's ("data as of" its latest input): same bytes each run
        day = max((dt.date.fromisoformat(f.modified) for f in facts if f.modified), default=None)
        why = print_pdf(engine, page, folder / "report.pdf", date=day)
        if why:
            results.notices.append(
                Notice(
                    "report_pdf_not_made",
                    f"report.pdf was not written: {why}; print report.html from a browser (A4) "
                    "instead",
                    facts={"why": why},
                )
            )
