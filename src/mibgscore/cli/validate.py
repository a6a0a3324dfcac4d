"""`mibgscore validate`: agreement of the automatic scores with physicians' readings."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_command(
        reference: Path | None = typer.Option(
            None, "--reference", "-r", help="Required (except with --templates): the "
            "physicians' readings, CSV or .xlsx, wide or long form (see --templates); the "
            "simulator's truth.csv and the web application's readings export are read too.",
            dir_okay=False),
        auto: Path | None = typer.Option(
            None, "--auto", "-a", help="results.csv of `mibgscore batch`; without it the "
            "readers of the reference are compared with one another.", dir_okay=False),
        out: Path = typer.Option(
            Path("validation"), "--out", "-o", help="Folder for report.html, metrics.json and "
            "per_study.csv.", file_okay=False),
        json_out: bool = typer.Option(False, "--json", help="Print metrics.json to stdout."),
        pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf."),
        reader: str | None = typer.Option(
            None, "--reader", help="The reader taken as reference (default: 'consensus' if "
            "present, else the first reader)."),
        overlay_dir: Path | None = typer.Option(
            None, "--overlay", help="Folder of overlays written by `batch --overlay` or "
            "`score --overlay`.", file_okay=False),
        resamples: int = typer.Option(2000, "--resamples", min=100,
                                      help="Bootstrap resamples for kappa intervals."),
        seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
        segments: list[Path] | None = typer.Option(
            None, "--segments", help="The segment table(s) the automatic results were scored "
            "with (TOML, as for `batch --segments`): recorded in the report and used to score "
            "discordant studies again for their overlays.", exists=True, dir_okay=False),
        model: Path | None = typer.Option(
            None, "--model", help="The adapted model folder the results were scored with "
            "(`batch --model`): discordant studies are scored again with it for their "
            "overlays.", file_okay=False),
        templates: Path | None = typer.Option(
            None, "--templates", help="Write the readings templates (wide CSV and Excel, long "
            "CSV) into this folder and exit.", file_okay=False),
    ) -> None:
        """Measure agreement with physicians' readings: ICC, kappa, Bland-Altman, report.

        Writes a self-contained report.html (with the methods paragraph a paper needs),
        metrics.json and per_study.csv; studies found on one side only are listed, not
        dropped silently.
        """
        import json

        from mibgscore.errors import ReadingsFileError

        if templates is not None:
            from mibgscore.validation.readings import write_templates

            for path in write_templates(templates):
                typer.echo(str(path))
            return
        if reference is None:
            raise ReadingsFileError("give the physicians' readings with --reference "
                                    "(--templates DIR writes blank templates).")
        from mibgscore.cli.batch import progress_bar, segment_tables
        from mibgscore.validation.compare import ValidateOptions, validate

        siopen_scheme, curie_scheme = segment_tables(segments)
        score_params = None
        if model is not None:
            from mibgscore.cli.score import with_model
            from mibgscore.pipeline import ScoreParams

            score_params, siopen_scheme = with_model(model, ScoreParams(), siopen_scheme)
        options = ValidateOptions(reference_reader=reader, overlay_dir=overlay_dir, pdf=pdf,
                                  n_resamples=resamples, seed=seed,
                                  siopen_scheme=siopen_scheme, curie_scheme=curie_scheme,
                                  score_params=score_params)
        with progress_bar("validating") as progress:
            result = validate(auto, reference, out, options=options, progress=progress)
        outputs = result.pop("outputs")
        notes = result.pop("notes")
        if json_out:
            typer.echo(json.dumps(result, indent=2))
            return
        for side in ("reference", "auto"):
            for line in notes[side]:
                typer.echo(f"{side}: {line}", err=True)
        for line in (*notes["matching"], *notes["overlays"]):
            typer.echo(f"note: {line}", err=True)
        s = result["siopen_total"]
        n = result["n_studies"]
        typer.echo(f"{n} {'study' if n == 1 else 'studies'}: {result['test']} vs "
                   f"{result['reference']}")
        typer.echo(f"SIOPEN total ICC(A,1) {_f(s['icc_a1'])} (95 % CI {_f(s['icc_a1_ci'][0])} "
                   f"to {_f(s['icc_a1_ci'][1])}), bias {_f(s['bias'], 2)}, limits of agreement "
                   f"{_f(s['loa'][0], 2)} to {_f(s['loa'][1], 2)}")
        k = result["siopen_segments"]
        typer.echo(f"SIOPEN segments: weighted kappa {_f(k['weighted_kappa'])}, exact "
                   f"agreement {_f(k['exact_agreement'])}")
        t = result["threshold_siopen_3"]
        typer.echo(f"SIOPEN <=3/>3: accuracy {_f(t['accuracy'])}, kappa {_f(t['kappa'])}")
        if result.get("readers", {}).get("statement"):
            typer.echo(result["readers"]["statement"])
        unmatched = result["unmatched"]
        if unmatched["auto_only"] or unmatched["reference_only"]:
            typer.echo(f"on one side only: {len(unmatched['reference_only'])} reference, "
                       f"{len(unmatched['auto_only'])} other (listed in the report)")
        for name in ("report", "pdf", "metrics", "per_study"):
            if name in outputs:
                typer.echo(f"{name}: {outputs[name]}")


def _f(value, digits: int = 3) -> str:
    """A measure with ``digits`` decimals, never a signed zero ("-0.00")."""
    return "n/a" if value is None else f"{round(value, digits) + 0.0:.{digits}f}"
