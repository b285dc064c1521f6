"""Query speed figures: start-up against `python -c pass`, and diagnose on a 200 MB log.

    python -m tools.bench [--runs 15] [--log-mb 200] [--startup-only] [--breakdown]

Prints medians measured in this run; nothing here asserts, the figures are for people.
--breakdown adds where each query's time goes, measured inside a fresh process per run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY = "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 256])"
TRACEBACK = """Traceback (most recent call last):
  File "/home/me/project/train.py", line 41, in <module>
    out = model(x)
RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x784 and 256x10)
"""


# Measured as users run it: with compiled bytecode cached (pip writes it at install time). A
# PYTHONDONTWRITEBYTECODE in this shell would recompile every module on every run.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def lazarus_command() -> list[str]:
    script = Path(sys.executable).parent / "lazarus"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lazarus"]


def timed(command: list[str], stdin_path: str | None = None) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB and exit code of one run of `command`."""
    with open(stdin_path or os.devnull, "rb") as stdin:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def timed_on_terminal(command: list[str], columns: int = 100) -> float:
    """Wall seconds of one run of `command` writing to a pseudo-terminal (colour, the panel),
    the pager off: what a person at a terminal waits for."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 200, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(LAZARUS_PAGER="cat", TERM=os.environ.get("TERM", "xterm-256color"))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    while True:  # read what it shows, as a terminal would, until it closes the terminal
        if select.select([master], [], [], 1)[0]:
            try:
                if not os.read(master, 1 << 16):
                    break
            except OSError:
                break
        elif process.poll() is not None:
            break
    process.wait()
    elapsed = time.perf_counter() - start
    os.close(master)
    return elapsed


# One query as the CLI runs it, timed stage by stage inside the process: what a start-up figure
# is made of. The modules it imports are counted too: each costs a query its start-up.
PHASES = """
import io, sys, time
marks = [time.perf_counter()]
before = set(sys.modules)
from lazarus.cli import commands
marks.append(time.perf_counter())
from lazarus.query import pipeline
from lazarus.query.normalize import chinese_characters
marks.append(time.perf_counter())
query = sys.argv[1]
lang = "zh" if chinese_characters(query) >= 2 else "en"
index = commands.kb_index([], lang)
marks.append(time.perf_counter())
diagnosis = pipeline.diagnose(index, query, 3)
marks.append(time.perf_counter())
shown, sys.stdout = sys.stdout, io.StringIO()
commands.show_diagnosis(index, diagnosis, False, lang, query)
sys.stdout = shown
marks.append(time.perf_counter())
from lazarus.regex import store
fresh = len(store._new)
print(*(f"{(b - a) * 1000:.3f}" for a, b in zip(marks, marks[1:])), len(set(sys.modules) - before), fresh)
"""
STAGES = ("import cli", "import query", "open index", "diagnose", "render")


def breakdown(queries: dict[str, list[str]], runs: int) -> None:
    """Median milliseconds of each stage of each query, and the modules it imports."""
    print(f"where the time goes (median of {runs} runs, ms): " + ", ".join(STAGES))
    for name, words in queries.items():
        rows = []
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", PHASES, " ".join(words)], capture_output=True, text=True)
            rows.append(done.stdout.split())
        if not all(len(row) == len(STAGES) + 2 for row in rows):
            print(f"  {name:8} failed: {done.stderr.strip()[-300:]}")
            continue
        stages = [statistics.median(float(row[i]) for row in rows) for i in range(len(STAGES))]
        modules = statistics.median(int(row[len(STAGES)]) for row in rows)
        compiled = max(int(row[-1]) for row in rows)
        figures = "  ".join(f"{label} {value:5.1f}" for label, value in zip(STAGES, stages, strict=True))
        print(f"  {name:8} {figures}  | {modules:.0f} modules imported, {compiled} regexes compiled afresh")


def make_log(path: Path, megabytes: int) -> None:
    line = "epoch 3 step 1234 | loss 0.4321 | lr 3.0e-04 | grad_norm 1.234 | 12.3 it/s\n" * 1000
    block = line.encode()
    with open(path, "wb") as handle:
        written = 0
        while written < megabytes << 20:
            handle.write(block)
            written += len(block)
        handle.write(TRACEBACK.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--log-mb", type=int, default=200)
    parser.add_argument("--startup-only", action="store_true", help="only the start-up figures, not the big logs")
    parser.add_argument("--breakdown", action="store_true", help="also where each query's start-up time goes")
    args = parser.parse_args()
    lazarus = lazarus_command()

    timed([*lazarus, QUERY])  # warm the index cache once, as any user's second query finds it
    timed([*lazarus, "--lang", "zh", QUERY])  # and the Chinese one
    # Interleaved, so that a busy machine slows every command alike and the ratios stay fair.
    prose = "loss is nan after a few epochs"
    chinese = "训练时loss一直是nan"
    commands = {
        "baseline": [sys.executable, "-c", "pass"],
        "query": [*lazarus, QUERY],
        "prose": [*lazarus, prose],
        "chinese": [*lazarus, chinese],
    }
    samples: dict[str, list[float]] = {name: [] for name in [*commands, "terminal", "terminal plain"]}
    for _ in range(args.runs):
        for name, command in commands.items():
            samples[name].append(timed(command)[0])
        samples["terminal"].append(timed_on_terminal([*lazarus, QUERY]))
        samples["terminal plain"].append(timed_on_terminal([*lazarus, "--color", "never", QUERY]))
    median = {name: statistics.median(values) for name, values in samples.items()}
    baseline = median["baseline"]
    print(f"python -c pass          median {baseline * 1000:7.1f} ms  ({args.runs} runs)")
    for name, label in (("query", "'<message>'"), ("prose", "'<prose>'"), ("chinese", "'<Chinese prose>'")):
        value = median[name]
        print(f"lazarus {label:17} median {value * 1000:7.1f} ms  = {value / baseline:.2f}x python (target <= 4x)")
    terminal, plain = median["terminal"], median["terminal plain"]
    print(
        f"on a terminal, colour   median {terminal * 1000:7.1f} ms  = {terminal / plain:.2f}x the same query "
        f"in plain text on the terminal ({plain * 1000:.1f} ms; target <= 1.5x)"
    )
    if args.breakdown:
        breakdown({name: commands[name][len(lazarus) :] for name in ("query", "prose", "chinese")}, args.runs)

    if args.startup_only:
        return
    cache = tempfile.mkdtemp(prefix="lazarus-bench-cache-")
    env_before = os.environ.get("LAZARUS_CACHE_DIR")
    os.environ["LAZARUS_CACHE_DIR"] = cache
    cold = timed([*lazarus, QUERY])[0]
    print(f"lazarus, cold cache     {cold * 1000:7.1f} ms  (index rebuilt from YAML)")
    if env_before is None:
        del os.environ["LAZARUS_CACHE_DIR"]
    else:
        os.environ["LAZARUS_CACHE_DIR"] = env_before
    shutil.rmtree(cache, ignore_errors=True)

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "train.log"
        make_log(log, args.log_mb)
        size = log.stat().st_size / (1 << 20)
        for label, command, stdin in (
            ("diagnose FILE", [*lazarus, "diagnose", str(log)], None),
            ("diagnose < stdin", [*lazarus, "diagnose"], str(log)),
        ):
            runs = [timed(command, stdin) for _ in range(3)]
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            codes = {r[2] for r in runs}
            print(
                f"{label:18} on {size:.0f} MB log: median {wall:.2f} s, peak RSS {rss} MB, exit {codes} "
                "(target <= 3 s, <= 100 MB)"
            )
        # Issue 14's adversarial log: 14,500 tracebacks with nothing in them, then 131,000 lines
        # that each look like trouble ("nan"). Extraction once cost tracebacks x lines (75 s).
        adversarial = Path(folder) / "adversarial.log"
        adversarial.write_text("Traceback (most recent call last)\nE\n" * 14500 + "nan\n" * 131000)
        runs = [timed([*lazarus, "diagnose", str(adversarial)]) for _ in range(3)]
        wall = statistics.median(r[0] for r in runs)
        print(f"diagnose adversarial 1 MB log: median {wall:.2f} s = {wall / baseline:.0f}x python (target < 1 s)")


if __name__ == "__main__":
    main()
