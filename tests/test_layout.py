"""The package's layout: subpackages by concern, and the import rules that keep them apart.

Each subpackage's docstring says what it owns and what it may import; these
tests keep the rules that matter (image and data code never load a framework,
nothing imports the CLI, the server loads no TensorFlow unless asked, and the
dependencies between subpackages point one way).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "mnist_cnn"
HEAVY = ("keras", "tensorflow", "torch", "jax", "matplotlib")
SUBPACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())

#: Which other parts of mnist_cnn each subpackage may import (besides the
#: top-level errors, fileio, envinfo, runs, config and the private _lazy).
ALLOWED = {
    "data": set(),
    "vision": set(),
    "models": set(),
    "inference": {"data", "models", "vision"},
    "evaluation": {"data", "inference"},
    "training": {"data", "models", "vision", "inference", "evaluation"},
    "serve": {"inference", "models", "vision", "preprocess", "reading"},
    "cli": {"*"},
}
BASE = {"errors", "fileio", "envinfo", "runs", "config", "_lazy"}


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Every module a file imports, as absolute names (``mnist_cnn.x.y``, ``keras``).

    With ``top_level_only``, only the imports that run when the module is
    imported (not those inside functions).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _files(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


@pytest.mark.parametrize("subpackage", ["data", "vision"])
def test_data_and_image_code_never_import_a_framework(subpackage):
    """mnist_cnn.data and mnist_cnn.vision serve a process that must not load TensorFlow."""
    for path in _files(subpackage):
        heavy = {m for m in _imports(path) if m.split(".")[0] in HEAVY}
        assert not heavy, f"{path.relative_to(PACKAGE)} imports {heavy}"


def test_nothing_imports_the_cli():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "cli" or path.name == "__main__.py":
            continue
        found = {m for m in _imports(path) if m.startswith("mnist_cnn.cli")}
        assert not found, f"{relative} imports {found}"


@pytest.mark.parametrize("subpackage", sorted(ALLOWED))
def test_subpackages_import_only_what_their_docstring_allows(subpackage):
    allowed = ALLOWED[subpackage] | BASE | {subpackage}
    if "*" in allowed:
        return
    for path in _files(subpackage):
        used = {_part_of_package(m) for m in _imports(path)} - {None}
        assert used <= allowed, f"{path.relative_to(PACKAGE)} imports {used - allowed}"


def _part_of_package(module: str) -> str | None:
    """``data`` for ``mnist_cnn.data.idx``, ``errors`` for ``mnist_cnn.errors.DataError``."""
    parts = module.split(".")
    if parts[0] != "mnist_cnn" or len(parts) < 2:
        return None
    name = parts[1]
    is_part = (PACKAGE / name / "__init__.py").is_file() or (PACKAGE / f"{name}.py").is_file()
    return name if is_part else None


def test_the_server_imports_no_framework_at_import_time():
    """serve/ and the onnx runtime load TensorFlow only inside functions (``--runtime keras``)."""
    paths = [*_files("serve"), PACKAGE / "inference" / "onnx_runtime.py"]
    for path in paths:
        heavy = {m for m in _imports(path, top_level_only=True) if m.split(".")[0] in HEAVY}
        assert not heavy, f"{path.relative_to(PACKAGE)} imports {heavy} at import time"


def test_every_subpackage_says_what_it_owns_and_may_import():
    assert set(ALLOWED) <= set(SUBPACKAGES)
    for name in SUBPACKAGES:
        tree = ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and len(doc.split()) >= 30, f"{name}/__init__.py needs a docstring"
        assert "may import" in " ".join(doc.split()), f"{name}: say what it may import"


def test_importing_the_package_and_its_light_parts_loads_no_framework():
    """Every subpackage imports lazily; data, vision, the image facades and the server
    modules load no framework at all."""
    modules = [f"mnist_cnn.{name}" for name in SUBPACKAGES] + [
        "mnist_cnn.preprocess",
        "mnist_cnn.reading",
        "mnist_cnn.vision.degrade",
        "mnist_cnn.data.datasets",
        "mnist_cnn.data.synthetic",
        "mnist_cnn.serve.app",
        "mnist_cnn.serve.service",
        "mnist_cnn.inference.onnx_runtime",
        "mnist_cnn.config",
    ]
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}];"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out


@pytest.mark.parametrize("package", ["mnist_cnn", *(f"mnist_cnn.{n}" for n in SUBPACKAGES)])
def test_every_lazily_exported_name_resolves(package):
    module = importlib.import_module(package)
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, f"{package}.{name}"
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def _readme_python_imports() -> list[tuple[str, str]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n", readme.index("## Library"))
    block = readme[start + len("```python\n") : readme.index("```", start + 10)]
    found = []
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("mnist_cnn"):
            found.extend((node.module, alias.name) for alias in node.names)
    return found


def test_the_readme_library_names_come_from_mnist_cnn():
    """The README's Python example imports only names that ``mnist_cnn`` re-exports."""
    import mnist_cnn

    imported = _readme_python_imports()
    assert len(imported) >= 10
    for module, name in imported:
        assert module == "mnist_cnn", f"from {module} import {name}"
        assert name in mnist_cnn.__all__, name
        assert getattr(mnist_cnn, name) is not None


def _package_imports_in(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and not node.level:
            if (node.module or "").split(".")[0] == "mnist_cnn":
                found.update((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update((a.name, "") for a in node.names if a.name.startswith("mnist_cnn"))
    return found


@pytest.mark.parametrize(
    "path",
    sorted([*(REPO / "benchmarks").glob("*.py"), *(REPO / "docs").glob("*.py")]),
    ids=lambda p: p.name,
)
def test_benchmarks_and_docs_scripts_import_what_exists_and_no_tests(path):
    """Benchmarks import their helpers from the library, never from tests/, and every
    mnist_cnn name they import (also inside functions) exists."""
    text = path.read_text(encoding="utf-8")
    assert "from test" not in text and "import test" not in text and "conftest" not in text
    for module, name in sorted(_package_imports_in(path)):
        imported = importlib.import_module(module)
        if name:
            assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), (
                f"{path.name}: from {module} import {name}"
            )


def test_no_test_module_imports_another():
    for path in sorted((REPO / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith(("test_", "conftest")), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith(("test_", "conftest")) for a in node.names)


def test_every_data_file_ships_with_its_package():
    """Weights, templates and the web page are package data of their subpackage
    (pyproject's ``package-data``), so a wheel holds them; a wheel build showed it."""
    import fnmatch

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]
    data_files = [
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert len(data_files) >= 12
    for path in data_files:
        package_dir = next(d for d in path.parents if (d / "__init__.py").is_file())
        package = ".".join(package_dir.relative_to(PACKAGE.parent).parts)
        inside = path.relative_to(package_dir).as_posix()
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in patterns.get(package, ())), (
            f"{path.relative_to(PACKAGE)} is not package data of {package}"
        )
    from importlib import resources

    for package, name in (
        ("mnist_cnn.models", "weights/default.keras"),
        ("mnist_cnn.models", "weights/verifier.keras"),
        ("mnist_cnn.evaluation", "templates/report.html"),
        ("mnist_cnn.serve", "web/index.html"),
    ):
        assert resources.files(package).joinpath(name).is_file(), (package, name)
