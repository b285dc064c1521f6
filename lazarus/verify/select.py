"""What to validate: the entries asked for, the devices to run on, and why a check is skipped here.

A check is skipped, never failed, when this machine cannot test the claim: the snippet is for
another device, CUDA is absent, the installed torch is outside the snippet's `torch` range, a
required module is missing, or the `broken` part is marked not reproducible.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from lazarus.errors import UsageError
from lazarus.kb.records import parse_version, public_version
from lazarus.model import Entry, Snippet
from lazarus.verify.results import Environment, Part, unique

DEVICE_CHOICES = ("cpu", "cuda", "all")


class NoSuchEntry(LookupError):
    """No entry has the id or tag asked for: exit 1, like `lazarus show` and `lazarus tag`."""


def select_entries(entries: Sequence[Entry], ids: Sequence[str], tag: str | None) -> list[Entry]:
    """The entries named by id (all when none), narrowed to a tag.

    NoSuchEntry for an unknown id or a tag no chosen entry has; UsageError when there is nothing
    to validate at all.
    """
    by_id = {entry.id: entry for entry in entries}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise NoSuchEntry(f"unknown entry id: {', '.join(unknown)}")
    chosen = [by_id[i] for i in unique(ids)] if ids else list(entries)
    if tag is not None:
        chosen = [entry for entry in chosen if tag in entry.tags]
        if not chosen:
            raise NoSuchEntry(f"no entry has the tag {tag!r}" + (" among the given ids" if ids else ""))
    if not chosen:
        raise UsageError("no entries to validate")
    return chosen


def devices_for(choice: str) -> tuple[str, ...]:
    """`--device` as the devices to run on: cpu, cuda, or both for `all`."""
    if choice not in DEVICE_CHOICES:
        raise UsageError(f"unknown device {choice!r}: use one of {', '.join(DEVICE_CHOICES)}")
    return ("cpu", "cuda") if choice == "all" else (choice,)


def version_allows(spec: str, version: str) -> bool:
    """Whether torch `version` satisfies a PEP 440 specifier such as `>=2.0,<2.6`.

    Only the release counts: a nightly or source build (`2.6.0a0+git1`, `2.7.0.dev20250101`)
    is taken as the release it leads to, as the KB's claims are about releases.
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    release = Version(parse_version(version).base_version)
    return SpecifierSet(spec).contains(release, prereleases=True)


def module_available(name: str) -> bool:
    """Whether a module can be found, without importing it (only its parent packages)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def skip_reason(snippet: Snippet, device: str, env: Environment) -> str | None:
    """Why this snippet cannot be checked on this device here, or None when it can."""
    if device not in snippet.devices:
        return f"snippet is for {', '.join(snippet.devices)} only, not {device}"
    if device == "cuda" and not env.cuda_available:
        return f"cuda requested but not available ({env.cuda_problem or 'no CUDA device'})"
    if snippet.torch and not version_allows(snippet.torch, env.torch):
        return f"claim holds for torch {snippet.torch}; installed {public_version(env.torch)}"
    for module in snippet.requires:
        found = module in env.found_modules if env.found_modules is not None else module_available(module)
        if not found:
            return f"requires {module}, not installed"
    return None


def part_skip_reason(snippet: Snippet, part: Part) -> str | None:
    """Why one part of a snippet that can run here is still not run, or None."""
    if part == "broken" and not snippet.reproducible:
        return f"broken not run: not reproducible ({snippet.reason or 'no reason given'})"
    if part_code(snippet, part) is None:
        return f"{part} not given"
    return None


def part_code(snippet: Snippet, part: Part) -> str | None:
    return snippet.broken if part == "broken" else snippet.fixed
