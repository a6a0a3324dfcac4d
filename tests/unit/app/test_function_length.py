"""The web application stays split by job: no function in `mibgscore.app` over 150 lines."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[3] / "src" / "mibgscore" / "app"
MAX_LINES = 150


def _function_lengths() -> dict[str, int]:
    """Lines of every function and method, def line to last line, by ``file:line name``."""
    out = {}
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{path.relative_to(APP.parent)}:{node.lineno} {node.name}"
                out[where] = node.end_lineno - node.lineno + 1
    return out


def test_no_function_in_the_app_is_over_150_lines():
    lengths = _function_lengths()
    assert lengths, f"no function found under {APP}"
    long = {k: n for k, n in lengths.items() if n > MAX_LINES}
    assert not long, "; ".join(f"{k}: {n} lines" for k, n in sorted(long.items()))


def test_the_check_counts_from_def_to_last_line():
    tree = ast.parse("def f():\n    a = 1\n\n    return a\n")
    node = tree.body[0]
    assert node.end_lineno - node.lineno + 1 == 4
