"""The compiled KB index, cached on disk and rebuilt when any entry or record file changes.

Building needs PyYAML and the strict checks; loading the cache needs neither, which keeps a
query's start-up small.
"""

from __future__ import annotations

import math
import os
import pickle
import zlib
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from lazarus.model import Entry, EnvCheck, KBProblem
from lazarus.query.normalize import normalize, tokens
from lazarus.settings import cache_dir
from lazarus.version import __version__

if TYPE_CHECKING:
    from lazarus.kb.records import Record

FORMAT = 23  # bump when the pickled layout, normalisation or tokens change

# Layers of the inverted index, from what errors look like outward. A word is posted once, in the
# innermost layer of an entry that uses it.
MESSAGE, HEADLINE, BODY = 0, 1, 2


class LazyEntries(Sequence[Entry]):
    """The entries, each kept pickled until it is read: a query reads three of them, and
    unpickling ten thousand entries would cost more than the whole query."""

    def __init__(self, blobs: tuple[bytes, ...]) -> None:
        self._blobs = blobs
        self._loaded: dict[int, Entry] = {}

    @classmethod
    def of(cls, entries: Sequence[Entry]) -> LazyEntries:
        return cls(tuple(pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL) for e in entries))

    def __len__(self) -> int:
        return len(self._blobs)

    @overload
    def __getitem__(self, position: int) -> Entry: ...

    @overload
    def __getitem__(self, position: slice) -> list[Entry]: ...

    def __getitem__(self, position: int | slice) -> Entry | list[Entry]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self._blobs)
        entry = self._loaded.get(position)
        if entry is None:
            entry = self._loaded[position] = safe_loads(self._blobs[position])
        return entry

    def __iter__(self) -> Iterator[Entry]:
        return (self[i] for i in range(len(self._blobs)))

    def __reduce__(self) -> tuple[type[LazyEntries], tuple[tuple[bytes, ...]]]:
        return (LazyEntries, (self._blobs,))


class Index(NamedTuple):
    entries: Sequence[Entry]
    ids: tuple[str, ...]
    problems: tuple[KBProblem, ...]
    # Signatures kept as text, in columns (entry, pattern, literal, folded): compiling every regex
    # at start-up would cost more than a query, and columns of plain strings load fastest.
    # `literal` is a substring any match must contain (lower-cased when `folded`), so that most
    # patterns are ruled out by a plain `in` test and only the few left are compiled.
    signatures: tuple[array[int], tuple[str, ...], tuple[str, ...], bytes]
    # Normalised texts compared by fuzzy similarity, with a flag for those that show what an
    # error looks like (symptoms, examples); entry i owns field_start[i]:field_start[i + 1].
    field_text: tuple[str, ...]
    field_words: tuple[str, ...]  # each field's distinct words, space-separated
    field_is_message: bytes
    field_start: array[int]
    # Inverted index in compressed-row form: word -> word number; for each layer, the entries
    # posting word w are entries[offsets[w]:offsets[w + 1]]. Flat arrays load as one copy.
    words: dict[str, int]
    postings: tuple[tuple[array[int], array[int]], ...]
    idf: array[float]
    unknown_idf: float
    records: dict[str, list[Record]]  # entry id -> verification records
    dirs: tuple[str, ...]
    environment: tuple[tuple[str, EnvCheck], ...] = ()  # (entry id, check) for `lazarus env`

    def by_id(self, entry_id: str) -> Entry | None:
        try:
            return self.entries[self.ids.index(entry_id)]
        except ValueError:
            return None

    def in_headlines(self, word_number: int) -> bool:
        """Whether any entry uses the word in a title, symptom, example or tag."""
        return any(
            offsets[word_number + 1] > offsets[word_number] for offsets, _ in self.postings[MESSAGE : HEADLINE + 1]
        )

    def posted(self, word_number: int, layer: int) -> array[int]:
        offsets, entries = self.postings[layer]
        return entries[offsets[word_number] : offsets[word_number + 1]]


FUZZY_FIELDS = ("title", "title_zh", "symptom", "symptom_zh")  # titles first: match reads them by position
MESSAGE_FIELDS = ("symptom", "symptom_zh")  # with the examples: what an error message is compared to


def build_index(dirs: list[Path], builtin: Path | None) -> Index:
    from lazarus.kb.load import load_kb
    from lazarus.kb.records import load_records

    result = load_kb(dirs, builtin)
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    return index_of(result.entries, result.problems, load_records(folders), folders)


