"""Turning matches and entries into text for people (plain or rich) and JSON for programs.

Every function here is pure: data in, a string or a rich renderable out. Nothing prints.
"""

from __future__ import annotations

import json
from typing import Any

from lazarus.i18n import labels_in
from lazarus.model import PLACEHOLDER, Diagnosis, Entry, Match
from lazarus.regex.lazy import lazy

_PLACEHOLDER = lazy(PLACEHOLDER)


def fix_here(match: Match, lang: str) -> str:
    """The fix in the user's own values and environment, or "" when there is nothing to say: what
    their pasted environment report fails, then the entry's fix_here when every value it uses
    was captured."""
    said = []
    if match.finding is not None:
        said.append(match.finding.says_zh if lang == "zh" else match.finding.says)
    template = match.entry.fix_here_zh if lang == "zh" and match.entry.fix_here_zh else match.entry.fix_here
    values = dict(match.values)
    if template and all(name in values for name in _PLACEHOLDER.findall(template)):
        said.append(_PLACEHOLDER.sub(lambda found: values[found.group(1)], template))
    return " ".join(said)


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


def header(match: Match, lang: str, rank: int) -> str:
    """One line: the title, the entry, and what the score means."""
    from lazarus.query.match import confidence

    labels = labels_in(lang)
    title = localized(match.entry, lang)["title"]
    return f"[{rank}] {title}  ({match.entry.id}, {labels[confidence(match)]}, {labels['score']} {match.score})"


def plain_match(match: Match, lang: str, status: str, rank: int, full: bool = True) -> str:
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
    if code:
        lines.append(f"    {labels['snippet']}:")
        lines += [f"      {line}" if line else "" for line in code.splitlines()]
    lines.append(f"    {status}")
    if not full:
        lines.append(f"    {labels['more'].format(id=match.entry.id)}")
    return "\n".join(lines)


def plain_entry(entry: Entry, lang: str, status: str) -> str:
    labels = labels_in(lang)
    text = localized(entry, lang)
    lines = [f"{text['title']}  ({entry.id})", f"  {labels['symptom']}: {text['symptom']}", f"  {labels['causes']}:"]
    lines += [f"    - {cause}" for cause in text["causes"]]
    lines.append(f"  {labels['fix']}: {text['fix']}")
    code = fixed_code(entry)
    if code:
        lines.append(f"  {labels['snippet']}:")
        lines += [f"    {line}" if line else "" for line in code.splitlines()]
    lines.append(f"  {labels['tags']}: {', '.join(entry.tags)}")
    if entry.references:
        lines.append(f"  {labels['refs']}: " + " ".join(entry.references))
    lines.append(f"  {status}")
    return "\n".join(lines)


def entry_line(entry: Entry, lang: str) -> str:
    return f"{entry.id:40} {localized(entry, lang)['title']}"


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
        parts.append(Syntax(code, "python", theme="ansi_dark", background_color="default"))
    parts.append(Text(f"\n{status}", style="dim"))
    if not full:
        parts.append(Text(labels["more"].format(id=match.entry.id), style="dim"))
    title = f"[{rank}] {match.entry.id} · {labels[confidence(match)]} · {labels['score']} {match.score}"
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue")
