"""The operator commands go through services, and the README's command table lists each with its options."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from haven_pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_GROUPS = ("settings", "pricing", "approvals", "products", "credits")


@pytest.mark.parametrize("group", OPERATOR_GROUPS)
def test_operator_commands_reach_the_database_only_through_services(group):
    tree = ast.parse((ROOT / "haven_pipelines" / "cli" / f"{group}.py").read_text())
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in modules if m.startswith("haven_pipelines.db")] == []


def _table_rows() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## The `haven` command", 1)[1].split("\n\n", 2)[1]
    return [line for line in table.splitlines() if line.startswith("| `haven ")]


@pytest.mark.parametrize("group", OPERATOR_GROUPS)
def test_readme_lists_every_operator_command_with_its_options(group):
    rows = _table_rows()
    command_group = main.commands[group]
    assert isinstance(command_group, click.Group)
    for name, command in command_group.commands.items():
        matching = [r for r in rows if r.startswith(f"| `haven {group} {name} ") or r.startswith(f"| `haven {group} {name}`")]
        assert matching, f"README has no row for haven {group} {name}"
        row = " ".join(matching)
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("user_ref",):
                assert any(opt in row for opt in param.opts), f"README row of haven {group} {name} misses {param.opts}"
