"""Isolated execution of snippet code: a fork server that pays the torch import once.

`python -m lazarus.verify.sandbox` is the server. It imports torch (and numpy when present) once, then
reads JSON requests, one per line, on stdin and answers each with one JSON line on stdout. For
each job it forks a child that gets its own process group, job folder (working folder, HOME and
TMPDIR), network namespace where the kernel allows one, limits on memory, address space, output
and processes, runs the code with a global `device`, and reports what happened over a pipe.
The server keeps up to N children running at once (`-j N`), enforces each one's timeout, kills
each child's whole process group when it ends and reads its wait status, so a hang, a segfault
or an `os._exit` only ever ends that one child. The server is a child subreaper: a process a
snippet left behind in a session of its own comes back to it and is killed too.

None of this is a security boundary: a snippet runs as the user who runs the validator, and can
do what that user can do outside its job folder (docs/validator.md says what is contained).

CUDA is never touched in the server, only in children: a CUDA context does not survive fork.

`SandboxServer` is the client side, used by the validator: it starts a server and sends it jobs.
This module does not import torch at module level; only the server process does.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from lazarus.signals import signal_name

DEFAULT_MEMORY_CAP = 4 * 1024**3
# Output (stdout and stderr together) and any one file a part writes: RLIMIT_FSIZE.
DEFAULT_OUTPUT_CAP = 64 * 1024**2
# Processes and threads of one part, where the kernel counts them per part (a user namespace).
DEFAULT_MAX_PROCESSES = 1024
# The oldest Python that can run this module as the server (the project's own floor).
MIN_PYTHON = (3, 10)
OUTPUT_TAIL_CHARS = 2000
TRACEBACK_TAIL_CHARS = 3000
MESSAGE_CHARS = 4000
# Slack on top of a job's own timeout before the client gives up on the server itself.
SERVER_GRACE_S = 30.0
SERVER_START_TIMEOUT_S = 180.0
# How often to look for exited children where pidfds are not available (not Linux).
POLL_S = 0.005
# Never imported by the server even when a child used them: importing them is cheap, and they
# are about processes and threads, which a fork server must not start.
UNLEARNABLE = ("torch.distributed", "torch.multiprocessing", "multiprocessing", "concurrent", "asyncio", "subprocess")


@dataclass(frozen=True)
class Job:
    """One piece of code to run once in a fresh child."""

    code: str
    device: str = "cpu"
    timeout: float = 30.0
    memory_cap: int | None = DEFAULT_MEMORY_CAP
    name: str = "snippet"
    kind: str = "code"  # "code" runs `code`; "probe" reports CUDA facts; "find" looks for modules
    output_cap: int | None = DEFAULT_OUTPUT_CAP


@dataclass(frozen=True)
class ChildOutcome:
    """What happened to one job in its forked child (the raw facts; the validator's verdict on them
    is a `lazarus.verify.results.PartResult`).

    status: "ok" (ran to the end), "raised" (an exception escaped), "timeout" (killed after the
    timeout), "crashed" (died by a signal, exited before reporting, or the server was lost).
    """

    status: str
    duration: float = 0.0
    exc_type: str | None = None
    exc_mro: tuple[str, ...] = ()
    message: str = ""
    where: str | None = None
    traceback: str = ""
    signal: str | None = None
    exit_code: int | None = None
    output: str = ""
    value: dict[str, Any] | None = None
    detail: str = ""
    output_truncated: bool = False
    # The server died while this job was in flight (the job itself may or may not have killed it).
    server_lost: bool = False

    @property
    def memory_error(self) -> bool:
        """True when the exception is an allocation failure, typically the memory cap biting."""
        if self.status != "raised":
            return False
        if "MemoryError" in self.exc_mro or "OutOfMemoryError" in self.exc_mro:
            return True
        # torch's allocator, and mmap's OSError(ENOMEM) under the address-space cap.
        return "can't allocate memory" in self.message or "Cannot allocate memory" in self.message

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChildOutcome:
        """An outcome from a report a child wrote. The snippet ran in that child and could write
        anything where the report goes: a field of the wrong type is left at its default, and a
        report without a known status says the child crashed, rather than failing the server."""
        known: dict[str, Any] = {
            k: v for k, v in data.items() if k in _OUTCOME_TYPES and isinstance(v, _OUTCOME_TYPES[k])
        }
        known["exc_mro"] = tuple(name for name in known.get("exc_mro", ()) if isinstance(name, str))
        if isinstance(known.get("duration"), bool):
            del known["duration"]
        if known.get("status") not in OUTCOME_STATUSES:
            known["status"] = "crashed"
            known["detail"] = "the child's report was not one the validator writes"
        return cls(**known)


OUTCOME_STATUSES = frozenset({"ok", "raised", "timeout", "crashed"})
_NONE = type(None)
_OUTCOME_TYPES: dict[str, type | tuple[type, ...]] = {
    "status": str,
    "duration": (int, float),
    "exc_type": (str, _NONE),
    "exc_mro": (list, tuple),
    "message": str,
    "where": (str, _NONE),
    "traceback": str,
    "signal": (str, _NONE),
    "exit_code": (int, _NONE),
    "output": str,
    "value": (dict, _NONE),
    "detail": str,
    "output_truncated": bool,
    "server_lost": bool,
}


@dataclass(frozen=True)
class ServerInfo:
    """What a server reports once torch is imported."""

    torch: str = ""
    cuda: str | None = None
    numpy: str | None = None
    pid: int = 0
    error: str | None = None
    python: str = ""
    # Why snippets can reach the network here (the kernel refused a network namespace), or "".
    network: str = ""


# --------------------------------------------------------------------------- client side


class SandboxError(RuntimeError):
    """The server could not be started."""


def check_interpreter(python: str) -> str:
    """The path of a Python that can run the server (a bare name is looked up on PATH);
    SandboxError with one line if it cannot.

    The server is this very module, imported from the running lazarus's package folder (put on
    that interpreter's PYTHONPATH for the server only), so the interpreter needs no lazarus of
    its own, only a Python new enough for it.
    """
    if os.sep not in python:  # a bare name, such as python3.12: looked up on PATH
        python = shutil.which(python) or python
    path = Path(python)
    if not path.exists():
        raise SandboxError("no such file")
    if path.is_dir() or not os.access(path, os.X_OK):
        raise SandboxError("not an executable file")
    code = "import sys; print(*sys.version_info[:2], flush=True); import lazarus.verify.sandbox"
    try:
        done = subprocess.run(
            [python, "-c", code],
            env=_server_pythonpath(dict(os.environ)),
            cwd="/",
            capture_output=True,
            timeout=SERVER_START_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"cannot run it as Python: {exc}") from None
    words = done.stdout.decode("utf-8", "replace").split()
    try:
        version = (int(words[0]), int(words[1]))
    except (IndexError, ValueError):
        raise SandboxError(f"cannot run it as Python (exit status {done.returncode})") from None
    shown = f"{version[0]}.{version[1]}"
    if version < MIN_PYTHON:
        floor = ".".join(map(str, MIN_PYTHON))
        raise SandboxError(f"Python {shown} cannot run the sandbox (lazarus needs {floor} or newer)")
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise SandboxError(f"Python {shown} cannot import lazarus.verify.sandbox: {lines[-1]}")
    return python


def _server_pythonpath(env: dict[str, str]) -> dict[str, str]:
    """The running lazarus's package folder first on PYTHONPATH; the server takes it off again."""
    package_parent = str(Path(__file__).resolve().parent.parent.parent)
    original = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, original) if p)
    env["LAZARUS_SANDBOX_ADDED_PATH"] = package_parent
    env["LAZARUS_SANDBOX_PYTHONPATH"] = original
    return env


