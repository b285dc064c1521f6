"""Query speed with a large KB: a synthetic KB of N entries (default 10,000) beside the built-in one.

    python -m tools.bench_scale [--entries 10000] [--runs 7]

The synthetic entries are made of the built-in KB's own words, shuffled, so that real queries
share words (and index bitmasks) with thousands of them, and each carries two signatures that
look like real ones. The script prints the one-off index build (cold cache), then the median
wall time of warm queries run as a user runs them (`lazarus --kb DIR ...` in a subprocess): an
error message a signature knows, one no signature knows, an English and a Chinese description,
and `diagnose` of a traceback. The target is under 0.5 s for every warm query; nothing here
asserts, the figures are for people.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tools.bench import TRACEBACK, lazarus_command  # (bench also turns bytecode caching back on)

QUERIES = {
    "known error": ["ValueError: Expected more than 1 value per channel when training, got input size [1, 9]"],
    "unknown error": ["RuntimeError: frobnicator quux exploded while reticulating splines"],
    "prose (en)": ["my loss becomes nan after a few epochs of training"],
    "prose (zh)": ["训练几个epoch之后loss变成nan"],
}


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def synthetic_kb(folder: Path, count: int, seed: int = 0) -> None:
    """Write `count` valid entries made of the built-in KB's words into `folder`."""
    from lazarus.kb.load import load_kb
    from lazarus.query.normalize import normalize
    from lazarus.settings import builtin_kb_dir

    real = load_kb([], builtin_kb_dir()).entries
    words = sorted({w for e in real for w in normalize(f"{e.title} {e.symptom} {e.fix}").split() if w.isalpha()})
    # Chinese is drawn as short runs of the KB's own sentences, so that character pairs are as
    # varied as in real text (random characters would make every pair a new word).
    zh = [e.title_zh + e.symptom_zh + e.fix_zh for e in real]
    rng = random.Random(seed)
    classes = ("RuntimeError", "ValueError", "TypeError", "IndexError", "AttributeError")
    for n in range(count):

        def phrase(k: int) -> str:
            return " ".join(rng.choice(words) for _ in range(k))

        def phrase_zh(k: int) -> str:
            runs = []
            while sum(map(len, runs)) < k:
                source = rng.choice(zh)
                start = rng.randrange(max(1, len(source) - 6))
                runs.append(source[start : start + rng.randint(2, 6)])
            return "，".join(runs)

        cls, a, b = rng.choice(classes), rng.choice(words), rng.choice(words)
        message = f"{cls}: {a} {b} synthetic{n} {phrase(6)}"
        signature_one = f"{a} {b} synthetic{n} " + r"\w+"
        signature_two = f"synthetic{n} failure in [a-z_]+ at step " + r"\d+"
        text = "\n".join(
            [
                f"id: synthetic-{n}",
                f"title: {quoted(phrase(7).capitalize())}",
                f"title_zh: {quoted(phrase_zh(12))}",
                f"symptom: {quoted(message)}",
                f"symptom_zh: {quoted(phrase_zh(16))}",
                "signatures:",
                f"  - {quoted(signature_one)}",
                f"  - {quoted(signature_two)}",
                "examples:",
                f"  - {quoted(message)}",
                f"  - {quoted(phrase(10))}",
                "causes:",
                f"  - {quoted(phrase(14))}",
                f"  - {quoted(phrase(12))}",
                "causes_zh:",
                f"  - {quoted(phrase_zh(20))}",
                f"  - {quoted(phrase_zh(18))}",
                f"fix: {quoted(phrase(20))}",
                f"fix_zh: {quoted(phrase_zh(24))}",
                "snippets:",
                "  - broken: |",
                "      import torch",
                "      assert torch.zeros(1).item() == 0.0",
                "    fixed: |",
                "      import torch",
                "      assert torch.ones(1).item() == 1.0",
                f"tags: [synthetic, {rng.choice(['dtype', 'shape', 'cuda', 'nan', 'loss', 'dataloader'])}]",
                "references: []",
                "",
            ]
        )
        sub = folder / f"area{n % 50}"
        sub.mkdir(exist_ok=True)
        (sub / f"synthetic-{n}.yaml").write_text(text, encoding="utf-8")


def timed(command: list[str], stdin_text: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin_text, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[1:3]} exited {done.returncode}: {done.stderr.strip()[:300]}")
    first = next((line for line in done.stdout.splitlines() if line.strip()), "")
    return elapsed, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    lazarus = lazarus_command()
    with tempfile.TemporaryDirectory(prefix="lazarus-scale-") as work:
        kb = Path(work) / "kb"
        kb.mkdir()
        start = time.perf_counter()
        synthetic_kb(kb, args.entries)
        print(f"wrote {args.entries} synthetic entries in {time.perf_counter() - start:.1f} s")
        from lazarus.kb.load import load_kb

        loaded = load_kb([kb], None)
        if loaded.problems or len(loaded.entries) != args.entries:
            raise SystemExit(f"synthetic KB invalid: {loaded.problems[0]}")
        os.environ["LAZARUS_CACHE_DIR"] = str(Path(work) / "cache")
        base = [*lazarus, "search", "--kb", str(kb), "--lang", "en"]
        cold, first = timed([*base, *QUERIES["known error"]])
        print(f"cold cache (index built from {args.entries} + built-in YAML files): {cold:.2f} s, once")
        size = sum(f.stat().st_size for f in (Path(work) / "cache").rglob("*.pickle"))
        print(f"cached index: {size / (1 << 20):.1f} MB")
        print(f"{'warm query':16} {'median':>8} {'max':>8}  first line of the answer")
        commands = {name: ([*base, *query], None) for name, query in QUERIES.items()}
        commands["diagnose log"] = ([*lazarus, "diagnose", "--kb", str(kb), "--lang", "en"], TRACEBACK)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        answers: dict[str, str] = {}
        for _ in range(args.runs):  # interleaved, so that a busy machine slows all alike
            for name, (command, stdin_text) in commands.items():
                elapsed, answers[name] = timed(command, stdin_text)
                samples[name].append(elapsed)
        for name, values in samples.items():
            median, worst = statistics.median(values), max(values)
            print(f"{name:16} {median * 1000:6.0f} ms {worst * 1000:6.0f} ms  {answers[name][:70]}")
        worst_median = max(statistics.median(v) for v in samples.values())
        verdict = "under" if worst_median < 0.5 else "OVER"
        print(f"slowest median {worst_median * 1000:.0f} ms: {verdict} the 0.5 s target ({args.runs} runs each)")


if __name__ == "__main__":
    main()
