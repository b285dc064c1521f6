"""The query pipeline in one place: open the index, then text -> extract -> match.

Every caller (the CLI, `lazarus run`, the exception hook, IPython, pytest) opens the index and
diagnoses through here, so a rule about either exists once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lazarus.model import Diagnosis, Entry, EnvFinding, KBProblem, Match
from lazarus.query.extract import extract, names_torch
from lazarus.query.index import Index, load_index
from lazarus.query.match import other_framework, rank
from lazarus.query.normalize import speaks_domain
from lazarus.query.read import TAIL_BYTES, LogTail
from lazarus.regex.lazy import lazy
from lazarus.settings import check_kb_dirs, kb_folder_names, use_cache

_opened: dict[tuple[str, ...], Index] = {}
# A cheap test for an environment report in a paste (collect_env, pip or conda lists, nvidia-smi,
# torch's warnings about the GPU or driver); only then is the report read.
_ENVIRONMENT_HINT = lazy(
    r"PyTorch version|Driver Version|\[(?:pip\d?|conda)\]|\b(?:torch|torchvision|torchaudio|numpy)\s*(?:==|[:=])\s*v?\d"
    r"|CUDA capability|cuda capability \d|driver on your system is too old|Cuda compilation tools|^Name: torch"
    r"|^(?:torch|torchvision|numpy)\s{2,}\d",
    re.IGNORECASE | re.MULTILINE,
)
ENVIRONMENT_SCORE = 90
# How far down the text's own candidates an entry may be and still count as what the text is
# about: the answers a reader sees (a report's own words, CUDA, GCC, nvcc, reach much further).
REACH = 3


def open_index(
    kb_dirs: list[str] | None = None, on_problems: Callable[[tuple[KBProblem, ...]], None] | None = None
) -> Index:
    """The index of the user's folders and the built-in KB, opened once per process (a notebook
    or a test session asks many times). A missing `--kb` folder is a UsageError; entries with
    problems are left out, and `on_problems` hears of them, once per process."""
    key = tuple(kb_dirs or [])
    if key not in _opened:
        check_kb_dirs(key)
        index = load_index(*kb_folder_names(key), use_cache=use_cache())
        if index.problems and on_problems is not None:
            on_problems(index.problems)
        _opened[key] = index
    return _opened[key]


def diagnose(index: Index, text: str, limit: int = 3) -> Diagnosis:
    if len(text) > TAIL_BYTES:
        # Text that did not come through the log reader (an exception hook's traceback, an API
        # caller's string) is bounded the same way: the tail, and the last traceback before it.
        tail = LogTail()
        tail.feed(text.encode("utf-8", "replace"))
        text = tail.text()
    reports = extract(text)
    # Resemblance answers only a text about deep learning with PyTorch. A known message answers
    # any text, but in a text of another framework that never names torch (Paddle and Caffe
    # print torch's own words) our remedies may not apply: its answers are possibilities.
    elsewhere = other_framework(text)
    fuzzy = not elsewhere and speaks_domain(text)
    # A general signature knows a family of messages, not this one: it answers only a text that
    # names torch (a REPL's "No module named 'cv2'" under trackpy is somebody else's).
    general = fuzzy and names_torch(text)
    findings = environment_findings(index, text)
    # One ranking: with a report in the text, deep enough to tell what the text is about (a
    # shorter limit takes a prefix of a longer one's matches).
    depth = max(limit, REACH) if findings else limit
    ranked = rank(index, reports, limit=depth, fuzzy=fuzzy, general=general) if reports else []
    matches = ranked[:limit]
    if findings:
        matches = _environment_first(index, matches, findings, limit, ranked)
    if elsewhere:
        matches = [m._replace(ambiguous=True) for m in matches]
    return Diagnosis(query=text, reports=tuple(reports), matches=tuple(matches), environment=findings)


def environment_findings(index: Index, text: str) -> tuple[EnvFinding, ...]:
    """The checks an environment report pasted in the text fails (none without a report)."""
    if not index.environment or not _ENVIRONMENT_HINT.search(text):
        return ()
    from lazarus.environment.paste import read_report
    from lazarus.environment.rules import evaluate

    facts = read_report(text)
    return tuple(f for f in evaluate(facts, index.environment) if f.failed) if facts else ()


def _environment_first(
    index: Index, matches: list[Match], findings: tuple[EnvFinding, ...], limit: int, reached: list[Match]
) -> list[Match]:
    """A fact of the user's environment decides between answers: the entries whose checks it
    fails come first, not possibilities any more, then the others ranked as before, the ones
    found by resemblance as possibilities. A check that breaks only one activity (`alone:
    false`: nvcc matters to extension builds) answers only a text about it: one that `reached`
    its entry or an entry of its family (the first tag: cpp-extension, dataloader). Under
    another question it is a possibility, after the text's known answers."""
    reached_ids = {m.entry.id for m in reached}
    families = {m.entry.tags[0] for m in reached if m.entry.tags}
    first: list[Match] = []
    aside: list[Match] = []
    for finding in findings:
        if any(m.entry.id == finding.entry_id for m in first + aside):
            continue
        known = next((m for m in matches if m.entry.id == finding.entry_id), None)
        entry = known.entry if known is not None else index.by_id(finding.entry_id)
        if entry is not None:
            match = Match(entry, ENVIRONMENT_SCORE, "environment") if known is None else known
            family = entry.tags[0] if entry.tags else None
            answers = finding.check.alone or entry.id in reached_ids or family in families
            (first if answers else aside).append(match._replace(finding=finding, ambiguous=not answers))
    chosen = {m.entry.id for m in first + aside}
    others = [m._replace(ambiguous=m.ambiguous or m.via == "fuzzy") for m in matches if m.entry.id not in chosen]
    ordered = first + [m for m in others if not m.ambiguous] + aside + [m for m in others if m.ambiguous]
    return ordered[: max(limit, len(first) + len(aside))]


def diagnose_output(index: Index, text: str, limit: int) -> Diagnosis:
    """Matches for an error found in program output. Output with no error in it is not a
    description of a symptom: its fuzzy matches would be noise, so they are dropped."""
    diagnosis = diagnose(index, text, limit)
    found = tuple(m for m in diagnosis.matches if m.report is None or m.report.kind != "text")
    return diagnosis._replace(matches=found)


def entries_with_tag(index: Index, tag: str) -> list[Entry]:
    wanted = tag.lower()
    return [entry for entry in index.entries if wanted in entry.tags]


def tag_counts(index: Index) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in index.entries:
        for tag in entry.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
