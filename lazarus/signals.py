"""How a process ended, in words: shared by `lazarus run` and the validator's sandbox."""

from __future__ import annotations

import signal


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
