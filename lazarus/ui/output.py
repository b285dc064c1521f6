"""Writing to people: answers as rich panels on a colour terminal or plain text otherwise, and
lazarus's own one-line messages.

One place for the CLI and every integration (`lazarus run`, the exception hook, IPython, pytest),
so that an answer looks the same wherever it appears.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable

    from lazarus.model import Diagnosis, KBProblem
    from lazarus.query.index import Index


def err(message: str) -> None:
    """One line about lazarus itself, on stderr."""
    print(f"lazarus: {message}", file=sys.stderr)


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def kb_problems_reporter(lang: str = "en") -> Callable[[tuple[KBProblem, ...]], None]:
    """A callback for open_index: says once which file was left out and why, and how many more."""
    from lazarus.i18n import say

    def report(problems: tuple[KBProblem, ...]) -> None:
        more = say(lang, "kb_more", count=len(problems) - 1) if len(problems) > 1 else ""
        err(say(lang, "kb_problems", problem=str(problems[0]), more=more))

    return report


def wants_color(stream: TextIO) -> bool:
    from lazarus.settings import color_mode

    mode = color_mode()
    if mode != "auto":
        return mode == "always"
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
    return tty and os.environ.get("TERM") != "dumb"


def verification(index: Index, entry_id: str, lang: str) -> str:
    """An entry's verification line, in the reader's language."""
    from lazarus.kb.records import status_line

    return status_line(index.records.get(entry_id, []), lang)


def proof(index: Index, entry_id: str) -> list[dict[str, str | None]]:
    """An entry's verification records as data for programs: device, torch, outcome, gpu, date."""
    return [
        {"device": r.device, "torch": r.torch, "outcome": r.outcome, "gpu": r.gpu, "date": r.date}
        for r in index.records.get(entry_id, [])
    ]


def statuses(index: Index, diagnosis: Diagnosis, lang: str) -> dict[str, str]:
    return {m.entry.id: verification(index, m.entry.id, lang) for m in diagnosis.matches}


def plain_matches(index: Index, diagnosis: Diagnosis, lang: str, full: bool = False) -> str:
    """The answers as text: the first one brief (or every one in full), the others one line each."""
    from lazarus.i18n import say
    from lazarus.query.match import confident
    from lazarus.ui.render import header, plain_match

    status = statuses(index, diagnosis, lang)
    matches = diagnosis.matches
    if matches and not confident(matches) and not full:
        # several entries fit about as well, or none well: possibilities, one line each
        return "\n".join([say(lang, "tentative"), *(header(m, lang, n) for n, m in enumerate(matches, 1))])
    if full:
        return "\n\n".join(plain_match(m, lang, status[m.entry.id], n) for n, m in enumerate(matches, 1))
    if not matches:
        return ""
    first = plain_match(matches[0], lang, status[matches[0].entry.id], 1, full=False)
    others = [header(m, lang, n) for n, m in enumerate(matches[1:], 2)]
    return "\n".join([first, *(["", *others] if others else [])])


def write_matches(index: Index, diagnosis: Diagnosis, lang: str, stream: TextIO, full: bool = False) -> None:
    if not wants_color(stream):
        stream.write(plain_matches(index, diagnosis, lang, full) + "\n")
        stream.flush()
        return
    from rich.console import Console
    from rich.text import Text

    from lazarus.i18n import say
    from lazarus.query.match import confident
    from lazarus.ui.render import header, rich_match

    status = statuses(index, diagnosis, lang)
    console = Console(file=stream, force_terminal=True)  # wants_color decided: colour it
    tentative = not confident(diagnosis.matches) and not full
    if tentative:
        console.print(Text(say(lang, "tentative"), style="yellow"))
    for n, match in enumerate(diagnosis.matches, 1):
        if (full or n == 1) and not tentative:
            console.print(rich_match(match, lang, status[match.entry.id], n, full=full))
        else:
            console.print(Text(header(match, lang, n), style="bold"))
