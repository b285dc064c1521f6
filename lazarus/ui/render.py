"""Turning matches and entries into text for people (plain or rich) and JSON for programs.

Every function here is pure: data in, a string or a rich renderable out. Nothing prints.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from lazarus.i18n import labels_in
from lazarus.model import PLACEHOLDER, Diagnosis, Entry, Match
from lazarus.regex.lazy import lazy

_PLACEHOLDER = lazy(PLACEHOLDER)


def fix_here(match: Match, lang: str) -> str:
    """The fix in the user's own values, or "" when the entry has none or a value is missing."""
    template = match.entry.fix_here_zh if lang == "zh" and match.entry.fix_here_zh else match.entry.fix_here
    values = dict(match.values)
    if not template or any(name not in values for name in _PLACEHOLDER.findall(template)):
        return ""
    return _PLACEHOLDER.sub(lambda found: values[found.group(1)], template)


def localized(entry: Entry, lang: str) -> dict[str, Any]:
    if lang == "zh":
        return {
            "title": entry.title_zh,
            "symptom": entry.symptom_zh,
            "causes": list(entry.causes_zh),
            "fix": entry.fix_zh,
        }
    return {"title": entry.title, "symptom": entry.symptom, "causes": list(entry.causes), "fix": entry.fix}


DEVICE_LINE = 'device = "cuda" if torch.cuda.is_available() else "cpu"'


def fixed_code(entry: Entry) -> str:
    """The first snippet's fixed code, made runnable as shown: the validator passes `device` in,
    so a reader gets the line that defines it, after the imports."""
    if not entry.snippets:
        return ""
    lines = entry.snippets[0].fixed.rstrip().splitlines()
    if not any("device" in line for line in lines) or any(line.startswith("device =") for line in lines):
        return "\n".join(lines)
    after_imports = 0
    for n, line in enumerate(lines):
        if line.startswith(("import ", "from ")):
            after_imports = n + 1
    lines.insert(after_imports, DEVICE_LINE)
    return "\n".join(lines)


def entry_json(entry: Entry, lang: str, status: str) -> dict[str, Any]:
    text = localized(entry, lang)
    return {
        "id": entry.id,
        "title": text["title"],
        "symptom": text["symptom"],
        "causes": text["causes"],
        "fix": text["fix"],
        "tags": list(entry.tags),
        "signatures": list(entry.signatures),
        "examples": list(entry.examples),
        "snippet": fixed_code(entry),
        "references": list(entry.references),
        "verified": status,
        "path": entry.path,
        "builtin": entry.builtin,
    }


def match_json(match: Match, lang: str, status: str) -> dict[str, Any]:
    from lazarus.query.match import confidence

    data = entry_json(match.entry, lang, status)
    report = match.report
    data.update(
        score=match.score,
        via=match.via,
        confidence=confidence(match),
        matched_signature=match.signature,
        matched_line=report.line if report else None,
        error=report.text if report and report.kind != "text" else None,
        user_frame=report.user_frame if report else None,
        values=dict(match.values),
        fix_here=fix_here(match, lang) or None,
    )
    order = ["id", "title", "score", "via", "confidence", "tags", "signatures", "symptom", "matched_line"]
    return {key: data[key] for key in order} | {k: v for k, v in data.items() if k not in order}


def error_json(diagnosis: Diagnosis | None) -> dict[str, Any] | None:
    """The error that matters most in a diagnosis, or None when the input was a description."""
    if diagnosis is None or not diagnosis.reports or diagnosis.reports[0].kind == "text":
        return None
    report = diagnosis.reports[0]
    return {"text": report.text, "line": report.line, "kind": report.kind, "user_frame": report.user_frame}


# Bumped when a field changes meaning or goes away (fields are only ever added within a version).
# docs/json-schema.json describes it.
JSON_SCHEMA_VERSION = 1


def dumps(data: dict[str, Any]) -> str:
    return json.dumps({"schema_version": JSON_SCHEMA_VERSION, **data}, ensure_ascii=False, indent=2)


def cells(text: str) -> int:
    """How many terminal columns `text` takes: Chinese and other wide characters take two."""
    if text.isascii():
        return len(text)
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in text)


# A wide character (CJK) is a word by itself, so a line may break before or after it, except
# before closing punctuation, which stays with the word it follows.
_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_CLOSING = "，。、；：！？）」』】》"
_WORDS = lazy(f"(?:[^\\s{_WIDE}]+|[{_WIDE}])[{_CLOSING}]*")


