"""Finding the error that matters in pasted text or a noisy log.

The result is a list of ErrorReports, most telling first: the root of the last failure (a
DataLoader worker's original error, the first exception of a chain, an error line printed just
before the traceback), then the exception the run died with, then older failures. Text with no
error in it comes back as one report of kind "text", to be ranked as a description.
"""

from __future__ import annotations

import bisect
import re
import warnings

from lazarus.model import ErrorReport, ReportKind
from lazarus.query.normalize import STOPWORDS, chinese_characters, domain_words, speaks_domain
from lazarus.regex.lazy import lazy

MAX_LINE = 4096  # longer lines are cut: no pattern ever sees more
MAX_MESSAGE_LINES = 24
MAX_MESSAGE_CHARS = 4096
NEARBY_LINES = 40  # error lines this close before a traceback belong to its failure

_ANSI = lazy(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,400}(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_PREFIX = lazy(
    r"^(?:\s*\[(?:rank|default|local_rank|worker)\d+\]:\s?"  # torchrun / DDP rank prefixes
    # mpirun / horovodrun: `[1,0]<stderr>:`, with --timestamp-output `Fri Sep 25 16:52:57 2020[1]<stderr>:`
    r"|(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})?\[\d+(?:,\d+)?\]<std(?:err|out)>:"
    # a logging record's time, level and logger: `2023-08-25 08:59:20 | ERROR | stderr | `,
    # `2023-08-25 08:59:20,123 - root - ERROR - `, `[2023-08-25 08:59:20,123][root][ERROR] - `
    r"|(?:\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4})[ T]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?"
    r"(?:\s{0,3}[|-]\s{0,3}[\w.\-]{1,40}){0,4}\s{0,3}[|-]\s?"
    r"|\[\d{4}-\d\d-\d\d[^\]]{0,30}\](?:\[[\w.\-]{1,40}\]){0,3}(?:\s?-)?\s?"
    r"|E {2,}|E\t"  # pytest's failure lines
    r"|\d+: (?=\S)(?=Traceback|\s*File|\[|[A-Z]\w*(?:Error|Exception))"  # `0: ` torchrun node prefix
    r")+"
)
_PREFIX_STARTS = frozenset("[E0123456789MTWFS")
# A Markdown or e-mail quote of the log (`> Traceback ...`, `> > File ...`); not a REPL's `>>>`.
_QUOTE = lazy(r"^(?:>(?: |$))+")
# A line that starts a new log record (a timestamp, glog's `W0715 16:05:06`, logging's default
# `WARNING:name:`): what follows an exception's message from here on is another record, not more
# of the message ("2022-07-15 16:05:06.789337: W tensorflow/... Could not load dynamic library").
_LOG_RECORD = lazy(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\[?[IWEF]\d{4} \d\d:\d\d:\d\d"
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]+:)"
)
# Searched, not anchored: progress bars often leave the header glued to the end of their line.
_TRACEBACK = lazy(r"(?:^|\W|\^C)(Original )?Traceback \(most recent call last\)")  # ^C: the echo of Ctrl-C
_FRAME = lazy(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?')
_IPYTHON_FRAME = lazy(
    r"^(?:Cell (?P<cell>In ?\[\d*\]), line (?P<line>\d+)|(?P<path>[^\s]+\.py):(?P<pyline>\d+)"
    r"|(?P<old>\S+) in [\w<>.]+\()"
)
_CHAIN = lazy(
    r"^\s*(During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:)"
)
_QUALNAME = r"(?:[A-Za-z_]\w*\.){0,6}[A-Za-z_]\w*"
_QUALNAME_PATTERN = r"(?:[A-Za-z_]\w*\.){0,6}[A-Z]\w*?"
# After a traceback's frames, any `Name: message` or bare `Name` line ends it.
_EXC_AFTER_FRAMES = lazy(rf"^(?P<type>{_QUALNAME})(?::\s?(?P<msg>.*))?$")
# Anywhere else, only names that look like exceptions count.
_EXC_NAMED = lazy(
    rf"^(?P<type>{_QUALNAME}(?:Error|Exception|Exit|Interrupt|Warning|Failed|Failure|Fault))"
    r"(?::\s?(?P<msg>.*))?$"
)
_MARKDOWN_LINK = lazy(r"\[([^\]]{1,300})\]\([^)\s]{0,300}\)")
_EXC_INSIDE = lazy(rf"(?:^|[\s:>\]\"'`(\[])(?P<type>{_QUALNAME}(?:Error|Exception)): (?=\S)")
_IPYTHON_EXC = lazy(rf"^(?P<type>{_QUALNAME}(?:Error|Exception|Warning))\s+Traceback \(most recent")
_WARNING_LINE = lazy(rf"^(?P<loc>.+?:\d+): (?P<type>{_QUALNAME}Warning): (?P<msg>.*)$")
# A line that names an error class without the `Name: message` form; a bare
# `file.py:12: RuntimeError` names one but says nothing, so something must follow it.
# So does a logger's error label (`ERROR: ...`, `error: ...`, `FATAL`).
_ERROR_WORD = lazy(r"[A-Za-z]+(?:Error|Exception)\b(?!\s*$)|\b(?:ERROR|FATAL|CRITICAL)\b|(?:^|[:\]]\s?)error:")
_ERROR_LINE = lazy(
    r"\b(?:error|fatal|critical|panic|killed|aborted|segmentation fault|bus error|core dumped"
    r"|out of memory|nan|inf|failed|failure)\b",
    re.IGNORECASE,
)
_SIGNAL_LINE = lazy(
    r"\b(?:killed|segmentation fault|bus error|aborted)(?: \(core dumped\))?[!.]*\s*$"
    r"|signal \d+ \((?:SIG[A-Z]+)\)|exitcode\s*:\s*-\d+"
    # bash's job report puts the command after it: "bash: line 1: 12013 Segmentation fault
    # (core dumped) env ... python3 train.py"
    r"|(?:segmentation fault|bus error|aborted)\s*\(core dumped\)",
    re.IGNORECASE,
)
# The same shell messages under a Chinese locale (bash, zh_CN), read as the C locale prints them:
# that is what _SIGNAL_LINE and the entries know (a space keeps "进程已杀死" two words).
_C_LOCALE_WORDS = {
    "已杀死": " Killed",
    "段错误": " Segmentation fault",
    "总线错误": " Bus error",
    "已放弃": " Aborted",
    "核心已转储": "core dumped",
}
_C_LOCALE_SIGNAL = lazy("|".join(_C_LOCALE_WORDS))
# A cheap test that skips the ordinary lines of a log before any costly pattern runs
# (substring tests: Python's re is slow at case-insensitive alternations).
_HINTS = (
    "error",
    "exception",
    "warning",
    "fatal",
    "critical",
    "panic",
    "kill",
    "abort",
    "segmentation",
    "core dump",
    "signal",
    "out of memory",
    "nan",
    "inf",
    "fail",
    "exitcode",
    *_C_LOCALE_WORDS,
)


def _has_hint(line: str) -> bool:
    low = line.lower()
    return any(hint in low for hint in _HINTS)


_DROP_FRAME = lazy(
    r"(?:site-packages|dist-packages|[\\/]torch[\\/]|[\\/]lib[\\/]python\d|<frozen |"
    r"[\\/]Lib[\\/]|^<string>$|^<stdin>$|[\\/]multiprocessing[\\/]|[\\/]runpy\.py$)"
)


_TYPOGRAPHIC = str.maketrans(
    {
        **{"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2032": "'"},
        # A Chinese input method's colon and brackets inside a pasted message ("RuntimeError：")
        **{"\uff1a": ": ", "\uff08": "(", "\uff09": ")"},
    }
)
# ... and its full stop where a message has a dot ("torch。cuda.is_available() is False。")
_IDEOGRAPHIC_STOP = lazy(r"(?<=[A-Za-z0-9_)\]'\"])\u3002")
# A message that somebody goes on from in Chinese on its line ("... CUDA out of memory。 如果将 ...")
# ends with its sentence: the messages torch and its libraries print are not followed by Chinese.
_CHINESE_AFTER_STOP = lazy(r"(?<=[A-Za-z0-9_)\]'\"][.!?])\s*(?=[\u3400-\u9fff])")


class _Failure:
    """One chain of tracebacks (exceptions linked by chaining markers) and nearby error lines."""

    def __init__(self, start: int, reports: list[ErrorReport] | None = None) -> None:
        self.start = start
        self.reports: list[ErrorReport] = reports if reports is not None else []


def clean_lines(text: str) -> list[str]:
    """Split like a terminal shows it: ANSI codes removed, \\r starts a new line, prefixes dropped."""
    lines = []
    for raw in _unwrapped(text.splitlines()):
        line = raw[:MAX_LINE]
        if not line.isascii():
            # Forums and issue renderers turn quotes typographic: signatures are written with
            # the ASCII quotes that torch prints.
            line = _IDEOGRAPHIC_STOP.sub(".", line.translate(_TYPOGRAPHIC))
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        if line[:1] == ">":
            line = _QUOTE.sub("", line, count=1)
        if line.lstrip()[:1] in _PREFIX_STARTS:
            line = _PREFIX.sub("", line, count=1)
        flattened = "Traceback (most recent call last)" in line and _FLATTENED.search(line)
        if flattened or (line.count('File "') > 1 and _HEADLESS_FLATTENED.search(line)):
            lines += _unflatten(line)
            continue
        if line[:1] in _BOX_EDGES:
            lines += _from_rich_box(line)
            continue
        lines.append(line.rstrip())
    return _as_python_prints(lines)


# A terminal, a pager or a job scheduler's log viewer that hard-wraps at its width W leaves every long
# line cut into pieces of exactly W characters, often in the middle of a word ("Watchdog caught colle"
# / "ctive operation timeout"). W is at least a narrow terminal's width.
WRAP_MIN_WIDTH = 80


def _unwrapped(lines: list[str]) -> list[str]:
    """The lines as they were printed, where the paste was hard-wrapped at a fixed width: the widest
    lines, all of one width, cut a word in two at least once (a lowercase letter on both sides
    of the cut), are joined to the line that follows them."""
    width = max(map(len, lines), default=0)
    if width < WRAP_MIN_WIDTH:
        return lines
    at_width = [i for i, line in enumerate(lines[:-1]) if len(line) == width]
    if len(at_width) < 2 or not any(
        lines[i][-1:].islower() and lines[i + 1][:1].islower() and lines[i][-1:].isascii() for i in at_width
    ):
        return lines
    joined: list[str] = []
    carry = ""
    for line in lines:
        if carry and not line:
            joined.append(carry)
            carry = ""
        if len(line) == width:
            carry += line
            continue
        joined.append(carry + line)
        carry = ""
    if carry:
        joined.append(carry)
    return joined


# ComfyUI's console and web page: "Error occurred when executing KSampler:", a blank line, then
# the exception's message alone (str(e), no class), then the frames with no indentation.
_NODE_FAILED = lazy(r"^Error occurred when executing [^:]{1,120}:$")
# ... and its "ComfyUI Error Report" (what its issue template asks for): the exception's class and
# message as two Markdown list items, "- **Exception Type:** RuntimeError", "- **Exception Message:** ..."
_REPORT_FIELD = lazy(r"^\W{0,6}Exception (?P<field>Type|Message):?\**:?\s*(?P<value>.*)$")


def _as_python_prints(lines: list[str]) -> list[str]:
    """Tracebacks that a program printed its own way, rewritten as Python prints them: one
    indented as a whole (stable-diffusion-webui prints it under "*** Error completing request"),
    whose exception line then looked like source code; ComfyUI's node failure, whose message is
    joined to its header so that it reads as one error line; and ComfyUI's error report, whose
    exception class and message are two fields of a list."""
    if not any(
        ("Traceback" in line and line[:1].isspace()) or line.startswith("Error occurred") or "Exception Type" in line
        for line in lines
    ):
        return lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if indent and stripped.startswith("Traceback (most recent call last)"):
            # the block under an indented header, up to the first line indented less
            out.append(stripped)
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i][:indent].isspace()):
                out.append(lines[i][indent:])
                i += 1
            continue
        if _NODE_FAILED.match(line):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            said: list[str] = []
            while j < len(lines) and lines[j].strip() and not _FRAME.match(lines[j]) and len(said) < 5:
                said.append(lines[j].strip())
                j += 1
            out.append(" ".join([line, *said]))
            i = j
            continue
        field = _REPORT_FIELD.match(line) if "Exception Type" in line else None
        value = _REPORT_FIELD.match(lines[i + 1]) if field and i + 1 < len(lines) else None
        if field and value and field["field"] == "Type" and value["field"] == "Message":
            out.append(f"{field['value'].strip('* ')}: {value['value']}")
            i += 2
            continue
        out.append(line)
        i += 1
    return out


