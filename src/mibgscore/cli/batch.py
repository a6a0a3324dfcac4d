"""`mibgscore batch`: score a cohort into results.csv, lesions.csv and failures.csv."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from mibgscore.cli.score import Detector, lesions_option, model_option, with_model

SEGMENTS_HELP = ("A centre's SIOPEN or Curie segment table (TOML); may be given twice, once per "
                 "scheme.")


@contextmanager
def progress_bar(description: str, *, enabled: bool = True
                 ) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr, as a ``progress(done, total)`` callback for the library.

    The bar appears at the first call (nothing is drawn for work that fails before it
    starts); None when not ``enabled``.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def segment_tables(files: list[Path] | None):
    """The ``siopen_scheme`` and ``curie_scheme`` arguments for ``--segments`` (None: bundled)."""
    from mibgscore.anatomy.scheme import load_schemes

    return load_schemes(files or [])


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch_command(
        paths: list[Path] = typer.Argument(
            ..., help="DICOM files, folders, .zip archives or DICOMDIRs, mixed."),
        out: Path = typer.Option(
            Path("results.csv"), "--out", "-o",
            help="results.csv to write; lesions.csv and failures.csv go beside it.",
            dir_okay=False),
        workers: int | None = typer.Option(
            None, "--workers", "-j", min=1, help="Worker processes (default: every core)."),
        scheduler: str | None = typer.Option(
            None, "--scheduler",
            help="Run on a Dask distributed cluster at this address (tcp://host:8786)."),
        overlay_dir: Path | None = typer.Option(
            None, "--overlay", help="Write an overlay PNG of every study into this folder.",
            file_okay=False),
        force: bool = typer.Option(
            False, "--force", help="Score studies whose tracer is not MIBG (a bone scan, say)."),
        lesions: Detector = lesions_option(),  # type: ignore[valid-type]
        segments: list[Path] | None = typer.Option(
            None, "--segments", help=SEGMENTS_HELP, exists=True, dir_okay=False),
        json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        model: Path | None = model_option(),
    ) -> None:
        """Score every study of a cohort, streaming results to CSV as they finish.

        A crash, Ctrl-C or kill loses nothing: re-run the same command and the studies
        already in results.csv are skipped (keyed by study and file hash). A file that
        cannot be scored goes to failures.csv and the batch carries on. results.csv names
        the segment tables and the lesion model of every study.
        """
        import json

        from mibgscore.pipeline import ScoreParams
        from mibgscore.validation.batch import score_cohort

        siopen_scheme, curie_scheme = segment_tables(segments)
        params, siopen_scheme = with_model(
            model, ScoreParams(lesion_method=Detector(lesions).value), siopen_scheme)
        with progress_bar("scoring", enabled=not quiet) as progress:
            summary = score_cohort(paths, out, workers=workers, scheduler=scheduler,
                                   overlay_dir=overlay_dir, force=force, params=params,
                                   siopen_scheme=siopen_scheme, curie_scheme=curie_scheme,
                                   progress=progress)
        if json_out:
            typer.echo(json.dumps(summary.to_dict()))
            return
        typer.echo(f"{summary.scored} studies scored, {summary.skipped} already done, "
                   f"{summary.failed} failed, in {summary.seconds:.1f} s.")
        typer.echo(f"results: {summary.results}")
        typer.echo(f"lesions: {summary.lesions}")
        if summary.failed:
            typer.echo(f"failures: {summary.failures}")
            for file, reason in summary.failure_reasons[:5]:
                typer.echo(f"  {Path(file).name}: {reason}")
            if summary.failed > 5:
                typer.echo(f"  ... and {summary.failed - 5} more")
        if summary.overlay_dir:
            typer.echo(f"overlays: {summary.overlay_dir}")
