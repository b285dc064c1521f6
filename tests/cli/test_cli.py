"""The real CLI, run as a subprocess: every command, its JSON, exit codes and bad input."""

from __future__ import annotations

import json
import os

import pytest

BN_ERROR = "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 256])"
BN_TRACEBACK = f"""Epoch 3:  98%|█████████▊| 49/50 [00:03<00:00, 14.2it/s]
Traceback (most recent call last):
  File "/home/me/project/train.py", line 41, in <module>
    out = model(x)
  File "/home/me/.venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1511, in _wrapped_call_impl
    return self._call_impl(*args, **kwargs)
  File "/home/me/.venv/lib/python3.11/site-packages/torch/nn/functional.py", line 2478, in batch_norm
    _verify_batch_size(input.size())
{BN_ERROR}
"""


def test_query_answers_with_the_remedy(run_cli):
    result = run_cli("Expected more than 1 value per channel when training")
    assert result.returncode == 0, result.stderr
    assert "batchnorm-batch-of-one" in result.stdout
    assert "drop_last=True" in result.stdout
    assert "\x1b[" not in result.stdout  # NO_COLOR and a pipe: plain text


def test_query_json_is_documented_shape(run_cli):
    result = run_cli("--json", BN_ERROR)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["query"] == BN_ERROR
    first = data["matches"][0]
    for key in ("id", "title", "score", "tags", "signatures", "symptom", "matched_line", "via", "verified"):
        assert key in first
    assert first["id"] == "batchnorm-batch-of-one" and first["via"] == "signature"
    assert 0 <= first["score"] <= 100
    assert first["matched_line"] == BN_ERROR


def test_search_subcommand_equals_default(run_cli):
    a = json.loads(run_cli("--json", BN_ERROR).stdout)
    b = json.loads(run_cli("search", "--json", BN_ERROR).stdout)
    assert [m["id"] for m in a["matches"]] == [m["id"] for m in b["matches"]]


def test_no_confident_match_exits_1_with_empty_json(run_cli):
    result = run_cli("--json", "how do I center a div in css")
    assert result.returncode == 1
    assert json.loads(result.stdout)["matches"] == []
    human = run_cli("how do I center a div in css")
    assert human.returncode == 1 and "No confident match" in human.stderr


def test_diagnose_reads_stdin_and_shows_the_user_frame(run_cli):
    result = run_cli("diagnose", input=BN_TRACEBACK)
    assert result.returncode == 0, result.stderr
    assert "batchnorm-batch-of-one" in result.stdout
    assert "/home/me/project/train.py:41" in result.stdout
    data = json.loads(run_cli("diagnose", "-", "--json", input=BN_TRACEBACK).stdout)
    assert data["error"]["user_frame"] == "/home/me/project/train.py:41 in <module>"
    assert data["matches"][0]["matched_line"] == BN_ERROR


