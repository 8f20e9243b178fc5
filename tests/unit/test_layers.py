"""Imports point inward (STYLE rule 1): walk every module's imports with ast and check the layer rules."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module or "")
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offenders(folder: str, forbidden: tuple[str, ...], allowed_in: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for path in modules(folder):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(prefix) for prefix in allowed_in):
            continue
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{rel} imports {name}")
    return bad


def test_engine_never_imports_flask_or_app():
    assert offenders("engine", ("flask", "flask_smorest", "app", "werkzeug")) == []


def test_only_the_spiff_adapter_imports_spiffworkflow():
    assert offenders("engine", ("SpiffWorkflow",), allowed_in=("engine/spiff/",)) == []
    assert offenders("app", ("SpiffWorkflow",)) == []


def test_only_the_persistence_package_uses_the_orm_declaratively():
    bad = [line for line in offenders("engine", ("sqlalchemy.orm",), allowed_in=("engine/persistence/",))
           if "DeclarativeBase" in line]
    assert bad == []


def test_lxml_is_used_only_by_the_bpmn_loader():
    assert offenders("engine", ("lxml",), allowed_in=("engine/spiff/parser.py", "engine/spiff/xml_loader.py",
                                                      # xml_loader's readers of the tb: extension elements
                                                      "engine/spiff/xml_extensions.py",
                                                      "engine/lint")) == []


def test_apscheduler_is_imported_only_by_the_worker_module():
    assert offenders("engine", ("apscheduler",), allowed_in=("engine/timers.py",)) == []
    assert offenders("app", ("apscheduler",)) == []


def test_app_imports_only_the_engine_public_api():
    bad = [line for line in offenders("app", ("engine",)) if not line.endswith(" imports engine")]
    assert bad == []


def test_every_public_name_in_the_engine_has_a_google_style_docstring():
    from pydocstyle import check
    errors = [f"{e.filename}:{e.line} {e.code} {e.short_desc}"
              for e in check([str(p) for p in modules("engine")], select=None, ignore=None,
                             ignore_decorators=None, ignore_inline_noqa=False)
              if e.code not in _IGNORED]
    assert errors == []


# google convention (pydocstyle's set for it) minus magic methods and __init__, documented on their class.
_IGNORED = {"D105", "D107", "D203", "D204", "D213", "D215", "D400", "D401", "D404", "D406", "D407", "D408",
            "D409", "D413"}


def test_ruff_finds_nothing_with_the_projects_settings():
    """pyproject.toml's [tool.ruff] (pyflakes, pycodestyle, bugbear at 120 columns) holds for the whole tree."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
