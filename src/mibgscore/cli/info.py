"""`mibgscore info`: print what was read from each study."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        paths: list[Path] = typer.Argument(
            ..., help="DICOM files, folders, .zip archives or DICOMDIRs."),
        json_lines: bool = typer.Option(
            False, "--json", help="Print one JSON object per study (JSON Lines)."),
        force: bool = typer.Option(
            False, "--force", help="Read studies whose tracer is not MIBG (a bone scan, say)."),
        single_view: bool = typer.Option(
            False, "--single-view", help="Read studies where only one view was found."),
    ) -> None:
        """Read whole-body scans and print what was read: views, matrix, spacing, patient,
        tracer, camera and every assumption made. Exit code 2 if any input failed."""
        import json

        from mibgscore.errors import InputError
        from mibgscore.io.read import iter_scans, scan_summary

        failed = read = 0
        for item in iter_scans(paths, force=force, allow_single_view=single_view):
            if isinstance(item, InputError):
                failed += 1
                typer.echo(f"error: {item}", err=True)
                continue
            read += 1
            summary = scan_summary(item)
            if json_lines:
                typer.echo(json.dumps(summary, ensure_ascii=False))
            else:
                typer.echo(format_summary(summary))
        if failed:  # main() prints this sentence and exits with code 2
            raise InputError(f"{failed} input{'s' if failed > 1 else ''} could not be read "
                             f"({read} stud{'ies' if read != 1 else 'y'} read).")


def _value(value, unit: str = "") -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value}{unit}"


def format_summary(s: dict) -> str:
    """Readable text for one study's summary (:func:`mibgscore.io.read.scan_summary`)."""
    p, st, t, a = s["patient"], s["study"], s["tracer"], s["acquisition"]
    m = s["matrix"]
    lines = [f"{s['path']}"]
    lines.append(f"  study      {_value(st['date'])}  {_value(st['description'])}  "
                 f"UID {_value(st['study_uid'])}")
    lines.append(f"  patient    ID {_value(p['id'])}, age {_value(p['age_years'], ' y')}, "
                 f"sex {_value(p['sex'])}, height {_value(p['height_cm'], ' cm')}, "
                 f"weight {_value(p['weight_kg'], ' kg')}")
    lines.append(f"  matrix     {m['cols']} x {m['rows']} (cols x rows), pixel spacing "
                 f"{s['spacing_mm'][0]:.3g} x {s['spacing_mm'][1]:.3g} mm (row x col)")
    for view in ("anterior", "posterior"):
        v = s["views"].get(view)
        if v is None:
            lines.append(f"  {view:10s} missing")
        else:
            lines.append(f"  {view:10s} frame {v['frame'] + 1} of {Path(v['file']).name}, "
                         f"{v['counts']:,.0f} counts; {v['how']}")
    tracer = t["name"] or ("not stated" if t["status"] == "unknown" else t["status"])
    lines.append(f"  tracer     {tracer} [{t['status']}] ({t['how']})")
    window = a["energy_window_kev"]
    window_text = f"{window[0]:g}-{window[1]:g} keV" if window else "-"
    lines.append(f"  camera     {_value(a['manufacturer'])} {_value(a['model'])}, collimator "
                 f"{_value(a['collimator'])}, energy window {window_text}, "
                 f"{_value(a['modality'])}")
    if s["assumptions"]:
        lines.append("  assumptions:")
        lines.extend(f"    - {x}" for x in s["assumptions"])
    else:
        lines.append("  assumptions: none")
    return "\n".join(lines)
