"""`lazarus validate`: prove under the installed torch that every documented error still happens and
every fix still works.

Each entry's snippets are checked per device: `broken` must raise the documented exception with a
message one of the entry's signatures matches (or, for a silent failure, run to the end with its
symptom asserts holding), and `fixed` must run cleanly. Every part runs in its own forked child of
a fork server (`lazarus.verify.sandbox`), so a crash or hang ends only that part. Results go to the
terminal (progress bar and summary table), to JSON and JUnit files, and to verification records
(`lazarus.kb.records`).

The CLI calls `validate_command`; tests and tools can call `run_validation` directly.
"""

from __future__ import annotations

import ast
import datetime
import importlib.util
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lazarus.kb.load import load_kb
from lazarus.kb.records import Record, public_version, record_path, version_tuple, write_records
from lazarus.model import Entry, Snippet
from lazarus.settings import builtin_kb_dir, user_kb_dirs
from lazarus.verify.sandbox import DEFAULT_MEMORY_CAP, Job, Outcome, SandboxError, SandboxServer

DEVICE_CHOICES = ("cpu", "cuda", "all")
PARTS = ("broken", "fixed")
OUTCOMES = ("passed", "failed", "skipped")
MESSAGE_SHOWN = 200
PROBE_TIMEOUT_S = 120.0


class UsageError(Exception):
    """A request the validator cannot act on: unknown id or tag, CUDA asked for but absent."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PartResult:
    """The verdict on one part (`broken` or `fixed`) of one snippet on one device."""

    entry_id: str
    snippet: int
    device: str
    part: str
    outcome: str
    reason: str = ""
    duration: float = 0.0
    details: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.entry_id,
            "snippet": self.snippet,
            "device": self.device,
            "part": self.part,
            "outcome": self.outcome,
            "reason": self.reason,
            "duration": round(self.duration, 3),
        }
        if self.details:
            data["details"] = self.details
        return data


@dataclass(frozen=True)
class CaseResult:
    """One entry x snippet x device: the unit of a JUnit testcase."""

    entry_id: str
    snippet: int
    device: str
    parts: tuple[PartResult, ...]

    @property
    def outcome(self) -> str:
        return combine_outcomes(p.outcome for p in self.parts)

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.parts)

    def reasons(self, outcome: str) -> list[str]:
        return unique(p.reason for p in self.parts if p.outcome == outcome and p.reason)


@dataclass(frozen=True)
class Environment:
    """The torch this run validated against, and what CUDA it could use."""

    torch: str
    cuda: str | None = None
    cuda_available: bool = False
    gpu: str | None = None
    cuda_problem: str = ""


@dataclass(frozen=True)
class ValidationRun:
    entries: tuple[Entry, ...]
    devices: tuple[str, ...]
    environment: Environment
    parts: tuple[PartResult, ...]
    duration: float

    @property
    def failed(self) -> bool:
        return any(p.outcome == "failed" for p in self.parts)

    def cases(self) -> list[CaseResult]:
        grouped: dict[tuple[str, int, str], list[PartResult]] = {}
        for part in self.parts:
            grouped.setdefault((part.entry_id, part.snippet, part.device), []).append(part)
        return [CaseResult(eid, i, dev, tuple(parts)) for (eid, i, dev), parts in grouped.items()]

    def entry_outcome(self, entry_id: str, device: str) -> str:
        """failed if any check failed, skipped if all were skipped, else passed."""
        return combine_outcomes(p.outcome for p in self.parts if p.entry_id == entry_id and p.device == device)

    def counts(self) -> dict[str, int]:
        return {o: sum(1 for p in self.parts if p.outcome == o) for o in OUTCOMES}


def combine_outcomes(outcomes: Iterable[str]) -> str:
    seen = set(outcomes)
    if "failed" in seen:
        return "failed"
    if not seen or seen == {"skipped"}:
        return "skipped"
    return "passed"


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- selection and skips


def select_entries(entries: Sequence[Entry], ids: Sequence[str], tag: str | None) -> list[Entry]:
    """The entries named by id (all when none), narrowed to a tag; UsageError when nothing fits."""
    by_id = {entry.id: entry for entry in entries}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise UsageError(f"unknown entry id: {', '.join(unknown)}")
    chosen = [by_id[i] for i in unique(ids)] if ids else list(entries)
    if tag is not None:
        chosen = [entry for entry in chosen if tag in entry.tags]
        if not chosen:
            raise UsageError(f"no entry has the tag {tag!r}" + (" among the given ids" if ids else ""))
    if not chosen:
        raise UsageError("no entries to validate")
    return chosen


def devices_for(choice: str) -> tuple[str, ...]:
    if choice not in DEVICE_CHOICES:
        raise UsageError(f"unknown device {choice!r}: use one of {', '.join(DEVICE_CHOICES)}")
    return ("cpu", "cuda") if choice == "all" else (choice,)


def version_allows(spec: str, version: str) -> bool:
    """Whether `version` satisfies a specifier such as `>=2.0,<2.6` (numeric release parts only)."""
    have = version_tuple(version)
    for clause in spec.split(","):
        match = re.match(r"^\s*(==|!=|>=|<=|>|<)\s*([\d.]+)\s*$", clause)
        if match is None:
            continue
        op, wanted = match.group(1), version_tuple(match.group(2))
        width = max(len(have), len(wanted))
        left, right = _pad(have, width), _pad(wanted, width)
        if not _compare(op, left, right):
            return False
    return True


def _pad(numbers: tuple[int, ...], width: int) -> tuple[int, ...]:
    return numbers + (0,) * (width - len(numbers))


def _compare(op: str, left: tuple[int, ...], right: tuple[int, ...]) -> bool:
    return {
        "==": left == right,
        "!=": left != right,
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]


def module_available(name: str) -> bool:
    """Whether a module can be found, without importing it (only its parent packages)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def skip_reason(snippet: Snippet, device: str, env: Environment) -> str | None:
    """Why this snippet cannot be checked on this device here, or None when it can."""
    if device not in snippet.devices:
        return f"snippet is for {', '.join(snippet.devices)} only, not {device}"
    if device == "cuda" and not env.cuda_available:
        return f"cuda requested but not available ({env.cuda_problem or 'no CUDA device'})"
    if snippet.torch and not version_allows(snippet.torch, env.torch):
        return f"claim holds for torch {snippet.torch}; installed {public_version(env.torch)}"
    for module in snippet.requires:
        if not module_available(module):
            return f"requires {module}, not installed"
    return None


