"""The work of a run, decided before anything runs: one sandbox job per part that can run here,
a skipped result for every part that cannot, and the modules worth importing once up front.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lazarus.model import Entry
from lazarus.verify.results import PARTS, Environment, Part, PartResult
from lazarus.verify.sandbox import Job
from lazarus.verify.select import part_code, part_skip_reason, skip_reason


@dataclass(frozen=True)
class PendingPart:
    """A part waiting to run: which entry, snippet, device and part it checks, and its job."""

    entry: Entry
    snippet_index: int
    device: str
    part: Part
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
                    code = part_code(snippet, part)
                    why = reason or part_skip_reason(snippet, part)
                    if why or code is None:
                        skipped.append(PartResult(entry.id, index, device, part, "skipped", why or ""))
                        continue
                    job = Job(code, device, snippet.timeout, memory_cap, name=f"{entry.id}-{index}-{part}")
                    pending.append(PendingPart(entry, index, device, part, job))
    return skipped, pending


def upper_bound(entries: Sequence[Entry], devices: Sequence[str]) -> int:
    """How many parts might run, counted before torch is imported, to size the pool."""
    return sum((2 if s.reproducible else 1) for e in entries for s in e.snippets for d in devices if d in s.devices)


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
    """The modules a piece of code imports by absolute name (relative imports are left out)."""
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
