"""`mibgscore score`: SIOPEN and Curie scores of whole-body scans."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path

import typer

from mibgscore.lesions.registry import detector_help, detector_names

logger = logging.getLogger(__name__)

LESIONS_HELP = f"Lesion detector: {detector_help()}."

Detector = Enum("Detector", {name: name for name in detector_names()}, type=str)
"""The ``--lesions`` choices: the registered lesion detectors and ``auto``."""


def lesions_option():
    """The ``--lesions`` option (its value's ``.value`` is the registry name)."""
    return typer.Option("auto", "--lesions", help=LESIONS_HELP)


MODEL_HELP = ("An adapted model folder (written by `mibgscore adapt`); default: the shipped "
              "model.")


def model_option():
    """The ``--model`` option."""
    return typer.Option(None, "--model", help=MODEL_HELP, file_okay=False)


def with_model(model_dir: Path | None, params, siopen):
    """The score options and SIOPEN table of ``--model`` (unchanged without it).

    Raises
    ------
    InputError, ModelError
        The folder is not a usable model, or ``--lesions`` or a SIOPEN ``--segments`` table
        contradicts it.
    """
    if model_dir is None:
        return params, siopen
    from mibgscore.adapt.model import load_model
    from mibgscore.errors import InputError

    model = load_model(model_dir)
    if params.lesion_method not in ("auto", "learned"):
        raise InputError(f"--model adapts the learned lesion detector; it cannot be used with "
                         f"--lesions {params.lesion_method}.")
    if siopen is not None:
        raise InputError("--model carries its own SIOPEN segment table; give --segments for "
                         "the Curie table only.")
    return model.params, model.siopen_scheme


def register(app: typer.Typer) -> None:
    @app.command("score", help=(
        "Score whole-body MIBG scans: SIOPEN (12 segments, 0-72) and Curie (0-30). "
        "Single-view scans are scored with a warning. A file that cannot be read gives an "
        "error (a line with an \"error\" key with --json) and the others carry on; the exit "
        "code is 2 if any input failed."))
    def score_command(
        paths: list[Path] = typer.Argument(
            ..., help="DICOM files, folders, .zip archives or DICOMDIRs."),
        json_lines: bool = typer.Option(
            False, "--json", help="Print one JSON object per scan (JSON Lines)."),
        overlay_dir: Path | None = typer.Option(
            None, "--overlay", help="Write one overlay PNG per scan into this folder.",
            file_okay=False),
        force: bool = typer.Option(
            False, "--force", help="Score studies whose tracer is not MIBG (a bone scan, say)."),
        segments: list[Path] | None = typer.Option(
            None, "--segments", help="A centre's SIOPEN or Curie segment table (TOML); "
            "may be given twice, once per scheme.", exists=True, dir_okay=False),
        lesions: Detector = lesions_option(),  # type: ignore[valid-type]
        model: Path | None = model_option(),
    ) -> None:
        """Score whole-body MIBG scans: SIOPEN (12 segments, 0-72) and Curie (0-30).

        Single-view scans are scored with a warning. A file that cannot be read gives an
        error (a line with an "error" key with --json) and the others carry on; the exit
        code is 2 if any input failed.
        """
        import json

        from mibgscore.anatomy.scheme import load_scheme, load_schemes
        from mibgscore.errors import InputError, MibgscoreError
        from mibgscore.io.read import iter_scans
        from mibgscore.pipeline import score

        params = score_params(Detector(lesions).value)
        siopen, curie = load_schemes(segments or [])
        params, siopen = with_model(model, params, siopen)
        tables = (siopen or load_scheme("siopen"), curie or load_scheme("curie"))
        if overlay_dir is not None:
            overlay_dir.mkdir(parents=True, exist_ok=True)
        failed = crashed = done = 0
        for item in iter_scans(paths, force=force, allow_single_view=True):
            if isinstance(item, InputError):
                failed += 1
                _error(json_lines, item.path or "", item.reason, str(item))
                continue
            label = item.path or ""
            try:
                result = score(item, params=params, siopen_scheme=tables[0],
                               curie_scheme=tables[1])
            except MibgscoreError as exc:
                failed += 1
                _error(json_lines, label, exc.reason, str(exc))
                continue
            except Exception as exc:  # a bug on one scan must not stop the batch
                crashed += 1
                from mibgscore.errors import write_crash_log  # the traceback: never on stderr

                sentence = (f"internal error while scoring ({type(exc).__name__}: "
                            f"{str(exc)[:120]}); details in {write_crash_log(exc)}.")
                _error(json_lines, label, sentence, f"{Path(label).name}: {sentence}")
                continue
            done += 1
            if overlay_dir is not None:
                from mibgscore.report.naming import overlay_name
                from mibgscore.report.overlay import render_overlay

                out = overlay_dir / overlay_name(label, item.study.study_uid)
                render_overlay(item, result, out, schemes=tables)
            if json_lines:
                typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
            else:
                _print_table(result)
        if crashed and not failed:
            raise typer.Exit(1)
        if failed:  # main() prints this sentence and exits with code 2
            raise InputError(f"{failed + crashed} input{'s' if failed + crashed > 1 else ''} "
                             f"could not be scored ({done} scored).")


def score_params(lesions: str):
    """Score options for ``--lesions``; an InputError when the learned stage is asked for but
    not installed."""
    from mibgscore.errors import InputError
    from mibgscore.pipeline import ScoreParams, lesion_method

    params = ScoreParams(lesion_method=lesions)
    try:
        lesion_method(params)
    except ValueError as exc:
        raise InputError(f"--lesions {lesions}: {exc}") from None
    return params


def _error(json_lines: bool, file: str, reason: str, text: str) -> None:
    import json

    if json_lines:
        typer.echo(json.dumps({"file": file, "error": reason}, ensure_ascii=False))
    typer.echo(f"error: {text}", err=True)


def _print_table(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from mibgscore.grading.rules import curie_category, siopen_category

    console = Console()
    console.print(f"[bold]{result.file}[/bold]")
    # one table per scheme, one under the other: full segment keys at any terminal width
    width = max(map(len, (*result.siopen, *result.curie, "SIOPEN segment")))
    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    t.add_column("SIOPEN segment", no_wrap=True, min_width=width)
    t.add_column("grade", justify="right", no_wrap=True)
    t.add_column("confidence", justify="right", no_wrap=True)
    for sk, sg in result.siopen.items():
        conf = result.siopen_confidence.get(sk)
        conf_text = "" if conf is None else (f"{conf:.2f}" if conf >= 0.7
                                             else f"[yellow]{conf:.2f} check[/yellow]")
        t.add_row(sk, str(sg), conf_text)
    t.add_row("[bold]total[/bold]", f"[bold]{result.siopen_total}[/bold]",
              siopen_category(result.siopen_total))
    console.print(t)
    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    t.add_column("Curie segment", no_wrap=True, min_width=width)
    t.add_column("grade", justify="right", no_wrap=True)
    t.add_column("category", justify="right", no_wrap=True)
    for ck, cg in result.curie.items():
        t.add_row(ck, str(cg), "")
    t.add_row("[bold]total[/bold]", f"[bold]{result.curie_total}[/bold]",
              curie_category(result.curie_total))
    console.print(t)
    focal = sum(1 for x in result.lesions if x.kind == "focal")
    diffuse = sum(1 for x in result.lesions if x.kind == "diffuse")
    console.print(f"lesions: {focal} focal, {diffuse} diffuse; findings: "
                  + (", ".join(sorted({f.label for f in result.findings})) or "none")
                  + f"; {result.seconds:.2f} s")
    m = result.model
    console.print(f"scored by: {m.name} {m.version} (sha256 {m.sha256[:12]}); segment tables: "
                  f"{result.schemes.get('siopen', '')}, {result.schemes.get('curie', '')}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print()