# rich's box-drawn traceback (typer, FastChat, Lightning CLI): its frames read as Python's
_BOX_EDGES = frozenset("╭│╰")
_RICH_FRAME = lazy(r"^(?P<path>\S.*?):(?P<line>\d+) in (?P<func>[\w<>.]+)$")
_RICH_FAILING = lazy(r"^❱\s*\d+\s*│\s*(?P<code>.*)$")


def _from_rich_box(line: str) -> list[str]:
    """One line of a rich traceback box as the line Python would print, or none for its border,
    its blank lines and the source around the failing line."""
    if line.startswith("╭"):
        return ["Traceback (most recent call last):"] if "Traceback (most recent call last)" in line else []
    if line.startswith("╰"):
        # its bottom border, or a resolver's tree ("╰─▶ Because torch==2.6.0 has no wheels ...", uv)
        rest = line.strip("╰─▶╯ ")
        return [rest] if rest else []
    inner = line.strip().strip("│").strip()
    frame = _RICH_FRAME.match(inner)
    if frame:
        return [f'  File "{frame["path"]}", line {frame["line"]}, in {frame["func"]}']
    failing = _RICH_FAILING.match(inner)
    if failing:
        return ["    " + failing["code"].replace("│", " ").strip()]
    return []


# A traceback that lost its line breaks (a chat message, a one-line log record, a forum's paste)
_FLATTENED = lazy(r'Traceback \(most recent call last\):?\s+File "')
# ... pasted from its middle, the header cut off: two frames on one line say what it is
_HEADLESS_FLATTENED = lazy(r'File "[^"]+", line \d+, in \S+.{0,2000}?\s+File "[^"]+", line \d+')
_FRAME_STARTS = lazy(r'\s+(?=File "[^"]+", line \d+)')
_FRAME_SOURCE = lazy(r'^(File "[^"]+", line \d+, in [\w<>.]+)\s+(\S.*)$')
_FINAL_EXCEPTION = lazy(rf"\s(?=(?:{_QUALNAME_PATTERN})(?:Error|Exception|Exit|Interrupt|Warning)\b:?(?:\s|$))")
# `raise ValueError("...` / `raise AssertionError(f"... {x}` shown as a frame's source line
_RAISE = lazy(rf"""^raise (?P<type>{_QUALNAME})\([rRfFbBuU]{{0,2}}["'](?P<msg>[^"']*)""")
_FORMAT_FIELD = lazy(r"\{[^{}]*\}?")
_HAS_WORD = lazy(r"[^\W_]")  # a line of dots or backticks ("......", a Markdown fence) says nothing


