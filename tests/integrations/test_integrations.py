"""Meeting the error where it happens: `lazarus run`, the exception hook, IPython and pytest.

Everything runs for real: the runner and the hooks in subprocesses (under a pseudo-terminal where
a terminal matters), IPython as a real shell, the pytest plugin through pytester.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

BN_SCRIPT = """\
import sys
import torch

print("epoch 1 starting", flush=True)
print("loading data", file=sys.stderr, flush=True)
torch.nn.BatchNorm1d(4)(torch.randn(1, 4))
"""
BN_MESSAGE = "ValueError: Expected more than 1 value per channel when training"
RUN_CALL = """
import sys
from lazarus.integrations.run import run_command
as_json = sys.argv[1] == "--json"
sys.exit(run_command(sys.argv[1 + as_json :], 3, None, [], as_json))
"""


@functools.cache
def cli_has_run() -> bool:
    help_run = subprocess.run([sys.executable, "-m", "lazarus", "run", "--help"], capture_output=True, timeout=120)
    return help_run.returncode == 0


def run_prefix(as_json: bool = False) -> list[str]:
    """`lazarus run` once the CLI has it, else the runner called directly with the same options."""
    if cli_has_run():
        return [sys.executable, "-m", "lazarus", "run", *(["--json"] if as_json else []), "--"]
    return [sys.executable, "-c", RUN_CALL, *(["--json"] if as_json else [])]


@pytest.fixture()
def run_lazarus(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    def run(*command: str, as_json: bool = False, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        if "stdout" not in kwargs:
            kwargs["capture_output"] = True
        return subprocess.run([*run_prefix(as_json), *command], env=cli_env, timeout=180, **kwargs)  # type: ignore[call-overload]

    return run


@pytest.fixture()
def bn_script(tmp_path: Path) -> Path:
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(BN_SCRIPT)
    return script


def python_script(tmp_path: Path, body: str, name: str = "child.py") -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


# ---------------------------------------------------------------- lazarus run


def test_run_diagnoses_a_failing_torch_script_after_its_output(run_lazarus, bn_script: Path) -> None:
    result = run_lazarus(sys.executable, str(bn_script), "--lr", "3e-4")
    assert result.returncode == 1
    assert result.stdout == b"epoch 1 starting\n"  # the child's stdout stays clean for a pipe
    err = result.stderr.decode()
    assert err.startswith("loading data\nTraceback (most recent call last):")
    traceback_end = err.index(BN_MESSAGE)
    assert traceback_end < err.index("lazarus: the command exited with code 1") < err.index("batchnorm-batch-of-one")
    assert "drop_last=True" in err
    assert f"{bn_script}:6 in <module>" in err


def test_run_output_comes_before_the_diagnosis_when_merged(run_lazarus, bn_script: Path) -> None:
    result = run_lazarus(sys.executable, str(bn_script), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = result.stdout.decode()
    assert result.returncode == 1
    assert text.index("epoch 1 starting") < text.index(BN_MESSAGE) < text.index("batchnorm-batch-of-one")


def test_run_json_is_stdout_and_the_output_goes_to_stderr(run_lazarus, bn_script: Path) -> None:
    result = run_lazarus(sys.executable, str(bn_script), as_json=True)
    assert result.returncode == 1
    assert "epoch 1 starting\n" in result.stderr.decode()  # the command's stdout, untouched, on stderr
    payload = json.loads(result.stdout)
    assert payload["exit_code"] == 1 and payload["signal"] is None
    assert payload["command"][-1] == str(bn_script)
    assert payload["error"]["text"].startswith(BN_MESSAGE)
    assert payload["matches"][0]["id"] == "batchnorm-batch-of-one"


def test_run_passes_success_through_byte_for_byte(run_lazarus, tmp_path: Path) -> None:
    raw = b"\x1b[32mgreen\x1b[0m\r 10%\r100%\n\xff\xfe not utf-8\nno newline at the end"
    child = python_script(tmp_path, f"import sys\nsys.stdout.buffer.write({raw!r})\n")
    result = run_lazarus(sys.executable, child)
    assert result.returncode == 0
    assert result.stdout == raw
    assert result.stderr == b""


def test_run_forwards_stdin(run_lazarus) -> None:
    result = run_lazarus(sys.executable, "-c", "import sys; print(sys.stdin.read().upper())", input=b"hello\n")
    assert result.returncode == 0
    assert result.stdout == b"HELLO\n\n"


def test_run_keeps_the_exit_code_and_says_when_nothing_matches(run_lazarus, tmp_path: Path) -> None:
    child = python_script(tmp_path, "import sys\nprint('step 5', end='\\r')\nsys.exit(3)\n")
    result = run_lazarus(sys.executable, child)
    assert result.returncode == 3
    assert result.stdout == b"step 5\r"
    err = result.stderr.decode()
    # The progress line did not end: the report starts on a line of its own.
    assert err.startswith("\nlazarus: the command exited with code 3\n")
    assert "No confident match" in err


@pytest.mark.parametrize(
    ("signum", "name", "line"),
    [(signal.SIGKILL, "SIGKILL", "Killed"), (signal.SIGSEGV, "SIGSEGV", "Segmentation fault")],
)
def test_run_reports_a_child_killed_by_a_signal(run_lazarus, tmp_path: Path, signum: int, name: str, line: str) -> None:
    child = python_script(tmp_path, f"import os\nprint('working', flush=True)\nos.kill(os.getpid(), {int(signum)})\n")
    result = run_lazarus(sys.executable, child)
    assert result.returncode == 128 + signum
    assert result.stdout == b"working\n"
    assert f"the command was killed by {name} (signal {int(signum)})" in result.stderr.decode()
    # The line a shell would print goes to the matcher too: extraction sees it as the error.
    payload = json.loads(run_lazarus(sys.executable, child, as_json=True).stdout)
    assert payload["exit_code"] == 128 + signum and payload["signal"] == name
    assert payload["error"]["line"].startswith(line)


def test_run_matches_a_bus_error_to_the_shared_memory_entry(run_lazarus, tmp_path: Path) -> None:
    child = python_script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGBUS)\n")
    payload = json.loads(run_lazarus(sys.executable, child, as_json=True).stdout)
    assert payload["exit_code"] == 128 + signal.SIGBUS
    assert "dataloader-bus-error-shared-memory" in [m["id"] for m in payload["matches"]]


def test_run_command_not_found_exits_127(run_lazarus) -> None:
    result = run_lazarus("no-such-command-lazarus-test")
    assert result.returncode == 127
    assert result.stderr.decode() == "lazarus: no-such-command-lazarus-test: command not found\n"


def test_run_forwards_sigterm_and_stays_quiet(cli_env: dict[str, str], tmp_path: Path) -> None:
    child = python_script(
        tmp_path,
        "import signal, sys, time\n"
        "def stop(signum, frame):\n"
        "    print('child got SIGTERM', flush=True)\n"
        "    sys.exit(5)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
    )
    # A session of its own: no terminal, so only lazarus can pass the signal on.
    process = subprocess.Popen(
        [*run_prefix(), sys.executable, child],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 5
    assert out == b"child got SIGTERM\n"
    assert err == b""  # the user stopped it: no diagnosis, no traceback from lazarus


# ---------------------------------------------------------------- lazarus run under a terminal


def run_in_terminal(command: list[str], env: dict[str, str], keys: bytes = b"", after: bytes = b"") -> tuple[int, str]:
    """Run `command` as the foreground job of a new pseudo-terminal, typing `keys` once the
    terminal has shown `after`; returns the exit code and everything the terminal showed."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def become_terminal_owner() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, preexec_fn=become_terminal_owner
    )
    os.close(slave)
    shown = b""
    typed = not keys
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # every process holding the terminal has exited
            break
        if not data:
            break
        shown += data
        if not typed and after in shown:
            os.write(master, keys)
            typed = True
    os.close(master)
    return process.wait(timeout=60), shown.decode(errors="replace")


