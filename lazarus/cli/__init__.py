"""The command line: `lazarus QUERY...` and the commands of lazarus.cli.app.

A plain `lazarus QUERY...` (the common case) is parsed here without importing typer, a tenth of
a second; everything else goes through the typer app.
"""

from __future__ import annotations

import os
import sys
from typing import Any

COMMANDS = ("search", "diagnose", "show", "tags", "tag", "list", "kb", "validate", "run")


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


def main(argv: list[str] | None = None) -> None:
    from lazarus.cli.commands import guarded, run_diagnose, run_search

    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        # A console or file in cp1252, latin-1 or ASCII cannot show every answer (Chinese text,
        # ✓): what it cannot encode is replaced, never fatal.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="replace")
    if "_LAZARUS_COMPLETE" in os.environ:  # the shell asking for completions: typer answers
        from lazarus.cli.app import build_app

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
    from lazarus.cli.app import build_app

    app = build_app()
    app(args=argv, prog_name="lazarus")