def test_diagnose_reads_a_file(run_cli, tmp_path):
    log = tmp_path / "run.log"
    log.write_text(BN_TRACEBACK, encoding="utf-8")
    result = run_cli("diagnose", str(log), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["matches"][0]["id"] == "batchnorm-batch-of-one"


def test_piped_input_without_command_is_diagnosed(run_cli):
    result = run_cli(input=BN_TRACEBACK)
    assert result.returncode == 0 and "batchnorm-batch-of-one" in result.stdout
    # options alone, the text piped
    data = json.loads(run_cli("-n", "1", "--json", input=BN_TRACEBACK).stdout)
    assert [match["id"] for match in data["matches"]] == ["batchnorm-batch-of-one"]
    # a query on the command line is still the query, whatever stdin holds
    result = run_cli("-n", "1", "Expected more than 1 value per channel", input="")
    assert result.returncode == 0 and "batchnorm-batch-of-one" in result.stdout


def test_show_and_unknown_id(run_cli):
    result = run_cli("show", "batchnorm-batch-of-one")
    assert result.returncode == 0 and "drop_last" in result.stdout
    data = json.loads(run_cli("show", "batchnorm-batch-of-one", "--json").stdout)
    assert data["entries"][0]["id"] == "batchnorm-batch-of-one"
    missing = run_cli("show", "batchnorm-batch-of-two")
    assert missing.returncode == 1
    assert "no entry with id 'batchnorm-batch-of-two'" in missing.stderr and "batchnorm-batch-of-one" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_tags_tag_and_list(run_cli):
    tags = json.loads(run_cli("tags", "--json").stdout)["tags"]
    counts = {t["tag"]: t["count"] for t in tags}
    assert counts["batchnorm"] >= 1
    tagged = json.loads(run_cli("tag", "batchnorm", "--json").stdout)["entries"]
    assert "batchnorm-batch-of-one" in [e["id"] for e in tagged]
    assert len(tagged) == counts["batchnorm"]
    assert run_cli("tag", "no-such-tag").returncode == 1
    listed = run_cli("list")
    assert listed.returncode == 0 and "batchnorm-batch-of-one" in listed.stdout
    everything = json.loads(run_cli("list", "--json").stdout)["entries"]
    assert len(everything) == len(listed.stdout.strip().splitlines())


def test_chinese_output(run_cli):
    result = run_cli("--lang", "zh", BN_ERROR)
    assert result.returncode == 0 and "可能原因" in result.stdout
    by_locale = run_cli(BN_ERROR, env={"LANG": "zh_CN.UTF-8"})
    assert "可能原因" in by_locale.stdout
    assert run_cli("--lang", "fr", BN_ERROR).returncode == 2


def test_a_question_in_chinese_is_answered_in_chinese(run_cli):
    english_locale = {"LANG": "en_US.UTF-8", "LC_ALL": "", "LAZARUS_LANG": ""}
    asked = run_cli("训练几个epoch之后loss变成nan", env=english_locale)
    assert asked.returncode == 0 and "可能原因" in asked.stdout
    assert "Fix:" in run_cli("--lang", "en", "训练几个epoch之后loss变成nan", env=english_locale).stdout
    assert "Fix:" in run_cli("loss becomes nan after a few epochs", env=english_locale).stdout
    # one Chinese word among English ones is still a question asked in Chinese
    assert "修复" in run_cli("loss是nan", env=english_locale).stdout


def test_limit(run_cli):
    data = json.loads(run_cli("-n", "1", "--json", "loss is nan").stdout)
    assert len(data["matches"]) <= 1
    assert run_cli("-n", "0", "loss").returncode == 2


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (("diagnose", "-"), "", "is empty"),
        (("diagnose", "-"), "   \n\n  ", "white space"),
        (("diagnose", "/no/such/file.log"), None, "no such file"),
        (("",), None, "query is empty"),
        (("--kb", "/no/such/dir", "loss"), None, "no such folder"),
        (("show",), None, "Missing argument"),
        (("frobnicate", "--bogus"), None, "No such option"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(run_cli, args, stdin, words):
    result = run_cli(*args, input=stdin)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert words in result.stderr
    assert "Traceback (most recent call last)" not in result.stderr


def test_binary_input_is_refused(run_cli, tmp_path):
    blob = tmp_path / "model.pt"
    blob.write_bytes(b"PK\x03\x04\x00\x00" + os.urandom(4096))
    result = run_cli("diagnose", str(blob))
    assert result.returncode == 2 and "binary" in result.stderr


def test_invalid_utf8_is_read_with_a_warning(run_cli):
    data = (BN_TRACEBACK.replace("Epoch 3", "Epoch \xff3")).encode("latin-1", "replace")
    data = b"caf\xe9 \xff\xfe log line\n" + BN_TRACEBACK.encode("utf-8")
    result = run_cli("diagnose", input=data)
    assert result.returncode == 0
    assert b"not valid UTF-8 at line 1" in result.stderr
    assert b"batchnorm-batch-of-one" in result.stdout


def test_huge_log_with_error_at_the_end(run_cli, tmp_path):
    log = tmp_path / "big.log"
    line = "step 1234 | loss 0.4321 | lr 3e-4 | 12.3 it/s\n"
    with open(log, "w", encoding="utf-8") as handle:
        handle.write(line * 600_000)  # about 28 MB
        handle.write(BN_TRACEBACK)
    data = json.loads(run_cli("diagnose", str(log), "--json").stdout)
    assert data["matches"][0]["id"] == "batchnorm-batch-of-one"


def test_ten_megabyte_single_line(run_cli, tmp_path):
    log = tmp_path / "one-line.log"
    log.write_text("x" * (10 << 20) + "\n" + BN_ERROR + "\n", encoding="utf-8")
    result = run_cli("diagnose", str(log), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["matches"][0]["id"] == "batchnorm-batch-of-one"
    no_error = tmp_path / "no-error.log"
    no_error.write_text("y" * (10 << 20), encoding="utf-8")
    assert run_cli("diagnose", str(no_error)).returncode == 1


def test_kb_check_reports_every_problem(run_cli, tmp_path):
    good = run_cli("kb", "check")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "mine" / "bad-entry.yaml"
    bad.parent.mkdir()
    bad.write_text("id: other\ntitle: x\n", encoding="utf-8")
    result = run_cli("kb", "check", "--kb", str(bad.parent))
    assert result.returncode == 1
    assert f"{bad}: id: 'other' does not match" in result.stdout or f"{bad}: " in result.stdout
    data = json.loads(run_cli("kb", "check", "--kb", str(bad.parent), "--json").stdout)
    assert data["problems"] and all(p["path"] == str(bad) for p in data["problems"])
    # A query still answers from the valid entries, with a warning about the broken one.
    answer = run_cli("--kb", str(bad.parent), BN_ERROR)
    assert answer.returncode == 0 and "kb check" in answer.stderr


def test_user_kb_from_env_overrides_builtin(run_cli, tmp_path):
    import yaml

    from tests.conftest import KB

    data = yaml.safe_load((KB / "batchnorm" / "batchnorm-batch-of-one.yaml").read_text(encoding="utf-8"))
    data["title"] = "Our team's note on single-sample batches"
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "batchnorm-batch-of-one.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_cli("--json", BN_ERROR, env={"LAZARUS_KB": f"{first}{os.pathsep}{second}"})
    assert json.loads(result.stdout)["matches"][0]["title"] == "Our team's note on single-sample batches"


def test_installed_kb_is_found_from_another_directory(run_cli, tmp_path):
    result = run_cli(BN_ERROR, cwd=str(tmp_path))
    assert result.returncode == 0 and "batchnorm-batch-of-one" in result.stdout


def test_cache_is_rebuilt_when_an_entry_changes(run_cli, tmp_path):
    import yaml

    from tests.conftest import KB

    mine = tmp_path / "mine"
    mine.mkdir()
    path = mine / "batchnorm-batch-of-one.yaml"
    data = yaml.safe_load((KB / "batchnorm" / "batchnorm-batch-of-one.yaml").read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(data | {"title": "first title"}), encoding="utf-8")
    first = json.loads(run_cli("--kb", str(mine), "--json", BN_ERROR).stdout)["matches"][0]["title"]
    path.write_text(yaml.safe_dump(data | {"title": "second, longer title"}), encoding="utf-8")
    second = json.loads(run_cli("--kb", str(mine), "--json", BN_ERROR).stdout)["matches"][0]["title"]
    assert (first, second) == ("first title", "second, longer title")


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("lazarus show batchnorm-b", "2", "batchnorm-batch-of-one"),
        ("lazarus tag 850", "2", "8502"),
        ("lazarus diag", "1", "diagnose"),
    ],
)
def test_shell_completion_of_commands_ids_and_tags(run_cli, words, cword, expected):
    env = {"_LAZARUS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = run_cli(env=env, input="")
    assert expected in result.stdout.split(), (result.stdout, result.stderr)


def test_a_log_with_no_error_line_says_so(run_cli, tmp_path):
    log = tmp_path / "train.log"
    log.write_text("".join(f"Epoch {n}: loss=0.{n:03d} acc=0.9{n % 10}\n" for n in range(40)), encoding="utf-8")
    result = run_cli("diagnose", str(log))
    assert result.returncode == 1
    assert (
        result.stderr
        == f"lazarus: no error line found in {log}: paste the lines of the traceback, or describe the symptom\n"
    )


def test_a_traceback_cut_before_its_error_line_says_so(run_cli):
    from tests.conftest import FIXTURES

    paste = (FIXTURES / "pastes" / "vllm-cut-traceback.log").read_text(encoding="utf-8")
    result = run_cli("diagnose", input=paste)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "lazarus: the traceback in the input stops before its error line: paste its last lines too"
        " (the `SomeError: message` line under the last frame)\n"
    )
    assert "traceback 在报错行之前就断了" in run_cli("--lang", "zh", "diagnose", input=paste).stderr


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
def test_output_a_console_cannot_encode_is_replaced_not_fatal(run_cli, encoding):
    # a Windows console or a file redirected in cp1252: bytes in, read back in that encoding
    result = run_cli("--lang", "zh", "loss全为0", input=b"", env={"PYTHONIOENCODING": encoding})
    stdout, stderr = result.stdout.decode(encoding), result.stderr.decode(encoding)
    assert result.returncode == 0, stderr
    assert "internal error" not in stderr and "loss-always-zero" in stdout and "?" in stdout


@pytest.mark.parametrize(
    "words", [["run", "out", "of", "memory"], ["list", "index", "out", "of", "range"], ["show", "me", "why"]]
)
def test_a_question_that_begins_with_a_command_word_is_a_question(run_cli, words):
    result = run_cli(*words)
    assert result.returncode in (0, 1), result.stderr  # answered, or no confident match: never a usage error
    assert "command not found" not in result.stderr and "Usage" not in result.stderr


def test_version(run_cli):
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("lazarus ")


def test_the_first_answer_is_brief_the_others_one_line_and_full_shows_all(run_cli):
    # a confident first answer with another possibility below it ("dataloader is very slow", two
    # words that two entries share, is a pair of possibilities since the KB grew)
    question = "CUDA out of memory during validation"
    brief = run_cli("-n", "3", question).stdout
    full = run_cli("-n", "3", "--full", question).stdout
    answers = [line for line in brief.splitlines() if line.startswith("[")]
    assert len(answers) >= 2
    assert "Likely causes" not in brief and brief.count("Fix:") == 1 and "Causes and references: lazarus show" in brief
    assert brief.rstrip().endswith(answers[-1])  # the others: one line each, at the end
    assert full.count("Likely causes") == full.count("Fix:") == len(answers)


def test_options_written_before_a_command_belong_to_it(run_cli, tmp_path):
    # a real build log: torch-scatter against a system nvcc 10.1 (tests/fixtures/env/index.yaml)
    from tests.conftest import FIXTURES

    log = FIXTURES / "env" / "researchprogress-11-nvcc-10.1-vs-torch-cu121.txt"
    result = run_cli("--no-pager", "--lang", "en", "diagnose", str(log))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("[1] ") and "cuda-toolkit-for-extension-build" in result.stdout.splitlines()[0]
    assert '"schema_version"' in run_cli("--json", "show", "cuda-out-of-memory").stdout
    # words that read as a question stay a question
    import json

    assert json.loads(run_cli("--json", "run", "out", "of", "memory").stdout)["query"] == "run out of memory"


def test_a_jupyter_traceback_pasted_as_an_argument_is_a_question(run_cli):
    # IPython prints a rule of dashes first; pasted as one argument it is not an option
    paste = (
        "---------------------------------------------------------------------------\n"
        "RuntimeError                              Traceback (most recent call last)\n"
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)"
    )
    result = run_cli(paste)
    assert result.returncode == 0, result.stderr
    assert "linear-in-features-mismatch" in result.stdout
    assert run_cli("--bogus", "loss is nan").returncode == 2  # a real unknown option is still refused


