"""`--help` of every command: flags as flags, plain types, required marked, no broken sentence.

Every command and sub-command registered on the console script is visited (whoever added it),
through click's own command tree; the text is rendered at 100 columns as a terminal shows it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest
import typer
from typer.testing import CliRunner

from mibgscore.cli.main import _register_all, app

WIDTH = 100
LEAKS = re.compile(r"<(bool|str|list\[|tuple\[|dict\[|Optional|NoneType|Path\b)|list\[Path\]|"
                   r"<int range>|<float range>|PosixPath")
BOX = "│╭╰─"


def _commands() -> list[tuple[list[str], click.Command]]:
    _register_all()
    root = typer.main.get_command(app)
    out: list[tuple[list[str], click.Command]] = [([], root)]

    def walk(group: click.Group, path: list[str]) -> None:
        for name, cmd in sorted(group.commands.items()):
            out.append(([*path, name], cmd))
            if isinstance(cmd, click.Group):
                walk(cmd, [*path, name])

    walk(root, [])
    return out


COMMANDS = _commands()


def _help(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(WIDTH),
                                                             "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path, command", COMMANDS,
                         ids=[" ".join(p) or "mibgscore" for p, _ in COMMANDS])
def test_help_is_plain(path, command):
    text = _help(path)
    assert not LEAKS.search(text), f"a Python type in the help: {LEAKS.search(text)[0]!r}"
    rows = text.splitlines()
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        name = max(param.opts, key=len)
        row = next((r for r in rows if re.search(rf"(^|\s){re.escape(name)}(\s|,|$)", r)), None)
        assert row is not None, f"{name} is not in the help"
        if param.is_flag:  # a flag takes no value: no placeholder after it
            shorts = "".join(rf"(\s+{re.escape(o)})?" for o in param.opts if o != name)
            assert not re.search(rf"{re.escape(name)}{shorts}\s+(<|[A-Z]+\b)", row), row
        if param.required:
            assert re.search(r"│\s*\*", row), f"required {name} not marked: {row}"
    for param in command.params:
        if isinstance(param, click.Argument) and param.required:
            row = next(r for r in rows if re.search(rf"\b{param.name}\b", r) and "│" in r)
            assert "*" in row, f"required argument {param.name} not marked: {row}"
    # no sentence broken mid-line: outside the panels, a line ends early only at a paragraph's
    # end (the next word would have fitted)
    prose = [r.rstrip() for r in rows if r.strip() and r.lstrip()[:1] not in BOX]
    for a, b in zip(rows, rows[1:], strict=False):
        if a.rstrip() in prose and b.rstrip() in prose and b.strip() and \
                not b.lstrip().startswith(("Usage:", "-", "*")):
            first = b.split()[0]
            if len(a.rstrip()) + 1 + len(first) <= WIDTH - 2:
                pytest.fail(f"sentence broken mid-line:\n{a}\n{b}")


def test_flags_take_no_value_and_help_says_so():
    runner = CliRunner()
    result = runner.invoke(app, ["score", "--json=false", "x.dcm"], env={"COLUMNS": "100"})
    assert result.exit_code == 2 and "does not take a value" in result.output
    assert re.search(r"│ --json\s{3,}Print one JSON object", _help(["score"]))


def test_validate_says_reference_is_required():
    text = " ".join(_help(["validate"]).split())
    assert "Required (except with --templates)" in text


def test_help_through_the_console_script():
    env = {**os.environ, "COLUMNS": str(WIDTH)}
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", "--help"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout and "<list[Path]>" not in proc.stdout
    assert "already in results.csv are skipped" in " ".join(proc.stdout.split())


def test_score_table_keeps_whole_segment_names(tmp_path):
    from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
    from mibgscore.io.write import write_nm
    from mibgscore.simulate.study import simulate_study

    write_nm(simulate_study(3, category="limited").scan, tmp_path / "s.dcm")
    env = {**os.environ, "COLUMNS": "60"}
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "score",
                           str(tmp_path / "s.dcm")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    words = set(proc.stdout.split())
    missing = [k for k in (*SIOPEN_KEYS, *CURIE_KEYS) if k not in words]
    assert missing == [], f"segment names cut: {missing}\n{proc.stdout}"
