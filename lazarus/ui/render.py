"""Turning matches and entries into text for people (plain, or a coloured panel) and JSON for programs.

Every function here is pure: data in, a string out. Nothing prints.
"""

from __future__ import annotations

from collections.abc import Collection

from lazarus.i18n import labels_in
from lazarus.model import PLACEHOLDER, Diagnosis, Entry, Match
from lazarus.regex.lazy import lazy

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Any

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
        # information only: confidence() decides what is likely
        likelihood=round(match.likelihood, 3) if match.via == "fuzzy" else None,
        matched_signature=match.signature,
        matched_line=report.line if report else None,
        error=report.text if report and report.kind != "text" else None,
        user_frame=report.user_frame if report else None,
        values=dict(match.values),
        fix_here=fix_here(match, lang) or None,
    )
    order = ["id", "title", "score", "via", "confidence", "likelihood", "tags", "signatures", "symptom", "matched_line"]
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
    import json  # only --json needs it

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


# The coloured answer: a panel drawn here with ANSI codes, as rich drew it, without importing
# rich and pygments (60 ms, more than the whole query).
BOLD, DIM, RED, GREEN, YELLOW, BLUE, CYAN = "1", "2", "31", "32", "33", "34", "36"
BOLD_GREEN, BOLD_YELLOW = "1;32", "1;33"
# Python as the ansi_dark theme shows it: keywords and numbers bright blue, strings yellow,
# comments grey, builtins and the torch namespace bright cyan.
CODE_STYLES = {"keyword": "94", "number": "94", "string": "33", "comment": "90", "builtin": "96"}
KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except finally for from "
    "global if import in is lambda nonlocal not or pass raise return try while with yield".split()
)
BUILTINS = frozenset(
    "print len range int float str list dict set tuple isinstance type super enumerate zip min max sum abs "
    "any all open getattr setattr hasattr iter next sorted round torch".split()
)
_CODE_TOKENS = lazy(
    r"(?P<comment>#.*)"
    r"|(?P<string>[rRbBfFuU]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'\'\'[\s\S]*?'\'\'|\"(?:\\.|[^\"\\])*\"?|'(?:\\.|[^'\\])*'?))"
    r"|(?P<number>\b\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?j?\b)"
    r"|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)"
)


def paint(text: str, style: str) -> str:
    return f"\x1b[{style}m{text}\x1b[0m" if style and text else text


def code_tokens(line: str) -> list[tuple[str, str]]:
    """One line of Python as (text, style) pieces that join back to the line exactly."""
    pieces: list[tuple[str, str]] = []
    after_dot = False
    for found in _CODE_TOKENS.finditer(line):
        kind = found.lastgroup or "other"
        text = found.group()
        if kind == "name" and not after_dot:  # x.sum is an attribute, not the builtin sum
            kind = "keyword" if text in KEYWORDS else "builtin" if text in BUILTINS else "name"
        if kind != "space":
            after_dot = text == "."
        pieces.append((text, CODE_STYLES.get(kind, "")))
    return pieces


def code_rows(line: str, width: int) -> list[list[tuple[str, str]]]:
    """A code line in rows of at most `width` columns, broken between tokens (a token is cut
    only when it is wider than a row by itself) and continued under a marker: never cut short."""
    marker = [("↪ ", DIM)]
    rows: list[list[tuple[str, str]]] = [[]]
    used = 0
    for text, style in code_tokens(line):
        while text:
            size = cells(text)
            if used + size <= width:
                rows[-1].append((text, style))
                used += size
                break
            if used > 2 and size <= width - 2:  # the token fits on a row of its own
                rows.append(list(marker))
                used = 2
                if text.isspace():
                    break
                continue
            room = max(width - used, 1)  # a token wider than a row: cut it, keep every character
            rows[-1].append((text[:room], style))
            text = text[room:]
            rows.append(list(marker))
            used = 2
    return rows


def ansi_match(
    match: Match,
    lang: str,
    status: str,
    rank: int,
    full: bool = True,
    width: int = 80,
    color: bool = True,
    unicode: bool = True,
) -> str:
    """An answer as a panel with a title, its text wrapped at `width` columns and the fixed code
    highlighted; `color=False` draws the same panel without ANSI codes."""
    from lazarus.query.match import confidence

    labels = labels_in(lang)
    text = localized(match.entry, lang)
    inner = max(width - 4, 16)
    rows: list[tuple[str, int]] = []  # (what is printed, its width in columns)

    def styled(piece: str, style: str) -> str:
        return paint(piece, style) if color else piece

    def prose(label: str, label_style: str, body: str = "", body_style: str = "", hang: int = 0) -> None:
        for n, piece in enumerate(wrap_line(label + body, inner, hang)):
            if n == 0 and label and piece.startswith(label):
                rows.append((styled(label, label_style) + styled(piece[len(label) :], body_style), cells(piece)))
            else:
                rows.append((styled(piece, body_style), cells(piece)))

    def blank() -> None:
        rows.append(("", 0))

    prose(text["title"], BOLD)
    if match.report is not None and match.report.kind != "text":
        prose(f"{labels['matched']}: ", DIM, match.report.line, RED)
        if match.report.user_frame:
            prose(f"{labels['frame']}: ", DIM, match.report.user_frame, CYAN)
    here = fix_here(match, lang)
    if here:
        blank()
        prose(f"{labels['here']}: ", BOLD_GREEN, here)
    if full:
        blank()
        prose(f"{labels['causes']}:", BOLD_YELLOW)
        for cause in text["causes"]:
            prose(f"  • {cause}", "", hang=4)
    blank()
    prose(f"{labels['fix']}: ", BOLD_GREEN, text["fix"])
    code = fixed_code(match.entry)
    if code:
        blank()
        for line in code.splitlines():
            for row in code_rows(line, inner):
                rows.append(("".join(styled(t, s) for t, s in row), sum(cells(t) for t, _ in row)))
    blank()
    prose(status, DIM)
    if not full:
        prose(labels["more"].format(id=match.entry.id), DIM)
    top_left, top_right, bottom_left, bottom_right, across, down = list("╭╮╰╯─│" if unicode else "++++-|")
    title = f" [{rank}] {match.entry.id} · {labels[confidence(match)]} · {labels['score']} {match.score} "
    if not unicode:
        title = title.replace("·", "-")
    fill = max(width - 3 - cells(title), 0)
    border = (lambda piece: styled(piece, BLUE)) if color else (lambda piece: piece)
    lines = [border(top_left + across) + border(title) + border(across * fill + top_right)]
    for printed, size in rows:
        lines.append(f"{border(down)} {printed}{' ' * max(inner - size, 0)} {border(down)}")
    lines.append(border(bottom_left + across * (width - 2) + bottom_right))
    return "\n".join(lines)
