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
    run_env,
    run_kb_check,
    run_list,
    run_search,
    run_show,
    run_tags,
)

# Examples at the end of `--help`; "\b" keeps click from joining their lines.
EXAMPLES = {
    "app": """Examples:

\b
  lazarus "RuntimeError: CUDA out of memory"
  lazarus "loss is nan after a few epochs"
  python train.py 2>&1 | lazarus
  lazarus                      (paste a traceback at the prompt)
  lazarus show batchnorm-batch-of-one
  lazarus run -- python train.py --lr 3e-4

Exit codes (every command): 0 answered, found or passed; 1 no confident match, an unknown
id or tag, a failed snippet or a KB problem; 2 usage error (a bad option, empty or unreadable
input); 130 interrupted. `lazarus run` exits with the command's own code.""",
    "search": """Examples:

\b
  lazarus "Expected more than 1 value per channel when training"
  lazarus -n 1 --json "mat1 and mat2 shapes cannot be multiplied"
  lazarus --lang zh "loss is nan"
  lazarus search -- --bogus-looking text""",
    "diagnose": """Examples:

\b
  python train.py 2>&1 | lazarus diagnose
  lazarus diagnose train.log
  lazarus diagnose             (on a terminal: paste, then Ctrl-D)""",
    "show": """Example:

\b
  lazarus show batchnorm-batch-of-one --lang zh""",
    "tag": """Examples:

\b
  lazarus tag nan
  lazarus tag dataloader --json""",
    "run": """Examples:

\b
  lazarus run -- python train.py --lr 3e-4
  lazarus run --json -- python train.py > diagnosis.json""",
    "env": """Examples:

\b
  lazarus env
  lazarus env --python ~/venvs/train/bin/python --json
  python -m torch.utils.collect_env | lazarus env --report -""",
    "validate": """Examples:

\b
  lazarus validate batchnorm-batch-of-one
  lazarus validate --tag nan --device all -j 4
  lazarus validate --json results.json --junit results.xml""",
}

DEVICES = ("cpu", "cuda", "all")


