"""What lazarus reads out of a signature's regex without running it: whether it can backtrack
for ever (checked when the KB is loaded) and which plain text every match must contain (so a
query tests most signatures with `in` and compiles only the few left)."""

from __future__ import annotations

import re
from typing import Any


def _sre() -> tuple[Any, Any]:
    """The regex parser's modules, under their Python 3.11 or 3.10 names."""
    import importlib

    try:
        return importlib.import_module("re._constants"), importlib.import_module("re._parser")
    except ImportError:  # Python 3.10
        return importlib.import_module("sre_constants"), importlib.import_module("sre_parse")


MAX_PATTERN_CHARS = 2000
# Adversarial inputs: a class's sample repeated, then a character nothing expects, so a pattern
# that can split the same text in many ways tries them all before failing.
_SAMPLES = ("1", "a", " ", "A", "-", ".", "_", "/", ":", "\n", "x1", "a ", "ab")
SLOW_SECONDS = 1.0


def regex_problem(pattern: str) -> str | None:
    """Why a signature is unusable, or None: it must compile and must not nest unbounded repeats."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"is {len(pattern)} characters long; a signature has at most {MAX_PATTERN_CHARS}"
    try:
        re.compile(pattern)
        nested = _has_nested_unbounded_repeat(pattern)
    except re.error as exc:
        return f"does not compile: {exc}"
    except (RecursionError, OverflowError, MemoryError):
        return "is nested too deeply to compile"
    if nested:
        return "nests an unbounded repeat inside another, which can backtrack for ever"
    return None


def adversarial_texts(pattern: str) -> list[str]:
    """Texts that reach each repeat of the pattern (what comes before it, generated from the
    pattern itself), then pump the repeat's body, short (exponential backtracking shows at 30)
    and long (polynomial at 1000), and end where no match can go on; plus common classes."""
    _, parser = _sre()
    texts: list[str] = []

    def pump(prefix: str, body: str) -> None:
        if body:
            texts.extend((prefix + body * 30 + "\x00", prefix + body * 1000 + "\x00"))

    def walk(items: Any, prefix: str) -> str:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                if high is None or high > 1:
                    for branch in _alternatives(sub):
                        pump(prefix, _generate(branch))
                walk(sub, prefix)
            elif name == "SUBPATTERN":
                walk(arg[-1], prefix)
            elif name == "BRANCH":
                for branch in arg[1]:
                    walk(branch, prefix)
            prefix += _generate([(op, arg)])
        return prefix

    walk(parser.parse(pattern), "")
    for sample in _SAMPLES:
        pump("", sample)
    return texts[:400]


def _alternatives(items: Any) -> list[Any]:
    """The branches of a repeat's body (a group of alternatives), or the body itself."""
    if len(items) == 1 and str(items[0][0]) == "SUBPATTERN":
        items = items[0][1][-1]
    if len(items) == 1 and str(items[0][0]) == "BRANCH":
        return list(items[0][1][1])
    return [items]