class SandboxServer:
    """The client of one fork server running up to `slots` children at a time.

    `submit` sends a job and returns its id; `collect` returns the next finished (id, ChildOutcome).
    When the server dies or stops answering, `collect` reports every job in flight as crashed and
    the next `submit` starts a new server.
    """

    def __init__(self, slots: int = 1, python: str | None = None) -> None:
        self.slots = max(1, slots)
        self.python = python or sys.executable
        self.proc: subprocess.Popen[bytes] | None = None
        self.info = ServerInfo()
        self._buffer = b""
        self._base: str | None = None
        self._next_id = 0
        # id -> (time sent, timeout): bounds how long the server may stay silent.
        self._in_flight: dict[int, tuple[float, float]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self) -> ServerInfo:
        """Launch the server and wait for its hello, sent once torch is imported."""
        try:
            return self._start()
        except BaseException:  # Ctrl-C while torch imports: leave no server and no folder behind
            self.close()
            raise

    def _start(self) -> ServerInfo:
        self._base = tempfile.mkdtemp(prefix="lazarus-sandbox-")
        # The server starts in a folder of its own; it takes that folder off its import path and
        # leaves it, so nothing a job writes next to its own folder is ever imported by the server.
        server_dir = Path(self._base) / "server"
        server_dir.mkdir()
        (Path(self._base) / "jobs").mkdir()
        self.proc = subprocess.Popen(
            [self.python, "-m", "lazarus.verify.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=server_dir,
            env=self._environment(),
            # Ctrl-C on a terminal reaches the validator, which stops the server in order.
            start_new_session=True,
        )
        line = self._read_line(time.monotonic() + SERVER_START_TIMEOUT_S)
        if line is None:
            self.close()
            raise SandboxError("the sandbox server did not start (python -m lazarus.verify.sandbox)")
        hello = json.loads(line)
        self.info = ServerInfo(
            torch=hello.get("torch", ""),
            cuda=hello.get("cuda"),
            numpy=hello.get("numpy"),
            pid=hello.get("pid", 0),
            error=hello.get("error"),
            python=hello.get("python", ""),
            network=hello.get("network", ""),
        )
        if self.info.error:
            self.close()
            raise SandboxError(self.info.error)
        return self.info

    def _environment(self) -> dict[str, str]:
        env = _server_pythonpath(dict(os.environ))
        # N children side by side must not each start one OpenMP thread per core.
        if "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // self.slots))
        env["LAZARUS_SANDBOX_BASE"] = str(Path(self._base or tempfile.gettempdir()) / "jobs")
        env["LAZARUS_SANDBOX_SLOTS"] = str(self.slots)
        return env

    def submit(self, job: Job) -> int:
        """Send a job; the server starts it as soon as one of its slots is free."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        job_id = self._next_id
        self._next_id += 1
        self._in_flight[job_id] = (time.monotonic(), job.timeout)
        request = json.dumps({"op": "run", "id": job_id, "job": asdict(job)}) + "\n"
        try:
            self.proc.stdin.write(request.encode())
            self.proc.stdin.flush()
        except OSError:
            pass  # the dead server shows up in collect()
        return job_id

    def preload(self, modules: list[str]) -> None:
        """Ask the server to import modules the coming jobs will need (it skips what it may not)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write((json.dumps({"op": "preload", "modules": modules}) + "\n").encode())
            self.proc.stdin.flush()

    def collect(self) -> list[tuple[int, ChildOutcome]]:
        """Wait for the next finished job; every job in flight when the server is lost."""
        if not self._in_flight:
            return []
        line = self._read_line(self._silence_deadline())
        if line is None:
            return self._lose_all("the sandbox server died or stopped answering")
        answer = json.loads(line)
        job_id = answer.get("id")
        if job_id not in self._in_flight:
            return []
        del self._in_flight[job_id]
        return [(job_id, ChildOutcome.from_dict(answer.get("outcome", {})))]

    def run(self, job: Job) -> ChildOutcome:
        """Run one job and wait for it (the simple, one-at-a-time use)."""
        job_id = self.submit(job)
        while True:
            for finished_id, outcome in self.collect():
                if finished_id == job_id:
                    return outcome

    def _silence_deadline(self) -> float:
        """The server must answer something before the latest in-flight job could have finished.

        Jobs wait in the server's queue while its slots are busy, so this is generous: the sum of
        the timeouts of the jobs that could be ahead, plus a grace.
        """
        longest = max(timeout for _, timeout in self._in_flight.values())
        queued_rounds = -(-len(self._in_flight) // self.slots)
        oldest = min(sent for sent, _ in self._in_flight.values())
        return max(oldest + longest * queued_rounds, time.monotonic()) + SERVER_GRACE_S

    def _lose_all(self, why: str) -> list[tuple[int, ChildOutcome]]:
        lost = [(job_id, ChildOutcome(status="crashed", detail=why, server_lost=True)) for job_id in self._in_flight]
        self._in_flight.clear()
        self.close()
        return lost

    def _read_line(self, deadline: float) -> str | None:
        """One protocol line, or None on EOF or when the deadline passes."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")

    def close(self) -> None:
        """Stop the server (it kills its running children on the way out) and remove its folder."""
        proc, self.proc = self.proc, None
        self._buffer = b""
        if proc is not None:
            _stop_process(proc)
        if self._base:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Closing stdin asks the server to kill its children and leave; force it if it does not."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()


# --------------------------------------------------------------------------- server side


@dataclass
class Running:
    """A child the server is supervising."""

    request_id: int
    job: Job
    pid: int
    read_fd: int
    pidfd: int | None
    job_dir: Path
    started: float
    chunks: list[bytes] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started + self.job.timeout

    @property
    def reported(self) -> bool:
        """The child sends its report as one line just before it exits."""
        return bool(self.chunks) and self.chunks[-1].endswith(b"\n")

    def fds(self) -> list[int]:
        return [self.read_fd] if self.pidfd is None else [self.read_fd, self.pidfd]


# Descriptors a child must close: the protocol and its siblings' pipes.
_PROTOCOL_FDS: list[int] = []
_running: dict[int, Running] = {}
# Children that have reported and are exiting, still to be reaped.
_exiting: set[int] = set()
_learning = True
# Whether children may unshare the network (the server tried once, in a throwaway child).
_network_ok = False

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
SIOCSIFFLAGS = 0x8914
IFF_UP_LOOPBACK_RUNNING = 0x1 | 0x8 | 0x40


def serve() -> int:
    """The server loop: hello, then run requests with up to N children until stdin closes."""
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    _PROTOCOL_FDS.extend([protocol_in, protocol_out])
    # Stray prints from imports must not corrupt the protocol.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    signal.signal(signal.SIGTERM, _stop_server)
    signal.signal(signal.SIGINT, _stop_server)
    _leave_the_import_path()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Not dumpable: a snippet (the same user) cannot ptrace the server or open its /proc/PID/fd
    # and /proc/PID/mem to write answers or code into it. Each child makes itself dumpable again.
    _prctl(PR_SET_DUMPABLE, 0)
    global _network_ok
    network_problem = _probe_network_isolation()
    _network_ok = network_problem is None
    hello = _hello()
    hello["network"] = "" if network_problem is None else f"network not isolated: {network_problem}"
    _reply(protocol_out, hello)
    _freeze_heap()
    base = Path(os.environ.get("LAZARUS_SANDBOX_BASE") or tempfile.gettempdir())
    slots = max(1, int(os.environ.get("LAZARUS_SANDBOX_SLOTS", "1") or 1))
    os.set_blocking(protocol_in, False)
    waiting: list[dict[str, Any]] = []
    buffer = b""
    client_open = True
    while client_open or _running:
        while waiting and len(_running) < slots:
            request = waiting.pop(0)
            child = start_child(int(request["id"]), Job(**request["job"]), base)
            _running[child.pid] = child
        ready = _wait(protocol_in if client_open else None)
        if protocol_in in ready:
            chunk = _read_available(protocol_in)
            if chunk is None:
                break  # the client is gone: nobody wants the answers
            buffer += chunk
            lines, _, buffer = buffer.rpartition(b"\n")
            for request in (json.loads(line) for line in lines.split(b"\n") if line.strip()):
                if request.get("op") == "preload":
                    learn_imports(list(request.get("modules", [])))
                else:
                    waiting.append(request)
        _finish_children(ready, protocol_out)
    for child in list(_running.values()):
        _kill_group(child.pid)
        _exiting.add(child.pid)
    _reap_exiting(block=True)
    _sweep_strays(final=True)
    return 0


def _leave_the_import_path() -> None:
    """Take the server's own folder and the PYTHONPATH entry the client added off sys.path, give
    children the user's PYTHONPATH back, and leave the folder: the import path then holds no
    folder a job can write next to (a `../../tabnanny.py` stays the job's own business)."""
    cwd = os.getcwd()
    added = os.environ.pop("LAZARUS_SANDBOX_ADDED_PATH", "")
    original = os.environ.pop("LAZARUS_SANDBOX_PYTHONPATH", None)
    path = [p for p in sys.path if p not in ("", ".", cwd)]
    if added in path:
        path.remove(added)  # the first one only: the same folder may be on the path for its own sake
    sys.path[:] = path
    if original is not None:
        if original:
            os.environ["PYTHONPATH"] = original
        else:
            os.environ.pop("PYTHONPATH", None)
    os.chdir("/")


def _reply(fd: int, data: dict[str, Any]) -> None:
    payload = (json.dumps(data) + "\n").encode()
    while payload:
        payload = payload[os.write(fd, payload) :]


def _hello() -> dict[str, Any]:
    try:
        import torch
    except Exception as exc:  # any import failure means there is nothing to validate with
        return {"error": f"cannot import torch: {type(exc).__name__}: {exc}", "pid": os.getpid()}
    numpy_version = None
    with contextlib.suppress(ImportError):
        import numpy

        numpy_version = numpy.__version__
    # torch.version.cuda is a build constant; reading it does not initialise CUDA.
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "numpy": numpy_version,
        "pid": os.getpid(),
        "python": ".".join(map(str, sys.version_info[:3])),
    }


def _probe_network_isolation() -> str | None:
    """Whether a child can get a network namespace of its own: None if so, else why not."""
    if not sys.platform.startswith("linux"):
        return f"no network namespaces on {sys.platform}"
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            problem = _unshare_network()
            os.write(write_fd, (problem or "").encode()[:4000])
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        answer = pipe.read().decode("utf-8", "replace")
    os.waitpid(pid, 0)
    return answer or None


def _wait(protocol_in: int | None) -> list[int]:
    """Block until a request, a child's report or exit, or the nearest deadline."""
    watch = [protocol_in] if protocol_in is not None else []
    timeout: float | None = None
    for child in _running.values():
        watch += child.fds()
        remaining = max(0.0, child.deadline - time.monotonic())
        timeout = remaining if timeout is None else min(timeout, remaining)
        if child.pidfd is None:
            timeout = min(timeout, POLL_S)
    ready, _, _ = select.select(watch, [], [], timeout)
    return ready


def _read_available(fd: int) -> bytes | None:
    """What is there to read now; None at end of file."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""
    return chunk or None


def _finish_children(ready: list[int], protocol_out: int) -> None:
    """Collect reports, kill late children, and answer for each child that is done."""
    learned: list[str] = []
    now = time.monotonic()
    for child in list(_running.values()):
        if child.read_fd in ready:
            child.chunks += _drain(child.read_fd)
        status, timed_out = _child_status(child, now)
        if status is None and not timed_out and not child.reported:
            continue
        del _running[child.pid]
        outcome, imported = end_child(child, status, timed_out)
        _reply(protocol_out, {"id": child.request_id, "outcome": asdict(outcome)})
        learned += imported
    _reap_exiting()
    _sweep_strays()
    learn_imports(learned)


def _child_status(child: Running, now: float) -> tuple[int | None, bool]:
    """(wait status or None while it runs, timed out). A child that has reported is not waited
    for: tearing down a torch-sized address space takes tens of milliseconds, which the kernel
    can spend while the next child starts."""
    if child.reported:
        _exiting.add(child.pid)
        return None, False
    done, status = os.waitpid(child.pid, os.WNOHANG)
    if done:
        return status, False
    if now < child.deadline:
        return None, False
    _kill_group(child.pid)
    _, status = os.waitpid(child.pid, 0)
    return status, True


def _reap_exiting(block: bool = False) -> None:
    for pid in list(_exiting):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _exiting.discard(pid)


def _sweep_strays(final: bool = False) -> None:
    """Kill what jobs left behind: processes that came back to the server (a child subreaper)
    when their parent died. One still in the process group of a running child is that child's
    and stays (it dies with its group); any other, such as one a snippet started with `setsid`,
    is killed. `final`: every one. Killing one hands its own children to the server, hence the
    rounds."""
    for _ in range(100):
        groups = set() if final else set(_running)
        strays = [
            pid
            for pid in _server_children()
            if pid not in _running and pid not in _exiting and (final or _process_group(pid) not in groups)
        ]
        if not strays:
            return
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in strays:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _server_children() -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return children
    for task in tasks:
        with contextlib.suppress(OSError, ValueError), open(f"/proc/self/task/{task}/children") as handle:
            children += [int(pid) for pid in handle.read().split()]
    return children


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def start_child(request_id: int, job: Job, base: Path) -> Running:
    """Fork a child for the job; the server goes on at once."""
    job_dir = Path(tempfile.mkdtemp(prefix="job-", dir=base))
    workdir = job_dir / "work"
    for folder in (workdir, job_dir / "home", job_dir / "tmp"):
        folder.mkdir()
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _child(job, job_dir, workdir, write_fd)
        finally:
            os._exit(70)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return Running(request_id, job, pid, read_fd, _pidfd(pid), job_dir, started)


def end_child(child: Running, status: int | None, timed_out: bool) -> tuple[ChildOutcome, list[str]]:
    """Clean up after a child that is done and describe it; also the modules it had to import."""
    duration = time.monotonic() - child.started
    child.chunks += _drain(child.read_fd)
    os.close(child.read_fd)
    if child.pidfd is not None:
        os.close(child.pidfd)
    # Whatever the child started (DataLoader workers, subprocesses) ends with it.
    _kill_group(child.pid)
    output = _tail(child.job_dir / "output.txt", OUTPUT_TAIL_CHARS)
    truncated = bool(child.job.output_cap) and _size(child.job_dir / "output.txt") >= (child.job.output_cap or 0)
    shutil.rmtree(child.job_dir, ignore_errors=True)
    report = _parse_report(b"".join(child.chunks))
    imported = report.pop("imported", [])
    # The child's own clock (CLOCK_MONOTONIC is system-wide): the server may have been busy
    # importing when the report arrived, which is not the snippet's time.
    ended = report.pop("ended", None)
    if isinstance(ended, float) and child.started <= ended <= time.monotonic():
        duration = ended - child.started
    outcome = _describe(report, status, timed_out, duration, output, child.job.timeout)
    if truncated or outcome.signal == "SIGXFSZ":
        outcome = replace(outcome, output_truncated=True)
    return outcome, imported


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def learn_imports(names: list[str]) -> None:
    """Import in the server what a child had to import, so later children inherit it for free.

    `torch.compile` alone imports inductor, jinja2 and networkx: seconds per snippet otherwise.
    Only modules of torch, its own dependencies, numpy and the standard library are learned
    (never a snippet's own `requires`, which may start threads or CUDA when imported), and
    learning stops for good if an import started a thread or a process or initialised CUDA: the
    server cannot undo it, but must not make it worse.
    """
    global _learning
    if not _learning or not names:
        return
    before = _fork_hazards()
    fresh = [n for n in sorted(set(names)) if n not in sys.modules and _learnable(n)]
    for name in fresh:
        with contextlib.suppress(Exception):  # a module that fails here fails in the child too
            importlib.import_module(name)
    if _fork_hazards() != before:
        _learning = False
    if fresh:
        _freeze_heap()


def _learnable(name: str) -> bool:
    top = name.partition(".")[0]
    if top not in _learnable_packages():
        return False
    return not any(name == p or name.startswith(p + ".") for p in UNLEARNABLE)


_LEARNABLE: set[str] = set()


def _learnable_packages() -> set[str]:
    """torch, numpy, the standard library, and what torch itself depends on (jinja2, sympy, ...)."""
    if _LEARNABLE:
        return _LEARNABLE
    _LEARNABLE.update(("torch", "functorch", "torchgen", "numpy"))
    _LEARNABLE.update(getattr(sys, "stdlib_module_names", ()))
    _LEARNABLE.update(_dependencies("torch", depth=2))
    return _LEARNABLE


def _dependencies(distribution: str, depth: int) -> set[str]:
    """Import names of a distribution's required (not extra) dependencies, a few levels down."""
    import importlib.metadata
    import re

    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return set()
    found: set[str] = set()
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9._-]+", requirement)
        if match is None:
            continue
        found.add(match.group().lower().replace("-", "_").replace(".", "_"))
        if depth > 1:
            found |= _dependencies(match.group(), depth - 1)
    return found


def _fork_hazards() -> tuple[int, int, bool]:
    """Threads, child processes, and whether torch has initialised CUDA: what must not grow."""
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        threads = []
    children = 0
    for task in threads:
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as handle:
            children += len(handle.read().split())
    torch = sys.modules.get("torch")
    cuda = bool(torch is not None and torch.cuda.is_initialized())
    return len(threads), children - len(_running) - len(_exiting), cuda


def _freeze_heap() -> None:
    """Move every object the server holds out of the collector's reach.

    Otherwise each child's first full collection walks (and copies, page by page) all of torch's
    objects: half a second per snippet.
    """
    import gc

    gc.collect()
    gc.freeze()


def _stop_server(signum: int, frame: object) -> None:
    for child in list(_running.values()):
        _kill_group(child.pid)
        _exiting.add(child.pid)
    with contextlib.suppress(Exception):
        _reap_exiting(block=True)
        _sweep_strays(final=True)
    os._exit(128 + signum)


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd


def _drain(fd: int) -> list[bytes]:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return chunks
        if not chunk:
            return chunks
        chunks.append(chunk)


def _kill_group(pid: int) -> None:
    """Kill the child and anything it started (the child itself too, should it have left its group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _parse_report(raw: bytes) -> dict[str, Any]:
    """The child's one-line report; a snippet that forked and went on may add more: ignored."""
    first = raw.partition(b"\n")[0]
    if not first:
        return {}
    try:
        report = json.loads(first.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _describe(
    report: dict[str, Any], status: int | None, timed_out: bool, duration: float, output: str, timeout: float
) -> ChildOutcome:
    if timed_out:
        return ChildOutcome("timeout", duration, output=output, detail=f"timed out after {timeout:g} s")
    if report and status is None:
        report.update(duration=duration, output=output)
        return ChildOutcome.from_dict(report)
    status = status or 0
    if os.WIFSIGNALED(status):
        return ChildOutcome("crashed", duration, output=output, signal=signal_name(os.WTERMSIG(status)))
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if not report:
        detail = f"exited with status {exit_code} before the snippet finished"
        return ChildOutcome("crashed", duration, output=output, exit_code=exit_code, detail=detail)
    report.update(duration=duration, output=output, exit_code=exit_code)
    return ChildOutcome.from_dict(report)


def _tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- child side


def _child(job: Job, job_dir: Path, workdir: Path, report_fd: int) -> None:
    """Runs in the forked child: isolate, run, report, and leave without cleanup."""
    server = os.getppid()
    os.setpgid(0, 0)
    _prctl(PR_SET_DUMPABLE, 1)  # its own /proc files (uid_map) are its own again
    # First, while this process has one thread: a user namespace cannot be entered with more.
    own_user_namespace = _network_ok and _unshare_network() is None
    _die_with_parent(server)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for fd in _PROTOCOL_FDS + [fd for sibling in _running.values() for fd in sibling.fds()]:
        with contextlib.suppress(OSError):
            os.close(fd)
    _own_folders(job_dir, workdir)
    out_fd = os.open(job_dir / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    import faulthandler

    faulthandler.enable(file=sys.stderr)
    _limit_output(job.output_cap)
    _limit_processes(own_user_namespace)
    _limit_memory(job.memory_cap, address_space=job.device == "cpu")
    already = set(sys.modules)
    if job.kind == "probe":
        report = _probe()
    elif job.kind == "find":
        report = _find_modules(job.code.split())
    else:
        report = _execute(job, job_dir)
    report["imported"] = sorted(name for name in set(sys.modules) - already if name != "__main__")
    report["ended"] = time.monotonic()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    data = (json.dumps(report, default=str) + "\n").encode()
    while data:
        data = data[os.write(report_fd, data) :]
    os._exit(0)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _die_with_parent(server: int) -> None:
    """Ask Linux to kill this child if the server dies, so no snippet outlives its supervisor;
    if the server died before the request took hold, leave at once."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server:
        os._exit(70)


def _unshare_network() -> str | None:
    """Move this process into a network namespace of its own (inside a user namespace of its own
    when it is not privileged), with only a loopback device: nothing outside is reachable, and
    127.0.0.1 is this part's own. None when done, else the reason it was refused."""
    if not sys.platform.startswith("linux"):
        return f"no network namespaces on {sys.platform}"
    uid, gid = os.getuid(), os.getgid()  # before: inside, until mapped, they read as `nobody`
    problem = _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    if problem is None:
        _map_own_ids(uid, gid)
    elif _unshare(CLONE_NEWNET) is not None:  # a privileged process where user namespaces are off
        return problem
    with contextlib.suppress(OSError):
        import fcntl
        import socket
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", IFF_UP_LOOPBACK_RUNNING, b""))
    return None


def _unshare(flags: int) -> str | None:
    unshare = getattr(os, "unshare", None)  # Python 3.12
    try:
        if unshare is not None:
            unshare(flags)
            return None
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if int(libc.unshare(flags)) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))
    except (OSError, AttributeError) as exc:
        return f"unshare failed: {getattr(exc, 'strerror', None) or exc}"
    return None


def _map_own_ids(uid: int, gid: int) -> None:
    """Inside a fresh user namespace, be who we were (not `nobody`) for code that asks."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with contextlib.suppress(OSError), open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def _own_folders(job_dir: Path, workdir: Path) -> None:
    """An empty working folder, and HOME, TMPDIR and the XDG folders inside the job folder."""
    os.chdir(workdir)
    home, tmp = job_dir / "home", job_dir / "tmp"
    os.environ["HOME"] = str(home)
    os.environ["TMPDIR"] = str(tmp)
    xdg = (("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"))
    for variable, folder in xdg:
        os.environ[variable] = str(home / folder)
    os.environ.pop("XDG_RUNTIME_DIR", None)
    tempfile.tempdir = str(tmp)
    _own_compiler_caches(tmp)


def _own_compiler_caches(tmp: Path) -> None:
    """Inductor keeps compiled graphs and kernels under TORCHINDUCTOR_CACHE_DIR, which the server
    fixed to the machine's /tmp the first time it compiled: a part would reuse what another part
    or an earlier run built. Each part gets its own cache, as on a fresh machine. Precompiled C++
    headers go to a folder torch fixes at import (in the server, so outside the part), and one
    header (about 150 MB) is over the per-file cap, so a part that builds it dies of SIGXFSZ:
    parts compile without them."""
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(tmp / "torchinductor")
    os.environ["TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS"] = "0"
    config = sys.modules.get("torch._inductor.config")
    if config is not None:
        setattr(config, "cpp_cache_precompile_headers", False)  # noqa: B010 (a module torch may lack)


def _limit_output(cap: int | None) -> None:
    """No file (the captured output included) may grow past `cap`: the write that would is
    killed by SIGXFSZ, which the server reports as output truncated. No core files either."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not cap:
        return
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: a flood would go on
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))


