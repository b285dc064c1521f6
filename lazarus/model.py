"""Plain data shared by every stage: entries, snippets, extracted errors and matches. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Snippet:
    fixed: str
    broken: str | None = None
    raises: str | None = None
    devices: tuple[str, ...] = ("cpu",)
    requires: tuple[str, ...] = ()
    torch: str | None = None
    reproducible: bool = True
    reason: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    title_zh: str
    symptom: str
    symptom_zh: str
    signatures: tuple[str, ...]
    examples: tuple[str, ...]
    causes: tuple[str, ...]
    causes_zh: tuple[str, ...]
    fix: str
    fix_zh: str
    snippets: tuple[Snippet, ...]
    tags: tuple[str, ...]
    references: tuple[str, ...]
    path: str = ""
    builtin: bool = True


@dataclass(frozen=True)
class KBProblem:
    """One thing wrong with one KB file, reported as `path: field: message`."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ErrorReport:
    """One error found in a log: its `Type: message` text and where it came from."""

    text: str
    line: str
    line_number: int
    kind: str  # "exception", "worker-exception", "chained", "error-line", "warning", "signal", "text"
    user_frame: str | None = None


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: int
    via: str  # "signature" or "fuzzy"
    report: ErrorReport | None = None
    signature: str | None = None
    strength: float = 0.0  # unrounded score, orders matches whose rounded scores tie


@dataclass(frozen=True)
class Diagnosis:
    query: str
    reports: tuple[ErrorReport, ...]
    matches: tuple[Match, ...] = field(default=())