def test_run_gives_the_child_a_terminal(cli_env: dict[str, str], tmp_path: Path) -> None:
    child = python_script(
        tmp_path,
        "import sys\n"
        "print('stdout tty', sys.stdout.isatty(), 'stderr tty', sys.stderr.isatty())\n"
        "sys.stdout.write('\\x1b[31mred\\x1b[0m 50%\\r100%\\n')\n",
    )
    code, shown = run_in_terminal([*run_prefix(), sys.executable, child], cli_env)
    assert code == 0
    assert "stdout tty True stderr tty True" in shown
    assert "\x1b[31mred\x1b[0m 50%\r100%" in shown  # colours and \r untouched


def test_ctrl_c_reaches_the_child_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    child = python_script(
        tmp_path,
        "import time\n"
        "try:\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    time.sleep(0.5)  # a second SIGINT would interrupt this cleanup\n"
        "    print('cleanup done', flush=True)\n"
        "    raise\n",
    )
    code, shown = run_in_terminal([*run_prefix(), sys.executable, child], cli_env, keys=b"\x03", after=b"ready")
    assert code == 128 + signal.SIGINT
    assert "cleanup done" in shown
    assert shown.count("KeyboardInterrupt") == 1  # the child's own traceback, and nothing from lazarus
    assert "lazarus" not in shown


