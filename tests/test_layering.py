"""The layers stay visible: the package holds only its five layer folders, product code never
imports the sandbox, the planner does no I/O and imports no other layer, and the command line
starts with typer and rich only."""

from __future__ import annotations

import ast
import subprocess
import sys

from .conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "wkgt"
# only these CLI commands start the sandbox, on purpose, and import it inside the command
SANDBOX_COMMANDS = {PACKAGE / "cli" / "sandbox.py", PACKAGE / "cli" / "demo.py"}
# (the planner may use the SDK's value types, e.g. Box.to_bounding_box(); it never talks to a server)
IO_MODULES = {
    "httpx", "wkgt_sandbox", "socket", "requests", "urllib.request", "filelock", "io", "os", "pathlib", "shutil",
    "tempfile", "subprocess", "PIL", "tensorstore", "cluster_tools", "dotenv",
    "wkgt.client", "wkgt.writer", "wkgt.jobs", "wkgt.cli",
}
IO_CALLS = {"open", "print", "input"}


def imported_modules(path) -> set[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
    return names


def within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_package_holds_only_the_layers():
    loose = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py")
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert loose == ["__init__.py", "__main__.py", "_version.py", "errors.py"]
    assert folders == ["cli", "client", "jobs", "planner", "writer"]


def test_product_code_never_imports_the_sandbox():
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in PACKAGE.rglob("*.py")
        if path not in SANDBOX_COMMANDS and any(m.split(".")[0] == "wkgt_sandbox" for m in imported_modules(path))
    ]
    assert offenders == []


def test_planner_does_no_io():
    for path in (PACKAGE / "planner").rglob("*.py"):
        modules = imported_modules(path)
        assert not {m for m in modules if within(m, IO_MODULES)}, path
        calls = {
            node.func.id
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & IO_CALLS, path


def test_lower_layers_never_import_upper_ones():
    """client reads, writer writes, jobs combine them: client and writer never import jobs or cli."""
    for layer in ("client", "writer"):
        for path in (PACKAGE / layer).rglob("*.py"):
            upper = {m for m in imported_modules(path) if within(m, ("wkgt.jobs", "wkgt.cli"))}
            assert not upper, path
    for path in (PACKAGE / "client").rglob("*.py"):
        assert not {m for m in imported_modules(path) if within(m, ("wkgt.writer",))}, path


def test_cli_and_package_start_without_webknossos():
    heavy = ("webknossos", "wkgt_sandbox", "PIL", "cluster_tools", "numpy", "scipy", "attrs", "cattrs", "httpx")
    code = f"import sys, wkgt, wkgt.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_webknossos_imported_through_wkgt_is_quiet():
    """No PyPI version check and no image-reader warning, however the SDK gets imported."""
    code = (
        "import os, warnings; warnings.simplefilter('always'); import wkgt; "
        "print(os.environ['WEBKNOSSOS_SKIP_VERSION_CHECK']); wkgt.Box('b', (0, 0, 0), (8, 8, 8)).to_bounding_box()"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("WEBKNOSSOS_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "True"
    assert "image" not in done.stderr.lower() and "Warning" not in done.stderr


def test_every_public_name_of_wkgt_imports_and_is_listed():
    import wkgt

    assert set(wkgt.__all__) <= set(dir(wkgt))
    for name in wkgt.__all__:
        assert getattr(wkgt, name) is not None, name
    for job in ("create_boxes", "check_annotation", "run_batch", "train", "evaluate", "history", "undo", "dataset_info"):
        assert callable(getattr(wkgt, job)), job
