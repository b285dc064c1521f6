"""The CLI in a pseudo-terminal (issue 13): the pager, wrapping at the terminal's width, the
paste prompt. Golden files at 80 and 120 columns, with and without colour."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from tests.cli.terminal import run_in_terminal
from tests.conftest import FIXTURES
from tests.ui.test_render import QUERY, check_golden

SAMPLE_KB = FIXTURES / "kb"
BN_ERROR = "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 256])"
BN_CODE_LINE = "assert bn(torch.randn(1, 16, device=device)).shape == (1, 16)"
TRACEBACK = f"""Traceback (most recent call last):
  File "/home/me/project/train.py", line 41, in <module>
    out = model(x)
{BN_ERROR}
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A pager that keeps what it was given, and whether its stdout was the terminal
PAGER = """import sys
data = sys.stdin.buffer.read()
with open(sys.argv[1], "wb") as log:
    log.write(b"tty=%d\\n" % sys.stdout.isatty() + data)
"""


@pytest.fixture()
def tty_env(cli_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in cli_env.items() if k not in ("NO_COLOR", "FORCE_COLOR", "PAGER", "LESS")}
    env["TERM"] = "xterm-256color"
    env.pop("COLORTERM", None)
    return env


@pytest.fixture()
def pager(tmp_path, tty_env):
    """LAZARUS_PAGER set to a pager that records its input in the returned file."""
    script = tmp_path / "pager.py"
    script.write_text(PAGER, encoding="utf-8")
    log = tmp_path / "paged.txt"
    tty_env["LAZARUS_PAGER"] = f"{sys.executable} {script} {log}"
    return log


# ---------------------------------------------------------------- the pager


def test_long_output_on_a_terminal_goes_through_the_pager_with_its_colours(tty_env, pager):
    screen = run_in_terminal("--full", BN_ERROR, env=tty_env, rows=10)
    assert screen.returncode == 0, screen.output
    paged = pager.read_text(encoding="utf-8")
    assert paged.startswith("tty=1\n")  # the pager writes to the terminal
    assert "\x1b[" in paged and "batchnorm-batch-of-one" in ANSI.sub("", paged)
    assert "batchnorm-batch-of-one" not in ANSI.sub("", screen.output)  # shown by the pager only


def test_plain_output_is_paged_too(tty_env, pager):
    tty_env["NO_COLOR"] = "1"
    assert run_in_terminal("list", env=tty_env, rows=10).returncode == 0
    paged = pager.read_text(encoding="utf-8")
    assert "\x1b[" not in paged and "batchnorm-batch-of-one" in paged


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--no-pager", "--full", BN_ERROR), {}),  # --no-pager
        (("show", "--no-pager", "batchnorm-batch-of-one"), {}),
        (("--full", BN_ERROR), {"LAZARUS_PAGER": "cat"}),  # LAZARUS_PAGER=cat
        (("--full", BN_ERROR), {"LAZARUS_PAGER": "no-such-pager-lazarus -R"}),  # a missing pager: printed
        (("--json", BN_ERROR), {}),  # JSON is never paged
    ],
)
def test_output_is_printed_not_paged(tty_env, pager, args, env):
    screen = run_in_terminal(*args, env={**tty_env, **env}, rows=10)
    assert screen.returncode == 0, screen.output
    assert not pager.exists()
    assert "batchnorm-batch-of-one" in ANSI.sub("", screen.output)


def test_short_output_and_a_pipe_are_not_paged(tty_env, pager, run_cli):
    assert run_in_terminal("tags", env=tty_env, rows=500).returncode == 0
    assert not pager.exists()
    piped = run_cli("--full", BN_ERROR, env={"LAZARUS_PAGER": tty_env["LAZARUS_PAGER"]})
    assert piped.returncode == 0 and "batchnorm-batch-of-one" in piped.stdout
    assert not pager.exists()


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_the_default_pager_is_less_and_q_quits_it(tty_env):
    screen = run_in_terminal("list", env=tty_env, rows=10, keys=[b"q"])
    assert screen.returncode == 0  # ended by one q, as less does
    first = sorted(ANSI.sub("", screen.output).split(), key=len)
    assert first and "-" in ANSI.sub("", screen.output)


