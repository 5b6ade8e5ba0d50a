"""Command-line interface: ``geocarbon run | validate | demo | schema``.

Thin layer over :mod:`geocarbon.pipeline`: parses options, shows progress, prints
one clear message on error and exits non-zero.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from geocarbon import __version__
from geocarbon.errors import GeocarbonError, OutputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

logger = logging.getLogger("geocarbon")


def _without_aws_sessions() -> None:
    """Keep rasterio from importing boto3 (with botocore and urllib3: about a tenth of a second
    of a run's start-up on the project's machine). rasterio uses it only for its AWS sessions
    of ``s3://`` paths; geocarbon opens local files (paths resolved against the pipeline
    file). In the command's process, a later ``import boto3`` then fails as if boto3 were not
    installed, which is how rasterio takes it; nothing else geocarbon runs needs it."""
    if "rasterio" not in sys.modules and "boto3" not in sys.modules:
        sys.modules["boto3"] = None  # type: ignore[assignment]


@functools.cache
def _console() -> Console:
    """The console the command's messages go to: stderr; written to a file or a pipe (logs,
    CI) they are never wrapped. Made on first use: a quiet run printing to a file or a pipe
    never imports rich (a few hundredths of a second of the command's start-up)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def _is_terminal() -> bool:
    """Whether the messages go to a terminal (rich's answer, :attr:`Console.is_terminal`).

    rich's console is made only if stderr may be one: a terminal, or an environment making
    rich take any output for one (``TTY_COMPATIBLE=1``, ``FORCE_COLOR``); otherwise rich's
    answer is no."""
    maybe = bool(os.environ.get("FORCE_COLOR")) or os.environ.get("TTY_COMPATIBLE") == "1"
    if not maybe:
        isatty = getattr(sys.stderr, "isatty", None)
        try:
            maybe = isatty is not None and bool(isatty())
        except ValueError:  # a closed stream
            maybe = False
    return maybe and _console().is_terminal


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    if quiet:
        level = logging.ERROR
    elif verbose == 0:
        level = logging.WARNING
    handler: logging.Handler
    if _is_terminal():
        from rich.logging import RichHandler

        handler = RichHandler(console=_console(), show_path=False, show_time=False, markup=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(levelname)s: %(message)s"
    # other libraries (GDAL through rasterio, pyogrio...) keep to warnings: their debug lines
    # are not geocarbon's messages
    logging.basicConfig(
        level=max(level, logging.WARNING), handlers=[handler], format=fmt, force=True
    )
    logging.getLogger("geocarbon").setLevel(level)
    logging.getLogger("pyogrio").setLevel(max(level, logging.WARNING))


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled or not _is_terminal():  # no bars in logs and pipes
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=_console(),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(step: str, done: int, total: int) -> None:
        # one line per step (reading, each computation, each output written); block counts
        # for the steps that read rasters block by block
        detail = f"{done}/{total} blocks" if total > 1 else ("done" if done >= total else "")
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total, detail=detail)
        bars.update(tasks[step], completed=done, total=total, detail=detail)

    with bars:
        yield update


def _fail(err: GeocarbonError) -> None:
    _console().print("[bold red]error:[/] ", markup=True, highlight=False, end="")
    _console().print(str(err), markup=False, highlight=False)
    sys.exit(err.exit_code)


@contextmanager
def _errors_reported() -> Iterator[None]:
    """One message and a non-zero exit for every failure: user errors (exit 2), disk and
    memory exhaustion (exit 2), interruption (130), and unexpected internal errors (exit 3,
    the traceback only with -vv)."""
    try:
        yield
    except GeocarbonError as err:
        _fail(err)
    except MemoryError:
        _fail(
            GeocarbonError(
                "out of memory; lower processing.block_pixels in the pipeline file, or run on a "
                "machine with more memory"
            )
        )
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        _fail(GeocarbonError(f"{err.strerror or err}{where}"))
    except KeyboardInterrupt:
        _console().print("interrupted: nothing was written", highlight=False)
        sys.exit(130)
    except Exception as err:
        logger.debug("internal error", exc_info=True)
        _console().print(
            f"[bold red]error:[/] internal error ({type(err).__name__}: ", markup=True, end=""
        )
        _console().print(
            f"{err}); nothing was written. Please report it with the output of 'geocarbon -vv ...'",
            markup=False,
            highlight=False,
        )
        sys.exit(3)


def _terminated(signum: int, frame: Any) -> None:
    _console().print("terminated: nothing was written", highlight=False)
    sys.exit(128 + signum)


_VERBOSE_HELP = "More messages (-v: steps, -vv: debug); before or after the command."
_QUIET_HELP = "Errors only; no progress display; before or after the command."


def _verbosity(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-v`` / ``-q`` on a sub-command too (``geocarbon run -v p.yaml``), adding to the
    group's (``geocarbon -v run p.yaml``)."""
    command = click.option("-q", "--quiet", "quiet_here", is_flag=True, help=_QUIET_HELP)(command)
    return click.option("-v", "--verbose", "verbose_here", count=True, help=_VERBOSE_HELP)(command)


def _apply_verbosity(ctx: click.Context, verbose_here: int, quiet_here: bool) -> None:
    """Combine the sub-command's -v/-q with the group's, and set logging up again."""
    verbose = ctx.obj["verbose"] + verbose_here
    quiet = ctx.obj["quiet"] or quiet_here
    ctx.obj.update(verbose=verbose, quiet=quiet)
    _setup_logging(verbose, quiet)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geocarbon")
@click.option("-v", "--verbose", count=True, help=_VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=_QUIET_HELP)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """geocarbon: climate-plan figures of a territory, one pipeline file per territory.

    \b
    From commune boundaries (or commune tables) and the inputs the pipeline declares:
    - carbon stocks and flows per commune, EPCI and territory (ADEME ALDO method):
      land cover (raster or ADEME's area tables), land-use change, forest growth, N2O,
      wood products; the emissions-calculator table (sequestration.csv / .xlsx);
    - rooftop photovoltaic potential of every building (pvlib);
    - public charging-point coverage (IRVE cleaning, population access, AFIR targets);
    and writes a GeoPackage, CSV tables, interactive maps that open offline and a territory
    report. Every figure says what it covers (coverage columns, notices in run.json).

    \b
    Start with: geocarbon demo   (a fictional territory, no network needed)
    Then:       geocarbon validate pipelines/<territory>.yaml
                geocarbon run pipelines/<territory>.yaml
    """
    _setup_logging(verbose, quiet)
    _without_aws_sessions()
    # a terminated run cleans up like an interrupted one (temporary folder, lock)
    signal.signal(signal.SIGTERM, _terminated)
    ctx.obj = {"quiet": quiet, "verbose": verbose}


@contextmanager
def _start_up_uncollected() -> Iterator[Callable[[], None]]:
    """The garbage collector paused during the command's start-up, until the function given
    is called; the objects made until then are frozen (left aside by the collector's passes)
    for the rest of the block.

    The start-up's imports, pipeline file and configuration models make long-lived objects
    (modules, classes, functions, validators) and next to no garbage: the collector's passes
    over them free nothing (about a tenth of a second of CPU time before a territory's run
    starts, and two full collections in the Lot's run, 0.18 s, before they were frozen)."""
    collecting = gc.isenabled()
    gc.disable()
    frozen = False

    def started() -> None:
        nonlocal frozen
        gc.freeze()
        frozen = True
        if collecting:
            gc.enable()

    try:
        yield started
    finally:
        if frozen:
            gc.unfreeze()
        if collecting:
            gc.enable()


def _run_and_report(
    ctx: click.Context,
    cfg: Any,
    *,
    overwrite: bool,
    started: Callable[[], None],
    owner_pipeline: Path | None = None,
) -> None:
    """Run a loaded pipeline with a progress bar, then print its summary. ``started`` ends
    the start-up (:func:`_start_up_uncollected`) once the run's modules are imported: the
    modules and the configuration live as long as the run."""
    from geocarbon.pipeline import run as run_pipeline

    started()
    with _progress(not ctx.obj["quiet"]) as progress:
        out_dir, results = run_pipeline(
            cfg, overwrite=overwrite, progress=progress, owner_pipeline=owner_pipeline
        )
    if not ctx.obj["quiet"]:
        _summary(out_dir, results)


def _communes(n: int) -> str:
    return f"{n:,} commune{'' if n == 1 else 's'}"


def _summary(out_dir: Path, results: Any) -> None:
    from geocarbon import capabilities

    parts = [_communes(len(results.communes))]
    parts += [
        line for c in capabilities.computed(results) if (line := c.summary_line(results))
    ]
    _console().print(f"[green]done[/]: {', '.join(parts)} -> {out_dir}", highlight=False)
    if results.notices:
        _console().print(
            f"{len(results.notices)} notice(s) in {out_dir / 'run.json'}", highlight=False
        )


@main.command()
@click.argument("pipeline", type=click.Path(path_type=Path))
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a previous geocarbon result in the output folder (never anything else).",
)
@click.option("--output-dir", type=str, help="Write here instead of the pipeline's output_dir.")
@_verbosity
@click.pass_context
def run(
    ctx: click.Context,
    pipeline: Path,
    overwrite: bool,
    output_dir: str | None,
    verbose_here: int,
    quiet_here: bool,
) -> None:
    """Run PIPELINE (a pipelines/*.yaml file) and write its outputs.

    Reads every input, computes the steps the pipeline declares (carbon, rooftop PV,
    charging), then writes the outputs into a temporary folder moved into place only when
    everything succeeded. Progress shows each step and each output written.
    """
    _apply_verbosity(ctx, verbose_here, quiet_here)
    with _start_up_uncollected() as started:
        from geocarbon.config import load_config

        with _errors_reported():
            cfg = load_config(pipeline)
            if output_dir is not None:
                if not output_dir.strip():
                    msg = "--output-dir is empty (an unset variable?): give a folder name"
                    raise OutputError(msg)
                cfg = cfg.model_copy(update={"output_dir": Path(output_dir).absolute()})
            _run_and_report(ctx, cfg, overwrite=overwrite, started=started)


@main.command()
@click.argument("pipeline", type=click.Path(path_type=Path))
@_verbosity
@click.pass_context
def validate(ctx: click.Context, pipeline: Path, verbose_here: int, quiet_here: bool) -> None:
    """Check PIPELINE's configuration and inputs without computing.

    Files, layers, fields, codes, CRS, value ranges, land-cover classes, coefficient tables,
    the territory picked and the output folder; creates nothing.
    """
    _apply_verbosity(ctx, verbose_here, quiet_here)
    with _start_up_uncollected() as started:
        from geocarbon import capabilities
        from geocarbon.config import load_config
        from geocarbon.pipeline import validate as validate_pipeline

        with _errors_reported():
            cfg = load_config(pipeline)
            started()
            inputs, notices = validate_pipeline(cfg)
    for notice in notices:
        _console().print(f"[yellow]note[/]: {notice}", highlight=False)
    what = [_communes(len(inputs.communes))]
    what += [line for c in capabilities.enabled(cfg) if (line := c.validated(inputs))]
    _console().print(f"[green]valid[/]: {', '.join(what)}", highlight=False)


@main.command()
@click.option(
    "--overwrite/--no-overwrite",
    default=True,
    show_default=True,
    help="Replace the previous result of the same demo pipeline (never anything else).",
)
@click.option("--regenerate", is_flag=True, help="Generate the demo inputs again even if present.")
@click.option(
    "--pipeline",
    "pipeline_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Demo pipeline file (default: pipelines/demo.yaml under the current folder).",
)
@_verbosity
@click.pass_context
def demo(
    ctx: click.Context,
    overwrite: bool,
    regenerate: bool,
    pipeline_path: Path | None,
    verbose_here: int,
    quiet_here: bool,
) -> None:
    """Generate the embedded demo territory (if missing) and run it.

    A fictional territory (communes, land cover at two dates, buildings, weather, charging
    points, population), generated deterministically without network into data_raw/demo/;
    every step runs on it.
    """
    from geocarbon.config import load_config
    from geocarbon.demo import demo_pipeline_path, ensure_demo_inputs

    _apply_verbosity(ctx, verbose_here, quiet_here)
    with _start_up_uncollected() as started, _errors_reported():
        cfg = load_config(pipeline_path or demo_pipeline_path())
        started()  # the inputs' generation makes garbage
        ensure_demo_inputs(cfg, regenerate=regenerate)
        _run_and_report(
            ctx, cfg, overwrite=overwrite, started=started, owner_pipeline=cfg.source_file
        )


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write into this file (atomically) instead of printing.",
)
@click.option(
    "--markdown", is_flag=True, help="The table of every key (Markdown) instead of the JSON Schema."
)
@click.option(
    "--readme",
    type=click.Path(path_type=Path),
    default=None,
    help="Rewrite the key table of this README, between <!-- keys:start --> and <!-- keys:end -->.",
)
def schema(output: Path | None, markdown: bool, readme: Path | None) -> None:
    """Print the JSON Schema of a pipeline file (or the table of its keys).

    Derived from the configuration model, so it lists exactly the keys `run` and `validate`
    accept. pipelines/geocarbon.schema.json is its output; the pipelines name it in their
    first line (yaml-language-server) so that editors complete and check keys.
    """
    from geocarbon.config import key_table, schema_text, with_key_table
    from geocarbon.io.text_files import rewrite_text, write_text_atomic
    from geocarbon.spec import (
        INPUTS_START,
        OUTPUTS_START,
        with_inputs_table,
        with_outputs_table,
    )

    with _errors_reported():
        if readme is not None:
            def regenerated(text: str) -> str:
                text = with_key_table(text, str(readme))
                # the table of inputs where the README has its markers (the project's does:
                # tests/test_spec.py)
                if INPUTS_START in text:
                    text = with_inputs_table(text, str(readme))
                return with_outputs_table(text, str(readme)) if OUTPUTS_START in text else text

            rewrite_text(readme, regenerated)
            return
        text = key_table() if markdown else schema_text()
        if output is None:
            click.echo(text.encode("utf-8"), nl=False)
        else:
            write_text_atomic(output, text)


def command() -> None:
    """The ``geocarbon`` command: :func:`main`, then the exit.

    The exit runs the interpreter's exit handlers (log handlers flushed, forked helpers and
    temporary files cleaned), flushes the output and ends the process without tearing down
    every module and object one by one (a few tenths of a second after a territory run,
    which wrote and closed every file before)."""
    code: Any = 0
    try:
        main()
    except SystemExit as done:
        code = done.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit code 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more can be said
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    command()
