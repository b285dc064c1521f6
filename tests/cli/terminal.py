"""The real CLI on a pseudo-terminal: what a person sees, at a chosen size, typing or pasting."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Screen:
    returncode: int
    output: str  # what the terminal showed (stdout, and stderr when it shares the terminal)
    stderr: str  # stderr when it was a pipe ("" when it shared the terminal)


def _drain(master: int, process: subprocess.Popen[bytes], seconds: float) -> bytes:
    data = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            data += chunk
        elif process.poll() is not None:
            break
    return data


def run_in_terminal(
    *args: str,
    env: dict[str, str],
    rows: int = 24,
    columns: int = 80,
    keys: Sequence[bytes] = (),
    stdout_tty: bool = True,
    timeout: float = 60,
) -> Screen:
    """`python -m lazarus ARGS` with stdin (and stdout, stderr unless `stdout_tty` is False) on a
    pseudo-terminal of `rows` x `columns`; each of `keys` is typed once the output is quiet."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    outputs = (
        {"stdout": slave, "stderr": slave} if stdout_tty else {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "lazarus", *args],
        stdin=slave,
        env={k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")},
        start_new_session=True,  # the pty becomes its controlling terminal, as in a real shell
        **outputs,  # type: ignore[arg-type]
    )
    os.close(slave)
    shown = b""
    try:
        for key in keys:
            shown += _drain(master, process, 1.5)  # the prompt (or the pager) is waiting
            os.write(master, key)
        shown += _drain(master, process, timeout)
        process.wait(timeout=10)
        stderr = b""
        if not stdout_tty:
            assert process.stdout is not None and process.stderr is not None
            shown += process.stdout.read()
            stderr = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return Screen(
        process.returncode, shown.decode("utf-8", "replace").replace("\r\n", "\n"), stderr.decode("utf-8", "replace")
    )
