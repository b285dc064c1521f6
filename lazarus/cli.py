"""Temporary CLI: kb check only (being built)."""
from __future__ import annotations

import sys

from lazarus.kb import builtin_kb_dir, load_kb, user_kb_dirs


def main() -> None:
    args = sys.argv[1:]
    if args[:2] == ["kb", "check"]:
        result = load_kb(user_kb_dirs(args[2:]), builtin_kb_dir())
        for problem in result.problems:
            print(problem)
        print(f"{len(result.entries)} entries valid, {len(result.problems)} problems")
        sys.exit(1 if result.problems else 0)
