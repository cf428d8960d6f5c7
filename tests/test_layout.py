"""The import rules that keep the package's layers apart."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mnist_cnn"
HEAVY = ("keras", "tensorflow", "torch", "jax", "matplotlib")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, absolute or relative (as ``.x`` / ``..x``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_image_code_never_imports_a_framework():
    """mnist_cnn.vision reads images for a service that must not load TensorFlow."""
    for path in sorted((PACKAGE / "vision").glob("*.py")):
        heavy = {m for m in _imports(path) if m.split(".")[0] in HEAVY}
        assert not heavy, f"{path.name} imports {heavy}"


def test_nothing_imports_the_cli():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("cli.py", "__main__.py"):
            continue
        found = {m for m in _imports(path) if m.endswith(".cli") or m.endswith("cli")}
        found = {m for m in found if m.split(".")[-1] == "cli"}
        assert not found, f"{path.relative_to(PACKAGE)} imports {found}"


def test_importing_the_package_and_its_image_code_loads_no_framework():
    code = (
        "import sys, mnist_cnn, mnist_cnn.preprocess, mnist_cnn.reading, mnist_cnn.vision.degrade;"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
