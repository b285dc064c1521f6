"""Rendering pinned by golden files, colour off. Regenerate with LAZARUS_UPDATE_GOLDEN=1."""

from __future__ import annotations

import json
import os

import pytest

from lazarus.query.index import build_index
from lazarus.query.pipeline import diagnose
from lazarus.ui.render import ansi_match
from tests.conftest import FIXTURES, ROOT

GOLDEN = ROOT / "tests" / "golden"
SAMPLE_KB = FIXTURES / "kb"
QUERY = "GoldenSampleError: the golden sample failed with code 9"
TRACEBACK = f"""Traceback (most recent call last):
  File "/home/me/golden.py", line 3, in <module>
    run()
{QUERY}
"""


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("LAZARUS_UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "args", "stdin"),
    [
        ("search-en.txt", ("-n", "1", QUERY), None),
        ("search-zh.txt", ("-n", "1", "--lang", "zh", QUERY), None),
        ("diagnose-en.txt", ("diagnose", "-n", "1"), TRACEBACK),
        ("show-en.txt", ("show", "golden-sample-entry"), None),
        ("show-zh.txt", ("show", "golden-sample-entry", "--lang", "zh"), None),
    ],
)
def test_plain_output_matches_golden(run_cli, name, args, stdin):
    # The sample KB alone: scores must not move when the built-in KB grows.
    result = run_cli(*args, "--kb", str(SAMPLE_KB), input=stdin, env={"LAZARUS_NO_BUILTIN": "1"})
    assert result.returncode == 0, result.stderr
    check_golden(name, result.stdout)


def test_json_output_matches_golden(run_cli):
    result = run_cli("--kb", str(SAMPLE_KB), "--json", "-n", "1", QUERY, env={"LAZARUS_NO_BUILTIN": "1"})
    data = json.loads(result.stdout)
    data["matches"][0]["path"] = "<path>"
    check_golden("search.json", json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def test_panel_matches_golden():
    index = build_index([SAMPLE_KB], None)
    match = diagnose(index, TRACEBACK, limit=1).matches[0]
    panel = ansi_match(match, "en", "verified: not verified yet", 1, width=90, color=False)
    check_golden("panel-en.txt", panel + "\n")
    assert ansi_match(match, "en", "", 1, width=90).count("\x1b[") > 10  # the same panel, coloured
