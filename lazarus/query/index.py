"""The compiled KB index, cached on disk and rebuilt when any entry or record file changes.

Two caches: the assembled index of a set of folders (what a query loads, one file), and, for
each KB folder, every entry file's share of the index (a `Piece`: its normalised fields, words
per layer, signature literals, and the loader's verdict). A rebuild re-reads and re-normalises
only the files added or changed since, then assembles the index from the pieces.

Building needs PyYAML and the strict checks; loading the cache needs neither, which keeps a
query's start-up small.
"""

from __future__ import annotations

import os
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence

from lazarus import cachefile
from lazarus.model import Entry, EnvCheck, KBProblem
from lazarus.query.normalize import normalize, tokens
from lazarus.settings import cache_dir, cache_folder
from lazarus.version import __version__

# pickle (which imports re, struct and codecs), math and pathlib serve only to build the index:
# a query that reads it from the cache imports none of them; nor typing (lazarus.tuples says why).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NamedTuple, TypeGuard, overload

    from lazarus.kb.load import FileVerdict
    from lazarus.kb.records import Record
else:
    from lazarus.tuples import NamedTuple

FORMAT = 58  # bump when the pickled layout, normalisation, tokens or cjk_words.txt change (a test pins them)

# Layers of the inverted index, from what errors look like outward. A word is posted once, in the
# innermost layer of an entry that uses it.
MESSAGE, HEADLINE, BODY = 0, 1, 2


class LazyEntries(Sequence[Entry]):
    """The entries, each kept pickled until it is read: a query reads three of them, and
    unpickling ten thousand entries would cost more than the whole query."""

    def __init__(self, count: int, blob: Callable[[int], bytes]) -> None:
        self._count = count
        self._blob = blob  # entry position -> its pickled Entry
        self._loaded: dict[int, Entry] = {}

    @classmethod
    def of(cls, entries: Sequence[Entry]) -> LazyEntries:
        import pickle

        return cls.of_blobs(tuple(pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL) for e in entries))

    @classmethod
    def of_blobs(cls, blobs: Sequence[bytes]) -> LazyEntries:
        return cls(len(blobs), blobs.__getitem__)

    def __len__(self) -> int:
        return self._count

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, position: int) -> Entry: ...

        @overload
        def __getitem__(self, position: slice) -> list[Entry]: ...

    def __getitem__(self, position: int | slice) -> Entry | list[Entry]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if position < 0:
            position += self._count
        if not 0 <= position < self._count:
            raise IndexError("entry position out of range")
        entry = self._loaded.get(position)
        if entry is None:
            entry = self._loaded[position] = safe_loads(self._blob(position))
        return entry

    def __iter__(self) -> Iterator[Entry]:
        return (self[i] for i in range(self._count))

    def blob(self, position: int) -> bytes:
        return self._blob(position)


class WordNumbers(Mapping[str, int]):
    """Word -> word number, kept as the sorted words in one string until many words are looked
    up: a message looks up a few dozen, and building a dict of every word the KB uses would cost
    more than its whole search. Past FIND_LIMIT distinct words (ranking a description), the dict
    is built after all."""

    FIND_LIMIT = 40

    def __init__(self, joined: str, starts: array[int]) -> None:
        self._joined = joined  # "\n" + the words in number order, each followed by "\n"
        self._starts = starts  # where each word begins in `joined`
        self._found: dict[str, int | None] = {}
        self._all: dict[str, int] | None = None

    @classmethod
    def of(cls, words: Sequence[str]) -> WordNumbers:
        starts = array("I")
        at = 1
        for word in words:
            starts.append(at)
            at += len(word) + 1
        return cls("\n" + "".join(word + "\n" for word in words), starts)

    def number(self, word: str) -> int | None:
        if self._all is not None:
            return self._all.get(word)
        if word in self._found:
            return self._found[word]
        if len(self._found) >= self.FIND_LIMIT:
            return self.as_dict().get(word)
        at = self._joined.find("\n" + word + "\n") if word and "\n" not in word else -1
        found = self._found[word] = bisect_left(self._starts, at + 1) if at >= 0 else None
        return found

    def as_dict(self) -> dict[str, int]:
        """Every word's number, for looking up many words at dict speed."""
        if self._all is None:
            self._all = dict(zip(self._joined[1:-1].split("\n"), range(len(self._starts)), strict=True))
        return self._all

    def __getitem__(self, word: str) -> int:
        found = self.number(word)
        if found is None:
            raise KeyError(word)
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.number(word) is not None

    def get(self, word: str, default: Any = None) -> Any:
        found = self.number(word)
        return default if found is None else found

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined[1:-1].split("\n") if self._starts else ())

    def parts(self) -> tuple[str, array[int]]:
        return self._joined, self._starts


