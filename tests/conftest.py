"""Shared fixtures: the real KB index, and the real CLI run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def development_text(folder: str, source_end: str) -> str:
    """A text of a development set (a held-out set already read, tests/eval/<folder>), found by
    the end of its thread's address."""
    import yaml

    texts = yaml.safe_load((ROOT / "tests" / "eval" / folder / "collected.yaml").read_text(encoding="utf-8"))
    return next(item["text"] for item in texts if item["source"].endswith(source_end))


@pytest.fixture(scope="session")
def index():
    from lazarus.query.index import build_index

    return build_index([], KB)


@pytest.fixture()
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAZARUS_", "LC_", "LANG"))}
    env.update(LAZARUS_CACHE_DIR=str(tmp_path / "cache"), LANG="C.UTF-8", NO_COLOR="1", PYTHONIOENCODING="utf-8")
    return env


@pytest.fixture()
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None, cwd: str | None = None):
        text = not isinstance(input, bytes)
        return subprocess.run(
            [sys.executable, "-m", "lazarus", *args],
            input=input,
            capture_output=True,
            text=text,
            env={**cli_env, **(env or {})},
            cwd=cwd,
            timeout=120,
        )

    run.env = cli_env  # type: ignore[attr-defined]
    return run
