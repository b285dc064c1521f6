"""The paste prompt: `lazarus` or `lazarus diagnose` with a terminal on stdin.

It reads until one Ctrl-D, or until Enter on an empty line right after a traceback's final
error line (`ValueError: ...`) once nothing more of the paste is on its way: a chained
traceback's blank line after its first error arrives with the rest of the paste, so it does
not end it.
"""

from __future__ import annotations

import os
import select
import sys

from lazarus.regex.lazy import lazy

# The last line of a traceback: `ValueError: ...`, `torch.OutOfMemoryError: ...`, `KeyboardInterrupt`.
FINAL_LINE = lazy(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning)(?::.*)?")
# How long the rest of a paste may take to arrive after an empty line before we stop reading.
PENDING_SECONDS = 0.2


def more_pending(fd: int) -> bool:
    return bool(select.select([fd], [], [], PENDING_SECONDS)[0])


def read_paste(lang: str, fd: int = 0) -> bytes:
    """What the person pastes or types on the terminal `fd`, after a prompt on stderr."""
    from lazarus.i18n import say

    sys.stderr.write(say(lang, "paste_prompt") + "\n")
    sys.stderr.flush()
    chunks: list[bytes] = []
    last = ""  # the last line with text in it
    while True:
        data = os.read(fd, 1 << 16)
        if not data:  # Ctrl-D at the start of a line
            break
        chunks.append(data)
        if not data.endswith(b"\n"):  # Ctrl-D after text on the same line: one is enough
            sys.stderr.write("\n")
            break
        ended = False
        for line in data.decode("utf-8", "replace").split("\n")[:-1]:
            if line.strip():
                last = line.rstrip()
            elif FINAL_LINE.fullmatch(last):
                ended = True
        if ended and not more_pending(fd):
            break
    return b"".join(chunks)
