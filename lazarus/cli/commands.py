"""The commands as plain functions: check the options, call the pipeline, render, return the exit code.

The typer app (lazarus.cli.app) and the fast path (lazarus.cli.main) both call these.
"""

from __future__ import annotations

import sys

from lazarus.errors import UsageError
from lazarus.settings import check_kb_dirs, check_lang, debug, set_color_mode
from lazarus.ui.output import err, kb_problems_reporter, out

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lazarus.model import Diagnosis
    from lazarus.query.index import Index

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2


def kb_index(kb: list[str], lang: str = "en") -> Index:
    """The pipeline's one open_index, saying on stderr how many KB entries were left out."""
    from lazarus.query.pipeline import open_index

    return open_index(kb, kb_problems_reporter(lang))


def clean_query(words: list[str]) -> str:
    query = " ".join(words)
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        query = query.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        err("the query is not valid UTF-8; undecodable bytes were replaced")
    if not query.strip():
        raise UsageError("the query is empty: give an error message or describe the symptom")
    return query


def show_diagnosis(index: Index, diagnosis: Diagnosis, as_json: bool, lang: str, label: str, full: bool = False) -> int:
    from lazarus.i18n import say
    from lazarus.query.match import confident

    if as_json:
        from lazarus.ui.environment import finding_json
        from lazarus.ui.output import proof, statuses
        from lazarus.ui.render import dumps, error_json, match_json

        status = statuses(index, diagnosis, lang)
        payload: dict[str, Any] = {
            "query": label,
            "error": error_json(diagnosis),
            "matches": [
                match_json(m, lang, status[m.entry.id]) | {"verification": proof(index, m.entry.id)}
                for m in diagnosis.matches
            ],
            "environment": [finding_json(f) for f in diagnosis.environment],
            "confident": confident(diagnosis.matches),
        }
        out(dumps(payload))
    elif not diagnosis.matches and not any(r.kind not in ("output", "context") for r in diagnosis.reports):
        # Nothing in the text is an error line or somebody's words (a log of progress lines, a
        # template with nothing filled in): say so, rather than "no confident match".
        from lazarus.query.extract import holds_frames

        # A traceback cut before its exception line (a paste trimmed to fit) says where, not what.
        message = "cut_traceback" if holds_frames(diagnosis.query) else "no_error"
        if label == "-":
            name = say(lang, "the_input")
        else:
            name = label if "\n" not in label and len(label) < 80 else say(lang, "the_text")
        err(say(lang, message, name=name))
    elif not diagnosis.matches:
        err(say(lang, "none"))
    else:
        from lazarus.ui.output import write_matches

        write_matches(index, diagnosis, lang, sys.stdout, full, paged=True)
    return EXIT_OK if confident(diagnosis.matches) else EXIT_NO_MATCH


def check_output_options(limit: int, color: str | None) -> None:
    """The options every query and diagnose shares: how many answers, and colour."""
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    if color:
        set_color_mode(color)


def run_search(
    words: list[str],
    limit: int,
    as_json: bool,
    lang: str | None,
    kb: list[str],
    full: bool = False,
    color: str | None = None,
) -> int:
    from lazarus.query.pipeline import diagnose

    check_output_options(limit, color)
    query = clean_query(words)
    # A question asked in Chinese is answered in Chinese, whatever the locale; --lang still wins.
    # One character will do ("loss是nan"): nobody types Chinese they do not read.
    from lazarus.query.normalize import chinese_characters

    lang = check_lang(lang or ("zh" if chinese_characters(query) >= 1 else None))
    index = kb_index(kb, lang)
    return show_diagnosis(index, diagnose(index, query, limit), as_json, lang, query, full)


def run_diagnose(
    source: str | None,
    limit: int,
    as_json: bool,
    lang: str | None,
    kb: list[str],
    full: bool = False,
    color: str | None = None,
) -> int:
    from lazarus.query.pipeline import diagnose

    check_output_options(limit, color)
    lang = check_lang(lang)
    if source in (None, "-") and sys.stdin.isatty():
        import io

        from lazarus.cli.paste import read_paste
        from lazarus.query.read import read_log

        text, warnings = read_log(io.BytesIO(read_paste(lang)), "<stdin>")
    else:
        text, warnings = read_source(source or "-")  # an InputError is a UsageError
    for warning in warnings:
        err(warning)
    index = kb_index(kb, lang)
    return show_diagnosis(index, diagnose(index, text, limit), as_json, lang, source or "-", full)