def test_color_always_never_and_force_color(run_cli):
    query = "Expected more than 1 value per channel"
    assert "\x1b[" in run_cli("--color", "always", query).stdout
    assert "\x1b[" in run_cli(query, env={"FORCE_COLOR": "1", "NO_COLOR": ""}).stdout
    assert "\x1b[" not in run_cli("--color", "never", query, env={"FORCE_COLOR": "1"}).stdout
    bad = run_cli("--color", "sometimes", query)
    assert bad.returncode == 2 and bad.stderr == "lazarus: --color sometimes: choose auto, always or never\n"


def test_answers_that_fit_about_equally_are_possibilities_not_an_answer(run_cli):
    # two entries fit this question about as well (expected, or a leak between the splits):
    # neither is presented as the answer
    question = "val accuracy higher than train accuracy"
    result = run_cli("-n", "3", question)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "No confident match. Possibly related (check each symptom before its fix):"
    assert all(line.startswith("[") and "possible, check the symptom" in line for line in lines[1:])
    assert "Fix:" not in result.stdout
    data = json.loads(run_cli("--json", question).stdout)
    assert data["confident"] is False and data["matches"][0]["confidence"] == "possible"
    # a question one entry fits clearly better is answered
    clear = run_cli("--json", "model predicts the same class for every input")
    assert clear.returncode == 0 and json.loads(clear.stdout)["confident"] is True


