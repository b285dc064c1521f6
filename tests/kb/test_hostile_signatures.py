"""A user's KB file cannot hang or break queries through its signatures (issue 14): patterns that
backtrack for ever in ways no static rule sees are timed on adversarial texts and refused, with
the file and field named; patterns nested too deeply to compile are refused too."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from lazarus.kb.load import check_entry_data, load_kb
from lazarus.regex.safety import slow_patterns
from tests.conftest import KB

ENTRY = {
    "id": "hostile",
    "title": "A hostile signature",
    "symptom": "GoldenHostileError appears",
    "signatures": ["GoldenHostileError"],
    "examples": ["GoldenHostileError: boom"],
    "causes": ["a test"],
    "fix": "nothing",
    "tags": ["test"],
    "references": [],
    "snippets": [{"fixed": "pass", "reproducible": False, "reason": "a test"}],
}


def user_kb(tmp_path: Path, signature: str) -> Path:
    folder = tmp_path / "team" / "hostile"
    folder.mkdir(parents=True)
    (folder / "hostile.yaml").write_text(yaml.safe_dump({**ENTRY, "signatures": [signature]}), encoding="utf-8")
    return tmp_path / "team"


def test_a_signature_that_backtracks_for_ever_is_refused_by_kb_check(run_cli, tmp_path):
    # alternatives that overlap inside a repeat: no nested repeat, still exponential
    folder = user_kb(tmp_path, r"GoldenHostileError (?:\d|\d\d)+!")
    result = run_cli("kb", "check", "--kb", str(folder))
    assert result.returncode == 1
    assert "hostile.yaml: signatures[0]: takes over 1 s on an adversarial text" in result.stdout


def test_a_query_with_that_kb_answers_without_it_and_does_not_hang(run_cli, tmp_path):
    folder = user_kb(tmp_path, r"GoldenHostileError (?:\d|\d\d)+!")
    started = time.monotonic()
    result = run_cli("--kb", str(folder), "GoldenHostileError 1111111111111111111111111111111")
    assert time.monotonic() - started < 60
    assert "hostile" not in result.stdout
    assert "skipped an entry" in result.stderr and "signatures[0]" in result.stderr


def test_a_general_signature_that_backtracks_for_ever_is_refused_too(run_cli, tmp_path):
    folder = user_kb(tmp_path, "GoldenHostileError")
    entry = folder / "hostile" / "hostile.yaml"
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    entry.write_text(yaml.safe_dump({**data, "general_signatures": [r"Golden\w+ (?:\d|\d\d)+!"]}), encoding="utf-8")
    result = run_cli("kb", "check", "--kb", str(folder))
    assert result.returncode == 1
    assert "hostile.yaml: general_signatures[0]: takes over 1 s on an adversarial text" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_nesting_too_deep_to_compile_is_a_named_problem(tmp_path):
    data = {**ENTRY, "signatures": ["(" * 1500 + "GoldenHostileError" + ")" * 1500]}
    problems = check_entry_data(
        {**data, "title_zh": "t", "symptom_zh": "s", "causes_zh": ["c"], "fix_zh": "f"}, tmp_path / "hostile.yaml"
    )
    assert ("signatures[0]", "is 3018 characters long; a signature has at most 2000") in problems
    short = {**data, "signatures": ["(" * 600 + "a" + ")" * 600]}
    problems = check_entry_data(
        {**short, "title_zh": "t", "symptom_zh": "s", "causes_zh": ["c"], "fix_zh": "f"}, tmp_path / "hostile.yaml"
    )
    assert ("signatures[0]", "is nested too deeply to compile") in problems


def test_every_builtin_signature_is_fast_on_adversarial_texts():
    entries = load_kb([], KB).entries
    patterns = [p for entry in entries for p in (*entry.signatures, *entry.general_signatures)]
    assert any(entry.general_signatures for entry in entries)
    assert slow_patterns(patterns) == {}


def test_slow_patterns_names_each_slow_one_and_checks_the_rest():
    patterns = [r"CUDA out of memory", r"(a|aa)+b", r"mat1 and mat2", r"(x+x+)+y", r"\d+ MiB"]
    assert sorted(slow_patterns(patterns)) == [1, 3]