def build_app() -> Any:
    import typer
    import typer.core

    plain_help(typer.core.TyperArgument)

    app = typer.Typer(
        add_completion=True,
        no_args_is_help=False,
        rich_markup_mode=None,
        help='lazarus: an offline doctor for PyTorch errors. `lazarus "<error or symptom>"` ranks remedies.',
        epilog=EXAMPLES["app"],
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    kb_app = typer.Typer(help="Check the knowledge base.", no_args_is_help=True)
    app.add_typer(kb_app, name="kb")

    kb_option = typer.Option(
        [], "--kb", metavar="DIR", help="Extra KB folder, searched before the built-in KB (repeatable)."
    )
    json_option = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
    lang_option = typer.Option(
        None, "--lang", metavar="en|zh", help="The language (default: from the locale).", autocompletion=complete_langs
    )
    limit_option = typer.Option(3, "-n", "--limit", metavar="N", help="How many remedies to show at most.")
    color_option = typer.Option(
        None,
        "--color",
        metavar="auto|always|never",
        help="Colour (default: auto; NO_COLOR, FORCE_COLOR).",
        autocompletion=complete_colors,
    )
    full_option = typer.Option(
        False, "--full", help="Every answer in full, causes included (default: the first one brief)."
    )
    pager_option = typer.Option(
        False,
        "--no-pager",
        help="Print long output rather than paging it (LAZARUS_PAGER, PAGER, default less -FRX).",
        callback=no_pager,
    )

    @app.command(epilog=EXAMPLES["search"])
    def search(
        query: list[str] = typer.Argument(..., metavar="QUERY", help="An error message, a traceback or a symptom."),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        full: bool = full_option,
        color: str = color_option,
        _pager: bool = pager_option,
    ) -> None:
        """Rank remedies for an error message or a described symptom (the default command)."""
        raise typer.Exit(guarded(run_search, query, limit, as_json, lang, kb, full, color))

    @app.command(epilog=EXAMPLES["diagnose"])
    def diagnose(
        source: str = typer.Argument(
            None, metavar="FILE|-", help="A log file, or - for stdin (the default when piped; a prompt on a terminal)."
        ),
        limit: int = limit_option,
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        full: bool = full_option,
        color: str = color_option,
        _pager: bool = pager_option,
    ) -> None:
        """Find the real error in a noisy log and answer it: python train.py 2>&1 | lazarus diagnose"""
        raise typer.Exit(guarded(run_diagnose, source, limit, as_json, lang, kb, full, color))

    @app.command(epilog=EXAMPLES["show"])
    def show(
        entry_id: str = typer.Argument(..., metavar="ID", help="An entry's id.", autocompletion=complete_ids),
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        _pager: bool = pager_option,
    ) -> None:
        """Show one entry in full."""
        raise typer.Exit(guarded(run_show, entry_id, as_json, lang, kb))

    @app.command("list")
    def list_entries(
        as_json: bool = json_option, lang: str = lang_option, kb: list[str] = kb_option, _pager: bool = pager_option
    ) -> None:
        """List every entry."""
        raise typer.Exit(guarded(run_list, None, as_json, lang, kb))

    @app.command(epilog=EXAMPLES["tag"])
    def tag(
        name: str = typer.Argument(
            ..., metavar="TAG", help="A tag (lazarus tags lists them).", autocompletion=complete_tags
        ),
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
        _pager: bool = pager_option,
    ) -> None:
        """List the entries with a tag: a topic (nan, dataloader) or a seed section (8502, 1.3)."""
        raise typer.Exit(guarded(run_list, name, as_json, lang, kb))

    @app.command(epilog=EXAMPLES["env"])
    def env(
        python: str = typer.Option(
            None, "--python", metavar="PATH", help="Check this interpreter's environment (default: the one with torch)."
        ),
        report: str = typer.Option(
            None,
            "--report",
            metavar="FILE",
            help="Read a pasted report instead (collect_env, pip list, conda list, nvidia-smi; - for stdin).",
        ),
        as_json: bool = json_option,
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Check the environment torch runs in: builds, GPU, driver, versions (like flutter doctor)."""
        raise typer.Exit(guarded(run_env, python, report, as_json, lang, kb))

    @app.command()
    def tags(as_json: bool = json_option, kb: list[str] = kb_option, _pager: bool = pager_option) -> None:
        """List all tags with their entry counts."""
        raise typer.Exit(guarded(run_tags, as_json, kb))

    @app.command(context_settings={"allow_interspersed_args": False}, epilog=EXAMPLES["run"])
    def run(
        command: list[str] = typer.Argument(..., metavar="CMD", help="The command to run, after --."),
        limit: int = typer.Option(1, "-n", "--limit", metavar="N", help="How many remedies to show at most."),
        as_json: bool = typer.Option(
            False, "--json", help="One JSON line on stdout when the command ends; its own output then goes to stderr."
        ),
        lang: str = lang_option,
        kb: list[str] = kb_option,
    ) -> None:
        """Run a command, its output passing through; when it fails, diagnose it: lazarus run -- python train.py"""
        from lazarus.integrations.run import run_command

        raise typer.Exit(guarded(run_command, command, limit, lang, kb, as_json))

    @app.command(epilog=EXAMPLES["validate"])
    def validate(
        ids: list[str] = typer.Argument(
            None, metavar="ID", help="Entries to validate (default: all).", autocompletion=complete_ids
        ),
        tag: str = typer.Option(
            None, "--tag", metavar="TAG", help="Only entries with this tag.", autocompletion=complete_tags
        ),
        device: str = typer.Option(
            "cpu", "--device", metavar="cpu|cuda|all", help="Where to run them.", autocompletion=complete_devices
        ),
        jobs: int = typer.Option(
            0, "-j", "--jobs", metavar="N", help="Snippets run at once (default: the number of CPUs)."
        ),
        json_path: str = typer.Option(None, "--json", metavar="FILE", help="Write results as JSON to this file."),
        junit_path: str = typer.Option(
            None, "--junit", metavar="FILE", help="Write results as JUnit XML to this file."
        ),
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


def plain_help(argument: Any) -> None:
    """Help as people read it: no types (`ID`, not `ID <str>`; options have metavars, `--kb DIR`
    rather than `--kb <list[str]>`), and `show ID`, not `show {ID}`, in the usage line."""

    def usage_name(self: Any) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    argument.display_type_rich = lambda self, ctx: None
    argument._usage_display_name = usage_name


def no_pager(value: bool) -> bool:
    if value:
        from lazarus.settings import set_no_pager

        set_no_pager()
    return value


def complete_devices(incomplete: str) -> list[str]:
    return [d for d in DEVICES if d.startswith(incomplete)]


def complete_langs(incomplete: str) -> list[str]:
    from lazarus.settings import LANGUAGES

    return [lang for lang in LANGUAGES if lang.startswith(incomplete)]


def complete_colors(incomplete: str) -> list[str]:
    from lazarus.settings import COLOR_CHOICES

    return [c for c in COLOR_CHOICES if c.startswith(incomplete)]


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
