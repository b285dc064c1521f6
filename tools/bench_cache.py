"""Rebuilding the index after one file changed, against a cold build, in the same run.

    python -m tools.bench_cache [--entries 20000]

Writes a synthetic user KB folder of N entries (tools.bench_scale's generator) beside a copy of
the built-in KB, then times `load_index` in this process: a cold build (empty cache folder),
a warm load (nothing changed), a rebuild after one user entry was edited, and one after a
built-in entry was touched. Each rebuild is printed as a ratio of the cold build; nothing here
asserts, the figures are for people.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from tools.bench_scale import synthetic_kb


def timed_load(user: Path, builtin: Path) -> tuple[float, int]:
    from lazarus.query.index import load_index

    start = time.perf_counter()
    index = load_index([user], builtin)
    return time.perf_counter() - start, len(index.ids)


def touch(path: Path, text: str | None = None) -> None:
    if text is not None:
        path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    from lazarus.settings import builtin_kb_dir

    with tempfile.TemporaryDirectory(prefix="lazarus-cache-") as work:
        user, builtin = Path(work) / "kb", Path(work) / "builtin"
        user.mkdir()
        shutil.copytree(builtin_kb_dir(), builtin)
        start = time.perf_counter()
        synthetic_kb(user, args.entries)
        print(f"wrote {args.entries} synthetic entries in {time.perf_counter() - start:.1f} s")
        os.environ["LAZARUS_CACHE_DIR"] = str(Path(work) / "cache")
        cold, count = timed_load(user, builtin)
        print(f"cold build ({count} entries, empty cache): {cold:8.2f} s   1.000")
        warm, _ = timed_load(user, builtin)
        print(f"warm load (nothing changed):          {warm:8.2f} s   {warm / cold:.3f} of cold")
        edited = next(user.rglob("synthetic-7.yaml"))
        touch(edited, edited.read_text(encoding="utf-8").replace("title: '", "title: 'Edited ", 1))
        one_user, _ = timed_load(user, builtin)
        print(f"rebuild after editing one user entry: {one_user:8.2f} s   {one_user / cold:.3f} of cold")
        touch(next(builtin.rglob("batchnorm-batch-of-one.yaml")))
        one_builtin, _ = timed_load(user, builtin)
        print(f"rebuild after touching a built-in one: {one_builtin:7.2f} s   {one_builtin / cold:.3f} of cold")
        size = sum(f.stat().st_size for f in (Path(work) / "cache").rglob("*.pickle"))
        print(f"cache files: {size / (1 << 20):.1f} MB")


if __name__ == "__main__":
    main()
