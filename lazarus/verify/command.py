"""`lazarus validate`: load the KB, select the entries, run them with a progress bar, then print
the summary and write the JSON, JUnit and verification records asked for.

Exit codes, as for the other commands: 0 when every check passed or was skipped, 1 when a check
failed or no entry has the id or tag asked for, 2 (a `UsageError`, printed by the CLI) for a bad
option, a sandbox that cannot start, or records that cannot be written; 128 + the signal's number
when SIGINT or SIGTERM stopped it (what finished is still reported, no record is written).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lazarus.errors import UsageError
from lazarus.kb.load import load_kb
from lazarus.model import Entry
from lazarus.settings import check_kb_dirs, kb_folders
from lazarus.ui.output import err as say_error
from lazarus.verify.pool import Interrupted, memory_cap_from_env, run_validation
from lazarus.verify.record import write_run_records
from lazarus.verify.report import print_summary, write_json, write_junit
from lazarus.verify.results import PartResult, ValidationRun
from lazarus.verify.sandbox import SandboxError, check_interpreter
from lazarus.verify.select import NoSuchEntry, devices_for, select_entries

EXIT_OK, EXIT_FAILED, EXIT_NOT_FOUND = 0, 1, 1


def validate_command(
    ids: list[str],
    tag: str | None,
    device: str,
    jobs: int,
    json_path: str | None,
    junit_path: str | None,
    kb_dirs: list[str],
    record: bool,
    python: str | None = None,
) -> int:
    """`lazarus validate`; raises UsageError for what the CLI reports as a usage error (exit 2).

    `python`: validate under that interpreter's torch (`--python PATH`) instead of this one's.
    """
    from rich.console import Console

    out, err = Console(), Console(stderr=True)
    check_kb_dirs(kb_dirs)
    for option, target in (("--json", json_path), ("--junit", junit_path)):
        if target and not Path(target).resolve().parent.is_dir():
            raise UsageError(f"{option} {target}: its folder does not exist")
    devices_for(device)
    if python is not None:
        try:
            python = check_interpreter(python)
        except SandboxError as exc:
            raise UsageError(f"--python {python}: {exc}") from None
    user_dirs, builtin = kb_folders(kb_dirs)
    loaded = load_kb(user_dirs, builtin)
    if loaded.problems:
        err.print(
            f"[yellow]warning:[/] {len(loaded.problems)} KB problems; those entries are not validated "
            "(run `lazarus kb check`)"
        )
    try:
        entries = select_entries(loaded.entries, ids, tag)
    except NoSuchEntry as exc:
        say_error(str(exc))
        return EXIT_NOT_FOUND
    try:
        with _sigterm_interrupts():
            run = _run_with_progress(entries, device, jobs, memory_cap_from_env(), err, python)
    except SandboxError as exc:
        raise UsageError(f"cannot start the sandbox: {exc}") from None
    except KeyboardInterrupt as exc:  # before the sandbox was up: nothing ran
        signum = getattr(exc, "signum", signal.SIGINT)
        say_error(f"interrupted by {signal.Signals(signum).name} before any check ran")
        return 128 + signum
    print_summary(run, out)
    if json_path:
        write_json(run, json_path)
    if junit_path:
        write_junit(run, junit_path)
    if run.interrupted:
        if record:
            err.print("--record: nothing recorded, the run was interrupted", markup=False, highlight=False)
        return 128 + signal.Signals[run.interrupted].value
    if record:
        try:
            written = write_run_records(run, user_dirs, builtin)
        except OSError as exc:  # a read-only install, a full disk, a file where verified/ should be
            where = exc.filename or "the records"
            raise UsageError(f"--record: cannot write {where}: {exc.strerror or exc}") from None
        for path in written:
            err.print(f"recorded {path}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_FAILED if run.failed else EXIT_OK


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the run the way Ctrl-C does: the sandbox is stopped and what finished reported."""

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_with_progress(
    entries: Sequence[Entry], device: str, jobs: int, memory_cap: int | None, console: Any, python: str | None
) -> ValidationRun:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Off a terminal a live bar only adds blank lines to a log.
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"starting sandbox for {len(entries)} entries", total=None)

        def started(total: int) -> None:
            progress.update(task, total=total, description=f"validating {len(entries)} entries")

        def finished(result: PartResult) -> None:
            progress.advance(task)
            # Live failure lines help during a long run on a terminal; a log gets them once, below.
            if result.outcome == "failed" and console.is_terminal:
                where = escape(f"{result.entry_id} #{result.snippet} [{result.device}] {result.reason}")
                progress.console.print(f"[red]✗[/] {where}", highlight=False)

        return run_validation(entries, device, jobs, started, finished, memory_cap, python)