def index_of(
    entries: Sequence[Entry], problems: tuple[KBProblem, ...], records: dict[str, list[Record]], folders: Sequence[Path]
) -> Index:
    """The index of entries already loaded (build_index reads them; tools vary them)."""
    from lazarus.regex.safety import required_literal

    patterns = [(i, p, *required_literal(p)) for i, entry in enumerate(entries) for p in entry.signatures]
    signatures = (
        array("I", (p[0] for p in patterns)),
        tuple(p[1] for p in patterns),
        tuple(p[2] for p in patterns),
        bytes(bool(p[3]) for p in patterns),
    )
    fields: list[tuple[bool, str]] = []
    field_start = array("I", [0])
    layers: list[list[frozenset[str]]] = [[], [], []]
    for entry in entries:
        texts = {name: getattr(entry, name) for name in FUZZY_FIELDS}
        for n, example in enumerate(entry.examples):
            texts[f"example{n}"] = example
        texts["tags"] = " ".join(entry.tags)
        normalised = {name: normalize(text) for name, text in texts.items()}
        message_names = {*MESSAGE_FIELDS, *(f"example{n}" for n in range(len(entry.examples)))}
        fields += [(name in message_names, text) for name, text in normalised.items()]
        field_start.append(len(fields))
        message: set[str] = set()
        headline: set[str] = set()
        for name, text in normalised.items():
            (message if name in message_names else headline).update(tokens(text))
        body: set[str] = set()
        for text in (*entry.causes, *entry.causes_zh, entry.fix, entry.fix_zh):
            body.update(tokens(normalize(text)))
        layers[MESSAGE].append(frozenset(message))
        layers[HEADLINE].append(frozenset(headline - message))
        layers[BODY].append(frozenset(body - headline - message))
    word_list = sorted(set().union(*(words for layer in layers for words in layer)))
    words = {word: n for n, word in enumerate(word_list)}
    postings = tuple(_postings(layer, words) for layer in layers)
    document_frequency = [0] * len(word_list)
    for offsets, _ in postings:
        for w in range(len(word_list)):
            document_frequency[w] += offsets[w + 1] - offsets[w]
    n = max(len(entries), 1)
    idf = array("d", (math.log(1 + n / df) for df in document_frequency))
    return Index(
        entries=LazyEntries.of(entries),
        ids=tuple(e.id for e in entries),
        problems=problems,
        signatures=signatures,
        field_text=tuple(text for _, text in fields),
        field_words=tuple(" ".join(dict.fromkeys(tokens(text))) for _, text in fields),
        field_is_message=bytes(flag for flag, _ in fields),
        field_start=field_start,
        words=words,
        postings=postings,
        idf=idf,
        unknown_idf=math.log(1 + n / 0.5),
        records=records,
        dirs=tuple(str(d) for d in folders),
        environment=tuple((e.id, check) for e in entries for check in e.environment),
    )


def _postings(per_entry: list[frozenset[str]], words: dict[str, int]) -> tuple[array[int], array[int]]:
    lists: list[list[int]] = [[] for _ in words]
    for entry_index, entry_words in enumerate(per_entry):
        for word in entry_words:
            lists[words[word]].append(entry_index)
    offsets = array("I", [0])
    flat = array("I")
    for posted in lists:
        flat.extend(posted)
        offsets.append(len(flat))
    return offsets, flat


def fingerprint(dirs: list[Path]) -> str:
    """Changes whenever a file is added, removed, edited or touched in any KB folder."""
    parts = [f"{__version__}:{FORMAT}"]
    for directory in dirs:
        parts.append(f"dir:{directory.resolve() if directory.exists() else directory}")
        stack = [str(directory)]
        found: list[str] = []
        while stack:
            try:
                with os.scandir(stack.pop()) as scan:
                    for item in scan:
                        if item.is_dir(follow_symlinks=False):
                            stack.append(item.path)
                        elif item.name.endswith((".yaml", ".json")):
                            try:
                                stat = item.stat()
                            except OSError:  # a dangling link: the loader reports it; the scan goes on
                                stat = item.stat(follow_symlinks=False)
                            found.append(f"{item.path}:{stat.st_mtime_ns}:{stat.st_size}")
            except OSError:
                continue
        parts += sorted(found)
    return "\n".join(parts)


def load_index(dirs: list[Path], builtin: Path | None, use_cache: bool = True) -> Index:
    """The index for these folders, from the cache when nothing changed since it was built.

    The cache file is named after the folders; inside, the full fingerprint (every file's path,
    size and mtime) is compared, so a stale index is never used.
    """
    if not use_cache:
        return build_index(dirs, builtin)
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    stamp = fingerprint(folders)
    name = zlib.crc32("\0".join(str(d) for d in folders).encode())
    path = cache_dir() / f"index-{name:08x}.pickle"
    try:
        with open(path, "rb") as handle:
            if _trusted(handle.fileno()):
                cached_stamp, index = safe_loads(handle.read())
                if cached_stamp == stamp and isinstance(index, Index):
                    return index
    except Exception:  # noqa: BLE001 - a corrupt, foreign or truncated cache is rebuilt, never fatal
        pass
    index = build_index(dirs, builtin)
    _write_cache(path, (stamp, index))
    return index


# What an index pickle may hold: lazarus's own records and the builtins they are made of. A
# planted or corrupted cache file cannot name anything else, so loading it cannot run code.
_ALLOWED = {
    "lazarus.query.index": {"Index", "LazyEntries"},
    "lazarus.model": {"Entry", "Snippet", "KBProblem", "EnvCheck"},
    "lazarus.kb.records": {"Record"},
    "array": {"array", "_array_reconstructor"},
    "builtins": {"set", "frozenset", "tuple", "list", "dict", "bytes", "bytearray", "str", "int", "float"},
    "copyreg": {"_reconstructor"},
}


class _IndexUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of an index")


def safe_loads(data: bytes) -> Any:
    import io

    return _IndexUnpickler(io.BytesIO(data)).load()


def _trusted(fd: int) -> bool:
    """A cache file written by this user and writable by nobody else; anything else is rebuilt."""
    import stat

    info = os.fstat(fd)
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _write_cache(path: Path, payload: tuple[str, Index]) -> None:
    # The cache is an optimisation: an unwritable cache folder must never break a query.
    import tempfile

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
