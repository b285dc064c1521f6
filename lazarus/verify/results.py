"""What a validation run found: one `PartResult` per part checked, grouped into cases and runs.

The outcome names themselves (`Outcome`: passed, failed, skipped) are defined once, in
`lazarus.kb.records`, because the records that outlive a run store them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from lazarus.kb.records import OUTCOMES, Outcome
from lazarus.model import Entry

__all__ = [
    "OUTCOMES",
    "PARTS",
    "CaseResult",
    "Environment",
    "Outcome",
    "Part",
    "PartResult",
    "ValidationRun",
    "combine_outcomes",
    "unique",
]

Part = Literal["broken", "fixed"]
PARTS: tuple[Part, ...] = ("broken", "fixed")


@dataclass(frozen=True)
class PartResult:
    """The verdict on one part (`broken` or `fixed`) of one snippet on one device."""

    entry_id: str
    snippet: int
    device: str
    part: Part
    outcome: Outcome
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
    def outcome(self) -> Outcome:
        return combine_outcomes(p.outcome for p in self.parts)

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.parts)

    def reasons(self, outcome: Outcome) -> list[str]:
        return unique(p.reason for p in self.parts if p.outcome == outcome and p.reason)


@dataclass(frozen=True)
class Environment:
    """The torch this run validated against, and what CUDA it could use."""

    torch: str
    cuda: str | None = None
    cuda_available: bool = False
    gpu: str | None = None
    cuda_problem: str = ""
    # The modules the sandbox's interpreter can find among those snippets require (None: not asked).
    found_modules: frozenset[str] | None = None
    # What the sandbox could not contain here, for the summary (e.g. the network).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationRun:
    """Every part's result, in entry, snippet, device and part order, with what they ran on."""

    entries: tuple[Entry, ...]
    devices: tuple[str, ...]
    environment: Environment
    parts: tuple[PartResult, ...]
    duration: float
    # Set when the run was stopped (SIGINT, SIGTERM) before every check ran: the signal's name.
    interrupted: str = ""

    @property
    def failed(self) -> bool:
        return any(p.outcome == "failed" for p in self.parts)

    def cases(self) -> list[CaseResult]:
        grouped: dict[tuple[str, int, str], list[PartResult]] = {}
        for part in self.parts:
            grouped.setdefault((part.entry_id, part.snippet, part.device), []).append(part)
        return [CaseResult(eid, i, dev, tuple(parts)) for (eid, i, dev), parts in grouped.items()]

    def entry_outcome(self, entry_id: str, device: str) -> Outcome:
        """failed if any check failed, skipped if all were skipped, else passed."""
        return combine_outcomes(p.outcome for p in self.parts if p.entry_id == entry_id and p.device == device)

    def counts(self) -> dict[Outcome, int]:
        return {o: sum(1 for p in self.parts if p.outcome == o) for o in OUTCOMES}


def combine_outcomes(outcomes: Iterable[Outcome]) -> Outcome:
    seen = set(outcomes)
    if "failed" in seen:
        return "failed"
    if not seen or seen == {"skipped"}:
        return "skipped"
    return "passed"


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