# --------------------------------------------------------------------------- judging outcomes


def first_line(text: str, limit: int = MESSAGE_SHOWN) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def judge_broken(entry: Entry, snippet: Snippet, outcome: Outcome, memory_cap: int | None) -> tuple[str, str]:
    """(outcome, reason) for a `broken` run: it must show the documented failure."""
    if outcome.status in ("timeout", "crashed"):
        return "failed", abnormal_reason("broken", outcome)
    if snippet.raises:
        return _judge_raising(entry, snippet.raises, outcome, memory_cap)
    if outcome.status == "ok":
        return "passed", "symptom asserts held"
    if outcome.exc_type == "AssertionError":
        return "failed", f"broken: symptom assert failed: {assert_text(outcome)}"
    if outcome.memory_error:
        return "failed", memory_reason("broken", outcome, memory_cap)
    return "failed", f"broken raised {outcome.exc_type}: {first_line(outcome.message)}"


def _judge_raising(entry: Entry, expected: str, outcome: Outcome, memory_cap: int | None) -> tuple[str, str]:
    if outcome.status == "ok":
        return "failed", "broken ran without error"
    text = f"{outcome.exc_type}: {outcome.message}"
    type_ok = expected in outcome.exc_mro
    matched = next((i for i, sig in enumerate(entry.signatures) if signature_matches(sig, text)), None)
    if type_ok and matched is not None:
        return "passed", f"raised {outcome.exc_type}, matched signature {matched}"
    if outcome.memory_error:
        return "failed", memory_reason("broken", outcome, memory_cap)
    if not type_ok:
        return (
            "failed",
            f"broken raised {outcome.exc_type}, expected {expected}: {first_line(outcome.message)}",
        )
    if not entry.signatures:
        return "failed", f"broken raised {outcome.exc_type} but the entry has no signatures to match"
    return (
        "failed",
        f"broken raised {outcome.exc_type} but no signature matched: {first_line(outcome.message)}",
    )


def signature_matches(signature: str, text: str) -> bool:
    try:
        return re.search(signature, text) is not None
    except re.error:
        return False


def judge_fixed(outcome: Outcome, memory_cap: int | None) -> tuple[str, str]:
    """(outcome, reason) for a `fixed` run: it must end cleanly."""
    if outcome.status in ("timeout", "crashed"):
        return "failed", abnormal_reason("fixed", outcome)
    if outcome.status == "ok":
        return "passed", ""
    if outcome.memory_error:
        return "failed", memory_reason("fixed", outcome, memory_cap)
    if outcome.exc_type == "AssertionError":
        return "failed", f"fixed raised AssertionError: {assert_text(outcome)}"
    return "failed", f"fixed raised {outcome.exc_type}: {first_line(outcome.message)}"