def _unflatten(line: str) -> list[str]:
    """The lines of a traceback flattened onto one: the header, each frame and its source line,
    then the exception."""
    head, *frames = _FRAME_STARTS.split(line.rstrip())
    if head.lstrip().startswith('File "'):  # no header: the paste begins with a frame
        head, frames = "Traceback (most recent call last):", [head.lstrip(), *frames]
    exception = ""
    if frames:
        starts = [found.start() for found in _FINAL_EXCEPTION.finditer(frames[-1])]
        if starts:
            frames[-1], exception = frames[-1][: starts[-1]], frames[-1][starts[-1] + 1 :]
    result = [head]
    for frame in frames:
        result += _frame_lines(frame)
    return [*result, exception] if exception else result


def _frame_lines(frame: str) -> list[str]:
    found = _FRAME_SOURCE.match(frame)
    if found is None:
        return ["  " + frame]
    return ["  " + found.group(1), "    " + found.group(2)]


def extract(text: str) -> list[ErrorReport]:
    """The errors in `text`, most telling first; a lone description when there is no error."""
    lines = clean_lines(text)
    if len(lines) > MAX_SCANNED_LINES:
        lines = _bounded(lines)
    failures, standalone = _scan(lines)
    ordered: list[ErrorReport] = []
    used_lines: set[int] = set()
    # Standalone reports come in line order: the ones near a failure are found by bisection, so
    # a log of many tracebacks and many error lines costs their sum, not their product.
    standalone_at = [r.line_number for r in standalone]
    for failure in reversed(failures[-MAX_FAILURES:]):
        low = bisect.bisect_left(standalone_at, failure.start - NEARBY_LINES)
        nearby = standalone[low : bisect.bisect_left(standalone_at, failure.start, low)]
        group = nearby + failure.reports
        # Roots first: a worker's original error, the first exception of a chain, a line before it.
        group.sort(key=_root_first)
        for report in group:
            if report.line_number not in used_lines:
                used_lines.add(report.line_number)
                ordered.append(report)
    later = [r for r in standalone if r.line_number not in used_lines]
    last_failure_end = max((r.line_number for f in failures for r in f.reports), default=-1)
    after = [r for r in later if r.line_number > last_failure_end]
    before = [r for r in later if r.line_number <= last_failure_end]
    # What killed the process (a signal) outranks the traceback; other lines after it are summaries.
    signals = [r for r in after if r.kind == "signal"]
    after = [r for r in after if r.kind != "signal"]
    ordered = list(reversed(signals[-3:])) + ordered + list(reversed(after[-5:])) + list(reversed(before[-5:]))
    kept = [(n, line.strip()) for n, line in enumerate(lines) if line.strip()]
    if len(kept) <= MAX_TEMPLATE_LINES:
        # An issue template's headings, check boxes and version fields are nobody's description.
        kept = [(n, line) for n, line in kept if not _is_template(line)]
    if not any(report.kind in EXCEPTION_KINDS - {"log-line", "mention"} for report in ordered):
        # ... nor is the command somebody ran: its words are a program's arguments.
        kept = _without_commands(kept) or kept
    if any(report.kind in EXCEPTION_KINDS - {"log-line", "mention"} for report in ordered):
        return ordered + _context(kept)
    # A traceback's frames and the source lines under them (one cut before its exception line)
    # are nobody's words: ranked as a description, their paths reached entries by chance.
    pasted, kept = kept, _without_frames(lines, kept)
    # No exception: a description, or a log whose lines only mention trouble. Somebody's words
    # are ranked as a description too, the whole text and its first lines (an issue's title, a
    # question), even when a sentence names an error class ("it reports a runtimeError that").
    # One or two lines whose only sign of trouble is a word ("raises an error", "loss is nan")
    # are somebody's words too: a log holds more.
    keyword_lines_only = all(report.kind == "log-line" for report in ordered)
    message_like = _MESSAGE_LIKE.search(text) is not None and _function_word_share(text) < MESSAGE_FUNCTION_WORDS
    written = _written(kept)
    prose = _looks_like_prose(written) or (len(kept) <= 2 and keyword_lines_only and not message_like)
    if ordered and not prose:
        # the paste as a whole, frames and all: a signature may know the `raise` line it was cut at
        return ordered + _context(pasted)
    if (
        not ordered
        and len(kept) >= 3
        and not prose
        and not names_torch(text)
        # (tokenised again only here, for the few texts that reach this test)
        and domain_words(text, OUTPUT_DOMAIN_WORDS) < OUTPUT_DOMAIN_WORDS
    ):
        # Several lines of a tool's output (another language's stack trace, a build log) that
        # neither name torch, nor speak of training (terse sentences with few function words:
        # "FP16 training sample output black image"), nor hold an error we know the shape of:
        # compared as an error message, not as somebody's words.
        whole = "\n".join(line for _, line in kept[-MAX_DESCRIPTION_TEXT_LINES:])[-MAX_MESSAGE_CHARS:]
        return [ErrorReport(text=whole, line=_last_line(whole), line_number=0, kind="output")]
    return ordered + _descriptions(kept if _short(kept) else written)


