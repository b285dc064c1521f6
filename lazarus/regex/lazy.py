"""Regexes compiled on first use: a query that never needs a pattern never pays to compile it.

Compiling the extraction and normalisation patterns up front costs a query's start-up about as
much as importing rapidfuzz; most queries use a few of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Any


class LazyPattern:
    """Behaves like the compiled `re.Pattern` for match, search, sub, findall, fullmatch and split."""

    __slots__ = ("flags", "pattern", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            from lazarus.regex.store import compiled

            self._compiled = compiled(self.pattern, self.flags)
        return self._compiled

    def match(self, string: str, *args: Any) -> re.Match[str] | None:
        return self.compiled().match(string, *args)

    def fullmatch(self, string: str, *args: Any) -> re.Match[str] | None:
        return self.compiled().fullmatch(string, *args)

    def search(self, string: str, *args: Any) -> re.Match[str] | None:
        return self.compiled().search(string, *args)

    def sub(self, replacement: Any, string: str, count: int = 0) -> str:
        return self.compiled().sub(replacement, string, count=count)

    def findall(self, string: str, *args: Any) -> list[Any]:
        return self.compiled().findall(string, *args)

    def finditer(self, string: str, *args: Any) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string, *args)

    def split(self, string: str, maxsplit: int = 0) -> list[Any]:
        return self.compiled().split(string, maxsplit=maxsplit)


def lazy(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
