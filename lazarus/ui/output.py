"""Writing to people: answers as coloured panels on a colour terminal or plain text otherwise
(wrapped at a terminal's width, paged when taller than it), and
lazarus's own one-line messages.

One place for the CLI and every integration (`lazarus run`, the exception hook, IPython, pytest),
so that an answer looks the same wherever it appears.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import TextIO


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


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def wants_color(stream: TextIO) -> bool:
    from lazarus.settings import color_mode

    mode = color_mode()
    if mode != "auto":
        return mode == "always"
    return is_terminal(stream) and os.environ.get("TERM") != "dumb"


def text_width(stream: TextIO) -> int | None:
    """The width to wrap text at: the terminal's (COLUMNS first), or None when the stream is not
    a terminal, so that a pipe gets whole lines to grep."""
    if not is_terminal(stream):
        return None
    return terminal_size(stream)[0]


def terminal_size(stream: TextIO) -> tuple[int, int]:
    """Columns and lines of the terminal: COLUMNS and LINES first, as shutil.get_terminal_size
    reads them (without importing shutil, which brings bz2 and lzma: start-up time)."""
    try:
        size = os.get_terminal_size(stream.fileno())
        columns, lines = size.columns, size.lines
    except (AttributeError, ValueError, OSError):
        columns, lines = 80, 24
    from_env = [os.environ.get(name, "") for name in ("COLUMNS", "LINES")]
    columns = int(from_env[0]) if from_env[0].isdigit() and int(from_env[0]) > 0 else columns or 80
    lines = int(from_env[1]) if from_env[1].isdigit() and int(from_env[1]) > 0 else lines or 24
    return columns, lines


_ANSI = "\x1b["


def screen_rows(text: str, width: int) -> int:
    """How many terminal rows `text` fills at `width` columns, colours aside."""
    import re

    from lazarus.ui.render import cells

    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text) if _ANSI in text else text
    return sum(max(1, -(-cells(line) // width)) for line in plain.rstrip("\n").split("\n"))


def page(text: str, stream: TextIO | None = None) -> None:
    """Write `text` to stdout, through the pager when stdout is a terminal and the text is taller
    than it, as git does: $LAZARUS_PAGER, else $PAGER, else `less -FRX` (colours kept);
    LAZARUS_PAGER=cat or `--no-pager` turns it off, and a pager that cannot start means printing."""
    stream = stream or sys.stdout
    text = text if text.endswith("\n") else text + "\n"
    if is_terminal(stream) and _through_pager(text, stream):
        return
    stream.write(text)
    stream.flush()


def _through_pager(text: str, stream: TextIO) -> bool:
    from lazarus.settings import pager_command

    columns, lines = terminal_size(stream)
    command = pager_command()
    if command is None or screen_rows(text, columns) < lines:
        return False
    import shutil

    if shutil.which(command[0]) is None:
        return False
    import signal
    import subprocess

    environment = dict(os.environ)
    environment.setdefault("LESS", "FRX")  # quit when it fits, keep colours, leave the screen as is
    environment.setdefault("LV", "-c")
    stream.flush()
    try:
        pager = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=stream, env=environment)
    except OSError:
        return False
    # Ctrl-C belongs to the pager (less stays); lazarus waits for it to quit, as git does.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert pager.stdin is not None
        try:
            pager.stdin.write(text.encode(stream.encoding or "utf-8", "replace"))
            pager.stdin.close()
        except BrokenPipeError:
            pass  # the reader quit before the end: nothing left to show
        pager.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return True


def verification(index: Index, entry_id: str, lang: str) -> str:
    """An entry's verification line, in the reader's language."""
    from lazarus.kb.records import status_line

    return status_line(index.records_of(entry_id), lang)


def proof(index: Index, entry_id: str) -> list[dict[str, str | None]]:
    """An entry's verification records as data for programs: device, torch, outcome, gpu, date."""
    return [
        {"device": r.device, "torch": r.torch, "outcome": r.outcome, "gpu": r.gpu, "date": r.date}
        for r in index.records_of(entry_id)
    ]


def statuses(index: Index, diagnosis: Diagnosis, lang: str) -> dict[str, str]:
    return {m.entry.id: verification(index, m.entry.id, lang) for m in diagnosis.matches}


def plain_matches(index: Index, diagnosis: Diagnosis, lang: str, full: bool = False, width: int | None = None) -> str:
    """The answers as text: the first one brief (or every one in full), the others one line each;
    wrapped at `width` columns when given."""
    from lazarus.i18n import say
    from lazarus.query.match import confident
    from lazarus.ui.render import header, plain_match, wrap

    status = statuses(index, diagnosis, lang)
    matches = diagnosis.matches
    if matches and not confident(matches) and not full:
        # several entries fit about as well, or none well: possibilities, one line each
        lines = [say(lang, "tentative"), *(header(m, lang, n) for n, m in enumerate(matches, 1))]
        return "\n".join(wrap([line], width) for line in lines)
    if full:
        return "\n\n".join(plain_match(m, lang, status[m.entry.id], n, width=width) for n, m in enumerate(matches, 1))
    if not matches:
        return ""
    first = plain_match(matches[0], lang, status[matches[0].entry.id], 1, full=False, width=width)
    others = [wrap([header(m, lang, n)], width) for n, m in enumerate(matches[1:], 2)]
    return "\n".join([first, *(["", *others] if others else [])])


def write_matches(
    index: Index, diagnosis: Diagnosis, lang: str, stream: TextIO, full: bool = False, paged: bool = False
) -> None:
    """The answers on `stream`: a coloured panel when it wants colour, else plain text wrapped at
    the terminal's width; `paged` (the CLI's stdout) sends a long answer through the pager."""
    width = text_width(stream)
    if not wants_color(stream):
        text = plain_matches(index, diagnosis, lang, full, width) + "\n"
    else:
        text = ansi_matches(index, diagnosis, lang, full, width, stream)
    if paged:
        page(text, stream)
    else:
        stream.write(text)
        stream.flush()


def ansi_matches(index: Index, diagnosis: Diagnosis, lang: str, full: bool, width: int | None, stream: TextIO) -> str:
    """The answers in colour: the first (or every one, `full`) as a panel, the others one bold
    line each, at the terminal's width (80 when colour is forced on a pipe)."""
    from lazarus.i18n import say
    from lazarus.query.match import confident
    from lazarus.ui.render import BOLD, YELLOW, ansi_match, header, paint, wrap

    width = width or terminal_size(stream)[0]  # COLUMNS, else 80, when colour is forced on a pipe
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    unicode = encoding.startswith(("utf", "gb", "cp65001"))
    status = statuses(index, diagnosis, lang)
    parts = []
    tentative = not confident(diagnosis.matches) and not full
    if tentative:
        parts.append(paint(wrap([say(lang, "tentative")], width), YELLOW))
    for n, match in enumerate(diagnosis.matches, 1):
        if (full or n == 1) and not tentative:
            parts.append(ansi_match(match, lang, status[match.entry.id], n, full, width, unicode=unicode))
        else:
            parts.append(paint(wrap([header(match, lang, n)], width), BOLD))
    return "\n".join(parts) + "\n"