def run_show(entry_id: str, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.ui.output import page, proof, text_width, verification
    from lazarus.ui.render import dumps, entry_json, plain_entry

    lang = check_lang(lang)
    index = kb_index(kb, lang)
    entry = index.by_id(entry_id)
    if entry is None:
        from rapidfuzz import process

        close = [c for c, _, _ in process.extract(entry_id, [e.id for e in index.entries], limit=3, score_cutoff=60)]
        hint = f"; did you mean {', '.join(close)}?" if close else "; `lazarus list` shows them all"
        err(f"no entry with id {entry_id!r}{hint}")
        if as_json:
            out(dumps({"entries": []}))
        return EXIT_NO_MATCH
    status = verification(index, entry.id, lang)
    data = entry_json(entry, lang, status) | {"verification": proof(index, entry.id)}
    if as_json:
        out(dumps({"entries": [data]}))
    else:
        page(plain_entry(entry, lang, status, text_width(sys.stdout)))
    return EXIT_OK


def run_list(tag: str | None, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.query.pipeline import entries_with_tag
    from lazarus.ui.output import page, proof, text_width, verification
    from lazarus.ui.render import dumps, entry_json, entry_line

    lang = check_lang(lang)
    index = kb_index(kb, lang)
    entries = entries_with_tag(index, tag) if tag is not None else sorted(index.entries, key=lambda e: e.id)
    if tag is not None and not entries:
        err(f"no entry has the tag {tag!r}; `lazarus tags` lists them")
        if as_json:
            out(dumps({"entries": []}))
        return EXIT_NO_MATCH
    if as_json:
        out(
            dumps(
                {
                    "entries": [
                        entry_json(e, lang, verification(index, e.id, lang)) | {"verification": proof(index, e.id)}
                        for e in entries
                    ]
                }
            )
        )
    else:
        width = text_width(sys.stdout)
        page("\n".join(entry_line(e, lang, width) for e in entries))
    return EXIT_OK


def run_tags(as_json: bool, kb: list[str]) -> int:
    from lazarus.query.pipeline import tag_counts
    from lazarus.ui.output import page
    from lazarus.ui.render import dumps

    counts = tag_counts(kb_index(kb))
    if as_json:
        out(dumps({"tags": [{"tag": t, "count": c} for t, c in counts.items()]}))
    else:
        page("\n".join(f"{tag:24} {count}" for tag, count in counts.items()))
    return EXIT_OK


def run_kb_check(as_json: bool, kb: list[str]) -> int:
    from lazarus.kb.load import load_kb
    from lazarus.settings import kb_folders
    from lazarus.ui.render import dumps

    check_kb_dirs(kb)
    result = load_kb(*kb_folders(kb), time_builtin=True)
    if as_json:
        problems = [{"path": p.path, "field": p.field, "message": p.message} for p in result.problems]
        out(dumps({"entries": len(result.entries), "problems": problems}))
    else:
        for problem in result.problems:
            out(str(problem))
        summary = f"{len(result.entries)} valid entries, {len(result.problems)} problem(s)"
        (err if result.problems else out)(summary)
    return EXIT_NO_MATCH if result.problems else EXIT_OK


def guarded(command: Callable[..., int], *args: Any) -> int:
    try:
        return command(*args)
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        # `lazarus ... | head` closing the pipe early is not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if debug():
            raise
        err(f"internal error: {type(exc).__name__}: {exc} (set LAZARUS_DEBUG=1 for the traceback)")
        return EXIT_USAGE


def run_env(python: str | None, report: str | None, as_json: bool, lang: str | None, kb: list[str]) -> int:
    """`lazarus env`: the facts of an interpreter (or of a pasted report) and every KB check
    against them. Exit 1 when a check fails, as `validate` does."""
    from lazarus.environment.rules import evaluate
    from lazarus.ui.environment import plain_report, report_json
    from lazarus.ui.render import dumps

    lang = check_lang(lang)
    if python is not None and report is not None:
        raise UsageError("--python and --report: give one of them")
    if report is not None:
        from lazarus.environment.paste import read_report

        text, warnings = read_source(report)
        for warning in warnings:
            err(warning)
        facts = read_report(text)
        where = "stdin" if report == "-" else report
        if not facts:
            raise UsageError(
                f"no environment report found in {where}: give the output of "
                "python -m torch.utils.collect_env, pip list, conda list or nvidia-smi"
            )
    else:
        from lazarus.environment.probe import probe

        where = python or default_python()
        facts = probe(where)
        where = str(facts.get("python_path", where))
    index = kb_index(kb, lang)
    findings = evaluate(facts, index.environment)
    unchecked = len(index.environment) - len(findings)
    if as_json:
        out(dumps(report_json(facts, findings, where)))
    else:
        out(plain_report(facts, findings, lang, where, unchecked))
    return EXIT_NO_MATCH if any(f.failed for f in findings) else EXIT_OK


def default_python() -> str:
    """The interpreter whose environment to check: lazarus's own when torch is installed beside
    it, else the `python` a shell would run (lazarus may live in its own pipx environment)."""
    import shutil
    from importlib import metadata

    try:
        metadata.distribution("torch")
        return sys.executable
    except metadata.PackageNotFoundError:
        return shutil.which("python") or shutil.which("python3") or sys.executable


def read_source(source: str) -> tuple[str, list[str]]:
    """The bounded text of a file, or of stdin for `-`, with warnings about it."""
    from lazarus.query.read import read_log

    if source == "-":
        return read_log(sys.stdin.buffer, "<stdin>")
    try:
        with open(source, "rb") as handle:
            return read_log(handle, source)
    except IsADirectoryError:
        raise UsageError(f"{source}: is a folder, not a file") from None
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file") from None
    except PermissionError:
        raise UsageError(f"{source}: permission denied") from None
