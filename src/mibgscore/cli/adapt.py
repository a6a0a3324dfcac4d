"""`mibgscore adapt`: fit the automatic score to a centre's own scored scans."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("adapt")
    def adapt_command(
        scans: list[Path] = typer.Argument(
            ..., help="The centre's scans: DICOM files, folders, .zip archives or DICOMDIRs "
            "(as for batch)."),
        reference: Path = typer.Option(
            ..., "--reference", "-r", help="The physicians' readings of these scans: CSV or "
            ".xlsx, wide or long form (as for validate). [required]", dir_okay=False),
        out: Path = typer.Option(
            ..., "--out", "-o", help="The model folder to write (replaced only once the new "
            "one is complete). [required]", file_okay=False),
        folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds "
                                  "(all studies of one patient in the same fold)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the folds."),
        reader: str = typer.Option(
            "consensus", "--reader", help="The reader fitted: a reader's name, or consensus "
            "(a reader so named, else the median of all readers)."),
        base: Path | None = typer.Option(
            None, "--base", help="The model adapted: an adapted model folder or a folder of "
            "network weights (default: the shipped model).", file_okay=False, exists=True),
        name: str | None = typer.Option(
            None, "--name", help="Name of the adapted model (default: the folder's name)."),
        workers: int = typer.Option(1, "--workers", min=1, help="Processes scoring the "
                                    "scans."),
        force: bool = typer.Option(
            False, "--force", help="Read studies whose tracer is not MIBG."),
        json_out: bool = typer.Option(False, "--json", help="Print metrics.json to stdout."),
    ) -> None:
        """Adapt the automatic score to a centre's scans and readings, with honest figures.

        Scores every scan, matches the readings as validate does, fits per-segment limits
        (focus probability, diffuse extent, the limb split) pulled towards the shipped rules,
        and measures shipped and adapted models side by side by patient-grouped,
        nested cross-validation. Writes calibration.json, siopen.toml, metrics.json,
        report.html and manifest.json into the model folder; use it with --model.
        """
        import json

        from mibgscore.adapt.run import AdaptOptions, adapt
        from mibgscore.cli.batch import progress_bar

        options = AdaptOptions(folds=folds, seed=seed, reader=reader, base=base, name=name,
                               workers=workers, force=force)
        with progress_bar("scoring the centre's scans") as progress:
            metrics = adapt(scans, reference, out, options=options, progress=progress)
        if json_out:
            typer.echo(json.dumps({k: v for k, v in metrics.items()
                                   if k != "cross_validated_full"}, indent=2, default=str))
            return
        b, a = metrics["cross_validated"]["before"], metrics["cross_validated"]["after"]
        typer.echo(f"{metrics['n_studies']} studies ({metrics['n_patients']} patients), "
                   f"reader {metrics['reader']}, {metrics['folds']}-fold cross-validation:")
        typer.echo(f"  SIOPEN total ICC(A,1): shipped {b['icc_a1']:.3f}, adapted "
                   f"{a['icc_a1']:.3f}")
        typer.echo(f"  SIOPEN total MAE: shipped {b['mae']:.2f}, adapted {a['mae']:.2f}")
        def share(v: float | None) -> str:
            return "-" if v is None else f"{v:.0%}"

        typer.echo(f"  normal studies scored 0: shipped {share(b['normals_scored_0'])}, "
                   f"adapted {share(a['normals_scored_0'])}")
        typer.echo(f"model written to {out} (report.html); score with --model {out}")
