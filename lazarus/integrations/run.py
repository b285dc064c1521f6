"""`lazarus run -- CMD...`: run a command untouched, and answer its failure right after it.

The command's output passes through byte for byte as it comes. When our stdout or stderr is a
terminal, the child writes to a pseudo-terminal instead of a pipe, so it still sees a terminal:
colours, progress bars and line buffering stay as they are without lazarus. stdin is inherited.
A bounded tail of the combined output (plus the last traceback that scrolled out of it) is kept;
when the command fails, the diagnosis goes to stderr after the command's output, so the
command's stdout stays clean for a pipe. With --json, stdout carries one JSON document, written
when the command has ended, and the command's own output (stdout and stderr, untouched) goes to
stderr. The exit code is the command's own, 128+N for a signal.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lazarus.errors import UsageError
from lazarus.i18n import say
from lazarus.query.read import LogTail
from lazarus.settings import check_kb_dirs, check_lang
from lazarus.signals import signal_name
from lazarus.ui.output import err

READ_SIZE = 1 << 16
POLL_SECONDS = 0.1
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
KEYBOARD = (signal.SIGINT, signal.SIGQUIT)  # the signals a terminal sends its whole foreground group
QUIET_DEATHS = (signal.SIGINT, signal.SIGPIPE)  # the user stopped it, or its reader went away: no remedy
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126

# What a shell prints when its child dies of a signal; KB entries and extraction know these lines.
SHELL_LINES: dict[int, str] = {
    signal.SIGKILL: "Killed",
    signal.SIGSEGV: "Segmentation fault",
    signal.SIGBUS: "Bus error",
    signal.SIGABRT: "Aborted",
    signal.SIGFPE: "Floating point exception",
    signal.SIGILL: "Illegal instruction",
    signal.SIGTERM: "Terminated",
    signal.SIGQUIT: "Quit",
}


@dataclass
class Stream:
    """One of the child's outputs: where we read it, the fds it writes to, where we copy it."""

    read_fd: int
    child_fd: int
    dest_fd: int
    pty: bool
    read_open: bool = True

    def close_read(self) -> None:
        # Once only: a second close could hit an fd number the process has reused meanwhile.
        if self.read_open:
            self.read_open = False
            close_fd(self.read_fd)


@dataclass
class RunState:
    status: int = 0  # the raw wait status
    received: list[int] = field(default_factory=list)  # signals sent to lazarus while it ran
    reader_gone: bool = False  # our stdout or stderr was a pipe whose reader quit (`| head`)


# ---------------------------------------------------------------- setting up the child's outputs


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _same_terminal(a: int, b: int) -> bool:
    try:
        return os.fstat(a).st_rdev == os.fstat(b).st_rdev
    except OSError:
        return False


def _open_pty(like_fd: int) -> tuple[int, int]:
    """A pseudo-terminal shaped like the terminal on `like_fd`; returns (master, slave)."""
    import pty
    import termios

    master, slave = pty.openpty()
    try:
        attrs = termios.tcgetattr(like_fd)
    except termios.error:
        attrs = termios.tcgetattr(slave)
    # Without output processing the child's bytes reach us as written ("\n", not "\r\n"); the
    # real terminal does its own translation when we pass them on.
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    _copy_window_size(like_fd, slave)
    return master, slave