def _generate(items: Any) -> str:
    """One short text the parsed items match (the first alternative, the fewest repeats)."""
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_member(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            out.append(_generate(arg[2]) * max(arg[0], 1))
        elif name == "SUBPATTERN":
            out.append(_generate(arg[-1]))
        elif name == "BRANCH":
            out.append(_generate(arg[1][0]))
        elif name == "ATOMIC_GROUP":
            out.append(_generate(arg))
    return "".join(out)


def _class_member(items: Any) -> str:
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            return "a"
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            kind = str(arg)
            return (
                "1" if "DIGIT" in kind and "NOT" not in kind else " " if "SPACE" in kind and "NOT" not in kind else "a"
            )
    return "a"


_CHILD = r"""
import re, sys, json
for line in sys.stdin:
    position, pattern, texts = json.loads(line)
    print(position, flush=True)
    compiled = re.compile(pattern)
    for text in texts:
        compiled.search(text)
print("done", flush=True)
"""
START_UP_SECONDS = 5.0  # the child's own start, before it names its first pattern


def slow_patterns(patterns: list[str], seconds: float = SLOW_SECONDS) -> dict[int, str]:
    """Patterns that take more than `seconds` on an adversarial text, by position, with why.

    Python's regex engine cannot be interrupted from inside a match, so the patterns run in a
    child process that says which one it starts; one that overruns is killed, named, and the
    rest go on in a new child. Patterns and their texts are streamed to the child one line at a
    time, so its start costs the same for ten patterns or fifty thousand."""
    import subprocess
    import sys
    import threading

    slow: dict[int, str] = {}
    start, false_starts = 0, 0
    while start < len(patterns):
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        feeder = threading.Thread(target=_feed, args=(child, patterns, start), daemon=True)
        feeder.start()
        current, finished = _watch(child, seconds)
        child.kill()
        child.wait()
        feeder.join()
        if finished:
            break
        if current is None:  # it never started a pattern: a busy machine, not a pattern's fault
            false_starts += 1
            if false_starts < 3:
                continue
            current = start
        slow[current] = f"takes over {seconds:g} s on an adversarial text: it can backtrack for ever"
        start, false_starts = current + 1, 0
    return slow


def _feed(child: Any, patterns: list[str], start: int) -> None:
    import json

    try:
        for position in range(start, len(patterns)):
            pattern = patterns[position]
            child.stdin.write(json.dumps([position, pattern, adversarial_texts(pattern)]) + "\n")
        child.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the child was stopped: the patterns left go to the next one


def _watch(child: Any, seconds: float) -> tuple[int | None, bool]:
    """Follow the child until it finishes (None/position, True) or overruns on a pattern
    (that position, False); None when it never named one.

    The pipe is read with os.read, not a buffered readline: a buffered reader can hold the next
    position already read from the pipe while select waits for more, and blame the pattern
    before."""
    import os
    import select
    import time

    fd = child.stdout.fileno()
    current: int | None = None
    pending = b""
    deadline = time.monotonic() + START_UP_SECONDS
    began: float | None = None
    cap = deadline
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            # On a busy machine the wall clock runs faster than the child: what counts is the
            # processor time the pattern took (where /proc tells it), up to a wall-clock cap.
            used = _cpu_seconds(child.pid)
            spent = None if current is None or used is None or began is None else used - began
            if spent is not None and spent < seconds and time.monotonic() < cap:
                deadline = time.monotonic() + seconds - spent
                continue
            return current, False
        chunk = os.read(fd, 65536)
        if not chunk:
            return current, True
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.strip() == b"done":
                return current, True
            current = int(line)
        deadline = time.monotonic() + seconds
        began, cap = _cpu_seconds(child.pid), time.monotonic() + 10 * seconds


def _has_nested_unbounded_repeat(pattern: str) -> bool:
    constants, parser = _sre()
    repeats = (constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None))

    def walk(items: Any, inside_unbounded: bool) -> bool:
        for op, arg in items:
            if op in repeats:
                low, high, sub = arg
                unbounded = high == constants.MAXREPEAT
                if unbounded and inside_unbounded and op != getattr(constants, "POSSESSIVE_REPEAT", None):
                    return True
                if walk(sub, inside_unbounded or unbounded):
                    return True
            elif op == constants.SUBPATTERN:
                if walk(arg[-1], inside_unbounded):
                    return True
            elif op == constants.BRANCH:
                if any(walk(branch, inside_unbounded) for branch in arg[1]):
                    return True
            elif op in (constants.ASSERT, constants.ASSERT_NOT) and walk(arg[1], inside_unbounded):
                return True
        return False

    return walk(parser.parse(pattern), False)


def required_literal(pattern: str) -> tuple[str, bool]:
    """The longest run of plain characters every match of `pattern` contains, and whether the
    pattern ignores case ("" when there is none worth testing)."""
    constants, parser = _sre()
    parsed = parser.parse(pattern)
    folded = bool(parsed.state.flags & re.IGNORECASE)
    best, run = "", []
    for op, arg in parsed:
        if op == constants.LITERAL:
            run.append(chr(arg))
            continue
        if len("".join(run)) > len(best):
            best = "".join(run)
        run = []
        if op == constants.SUBPATTERN and arg[1] == 0 and arg[2] == 0:
            # A plain group: its own literal counts when it is one straight sequence.
            inner = "".join(chr(a) for o, a in arg[-1] if o == constants.LITERAL)
            if len(inner) == len(arg[-1]) and len(inner) > len(best):
                best = inner
    if len("".join(run)) > len(best):
        best = "".join(run)
    if len(best) < 4:
        return "", folded
    return (best.lower() if folded else best), folded


def _cpu_seconds(pid: int) -> float | None:
    """Processor time a process has used, from /proc (Linux); None where it cannot be read."""
    import os

    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
