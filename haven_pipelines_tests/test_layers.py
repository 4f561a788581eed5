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
