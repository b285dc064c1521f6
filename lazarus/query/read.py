"""Reading a log of any size in bounded memory: the tail, plus the last traceback before it.

A crashed run's error is at or near its end. Huge logs are streamed in chunks: only the last
TAIL_BYTES and the region after the last traceback header seen before them are kept.
"""

from __future__ import annotations

from lazarus.errors import InputError

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import BinaryIO

CHUNK = 8 << 20
TAIL_BYTES = 1 << 20
REGION_BYTES = 256 << 10
HEADER = b"Traceback (most recent call last)"


class LogTail:
    """The last `limit` bytes of the output, and the last traceback that scrolled out of them.

    One bounded view for every reader: `lazarus diagnose` fills it from a file, `lazarus run`
    from the command's output as it arrives.
    """

    def __init__(self, limit: int = TAIL_BYTES, region_limit: int = REGION_BYTES) -> None:
        self.limit = limit
        self.region_limit = region_limit
        self.buffer = bytearray()
        self.region = b""
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.buffer += data
        self.total += len(data)
        # Trimming at twice the limit keeps the copying amortised.
        if len(self.buffer) > 2 * self.limit:
            self._trim()

    def _trim(self) -> None:
        cut = len(self.buffer) - self.limit
        if cut <= 0:
            return
        # A header that starts before the cut scrolls out, even one that straddles it.
        at = self.buffer.rfind(HEADER, 0, cut + len(HEADER) - 1)
        if at >= 0:
            self.region = bytes(self.buffer[at : at + self.region_limit])
        del self.buffer[:cut]

    def last_byte(self) -> bytes:
        return bytes(self.buffer[-1:])

    def kept(self) -> bytes:
        """The bytes worth analysing: the tail, after the last traceback that scrolled out of it."""
        self._trim()
        data = bytes(self.buffer)
        if self.region and HEADER not in data:
            data = self.region + b"\n...\n" + data
        elif self.total > len(data):
            # Start at a line boundary so a cut line does not look like an error of its own.
            newline = data.find(b"\n")
            data = data[newline + 1 :] if 0 <= newline < 4096 else data
        return data

    def text(self) -> str:
        return self.kept().decode("utf-8", errors="replace")


def read_log(stream: BinaryIO, name: str) -> tuple[str, list[str]]:
    """The text worth analysing from `stream`, and warnings about it (invalid UTF-8)."""
    tail = LogTail()
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if b"\0" in chunk[:65536]:
            raise InputError(f"{name}: looks like a binary file, not a text log")
        tail.feed(chunk)
    if tail.total == 0:
        raise InputError(f"{name}: is empty")
    data = tail.kept()
    warnings: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f"line {line} of the part read" if tail.total > len(data) else f"line {line}"
        warnings.append(f"{name}: not valid UTF-8 at {where}; undecodable bytes were replaced")
        text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise InputError(f"{name}: holds only white space")
    return text, warnings
