"""The verdicts: whether what a part did in its child (`ChildOutcome`) is what the entry claims.

`broken` must raise the documented exception (the class or one of its bases) with a message one
of the entry's signatures matches, or, for a silent failure, run to the end with its symptom
asserts holding. `fixed` must run cleanly. Every failure gets a one-line reason that says what
happened instead; timeouts, crashes and the memory cap get their own.
"""

from __future__ import annotations

import re

from lazarus.model import Entry, Snippet
from lazarus.verify.plan import PendingPart
from lazarus.verify.results import Outcome, PartResult
from lazarus.verify.sandbox import ChildOutcome

MESSAGE_SHOWN = 200

Verdict = tuple[Outcome, str]  # (outcome, reason)


def judge_part(pending: PendingPart, outcome: ChildOutcome) -> PartResult:
    """The result of one part that ran."""
    snippet = pending.entry.snippets[pending.snippet_index]
    cap = pending.job.memory_cap
    if pending.part == "broken":
        verdict, reason = judge_broken(pending.entry, snippet, outcome, cap)
    else:
        verdict, reason = judge_fixed(outcome, cap)
    if outcome.output_truncated:
        limit = pending.job.output_cap
        said = f"output truncated at {format_bytes(limit)}" if limit else "output truncated"
        reason = f"{reason}; {said}" if reason else said
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


def judge_broken(entry: Entry, snippet: Snippet, outcome: ChildOutcome, memory_cap: int | None) -> Verdict:
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


def _judge_raising(entry: Entry, expected: str, outcome: ChildOutcome, memory_cap: int | None) -> Verdict:
    if outcome.status == "ok":
        return "failed", "broken ran without error"
    text = f"{outcome.exc_type}: {outcome.message}"
    type_ok = expected in outcome.exc_mro
    patterns = (*entry.signatures, *entry.general_signatures)
    matched = next((i for i, sig in enumerate(patterns) if signature_matches(sig, text)), None)
    if type_ok and matched is not None:
        return "passed", f"raised {outcome.exc_type}, matched signature {matched}"
    if outcome.memory_error:
        return "failed", memory_reason("broken", outcome, memory_cap)
    if not type_ok:
        return (
            "failed",
            f"broken raised {outcome.exc_type}, expected {expected}: {first_line(outcome.message)}",
        )
    if not patterns:
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


def judge_fixed(outcome: ChildOutcome, memory_cap: int | None) -> Verdict:
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


def first_line(text: str, limit: int = MESSAGE_SHOWN) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def assert_text(outcome: ChildOutcome) -> str:
    """The assert's message, or the failing line when the assert has none."""
    message = first_line(outcome.message)
    if message and outcome.where:
        return f"{message} ({outcome.where})"
    return message or outcome.where or "assert failed"


def abnormal_reason(part: str, outcome: ChildOutcome) -> str:
    """Why a child that timed out or crashed did not report, e.g. `fixed crashed: killed by signal SIGSEGV`."""
    if outcome.status == "timeout":
        return f"{part} {outcome.detail}" if outcome.detail else f"{part} timed out"
    if outcome.signal == "SIGXFSZ":
        return f"{part} crashed: wrote past the output and file size limit (killed by signal SIGXFSZ)"
    if outcome.signal:
        hint = " (out of memory?)" if outcome.signal == "SIGKILL" else ""
        return f"{part} crashed: killed by signal {outcome.signal}{hint}"
    if outcome.exit_code is not None:
        return f"{part} crashed: exited with status {outcome.exit_code} before the snippet finished"
    return f"{part} crashed: {outcome.detail or 'no report'}"


def memory_reason(part: str, outcome: ChildOutcome, memory_cap: int | None) -> str:
    cap = f" ({format_bytes(memory_cap)})" if memory_cap else ""
    return f"{part} exceeded memory cap{cap}: {outcome.exc_type}: {first_line(outcome.message)}"


def format_bytes(count: int) -> str:
    gib = count / 1024**3
    return f"{gib:g} GiB" if gib >= 1 else f"{count / 1024**2:g} MiB"


def failure_details(outcome: ChildOutcome) -> str:
    """The traceback and the tail of the output, for a failed part's JSON, JUnit and summary."""
    pieces = []
    if outcome.traceback.strip():
        pieces.append(outcome.traceback.rstrip())
    if outcome.output.strip():
        pieces.append("--- output (tail) ---\n" + outcome.output.rstrip())
    return "\n".join(pieces)
