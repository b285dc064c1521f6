"""lazarus: an offline command-line doctor for PyTorch."""

from __future__ import annotations

from lazarus.version import __version__

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]

# Every query imports this module: it stays tiny, and the integrations below import lazily.

# `pytest -p lazarus` registers this module as a plugin, and pytest then loads the plugins it
# names here; the hooks live in lazarus/integrations/pytest_plugin.py, which imports pytest.
pytest_plugins = ["lazarus.integrations.pytest_plugin"]


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext lazarus`: show the remedy after a failing cell."""
    from lazarus.integrations.ipython import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    from lazarus.integrations.ipython import unload_ipython_extension as unload

    unload(ipython)
