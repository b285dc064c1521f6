"""Running a validation: a pool of sandbox slots that keeps every slot busy, and `run_validation`,
which plans the checks, runs them and returns the `ValidationRun`.

When the server dies (a snippet may kill it), every part it was running is run again, alone, on
a new server: one that kills that one too gets the crash as its verdict, the others their own.
An interrupted run (Ctrl-C, or SIGTERM turned into `Interrupted` by the CLI) stops the server and
its children, removes its folder, and returns what finished.

Tests and tools call `run_validation` directly; the CLI goes through `lazarus.verify.command`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from lazarus.errors import UsageError
from lazarus.model import Entry
from lazarus.verify.judge import abnormal_reason, judge_part
from lazarus.verify.plan import PendingPart, plan_checks, preload_hints, upper_bound
from lazarus.verify.results import PARTS, Environment, PartResult, ValidationRun
from lazarus.verify.sandbox import DEFAULT_MEMORY_CAP, ChildOutcome, Job, SandboxError, SandboxServer
from lazarus.verify.select import devices_for

PROBE_TIMEOUT_S = 120.0
CONTAINER_ADVICE = "run untrusted KBs in a container"


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGINT or SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class SandboxPool:
    """One fork server running up to `slots` parts at a time, under `python` (default: this one)."""

    def __init__(self, slots: int, python: str | None = None) -> None:
        self.server = SandboxServer(slots=slots, python=python)

    def __enter__(self) -> SandboxPool:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()

    @property
    def torch_version(self) -> str:
        return self.server.info.torch

    def probe_cuda(self) -> Environment:
        """Ask a child (never the server: CUDA does not survive fork) what CUDA it can use."""
        info = self.server.info
        outcome = self.server.run(Job(code="", kind="probe", timeout=PROBE_TIMEOUT_S, memory_cap=None))
        value = outcome.value or {}
        available = bool(value.get("available"))
        problem = ""
        if outcome.status != "ok":
            problem = "the CUDA probe " + abnormal_reason("probe", outcome).removeprefix("probe ")
        elif not available:
            problem = value.get("error") or (
                f"torch {info.torch} is built without CUDA" if not info.cuda else "no CUDA device found"
            )
        return Environment(info.torch, info.cuda, available, value.get("gpu"), problem)

    def environment(self, devices: Sequence[str], entries: Sequence[Entry]) -> Environment:
        """What this run validates with: torch, CUDA when asked for, the modules snippets require
        that the sandbox's interpreter has, and what the sandbox cannot contain here."""
        info = self.server.info
        env = self.probe_cuda() if "cuda" in devices else Environment(info.torch, info.cuda)
        required = sorted({module for entry in entries for snippet in entry.snippets for module in snippet.requires})
        notes = (f"{info.network} ({CONTAINER_ADVICE})",) if info.network else ()
        return replace(env, found_modules=self.find_modules(required), notes=notes)

    def find_modules(self, names: Sequence[str]) -> frozenset[str] | None:
        """Which modules the sandbox's interpreter has (None: it could not say; ask this one)."""
        if not names:
            return frozenset()
        job = Job(code="\n".join(names), kind="find", timeout=PROBE_TIMEOUT_S, memory_cap=None)
        outcome = self.server.run(job)
        if outcome.status != "ok" or outcome.value is None:
            return None
        return frozenset(outcome.value.get("found", []))

    def run_all(self, pending: Sequence[PendingPart], on_result: Callable[[PartResult], None]) -> None:
        """Run every pending part, keeping every slot busy; `on_result` gets each verdict.

        Parts lost with a dead server run again one at a time before the others go on.
        """
        by_id: dict[int, tuple[PendingPart, bool]] = {}  # job id -> (part, ran alone)
        waiting = list(reversed(pending))
        suspects: list[PendingPart] = []
        while waiting or suspects or by_id:
            if suspects:
                if not by_id:
                    self._submit(suspects.pop(0), True, by_id, on_result)
            else:
                while waiting and self.server.in_flight < self.server.slots:
                    self._submit(waiting.pop(), self.server.slots == 1, by_id, on_result)
            for job_id, outcome in self.server.collect():
                item, alone = by_id.pop(job_id)
                if outcome.server_lost and not alone:
                    suspects.append(item)  # this part, or one beside it, killed the server
                    continue
                if outcome.server_lost:
                    outcome = replace(outcome, detail="the sandbox server died while this part ran alone")
                on_result(judge_part(item, outcome))

    def _submit(
        self,
        item: PendingPart,
        alone: bool,
        by_id: dict[int, tuple[PendingPart, bool]],
        on_result: Callable[[PartResult], None],
    ) -> None:
        try:
            by_id[self.server.submit(item.job)] = (item, alone)
        except SandboxError as exc:
            on_result(judge_part(item, ChildOutcome(status="crashed", detail=f"sandbox failure: {exc}")))


def memory_cap_from_env() -> int | None:
    """The per-part memory cap: `LAZARUS_VALIDATE_MEMORY_GB` (0 turns it off), else 4 GiB."""
    raw = os.environ.get("LAZARUS_VALIDATE_MEMORY_GB", "").strip()
    if not raw:
        return DEFAULT_MEMORY_CAP
    try:
        gib = float(raw)
    except ValueError:
        raise UsageError(f"LAZARUS_VALIDATE_MEMORY_GB={raw!r} is not a number of GiB") from None
    return int(gib * 1024**3) if gib > 0 else None


def run_validation(
    entries: Sequence[Entry],
    device: str = "cpu",
    jobs: int = 0,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[PartResult], None] | None = None,
    memory_cap: int | None = DEFAULT_MEMORY_CAP,
    python: str | None = None,
) -> ValidationRun:
    """Validate the entries on `device` (cpu, cuda or all), `jobs` parts at a time (0: one per CPU).

    `memory_cap` is in bytes above what a child starts with (None: no cap); `python` the
    interpreter whose torch runs the snippets (default: this one). Raises UsageError when
    `device` is cuda and CUDA is not available, SandboxError when the sandbox cannot start
    (torch not importable). Interrupted (or KeyboardInterrupt) after the sandbox started returns
    the run so far, with `interrupted` set; before, it propagates.
    """
    started = time.monotonic()
    devices = devices_for(device)
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    slots = max(1, min(jobs, upper_bound(entries, devices)))
    results: list[PartResult] = []

    def collect(result: PartResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    env: Environment | None = None
    interrupted = ""
    try:
        with SandboxPool(slots, python) as pool:
            env = pool.environment(devices, entries)
            if device == "cuda" and not env.cuda_available:
                raise UsageError(f"--device cuda: CUDA is not available ({env.cuda_problem})")
            skipped, pending = plan_checks(entries, devices, env, memory_cap)
            results += skipped
            if on_start is not None:
                on_start(len(pending))
            if pending:
                pool.server.preload(preload_hints(p.job.code for p in pending))
                pool.run_all(pending, collect)
    except KeyboardInterrupt as exc:
        if env is None:
            raise
        interrupted = signal.Signals(getattr(exc, "signum", signal.SIGINT)).name
    assert env is not None
    order = {entry.id: n for n, entry in enumerate(entries)}
    results.sort(key=lambda r: (order[r.entry_id], r.snippet, devices.index(r.device), PARTS.index(r.part)))
    return ValidationRun(tuple(entries), devices, env, tuple(results), time.monotonic() - started, interrupted)
