"""The sandbox against hostile snippets: the user KB in tests/fixtures/kb/hostile, run by the real
`lazarus validate` as a subprocess.

Each hostile entry tries one way out (planting a module the server would import, writing into
HOME, reaching the network, leaving a process behind, flooding the output, mapping memory past
the cap, killing the server, outliving an interrupted run); plain entries beside them must still
pass. The snippets reach the test only through LAZARUS_HOSTILE_OUT and LAZARUS_HOSTILE_PORT.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

HOSTILE_KB = Path(__file__).resolve().parent.parent / "fixtures" / "kb" / "hostile"
# What the summary says when the kernel does not let the sandbox unshare the network.
NETWORK_NOTE = "network not isolated"


def lazarus_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZARUS_")}
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        LAZARUS_NO_BUILTIN="1",
        LAZARUS_CACHE_DIR=str(tmp / "cache"),
        LAZARUS_HOSTILE_OUT=str(out),
        NO_COLOR="1",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def validate_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "lazarus", "validate", "--kb", str(HOSTILE_KB), *args]


def rows_by_id(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in json.loads(path.read_text(encoding="utf-8")) if row["part"] == "fixed"}


def process_alive(pid: int) -> bool:
    """True while the process runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, listener: socket.socket) -> Iterator[dict[str, Any]]:
    """One run, one part at a time, of every hostile entry that does not stop the run, then the
    plain entry that a poisoned server would fail."""
    tmp = tmp_path_factory.mktemp("hostile")
    env = lazarus_env(
        tmp,
        LAZARUS_HOSTILE_PORT=str(listener.getsockname()[1]),
        LAZARUS_VALIDATE_MEMORY_GB="1",
        TMPDIR=str(tmp_path_factory.mktemp("tmpdir")),
    )
    ids = [
        "hostile-plants-module",
        "hostile-writes-home",
        "hostile-connects",
        "hostile-setsid",
        "hostile-floods-output",
        "hostile-maps-memory",
        "hostile-reaches-server",
        "hostile-forges-report",
        "hostile-shares-compiler-cache",
        "plain-ones",
    ]
    result = subprocess.run(
        validate_args(*ids, "-j", "1", "--json", str(tmp / "result.json")),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (tmp / "result.json").exists(), result.stdout + result.stderr
    yield {"result": result, "rows": rows_by_id(tmp / "result.json"), "tmp": tmp, "env": env}
    pid_file = tmp / "out" / "setsid.pid"
    if pid_file.exists():  # never leave the sleeper behind, whatever the test found
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_planted_module_does_not_reach_later_entries(hostile_run: dict[str, Any]) -> None:
    rows = hostile_run["rows"]
    assert rows["plain-ones"]["outcome"] == "passed", rows["plain-ones"]


def test_home_is_the_jobs_own(hostile_run: dict[str, Any]) -> None:
    assert hostile_run["rows"]["hostile-writes-home"]["outcome"] == "passed", hostile_run["rows"]["hostile-writes-home"]
    assert list((hostile_run["tmp"] / "home").iterdir()) == []


def test_each_part_compiles_into_a_cache_of_its_own(hostile_run: dict[str, Any]) -> None:
    """Inductor's cache is the part's, gone with it; no precompiled header (over the file cap)."""
    assert hostile_run["rows"]["hostile-shares-compiler-cache"]["outcome"] == "passed"
    report = json.loads((hostile_run["tmp"] / "out" / "compiler-cache.json").read_text())
    assert report["precompiled_headers"] is False
    where = Path(report["cache_dir"])
    assert not where.exists()  # the part's folder went with it
    assert not where.name.startswith("torchinductor_")  # not the machine-wide default


def test_no_network(hostile_run: dict[str, Any], listener: socket.socket) -> None:
    row = hostile_run["rows"]["hostile-connects"]
    if NETWORK_NOTE in hostile_run["result"].stdout:
        pytest.skip("this kernel does not let the sandbox unshare the network; the summary says so")
    with pytest.raises(BlockingIOError):
        listener.accept()
    assert row["outcome"] == "failed"
    assert row["reason"].startswith(("fixed raised ConnectionRefusedError: ", "fixed raised OSError: ")), row


def test_network_note_only_when_not_isolated(hostile_run: dict[str, Any]) -> None:
    """Either the snippet could not connect, or the summary says the network was not isolated."""
    row = hostile_run["rows"]["hostile-connects"]
    assert row["outcome"] == "failed" or NETWORK_NOTE in hostile_run["result"].stdout


def test_process_in_its_own_session_does_not_outlive_the_run(hostile_run: dict[str, Any]) -> None:
    assert hostile_run["rows"]["hostile-setsid"]["outcome"] == "passed"
    pid = int((hostile_run["tmp"] / "out" / "setsid.pid").read_text())
    assert wait_gone(pid), f"pid {pid} started with setsid survived the validator"


def test_output_flood_is_cut_and_said(hostile_run: dict[str, Any]) -> None:
    row = hostile_run["rows"]["hostile-floods-output"]
    assert row["outcome"] == "failed"
    assert "output truncated" in row["reason"], row
    assert "timed out" not in row["reason"]


def test_shared_mapping_past_the_cap_fails(hostile_run: dict[str, Any]) -> None:
    row = hostile_run["rows"]["hostile-maps-memory"]
    assert row["outcome"] == "failed"
    assert "exceeded memory cap (1 GiB)" in row["reason"], row


def test_server_memory_and_pipes_are_out_of_reach(hostile_run: dict[str, Any]) -> None:
    row = hostile_run["rows"]["hostile-reaches-server"]
    assert row["outcome"] == "passed", row


def test_a_forged_report_fails_its_entry_not_the_run(hostile_run: dict[str, Any]) -> None:
    """A snippet that writes a report of the wrong types where its child reports: that entry
    fails, the entries after it still run (plain-ones passes, checked above)."""
    row = hostile_run["rows"]["hostile-forges-report"]
    assert row["outcome"] == "failed", row
    assert "report was not one the validator writes" in row["reason"], row  # the server did not die
    assert hostile_run["rows"]["plain-ones"]["outcome"] == "passed"


def test_killing_the_server_costs_only_the_killer(tmp_path: Path) -> None:
    env = lazarus_env(tmp_path)
    result = subprocess.run(
        validate_args("plain-slow", "hostile-kills-server", "-j", "2", "--json", str(tmp_path / "r.json")),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = rows_by_id(tmp_path / "r.json")
    assert rows["plain-slow"]["outcome"] == "passed", (rows, result.stderr)
    killer = rows["hostile-kills-server"]
    assert killer["outcome"] == "failed"
    assert "sandbox server died" in killer["reason"], killer
    assert result.returncode == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_cleans_up_and_reports(tmp_path: Path, signum: int) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    env = lazarus_env(tmp_path, TMPDIR=str(temp))
    proc = subprocess.Popen(
        validate_args("plain-ones", "hostile-sleeps", "-j", "1"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as in a terminal: a run started in the background by a non-interactive shell (CI) inherits
        # an ignored SIGINT, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pid_file = tmp_path / "out" / "sleeper.pid"
    deadline = time.monotonic() + 120
    while not pid_file.exists() or not pid_file.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, "the sleeping part never started"
        time.sleep(0.05)
    sleeper = int(pid_file.read_text())
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if process_alive(sleeper):
            os.kill(sleeper, signal.SIGKILL)
    assert proc.returncode == 128 + signum, (out, err)
    assert "interrupted" in out, out
    assert "plain-ones" in out and "passed" in out, out
    assert "Traceback" not in err
    assert wait_gone(sleeper), "the running part outlived the interrupted validator"
    assert list(temp.iterdir()) == [], list(temp.iterdir())


# --------------------------------------------------------------------------- --python


def validate_with_python(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    """`lazarus validate plain-ones --python PYTHON`, as a user runs it."""
    return subprocess.run(
        validate_args("plain-ones", "--python", python),
        env=lazarus_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    result = validate_with_python(tmp_path, str(missing))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"lazarus: --python {missing}: no such file"]


def test_python_too_old_for_the_sandbox(tmp_path: Path) -> None:
    fake = tmp_path / "python3.8"
    fake.write_text("#!/bin/sh\necho 3 8\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    result = validate_with_python(tmp_path, str(fake))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"lazarus: --python {fake}: Python 3.8 cannot run the sandbox (lazarus needs 3.10 or newer)"]


def test_python_that_is_not_python(tmp_path: Path) -> None:
    result = validate_with_python(tmp_path, "/bin/false")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("lazarus: --python /bin/false: cannot run it as Python"), line


def torch_version_of(python: str) -> str:
    code = "import torch; print(torch.__version__.split('+')[0])"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


PYTHONS = [sys.executable]
if Path("/tmp/venv2141/bin/python").exists():  # a second torch on the development machine
    PYTHONS.append("/tmp/venv2141/bin/python")


@pytest.mark.parametrize("python", PYTHONS)
def test_python_records_the_torch_that_ran(tmp_path: Path, python: str) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "plain-ones.yaml").write_bytes((HOSTILE_KB / "plain-ones.yaml").read_bytes())
    env = lazarus_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "lazarus", "validate", "--kb", str(kb), "plain-ones", "--python", python, "--record"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = torch_version_of(python)
    assert f"torch {version}" in result.stdout
    records = json.loads((kb / "verified" / f"torch-{version}-cpu.json").read_text(encoding="utf-8"))
    assert records["plain-ones"]["torch"] == version
    assert records["plain-ones"]["outcome"] == "passed"


# --------------------------------------------------------------------------- where the kernel refuses


def test_network_note_when_the_kernel_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without user or network namespaces (as on some kernels and in some containers) nothing
    fails: the summary and the JUnit properties say the network was not isolated."""
    from rich.console import Console

    from lazarus.verify import sandbox
    from lazarus.verify.pool import SandboxPool
    from lazarus.verify.report import junit_tree, print_summary
    from lazarus.verify.results import ValidationRun

    refused = "unshare failed: Operation not permitted"
    monkeypatch.setattr(sandbox, "_unshare", lambda flags: refused)
    assert sandbox._unshare_network() == refused
    pool = SandboxPool(1)
    pool.server.info = sandbox.ServerInfo(torch="2.13.0", network=f"network not isolated: {refused}")
    env = pool.environment(["cpu"], [])
    note = f"network not isolated: {refused} (run untrusted KBs in a container)"
    assert env.notes == (note,)
    run = ValidationRun((), ("cpu",), env, (), 0.0)
    console = Console(record=True, width=200)
    print_summary(run, console)
    assert f"note: {note}" in console.export_text()
    properties = junit_tree(run).getroot().iter("property")
    assert ("note", note) in [(p.get("name"), p.get("value")) for p in properties]
