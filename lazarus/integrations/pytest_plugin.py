"""`pytest -p lazarus`: a failed test whose error lazarus knows gets a "lazarus" report section.

Opt-in only (no pytest11 entry point): loaded for everyone it would slow every test session.
The section follows the captured output in the failure report; tests that fail with an error
lazarus does not know get nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from lazarus.integrations.hook import internal_error, remedy_text

PHASES = ("setup", "call")  # a teardown failure is cleanup, rarely a PyTorch error worth a remedy


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed or report.when not in PHASES:
        return
    try:
        remedy = remedy_text(report.longreprtext)
    except Exception as failure:  # a broken remedy lookup must not turn into an error of the test run
        internal_error(failure)
        return
    if remedy:
        report.sections.append(("lazarus", remedy))
