"""The query pipeline in one place: text -> extract -> match, against the cached index."""

from __future__ import annotations

from pathlib import Path

from lazarus.extract import extract
from lazarus.index import Index, load_index
from lazarus.match import other_framework, rank
from lazarus.model import Diagnosis
from lazarus.paths import builtin_kb_dir, use_builtin_kb, user_kb_dirs


def open_index(kb_dirs: list[str] | None = None, use_cache: bool = True) -> Index:
    return load_index(*kb_folders(kb_dirs), use_cache=use_cache)


def diagnose(index: Index, text: str, limit: int = 3) -> Diagnosis:
    reports = extract(text)
    matches = rank(index, reports, limit=limit, fuzzy=not other_framework(text)) if reports else []
    return Diagnosis(query=text, reports=tuple(reports), matches=tuple(matches))


def verification_status(index: Index, entry_id: str) -> str:
    try:
        from lazarus.records import status_line
    except ImportError:  # pragma: no cover - records arrive with the validator
        return "not verified yet"
    return status_line(index.records.get(entry_id, []))


def entries_with_tag(index: Index, tag: str) -> list:
    wanted = tag.lower()
    return [entry for entry in index.entries if wanted in entry.tags]


def tag_counts(index: Index) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in index.entries:
        for tag in entry.tags:
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def kb_folders(kb_dirs: list[str] | None = None) -> tuple[list[Path], Path | None]:
    """The user's folders in lookup order, and the built-in KB unless LAZARUS_NO_BUILTIN is set."""
    return user_kb_dirs(kb_dirs or []), builtin_kb_dir() if use_builtin_kb() else None