def holds_frames(text: str) -> bool:
    """Whether the text shows a traceback's frames (`File "train.py", line 3, in <module>`)."""
    return 'File "' in text and any(_is_frame(line) for line in clean_lines(text))


def _is_frame(line: str) -> bool:
    return 'File "' in line and _FRAME.match(line) is not None


def _without_commands(kept: Lines) -> Lines:
    """The lines that are not a shell command nor the continuation lines of one (`deepspeed ...
    train.py \\` then `--lr 5e-05 \\`, ...): a long command made a question look like a log."""
    result: Lines = []
    continued = False
    for n, line in kept:
        command = continued or (_COMMAND.match(line) is not None and not _sentence(line))
        continued = command and line.endswith(("\\", "^", "`"))
        if not command:
            result.append((n, line))
    return result


def _sentence(line: str) -> bool:
    """Somebody's sentence that begins with a tool's name ("deepspeed 多卡训练卡住", "pip install
    fails when ..."), not the tool's command line."""
    return chinese_characters(line) >= 2 or _function_word_share(line) >= 0.2


def _without_frames(lines: list[str], kept: Lines) -> Lines:
    frames = {n for n, line in enumerate(lines) if _is_frame(line)}
    if not frames:
        return kept
    shown_code = {n + 1 for n in frames if n + 1 < len(lines) and _indent(lines[n + 1]) > _indent(lines[n])}
    return [
        (n, line)
        for n, line in kept
        if n not in frames and n not in shown_code and not _TRACEBACK.match(line) and _HAS_WORD.search(line)
    ]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _written(kept: Lines) -> Lines:
    """The lines somebody wrote, without the code and printed output a question quotes: they
    tell whether a text is a description. A forum question that quotes its training loop is long
    and poor in function words; its sentences are neither. A text longer than a template is a
    log, taken as it is."""
    if len(kept) > MAX_TEMPLATE_LINES:
        return kept
    return [
        (n, line) for n, line in kept if not _is_code(line) and not _is_output(line) and not _is_setting(line)
    ] or kept


