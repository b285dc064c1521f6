"""The command line: `lazarus QUERY...` and the commands of lazarus.cli.app.

A plain `lazarus QUERY...` (the common case) is parsed here without importing typer, a tenth of
a second; everything else goes through the typer app.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from typing import Any


COMMANDS = ("search", "diagnose", "show", "tags", "tag", "list", "kb", "validate", "run", "env")


def _pasted(arg: str) -> bool:
    """A pasted text that happens to begin with dashes (a Jupyter traceback's rule of dashes, a
    Markdown list), not an option: options hold no white space and no run of three dashes."""
    return arg.startswith("---") or any(ch.isspace() for ch in arg)


def parse_plain_search(argv: list[str]) -> dict[str, Any] | None:
    """Options of a plain `lazarus QUERY...`; None when typer should parse (help, odd options)."""
    options = parse_plain_options(argv)
    return options if options is not None and options["words"] else None


def parse_plain_options(argv: list[str]) -> dict[str, Any] | None:
    """The words and common options of a query or diagnose command line, parsed without typer
    (whose import costs more than a whole query); None when typer should parse it."""
    words: list[str] = []
    options: dict[str, Any] = {
        "limit": 3,
        "as_json": False,
        "lang": None,
        "kb": [],
        "full": False,
        "color": None,
        "pager": True,
    }
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            words += argv[i + 1 :]
            break
        if arg == "--json":
            options["as_json"] = True
        elif arg == "--full":
            options["full"] = True
        elif arg == "--no-pager":
            options["pager"] = False
        elif arg in ("-n", "--limit", "--lang", "--kb", "--color") and i + 1 < len(argv):
            value = argv[i + 1]
            if arg == "--color":
                options["color"] = value
            elif arg in ("-n", "--limit"):
                if not value.isdigit():
                    return None
                options["limit"] = int(value)
            elif arg == "--lang":
                options["lang"] = value
            else:
                options["kb"].append(value)
            i += 1
        elif arg.startswith("-") and len(arg) > 1 and not arg[1:2].isdigit() and not _pasted(arg):
            return None
        else:
            words.append(arg)
        i += 1
    options["words"] = words
    return options


# How many words each command takes after its name (options aside); more, and the command
# line is a question that starts with the command's word: `lazarus list index out of range`.
MAX_WORDS = {"list": 0, "tags": 0, "env": 0, "show": 1, "tag": 1, "diagnose": 1}


def _settings(plain: dict[str, Any]) -> tuple[Any, ...]:
    """The options of a query or diagnose command line, in the order run_search/run_diagnose take them."""
    if not plain["pager"]:
        from lazarus.settings import set_no_pager

        set_no_pager()
    return plain["limit"], plain["as_json"], plain["lang"], plain["kb"], plain["full"], plain["color"]


def reads_as_query(argv: list[str]) -> bool:
    """Whether words that begin with a command's name are a question, not that command:
    `lazarus run out of memory`, `lazarus show me why loss is nan`, `lazarus kb is slow`."""
    import shutil

    command, rest = argv[0], argv[1:]
    plain = parse_plain_options(rest)
    words = plain["words"] if plain is not None else [w for w in rest if not w.startswith("-")]
    if command in MAX_WORDS:
        # an option a query does not have (`env --python PATH`) belongs to the command
        return plain is not None and len(words) > MAX_WORDS[command]
    if command == "kb":
        return bool(words) and words[0] != "check"
    if command == "run":
        # `lazarus run -- CMD` or `lazarus run CMD` with a program that exists
        if not rest or rest[0].startswith("-"):
            return False
        return shutil.which(rest[0]) is None and not os.path.exists(rest[0])
    return False


def main(argv: list[str] | None = None) -> None:
    import gc

    # A query is a short process that allocates many objects while it starts (imports, the
    # index) and leaves next to no cycles: the collector's passes would cost it several ms. The
    # commands typer runs, some of them long, collect as usual; so does a caller's process after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _main(argv, collecting)
    finally:
        if collecting:
            gc.enable()


def _main(argv: list[str] | None, collecting: bool) -> None:
    import gc

    from lazarus.cli.commands import guarded, run_diagnose, run_search

    argv = list(sys.argv[1:] if argv is None else argv)
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with that fd closed (`2>&-`): say nothing there
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 (lives as long as we do)
    for stream in (sys.stdout, sys.stderr):
        # A console or file in cp1252, latin-1 or ASCII cannot show every answer (Chinese text,
        # ✓): what it cannot encode is replaced, never fatal.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="replace")
    if argv[:1] in (["--version"], ["-V"]):
        from lazarus.version import __version__

        print(f"lazarus {__version__}")
        return
    if "_LAZARUS_COMPLETE" in os.environ:  # the shell asking for completions: typer answers
        from lazarus.cli.app import build_app

        if collecting:
            gc.enable()
        build_app()(args=argv, prog_name="lazarus")
        return
    if not argv or argv[0].startswith("-"):
        # `... | lazarus` and `... | lazarus -n 1 --json`: options alone, the text comes piped,
        # or is pasted at the prompt on a terminal.
        plain = parse_plain_options(argv)
        if plain is not None and not plain["words"]:
            argv = ["diagnose", *argv]
        elif plain is not None and plain["words"][0] in COMMANDS:
            # `lazarus --no-pager diagnose build.log`: the options go after the command they
            # were written before, unless the words read as a question (`--lang zh run out of memory`)
            at = argv.index(plain["words"][0])
            if not reads_as_query(argv[at:]):
                argv = [argv[at], *argv[:at], *argv[at + 1 :]]
    if argv and argv[0] in COMMANDS and reads_as_query(argv):
        argv = ["search", *argv]
    if argv and argv[0] in ("search", "diagnose"):
        plain = parse_plain_options(argv[1:])
        if plain is not None and argv[0] == "search" and plain["words"]:
            sys.exit(guarded(run_search, plain["words"], *_settings(plain)))
        if plain is not None and argv[0] == "diagnose" and len(plain["words"]) <= 1:
            source = plain["words"][0] if plain["words"] else None
            sys.exit(guarded(run_diagnose, source, *_settings(plain)))
    if argv and argv[0] not in COMMANDS:
        plain = parse_plain_search(argv)
        if plain is not None:
            sys.exit(guarded(run_search, plain["words"], *_settings(plain)))
        if not argv[0].startswith("-") or argv[0] not in ("-h", "--help", "--install-completion", "--show-completion"):
            argv = ["search", *argv]
    from lazarus.cli.app import build_app

    if collecting:
        gc.enable()
    app = build_app()
    app(args=argv, prog_name="lazarus")