def _copy_window_size(from_fd: int, to_fd: int) -> None:
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(from_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(to_fd, termios.TIOCSWINSZ, size)
    except OSError:
        pass  # not a terminal after all, or it went away: the default size will do


def _pipe_or_pty(dest_fd: int) -> Stream:
    if _isatty(dest_fd):
        master, slave = _open_pty(dest_fd)
        return Stream(master, slave, dest_fd, pty=True)
    read_fd, write_fd = os.pipe()
    return Stream(read_fd, write_fd, dest_fd, pty=False)


def open_streams(as_json: bool = False) -> list[Stream]:
    """One pty for both outputs when both go to the same terminal (keeps their interleaving
    exact), otherwise a pty or a pipe for each. With --json both go to our stderr: our stdout
    is the JSON's alone."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            # Run with stdout or stderr closed (`>&-`): a new pipe would take that fd number and
            # we would copy the output into ourselves. What went nowhere goes to /dev/null.
            opened = os.open(os.devnull, os.O_WRONLY)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if as_json:
        return [_pipe_or_pty(2)]
    if _isatty(1) and _isatty(2) and _same_terminal(1, 2):
        return [_pipe_or_pty(1)]
    return [_pipe_or_pty(1), _pipe_or_pty(2)]


def close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):  # already closed
        os.close(fd)


# ---------------------------------------------------------------- signals


def _terminal_sent_it() -> bool:
    """Whether we are in the foreground of our terminal, where a Ctrl-C reaches the whole
    process group: the child, which shares it, already has the signal."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def _forwarder(outcome: RunState, pid: Callable[[], int | None]) -> Callable[[int, Any], None]:
    def forward(signum: int, frame: Any) -> None:
        outcome.received.append(signum)
        child = pid()
        if child is None or (signum in KEYBOARD and _terminal_sent_it()):
            return
        _kill(child, signum)

    return forward


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.kill(pid, signum)


def _install_handlers(handler: Callable[[int, Any], None], streams: list[Stream]) -> dict[int, Any]:
    """Our handlers for the forwarded signals (and SIGWINCH for the ptys); returns the old ones.
    Outside the main thread Python cannot set handlers: then signals act as they would anyway."""
    previous: dict[int, Any] = {}
    wanted: dict[int, Any] = {signum: handler for signum in FORWARDED}
    ptys = [s for s in streams if s.pty]
    if ptys:

        def resize(signum: int, frame: Any) -> None:
            for stream in ptys:
                _copy_window_size(stream.dest_fd, stream.child_fd)

        wanted[signal.SIGWINCH] = resize
    try:
        for signum, action in wanted.items():
            previous[signum] = signal.signal(signum, action)
    except ValueError:
        pass
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, action in previous.items():
        signal.signal(signum, action)


# ---------------------------------------------------------------- copying the output


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            selectors.DefaultSelector().select(POLL_SECONDS)
            continue
        view = view[written:]


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, READ_SIZE)
    except OSError as exc:
        if exc.errno == errno.EIO:  # a pty whose other side every writer has closed
            return b""
        raise


