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


def regex_problem(pattern: str) -> str | None:
    """Why a signature is unusable, or None: it must compile and must not nest unbounded repeats."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"does not compile: {exc}"
    if _has_nested_unbounded_repeat(pattern):
        return "nests an unbounded repeat inside another, which can backtrack for ever"
    return None


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
