"""Writing matches for people: rich panels on a colour terminal, plain text otherwise.

One place for the CLI and every integration (`lazarus run`, the exception hook, IPython, pytest),
so that an answer looks the same wherever it appears.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from lazarus.index import Index
    from lazarus.model import Diagnosis


def wants_color(stream: TextIO) -> bool:
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def statuses(index: Index, diagnosis: Diagnosis, lang: str) -> dict[str, str]:
    """Each matched entry's verification line, in the reader's language."""
    from lazarus.doctor import verification_status
    from lazarus.render import localized_status

    return {m.entry.id: localized_status(verification_status(index, m.entry.id), lang) for m in diagnosis.matches}


def plain_matches(index: Index, diagnosis: Diagnosis, lang: str) -> str:
    from lazarus.render import plain_match

    status = statuses(index, diagnosis, lang)
    return "\n\n".join(plain_match(m, lang, status[m.entry.id], n) for n, m in enumerate(diagnosis.matches, 1))


def write_matches(index: Index, diagnosis: Diagnosis, lang: str, stream: TextIO) -> None:
    if not wants_color(stream):
        stream.write(plain_matches(index, diagnosis, lang) + "\n")
        stream.flush()
        return
    from rich.console import Console

    from lazarus.render import rich_match

    status = statuses(index, diagnosis, lang)
    console = Console(file=stream)
    for n, match in enumerate(diagnosis.matches, 1):
        console.print(rich_match(match, lang, status[match.entry.id], n))