def _bounded(lines: list[str]) -> list[str]:
    """A bound on work, not only on bytes, for a log of very many short lines: its head (where
    the log reader puts a traceback that scrolled out of the tail), the last traceback in the
    middle, and its tail."""
    tail_start = len(lines) - (MAX_SCANNED_LINES - 2 * HEAD_LINES)
    middle = range(tail_start - 1, HEAD_LINES - 1, -1)
    last = next((n for n in middle if "Traceback (most recent call last)" in lines[n]), None)
    region = lines[last : min(last + HEAD_LINES, tail_start)] if last is not None else []
    return [*lines[:HEAD_LINES], "...", *region, "...", *lines[tail_start:]]


def names_torch(text: str) -> bool:
    return "torch" in text.lower()


# Reports ranked as error messages; "text" reports are ranked as descriptions.
EXCEPTION_KINDS = frozenset(
    {"exception", "worker-exception", "chained", "error-line", "mention", "warning", "signal", "log-line", "output"}
)
MAX_DESCRIPTION_LINES = 3
OUTPUT_DIGITS = 0.25  # of a line's characters: a title or question holds a version or two at most
MAX_DESCRIPTION_TEXT_LINES = 25
OUTPUT_DOMAIN_WORDS = 3  # different words of our domain: a Go panic says "memory" at most, a question says many
MAX_FAILURES = 64  # the last tracebacks of a log; earlier ones are history
MAX_SCANNED_LINES = 20_000
HEAD_LINES = 2_000
MAX_TEMPLATE_LINES = 200  # longer, a text is a log: no issue template to take apart
MESSAGE_FUNCTION_WORDS = 0.12  # a program's message has few "the", "is", "to"; a sentence more


_LATIN_WORD = lazy(r"[A-Za-z]+")
# Signs of a program's message rather than somebody's words: a file, a call, a qualified name,
# a version pin, a C++ scope, an identifier with an underscore.
_MESSAGE_LIKE = lazy(r"\w\.py\b|\w\.\w+\.\w|==|::|\b[a-z]+_[a-z_]+\b|\.so\b|\(s\)")
# The non-empty lines of a paste, stripped, with their numbers.
Lines = list[tuple[int, str]]


# The parts of an issue template (GitHub's bug report, PyTorch's, Hugging Face's, Chinese ones)
_TEMPLATE_HEADING = lazy(
    r"(?i)^[\W_]*(?:(?:describe|description of) the (?:bug|problem|issue)|(?:bug|problem|issue) description"
    r"|(?:steps )?to reproduce(?: the behaviou?r)?|expected (?:behaviou?r|result)|actual (?:behaviou?r|result)"
    r"|environment|system info(?:rmation)?|additional (?:context|information)|reproduction|error (?:message|log)s?"
    r"|(?:full )?(?:error )?(?:traceback|logs?|output)|versions?|who can help\??|information|tasks|search before asking"
    r"|reminder|code(?: sample| snippet)?|minimal reproducible example|screenshots?|other (?:information|context)"
    r"|motivation|question|checklist|what happened\??|what you expected to happen\??"
    r"|问题描述|复现步骤|复现方法|环境(?:信息)?|期望(?:行为|结果)|错误信息|报错信息|其他信息|运行环境)[\W_]*$"
)
_TEMPLATE_CHECKBOX = lazy(r"^\s*[-*]\s*\[[ xX]\]")
# `- PyTorch Version: 2.1.0`, `OS: Ubuntu 22.04`, `CUDA/cuDNN version: 12.1`: a fact, not somebody's words
_TEMPLATE_FIELD = lazy(
    r"(?i)^\s*[-*]?\s*(?:py)?(?:torch|python|cuda|cudnn|os|gpu|nvidia driver|driver|numpy|torchvision|platform"
    r"|how you installed \w+|build command you used|gpu models and configuration|any other relevant information"
    r")(?:[ /-][A-Za-z]+){0,3}(?: \([^)]{0,40}\))?\s*:\s*\S.{0,60}$"
)


# A code fence, an HTML tag or a template's placeholder (`<Paste your code here>`) alone on a line
_MARKUP_ONLY = lazy(r"^\s*(?:`{3,}[\w+-]*|</?[A-Za-z][^>]{0,40}>|<[^<>]{1,60}>)\s*$")


