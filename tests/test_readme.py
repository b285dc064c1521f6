"""The README stays true: its commands exist, and CI runs the test command it gives."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    return re.findall(r"```sh\n(python -m pip install[^\n]+)\n```", README)


def test_readme_gives_the_two_setup_commands():
    install, tests = setup_commands()[:2]
    assert "lazarus " in install and "pytest" in tests and ".[test" in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert setup_commands()[1] in ci


def test_every_documented_command_exists(run_cli):
    documented = set(re.findall(r"^\| `lazarus ([a-z]+)", README, flags=re.M)) - {"QUERY"}
    help_text = run_cli("--help").stdout
    for command in documented:
        if command in ("kb",):
            assert "kb" in help_text
            continue
        assert re.search(rf"\b{command}\b", help_text), command
