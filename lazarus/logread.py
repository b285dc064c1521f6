"""Reading a log of any size in bounded memory: the tail, plus the last traceback before it.

A crashed run's error is at or near its end. Huge logs are streamed in chunks: only the last
TAIL_BYTES and the region after the last traceback header seen before them are kept.
"""

from __future__ import annotations

from typing import BinaryIO

CHUNK = 8 << 20
TAIL_BYTES = 1 << 20
REGION_BYTES = 256 << 10
HEADER = b"Traceback (most recent call last)"


class InputError(Exception):
    """Input lazarus cannot read: the message names the input and what is wrong."""


def read_log(stream: BinaryIO, name: str) -> tuple[str, list[str]]:
    """The text worth analysing from `stream`, and warnings about it (invalid UTF-8)."""
    tail = b""
    region = b""  # from the last traceback header that has scrolled out of the tail
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if b"\0" in chunk[:65536]:
            raise InputError(f"{name}: looks like a binary file, not a text log")
        buffer = tail + chunk
        if len(buffer) > TAIL_BYTES:
            dropped, tail = buffer[:-TAIL_BYTES], buffer[-TAIL_BYTES:]
            at = dropped.rfind(HEADER)
            if at >= 0:
                region = (dropped[at:] + tail)[:REGION_BYTES]
        else:
            tail = buffer
    if total == 0:
        raise InputError(f"{name}: is empty")
    data = tail
    if region and HEADER not in tail:
        data = region + b"\n...\n" + tail
    # Start at a line boundary so a cut line does not look like an error of its own.
    if total > len(data):
        newline = data.find(b"\n")
        data = data[newline + 1 :] if 0 <= newline < 4096 else data
    warnings: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f"line {line} of the part read" if total > len(data) else f"line {line}"
        warnings.append(f"{name}: not valid UTF-8 at {where}; undecodable bytes were replaced")
        text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"{name}: holds only white space")
    return text, warnings
