"""Every command's --json output validates against docs/json-schema.json (issue 13)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.conftest import ROOT

SCHEMA = json.loads((ROOT / "docs" / "json-schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "args",
    [
        ["RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)"],
        ["loss is nan after a few epochs"],
        ["--lang", "zh", "训练时显存一直增加"],
        ["show me the error"],
        ["show", "batchnorm-batch-of-one"],
        ["tag", "nan"],
        ["list"],
        ["tags"],
        ["kb", "check"],
        ["env"],
        ["env", "--report", "tests/fixtures/env/stit-pr17-torch170-torchvision041.txt"],
        ["diagnose", "tests/fixtures/env/sdnext-3531-pip-show-torch-torchvision-mismatch.txt"],
    ],
    ids=lambda args: " ".join(args)[:40],
)
def test_json_output_follows_the_documented_schema(run_cli, args):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    result = run_cli(*args, "--json", cwd=str(ROOT))
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    jsonschema.validate(data, SCHEMA)
