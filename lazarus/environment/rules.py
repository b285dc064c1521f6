"""The entries' environment checks against the facts: which hold, which fail, which cannot tell."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from lazarus.environment.facts import FLAGS, KNOWN, LISTS, NUMBERS, VERSIONS, WORDS, Facts, FactValue, version_of
from lazarus.model import PLACEHOLDER, EnvCheck, EnvFinding

_NUMBER_BOUND = re.compile(r"^\s*(<=|>=|<|>|==|!=)\s*(\d+(?:\.\d+)?)\s*$")
_PLACEHOLDER = re.compile(PLACEHOLDER)


def evaluate(facts: Facts, checks: Iterable[tuple[str, EnvCheck]]) -> list[EnvFinding]:
    """Every check (entry id, check) whose facts are all known, failed ones first (in KB order)."""
    findings: list[EnvFinding] = []
    for entry_id, check in checks:
        verdict = holds(check, facts)
        if verdict is None:
            continue
        if verdict:
            findings.append(EnvFinding(entry_id, check, True, fill(check.says, facts), fill(check.says_zh, facts)))
        else:
            findings.append(EnvFinding(entry_id, check, False, "", ""))
    return sorted(findings, key=lambda f: not f.failed)


def holds(check: EnvCheck, facts: Facts) -> bool | None:
    """True when every condition holds, False when one does not, None when a fact is unknown."""
    verdict = True
    for name, condition in check.when:
        if name not in facts:
            return None
        if not condition_holds(facts[name], name, condition):
            verdict = False
    return verdict


def condition_holds(value: FactValue, name: str, condition: str | bool | int | float) -> bool:
    if isinstance(condition, bool) or name in FLAGS:
        return value is condition
    if name in VERSIONS:
        version = version_of(str(value))
        return version is not None and Version(version.base_version) in SpecifierSet(str(condition))
    if name in NUMBERS:
        bound = _NUMBER_BOUND.match(str(condition))
        if bound is None or not isinstance(value, (int, float)):
            return False
        return _compare(float(value), bound.group(1), float(bound.group(2)))
    return str(value).lower() == str(condition).lower()


def _compare(value: float, operator: str, bound: float) -> bool:
    return {
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
        "==": value == bound,
        "!=": value != bound,
    }[operator]


def fill(text: str, facts: Facts) -> str:
    def value(found: re.Match[str]) -> str:
        fact = facts.get(found.group(1))
        if isinstance(fact, tuple):
            return " ".join(fact)
        return "?" if fact is None else str(fact)

    return _PLACEHOLDER.sub(value, text)


def check_problems(checks: Any) -> list[tuple[str, str]]:
    """What is wrong with an entry's `environment` field, as (field, message) pairs."""
    if not isinstance(checks, list) or not checks:
        return [("environment", "must be a non-empty list of checks")]
    problems: list[tuple[str, str]] = []
    for i, check in enumerate(checks):
        where = f"environment[{i}]"
        if not isinstance(check, dict):
            problems.append((where, "must be a mapping with title, when and says"))
            continue
        for key in check:
            if key not in ("title", "title_zh", "when", "says", "says_zh", "alone"):
                problems.append((f"{where}.{key}", "unknown field"))
        for key in ("title", "says"):
            if not isinstance(check.get(key), str) or not check[key].strip():
                problems.append((f"{where}.{key}", "must be a non-empty string"))
        if "alone" in check and not isinstance(check["alone"], bool):
            problems.append((f"{where}.alone", "must be true or false"))
        for key in ("title_zh", "says_zh"):
            if key in check and (not isinstance(check[key], str) or not check[key].strip()):
                problems.append((f"{where}.{key}", "must be a non-empty string"))
        when = check.get("when")
        if not isinstance(when, dict) or not when:
            problems.append((f"{where}.when", "must be a mapping of fact: condition"))
            continue
        for name, condition in when.items():
            problems += [(f"{where}.when.{name}", m) for m in _condition_problems(str(name), condition)]
        for key in ("says", "says_zh"):
            for name in _PLACEHOLDER.findall(check.get(key) or ""):
                if name not in KNOWN:
                    problems.append((f"{where}.{key}", f"{{{name}}} is not a fact lazarus knows"))
    return problems


def _condition_problems(name: str, condition: Any) -> list[str]:
    if name not in KNOWN or name in LISTS:
        return [f"unknown fact; known: {', '.join(sorted(KNOWN - LISTS))}"]
    if name in FLAGS:
        return [] if isinstance(condition, bool) else ["must be true or false"]
    if not isinstance(condition, (str, int, float)) or isinstance(condition, bool):
        return ["must be a string such as '<2.3'"]
    if name in VERSIONS:
        try:
            SpecifierSet(str(condition))
        except InvalidSpecifier:
            return [f"{condition!r} is not a version range such as '>=2' or '<2.3'"]
        return [] if str(condition).strip() else ["must not be empty"]
    if name in NUMBERS:
        return [] if _NUMBER_BOUND.match(str(condition)) else [f"{condition!r} is not a bound such as '<1024'"]
    assert name in WORDS
    return []


def make_checks(checks: list[dict[str, Any]]) -> tuple[EnvCheck, ...]:
    return tuple(
        EnvCheck(
            title=c["title"].strip(),
            title_zh=(c.get("title_zh") or c["title"]).strip(),
            when=tuple((str(k), v) for k, v in c["when"].items()),
            says=c["says"].strip(),
            says_zh=(c.get("says_zh") or c["says"]).strip(),
            alone=c.get("alone", True),
        )
        for c in checks
    )
