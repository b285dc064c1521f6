"""The remedy right under the traceback: an exception hook, and `python -m lazarus.hook script.py`.

`install()` wraps sys.excepthook and threading.excepthook: the previous hook prints the normal
traceback, then the remedy for it goes to stderr. `import lazarus.auto` installs it on import;
`python -m lazarus.hook script.py [args]` runs the script as `python script.py` would, with the
hook installed.

This module is imported at the start of users' scripts, so it imports nothing heavy: the KB and
the matcher load only once an exception has arrived, and torch is never imported. The rendering
helpers here are shared by the other integrations (runner, IPython, pytest).
"""

from __future__ import annotations

import os
import sys
import threading

from lazarus.query.match import confident
from lazarus.ui.output import plain_matches, write_matches

# Not `from typing import TYPE_CHECKING`: typing costs more import time than all of this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, TextIO

    from lazarus.model import Diagnosis
    from lazarus.query.index import Index

HOOK_LIMIT = 1  # one remedy under a traceback; more would bury it (LAZARUS_LIMIT raises it)


# ---------------------------------------------------------------- shared by every integration


def diagnose_text(text: str, limit: int, kb: list[str], lang: str = "en") -> tuple[Index, Diagnosis]:
    """The index and the diagnosis of an error found in program output."""
    from lazarus.query.pipeline import diagnose_output, open_index
    from lazarus.ui.output import kb_problems_reporter

    index = open_index(kb, kb_problems_reporter(lang))
    return index, diagnose_output(index, text, limit)


def remedy_text(text: str, limit: int | None = None, lang: str | None = None, kb: list[str] | None = None) -> str:
    """Plain text of the confident remedies for `text` under a one-line header; "" when none."""
    from lazarus.i18n import say
    from lazarus.settings import check_lang, hook_limit

    lang = check_lang(lang)
    index, diagnosis = diagnose_text(text, limit or hook_limit(HOOK_LIMIT), kb or [], lang)
    if not confident(diagnosis.matches):  # where an error happens, a guess must not look like knowledge
        return ""
    return f"{say(lang, 'hook_header')}\n{plain_matches(index, diagnosis, lang)}"


def show_remedy(text: str, stream: TextIO) -> None:
    """Write the remedy for a traceback to `stream`, or the one-line "no confident match"."""
    from lazarus.i18n import say
    from lazarus.settings import check_lang, hook_limit

    lang = check_lang(None)
    index, diagnosis = diagnose_text(text, hook_limit(HOOK_LIMIT), [], lang)
    if not confident(diagnosis.matches):
        stream.write(f"lazarus: {say(lang, 'none')}\n")
        stream.flush()
        return
    stream.write(f"\n{say(lang, 'hook_header')}\n")
    write_matches(index, diagnosis, lang, stream)


def internal_error(exc: BaseException, stream: TextIO | None = None) -> None:
    """A failure inside lazarus is one line; the user's own traceback has already been shown."""
    try:
        print(f"lazarus: could not look up a remedy: {type(exc).__name__}: {exc}", file=stream or sys.stderr)
    except Exception:
        return  # stderr itself is gone: there is nowhere left to say it


# ---------------------------------------------------------------- the hooks


def format_exception(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    import traceback

    return "".join(traceback.format_exception(exc_type, exc, tb))


def _remedy_after(exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
    if exc_type is None or exc is None or issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
        return
    try:
        show_remedy(format_exception(exc_type, exc, tb), sys.stderr)
    except Exception as failure:
        internal_error(failure)


def _wrap_excepthook(previous: Any) -> Any:
    def lazarus_excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        previous(exc_type, exc, tb)
        _remedy_after(exc_type, exc, tb)

    lazarus_excepthook.lazarus_previous = previous  # type: ignore[attr-defined]
    return lazarus_excepthook


def _wrap_threading_hook(previous: Any) -> Any:
    def lazarus_threading_excepthook(args: Any) -> None:
        previous(args)
        _remedy_after(args.exc_type, args.exc_value, args.exc_traceback)

    lazarus_threading_excepthook.lazarus_previous = previous  # type: ignore[attr-defined]
    return lazarus_threading_excepthook


def installed() -> bool:
    return hasattr(sys.excepthook, "lazarus_previous")


def install() -> None:
    """Wrap sys.excepthook and threading.excepthook; installing twice wraps once."""
    if not hasattr(sys.excepthook, "lazarus_previous"):
        sys.excepthook = _wrap_excepthook(sys.excepthook)
    if not hasattr(threading.excepthook, "lazarus_previous"):
        threading.excepthook = _wrap_threading_hook(threading.excepthook)


def uninstall() -> None:
    if hasattr(sys.excepthook, "lazarus_previous"):
        sys.excepthook = sys.excepthook.lazarus_previous
    if hasattr(threading.excepthook, "lazarus_previous"):
        threading.excepthook = threading.excepthook.lazarus_previous


# ---------------------------------------------------------------- python -m lazarus.hook script.py

USAGE = "usage: python -m lazarus.hook SCRIPT.py [ARGS...]  or  python -m lazarus.hook -m MODULE [ARGS...]"


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """Drop the frames of this module and runpy, so the traceback starts in the user's script."""
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__ or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def run_script(argv: list[str]) -> int:
    """Run `argv` (SCRIPT [ARGS] or -m MODULE [ARGS]) as __main__ with the hook installed."""
    import runpy

    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(USAGE, file=sys.stderr)
        return 2
    install()
    try:
        if argv[0] == "-m":
            sys.argv = argv[1:]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            if not os.path.exists(argv[0]):
                print(f"lazarus: {argv[0]}: no such file", file=sys.stderr)
                return 2
            sys.argv = list(argv)
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise  # exit and Ctrl-C behave as under plain python
    except BaseException as exc:
        # The default hook prints the exception's own __traceback__, not the one passed to it.
        exc = exc.with_traceback(_user_frames(exc.__traceback__))
        sys.excepthook(type(exc), exc, exc.__traceback__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_script(sys.argv[1:]))