def _reap(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done == pid else None


def pump(streams: list[Stream], pid: int, tail: LogTail, outcome: RunState) -> int:
    """Copy the child's output as it comes until the last writer closes it; returns the
    child's wait status.

    A grandchild the command left behind (a background job, a leftover worker) may still write
    after the command exits: its output is copied too, as `cmd | cat` in a shell would, instead
    of being lost with the grandchild killed by a broken pipe.
    """
    selector = selectors.DefaultSelector()
    for stream in streams:
        selector.register(stream.read_fd, selectors.EVENT_READ, stream)
    status: int | None = None
    try:
        while True:
            events = selector.select(POLL_SECONDS)
            for key, _ in events:
                data = _read(key.fd)
                if not data:
                    selector.unregister(key.fd)
                    continue
                tail.feed(data)
                try:
                    write_all(key.data.dest_fd, data)
                except BrokenPipeError:
                    # Our reader went away: close our end of the child's output too, so it
                    # meets the same broken pipe as in a shell pipeline.
                    outcome.reader_gone = True
                    selector.unregister(key.fd)
                    key.data.close_read()
            if status is None:
                status = _reap(pid)
            if status is not None and not selector.get_map():
                break
        while status is None:  # the outputs closed before the child exited
            status = _reap(pid)
            if status is None:
                selectors.DefaultSelector().select(POLL_SECONDS)
    finally:
        selector.close()
    return status


# ---------------------------------------------------------------- the diagnosis


def exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def shell_line(status: int) -> str:
    """The line a shell prints when its child dies of this signal."""
    number = os.WTERMSIG(status)
    line = SHELL_LINES.get(number, f"Killed by signal {number} ({signal_name(number)})")
    return f"{line} (core dumped)" if os.WCOREDUMP(status) else line


def status_message(status: int, lang: str) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return say(lang, "killed", name=signal_name(number), number=number)
    return say(lang, "exited", code=exit_code(status))


def wants_diagnosis(outcome: RunState) -> bool:
    if exit_code(outcome.status) == 0 or outcome.received or outcome.reader_gone:
        return False
    return not (os.WIFSIGNALED(outcome.status) and os.WTERMSIG(outcome.status) in QUIET_DEATHS)


def report_failure(
    argv: list[str], outcome: RunState, tail: LogTail, limit: int, lang: str, kb: list[str], as_json: bool
) -> None:
    """The diagnosis, on stderr after the command's output (with --json, on stdout)."""
    from lazarus.integrations.hook import diagnose_text
    from lazarus.ui.output import write_matches

    text = tail.text()
    if os.WIFSIGNALED(outcome.status):
        text = f"{text.rstrip()}\n{shell_line(outcome.status)}\n"
    index, diagnosis = diagnose_text(text, limit, kb, lang) if text.strip() else (None, None)
    matches = diagnosis.matches if diagnosis else ()
    if as_json:
        write_json(argv, outcome, index, diagnosis, lang)
        return
    if tail.total and tail.last_byte() not in (b"\n", b""):
        sys.stderr.write("\n")  # the command's last line (a progress bar, say) did not end
    sys.stderr.write(f"lazarus: {status_message(outcome.status, lang)}\n")
    if not matches:
        sys.stderr.write(f"lazarus: {say(lang, 'none')}\n")
        sys.stderr.flush()
        return
    assert index is not None and diagnosis is not None
    write_matches(index, diagnosis, lang, sys.stderr)


def write_json(argv: list[str], outcome: RunState, index: Any, diagnosis: Any, lang: str) -> None:
    """`--json`: one line of JSON on stdout, once the command has ended (its own output went to
    stderr); `matches` as `lazarus --json` gives them, empty when it succeeded."""
    from lazarus.ui.output import proof, verification
    from lazarus.ui.render import JSON_SCHEMA_VERSION, error_json, match_json

    matches = diagnosis.matches if diagnosis is not None else ()
    payload = {
        "schema_version": JSON_SCHEMA_VERSION,
        "command": argv,
        "exit_code": exit_code(outcome.status),
        "signal": signal_name(os.WTERMSIG(outcome.status)) if os.WIFSIGNALED(outcome.status) else None,
        "error": error_json(diagnosis),
        "matches": [
            match_json(m, lang, verification(index, m.entry.id, lang)) | {"verification": proof(index, m.entry.id)}
            for m in matches
        ],
    }
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- the command


def check_options(argv: list[str], limit: int, lang: str | None, kb: list[str]) -> str:
    """Refuse bad options before the run, not after it; returns the language."""
    if not argv:
        raise UsageError("no command to run: lazarus run -- python train.py")
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    check_kb_dirs(kb)
    return check_lang(lang)


def start(argv: list[str], streams: list[Stream]) -> subprocess.Popen[bytes]:
    out = streams[0].child_fd
    err = streams[-1].child_fd
    # The child stays in our process group, so a Ctrl-C at the terminal reaches it directly
    # and it can still read the terminal (a separate group would be stopped by SIGTTIN).
    return subprocess.Popen(argv, stdin=None, stdout=out, stderr=err)


def spawn_error(argv: list[str], exc: OSError) -> int:
    if isinstance(exc, FileNotFoundError):
        err(f"{argv[0]}: command not found")
        return EXIT_NOT_FOUND
    reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
    err(f"{argv[0]}: cannot run it: {reason}")
    return EXIT_NOT_EXECUTABLE


def run_command(argv: list[str], limit: int, lang: str | None, kb: list[str], as_json: bool) -> int:
    """Run `argv` with its output passing through; diagnose a failure on stderr after it
    (with `as_json`, the output goes to stderr and one JSON line to stdout at the end).

    Returns the command's exit code (128+N when a signal killed it, 127 when it cannot be
    found, 126 when it cannot be run). Raises lazarus.errors.UsageError for bad options.
    """
    lang = check_options(argv, limit, lang, kb)
    streams = open_streams(as_json)
    outcome = RunState()
    child: list[int] = []
    previous = _install_handlers(_forwarder(outcome, lambda: child[0] if child else None), streams)
    tail = LogTail()
    try:
        try:
            process = start(argv, streams)
        except OSError as exc:
            return spawn_error(argv, exc)
        finally:
            for stream in streams:
                close_fd(stream.child_fd)  # the child holds them now; EOF comes when it closes them
        child.append(process.pid)
        for signum in outcome.received:  # arrived while it was starting: it missed them
            _kill(process.pid, signum)
        outcome.status = pump(streams, process.pid, tail, outcome)
        process.returncode = exit_code(outcome.status)  # reaped here, so Popen must not wait again
    finally:
        _restore_handlers(previous)
        for stream in streams:
            stream.close_read()
    with contextlib.suppress(BrokenPipeError):  # our reader went away: the exit code still tells
        if wants_diagnosis(outcome):
            report_failure(argv, outcome, tail, limit, lang, kb, as_json)
        elif as_json:  # a success (or an interrupted run): the JSON says so, with no matches
            write_json(argv, outcome, None, None, lang)
    return exit_code(outcome.status)