def _is_template(line: str) -> bool:
    return any(p.match(line) for p in (_TEMPLATE_HEADING, _TEMPLATE_CHECKBOX, _TEMPLATE_FIELD, _MARKUP_ONLY))


def _short(kept: Lines) -> bool:
    return 0 < len(kept) <= MAX_DESCRIPTION_TEXT_LINES  # longer, a text is a log, not a description


def _looks_like_prose(kept: Lines) -> bool:
    """Sentences somebody wrote (in Chinese, or English rich in function words), not a tool's
    output: only then are a text's keyword lines ("loss becomes nan") a description."""
    if not _short(kept):
        return False
    text = "\n".join(line for _, line in kept)
    if chinese_characters(text) >= 4:
        return True
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    # A question is somebody's words however few of them are "the" or "is" ("GPU memory usage
    # grows continually over time. Is it natural?").
    asks = any(line.endswith("?") and len(_LATIN_WORD.findall(line)) >= 3 for _, line in kept)
    return len(words) >= 3 and (_function_word_share(text) >= 0.2 or asks)


def _function_word_share(text: str) -> float:
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    return sum(w in STOPWORDS for w in words) / len(words) if words else 0.0


def _context(kept: Lines) -> list[ErrorReport]:
    """A short paste as a whole, searched by signatures only: a message quoted in a question
    without its exception class ("The ValueError is followed: Using a target size ...") is then
    still recognised. A long log is not: its errors are what matters."""
    if not _short(kept):
        return []
    whole = "\n".join(line for _, line in kept)[-MAX_MESSAGE_CHARS:]
    return [ErrorReport(text=whole, line=_last_line(whole), line_number=0, kind="context")]


def _descriptions(kept: Lines) -> list[ErrorReport]:
    """The whole of a short text as a description, and those of its first lines that speak of the
    problem (an issue's title, a question) each on its own: a greeting or a heading ("Hello all,",
    "技术环境") names nothing of the domain; ranked alone, it reached entries by chance."""
    if not _short(kept):
        return []
    whole = "\n".join(line for _, line in kept)
    reports = [ErrorReport(text=whole[-MAX_MESSAGE_CHARS:], line=_last_line(whole), line_number=0, kind="text")]
    if len(kept) > 1:
        reports += [
            ErrorReport(text=line[:MAX_MESSAGE_CHARS], line=line[:300], line_number=n, kind="text")
            for n, line in kept[:MAX_DESCRIPTION_LINES]
            if len(line) + chinese_characters(line) >= 8  # a Chinese character says as much as two letters
            and not _is_code(line)
            and not _is_output(line)
            and speaks_domain(line)
        ]
    return reports


_URL = lazy(r"<?\S*://\S+")
# A shell command (`$ python train.py --cfg x.yaml`, `1. torchrun --nproc_per_node 8 ...`): its
# names are a program's arguments, not somebody's words.
_COMMAND = lazy(
    r"^(?:[$#>]\s*|\d{1,2}[.)]\s*)?(?:sudo\s+)?(?:[A-Z_]+=\S*\s+)*"
    r"(?:python3?(?:\.\d+)?|pip3?|conda|torchrun|accelerate|deepspeed|bash|sh|git|cd|export|nvidia-smi|\./\S+)\b\s*\S"
)


def _is_output(line: str) -> bool:
    """A line a program printed (`Epoch: [127/300]`, `- CUDA : 10.0`, a log record) or a link
    (a URL, a Markdown link or image), whose digits and names are not somebody's words."""
    stripped = line.strip()
    if _URL.fullmatch(stripped) or _MARKDOWN_LINK.fullmatch(stripped.removeprefix("!")):
        return True
    # A Chinese character says as much as a word: "用RTX 3090 24G显存跑微调还是报显存不足" is a sentence.
    marks = sum(not ch.isspace() for ch in stripped) + chinese_characters(stripped)
    return sum(ch.isdigit() for ch in stripped) >= OUTPUT_DIGITS * marks


# A setting, not a sentence: a YAML or JSON key and its one value (`lora_target: all`, `"fp16": {`),
# a command's option (`--max_length 8192 \\`), a lone bracket, an HTML image.
_SETTING = lazy(
    r'^(?:"?[A-Za-z_][\w.\-/]*"?\s*[:=]\s*(?:"[^"\n]*"|[\x21-\x7e]*)|-{1,2}[A-Za-z][\w.\-]*(?:[ =][\x21-\x7e]+)*\s*\\?'
    r"|[{}\[\](),;`]+|<img\b[^>]*>?)$"
)


def _is_setting(line: str) -> bool:
    return _SETTING.match(line.strip()) is not None


_BLOCK_HEADER = lazy(r"^(?:async\s+)?(?:def|class|for|while|with|if|elif|try|except)\b[^:]{0,200}:\s*$")


def _is_code(line: str) -> bool:
    """A line of Python (`print(x)`, `loss = crit(out, y)`): its names are not somebody's words."""
    line = line.strip()
    if _BLOCK_HEADER.match(line):  # `def f(model):`, `for x, y in loader:`: compiles only with its body
        return True
    # Python reads much prose too ("CrossEntropyLoss is negative", "Hi, Alex,", "## Bug"): only
    # a call, an assignment, an index or an import is taken for code.
    if line.startswith("#") or not (any(mark in line for mark in "(=[") or line.startswith(("import ", "from "))):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # x = "\d" would print a SyntaxWarning to the user
            compile(line, "<line>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _root_first(report: ErrorReport) -> tuple[int, int]:
    rank = {
        "worker-exception": 0,
        "signal": 1,
        "error-line": 2,
        "mention": 2,
        "chained": 3,
        "exception": 4,
        "warning": 5,
        "log-line": 6,
    }
    return (rank.get(report.kind, 6), report.line_number)


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1][:300] if text.strip() else ""


