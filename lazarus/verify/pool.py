"""Running a validation: a pool of sandbox slots that keeps every slot busy, and `run_validation`,
which plans the checks, runs them and returns the `ValidationRun`.

Tests and tools call `run_validation` directly; the CLI goes through `lazarus.verify.command`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from lazarus.errors import UsageError
from lazarus.model import Entry
from lazarus.verify.judge import abnormal_reason, judge_part
from lazarus.verify.plan import PendingPart, plan_checks, preload_hints, upper_bound
from lazarus.verify.results import PARTS, Environment, PartResult, ValidationRun
from lazarus.verify.sandbox import DEFAULT_MEMORY_CAP, ChildOutcome, Job, SandboxError, SandboxServer
from lazarus.verify.select import devices_for

PROBE_TIMEOUT_S = 120.0


class SandboxPool:
    """One fork server running up to `slots` parts at a time."""

    def __init__(self, slots: int) -> None:
        self.server = SandboxServer(slots=slots)

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

    def run_all(self, pending: Sequence[PendingPart], on_result: Callable[[PartResult], None]) -> None:
        """Run every pending part, keeping every slot busy; `on_result` gets each verdict."""
        by_id: dict[int, PendingPart] = {}
        waiting = list(reversed(pending))
        while waiting or by_id:
            while waiting and self.server.in_flight < self.server.slots:
                item = waiting.pop()
                try:
                    by_id[self.server.submit(item.job)] = item
                except SandboxError as exc:
                    on_result(judge_part(item, ChildOutcome(status="crashed", detail=f"sandbox failure: {exc}")))
            for job_id, outcome in self.server.collect():
                on_result(judge_part(by_id.pop(job_id), outcome))


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
) -> ValidationRun:
    """Validate the entries on `device` (cpu, cuda or all), `jobs` parts at a time (0: one per CPU).

    `memory_cap` is in bytes above what a child starts with (None: no cap). Raises UsageError
    when `device` is cuda and CUDA is not available, SandboxError when the sandbox cannot start
    (torch not importable).
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

    with SandboxPool(slots) as pool:
        env = pool.probe_cuda() if "cuda" in devices else Environment(pool.torch_version)
        if device == "cuda" and not env.cuda_available:
            raise UsageError(f"--device cuda: CUDA is not available ({env.cuda_problem})")
        skipped, pending = plan_checks(entries, devices, env, memory_cap)
        results += skipped
        if on_start is not None:
            on_start(len(pending))
        if pending:
            pool.server.preload(preload_hints(p.job.code for p in pending))
            pool.run_all(pending, collect)
    order = {entry.id: n for n, entry in enumerate(entries)}
    results.sort(key=lambda r: (order[r.entry_id], r.snippet, devices.index(r.device), PARTS.index(r.part)))
    return ValidationRun(tuple(entries), devices, env, tuple(results), time.monotonic() - started)