def assert_text(outcome: Outcome) -> str:
    """The assert's message, or the failing line when the assert has none."""
    message = first_line(outcome.message)
    if message and outcome.where:
        return f"{message} ({outcome.where})"
    return message or outcome.where or "assert failed"


def abnormal_reason(part: str, outcome: Outcome) -> str:
    if outcome.status == "timeout":
        return f"{part} {outcome.detail}" if outcome.detail else f"{part} timed out"
    if outcome.signal:
        hint = " (out of memory?)" if outcome.signal == "SIGKILL" else ""
        return f"{part} crashed: killed by signal {outcome.signal}{hint}"
    if outcome.exit_code is not None:
        return f"{part} crashed: exited with status {outcome.exit_code} before the snippet finished"
    return f"{part} crashed: {outcome.detail or 'no report'}"


def memory_reason(part: str, outcome: Outcome, memory_cap: int | None) -> str:
    cap = f" ({format_bytes(memory_cap)})" if memory_cap else ""
    return f"{part} exceeded memory cap{cap}: {outcome.exc_type}: {first_line(outcome.message)}"


def format_bytes(count: int) -> str:
    gib = count / 1024**3
    return f"{gib:g} GiB" if gib >= 1 else f"{count / 1024**2:g} MiB"


def failure_details(outcome: Outcome) -> str:
    pieces = []
    if outcome.traceback.strip():
        pieces.append(outcome.traceback.rstrip())
    if outcome.output.strip():
        pieces.append("--- output (tail) ---\n" + outcome.output.rstrip())
    return "\n".join(pieces)


# --------------------------------------------------------------------------- planning and running


@dataclass(frozen=True)
class PendingPart:
    entry: Entry
    snippet_index: int
    device: str
    part: str
    job: Job


def plan_checks(
    entries: Sequence[Entry], devices: Sequence[str], env: Environment, memory_cap: int | None
) -> tuple[list[PartResult], list[PendingPart]]:
    """Decide every check: the skipped ones get their result now, the rest become jobs."""
    skipped: list[PartResult] = []
    pending: list[PendingPart] = []
    for entry in entries:
        for index, snippet in enumerate(entry.snippets):
            for device in devices:
                reason = skip_reason(snippet, device, env)
                for part in PARTS:
                    code = snippet.broken if part == "broken" else snippet.fixed
                    why = reason or _part_skip_reason(snippet, part, code)
                    if why:
                        skipped.append(PartResult(entry.id, index, device, part, "skipped", why))
                        continue
                    assert code is not None
                    job = Job(code, device, snippet.timeout, memory_cap, name=f"{entry.id}-{index}-{part}")
                    pending.append(PendingPart(entry, index, device, part, job))
    return skipped, pending


def _part_skip_reason(snippet: Snippet, part: str, code: str | None) -> str | None:
    if part == "broken" and not snippet.reproducible:
        return f"broken not run: not reproducible ({snippet.reason or 'no reason given'})"
    if code is None:
        return f"{part} not given"
    return None


def judge(pending: PendingPart, outcome: Outcome) -> PartResult:
    snippet = pending.entry.snippets[pending.snippet_index]
    cap = pending.job.memory_cap
    if pending.part == "broken":
        verdict, reason = judge_broken(pending.entry, snippet, outcome, cap)
    else:
        verdict, reason = judge_fixed(outcome, cap)
    details = failure_details(outcome) if verdict == "failed" else ""
    return PartResult(
        entry_id=pending.entry.id,
        snippet=pending.snippet_index,
        device=pending.device,
        part=pending.part,
        outcome=verdict,
        reason=reason,
        duration=outcome.duration,
        details=details,
    )


class SandboxPool:
    """One fork server running up to `slots` parts at a time."""

    def __init__(self, slots: int) -> None:
        self.server = SandboxServer(slots=slots)

    def __enter__(self) -> SandboxPool:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()

    @property
    def torch_version(self) -> str:
        return self.server.info.torch

    def probe_cuda(self) -> Environment:
        """Ask a child (never the server: CUDA does not survive fork) what CUDA it can use."""
        info = self.server.info
        outcome = self.server.run(Job(code="", kind="probe", timeout=PROBE_TIMEOUT_S, memory_cap=None))
        value = outcome.value or {}
        available = bool(value.get("available"))
        problem = ""
        if outcome.status != "ok":
            problem = "the CUDA probe " + abnormal_reason("probe", outcome).removeprefix("probe ")
        elif not available:
            problem = value.get("error") or (
                f"torch {info.torch} is built without CUDA" if not info.cuda else "no CUDA device found"
            )
        return Environment(info.torch, info.cuda, available, value.get("gpu"), problem)

    def run_all(self, pending: Sequence[PendingPart], on_result: Callable[[PartResult], None]) -> None:
        """Run every pending part, keeping every slot busy; `on_result` gets each verdict."""
        by_id: dict[int, PendingPart] = {}
        waiting = list(reversed(pending))
        while waiting or by_id:
            while waiting and self.server.in_flight < self.server.slots:
                item = waiting.pop()
                try:
                    by_id[self.server.submit(item.job)] = item
                except SandboxError as exc:
                    on_result(judge(item, Outcome(status="crashed", detail=f"sandbox failure: {exc}")))
            for job_id, outcome in self.server.collect():
                on_result(judge(by_id.pop(job_id), outcome))


