"""Answers in the user's own values (issue 16): what a signature captured fills the entry's fix_here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lazarus.kb.load import check_entry_data
from lazarus.query.pipeline import diagnose
from lazarus.ui.render import fix_here
from tests.conftest import FIXTURES, KB


def first(index, name: str):
    text = (FIXTURES / "logs" / name).read_text(encoding="utf-8")
    return diagnose(index, text).matches[0]


@pytest.mark.parametrize(
    "log,entry,english,chinese",
    [
        # https://github.com/VICO-UoE/MTPSL/issues/3: (1x2 and 6x64)
        ("mat1-mat2-shapes-mtpsl.log", "linear-in-features-mismatch", "nn.Linear(2, 64)", "每个样本有 2 个特征"),
        ("target-out-of-bounds-colab.log", "cross-entropy-target-out-of-bounds", "labels is 5", "标签里有 5"),
        ("cuda-oom-tensorboard-sigterm.log", "cuda-out-of-memory", "asked for 96.00 MiB", "还需要 96.00 MiB"),
    ],
)
def test_real_errors_are_answered_with_their_own_values(index, log, entry, english, chinese):
    match = first(index, log)
    assert match.entry.id == entry
    assert english in fix_here(match, "en")
    assert chinese in fix_here(match, "zh")


def test_the_shape_message_of_the_issue_says_512_256_and_the_layer_to_build(index):
    match = diagnose(index, "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)").matches[0]
    said = fix_here(match, "en")
    assert "512 features" in said and "built for 256" in said and "nn.Linear(512, 10)" in said
    assert "nn.Linear(512, 10)" in fix_here(match, "zh")


def test_json_carries_the_values_and_the_fix_in_them(run_cli):
    result = run_cli("--json", "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)")
    match = json.loads(result.stdout)["matches"][0]
    assert match["values"] == {"rows": "64", "features": "512", "expected": "256", "out": "10"}
    assert "nn.Linear(512, 10)" in match["fix_here"]


def test_without_the_values_the_generic_fix_stands_alone(index):
    # a fragment of the message carries no numbers: no sentence with holes in it
    match = diagnose(index, "mat1 and mat2 shapes cannot be multiplied").matches[0]
    assert match.entry.id == "linear-in-features-mismatch" and fix_here(match, "en") == ""


def test_a_placeholder_no_signature_captures_is_a_kb_problem():
    import yaml

    path = KB / "shape" / "linear-in-features-mismatch.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["fix_here"] = "use {in_channels}"
    problems = check_entry_data(data, Path(path))
    assert ("fix_here", "{in_channels} is captured by no signature: add (?P<in_channels>...) to one") in problems
