"""Compiled regexes kept between runs, in the per-user cache folder.

Compiling costs a query more than searching: the extraction, normalisation and signature
patterns a query uses take 10-20 ms to compile, every run. What `re` compiles a pattern to (the
arguments it hands to `_sre.compile`: the program, its flags and groups) is kept here, keyed on
the interpreter and regex engine versions, and a later run builds the pattern from it directly,
which is what `re` itself does last.

Anything unexpected (another Python, a private `re` function gone, a file that does not fit)
falls back to `re.compile`: a pattern is stored only when the one built from the stored parts
compares equal to the one `re.compile` made (Pattern equality compares the compiled program),
and the engine validates any program it is given.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # no stubs: the engine behind `re`
import os
import re
import sys

from lazarus import cachefile
from lazarus.settings import cache_folder, use_cache

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Any

FORMAT = 1  # bump when what is stored per pattern changes
MAX_PATTERNS = 20_000  # more, and the file starts afresh: a runaway cache must not slow queries
# Only interpreters whose programs fit this exact engine: another Python, another engine.
ENGINE = (FORMAT, sys.version, sys.implementation.cache_tag, _sre.MAGIC, _sre.CODESIZE)

# One program in the file: final flags, the program as bytes of CODESIZE-byte words, the highest
# group number, group name -> number, and number -> name.
Parts = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]

_compiled: dict[tuple[str, int], re.Pattern[str]] = {}
_stored: dict[tuple[str, int], Parts] | None = None
_new: dict[tuple[str, int], Parts] = {}


def compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, from the cache folder when it was compiled before."""
    key = (pattern, int(flags))
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = _from_store(key) or _compile(key)
    return found


def _from_store(key: tuple[str, int]) -> re.Pattern[str] | None:
    parts = _stored_parts().get(key)
    if parts is None:
        return None
    try:
        flags, program, groups, groupindex, indexgroup = parts
        return _build(key[0], flags, _words(program), groups, groupindex, indexgroup)
    except Exception:  # noqa: BLE001 - a stored program that does not fit is compiled afresh
        return None


def _build(pattern: str, flags: int, code: list[int], groups: int, groupindex: Any, indexgroup: Any) -> re.Pattern[str]:
    built: re.Pattern[str] = _sre.compile(pattern, flags, code, groups, groupindex, indexgroup)
    return built


def _compile(key: tuple[str, int]) -> re.Pattern[str]:
    pattern, flags = key
    result = re.compile(pattern, flags)
    if use_cache():
        parts = _parts(pattern, flags, result)
        if parts is not None:
            if not _new:
                import atexit

                atexit.register(save, _path())
            _new[key] = parts
    return result


def _parts(pattern: str, flags: int, result: re.Pattern[str]) -> Parts | None:
    """What `re` hands `_sre.compile` for this pattern, or None when that cannot be known for
    sure (a private function changed, or the parts do not rebuild the same program)."""
    import warnings

    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]  # private, hence the checks

        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            parsed = _parser.parse(pattern, flags)
            code = _compiler._code(parsed, flags)
        if said:
            # re.compile warned (a possible nested set...): kept out of the store, the pattern
            # is compiled, and warns, on every run as before
            return None
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, number in groupindex.items():
            indexgroup[number] = name
        parts: Parts = (
            flags | parsed.state.flags,
            _program(code),
            parsed.state.groups - 1,
            groupindex,
            tuple(indexgroup),
        )
        # Rebuilt the way a later run will, from the stored bytes
        rebuilt = _build(pattern, parts[0], _words(parts[1]), parts[2], parts[3], parts[4])
        return parts if rebuilt == result and rebuilt.groupindex == result.groupindex else None
    except Exception:  # noqa: BLE001 - anything unexpected: this pattern is simply not kept
        return None


_WORD = "I" if _sre.CODESIZE == 4 else "L"


def _program(code: list[int]) -> bytes:
    from array import array

    words = array(_WORD, code)
    if words.itemsize != _sre.CODESIZE:
        raise ValueError("no array type fits the engine's code words")
    return words.tobytes()


def _words(program: bytes) -> list[int]:
    from array import array

    words = array(_WORD)
    if words.itemsize != _sre.CODESIZE:
        raise ValueError("no array type fits the engine's code words")
    words.frombytes(program)
    return words.tolist()


def _path() -> str:
    return os.path.join(cache_folder(), "regex.pickle")


def _stored_parts() -> dict[tuple[str, int], Parts]:
    global _stored  # noqa: PLW0603 - read once per process
    if _stored is None:
        _stored = _load(_path()) if use_cache() else {}
    return _stored


def _load(path: str) -> dict[tuple[str, int], Parts]:
    content = cachefile.read(path)
    if isinstance(content, tuple) and len(content) == 2 and content[0] == ENGINE and isinstance(content[1], dict):
        return content[1]
    return {}


def save(path: str) -> None:
    """Add the patterns compiled in this run to the file (at exit: one write per run); the
    file is read again first, so that runs in parallel lose each other's patterns at worst."""
    if not _new:
        return
    try:
        known = _load(path)
        if len(known) + len(_new) > MAX_PATTERNS:
            known = {}
        known.update(_new)
        _new.clear()
        cachefile.write(path, (ENGINE, known))
    except Exception:  # noqa: BLE001 - at exit, after the answer: a cache not written is no error
        pass