def _limit_processes(own_user_namespace: bool) -> None:
    """Bound processes and threads, where the kernel counts them for this part alone: in a user
    namespace of its own and not as root (root is exempt). Elsewhere RLIMIT_NPROC counts every
    process of the user on the machine, which no per-part number can mean."""
    if not own_user_namespace or os.geteuid() == 0:
        return
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (DEFAULT_MAX_PROCESSES, DEFAULT_MAX_PROCESSES))


def _limit_memory(cap: int | None, address_space: bool = False) -> None:
    """Cap private writable memory at the current use plus `cap` bytes, and on CPU the address
    space too, at its current size plus `cap` plus room for threads' arenas and stacks.

    RLIMIT_DATA does not count shared mappings (an `mmap.mmap(-1, n)`), RLIMIT_AS does; but CUDA
    reserves huge address ranges it never touches, which an address-space cap would refuse, so
    a CUDA part has only RLIMIT_DATA.
    """
    if not cap:
        return
    import resource

    data = _vm_bytes("VmData")
    if data is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_DATA, (data + cap, data + cap))
    size = _vm_bytes("VmSize")
    if address_space and size is not None:
        room = 1024**3 + 128 * 1024**2 * (os.cpu_count() or 1)
        # The soft limit only: entries about RLIMIT_AS errors set their own, hard limit unlimited.
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (size + cap + room, hard))


