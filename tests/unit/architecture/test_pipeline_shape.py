"""``pipeline.score`` only chains the stages: short, and every stage's job lives in its folder."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[3] / "src" / "mibgscore"


def test_score_is_at_most_60_lines():
    tree = ast.parse((PKG / "pipeline.py").read_text(encoding="utf-8"))
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "score"]
    assert fn.end_lineno - fn.lineno + 1 <= 60


def test_only_the_grid_bins_and_flips():
    """Binning and the feet-first flip are the working grid's (anatomy/grid.py) alone."""
    bad = []
    for path in PKG.rglob("*.py"):
        if path.name == "grid.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("(f - 1) / 2", ".reshape(r // f, f, c // f, f)"):
            if needle in text:
                bad.append(f"{path.relative_to(PKG)}: {needle}")
    assert not bad, bad
