"""Cache files in the per-user cache folder: written atomically with a checksum, read only when
this user wrote them and nobody else can, and unpickled by a loader that knows a short list of
classes, so that a planted or corrupted file can neither run code nor pass for a valid one.

The index (lazarus.query.index) and the compiled regexes (lazarus.regex.store) keep theirs here.
Imports stay few: every query reads a cache file.
"""

from __future__ import annotations

import os

# `_pickle` is what `pickle` re-exports; importing `pickle` itself would also import `re`,
# `struct` and `codecs` into every query for the writer's sake.
from _pickle import Unpickler, UnpicklingError
from collections.abc import Mapping

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Any


Allowed = Mapping[str, "set[str] | frozenset[str]"]
# Plain data needs no class at all: str, bytes, int, float, tuple, list, dict and None are
# pickle opcodes of their own; sets and frozensets are too (protocol 4 and up).
NOTHING: Allowed = {}


class _Restricted(Unpickler):
    def __init__(self, data: Any, allowed: Allowed) -> None:
        super().__init__(data)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if name in self._allowed.get(module, ()):
            return super().find_class(module, name)
        raise UnpicklingError(f"{module}.{name} is not allowed in a lazarus cache")


def safe_loads(data: bytes | memoryview, allowed: Allowed = NOTHING) -> Any:
    """Unpickle data that may name only the `allowed` classes (module -> names)."""
    import io

    return _Restricted(io.BytesIO(data), allowed).load()


def trusted(fd: int) -> bool:
    """A cache file written by this user and writable by nobody else; anything else is rebuilt."""
    import stat

    info = os.fstat(fd)
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """A trusted cache file's checked content (its checksum removed); None when it is missing,
    corrupt or not trusted."""
    import zlib

    try:
        with open(path, "rb") as handle:
            if trusted(handle.fileno()):
                data = handle.read()
                if len(data) >= 4 and zlib.crc32(memoryview(data)[:-4]).to_bytes(4, "little") == data[-4:]:
                    return data[:-4]
    except OSError:
        pass
    return None


def read(path: str | os.PathLike[str], allowed: Allowed = NOTHING) -> object:
    """What a cache file holds, or None when it is missing, corrupt, foreign or not trusted."""
    data = read_bytes(path)
    if data is None:
        return None
    try:
        return safe_loads(data, allowed)
    except Exception:  # noqa: BLE001 - a corrupt, foreign or truncated cache is rebuilt, never fatal
        return None


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write atomically (a reader sees the old file or the new one, never half of one), with a
    checksum after the data, so that a corrupted file is refused before it is unpickled."""
    # The cache is an optimisation: an unwritable cache folder must never break a query.
    import contextlib
    import tempfile
    import zlib

    folder = os.path.dirname(path)
    tmp = None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.write(zlib.crc32(data).to_bytes(4, "little"))
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write(path: str | os.PathLike[str], payload: object) -> None:
    import pickle

    write_bytes(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
