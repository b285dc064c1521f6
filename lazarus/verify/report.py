"""A run's results written out: JSON rows and JUnit XML for machines, a summary table for people.

rich is imported only inside `print_summary`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazarus.verify.results import OUTCOMES, CaseResult, Outcome, PartResult, ValidationRun, combine_outcomes

# --------------------------------------------------------------------------- machines


def write_json(run: ValidationRun, path: str | Path) -> None:
    """One row per part, in run order."""
    rows = [part.to_json() for part in run.parts]
    Path(path).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def junit_tree(run: ValidationRun) -> ET.ElementTree[ET.Element]:
    """One testsuite; one testcase per entry x snippet x device."""
    cases = run.cases()
    counts = {o: sum(1 for c in cases if c.outcome == o) for o in OUTCOMES}
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="lazarus-validate",
        tests=str(len(cases)),
        failures=str(counts["failed"]),
        skipped=str(counts["skipped"]),
        errors="0",
        time=f"{run.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="torch", value=run.environment.torch)
    for note in run_notes(run):
        ET.SubElement(properties, "property", name="note", value=note)
    for case in cases:
        suite.append(_testcase(case))
    return ET.ElementTree(suites)


def _testcase(case: CaseResult) -> ET.Element:
    element = ET.Element(
        "testcase",
        classname=case.entry_id,
        name=f"snippet {case.snippet} [{case.device}]",
        time=f"{case.duration:.3f}",
    )
    outcome = case.outcome
    if outcome == "failed":
        failure = ET.SubElement(element, "failure", message="; ".join(case.reasons("failed")))
        failure.text = "\n\n".join(
            f"[{p.part}] {p.reason}\n{p.details}".rstrip() for p in case.parts if p.outcome == "failed"
        )
    elif outcome == "skipped":
        ET.SubElement(element, "skipped", message="; ".join(case.reasons("skipped")))
    notes = [f"[{p.part}] {p.outcome}: {p.reason}" for p in case.parts if p.reason]
    if notes:
        ET.SubElement(element, "system-out").text = "\n".join(notes)
    return element


def write_junit(run: ValidationRun, path: str | Path) -> None:
    tree = junit_tree(run)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------- people


@dataclass
class Row:
    """One line of the summary table: an entry on a device."""

    entry_id: str
    device: str
    outcome: Outcome
    reason: str
    parts: list[PartResult] = field(default_factory=list)


def summary_rows(run: ValidationRun) -> list[Row]:
    """One row per entry and device, failures first."""
    rows: dict[tuple[str, str], Row] = {}
    snippet_counts = {entry.id: len(entry.snippets) for entry in run.entries}
    for part in run.parts:
        row = rows.setdefault((part.entry_id, part.device), Row(part.entry_id, part.device, "skipped", ""))
        row.parts.append(part)
    for row in rows.values():
        row.outcome = combine_outcomes(p.outcome for p in row.parts)
        # A passed row still tells what was skipped (a broken part that cannot be reproduced).
        wanted = row.outcome if row.outcome != "passed" else "skipped"
        row.reason = row_reason([p for p in row.parts if p.outcome == wanted], snippet_counts.get(row.entry_id, 1))
    rank = {"failed": 0, "skipped": 1, "passed": 2}
    return sorted(rows.values(), key=lambda r: rank[r.outcome])


def row_reason(parts: Sequence[PartResult], snippet_count: int) -> str:
    """The parts' reasons, each once, prefixed with its snippets unless every snippet shares it."""
    snippets_by_reason: dict[str, set[int]] = {}
    for part in parts:
        if part.reason:
            snippets_by_reason.setdefault(part.reason, set()).add(part.snippet)
    pieces = []
    for reason, snippets in snippets_by_reason.items():
        if snippet_count == 1 or len(snippets) == snippet_count:
            pieces.append(reason)
        else:
            pieces.append(" ".join(f"#{n}" for n in sorted(snippets)) + " " + reason)
    return "; ".join(pieces)


def print_summary(run: ValidationRun, console: Any) -> None:
    """The table, then each failure's details, then the counts, on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    style = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
    table = Table(title=f"lazarus validate: torch {run.environment.torch}", title_justify="left")
    for column in ("entry", "device", "outcome", "reason"):
        table.add_column(column, overflow="fold")
    for row in summary_rows(run):
        table.add_row(escape(row.entry_id), row.device, f"[{style[row.outcome]}]{row.outcome}[/]", escape(row.reason))
    console.print(table)
    for part in run.parts:
        if part.outcome == "failed" and part.details:
            console.rule(escape(f"{part.entry_id} snippet {part.snippet} [{part.device}] {part.part}"))
            console.print(part.reason, markup=False, highlight=False)
            console.print(_last_lines(part.details, 15), markup=False, highlight=False, style="dim")
    counts = run.counts()
    entries = len(run.entries)
    for note in run_notes(run):
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(
        f"{entries} entries, {len(run.parts)} checks: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped in {run.duration:.1f} s",
        highlight=False,
    )


def run_notes(run: ValidationRun) -> list[str]:
    """What a reader of the results must know beside them: an interruption, what was not contained."""
    notes = list(run.environment.notes)
    if run.interrupted:
        notes.append(f"interrupted by {run.interrupted}: only the checks listed ran")
    return notes


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])