# What the index is made of, each part read from the cache file only when a query first uses it.
PARTS = (
    "ids",
    "problems",
    "signatures",
    "field_text",
    "field_words",
    "field_is_message",
    "field_start",
    "field_weight",
    "words",
    "postings",
    "idf",
    "unknown_idf",
    "records",
    "dirs",
    "environment",
)


class _Part:
    """An attribute of an Index read from its part of the index the first time it is used."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, index: Index | None, owner: type | None = None) -> Any:
        return self if index is None else index.part(self._name)


if TYPE_CHECKING:

    def _part() -> Any: ...

else:
    _part = _Part


class Index:
    """The compiled KB. Read from the cache, each part is unpickled the first time it is used:
    a message that a signature answers never reads the texts compared by resemblance."""

    def __init__(self, part: Callable[[str], Any], entries: Sequence[Entry]) -> None:
        self._part = part  # part name -> its value
        self._values: dict[str, Any] = {}
        self.entries = entries

    @classmethod
    def of(cls, entries: Sequence[Entry], **parts: Any) -> Index:
        """An index held whole in memory (built, not read from the cache)."""
        missing = set(PARTS) - set(parts)
        if missing:
            raise TypeError(f"an index needs {sorted(missing)}")
        return cls(parts.__getitem__, entries)

    def part(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            value = self._values[name] = self._part(name)
            return value

    ids: tuple[str, ...] = _part()
    problems: tuple[KBProblem, ...] = _part()

    # Signatures kept as text, in columns (entry, pattern, literal, folded, general): compiling
    # every regex at start-up would cost more than a query, and columns of plain strings load
    # fastest. `literal` is a substring any match must contain (lower-cased when `folded`),
    # so that most patterns are ruled out by a plain `in` test and only the few left are compiled.
    # `general` marks an entry's general_signatures.
    signatures: tuple[array[int], tuple[str, ...], tuple[str, ...], bytes, bytes] = _part()

    # Normalised texts compared by fuzzy similarity, with a flag for those that show what an
    # error looks like (symptoms, examples); entry i owns field_start[i]:field_start[i + 1].
    field_text: tuple[str, ...] = _part()

    # Each field's distinct words, space-separated.
    field_words: tuple[str, ...] = _part()
    field_is_message: bytes = _part()
    field_start: array[int] = _part()

    # Each field's words weighed: the sum of their idf, in the order of field_words.
    field_weight: array[float] = _part()

    # Inverted index in compressed-row form: word -> word number; for each layer, the entries
    # posting word w are entries[offsets[w]:offsets[w + 1]]. Flat arrays load as one copy.
    words: Mapping[str, int] = _part()
    postings: tuple[tuple[array[int], array[int]], ...] = _part()
    idf: array[float] = _part()
    unknown_idf: float = _part()

    def records_of(self, entry_id: str) -> list[Record]:
        """An entry's verification records. Each entry's are kept pickled apart: a query shows
        three entries, and unpickling every entry's records would cost more than its ranking."""
        blob: bytes | None = self.part("records").get(entry_id)
        if blob is None:
            return []
        value: list[Record] = safe_loads(blob)
        return value

    dirs: tuple[str, ...] = _part()

    # (entry id, check) for `lazarus env`.
    environment: tuple[tuple[str, EnvCheck], ...] = _part()

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


