"""The compiled KB index, cached on disk and rebuilt when any entry or record file changes.

Building needs PyYAML and the strict checks; loading the cache needs neither, which keeps a
query's start-up small.
"""

from __future__ import annotations

import math
import os
import pickle
import zlib
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from lazarus import __version__
from lazarus.model import Entry, KBProblem
from lazarus.normalize import normalize, tokens

FORMAT = 9  # bump when the pickled layout changes


class Field(NamedTuple):
    entry: int
    name: str
    text: str  # normalised


class Signature(NamedTuple):
    """A signature kept as text: compiling every regex at start-up would cost more than a query.
    `literal` is a substring any match must contain (lower-cased when `folded`), so that most
    patterns are ruled out by a plain `in` test and only the few left are compiled."""

    entry: int
    pattern: str
    literal: str
    folded: bool


class Index(NamedTuple):
    entries: tuple[Entry, ...]
    problems: tuple[KBProblem, ...]
    signatures: tuple[Signature, ...]
    fields: tuple[Field, ...]
    # Inverted: word -> bitmask of the entries that use it (bit i: entry i). One small int per
    # word keeps the cached index small and quick to load, however many entries share a word.
    vocab: dict[str, int]  # every human field
    message_vocab: dict[str, int]  # symptoms and examples: what errors look like
    headline_vocab: dict[str, int]  # titles, symptoms, examples, tags: what an entry is about
    idf: dict[str, float]
    unknown_idf: float
    records: dict[str, list]  # entry id -> verification records
    dirs: tuple[str, ...]

    def by_id(self, entry_id: str) -> Entry | None:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        return None


FUZZY_FIELDS = ("title", "title_zh", "symptom", "symptom_zh")
MESSAGE_FIELDS = ("symptom", "symptom_zh")  # with the examples: what an error message is compared to


def build_index(dirs: list[Path], builtin: Path | None) -> Index:
    from lazarus.kb import load_kb
    from lazarus.patterns import required_literal

    try:
        from lazarus.records import load_records
    except ImportError:  # pragma: no cover - records arrive with the validator

        def load_records(_dirs: list[Path]) -> dict[str, list]:  # type: ignore[misc]
            return {}

    result = load_kb(dirs, builtin)
    entries = result.entries
    signatures = tuple(
        Signature(i, pattern, *required_literal(pattern))
        for i, entry in enumerate(entries)
        for pattern in entry.signatures
    )
    fields: list[Field] = []
    vocab: list[frozenset[str]] = []
    message_vocab: list[frozenset[str]] = []
    headline_vocab: list[frozenset[str]] = []
    for i, entry in enumerate(entries):
        texts = {name: getattr(entry, name) for name in FUZZY_FIELDS}
        for n, example in enumerate(entry.examples):
            texts[f"example{n}"] = example
        texts["tags"] = " ".join(entry.tags)
        normalised = {name: normalize(text) for name, text in texts.items()}
        fields += [Field(i, name, text) for name, text in normalised.items()]
        words: set[str] = set()
        for text in normalised.values():
            words.update(tokens(text))
        headline_vocab.append(frozenset(words))
        for text in (*entry.causes, *entry.causes_zh, entry.fix, entry.fix_zh):
            words.update(tokens(normalize(text)))
        vocab.append(frozenset(words))
        message_words: set[str] = set()
        for name in MESSAGE_FIELDS:
            message_words.update(tokens(normalised[name]))
        for n in range(len(entry.examples)):
            message_words.update(tokens(normalised[f"example{n}"]))
        message_vocab.append(frozenset(message_words))
    document_frequency: Counter[str] = Counter()
    for words in vocab:
        document_frequency.update(words)
    n = max(len(entries), 1)
    vocab_masks = _inverted(vocab)
    # The same string objects as keys of every table: pickle then stores each word once.
    idf = {word: math.log(1 + n / document_frequency[word]) for word in vocab_masks}
    canonical = {word: word for word in vocab_masks}
    message_masks = {canonical.get(word, word): mask for word, mask in _inverted(message_vocab).items()}
    headline_masks = {canonical.get(word, word): mask for word, mask in _inverted(headline_vocab).items()}
    folders = [*dirs, builtin] if builtin is not None else list(dirs)
    records = load_records(folders)
    return Index(
        entries=entries,
        problems=result.problems,
        signatures=signatures,
        fields=tuple(fields),
        vocab=vocab_masks,
        message_vocab=message_masks,
        headline_vocab=headline_masks,
        idf=idf,
        unknown_idf=math.log(1 + n / 0.5),
        records=records,
        dirs=tuple(str(d) for d in folders),
    )


def _inverted(per_entry: list[frozenset[str]]) -> dict[str, int]:
    masks: dict[str, int] = {}
    for entry_index, words in enumerate(per_entry):
        bit = 1 << entry_index
        for word in words:
            masks[word] = masks.get(word, 0) | bit
    return masks


def cache_dir() -> Path:
    base = os.environ.get("LAZARUS_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "lazarus" if base else Path.home() / ".cache" / "lazarus"


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
                            stat = item.stat()
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
            cached_stamp, index = pickle.load(handle)
        if cached_stamp == stamp and isinstance(index, Index):
            return index
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    index = build_index(dirs, builtin)
    _write_cache(path, (stamp, index))
    return index


def _write_cache(path: Path, payload: tuple[str, Index]) -> None:
    # The cache is an optimisation: an unwritable cache folder must never break a query.
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
