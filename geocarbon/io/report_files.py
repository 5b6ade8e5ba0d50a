"""Writing the territory report: report.html (always) and report.pdf (when asked and a PDF
engine is installed), with the facts about the inputs it lists (file name, modification date,
SHA-256)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geocarbon.io.background import Background, Forked, Worker
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
    static_maps
        The process drawing the report's static maps and the ticket of that job, when
        ``body`` draws the charts only (None: ``body`` draws every figure).
    """

    engine: Any
    facts: list[InputFact]
    notices: str
    body: Forked[tuple[ReportBody, str]]
    static_maps: tuple[Worker, int] | None = None


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


def _prepare_drawing() -> None:
    """Import what drawing the report needs (matplotlib under the charts)."""
    import geocarbon.report
    import geocarbon.report_charts  # noqa: F401


def report_worker(turn: Any = None) -> Worker:
    """A process forked at the start of a run that imports the report's drawing modules
    (in ``turn``: :func:`geocarbon.io.background.import_turn`) while the inputs are read and
    computed, then draws the report (:func:`start_report`)."""
    return Worker(_prepare_drawing, turn)


def start_report(
    cfg: Any,
    results: Any,
    *,
    fork: bool = True,
    worker: Worker | None = None,
    helper: Worker | None = None,
) -> PendingReport:
    """Start drawing the report of ``results`` (charts, static maps, tables) while the other
    outputs are written: in ``worker`` (:func:`report_worker`, the results pickled to it;
    its static maps by ``helper`` when given, e.g.
    :func:`geocarbon.io.deferred.files_worker`, while ``worker`` draws the charts), else in
    a process forked now (:class:`geocarbon.io.background.Background`) with ``fork``, else
    in this process when :func:`write_report` asks for it. The notice of a PDF that cannot
    be made is added first, so that the report lists it."""
    engine = _pdf_engine(cfg, results)
    facts = input_facts(results.files)
    key = _notices_key(results)
    body: Forked[tuple[ReportBody, str]]
    maps = None
    if worker is not None and helper is not None and worker.alive():
        ticket = helper.send(_draw_static_maps, cfg, results, facts)
        maps = None if ticket is None else (helper, ticket)
    figures: Figures = "all" if maps is None else "charts"
    if worker is not None and worker.submit(_draw_body, cfg, results, facts, figures):
        logger.debug("report: drawn by the processes forked at the start of the run")
        body = worker
    else:
        logger.debug("report: drawn by a process forked now" if fork else "report: drawn here")
        body = Background(lambda: _draw_body(cfg, results, facts), fork=fork)
        maps = None  # every figure drawn there
    return PendingReport(engine, facts, key, body, maps)


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
    from geocarbon.report import report_body, report_page, with_static_maps

    if pending is None:
        pending = start_report(cfg, results, fork=False)
    with pending.body:
        body, notices_after = pending.body.result()
    # a notice added meanwhile: drawn again here, so that the report lists it
    again = notices_after != pending.notices or _notices_key(results) != pending.notices
    if pending.static_maps is not None:
        helper, ticket = pending.static_maps
        whole = with_static_maps(body, helper.result(ticket))
        if whole is None:  # the two processes disagree on the maps: drawn again here
            logger.debug("report: the static maps did not match the charts' places")
        body = whole or body
        again = again or whole is None
    if again:
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
