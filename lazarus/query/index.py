"""The compiled KB index, cached on disk and rebuilt when any entry or record file changes.

Two caches: the assembled index of a set of folders (what a query loads, one file), and, for
each KB folder, every entry file's share of the index (a `Piece`: its normalised fields, words
per layer, signature literals, and the loader's verdict). A rebuild re-reads and re-normalises
only the files added or changed since, then assembles the index from the pieces.

Building needs PyYAML and the strict checks; loading the cache needs neither, which keeps a
query's start-up small.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import zlib
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, overload

from lazarus.model import Entry, EnvCheck, KBProblem
from lazarus.query.normalize import normalize, tokens
from lazarus.settings import cache_dir
from lazarus.version import __version__

if TYPE_CHECKING:
    from lazarus.kb.load import FileVerdict
    from lazarus.kb.records import Record

FORMAT = 27  # bump when the pickled layout, normalisation, tokens or cjk_words.txt change

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


class Piece(NamedTuple):
    """One entry's share of the index: the per-entry work (normalising every field, the words of
    each layer), done once per version of its file and cached with its folder."""

    id: str
    blob: bytes  # the pickled Entry, as LazyEntries keeps it
    signatures: tuple[tuple[str, str, bool], ...]  # (pattern, required literal, folded)
    fields: tuple[tuple[bool, str, str], ...]  # (shows an error message, normalised text, its distinct words)
    layers: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # words posted in MESSAGE, HEADLINE, BODY
    environment: tuple[EnvCheck, ...]


def piece_of(entry: Entry) -> Piece:
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
        signatures=tuple((p, *required_literal(p)) for p in entry.signatures),
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
    patterns = [(i, *signature) for i, piece in enumerate(pieces) for signature in piece.signatures]
    signatures = (
        array("I", (p[0] for p in patterns)),
        tuple(p[1] for p in patterns),
        tuple(p[2] for p in patterns),
        bytes(bool(p[3]) for p in patterns),
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
    return Index(
        entries=LazyEntries(tuple(piece.blob for piece in pieces)),
        ids=tuple(piece.id for piece in pieces),
        problems=problems,
        signatures=signatures,
        field_text=tuple(text for piece in pieces for _, text, _ in piece.fields),
        field_words=tuple(words for piece in pieces for _, _, words in piece.fields),
        field_is_message=bytes(flag for piece in pieces for flag, _, _ in piece.fields),
        field_start=field_start,
        words=words,
        postings=postings,
        idf=idf,
        unknown_idf=math.log(1 + n / 0.5),
        records=records,
        dirs=tuple(str(d) for d in folders),
        environment=tuple((piece.id, check) for piece in pieces for check in piece.environment),
    )


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
    size and mtime) is compared, so a stale index is never used. A stale one is assembled again
    from each folder's cached pieces, of which only the changed files' are made anew.
    """
    if not use_cache:
        return build_index(dirs, builtin)
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    stamp = fingerprint(folders)
    name = zlib.crc32("\0".join(str(d) for d in folders).encode())
    path = cache_dir() / f"index-{name:08x}.pickle"
    cached = _read_cache(path)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == stamp and isinstance(cached[1], Index):
        return cached[1]
    index = _assemble_folders(dirs, builtin)
    _write_cache(path, (stamp, index))
    return index


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
    """What a cache file holds, or None when it is missing, corrupt, foreign or not trusted."""
    try:
        with open(path, "rb") as handle:
            if _trusted(handle.fileno()):
                data = handle.read()
                if zlib.crc32(data[:-4]).to_bytes(4, "little") == data[-4:]:
                    return safe_loads(data[:-4])
    except Exception:  # noqa: BLE001 - a corrupt, foreign or truncated cache is rebuilt, never fatal
        pass
    return None


# What a cache pickle may hold: lazarus's own records and the builtins they are made of. A
# planted or corrupted cache file cannot name anything else, so loading it cannot run code.
_ALLOWED = {
    "lazarus.query.index": {"Index", "LazyEntries", "Piece", "FileCache", "FolderCache"},
    "lazarus.kb.load": {"FileVerdict"},
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


def _write_cache(path: Path, payload: object) -> None:
    """Write atomically (a reader sees the old file or the new one, never half of one), with a
    checksum after the pickle, so that a corrupted file is refused before it is unpickled."""
    # The cache is an optimisation: an unwritable cache folder must never break a query.
    import tempfile

    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.write(zlib.crc32(data).to_bytes(4, "little"))
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
