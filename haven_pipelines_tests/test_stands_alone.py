"""A clone of the project stands alone: nothing in it reads the folder that sits beside the project.

A developer's checkout may have a sibling ``shared/`` folder (the design notes and Shopify's schema);
a user's clone does not, so no file under the package or its tests may name it. The schema the code
and the tests use is the copy the package ships.
"""

from __future__ import annotations

import re
from pathlib import Path

from haven_pipelines.integrations.shopify.schema import schema_path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("haven_pipelines", "haven_pipelines_tests")
# Built from pieces so that this file does not match itself.
SIBLING = "sha" + "red"
PATTERNS = [
    re.compile(r"\.\./" + SIBLING + r"\b"),  # a relative path up to the sibling folder
    re.compile(r"parents?\[\d\]\s*/\s*['\"]" + SIBLING + r"['\"]"),  # a path built from parents[N]
    re.compile(r"\.parent\s*/\s*['\"]" + SIBLING + r"['\"]"),  # a path built from .parent
]


def offending_lines(root: Path) -> list[str]:
    """``path:line: text`` for every line under ``root``'s package folders that names the sibling folder."""
    found = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix not in {".py", ".md", ".json", ".ini", ".mako", ".yaml", ".txt", ".toml"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if any(p.search(line) for p in PATTERNS):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_file_refers_to_the_folder_beside_the_project():
    assert offending_lines(PROJECT_ROOT) == []


def test_the_scan_finds_a_reference_when_one_is_there(tmp_path):
    bad = tmp_path / "haven_pipelines" / "mod.py"
    bad.parent.mkdir()
    bad.write_text('SCHEMA = ROOT.parent / "' + SIBLING + '" / "shopify"\nother = "../' + SIBLING + '/x"\n')
    (tmp_path / "haven_pipelines_tests").mkdir()
    assert [line.split(":")[1] for line in offending_lines(tmp_path)] == ["1", "2"]


def test_the_schema_is_the_copy_inside_the_package(monkeypatch):
    monkeypatch.delenv("HAVEN_SHOPIFY_SCHEMA", raising=False)
    path = schema_path()
    assert path.is_file()
    assert path.parent == PROJECT_ROOT / "haven_pipelines" / "config" / "shopify"
