"""`mibgscore segments`: print a segment table."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("segments")
    def segments(
        scheme: str = typer.Argument("siopen", help="siopen, curie, or a TOML segment table."),
    ) -> None:
        """Print the segments of a scoring scheme and the bones that make them."""
        from mibgscore.anatomy.scheme import load_scheme

        s = load_scheme(scheme)
        typer.echo(f"{s.name} (grades 0-{s.max_grade}) - {s.reference}")
        for seg in s.segments:
            parts = ", ".join(
                p.bone if (p.start, p.end) == (0.0, 1.0) else f"{p.bone} [{p.start:g}-{p.end:g}]"
                for p in seg.parts) or "soft tissue"
            typer.echo(f"  {seg.key:28s} {parts}")
