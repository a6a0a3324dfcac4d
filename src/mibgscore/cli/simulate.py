"""`mibgscore simulate`: write simulated MIBG studies with their ground truth."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        outdir: Path = typer.Argument(..., help="Folder to write the studies into."),
        n: int = typer.Option(10, "--n", min=1, help="Number of studies."),
        seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same files."),
        category: str | None = typer.Option(
            None, "--category",
            help="normal, limited, moderate or extensive (SIOPEN 0, 1-3, 4-16, 17+); "
                 "default: a mix."),
    ) -> None:
        """Simulate whole-body 123I-MIBG studies of children with neuroblastoma.

        Writes case_NNN.dcm (multi-frame NM, anterior and posterior views), truth.csv
        (SIOPEN and Curie grades), lesions.csv and labels/case_NNN.npz (bone and segment maps).
        """
        from mibgscore.errors import InputError
        from mibgscore.simulate.study import write_studies
        from mibgscore.simulate.types import CATEGORIES

        if category is not None and category not in CATEGORIES:
            raise InputError(f"--category {category!r} is not one of {', '.join(CATEGORIES)}.")
        paths = write_studies(outdir, n=n, seed=seed, category=category)
        typer.echo(f"wrote {len(paths)} studies, truth.csv, lesions.csv and labels/ to {outdir}")