def _vm_bytes(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _execute(job: Job, job_dir: Path) -> dict[str, Any]:
    """Run the code as the `__main__` module of this child, so pickling its classes works."""
    import types

    filename = str(job_dir / f"{job.name}.py")
    Path(filename).write_text(job.code, encoding="utf-8")
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=filename, __builtins__=__builtins__, device=job.device)
    sys.modules["__main__"] = module
    sys.argv = [filename]
    try:
        code = compile(job.code, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)
        _synchronize(job.device)
    except SystemExit as exc:
        if exc.code in (None, 0):
            return {"status": "ok"}
        return _exception_report(exc, filename)
    except BaseException as exc:  # the snippet's own failure is the data we report
        return _exception_report(exc, filename)
    return {"status": "ok"}


def _synchronize(device: str) -> None:
    """Surface asynchronous CUDA errors (device-side asserts) inside the snippet's own run."""
    if device != "cuda":
        return
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _exception_report(exc: BaseException, filename: str) -> dict[str, Any]:
    try:
        message = str(exc)
    except Exception as inner:  # a broken __str__ must not lose the report
        message = f"<unprintable message: {type(inner).__name__}>"
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    formatted = "".join(traceback.format_exception(type(exc), exc, tb))
    return {
        "status": "raised",
        "exc_type": type(exc).__name__,
        "exc_mro": [cls.__name__ for cls in type(exc).__mro__],
        "message": message[:MESSAGE_CHARS],
        "where": _failing_line(tb, filename),
        "traceback": formatted[-TRACEBACK_TAIL_CHARS:],
    }


def _failing_line(tb: Any, filename: str) -> str | None:
    """The last line of the snippet itself in the traceback, e.g. `line 5: assert x < 0`."""
    found = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == filename:
            found = f"line {frame.lineno}: {(frame.line or '').strip()}"
    return found


def _probe() -> dict[str, Any]:
    """CUDA facts, gathered in a child because asking initialises CUDA."""
    import torch

    info: dict[str, Any] = {"available": False, "cuda": torch.version.cuda, "gpu": None, "count": 0}
    try:
        info["available"] = bool(torch.cuda.is_available())
        if info["available"]:
            info["count"] = torch.cuda.device_count()
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception as exc:  # a broken driver means "not available", with the reason kept
        info["error"] = f"{type(exc).__name__}: {exc}"
        info["available"] = False
    return {"status": "ok", "value": info}


def _find_modules(names: list[str]) -> dict[str, Any]:
    """Which of these modules this interpreter can find (without importing them)."""
    import importlib.util

    found = []
    for name in names:
        with contextlib.suppress(ImportError, ValueError):
            if importlib.util.find_spec(name) is not None:
                found.append(name)
    return {"status": "ok", "value": {"found": found}}


if __name__ == "__main__":
    sys.exit(serve())