class Piece(NamedTuple):
    """One entry's share of the index: the per-entry work (normalising every field, the words of
    each layer), done once per version of its file and cached with its folder."""

    id: str
    blob: bytes  # the pickled Entry, as LazyEntries keeps it
    signatures: tuple[tuple[str, str, bool, bool], ...]  # (pattern, required literal, folded, general)
    fields: tuple[tuple[bool, str, str], ...]  # (shows an error message, normalised text, its distinct words)
    layers: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # words posted in MESSAGE, HEADLINE, BODY
    environment: tuple[EnvCheck, ...]


def piece_of(entry: Entry) -> Piece:
    import pickle

    from lazarus.regex.safety import required_literal

    texts = {name: getattr(entry, name) for name in FUZZY_FIELDS}
    for n, example in enumerate(entry.examples):
        texts[f"example{n}"] = example
    texts["tags"] = " ".join(entry.tags)
    normalised = {name: normalize(text) for name, text in texts.items()}
    message_names = {*MESSAGE_FIELDS, *(f"example{n}" for n in range(len(entry.examples)))}
    message: set[str] = set()
    headline: set[str] = set()
    for name, text in normalised.items():
        (message if name in message_names else headline).update(tokens(text))
    body: set[str] = set()
    for text in (*entry.causes, *entry.causes_zh, entry.fix, entry.fix_zh):
        body.update(tokens(normalize(text)))
    return Piece(
        id=entry.id,
        blob=pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL),
        signatures=tuple(
            (p, *required_literal(p), general)
            for general, listed in ((False, entry.signatures), (True, entry.general_signatures))
            for p in listed
        ),
        fields=tuple(
            (name in message_names, text, " ".join(dict.fromkeys(tokens(text)))) for name, text in normalised.items()
        ),
        layers=(tuple(sorted(message)), tuple(sorted(headline - message)), tuple(sorted(body - headline - message))),
        environment=entry.environment,
    )


def build_index(dirs: list[Path], builtin: Path | None) -> Index:
    """The index read afresh from the folders, caching nothing."""
    from lazarus.kb.load import load_kb
    from lazarus.kb.records import load_records

    result = load_kb(dirs, builtin)
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    return index_of(result.entries, result.problems, load_records(folders), folders)


def index_of(
    entries: Sequence[Entry], problems: tuple[KBProblem, ...], records: dict[str, list[Record]], folders: Sequence[Path]
) -> Index:
    """The index of entries already loaded (build_index reads them; tools vary them)."""
    return assemble([piece_of(entry) for entry in entries], problems, records, folders)


def assemble(
    pieces: Sequence[Piece], problems: tuple[KBProblem, ...], records: dict[str, list[Record]], folders: Sequence[Path]
) -> Index:
    """The index of these entries' pieces, in this order: word numbers, postings, idf, columns."""
    import math

    patterns = [(i, *signature) for i, piece in enumerate(pieces) for signature in piece.signatures]
    signatures = (
        array("I", (p[0] for p in patterns)),
        tuple(p[1] for p in patterns),
        tuple(p[2] for p in patterns),
        bytes(bool(p[3]) for p in patterns),
        bytes(bool(p[4]) for p in patterns),
    )
    field_start = array("I", [0])
    for piece in pieces:
        field_start.append(field_start[-1] + len(piece.fields))
    layers = [[piece.layers[layer] for piece in pieces] for layer in (MESSAGE, HEADLINE, BODY)]
    word_list = sorted(set().union(*(words for layer in layers for words in layer)))
    words = {word: n for n, word in enumerate(word_list)}
    postings = tuple(_postings(layer, words) for layer in layers)
    document_frequency = [0] * len(word_list)
    for offsets, _ in postings:
        for w in range(len(word_list)):
            document_frequency[w] += offsets[w + 1] - offsets[w]
    n = max(len(pieces), 1)
    idf = array("d", (math.log(1 + n / df) for df in document_frequency))
    field_words = tuple(words for piece in pieces for _, _, words in piece.fields)
    return Index.of(
        LazyEntries.of_blobs(tuple(piece.blob for piece in pieces)),
        ids=tuple(piece.id for piece in pieces),
        problems=problems,
        signatures=signatures,
        field_text=tuple(text for piece in pieces for _, text, _ in piece.fields),
        field_words=field_words,
        field_is_message=bytes(flag for piece in pieces for flag, _, _ in piece.fields),
        field_start=field_start,
        # summed as the ranking used to sum them, word by word, so the same floats come out
        field_weight=array("d", (sum([idf[words[w]] for w in text.split() if w in words]) for text in field_words)),
        words=words,
        postings=postings,
        idf=idf,
        unknown_idf=math.log(1 + n / 0.5),
        records={entry_id: _pickled(found) for entry_id, found in records.items()},
        dirs=tuple(str(d) for d in folders),
        environment=tuple((piece.id, check) for piece in pieces for check in piece.environment),
    )