def test_answers_below_a_likely_one_are_possibilities(run_cli):
    # the first answer fits clearly best and is likely; how often the ones below it are right was
    # never measured, so they are shown as possibilities, not as likely answers too
    data = json.loads(run_cli("--json", "-n", "3", "CUDA out of memory during validation").stdout)
    confidences = [match["confidence"] for match in data["matches"]]
    assert data["confident"] is True and confidences[0] == "likely" and len(confidences) >= 2
    assert set(confidences[1:]) == {"possible"}


def test_a_general_signature_answers_only_what_no_entry_names(run_cli):
    """torch-too-old-for-code's general signatures cover any name torch's own modules lack; the
    entry written for one such name (torch._six, removed in 2.0) still answers that one alone."""
    unknown = "AttributeError: module 'torch.jit' has no attribute 'script_if_tracing'"
    named = "AttributeError: module 'torch' has no attribute '_six'"
    first = json.loads(run_cli("--json", unknown).stdout)["matches"]
    assert first[0]["id"] == "torch-too-old-for-code" and first[0]["via"] == "signature"
    second = json.loads(run_cli("--json", named).stdout)["matches"]
    assert [m["id"] for m in second] == ["torch-six-removed"]


def test_general_signatures_of_a_team_entry(run_cli, tmp_path):
    import yaml

    from tests.conftest import KB

    data = yaml.safe_load((KB / "batchnorm" / "batchnorm-batch-of-one.yaml").read_text(encoding="utf-8"))
    data.update(
        id="team-kernel-missing",
        title="Our kernels library lacks a kernel",
        signatures=["KernelError: no kernel 'attention' in teamkernels"],
        general_signatures=[r"KernelError: no kernel '\w+' in teamkernels"],
        examples=["KernelError: no kernel 'conv' in teamkernels"],
    )
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "team-kernel-missing.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    traceback = """Traceback (most recent call last):
  File "/srv/team/train.py", line 12, in <module>
    out = model(x)
  File "/srv/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1747, in _call_impl
    return forward_call(*args, **kwargs)
KernelError: no kernel 'conv2d' in teamkernels"""
    result = run_cli("--kb", str(folder), "--json", traceback)
    assert json.loads(result.stdout)["matches"][0]["id"] == "team-kernel-missing"
    # a text that never names torch is somebody else's: a general signature does not answer it
    elsewhere = run_cli("--kb", str(folder), "--json", "KernelError: no kernel 'conv2d' in teamkernels")
    assert json.loads(elsewhere.stdout)["matches"] == []
    data["general_signatures"] = ["KernelError: (unclosed"]
    (folder / "team-kernel-missing.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    check = run_cli("kb", "check", "--kb", str(folder))
    assert check.returncode == 1
    assert "general_signatures[0]" in check.stdout and "Traceback" not in check.stdout + check.stderr
