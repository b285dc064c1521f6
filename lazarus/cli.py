"""The command line: parse, call the pipeline, render, exit. Logic lives in the modules it calls.

`lazarus QUERY...` is the common case and skips importing typer (a tenth of a second) when its
options are plain; everything else goes through the typer app.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lazarus.index import Index
    from lazarus.model import Diagnosis

COMMANDS = ("search", "diagnose", "show", "tags", "tag", "list", "kb", "validate", "run")
EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit 2."""


# ---------------------------------------------------------------- helpers shared by commands


def default_lang() -> str:
    for name in ("LAZARUS_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def err(message: str) -> None:
    print(f"lazarus: {message}", file=sys.stderr)


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def open_index(kb: list[str]) -> Index:
    from lazarus.doctor import open_index as load

    for directory in kb:
        if not os.path.isdir(directory):
            raise UsageError(f"--kb {directory}: no such folder")
    index = load(kb, use_cache=not os.environ.get("LAZARUS_NO_CACHE"))
    if index.problems:
        err(f"{len(index.problems)} problem(s) in the KB, those entries are left out; run `lazarus kb check`")
    return index


def check_lang(lang: str | None) -> str:
    lang = lang or default_lang()
    if lang not in ("en", "zh"):
        raise UsageError(f"--lang {lang}: choose en or zh")
    return lang


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


def show_diagnosis(index: Index, diagnosis: Diagnosis, as_json: bool, lang: str, label: str) -> int:
    from lazarus.render import LABELS, dumps, error_json, match_json

    if as_json:
        from lazarus.present import statuses

        status = statuses(index, diagnosis, lang)
        payload: dict[str, Any] = {
            "query": label,
            "error": error_json(diagnosis),
            "matches": [match_json(m, lang, status[m.entry.id]) for m in diagnosis.matches],
        }
        out(dumps(payload))
    elif not diagnosis.matches:
        err(LABELS[lang]["none"])
    else:
        from lazarus.present import write_matches

        write_matches(index, diagnosis, lang, sys.stdout)
    return EXIT_OK if diagnosis.matches else EXIT_NO_MATCH


# ---------------------------------------------------------------- commands as plain functions


def run_search(words: list[str], limit: int, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.doctor import diagnose

    query = clean_query(words)
    # A question asked in Chinese is answered in Chinese, whatever the locale; --lang still wins.
    from lazarus.normalize import chinese_characters

    lang = check_lang(lang or ("zh" if chinese_characters(query) >= 2 else None))
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    index = open_index(kb)
    return show_diagnosis(index, diagnose(index, query, limit), as_json, lang, query)


def run_diagnose(source: str | None, limit: int, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.doctor import diagnose
    from lazarus.logread import InputError, read_log

    lang = check_lang(lang)
    if source in (None, "-"):
        if source is None and sys.stdin.isatty():
            raise UsageError("no input: give a log FILE, or pipe a log in: python train.py 2>&1 | lazarus diagnose")
        name, stream = "<stdin>", sys.stdin.buffer
        try:
            text, warnings = read_log(stream, name)
        except InputError as exc:
            raise UsageError(str(exc)) from None
    else:
        try:
            with open(source, "rb") as handle:
                text, warnings = read_log(handle, source)
        except IsADirectoryError:
            raise UsageError(f"{source}: is a folder, not a log file") from None
        except FileNotFoundError:
            raise UsageError(f"{source}: no such file") from None
        except PermissionError:
            raise UsageError(f"{source}: permission denied") from None
        except InputError as exc:
            raise UsageError(str(exc)) from None
    for warning in warnings:
        err(warning)
    index = open_index(kb)
    return show_diagnosis(index, diagnose(index, text, limit), as_json, lang, source or "-")


def run_show(entry_id: str, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.doctor import verification_status
    from lazarus.render import dumps, entry_json, localized_status, plain_entry

    lang = check_lang(lang)
    index = open_index(kb)
    entry = index.by_id(entry_id)
    if entry is None:
        from rapidfuzz import process

        close = [c for c, _, _ in process.extract(entry_id, [e.id for e in index.entries], limit=3, score_cutoff=60)]
        hint = f"; did you mean {', '.join(close)}?" if close else "; `lazarus list` shows them all"
        err(f"no entry with id {entry_id!r}{hint}")
        if as_json:
            out(dumps({"entries": []}))
        return EXIT_NO_MATCH
    status = localized_status(verification_status(index, entry.id), lang)
    out(dumps({"entries": [entry_json(entry, lang, status)]}) if as_json else plain_entry(entry, lang, status))
    return EXIT_OK


def run_list(tag: str | None, as_json: bool, lang: str | None, kb: list[str]) -> int:
    from lazarus.doctor import entries_with_tag, verification_status
    from lazarus.render import dumps, entry_json, entry_line

    lang = check_lang(lang)
    index = open_index(kb)
    entries = entries_with_tag(index, tag) if tag is not None else sorted(index.entries, key=lambda e: e.id)
    if tag is not None and not entries:
        err(f"no entry has the tag {tag!r}; `lazarus tags` lists them")
        if as_json:
            out(dumps({"entries": []}))
        return EXIT_NO_MATCH
    if as_json:
        out(dumps({"entries": [entry_json(e, lang, verification_status(index, e.id)) for e in entries]}))
    else:
        out("\n".join(entry_line(e, lang) for e in entries))
    return EXIT_OK


def run_tags(as_json: bool, kb: list[str]) -> int:
    from lazarus.doctor import tag_counts
    from lazarus.render import dumps

    counts = tag_counts(open_index(kb))
    if as_json:
        out(dumps({"tags": [{"tag": t, "count": c} for t, c in counts.items()]}))
    else:
        out("\n".join(f"{tag:24} {count}" for tag, count in counts.items()))
    return EXIT_OK


def run_kb_check(as_json: bool, kb: list[str]) -> int:
    from lazarus.doctor import kb_folders
    from lazarus.kb import load_kb
    from lazarus.render import dumps

    for directory in kb:
        if not os.path.isdir(directory):
            raise UsageError(f"--kb {directory}: no such folder")
    result = load_kb(*kb_folders(kb))
    if as_json:
        problems = [{"path": p.path, "field": p.field, "message": p.message} for p in result.problems]
        out(dumps({"entries": len(result.entries), "problems": problems}))
    else:
        for problem in result.problems:
            out(str(problem))
        summary = f"{len(result.entries)} valid entries, {len(result.problems)} problem(s)"
        (err if result.problems else out)(summary)
    return EXIT_NO_MATCH if result.problems else EXIT_OK


# ---------------------------------------------------------------- the fast path and the typer app


def parse_plain_search(argv: list[str]) -> dict[str, Any] | None:
    """Options of a plain `lazarus QUERY...`; None when typer should parse (help, odd options)."""
    options = parse_plain_options(argv)
    return options if options is not None and options["words"] else None


def parse_plain_options(argv: list[str]) -> dict[str, Any] | None:
    """The words and common options of a query or diagnose command line, parsed without typer
    (whose import costs more than a whole query); None when typer should parse it."""
    words: list[str] = []
    options: dict[str, Any] = {"limit": 3, "as_json": False, "lang": None, "kb": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            words += argv[i + 1 :]
            break
        if arg == "--json":
            options["as_json"] = True
        elif arg in ("-n", "--limit", "--lang", "--kb") and i + 1 < len(argv):
            value = argv[i + 1]
            if arg in ("-n", "--limit"):
                if not value.isdigit():
                    return None
                options["limit"] = int(value)
            elif arg == "--lang":
                options["lang"] = value
            else:
                options["kb"].append(value)
            i += 1
        elif arg.startswith("-") and len(arg) > 1 and not arg[1:2].isdigit():
            return None
        else:
            words.append(arg)
        i += 1
    options["words"] = words
    return options


def build_app() -> Any:
    import typer

    app = typer.Typer(
        add_completion=True,
        no_args_is_help=True,
        rich_markup_mode=None,
        help='lazarus: an offline doctor for PyTorch errors. `lazarus "<error or symptom>"` ranks remedies.',
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    kb_app = typer.Typer(help="Check the knowledge base.", no_args_is_help=True)
    app.add_typer(kb_app, name="kb")

    kb_option = typer.Option([], "--kb", help="Extra KB folder, searched before the built-in KB (repeatable).")
    json_option = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
    lang_option = typer.Option(None, "--lang", help="en or zh (default: from the locale).")
    limit_option = typer.Option(3, "-n", "--limit", help="How many remedies to show at most.")

    @app.command()
    def search(
        query: list[str] = typer.Argument(..., help="An error message, a traceback or a symptom."),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Rank remedies for an error message or a described symptom (the default command)."""
        raise typer.Exit(guarded(run_search, query, limit, as_json, lang, kb))

    @app.command()
    def diagnose(
        source: str = typer.Argument(None, help="A log file, or - for stdin (the default when piped)."),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Find the real error in a noisy log and answer it: python train.py 2>&1 | lazarus diagnose"""
        raise typer.Exit(guarded(run_diagnose, source, limit, as_json, lang, kb))

    @app.command()
    def show(
        entry_id: str = typer.Argument(..., metavar="ID", autocompletion=complete_ids),
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Show one entry in full."""
        raise typer.Exit(guarded(run_show, entry_id, as_json, lang, kb))

    @app.command("list")
    def list_entries(as_json: bool = json_option, lang: str = lang_option, kb: list[str] = kb_option) -> None:
        """List every entry."""
        raise typer.Exit(guarded(run_list, None, as_json, lang, kb))

    @app.command()
    def tag(
        name: str = typer.Argument(..., metavar="TAG", autocompletion=complete_tags),
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """List the entries with a tag: a topic (nan, dataloader) or a seed section (8502, 1.3)."""
        raise typer.Exit(guarded(run_list, name, as_json, lang, kb))

    @app.command()
    def tags(as_json: bool = json_option, kb: list[str] = kb_option) -> None:
        """List all tags with their entry counts."""
        raise typer.Exit(guarded(run_tags, as_json, kb))

    @app.command(context_settings={"allow_interspersed_args": False})
    def run(
        command: list[str] = typer.Argument(..., help="The command to run, after --."),
        limit: int = typer.Option(1, "-n", "--limit", help="How many remedies to show at most."),
        as_json: bool = typer.Option(False, "--json", help="The diagnosis as one JSON line on stderr."),
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Run a command, its output passing through; when it fails, diagnose it: lazarus run -- python train.py"""
        from lazarus.runner import run_command

        raise typer.Exit(guarded(run_command, command, limit, lang, kb, as_json))

    @app.command()
    def validate(
        ids: list[str] = typer.Argument(
            None, metavar="[ID]...", help="Entries to validate (default: all).", autocompletion=complete_ids
        ),
        tag: str = typer.Option(None, "--tag", help="Only entries with this tag.", autocompletion=complete_tags),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda or all."),
        jobs: int = typer.Option(0, "-j", "--jobs", help="Snippets run at once (default: the number of CPUs)."),
        json_path: str = typer.Option(None, "--json", help="Write results as JSON to this file."),
        junit_path: str = typer.Option(None, "--junit", help="Write results as JUnit XML to this file."),
        record: bool = typer.Option(
            False,
            "--record/--no-record",
            help="Write verified/ records into each entry's KB folder (built-in entries: the installed package's).",
        ),
        kb: list[str] = kb_option,
    ) -> None:
        """Run entries' snippets under the installed torch: each error still happens, each fix works."""

        def call() -> int:
            from lazarus.validate import validate_command

            return validate_command(ids or [], tag, device, jobs, json_path, junit_path, kb, record)

        raise typer.Exit(guarded(call))

    @kb_app.command("check")
    def kb_check(as_json: bool = json_option, kb: list[str] = kb_option) -> None:
        """Check every entry file strictly; exit 1 when any has a problem."""
        raise typer.Exit(guarded(run_kb_check, as_json, kb))

    return app


def complete_ids(incomplete: str) -> list[str]:
    try:
        return [e.id for e in open_index([]).entries if e.id.startswith(incomplete)]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def complete_tags(incomplete: str) -> list[str]:
    from lazarus.doctor import tag_counts

    try:
        return [t for t in tag_counts(open_index([])) if t.startswith(incomplete)]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def guarded(command: Any, *args: Any) -> int:
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
        if os.environ.get("LAZARUS_DEBUG"):
            raise
        err(f"internal error: {type(exc).__name__}: {exc} (set LAZARUS_DEBUG=1 for the traceback)")
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "_LAZARUS_COMPLETE" in os.environ:  # the shell asking for completions: typer answers
        build_app()(args=argv, prog_name="lazarus")
        return
    if not sys.stdin.isatty() and (not argv or argv[0].startswith("-")):
        # `... | lazarus` and `... | lazarus -n 1 --json`: options alone, the text comes piped
        plain = parse_plain_options(argv)
        if plain is not None and not plain["words"]:
            argv = ["diagnose", *argv]
    if argv and argv[0] in ("search", "diagnose"):
        plain = parse_plain_options(argv[1:])
        if plain is not None and argv[0] == "search" and plain["words"]:
            sys.exit(guarded(run_search, plain["words"], plain["limit"], plain["as_json"], plain["lang"], plain["kb"]))
        if plain is not None and argv[0] == "diagnose" and len(plain["words"]) <= 1:
            source = plain["words"][0] if plain["words"] else None
            sys.exit(guarded(run_diagnose, source, plain["limit"], plain["as_json"], plain["lang"], plain["kb"]))
    if argv and argv[0] not in COMMANDS:
        plain = parse_plain_search(argv)
        if plain is not None:
            sys.exit(guarded(run_search, plain["words"], plain["limit"], plain["as_json"], plain["lang"], plain["kb"]))
        if not argv[0].startswith("-") or argv[0] not in ("-h", "--help", "--install-completion", "--show-completion"):
            argv = ["search", *argv]
    app = build_app()
    app(args=argv, prog_name="lazarus")
