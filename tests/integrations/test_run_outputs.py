"""`lazarus run` keeps output until its last writer closes it and always exits with the
command's code, whatever lazarus's own outputs are (issue 14)."""

from __future__ import annotations

import subprocess
import sys

LAZARUS = [sys.executable, "-m", "lazarus", "run", "--"]
LATE = "(sleep 1; echo late-grandchild-line) & echo early-line; exit {code}"


def test_output_a_grandchild_writes_after_the_command_exits_is_kept(cli_env):
    result = subprocess.run(
        [*LAZARUS, "sh", "-c", LATE.format(code=0)], capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["early-line", "late-grandchild-line"]


def test_the_grandchild_is_not_killed_by_a_broken_pipe(cli_env, tmp_path):
    marker = tmp_path / "grandchild-finished"
    script = f"(sleep 1; echo late; touch {marker}) & exit 0"
    result = subprocess.run([*LAZARUS, "sh", "-c", script], capture_output=True, text=True, env=cli_env, timeout=60)
    assert result.returncode == 0 and result.stdout == "late\n"
    assert marker.exists()


def test_the_exit_code_is_the_commands_with_stdout_or_stderr_closed(cli_env):
    for closed in ("1>&-", "2>&-", "1>&- 2>&-"):
        line = f"{' '.join(LAZARUS)} sh -c 'echo out; echo err >&2; exit 7' {closed}"
        result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=cli_env, timeout=60)
        assert result.returncode == 7, (closed, result.stderr)
        assert "internal error" not in result.stderr