def _pickled(value: object) -> bytes:
    import pickle

    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _postings(per_entry: list[tuple[str, ...]], words: dict[str, int]) -> tuple[array[int], array[int]]:
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


def fingerprint(dirs: Sequence[str | os.PathLike[str]]) -> str:
    """Changes whenever a file is added, removed, edited or touched in any KB folder."""
    parts = [f"{__version__}:{FORMAT}"]
    for directory in dirs:
        # os.path, not Path methods: a query names its folders with strings (lazarus.settings)
        parts.append(f"dir:{os.path.realpath(directory) if os.path.exists(directory) else os.fspath(directory)}")
        stack = [os.fspath(directory)]
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


def load_index(
    dirs: Sequence[str | os.PathLike[str]], builtin: str | os.PathLike[str] | None, use_cache: bool = True
) -> Index:
    """The index for these folders, from the cache when nothing changed since it was built.

    The cache file is named after the folders; inside, the full fingerprint (every file's path,
    size and mtime) is compared, so a stale index is never used. A stale one is assembled again
    from each folder's cached pieces, of which only the changed files' are made anew.
    """
    if not use_cache:
        from pathlib import Path

        return build_index([Path(d) for d in dirs], Path(builtin) if builtin is not None else None)
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    stamp = fingerprint(folders)
    name = zlib.crc32("\0".join(os.fspath(d) for d in folders).encode())
    path = os.path.join(cache_folder(), f"index-{name:08x}.pickle")

    def rebuild() -> Index:
        from pathlib import Path

        index = _assemble_folders([Path(d) for d in dirs], Path(builtin) if builtin is not None else None)
        _write_index(path, stamp, index)
        return index

    return _read_index(path, stamp, rebuild) or rebuild()


# The index file: the length and checksum of its header, the header (the fingerprint, and where
# each part and each entry lies, with its checksum), then the parts, each pickled on its own, then
# the entries. A query maps the file and reads the header; a part is checked and unpickled the
# first time it is used, an entry likewise.
HEADER_AT = 8


def _write_index(path: str | os.PathLike[str], stamp: str, index: Index) -> None:
    import pickle

    chunks: list[bytes] = []
    places: dict[str, tuple[int, int, int]] = {}
    at = 0
    for name in PARTS:
        value = index.part(name)
        if name == "words":
            words = value if isinstance(value, WordNumbers) else WordNumbers.of(_in_number_order(value))
            joined, starts = words.parts()
            value = (joined, starts.tobytes())
        chunk = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        places[name] = (at, len(chunk), zlib.crc32(chunk))
        chunks.append(chunk)
        at += len(chunk)
    entry_at, entry_crc = array("Q", [at]), array("I")
    entries = index.entries
    for position in range(len(entries)):
        blob = _entry_blob(entries, position)
        chunks.append(blob)
        at += len(blob)
        entry_at.append(at)
        entry_crc.append(zlib.crc32(blob))
    header = pickle.dumps((stamp, places, entry_at.tobytes(), entry_crc.tobytes()), protocol=pickle.HIGHEST_PROTOCOL)
    size = len(header).to_bytes(4, "little") + zlib.crc32(header).to_bytes(4, "little")
    cachefile.write_bytes(path, b"".join([size, header, *chunks]))


def _entry_blob(entries: Sequence[Entry], position: int) -> bytes:
    import pickle

    if isinstance(entries, LazyEntries):
        return entries.blob(position)
    return pickle.dumps(entries[position], protocol=pickle.HIGHEST_PROTOCOL)


