"""Time `lazarus validate` on the whole built-in KB (device cpu, no records).

    python -m tools.bench_validate [-j N]

Prints the number of entries and checks, the time to start the sandbox (the one torch import),
the total wall time and the seconds per entry. The target is at most 0.5 s per entry on a
2-core machine, growing with the snippets' own work, not with torch imports.
"""

from __future__ import annotations

import argparse
import sys
import time

from lazarus.kb.load import load_kb
from lazarus.settings import builtin_kb_dir
from lazarus.verify.pool import run_validation
from lazarus.verify.results import PartResult


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=0, help="parts at a time (default: one per CPU)")
    args = parser.parse_args()
    loaded = load_kb([], builtin_kb_dir())
    entries = list(loaded.entries)
    if not entries:
        print("no valid entries in the built-in KB")
        return 1
    start = time.monotonic()
    marks: dict[str, float] = {}

    def started(total: int) -> None:
        marks["ready"] = time.monotonic() - start

    def finished(result: PartResult) -> None:
        marks.setdefault("first", time.monotonic() - start)
        marks["last"] = time.monotonic() - start

    run = run_validation(entries, "cpu", args.jobs, on_start=started, on_result=finished)
    total = time.monotonic() - start
    counts = run.counts()
    ran = [p for p in run.parts if p.outcome != "skipped"]
    print(f"entries:        {len(entries)} ({len(loaded.problems)} KB problems left out)")
    print(
        f"checks:         {len(run.parts)} parts: {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped"
    )
    print(f"sandbox start:  {marks.get('ready', 0.0):.2f} s (torch import, once)")
    print(f"first result:   {marks.get('first', 0.0):.2f} s (after the server's one-off imports for the snippets)")
    print(f"snippet time:   {sum(p.duration for p in ran):.2f} s summed over {len(ran)} parts")
    print(f"total wall:     {total:.2f} s")
    print(f"per entry:      {total / len(entries):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
