"""The layers of DESIGN.md hold: imports point down, and nothing imports ``defs`` but definitions.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "haven_pipelines"

# layer -> packages of ours it may import (besides itself)
ALLOWED = {
    "domain": set(),
    "db": {"domain", "settings"},
    "integrations": {"domain", "settings"},
    "rendering": {"domain"},
    "services": {"db", "integrations", "rendering", "domain", "settings"},
    # The orchestration layer goes through services; db.engine is allowed for building engines.
    "defs": {"services", "domain", "settings", "db.engine"},
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("haven_pipelines."):
            found.append(node.module.removeprefix("haven_pipelines."))
        elif isinstance(node, ast.Import):
            found += [a.name.removeprefix("haven_pipelines.") for a in node.names if a.name.startswith("haven_pipelines.")]
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_down(layer):
    problems = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in _imports(path):
            target = module.split(".")[0]
            if target == layer or module in ALLOWED[layer] or target in ALLOWED[layer]:
                continue
            problems.append(f"{path.relative_to(PACKAGE)} imports haven_pipelines.{module}")
    assert problems == []


def test_only_definitions_imports_defs():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parts[len(PACKAGE.parts)] not in ("defs", "definitions.py")
        and any(m.split(".")[0] == "defs" for m in _imports(path))
    ]
    assert offenders == []


# People-facing code calls services; the stores and tables are the services' business.
# Nothing in the CLI is excepted (kept as a set so that an exception would be explicit and visible).
CLI_MAY_STILL_READ_STORES: set[str] = set()


def _names(path: Path) -> list[str]:
    """Every haven_pipelines module a file imports, ``from haven_pipelines.db import tables`` as db.tables."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("haven_pipelines"):
            module = node.module.removeprefix("haven_pipelines").lstrip(".")
            names += [module] + [f"{module}.{a.name}".lstrip(".") for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name.removeprefix("haven_pipelines.") for a in node.names if a.name.startswith("haven_pipelines.")]
    return names


def _reaches_into_db(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in ("db.stores", "db.tables"))


def test_cli_calls_services_not_stores():
    offenders = sorted(
        f"{path.relative_to(PACKAGE).as_posix()} imports haven_pipelines.{module}"
        for path in (PACKAGE / "cli").rglob("*.py")
        if path.relative_to(PACKAGE).as_posix() not in CLI_MAY_STILL_READ_STORES
        for module in _names(path)
        if _reaches_into_db(module)
    )
    assert offenders == []


def test_the_cli_rule_sees_every_spelling_of_the_import(tmp_path):
    spellings = {
        "a.py": "from haven_pipelines.db.stores.mockups import MockupStore\n",
        "b.py": "from haven_pipelines.db import tables\n",
        "c.py": "import haven_pipelines.db.tables\n",
        "d.py": "def f():\n    from haven_pipelines.db.stores import users\n",
        "ok.py": "from haven_pipelines.services.mockups import list_mockups\nfrom haven_pipelines.db.engine import redact_url\n",
    }
    flagged = set()
    for name, source in spellings.items():
        (tmp_path / name).write_text(source)
        if any(_reaches_into_db(m) for m in _names(tmp_path / name)):
            flagged.add(name)
    assert flagged == {"a.py", "b.py", "c.py", "d.py"}
