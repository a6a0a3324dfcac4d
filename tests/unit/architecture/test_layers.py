"""One-way imports: a module imports only from layers above it (style.md, section 1)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[3] / "src" / "mibgscore"
LAYERS = ["errors", "settings", "io", "anatomy", "result", "uptake", "lesions", "grading",
          "pipeline", "simulate", "report", "validation", "adapt", "pacs", "app", "cli"]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mibgscore" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def test_no_module_imports_a_layer_below_it():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        own = _layer(".".join(rel.parts))
        if own is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                other = _layer(name)
                if other and LAYERS.index(other) > LAYERS.index(own):
                    bad.append(f"{rel}: {own} imports {name}")
    assert not bad, "\n".join(bad)


def test_stages_never_import_the_top_level_package_or_the_simulator():
    bad = []
    for path in PKG.rglob("*.py"):
        if path.parent == PKG and path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "mibgscore" and node.level == 0:
                if any(a.name != "__version__" for a in node.names):
                    bad.append(str(path))
    assert not bad, bad


def test_shipped_package_never_imports_torch():
    """Inference runs on onnxruntime; torch is only the training extra (training/)."""
    bad = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [f"{path}: {n}" for n in names if n.split(".")[0] == "torch"]
    assert not bad, bad
