"""The reliability report: a session-wide collector of scenario records and the RELIABILITY.md renderer.

Each reliability scenario calls the ``reliability_record`` fixture (see ``conftest.py`` beside this
module) once its assertions pass::

    reliability_record(section, scenario, injected, behaviour, invariants, figures)

At the end of a session that ran the *whole* reliability folder and passed, the records are rendered
into ``RELIABILITY.md`` at the project root: written when ``HAVEN_WRITE_RELIABILITY=1``, otherwise
compared with the committed file, and the run fails when they differ. That keeps the file true: it is
what the suite last proved, never prose written once by hand.

The text is deterministic (no dates, records sorted). Two conventions for figures:

- A figure whose name ends in a measurement unit (:data:`MEASURED_SUFFIXES`: ``_ms``, ``_s``,
  ``_mib``, ``_per_s`` ...) varies from run to run: it is shown to two significant digits as the
  generating run measured it, marked ``(measured)``, and :func:`comparable` blanks it, so the check
  compares everything else exactly. (Bucketing timings instead would still flip at a boundary and
  fail CI for nothing.)
- Other floats are rounded to two decimals; ints and strings are shown as given.

The totals read these figure names when a record gives them: ``faults_injected`` (default: 1 for a
scenario in a section whose name contains "fault", else 0), ``bad_inputs``, ``renders_verified``,
``publishes_verified`` and ``lost`` (must sum to 0; the renderer refuses to hide a loss).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT_PATH = ROOT / "RELIABILITY.md"
WRITE_ENV = "HAVEN_WRITE_RELIABILITY"
MEASURED_SUFFIXES = ("_ms", "_s", "_seconds", "_mb", "_mib", "_kb", "_bytes_peak", "_per_s", "_per_second")

Figure = int | float | str


@dataclass(frozen=True)
class Record:
    """One scenario's entry in the report."""

    section: str
    scenario: str
    injected: str
    behaviour: str
    invariants: tuple[str, ...]
    figures: tuple[tuple[str, Figure], ...]

    def figure(self, name: str, default: int = 0) -> int:
        """An integer figure by name (``default`` when absent or not a number)."""
        value = dict(self.figures).get(name, default)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def make_record(
    section: str,
    scenario: str,
    injected: str,
    behaviour: str,
    invariants: list[str],
    figures: dict[str, Figure],
) -> Record:
    """Validate the arguments of ``reliability_record`` and freeze them into a :class:`Record`.

    Raises:
        ValueError: an empty text, no invariant, or a figure that is not an int, float or str.
    """
    for name, value in (("section", section), ("scenario", scenario), ("injected", injected), ("behaviour", behaviour)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"reliability_record: {name} must be a non-empty string")
    if not invariants or not all(isinstance(i, str) and i.strip() for i in invariants):
        raise ValueError("reliability_record: invariants must be a non-empty list of strings")
    for key, value in figures.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"reliability_record: figure {key!r} must be an int, float or str, got {type(value).__name__}")
    return Record(
        section=section.strip(),
        scenario=scenario.strip(),
        injected=injected.strip(),
        behaviour=behaviour.strip(),
        invariants=tuple(i.strip() for i in invariants),
        figures=tuple(sorted(figures.items())),
    )


@dataclass
class Collector:
    """The session's records (identical duplicates, e.g. from a parametrised test, count once)."""

    records: set[Record] = field(default_factory=set)

    def add(self, record: Record) -> None:
        """Keep ``record``."""
        self.records.add(record)

    def sorted(self) -> list[Record]:
        """Records in report order: section, scenario, then the rest (so the text never depends on run order)."""
        return sorted(self.records, key=lambda r: (r.section.lower(), r.scenario.lower(), repr(r)))


def is_measured(name: str) -> bool:
    """Whether a figure is a measurement that varies from run to run (by its name's unit suffix)."""
    return name.endswith(MEASURED_SUFFIXES)


def format_figure(name: str, value: Figure) -> str:
    """How a figure appears in the report (see the module docstring for the conventions)."""
    if isinstance(value, str):
        return value
    if is_measured(name):
        if value == 0:
            return "0 (measured)"
        digits = max(0, 1 - math.floor(math.log10(abs(value))))
        return f"{round(value, digits):.{digits}f} (measured)"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def totals(records: list[Record]) -> dict[str, int]:
    """The report's totals over ``records``."""
    faults = 0
    for r in records:
        default = 1 if "fault" in r.section.lower() else 0
        faults += r.figure("faults_injected", default)
    return {
        "scenarios run": len(records),
        "faults injected": faults,
        "bad inputs tried": sum(r.figure("bad_inputs") for r in records),
        "renders verified": sum(r.figure("renders_verified") for r in records),
        "publishes verified": sum(r.figure("publishes_verified") for r in records),
        "anything lost": sum(r.figure("lost") for r in records),
    }


_MEASURED_ROW = re.compile(r"^\| (?P<name>[^|]+) \| (?P<value>.*) \(measured\) \|$")


def comparable(text: str) -> str:
    """``text`` with every measured figure's value blanked: what the check compares."""
    return "\n".join(_MEASURED_ROW.sub(r"| \g<name> | ~ (measured) |", line) for line in text.splitlines())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(records: list[Record]) -> str:
    """RELIABILITY.md's text for ``records`` (already sorted)."""
    sums = totals(records)
    lines = [
        "# Reliability report",
        "",
        "Generated by the reliability suite (`haven_pipelines_tests/reliability/`), not written by hand.",
        "Every run of the whole folder compares this file with what it proved and fails when they differ;",
        f"regenerate with `{WRITE_ENV}=1 .venv/bin/python -m pytest haven_pipelines_tests/reliability -q`.",
        "Every scenario ran on PostgreSQL against the local fakes (Dynamic Mockups, Shopify, S3) unless it says otherwise.",
        "Figures marked (measured) are timings and memory of the run that generated this file; they vary",
        "from run to run, so the check compares every other line exactly and those only by name.",
        "",
        "## Totals",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {value} |" for name, value in sums.items()]
    current = None
    for r in records:
        if r.section != current:
            current = r.section
            lines += ["", f"## {r.section[:1].upper()}{r.section[1:]}", ""]
        lines += [f"### {r.scenario}", "", f"- **Injected:** {r.injected}", f"- **What the system did:** {r.behaviour}",
                  "- **Invariants checked:**"]
        lines += [f"  - {i}" for i in r.invariants]
        if r.figures:
            lines += ["", "| figure | value |", "| --- | --- |"]
            lines += [f"| {_cell(k)} | {_cell(format_figure(k, v))} |" for k, v in r.figures]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def lost_total(records: list[Record]) -> int:
    """Sum of the ``lost`` figures (must be zero)."""
    return totals(records)["anything lost"]
