"""Plain data shared by every stage: entries, snippets, extracted errors and matches. No I/O.

Named tuples rather than dataclasses: they are immutable too, and importing `dataclasses` (which
imports `inspect`) would cost the query's start-up more than everything here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Literal, NamedTuple

    # How an error was found in a text: a Python exception, a DataLoader worker's original error, the
    # first exception of a chain, a line that is an error without a traceback (CUDA banners, `Killed`),
    # an error mentioned in prose, a warning, a signal, a logged error line; "text" is a description
    # ranked as prose, "context" a short paste kept whole for the signatures only, "output" lines of a
    # program's output with no error line in them, compared whole as a message.
    ReportKind = Literal[
        "exception",
        "worker-exception",
        "chained",
        "error-line",
        "mention",
        "warning",
        "signal",
        "log-line",
        "output",
        "text",
        "context",
    ]
    # "fragment": the paste is part of a message an entry knows (its symptom or an example error).
    # "environment": an environment report in the paste fails one of the entry's checks.
    MatchVia = Literal["signature", "fragment", "fuzzy", "environment"]
    # What a match's score means to a reader (lazarus.query.match.confidence).
    Confidence = Literal["known", "likely", "possible"]
else:
    from lazarus.tuples import NamedTuple

    ReportKind = MatchVia = Confidence = str  # only annotations name them


# `{name}` in an entry's fix_here: what a signature's (?P<name>...) group captured
PLACEHOLDER = r"\{([A-Za-z_][A-Za-z0-9_]*)\}"


class Snippet(NamedTuple):
    fixed: str
    broken: str | None = None
    raises: str | None = None
    devices: tuple[str, ...] = ("cpu",)
    requires: tuple[str, ...] = ()
    torch: str | None = None
    reproducible: bool = True
    reason: str | None = None
    timeout: float = 30.0


class EnvCheck(NamedTuple):
    """A known bad combination in an environment, from an entry's `environment` field: it fails
    when every condition in `when` holds (fact name -> a flag, a version range such as "<2.3", a
    number bound such as "<1024", or a word)."""

    title: str
    title_zh: str
    when: tuple[tuple[str, str | bool | int | float], ...]
    says: str
    says_zh: str
    # False for a combination that breaks only one activity (nvcc: building extensions): its
    # failure answers a pasted report only when the text also speaks of that problem
    alone: bool = True


class EnvFinding(NamedTuple):
    """An entry's environment check evaluated against the facts of one environment."""

    entry_id: str
    check: EnvCheck
    failed: bool
    says: str  # the sentence with the facts filled in ("" when the check passed)
    says_zh: str


class Entry(NamedTuple):
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
    # The fix in the user's own values: {name} stands for what a signature's (?P<name>...) group
    # captured from their error. Used only when every name it uses was captured.
    fix_here: str = ""
    fix_here_zh: str = ""
    # Regexes for a whole family of messages ("module 'torch.X' has no attribute 'Y'" for any X
    # and Y): they answer an error only when no entry's own signatures know it.
    general_signatures: tuple[str, ...] = ()
    environment: tuple[EnvCheck, ...] = ()


class KBProblem(NamedTuple):
    """One thing wrong with one KB file, reported as `path: field: message`."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        return f"{where}: {self.message}"


class ErrorReport(NamedTuple):
    """One error found in a log: its `Type: message` text and where it came from."""

    text: str
    line: str
    line_number: int
    kind: ReportKind
    user_frame: str | None = None
    code: str | None = None  # the source lines a traceback shows where it was raised


class Match(NamedTuple):
    entry: Entry
    score: int
    via: MatchVia
    report: ErrorReport | None = None
    signature: str | None = None
    strength: float = 0.0  # unrounded score, orders matches whose rounded scores tie
    values: tuple[tuple[str, str], ...] = ()  # what the signature's named groups captured
    finding: EnvFinding | None = None  # the user's environment fails this entry's check
    # a fuzzy answer about as close as another, or any answer to a text of another framework:
    # no confident first answer
    ambiguous: bool = False
    # fuzzy: how nearly one field of the entry (a title, an example) says what the text says, 0-1
    field_match: float = 0.0
    # fuzzy: its share, 0-1, of a softmax over the strengths of every entry the text reached and
    # of "no entry" (match.likelihoods); not a calibrated chance of being right
    likelihood: float = 0.0


class Diagnosis(NamedTuple):
    query: str
    reports: tuple[ErrorReport, ...]
    matches: tuple[Match, ...] = ()
    environment: tuple[EnvFinding, ...] = ()  # failed checks of an environment report in the text
