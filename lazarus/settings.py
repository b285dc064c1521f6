"""Everything lazarus reads from the environment, in one place: KB folders, cache, language, limits.

Kept free of heavy imports: every query, and every script that installs the hook, reads it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from lazarus.errors import UsageError

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)

if TYPE_CHECKING:
    from pathlib import Path

LANGUAGES = ("en", "zh")
# Read in this order; the first one set decides (LAZARUS_LANG lets a user override the locale).
LOCALE_VARIABLES = ("LAZARUS_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


# The query path names folders with strings: importing pathlib (with urllib.parse and
# ipaddress) would cost every query more than reading its index. Path forms are for the others.


def builtin_kb_folder() -> str:
    """The KB shipped with lazarus: lazarus/data/kb when installed, `kb/` in a checkout."""
    here = os.path.dirname(os.path.realpath(__file__))
    packaged = os.path.join(here, "data", "kb")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "kb")


def builtin_kb_dir() -> Path:
    from pathlib import Path

    return Path(builtin_kb_folder())


def use_builtin_kb() -> bool:
    """False when LAZARUS_NO_BUILTIN is set: only the user's folders, e.g. to try a KB alone."""
    return not os.environ.get("LAZARUS_NO_BUILTIN")


def user_kb_folders(cli_dirs: Iterable[str] = ()) -> list[str]:
    """User folders, searched before the built-in KB: `--kb` first, then `LAZARUS_KB`."""
    dirs = list(cli_dirs)
    env = os.environ.get("LAZARUS_KB", "")
    dirs += [d for d in env.split(os.pathsep) if d.strip()]
    return dirs


def user_kb_dirs(cli_dirs: Iterable[str] = ()) -> list[Path]:
    from pathlib import Path

    return [Path(d) for d in user_kb_folders(cli_dirs)]


def kb_folder_names(cli_dirs: Iterable[str] = ()) -> tuple[list[str], str | None]:
    """The user's folders in lookup order, and the built-in KB unless LAZARUS_NO_BUILTIN is set."""
    return user_kb_folders(cli_dirs), builtin_kb_folder() if use_builtin_kb() else None


def kb_folders(cli_dirs: Iterable[str] = ()) -> tuple[list[Path], Path | None]:
    """kb_folder_names, as Paths."""
    from pathlib import Path

    dirs, builtin = kb_folder_names(cli_dirs)
    return [Path(d) for d in dirs], Path(builtin) if builtin is not None else None


def check_kb_dirs(cli_dirs: Iterable[str]) -> None:
    """A `--kb` folder that does not exist is a usage error, for every command alike."""
    for directory in cli_dirs:
        if not os.path.isdir(directory):
            raise UsageError(f"--kb {directory}: no such folder")


def cache_folder() -> str:
    """Where compiled indexes are kept: $LAZARUS_CACHE_DIR/lazarus, else the platform's cache folder."""
    base = os.environ.get("LAZARUS_CACHE_DIR")
    if base:
        return os.path.join(base, "lazarus")
    # Linux and macOS answered here as platformdirs does (an absolute XDG_CACHE_HOME, else
    # ~/.cache or ~/Library/Caches): importing it costs every query more than its search.
    home = os.environ.get("HOME", "")
    if sys.platform in ("linux", "darwin") and os.path.isabs(home):
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        default = "~/.cache" if sys.platform == "linux" else "~/Library/Caches"
        return os.path.join(xdg if os.path.isabs(xdg) else os.path.expanduser(default), "lazarus")
    import platformdirs  # Windows, or an unusual HOME

    return str(platformdirs.user_cache_dir("lazarus", appauthor=False))


def cache_dir() -> Path:
    from pathlib import Path

    return Path(cache_folder())


def use_cache() -> bool:
    return not os.environ.get("LAZARUS_NO_CACHE")


def debug() -> bool:
    """LAZARUS_DEBUG: let lazarus's own exceptions through with their traceback."""
    return bool(os.environ.get("LAZARUS_DEBUG"))


def default_lang() -> str:
    for name in LOCALE_VARIABLES:
        value = os.environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def check_lang(lang: str | None) -> str:
    """The language asked for (`--lang`), else the locale's; a usage error for any other."""
    lang = lang or default_lang()
    if lang not in LANGUAGES:
        raise UsageError(f"--lang {lang}: choose en or zh")
    return lang


def hook_limit(default: int = 1) -> int:
    """LAZARUS_LIMIT: how many remedies the integrations show under a traceback."""
    raw = os.environ.get("LAZARUS_LIMIT", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


COLOR_CHOICES = ("auto", "always", "never")


def color_mode() -> str:
    """always, never or auto: `--color` (kept in LAZARUS_COLOR), else FORCE_COLOR / NO_COLOR."""
    chosen = os.environ.get("LAZARUS_COLOR", "")
    if chosen in COLOR_CHOICES and chosen != "auto":
        return chosen
    if os.environ.get("FORCE_COLOR"):
        return "always"
    if os.environ.get("NO_COLOR"):
        return "never"
    return "auto"


def set_color_mode(choice: str) -> None:
    if choice not in COLOR_CHOICES:
        raise UsageError(f"--color {choice}: choose auto, always or never")
    os.environ["LAZARUS_COLOR"] = choice  # read by every writer of answers in this process


DEFAULT_PAGER = "less -FRX"


def pager_command() -> list[str] | None:
    """The pager for long output on a terminal: LAZARUS_PAGER, else PAGER, else `less -FRX`;
    None when it is turned off (`--no-pager`, or set to `cat` or to nothing)."""
    import shlex

    value = os.environ.get("LAZARUS_PAGER")
    if value is None:
        value = os.environ.get("PAGER", DEFAULT_PAGER)
    try:
        command = shlex.split(value)
    except ValueError:  # an unbalanced quote: no pager rather than a crash
        return None
    return command if command and command != ["cat"] else None


def set_no_pager() -> None:
    """`--no-pager`: answers are printed, never paged, by every writer in this process."""
    os.environ["LAZARUS_PAGER"] = "cat"