def wrap_line(line: str, width: int, indent: int) -> list[str]:
    """One line of prose in lines of at most `width` columns, continued `indent` spaces in; never
    breaks a word (a word wider than the line, a long URL, stays whole on a line of its own)."""
    if cells(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    rows: list[str] = []
    row, used = lead, cells(lead)
    prefix = " " * indent
    previous_end = len(lead)
    for found in _WORDS.finditer(line, len(lead)):
        word = found.group()
        space = line[previous_end : found.start()]  # as written: an id's padding stays
        previous_end = found.end()
        size = cells(word)
        if row.strip() and used + len(space) + size > width:
            rows.append(row)
            row, used = prefix + word, indent + size
        else:
            row += space + word
            used += len(space) + size
    rows.append(row)
    return rows


def wrap(lines: list[str], width: int | None, code: Collection[int] = ()) -> str:
    """Lines joined, prose wrapped at `width` (None: left whole, for pipes and grep) with a
    hanging indent; the lines numbered in `code` are left as they are, however long."""
    if width is None:
        return "\n".join(lines)
    width = max(width, 20)
    wrapped: list[str] = []
    for n, line in enumerate(lines):
        if n in code or not line.strip():
            wrapped.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        body = line.lstrip()
        hang = 4 if body.startswith("[") else 2
        wrapped += wrap_line(line, width, indent + hang)
    return "\n".join(wrapped)


def header(match: Match, lang: str, rank: int) -> str:
    """One line: the title, the entry, and what the score means."""
    from lazarus.query.match import confidence

    labels = labels_in(lang)
    title = localized(match.entry, lang)["title"]
    return f"[{rank}] {title}  ({match.entry.id}, {labels[confidence(match)]}, {labels['score']} {match.score})"


def plain_match(match: Match, lang: str, status: str, rank: int, full: bool = True, width: int | None = None) -> str:
    """An answer as plain text: in full (causes included), or brief, as the first answer on a
    screen shows it: what happened, the fix, the fixed code, where in your code."""
    labels = labels_in(lang)
    text = localized(match.entry, lang)
    lines = [header(match, lang, rank)]
    if match.report is not None and match.report.kind != "text":
        lines.append(f"    {labels['matched']}: {match.report.line}")
        if match.report.user_frame:
            lines.append(f"    {labels['frame']}: {match.report.user_frame}")
    here = fix_here(match, lang)
    if here:
        lines.append(f"    {labels['here']}: {here}")
    if full:
        lines.append(f"    {labels['causes']}:")
        lines += [f"      - {cause}" for cause in text["causes"]]
    lines.append(f"    {labels['fix']}: {text['fix']}")
    code = fixed_code(match.entry)
    code_lines: set[int] = set()
    if code:
        lines.append(f"    {labels['snippet']}:")
        code_lines = set(range(len(lines), len(lines) + len(code.splitlines())))
        lines += [f"      {line}" if line else "" for line in code.splitlines()]
    lines.append(f"    {status}")
    if not full:
        lines.append(f"    {labels['more'].format(id=match.entry.id)}")
    return wrap(lines, width, code_lines)


def plain_entry(entry: Entry, lang: str, status: str, width: int | None = None) -> str:
    labels = labels_in(lang)
    text = localized(entry, lang)
    lines = [f"{text['title']}  ({entry.id})", f"  {labels['symptom']}: {text['symptom']}", f"  {labels['causes']}:"]
    lines += [f"    - {cause}" for cause in text["causes"]]
    lines.append(f"  {labels['fix']}: {text['fix']}")
    code = fixed_code(entry)
    code_lines: set[int] = set()
    if code:
        lines.append(f"  {labels['snippet']}:")
        code_lines = set(range(len(lines), len(lines) + len(code.splitlines())))
        lines += [f"    {line}" if line else "" for line in code.splitlines()]
    lines.append(f"  {labels['tags']}: {', '.join(entry.tags)}")
    if entry.references:
        lines.append(f"  {labels['refs']}: " + " ".join(entry.references))
    lines.append(f"  {status}")
    return wrap(lines, width, code_lines)


def entry_line(entry: Entry, lang: str, width: int | None = None) -> str:
    line = f"{entry.id:40} {localized(entry, lang)['title']}"
    if width is None:
        return line
    return "\n".join(wrap_line(line, width, 41 if width >= 60 else 4))


def rich_match(match: Match, lang: str, status: str, rank: int, full: bool = True) -> Any:
    from rich.console import Group
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.text import Text

    from lazarus.query.match import confidence

    labels = labels_in(lang)
    text = localized(match.entry, lang)
    parts: list[Any] = [Text(text["title"], style="bold")]
    if match.report is not None and match.report.kind != "text":
        parts.append(Text.assemble((f"{labels['matched']}: ", "dim"), (match.report.line, "red")))
        if match.report.user_frame:
            parts.append(Text.assemble((f"{labels['frame']}: ", "dim"), (match.report.user_frame, "cyan")))
    here = fix_here(match, lang)
    if here:
        parts.append(Text.assemble((f"\n{labels['here']}: ", "bold green"), here))
    if full:
        parts.append(Text(f"\n{labels['causes']}:", style="bold yellow"))
        parts += [Text(f"  • {cause}") for cause in text["causes"]]
    parts.append(Text.assemble((f"\n{labels['fix']}: ", "bold green"), text["fix"]))
    code = fixed_code(match.entry)
    if code:
        parts.append(Text(""))
        parts.append(Syntax(code, "python", theme="ansi_dark", background_color="default", word_wrap=True))
    parts.append(Text(f"\n{status}", style="dim"))
    if not full:
        parts.append(Text(labels["more"].format(id=match.entry.id), style="dim"))
    title = f"[{rank}] {match.entry.id} · {labels[confidence(match)]} · {labels['score']} {match.score}"
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue")