def _scan(lines: list[str]) -> tuple[list[_Failure], list[ErrorReport]]:
    failures: list[_Failure] = []
    standalone: list[ErrorReport] = []
    i = 0
    chained_to: _Failure | None = None
    while i < len(lines):
        line = lines[i]
        has_header = "Traceback" in line
        header = _TRACEBACK.match(line) if has_header else None
        ipython = _IPYTHON_EXC.match(line.strip()) if has_header and not header else None
        frames_first = not header and not ipython and _is_frame(line)
        if header or ipython or frames_first:
            report, i = _read_traceback(
                lines, i if not frames_first else i - 1, worker=bool(header and header.group(1))
            )
            if report is None:
                continue
            if chained_to is not None:
                chained_to.reports = [_as_kind(r, "chained") for r in chained_to.reports]
                chained_to.reports.append(report)
                failure = chained_to
            else:
                failure = _Failure(start=report.line_number)
                failure.reports.append(report)
                failures.append(failure)
            for inner in _worker_reports(report):
                failure.reports.append(inner)
            chained_to = None
            continue
        if "exception" in line and _CHAIN.match(line) and failures:
            chained_to = failures[-1]
            i += 1
            continue
        if _has_hint(line):
            found, after = _standalone(lines, i)
            if found is not None:
                workers = _worker_reports(found)
                if workers:  # a worker's error printed without the main process's traceback
                    failures.append(_Failure(start=found.line_number, reports=[found, *workers]))
                else:
                    standalone.append(found)
                i = max(i + 1, after)
                continue
        i += 1
    return failures, standalone


def _as_kind(report: ErrorReport, kind: ReportKind) -> ErrorReport:
    if report.kind != "exception":
        return report
    return report._replace(kind=kind)


def _read_traceback(lines: list[str], start: int, worker: bool) -> tuple[ErrorReport | None, int]:
    """Read frames from a traceback header to its exception line and message."""
    i = start + 1
    user_frame: str | None = None
    # The source lines shown under the frames: the user's last one and the one that raised
    # ("data.add_(update)", "return torch.binary_cross_entropy(...)") tell apart errors whose
    # messages are the same.
    user_code: str | None = None
    last_code: str | None = None
    code_of: str | None = None  # "user" or "library": the frame whose code line comes next
    first = lines[start].strip() if start >= 0 else ""
    ipython = _IPYTHON_EXC.match(first)
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        frame = _FRAME.match(line)
        if frame:
            code_of = "library"
            if not _DROP_FRAME.search(frame.group("path")):
                func = frame.group("func")
                user_frame = f"{frame.group('path')}:{frame.group('line')}" + (f" in {func}" if func else "")
                code_of = "user"
            i += 1
            continue
        if code_of and stripped and line[:1] in (" ", "\t") and not stripped.startswith(("^", "~")):
            last_code = stripped[:200]
            user_code = last_code if code_of == "user" else user_code
        code_of = None
        if ipython:
            unlinked = _MARKDOWN_LINK.sub(r"\1", stripped)  # Colab renders frames as links
            cell = _IPYTHON_FRAME.match(unlinked)
            if cell and not _DROP_FRAME.search(unlinked):
                user_frame = unlinked[:200]
        if not stripped or line[:1] in (" ", "\t") or stripped.startswith(("^", "~", "-->", "---->")):
            i += 1
            continue
        if _TRACEBACK.match(line):
            return None, i  # a header with no exception line: let the next header take over
        match = _EXC_AFTER_FRAMES.match(stripped) if not ipython else _EXC_NAMED.match(stripped)
        if match is None:
            if ipython:
                i += 1
                continue
            return _raised(last_code, user_frame, i - 1), i
        code = " ".join(dict.fromkeys(line for line in (user_code, last_code) if line)) or None
        kind: ReportKind = "worker-exception" if worker else "exception"
        return _exception_report(lines, i, match, user_frame, kind, code)
    return _raised(last_code, user_frame, i - 1), i


def _raised(code: str | None, user_frame: str | None, at: int) -> ErrorReport | None:
    """A traceback cut before its exception line (a paste trimmed to fit, a log cut short) whose
    last frame shows the `raise` that failed: that statement's message is the error's, as far as
    it goes ('raise AssertionError("Torch not compiled with C')."""
    raised = _RAISE.match(code) if code and code.startswith("raise ") else None
    if raised is None:
        return None
    message = _FORMAT_FIELD.sub(" ", raised.group("msg")).strip()
    if not message:
        return None
    text = f"{raised.group('type').rsplit('.', 1)[-1]}: {message}"
    return ErrorReport(text=text, line=code or "", line_number=at, kind="mention", user_frame=user_frame)