def _in_number_order(words: Mapping[str, int]) -> list[str]:
    return sorted(words, key=words.__getitem__)


class _IndexFile:
    """The parts and entries of an index file, read as they are used. A part or entry found
    corrupt then (the header was sound) is taken from an index rebuilt from the KB instead."""

    def __init__(
        self, data: bytes | Any, base: int, places: dict[str, tuple[int, int, int]], rebuild: Callable[[], Index]
    ):
        self._data = data  # the mapped file (or its bytes where mapping does not suit)
        self._base = base
        self._places = places
        self._rebuild = rebuild
        self._rebuilt: Index | None = None

    def chunk(self, at: int, size: int, crc: int) -> bytes | None:
        chunk = self._data[self._base + at : self._base + at + size]
        return chunk if len(chunk) == size and zlib.crc32(chunk) == crc else None

    def part(self, name: str) -> Any:
        if self._rebuilt is None:
            try:
                chunk = self.chunk(*self._places[name])
                if chunk is not None:
                    value = safe_loads(chunk)
                    return WordNumbers(value[0], _unsigned(value[1])) if name == "words" else value
            except Exception:  # noqa: BLE001,S110 - a part that does not fit is taken from a rebuild
                pass
        return self.rebuilt().part(name)

    def rebuilt(self) -> Index:
        if self._rebuilt is None:
            self._rebuilt = self._rebuild()
        return self._rebuilt


def _unsigned(data: bytes) -> array[int]:
    numbers = array("I")
    numbers.frombytes(data)
    return numbers


def _read_index(path: str, stamp: str, rebuild: Callable[[], Index]) -> Index | None:
    """The index in the cache file when its fingerprint is `stamp`; None when the file is
    missing, stale, corrupt, foreign or not trusted."""
    try:
        with open(path, "rb") as handle:
            if not cachefile.trusted(handle.fileno()):
                return None
            if os.name == "posix":
                import mmap

                # Mapped, not read: a query reads a few hundred kB of the file. A file that
                # replaces this one later leaves the mapping as it was.
                data: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            else:  # a mapped file could not be replaced while mapped
                data = handle.read()
        size, crc = int.from_bytes(data[:4], "little"), int.from_bytes(data[4:HEADER_AT], "little")
        header = data[HEADER_AT : HEADER_AT + size]
        if len(header) != size or zlib.crc32(header) != crc:
            return None
        found = safe_loads(header)
        if not (isinstance(found, tuple) and len(found) == 4 and found[0] == stamp):
            return None
        _, places, entry_at, entry_crc = found
        ends, crcs = array("Q"), _unsigned(entry_crc)
        ends.frombytes(entry_at)
        if set(places) != set(PARTS) or len(ends) != len(crcs) + 1:
            return None
    except Exception:  # noqa: BLE001 - a corrupt, foreign or truncated cache is rebuilt, never fatal
        return None
    source = _IndexFile(data, HEADER_AT + size, places, rebuild)

    def entry_blob(position: int) -> bytes:
        blob = source.chunk(ends[position], ends[position + 1] - ends[position], crcs[position])
        return blob if blob is not None else _entry_blob(source.rebuilt().entries, position)

    return Index(source.part, LazyEntries(len(crcs), entry_blob))


class FileCache(NamedTuple):
    """One entry file as its folder's cache keeps it: the loader's verdict, and the entry's piece."""

    stamp: tuple[int, int, int, int]  # (mtime_ns, size, inode, ctime_ns): any change makes it stale
    verdict: FileVerdict
    piece: Piece | None


class FolderCache(NamedTuple):
    key: str  # the lazarus version and format, the folder as given and resolved, built in or not
    files: dict[str, FileCache]  # by path, as the loader names it


def _assemble_folders(dirs: list[Path], builtin: Path | None) -> Index:
    from lazarus.kb.load import choose_entries, kb_sources
    from lazarus.kb.records import load_records

    sources = kb_sources(dirs, builtin)
    per_folder = [folder_pieces(d, b) if d.is_dir() else None for d, b in sources]
    chosen, problems = choose_entries(
        [
            (d, None if files is None else [f.verdict for f in files])
            for (d, _), files in zip(sources, per_folder, strict=True)
        ]
    )
    pieces = [piece for folder, position in chosen if (piece := _piece_at(per_folder[folder], position)) is not None]
    folders = [d for d, _ in sources]
    return assemble(pieces, tuple(problems), load_records(folders), folders)


