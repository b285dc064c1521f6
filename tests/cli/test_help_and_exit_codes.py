"""Help, completion, one exit-code table for every command, and `run --json` (issue 13)."""

from __future__ import annotations

import json
import re
import sys

import jsonschema
import pytest

from tests.cli.test_json_schema import SCHEMA
from tests.conftest import ROOT

COMMANDS = ["search", "diagnose", "show", "list", "tag", "tags", "run", "validate", "kb", "kb check"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_no_types(run_cli, command):
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"<(str|int|bool|list\[str\])>|\{[A-Z]+\}", result.stdout), result.stdout


@pytest.mark.parametrize("command", ["", "search", "diagnose", "show", "tag", "run", "validate"])
def test_help_has_examples(run_cli, command):
    text = run_cli(*command.split(), "--help").stdout
    assert re.search(r"Examples?:\n\n\s+lazarus ", text) or "| lazarus" in text, text


def test_main_help_has_the_exit_codes(run_cli):
    text = " ".join(run_cli("--help").stdout.split())
    assert "0 answered" in text and "1 no confident match" in text and "2 usage error" in text


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("lazarus validate --device c", "3", {"cpu", "cuda"}),
        ("lazarus validate --device ", "3", {"cpu", "cuda", "all"}),
        ("lazarus validate batchnorm-b", "2", {"batchnorm-batch-of-one"}),
        ("lazarus validate --tag na", "3", {"nan"}),
        ("lazarus show --lang z", "3", {"zh"}),
        ("lazarus search --color a", "3", {"auto", "always"}),
    ],
)
def test_completion_of_devices_ids_tags_and_choices(run_cli, words, cword, expected):
    env = {"_LAZARUS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = run_cli(env=env, input="")
    assert expected <= set(result.stdout.split()), (result.stdout, result.stderr)


# ---------------------------------------------------------------- one exit-code table

BN_ERROR = "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 256])"

EXIT_CODES = [
    # 0: answered, found, passed
    (0, [BN_ERROR]),
    (0, ["diagnose", "-"], BN_ERROR),
    (0, ["show", "batchnorm-batch-of-one"]),
    (0, ["tag", "nan"]),
    (0, ["list"]),
    (0, ["tags"]),
    (0, ["run", "--", sys.executable, "-c", "pass"]),
    # 1: no confident match, unknown id or tag, a failure
    (1, ["how do I center a div in css"]),
    (1, ["show", "no-such-entry"]),
    (1, ["show", "--json", "no-such-entry"]),
    (1, ["tag", "no-such-tag"]),
    (1, ["validate", "no-such-entry"]),
    (1, ["validate", "--tag", "no-such-tag"]),
    # 2: usage errors, the same for every command
    (2, ["--limit", "0", BN_ERROR]),
    (2, ["--lang", "fr", BN_ERROR]),
    (2, ["diagnose", "/no/such/file.log"]),
    (2, ["diagnose", "-"], ""),
    (2, ["show"]),
    (2, ["show", "--bogus", "x"]),
    (2, ["list", "--bogus"]),
    (2, ["tags", "--kb", "/no/such/folder"]),
    (2, ["validate", "--device", "gpu"]),
    (2, ["run"]),
    (2, ["kb", "check", "--bogus"]),
    # run: the command's own exit code
    (3, ["run", "--", sys.executable, "-c", "raise SystemExit(3)"]),
    (127, ["run", "--", "no-such-command-lazarus"]),
]


@pytest.mark.parametrize("case", EXIT_CODES, ids=lambda case: f"{case[0]}: {' '.join(case[1])[:40]}")
def test_exit_codes_are_one_table_for_every_command(run_cli, case):
    code, args, *stdin = case
    result = run_cli(*args, input=stdin[0] if stdin else None)
    assert result.returncode == code, (result.stdout[-500:], result.stderr[-500:])
    if code == 2:
        assert result.stderr.strip(), "a usage error always says why"


def test_the_readme_documents_the_exit_code_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes") :]
    rows = re.findall(r"^\| (`\d+`)", table, flags=re.M)
    assert rows == ["`0`", "`1`", "`2`", "`130`", "`127`"], rows
    assert "`lazarus run`: the command's own exit code" in table


# ---------------------------------------------------------------- run --json

FAILING = "import sys; print('epoch 1'); sys.exit('ValueError: Expected more than 1 value per channel when training')"


def test_run_json_is_the_only_thing_on_stdout(run_cli):
    result = run_cli("run", "--json", "--", sys.executable, "-c", FAILING)
    assert result.returncode == 1
    data = json.loads(result.stdout)  # the whole of stdout is one JSON document
    jsonschema.validate(data, SCHEMA)
    assert data["exit_code"] == 1 and data["matches"][0]["id"] == "batchnorm-batch-of-one"
    assert result.stderr.startswith("epoch 1\n")  # the command's own output, untouched, on stderr


def test_run_json_after_a_success_says_so(run_cli):
    result = run_cli("run", "--json", "--", sys.executable, "-c", "print('fine')")
    assert result.returncode == 0 and result.stderr == "fine\n"
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["exit_code"] == 0 and data["matches"] == [] and data["error"] is None
