"""The entry format as a JSON Schema, generated from the loader's own rules.

lazarus/kb/load.py is the one source of truth: its field lists, patterns and snippet fields make
this schema, and kb/schema.json (for YAML-aware editors) is this module's output, kept equal by a
test. Regenerate it after changing the loader: `python -m lazarus.kb.schema > kb/schema.json`.
Some checks stay the loader's alone (a regex that can backtrack for ever, code that does not
compile, an id that is not the file name, as many Chinese causes as English ones).
"""

from __future__ import annotations

import json
from typing import Any

from lazarus.kb.load import (
    DEVICES,
    EXCEPTION_NAME_RE,
    ID_RE,
    OPTIONAL_LIST_FIELDS,
    OPTIONAL_STR_FIELDS,
    REQUIRED_FIELDS,
    SNIPPET_FIELDS,
    STR_FIELDS,
    TAG_RE,
)

DESCRIPTIONS = {
    "id": "Equal to the file name without .yaml",
    "symptom": "What the user sees; the verbatim error message where there is one",
    "signatures": "Python regexes searched in 'Type: message' of the extracted error",
    "general_signatures": "Regexes for a family of messages; they answer only an error no entry's signatures know",
    "examples": "Real error lines or symptom phrases; each must rank this entry first",
    "tags": "Topic tags and source tags (1.1, 8502, seed001-4); quote numeric tags",
    "broken": "Minimal code that shows the symptom",
    "raises": "Exception class (or base class) name broken must raise",
    "fixed": "The remedy applied; must run cleanly and assert the symptom is gone",
    "requires": "Importable modules the code needs; missing -> skipped",
    "torch": "Torch versions the claim holds for, e.g. '>=2.6' or '>=2.0,<2.6'",
    "reason": "Why broken cannot be shown, when reproducible is false",
    "fix_here": "The fix in the user's values: {name} is what a signature's (?P<name>...) group captured",
}
NON_EMPTY_LISTS = ("examples", "causes", "causes_zh", "tags")
JSON_TYPES = {str: "string", list: "array", bool: "boolean", int: "integer", float: "number"}
SNIPPET_DEFAULTS: dict[str, Any] = {"devices": ["cpu"], "reproducible": True, "timeout": 30}


def _described(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    if name in DESCRIPTIONS:
        schema["description"] = DESCRIPTIONS[name]
    return schema


def _field(name: str) -> dict[str, Any]:
    if name in STR_FIELDS or name in OPTIONAL_STR_FIELDS:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if name == "id":
            schema["pattern"] = ID_RE.pattern
        return _described(name, schema)
    item: dict[str, Any] = {"type": "string", "minLength": 1}
    if name == "tags":
        item["pattern"] = TAG_RE.pattern
    if name == "references":
        item["pattern"] = "^https?://"
    schema = {"type": "array", "items": item}
    if name in NON_EMPTY_LISTS:
        schema["minItems"] = 1
    return _described(name, schema)


def _snippet_field(name: str, expected: type | tuple[type, ...]) -> dict[str, Any]:
    if isinstance(expected, tuple):  # int or float: a JSON number
        schema: dict[str, Any] = {"type": "number"}
    else:
        schema = {"type": JSON_TYPES[expected]}
    if name == "raises":
        schema["pattern"] = EXCEPTION_NAME_RE.pattern
    if name == "devices":
        schema["items"] = {"enum": list(DEVICES)}
    if name == "requires":
        schema["items"] = {"type": "string"}
    if name in SNIPPET_DEFAULTS:
        schema["default"] = SNIPPET_DEFAULTS[name]
    return _described(name, schema)


def entry_schema() -> dict[str, Any]:
    properties = {name: _field(name) for name in REQUIRED_FIELDS if name != "snippets"}
    for name in OPTIONAL_STR_FIELDS:
        properties[name] = _described(name, {"type": "string", "minLength": 1})
    for name in OPTIONAL_LIST_FIELDS:
        properties[name] = _field(name)
    properties["environment"] = environment_schema()
    properties["snippets"] = {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["fixed"],
            "properties": {name: _snippet_field(name, kind) for name, kind in SNIPPET_FIELDS.items()},
            # A snippet shows the failure (broken) unless it says why it cannot (reason).
            "if": {"properties": {"reproducible": {"const": False}}, "required": ["reproducible"]},
            "then": {"required": ["reason"]},
            "else": {"required": ["broken"]},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lazarus KB entry",
        "description": "One PyTorch failure: what the user sees, why, the fix, and snippets the validator runs. "
        "See docs/entry-format.md.",
        "type": "object",
        "additionalProperties": False,
        "required": list(REQUIRED_FIELDS),
        "properties": properties,
    }


def environment_schema() -> dict[str, Any]:
    """The `environment` field: checks of `lazarus env` and of pasted environment reports."""
    from lazarus.environment.facts import FLAGS, NUMBERS, VERSIONS, WORDS

    condition: dict[str, Any] = {name: {"type": "boolean"} for name in sorted(FLAGS)}
    condition |= {
        name: {"type": "string", "description": "a version range: '>=2', '<2.3'"} for name in sorted(VERSIONS)
    }
    condition |= {name: {"type": "string", "pattern": r"^\s*(<=|>=|<|>|==|!=)\s*\d"} for name in sorted(NUMBERS)}
    condition |= {name: {"type": "string"} for name in sorted(WORDS)}
    text = {"type": "string", "minLength": 1}
    return {
        "description": "Known bad combinations of an environment that this entry explains (docs/environment.md)",
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["title", "when", "says"],
            "properties": {
                "title": text,
                "title_zh": text,
                "says": text,
                "says_zh": text,
                "when": {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": condition},
                "alone": {
                    "type": "boolean",
                    "description": "false: the combination breaks one activity only (nvcc: extension builds), so its "
                    "failure answers a pasted report only when the text also speaks of that problem",
                },
            },
        },
    }


def schema_text() -> str:
    return json.dumps(entry_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