def memory_cap_from_env() -> int | None:
    """The per-part memory cap: `LAZARUS_VALIDATE_MEMORY_GB` (0 turns it off), else 4 GiB."""
    raw = os.environ.get("LAZARUS_VALIDATE_MEMORY_GB", "").strip()
    if not raw:
        return DEFAULT_MEMORY_CAP
    try:
        gib = float(raw)
    except ValueError:
        raise UsageError(f"LAZARUS_VALIDATE_MEMORY_GB={raw!r} is not a number of GiB") from None
    return int(gib * 1024**3) if gib > 0 else None


def run_validation(
    entries: Sequence[Entry],
    device: str = "cpu",
    jobs: int = 0,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[PartResult], None] | None = None,
    memory_cap: int | None = DEFAULT_MEMORY_CAP,
) -> ValidationRun:
    """Validate the entries on `device` (cpu, cuda or all), `jobs` parts at a time (0: one per CPU).

    `memory_cap` is in bytes above what a child starts with (None: no cap). Raises UsageError
    when `device` is cuda and CUDA is not available, SandboxError when the sandbox cannot start
    (torch not importable).
    """
    started = time.monotonic()
    devices = devices_for(device)
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    slots = max(1, min(jobs, _upper_bound(entries, devices)))
    with SandboxPool(slots) as pool:
        env = pool.probe_cuda() if "cuda" in devices else Environment(pool.torch_version)
        if device == "cuda" and not env.cuda_available:
            raise UsageError(f"--device cuda: CUDA is not available ({env.cuda_problem})")
        skipped, pending = plan_checks(entries, devices, env, memory_cap)
        results = list(skipped)
        if on_start is not None:
            on_start(len(pending))
        if pending:
            pool.server.preload(preload_hints(p.job.code for p in pending))
            pool.run_all(pending, lambda r: _collect(r, results, on_result))
    order = {entry.id: n for n, entry in enumerate(entries)}
    results.sort(key=lambda r: (order[r.entry_id], r.snippet, devices.index(r.device), PARTS.index(r.part)))
    return ValidationRun(tuple(entries), devices, env, tuple(results), time.monotonic() - started)


# Code whose first use imports much more than its module: seconds, better paid once by the
# server than by every child. Creating any torch.optim optimizer imports torch._dynamo.
LAZY_IMPORTS = {"optim": "torch._dynamo", "torch.compile": "torch._inductor.compile_fx"}


def preload_hints(codes: Iterable[str]) -> list[str]:
    """The modules the snippets import, for the server to import once before forking them."""
    modules: set[str] = set()
    for code in codes:
        modules |= imported_modules(code)
        modules |= {module for call, module in LAZY_IMPORTS.items() if call in code}
    return sorted(modules)


