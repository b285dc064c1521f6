"""The typer app: every command with its options, help and completion.

Only imported when the fast path in lazarus.cli cannot parse the command line by itself:
typer costs more import time than a whole query.
"""

from __future__ import annotations

from typing import Any

from lazarus.cli.commands import (
    guarded,
    kb_index,
    run_diagnose,
    run_kb_check,
    run_list,
    run_search,
    run_show,
    run_tags,
)


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
    color_option = typer.Option(None, "--color", help="auto, always or never (default: auto; NO_COLOR, FORCE_COLOR).")
    full_option = typer.Option(
        False, "--full", help="Every answer in full, causes included (default: the first one brief)."
    )

    @app.command()
    def search(
        query: list[str] = typer.Argument(..., help="An error message, a traceback or a symptom."),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        full: bool = full_option,
        color: str = color_option,
    ) -> None:
        """Rank remedies for an error message or a described symptom (the default command)."""
        raise typer.Exit(guarded(run_search, query, limit, as_json, lang, kb, full, color))

    @app.command()
    def diagnose(
        source: str = typer.Argument(None, help="A log file, or - for stdin (the default when piped)."),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        full: bool = full_option,
        color: str = color_option,
    ) -> None:
        """Find the real error in a noisy log and answer it: python train.py 2>&1 | lazarus diagnose"""
        raise typer.Exit(guarded(run_diagnose, source, limit, as_json, lang, kb, full, color))

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
        from lazarus.integrations.run import run_command

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
        python: str = typer.Option(
            None, "--python", metavar="PATH", help="Validate under this interpreter's torch (default: this one)."
        ),
    ) -> None:
        """Run entries' snippets under the installed torch: each error still happens, each fix works."""

        def call() -> int:
            from lazarus.verify.command import validate_command

            return validate_command(ids or [], tag, device, jobs, json_path, junit_path, kb, record, python)

        raise typer.Exit(guarded(call))

    @kb_app.command("check")
    def kb_check(as_json: bool = json_option, kb: list[str] = kb_option) -> None:
        """Check every entry file strictly; exit 1 when any has a problem."""
        raise typer.Exit(guarded(run_kb_check, as_json, kb))

    return app


def complete_ids(incomplete: str) -> list[str]:
    try:
        return [e.id for e in kb_index([]).entries if e.id.startswith(incomplete)]
    except Exception:  # completion must never print a traceback into the user's shell
        return []


def complete_tags(incomplete: str) -> list[str]:
    from lazarus.query.pipeline import tag_counts

    try:
        return [t for t in tag_counts(kb_index([])) if t.startswith(incomplete)]
    except Exception:  # completion must never print a traceback into the user's shell
        return []