# ---------------------------------------------------------------- wrapping


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("color", [False, True])
def test_terminal_output_matches_golden(tty_env, columns, color):
    env = {**tty_env, "LAZARUS_NO_BUILTIN": "1", "LAZARUS_PAGER": "cat"}
    if not color:
        env["NO_COLOR"] = "1"
    screen = run_in_terminal("-n", "1", "--kb", str(SAMPLE_KB), QUERY, env=env, columns=columns, rows=100)
    assert screen.returncode == 0, screen.output
    check_golden(f"terminal-{columns}{'-color' if color else ''}.txt", screen.output)
    assert ("\x1b[" in screen.output) == color


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_plain_text_on_a_terminal_wraps_at_its_width_without_breaking_words(tty_env, lang):
    env = {**tty_env, "NO_COLOR": "1", "LAZARUS_PAGER": "cat"}
    screen = run_in_terminal("--full", "--lang", lang, BN_ERROR, env=env, columns=60, rows=200)
    assert screen.returncode == 0, screen.output
    lines = screen.output.splitlines()
    assert BN_CODE_LINE in [line.strip() for line in lines]  # code: whole, however long
    from lazarus.ui.render import cells

    prose = [line for line in lines if line.strip() != BN_CODE_LINE and "device = " not in line]
    assert all(cells(line) <= 60 for line in prose), [line for line in prose if cells(line) > 60]
    if lang == "en":
        for word in ("drop_last=True", "model.eval()", "batchnorm-batch-of-one", "torch.Size([1, 256])"[:12]):
            assert any(word in line for line in lines), word  # a word is never split over two lines


def test_colored_code_is_wrapped_never_cut(tty_env):
    env = {**tty_env, "LAZARUS_PAGER": "cat"}
    screen = run_in_terminal(BN_ERROR, env=env, columns=50, rows=200)
    text = re.sub(r"[│\s]+", " ", ANSI.sub("", screen.output))
    assert "shape == (1, 16)" in text


def test_piped_plain_text_is_not_wrapped(run_cli):
    result = run_cli("-n", "1", BN_ERROR, env={"COLUMNS": "40"})
    assert any(len(line) > 100 for line in result.stdout.splitlines())  # whole lines, for grep


# ---------------------------------------------------------------- the paste prompt

PROMPT = "Paste the error or traceback, then press Ctrl-D (or Enter on an empty line after the traceback)"


@pytest.mark.parametrize("args", [(), ("diagnose",), ("diagnose", "-")])
def test_a_traceback_pasted_at_the_prompt_ends_on_an_empty_line(tty_env, args):
    paste = TRACEBACK.encode() + b"\n"  # Enter on an empty line after the final error line
    screen = run_in_terminal(*args, env={**tty_env, "NO_COLOR": "1"}, keys=[paste], stdout_tty=False)
    assert screen.returncode == 0, screen
    assert PROMPT in screen.stderr
    assert "batchnorm-batch-of-one" in screen.output and "/home/me/project/train.py:41" in screen.output


def test_one_ctrl_d_ends_the_paste(tty_env):
    # a description, then Ctrl-D once on the same line, or on a line of its own
    for keys in ([b"loss is nan after a few epochs\x04"], [b"loss is nan after a few epochs\n", b"\x04"]):
        screen = run_in_terminal(env={**tty_env, "NO_COLOR": "1"}, keys=keys, stdout_tty=False, timeout=30)
        assert screen.returncode == 0, screen
        assert "nan" in screen.output.lower()


def test_a_chained_traceback_pasted_at_once_is_read_whole(tty_env):
    chained = (
        "Traceback (most recent call last):\n"
        '  File "/home/me/a.py", line 3, in <module>\n'
        "KeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n" + TRACEBACK + "\n"
    )
    screen = run_in_terminal("--json", env=tty_env, keys=[chained.encode()], stdout_tty=False)
    assert screen.returncode == 0, screen
    assert '"batchnorm-batch-of-one"' in screen.output


def test_piped_stdin_gets_no_prompt(run_cli):
    result = run_cli("diagnose", input=TRACEBACK)
    assert result.returncode == 0 and "Paste the error" not in result.stderr