def _exception_report(
    lines: list[str], at: int, match: re.Match[str], user_frame: str | None, kind: ReportKind, code: str | None = None
) -> tuple[ErrorReport, int]:
    short_type = match.group("type").rsplit(".", 1)[-1]
    said = match.group("msg") or ""
    # (an ASCII message has no Chinese after it: the pattern is not even compiled for it)
    message_lines = [said if said.isascii() else _CHINESE_AFTER_STOP.split(said, maxsplit=1)[0]]
    i = at + 1
    while i < len(lines) and len(message_lines) < MAX_MESSAGE_LINES:
        line = lines[i]
        if not line.strip() and message_lines[-1].rstrip().endswith(":"):
            # "WeightsUnpickler error:", a blank line, then what it announced: still the message
            announced = next((n for n in range(i + 1, min(len(lines), i + 3)) if lines[n].strip()), None)
            if announced is not None:
                i = announced
                continue
        if not line.strip() or _TRACEBACK.match(line) or _CHAIN.match(line):
            break
        if _FRAME.match(line) or _EXC_NAMED.match(line.strip()) and not line[:1].isspace():
            break
        if _asks(line, message_lines[0]) or _LOG_RECORD.match(line):
            break
        message_lines.append(line.strip())
        i += 1
    if i < len(lines) and _TRACEBACK.match(lines[i]) and _TRACEBACK.match(lines[i]).group(1):  # type: ignore[union-attr]
        # DataLoader workers put the original traceback inside the message: keep reading it.
        while i < len(lines) and len(message_lines) < MAX_MESSAGE_LINES * 4 and lines[i].strip():
            message_lines.append(lines[i].strip())
            i += 1
    message = "\n".join(message_lines).strip()[:MAX_MESSAGE_CHARS]
    text = f"{short_type}: {message}" if message else short_type
    # What is shown as the user's error is the error: the matched line from its class on (not the
    # sentence that quotes it) up to where its message was cut ("训练时报错 RuntimeError: ... 我把
    # batch size 改小了还是不行").
    line = match.string[: match.start("msg") + len(message_lines[0])] if said else match.string
    line = line.strip()[:300]
    report = ErrorReport(text=text, line=line, line_number=at, kind=kind, user_frame=user_frame, code=code)
    return report, i


def _asks(line: str, first: str) -> bool:
    """Whether a line under an error message is its reader's question rather than more of the
    message ("what could I do for this?", "请问怎么解决"): messages state, they do not ask, and one
    written in English does not go on in Chinese."""
    stripped = line.strip()
    return stripped.endswith(("?", "？")) or (chinese_characters(stripped) > 0 and chinese_characters(first) == 0)


def _in_c_locale(line: str) -> str:
    return _C_LOCALE_SIGNAL.sub(lambda word: _C_LOCALE_WORDS[word.group()], line)


def _worker_reports(report: ErrorReport) -> list[ErrorReport]:
    """A DataLoader worker's original error, read from inside the wrapping exception's message."""
    if "Original Traceback (most recent call last):" not in report.text:
        return []
    inner_lines = report.text.split("Original Traceback (most recent call last):", 1)[1].splitlines()
    inner_text = ["Original Traceback (most recent call last):"] + [
        ("  " + line if line.startswith(("File ", "^")) or not _EXC_AFTER_FRAMES.match(line) else line)
        for line in inner_lines
        if line.strip()
    ]
    inner, _ = _read_traceback(inner_text, 0, worker=True)
    if inner is None:
        return []
    return [inner._replace(line_number=report.line_number, kind="worker-exception")]


def _standalone(lines: list[str], i: int) -> tuple[ErrorReport | None, int]:
    """An error that is not a traceback (`RuntimeError: ...` printed by a logger, `Killed`, ...)
    and the index of the first line after it."""
    stripped = lines[i].strip()
    warning = _WARNING_LINE.match(stripped) if "Warning: " in stripped else None
    if warning:
        text = f"{warning.group('type').rsplit('.', 1)[-1]}: {warning.group('msg')}"
        return ErrorReport(text=text, line=stripped[:300], line_number=i, kind="warning"), i + 1
    named = _EXC_NAMED.match(stripped)
    quoted = False
    if named is None and ": " in stripped:
        inside = _EXC_INSIDE.search(stripped)
        if inside is not None:
            named = _EXC_NAMED.match(stripped[inside.start("type") :])
            quoted = True
    if named and not lines[i][:1].isspace():
        # An error quoted inside a sentence or a title ends with its line: what follows is prose.
        report, after = _exception_report(lines[: i + 1] if quoted else lines, i, named, None, "error-line")
        if named.group("type").endswith("Warning"):
            return ErrorReport(report.text, report.line, report.line_number, "warning"), after
        return report, after
    in_c_locale = _in_c_locale(stripped) if not stripped.isascii() else stripped
    if _SIGNAL_LINE.search(in_c_locale):
        return ErrorReport(
            text=in_c_locale[:MAX_MESSAGE_CHARS], line=stripped[:300], line_number=i, kind="signal"
        ), i + 1
    word = _ERROR_WORD.search(stripped[:300])
    if word:
        # An error class in the middle of a sentence is somebody telling what they saw.
        kind: ReportKind = "error-line" if word.start() == 0 else "mention"
        report = ErrorReport(text=stripped[:MAX_MESSAGE_CHARS], line=stripped[:300], line_number=i, kind=kind)
        return report, i + 1
    if _ERROR_LINE.search(stripped[:300]):
        # Only a keyword (error, nan, failed...): a log line or a description, not an exception.
        report = ErrorReport(text=stripped[:MAX_MESSAGE_CHARS], line=stripped[:300], line_number=i, kind="log-line")
        return report, i + 1
    return None, i + 1
