"""The layout of DESIGN.md § Layout: arrows point down only, and models/ stays readable.

views/ and jobs/ call integrations/ and models/; integrations/ calls models/; models/ calls nothing
above it and speaks no HTTP, SMTP, Excel or S3. The check reads every import, including the ones
inside functions.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UPPER = {"views", "jobs", "admin_app", "integrations", "demo", "run", "bench", "tests", "docs"}
OUTSIDE_WORLD = {"smtplib", "urllib", "http", "requests", "httpx", "openpyxl", "boto3", "botocore",
                 "socket", "ssl", "email"}
FORBIDDEN = {
    "models": UPPER | OUTSIDE_WORLD,
    "integrations": UPPER - {"integrations"},
    "jobs": {"views", "admin_app", "demo", "run"},
    "demo": {"views", "jobs", "admin_app", "run"},
    "views": {"jobs", "demo", "run"},
}
MAX_MODELS_FILE_LINES = 500


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(ROOT).parent.parts
                base = package[:len(package) - node.level + 1]
                found.append((node.lineno, ".".join(base + ((node.module,) if node.module else ()))))
            else:
                found.append((node.lineno, node.module))
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down_only(layer):
    wrong = []
    for path in python_files(layer):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, f"{layer}/ must not import these:\n" + "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The check itself catches an upward import hidden inside a function."""
    sample = ROOT / "models" / "_layout_probe.py"
    sample.write_text("def f():\n    from views.api import api\n", encoding="utf-8")
    try:
        assert (2, "views.api") in imported_modules(sample)
    finally:
        sample.unlink()


def test_models_files_stay_short():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in python_files("models")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODELS_FILE_LINES]
    assert not long, "split these files of models/:\n" + "\n".join(long)


def test_no_two_module_names_one_letter_apart():
    """area/areas, ticket/tickets: a newcomer cannot tell which one holds the rule."""
    names = {p.stem for p in python_files("models") if p.stem != "__init__"}
    names |= {p.name for p in (ROOT / "models").iterdir() if p.is_dir() and p.name != "__pycache__"}
    close = sorted({tuple(sorted((a, b))) for a in names for b in names
                    if a != b and (a + "s" == b or a.replace("_", "") == b.replace("_", ""))})
    assert not close, f"module names one letter apart: {close}"


# --- storage ---------------------------------------------------------------------------------
FILE_SYSTEM_MODULES = {"os", "shutil", "tempfile", "pathlib", "glob"}
FILE_SYSTEM_CALLS = {"write_bytes", "write_text", "mkdir", "makedirs", "touch", "unlink", "rmdir"}


def file_system_uses(path: Path) -> list[str]:
    found = [f"{line}: imports {module}" for line, module in imported_modules(path)
             if module.split(".")[0] in FILE_SYSTEM_MODULES]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "open":
            found.append(f"{node.lineno}: open()")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in FILE_SYSTEM_CALLS:
            found.append(f"{node.lineno}: .{node.func.attr}()")
    return found


def test_models_write_no_files():
    """Photos go through the storage the app factory installs (integrations/storage/)."""
    wrong = [f"{p.relative_to(ROOT)}:{use}" for p in python_files("models")
             for use in file_system_uses(p)]
    assert not wrong, "models/ must not touch the file system:\n" + "\n".join(wrong)


def test_the_check_sees_a_file_write(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text("from pathlib import Path\n\ndef f(p):\n    p.write_bytes(b'x')\n"
                      "    open('a', 'w')\n", encoding="utf-8")
    assert file_system_uses(sample) == ["1: imports pathlib", "4: .write_bytes()", "5: open()"]


def test_every_name_a_models_module_exports_exists():
    """A name in ``__all__`` that the module does not define breaks ``import *`` and misleads
    the reader about where a rule lives."""
    import importlib

    wrong = []
    for path in python_files("models"):
        if "__all__" not in path.read_text(encoding="utf-8"):
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        wrong += [f"{name}.{n}" for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert not wrong, "exported but not defined:\n" + "\n".join(wrong)