def imported_modules(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _upper_bound(entries: Sequence[Entry], devices: Sequence[str]) -> int:
    """How many parts might run, counted before torch is imported, to size the pool."""
    return sum((2 if s.reproducible else 1) for e in entries for s in e.snippets for d in devices if d in s.devices)


def _collect(result: PartResult, results: list[PartResult], on_result: Callable[[PartResult], None] | None) -> None:
    results.append(result)
    if on_result is not None:
        on_result(result)


# --------------------------------------------------------------------------- machine output


def write_json(run: ValidationRun, path: str | Path) -> None:
    rows = [part.to_json() for part in run.parts]
    Path(path).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def junit_tree(run: ValidationRun) -> ET.ElementTree:
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


# --------------------------------------------------------------------------- records


def kb_root(entry: Entry, user_dirs: Sequence[Path], builtin: Path) -> Path:
    """The KB folder an entry was loaded from, whose `verified/` holds its records."""
    if entry.builtin:
        return builtin
    path = Path(entry.path).resolve()
    for directory in user_dirs:
        if path.is_relative_to(Path(directory).resolve()):
            return Path(directory)
    return path.parent


def build_records(run: ValidationRun, device: str, today: str | None = None) -> list[Record]:
    env = run.environment
    date = today or datetime.date.today().isoformat()
    on_cuda = device == "cuda"
    return [
        Record(
            entry_id=entry.id,
            outcome=run.entry_outcome(entry.id, device),
            date=date,
            torch=public_version(env.torch),
            device=device,
            cuda=env.cuda if on_cuda else None,
            gpu=env.gpu if on_cuda else None,
        )
        for entry in run.entries
    ]


def write_run_records(run: ValidationRun, user_dirs: Sequence[Path], builtin: Path) -> list[Path]:
    """One record file per KB folder and validated device; a device that was absent gets none."""
    written: list[Path] = []
    for device in run.devices:
        if device == "cuda" and not run.environment.cuda_available:
            continue
        by_root: dict[Path, list[Record]] = {}
        roots = {entry.id: kb_root(entry, user_dirs, builtin) for entry in run.entries}
        for record in build_records(run, device):
            by_root.setdefault(roots[record.entry_id], []).append(record)
        for root, records in by_root.items():
            written.append(write_records(record_path(root, run.environment.torch, device), records))
    return written


# --------------------------------------------------------------------------- people output


@dataclass
class Row:
    entry_id: str
    device: str
    outcome: str
    reason: str
    parts: list[PartResult] = field(default_factory=list)


def summary_rows(run: ValidationRun) -> list[Row]:
    """One row per entry and device, failures first."""
    rows: dict[tuple[str, str], Row] = {}
    snippet_counts = {entry.id: len(entry.snippets) for entry in run.entries}
    for part in run.parts:
        row = rows.setdefault((part.entry_id, part.device), Row(part.entry_id, part.device, "", ""))
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
    console.print(
        f"{entries} entries, {len(run.parts)} checks: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped in {run.duration:.1f} s",
        highlight=False,
    )


def _last_lines(text: str, count: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


def validate_command(
    ids: list[str],
    tag: str | None,
    device: str,
    jobs: int,
    json_path: str | None,
    junit_path: str | None,
    kb_dirs: list[str],
    record: bool,
) -> int:
    """`lazarus validate`: 0 when nothing failed, 1 when a check failed, 2 for a usage error or
    records that cannot be written."""
    from rich.console import Console

    out, err = Console(), Console(stderr=True)
    user_dirs = user_kb_dirs(kb_dirs)
    builtin = builtin_kb_dir()
    loaded = load_kb(user_dirs, builtin)
    if loaded.problems:
        err.print(
            f"[yellow]warning:[/] {len(loaded.problems)} KB problems; those entries are not validated "
            "(run `lazarus kb check`)"
        )
    try:
        for option, target in (("--json", json_path), ("--junit", junit_path)):
            if target and not Path(target).resolve().parent.is_dir():
                raise UsageError(f"{option} {target}: its folder does not exist")
        devices_for(device)
        entries = select_entries(loaded.entries, ids, tag)
        run = _run_with_progress(entries, device, jobs, memory_cap_from_env(), err)
    except UsageError as exc:
        err.print(f"lazarus: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except SandboxError as exc:
        err.print(f"lazarus: cannot start the sandbox: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    print_summary(run, out)
    if json_path:
        write_json(run, json_path)
    if junit_path:
        write_junit(run, junit_path)
    if record:
        try:
            written = write_run_records(run, user_dirs, builtin)
        except OSError as exc:  # a read-only install, a full disk, a file where verified/ should be
            where = exc.filename or "the records"
            message = f"lazarus: --record: cannot write {where}: {exc.strerror or exc}"
            err.print(message, markup=False, highlight=False, soft_wrap=True)
            return 2
        for path in written:
            err.print(f"recorded {path}", markup=False, highlight=False, soft_wrap=True)
    return 1 if run.failed else 0


def _run_with_progress(
    entries: Sequence[Entry], device: str, jobs: int, memory_cap: int | None, console: Any
) -> ValidationRun:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Off a terminal a live bar only adds blank lines to a log.
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"starting sandbox for {len(entries)} entries", total=None)

        def started(total: int) -> None:
            progress.update(task, total=total, description=f"validating {len(entries)} entries")

        def finished(result: PartResult) -> None:
            progress.advance(task)
            # Live failure lines help during a long run on a terminal; a log gets them once, below.
            if result.outcome == "failed" and console.is_terminal:
                where = escape(f"{result.entry_id} #{result.snippet} [{result.device}] {result.reason}")
                progress.console.print(f"[red]✗[/] {where}", highlight=False)

        return run_validation(entries, device, jobs, started, finished, memory_cap)
