"""Reading the knowledge base: find the folders, load each YAML entry strictly, report problems."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from lazarus.environment.rules import check_problems as environment_problems
from lazarus.environment.rules import make_checks
from lazarus.model import PLACEHOLDER, Entry, KBProblem, Snippet
from lazarus.regex.safety import regex_problem
from lazarus.settings import builtin_kb_dir, user_kb_dirs

__all__ = ["builtin_kb_dir", "load_kb", "regex_problem", "user_kb_dirs"]

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
EXCEPTION_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEVICES = ("cpu", "cuda")
MAX_ENTRY_BYTES = 256 * 1024

STR_FIELDS = ("id", "title", "title_zh", "symptom", "symptom_zh", "fix", "fix_zh")
LIST_FIELDS = ("signatures", "examples", "causes", "causes_zh", "tags", "references")
REQUIRED_FIELDS = (*STR_FIELDS, *LIST_FIELDS, "snippets")
OPTIONAL_STR_FIELDS = ("fix_here", "fix_here_zh")
OPTIONAL_LIST_FIELDS = ("general_signatures",)
SIGNATURE_FIELDS = ("signatures", "general_signatures")  # the regexes: checked, timed and captured alike
# Required in the built-in KB; in a user's folder, English alone will do.
CHINESE_TWINS = (("title", "title_zh"), ("symptom", "symptom_zh"), ("causes", "causes_zh"), ("fix", "fix_zh"))
PLACEHOLDER_RE = re.compile(PLACEHOLDER)
SNIPPET_FIELDS: dict[str, type | tuple[type, ...]] = {
    "broken": str,
    "fixed": str,
    "raises": str,
    "devices": list,
    "requires": list,
    "torch": str,
    "reproducible": bool,
    "reason": str,
    "timeout": (int, float),
}


def entry_files(directory: Path) -> Iterator[Path]:
    """Every `*.yaml` entry below a KB folder, in a stable order; `verified/` holds records."""
    for path in sorted(directory.rglob("*.yaml")):
        if "verified" not in path.relative_to(directory).parts[:1]:
            yield path


class LoadResult(NamedTuple):
    entries: tuple[Entry, ...]
    problems: tuple[KBProblem, ...]


class FileVerdict(NamedTuple):
    """What loading one entry file concluded, apart from the entry itself; plain data, so that the
    query index can cache it per file and skip unchanged files (the timing above all)."""

    path: str
    entry_id: str | None  # None when the file holds no valid entry
    problems: tuple[KBProblem, ...]
    slow: tuple[KBProblem, ...] = ()  # its signatures that took too long (when they were timed)


def load_kb(dirs: Iterable[Path], builtin: Path | None = None, time_builtin: bool = False) -> LoadResult:
    """Load user folders then the built-in KB; a user entry replaces a built-in one of the same id.

    The signatures of a user's folder are also timed on adversarial texts (a pattern can
    backtrack for ever in ways no static rule sees); the built-in KB's only when asked
    (`kb check`, and its tests)."""
    sources = kb_sources(dirs, builtin)
    loaded: list[list[tuple[Entry | None, FileVerdict]] | None] = [
        load_files(list(entry_files(d)), builtin=b, timed=not b or time_builtin) if d.is_dir() else None
        for d, b in sources
    ]
    chosen, problems = choose_entries(
        [(d, None if files is None else [v for _, v in files]) for (d, _), files in zip(sources, loaded, strict=True)]
    )
    entries = [entry for folder, position in chosen if (entry := _entry_at(loaded[folder], position)) is not None]
    return LoadResult(tuple(entries), tuple(problems))


def _entry_at(files: list[tuple[Entry | None, FileVerdict]] | None, position: int) -> Entry | None:
    return files[position][0] if files is not None else None


def kb_sources(dirs: Iterable[Path], builtin: Path | None) -> list[tuple[Path, bool]]:
    """The folders in lookup order (the user's, then the built-in KB), each with whether it is built in."""
    sources: list[tuple[Path, bool]] = [(Path(d), False) for d in dirs]
    if builtin is not None:
        sources.append((builtin, True))
    return sources


def load_files(paths: list[Path], builtin: bool, timed: bool) -> list[tuple[Entry | None, FileVerdict]]:
    """Load entry files of one folder, each on its own; with `timed`, their signatures are timed
    on adversarial texts, all in one child process, and each file's verdict kept with it."""
    loaded = [(path, *load_entry_file(path, builtin=builtin)) for path in paths]
    valid = [entry for _, entry, _ in loaded if entry is not None]
    verdicts = iter(signature_verdicts(valid) if timed else [() for _ in valid])
    return [
        (entry, FileVerdict(str(path), entry.id if entry else None, tuple(problems), next(verdicts) if entry else ()))
        for path, entry, problems in loaded
    ]


def signature_verdicts(entries: list[Entry]) -> list[tuple[KBProblem, ...]]:
    """For each entry, its signatures that take too long on an adversarial text (none: empty)."""
    from lazarus.regex.safety import slow_patterns

    owners = [
        (k, key, n, pattern)
        for k, entry in enumerate(entries)
        for key in SIGNATURE_FIELDS
        for n, pattern in enumerate(getattr(entry, key))
    ]
    verdicts: list[list[KBProblem]] = [[] for _ in entries]
    if owners:
        slow = slow_patterns([pattern for _, _, _, pattern in owners])
        for i, why in sorted(slow.items()):
            k, key, n, _ = owners[i]
            verdicts[k].append(KBProblem(entries[k].path, f"{key}[{n}]", why))
    return [tuple(v) for v in verdicts]


def choose_entries(
    folders: list[tuple[Path, list[FileVerdict] | None]],
) -> tuple[list[tuple[int, int]], list[KBProblem]]:
    """Which files' entries the KB holds, as (folder number, file number) in lookup order, and every
    problem in the order `kb check` lists them. A folder is None when it does not exist. Within a
    folder the first file of an id wins (the others are duplicates), an entry with a slow signature
    is refused, and across folders the first folder wins: a user entry replaces a built-in one."""
    problems: list[KBProblem] = []
    chosen: dict[str, tuple[int, int]] = {}
    for folder, (directory, files) in enumerate(folders):
        if files is None:
            problems.append(KBProblem(str(directory), "", "no such KB folder"))
            continue
        seen_here: dict[str, str] = {}
        kept: list[int] = []
        for position, verdict in enumerate(files):
            problems += verdict.problems
            if verdict.entry_id is None:
                continue
            if verdict.entry_id in seen_here:
                also = seen_here[verdict.entry_id]
                problems.append(KBProblem(verdict.path, "id", f"duplicate id {verdict.entry_id!r}, also in {also}"))
                continue
            seen_here[verdict.entry_id] = verdict.path
            kept.append(position)
        for position in kept:
            problems += files[position].slow
        for position in kept:
            entry_id = files[position].entry_id
            if not files[position].slow and entry_id is not None:
                chosen.setdefault(entry_id, (folder, position))
    return list(chosen.values()), problems


def load_entry_file(path: Path, builtin: bool = True) -> tuple[Entry | None, list[KBProblem]]:
    """Parse one file with the safe loader and check it field by field."""
    import yaml

    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_ENTRY_BYTES:
            # read nothing: a 100 MB entry would cost every first query seconds and gigabytes
            return None, [
                KBProblem(where, "", f"{size // 1024} KiB; an entry file holds at most {MAX_ENTRY_BYTES // 1024} KiB")
            ]
        raw_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [KBProblem(where, "", f"cannot read: {exc}")]
    alias = _first_alias(raw_text, yaml)
    if alias is not None:
        # an alias can repeat a node without end (a 1 KB "billion laughs" file expands to GBs)
        return None, [KBProblem(where, f"line {alias}", "YAML aliases (*name) are not allowed in entries")]
    try:
        # The C implementation of the safe loader when PyYAML has it: same rules, ten times faster.
        data = yaml.load(raw_text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "yaml"
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [KBProblem(where, line, f"invalid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [KBProblem(where, "", "an entry must be a mapping of fields")]
    if not builtin:
        # A team's own entry needs only English: each missing Chinese field says the English.
        data = {**{zh: data[en] for en, zh in CHINESE_TWINS if zh not in data and en in data}, **data}
    problems = check_entry_data(data, path)
    if problems:
        return None, [KBProblem(where, f, m) for f, m in problems]
    entry = Entry(
        id=data["id"],
        title=data["title"].strip(),
        title_zh=data["title_zh"].strip(),
        symptom=data["symptom"].strip(),
        symptom_zh=data["symptom_zh"].strip(),
        signatures=tuple(data["signatures"]),
        general_signatures=tuple(data.get("general_signatures", ())),
        examples=tuple(e.strip() for e in data["examples"]),
        causes=tuple(c.strip() for c in data["causes"]),
        causes_zh=tuple(c.strip() for c in data["causes_zh"]),
        fix=data["fix"].strip(),
        fix_zh=data["fix_zh"].strip(),
        snippets=tuple(make_snippet(s) for s in data["snippets"]),
        tags=tuple(data["tags"]),
        references=tuple(data["references"]),
        path=where,
        builtin=builtin,
        fix_here=data.get("fix_here", "").strip(),
        fix_here_zh=data.get("fix_here_zh", "").strip(),
        environment=make_checks(data["environment"]) if "environment" in data else (),
    )
    return entry, []


def _first_alias(text: str, yaml: Any) -> int | None:
    """The line of the first YAML alias in `text`, or None; parsed only when one may be there."""
    if "*" not in text:
        return None
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, yaml.AliasEvent):
                return int(event.start_mark.line) + 1
    except yaml.YAMLError:
        return None  # the loader reports the syntax error itself
    return None


def make_snippet(data: dict[str, Any]) -> Snippet:
    return Snippet(
        fixed=data["fixed"],
        broken=data.get("broken"),
        raises=data.get("raises"),
        devices=tuple(data.get("devices", ["cpu"])),
        requires=tuple(data.get("requires", [])),
        torch=data.get("torch"),
        reproducible=data.get("reproducible", True),
        reason=data.get("reason"),
        timeout=float(data.get("timeout", 30)),
    )


def check_entry_data(data: dict[str, Any], path: Path) -> list[tuple[str, str]]:
    """Every problem with one entry's fields, as (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    for key in data:
        if key not in (*REQUIRED_FIELDS, *OPTIONAL_STR_FIELDS, *OPTIONAL_LIST_FIELDS, "environment"):
            problems.append((str(key), "unknown field"))
    for key in REQUIRED_FIELDS:
        if key not in data:
            problems.append((key, "missing field"))
    for key in (*STR_FIELDS, *OPTIONAL_STR_FIELDS):
        value = data.get(key)
        if key in data and (not isinstance(value, str) or not value.strip()):
            problems.append((key, "must be a non-empty string"))
    for key in (*LIST_FIELDS, *OPTIONAL_LIST_FIELDS):
        value = data.get(key)
        if key not in data:
            continue
        if not isinstance(value, list):
            problems.append((key, "must be a list"))
        else:
            for item in value:
                if isinstance(item, (int, float)) and not isinstance(item, bool):
                    problems.append((key, f"{item!r} was read as a number: quote it, '{item}'"))
                elif not isinstance(item, str) or not item.strip():
                    problems.append((key, f"{item!r}: every item must be a non-empty string"))
    if problems:
        return problems

    if data["id"] != path.stem:
        problems.append(("id", f"{data['id']!r} does not match the file name {path.stem!r}"))
    if not ID_RE.match(data["id"]):
        problems.append(("id", f"{data['id']!r} is not kebab-case"))
    if not data["examples"]:
        problems.append(("examples", "needs at least one example"))
    if not data["causes"]:
        problems.append(("causes", "needs at least one cause"))
    if len(data["causes"]) != len(data["causes_zh"]):
        problems.append(("causes_zh", "must have as many items as causes"))
    if not data["tags"]:
        problems.append(("tags", "needs at least one tag"))
    for tag in data["tags"]:
        if not TAG_RE.match(tag):
            problems.append(("tags", f"{tag!r} is not a lowercase tag"))
    for ref in data["references"]:
        if not ref.startswith(("http://", "https://")):
            problems.append(("references", f"{ref!r} is not a URL"))
    patterns = [(key, data.get(key, [])) for key in SIGNATURE_FIELDS]
    for key, listed in patterns:
        for i, pattern in enumerate(listed):
            message = regex_problem(pattern)
            if message:
                problems.append((f"{key}[{i}]", message))
    if not problems:
        captured = {name for _, listed in patterns for pattern in listed for name in re.compile(pattern).groupindex}
        for key in OPTIONAL_STR_FIELDS:
            for name in PLACEHOLDER_RE.findall(data.get(key, "")):
                if name not in captured:
                    problems.append((key, f"{{{name}}} is captured by no signature: add (?P<{name}>...) to one"))
    problems += check_snippets(data["snippets"])
    if "environment" in data:
        problems += environment_problems(data["environment"])
    return problems


def is_version_range(spec: str) -> bool:
    """Whether a snippet's `torch` field is a PEP 440 version range such as `>=2.6,<3`."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return len(SpecifierSet(spec)) > 0
    except InvalidSpecifier:
        return False


def check_snippets(snippets: Any) -> list[tuple[str, str]]:
    if not isinstance(snippets, list) or not snippets:
        return [("snippets", "must be a non-empty list of snippets")]
    problems: list[tuple[str, str]] = []
    for i, snippet in enumerate(snippets):
        where = f"snippets[{i}]"
        if not isinstance(snippet, dict):
            problems.append((where, "must be a mapping"))
            continue
        for key, value in snippet.items():
            expected = SNIPPET_FIELDS.get(key)
            if expected is None:
                problems.append((f"{where}.{key}", "unknown field"))
            elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                problems.append((f"{where}.{key}", "has the wrong type"))
        if problems:
            continue
        if "fixed" not in snippet:
            problems.append((f"{where}.fixed", "missing field"))
        reproducible = snippet.get("reproducible", True)
        if reproducible and "broken" not in snippet:
            problems.append((f"{where}.broken", "missing field (or set reproducible: false with a reason)"))
        if not reproducible and not snippet.get("reason"):
            problems.append((f"{where}.reason", "required when reproducible is false"))
        if "raises" in snippet and not EXCEPTION_NAME_RE.match(snippet["raises"]):
            problems.append((f"{where}.raises", "must be an exception class name"))
        for device in snippet.get("devices", []):
            if device not in DEVICES:
                problems.append((f"{where}.devices", f"{device!r} is not one of {', '.join(DEVICES)}"))
        for module in snippet.get("requires", []):
            if not isinstance(module, str) or not EXCEPTION_NAME_RE.match(module.replace(".", "_")):
                problems.append((f"{where}.requires", f"{module!r} is not a module name"))
        spec = snippet.get("torch")
        if spec is not None and not is_version_range(spec):
            problems.append((f"{where}.torch", f"{spec!r} is not a version range like '>=2.6,<3'"))
        for part in ("broken", "fixed"):
            code = snippet.get(part)
            if code is not None:
                try:
                    compile(code, f"{where}.{part}", "exec")
                except SyntaxError as exc:
                    problems.append((f"{where}.{part}", f"line {exc.lineno}: {exc.msg}"))
    return problems