def _piece_at(files: list[FileCache] | None, position: int) -> Piece | None:
    return files[position].piece if files is not None else None


def folder_pieces(directory: Path, builtin: bool) -> list[FileCache]:
    """Every entry file of a folder, in the loader's order, with its verdict and piece: from the
    folder's cache for the files unchanged since, loaded and made anew for the others (the
    signatures of a user's folder are timed for those only). The cache is rewritten when
    anything changed."""
    from lazarus.kb.load import entry_files, load_files

    key = f"{__version__}:{FORMAT}:{'builtin' if builtin else 'user'}:{directory}:{directory.resolve()}"
    path = cache_dir() / f"folder-{zlib.crc32(key.encode()):08x}.pickle"
    cached = _read_cache(path)
    known = (
        cached.files if isinstance(cached, FolderCache) and cached.key == key and isinstance(cached.files, dict) else {}
    )
    paths = list(entry_files(directory))
    stamps = [_stamp(p) for p in paths]
    # A signature found slow is timed again on each rebuild: a verdict made on a busy machine must
    # not outlive the load that caused it. Fast verdicts, nearly all of them, are kept.
    stale = [
        p
        for p, stamp in zip(paths, stamps, strict=True)
        if not _fresh(cached_file := known.get(str(p)), str(p), stamp) or cached_file.verdict.slow
    ]
    loaded = dict(zip(map(str, stale), load_files(stale, builtin=builtin, timed=not builtin), strict=True))
    files: dict[str, FileCache] = {}
    for p, stamp in zip(paths, stamps, strict=True):
        where = str(p)
        if where in loaded:
            entry, verdict = loaded[where]
            files[where] = FileCache(stamp, verdict, piece_of(entry) if entry is not None else None)
        else:
            files[where] = known[where]
    if stale or len(files) != len(known):
        _write_cache(path, FolderCache(key, files))
    return list(files.values())


def _fresh(cached: FileCache | None, where: str, stamp: tuple[int, int, int, int]) -> TypeGuard[FileCache]:
    """Whether a cached file is the file now there, and well formed (else it is made anew)."""
    from lazarus.kb.load import FileVerdict

    return (
        isinstance(cached, FileCache)
        and cached.stamp == stamp
        and isinstance(cached.verdict, FileVerdict)
        and cached.verdict.path == where
        and (cached.piece is None if cached.verdict.entry_id is None else isinstance(cached.piece, Piece))
    )


def _stamp(path: Path) -> tuple[int, int, int, int]:
    try:
        info = path.stat()
    except OSError:  # a dangling link: the loader reports it; its own stamp tells when it changes
        try:
            info = path.lstat()
        except OSError:
            return (-1, -1, -1, -1)
    return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns)


def _read_cache(path: Path) -> object:
    """What a folder cache file holds, or None when it is missing, corrupt, foreign or not trusted."""
    return cachefile.read(path, _ALLOWED)


# What a cache pickle may hold: lazarus's own records and the builtins they are made of. A
# planted or corrupted cache file cannot name anything else, so loading it cannot run code.
_ALLOWED = {
    "lazarus.query.index": {"Piece", "FileCache", "FolderCache"},
    "lazarus.kb.load": {"FileVerdict"},
    "lazarus.model": {"Entry", "Snippet", "KBProblem", "EnvCheck"},
    "lazarus.kb.records": {"Record"},
    "array": {"array", "_array_reconstructor"},
    "builtins": {"set", "frozenset", "tuple", "list", "dict", "bytes", "bytearray", "str", "int", "float"},
    "copyreg": {"_reconstructor"},
}


def safe_loads(data: bytes) -> Any:
    return cachefile.safe_loads(data, _ALLOWED)


def _write_cache(path: Path, payload: object) -> None:
    cachefile.write(path, payload)