# ---------------------------------------------------------------- the exception hook


def test_hook_runs_a_script_as_main_and_shows_the_remedy_after_the_traceback(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    script = python_script(tmp_path, "import sys\nprint(__name__, sys.argv[1:], flush=True)\n" + BN_SCRIPT)
    result = subprocess.run(
        [sys.executable, "-m", "lazarus.hook", script, "--lr", "3e-4"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=180,
    )
    assert result.returncode == 1
    assert result.stdout == "__main__ ['--lr', '3e-4']\nepoch 1 starting\n"
    err = result.stderr
    # The traceback starts in the user's script, not in lazarus or runpy.
    assert err.startswith(f'loading data\nTraceback (most recent call last):\n  File "{script}", line 8, in <module>')
    assert "runpy" not in err and "lazarus/hook.py" not in err
    assert err.index(BN_MESSAGE) < err.index("lazarus knows this error:") < err.index("batchnorm-batch-of-one")


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)


def test_import_auto_shows_the_remedy_after_the_traceback(cli_env: dict[str, str]) -> None:
    pytest.importorskip("torch")
    result = run_python("import lazarus.auto\nimport torch\ntorch.nn.BatchNorm1d(4)(torch.randn(1, 4))", cli_env)
    assert result.returncode == 1
    err = result.stderr
    assert err.startswith("Traceback (most recent call last):")
    assert err.index(BN_MESSAGE) < err.index("lazarus knows this error:") < err.index("batchnorm-batch-of-one")


def test_hook_covers_threads(cli_env: dict[str, str]) -> None:
    code = (
        "import threading, lazarus.auto\n"
        "def work():\n"
        f"    raise ValueError({BN_MESSAGE.split(': ', 1)[1] + ', got input size torch.Size([1, 4])'!r})\n"
        "thread = threading.Thread(target=work, name='loader')\n"
        "thread.start(); thread.join()\n"
        "print('main goes on')\n"
    )
    result = run_python(code, cli_env)
    assert result.returncode == 0 and result.stdout == "main goes on\n"
    err = result.stderr
    assert err.startswith("Exception in thread loader:")
    assert err.index(BN_MESSAGE) < err.index("batchnorm-batch-of-one")


def test_hook_stays_out_of_keyboard_interrupts(cli_env: dict[str, str]) -> None:
    result = run_python("import lazarus.auto\nraise KeyboardInterrupt", cli_env)
    assert "KeyboardInterrupt" in result.stderr
    assert "lazarus" not in result.stderr


def test_hook_failure_is_one_line_and_the_traceback_still_shows(cli_env: dict[str, str]) -> None:
    # A broken lazarus install: its matcher cannot be imported.
    code = (
        "import sys, lazarus.auto\n"
        "sys.modules['lazarus.query.pipeline'] = None\n"
        "raise RuntimeError('CUDA error: out of memory')"
    )
    result = run_python(code, cli_env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "RuntimeError: CUDA error: out of memory" in lines
    assert lines[-1].startswith("lazarus: could not look up a remedy: ModuleNotFoundError")
    assert sum(line.startswith("lazarus") for line in lines) == 1


def test_hook_import_is_light(cli_env: dict[str, str]) -> None:
    heavy = ("torch", "lazarus.query.pipeline", "lazarus.cli", "yaml", "rapidfuzz", "rich", "typer")
    result = run_python(f"import sys, lazarus.auto\nprint([m for m in {heavy!r} if m in sys.modules])", cli_env)
    assert result.stdout == "[]\n", result.stderr


# ---------------------------------------------------------------- IPython and Jupyter


def test_ipython_extension_shows_the_remedy_after_the_traceback(cli_env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("IPython")
    pytest.importorskip("torch")
    cells = tmp_path / "cells.ipy"
    cells.write_text(
        "%load_ext lazarus\n"
        "import torch\n"
        "try:\n"
        "    get_ipython().run_cell('torch.nn.BatchNorm1d(4)(torch.randn(1, 4))')\n"
        "    get_ipython().run_cell('undefined_name')\n"
        "    get_ipython().run_line_magic('unload_ext', 'lazarus')\n"
        "    print('--- unloaded ---')\n"
        "    get_ipython().run_cell('torch.nn.BatchNorm1d(4)(torch.randn(1, 4))')\n"
        "finally:\n"
        "    print('--- done ---')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "IPython", "--colors=nocolor", "--no-banner", str(cells)],
        capture_output=True,
        text=True,
        env={**cli_env, "IPYTHONDIR": str(tmp_path / "ipython")},
        timeout=180,
    )
    out = result.stdout
    assert "--- done ---" in out, result.stderr
    loaded, unloaded = out.split("--- unloaded ---")
    assert loaded.index(BN_MESSAGE) < loaded.index("lazarus knows this error:") < loaded.index("batchnorm-batch-of-one")
    assert "NameError" in loaded and loaded.count("lazarus knows") == 1  # nothing to say about a typo
    assert BN_MESSAGE in unloaded and "lazarus" not in unloaded


# ---------------------------------------------------------------- pytest -p lazarus

FAILING_TESTS = """
import pytest
import torch


def test_batch_of_one():
    torch.nn.BatchNorm1d(4)(torch.randn(1, 4))


@pytest.fixture()
def model():
    return torch.nn.BatchNorm1d(4)(torch.randn(1, 4))


def test_setup_fails(model):
    pass


def test_plain_assert():
    assert 1 + 1 == 3
"""


def test_pytest_plugin_adds_the_remedy_to_matching_failures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    pytester.makepyfile(test_model=FAILING_TESTS)
    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path / "cache"))
    result = pytester.runpytest_subprocess("-p", "lazarus", "-rN")
    result.assert_outcomes(failed=2, errors=1)
    text = result.stdout.str()
    sections = text.split("- lazarus -")
    assert len(sections) == 3  # the failed call and the failed setup, not the plain assert
    for before, after in zip(sections, sections[1:], strict=False):
        assert BN_MESSAGE in before
        assert after.lstrip("-\n").startswith("lazarus knows this error:")
    assert "batchnorm-batch-of-one" in sections[1]
    assert "lazarus knows" not in text.split("test_plain_assert")[-1]


def test_pytest_plugin_is_opt_in(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytester.makepyfile(test_model=FAILING_TESTS)
    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path / "cache"))
    result = pytester.runpytest_subprocess("-rN")
    result.assert_outcomes(failed=2, errors=1)
    assert "lazarus" not in result.stdout.str()
