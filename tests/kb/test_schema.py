"""kb/schema.json is generated from the loader's rules, and the schema and the loader agree."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from lazarus.kb.load import check_entry_data, entry_files
from lazarus.kb.schema import entry_schema, schema_text
from tests.conftest import KB


def test_committed_schema_is_the_generated_one() -> None:
    committed = (KB / "schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run: python -m lazarus.kb.schema > kb/schema.json"


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(entry_schema())


BUILTIN = sorted(entry_files(KB))


@pytest.mark.parametrize("path", BUILTIN[::7], ids=lambda p: p.stem)
def test_builtin_entries_pass_schema_and_loader(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, entry_schema())
    assert check_entry_data(data, path) == []


def _mutations(data: dict) -> list[tuple[str, dict]]:
    cases = []
    for name, change in [
        ("unknown field", lambda d: d.update(cause=["typo"])),
        ("missing fix", lambda d: d.pop("fix")),
        ("title not a string", lambda d: d.update(title=["a list"])),
        ("upper-case tag", lambda d: d.update(tags=["NaN"])),
        ("no examples", lambda d: d.update(examples=[])),
        ("reference not a URL", lambda d: d.update(references=["see the docs"])),
        ("unknown snippet field", lambda d: d["snippets"][0].update(expected="x")),
        ("bad device", lambda d: d["snippets"][0].update(devices=["tpu"])),
        ("snippet without fixed", lambda d: d["snippets"][0].pop("fixed")),
        ("unreproducible without reason", lambda d: d["snippets"][0].update(reproducible=False, reason=None)),
        ("raises not a class name", lambda d: d["snippets"][0].update(raises="a RuntimeError")),
    ]:
        mutated = copy.deepcopy(data)
        change(mutated)
        if mutated["snippets"][0].get("reason", "") is None:
            del mutated["snippets"][0]["reason"]
        cases.append((name, mutated))
    return cases


BN = KB / "batchnorm" / "batchnorm-batch-of-one.yaml"


@pytest.mark.parametrize(
    "name,data",
    _mutations(yaml.safe_load(BN.read_text(encoding="utf-8"))),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_schema_and_loader_refuse_the_same_mistakes(name: str, data: dict) -> None:
    assert check_entry_data(data, BN), f"the loader accepts: {name}"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, entry_schema())
