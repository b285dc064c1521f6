"""Where the knowledge base lives: the built-in folder and the user's folders, in lookup order.

Kept apart from kb.py so that a query, which only needs these paths, does not pay for the loader.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def builtin_kb_dir() -> Path:
    """The KB shipped with lazarus: inside the package when installed, `kb/` in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "kb"
    if packaged.is_dir():
        return packaged
    return here.parent / "kb"


def use_builtin_kb() -> bool:
    """False when LAZARUS_NO_BUILTIN is set: only the user's folders, e.g. to try a KB alone."""
    return not os.environ.get("LAZARUS_NO_BUILTIN")


def user_kb_dirs(cli_dirs: Iterable[str] = ()) -> list[Path]:
    """User folders, searched before the built-in KB: `--kb` first, then `LAZARUS_KB`."""
    dirs = [Path(d) for d in cli_dirs]
    env = os.environ.get("LAZARUS_KB", "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d.strip()]
    return dirs
