"""`%load_ext lazarus` in IPython or Jupyter: a failing cell shows its traceback, then the remedy.

IPython's custom exception handler replaces its traceback display for the exceptions it names,
so the handler shows the usual traceback itself (shell.showtraceback, which a Jupyter kernel
sends to the notebook as usual) and then the remedy. It prints nothing when no entry matches:
a notebook is full of NameErrors and typos that need no doctor.
"""

from __future__ import annotations

import sys
from typing import Any

from lazarus.integrations.hook import format_exception, internal_error, remedy_text

# What IPython had before us, so that unloading gives it back.
_previous: dict[int, tuple[Any, Any]] = {}


def _handler(shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: Any = None) -> None:
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    try:
        remedy = remedy_text(format_exception(etype, value, tb))
    except Exception as failure:  # never let a lazarus failure unregister the handler or hide the error
        internal_error(failure)
        return
    if remedy:
        print(f"\n{remedy}", file=sys.stdout, flush=True)


def load_ipython_extension(ipython: Any) -> None:
    if id(ipython) in _previous:
        return  # loaded twice: one remedy is enough
    _previous[id(ipython)] = (ipython.custom_exceptions, ipython.CustomTB)
    ipython.set_custom_exc((Exception,), _handler)


def unload_ipython_extension(ipython: Any) -> None:
    saved = _previous.pop(id(ipython), None)
    if saved is not None:
        ipython.custom_exceptions, ipython.CustomTB = saved
