"""The loader checks every KB file strictly and names the file and field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lazarus.kb.load import load_kb, regex_problem
from tests.conftest import KB

GOOD = (KB / "batchnorm" / "batchnorm-batch-of-one.yaml").read_text(encoding="utf-8")


def write_entry(folder: Path, stem: str, changes: dict | None = None, drop: tuple[str, ...] = ()) -> Path:
    data = yaml.safe_load(GOOD)
    data["id"] = stem
    data.update(changes or {})
    for key in drop:
        data.pop(key)
    path = folder / "area" / f"{stem}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems_for(folder: Path) -> list[str]:
    return [str(p) for p in load_kb([folder]).problems]


def test_builtin_kb_is_clean():
    result = load_kb([], KB)
    assert result.problems == ()
    assert len(result.entries) >= 30
    for entry in result.entries:
        assert Path(entry.path).stem == entry.id


def test_builtin_entries_can_be_found_in_both_languages():
    import re

    entries = load_kb([], KB).entries
    assert len(entries) >= 150
    for entry in entries:
        chinese = [e for e in entry.examples if re.search(r"[\u4e00-\u9fff]", e)]
        english = [e for e in entry.examples if not re.search(r"[\u4e00-\u9fff]", e)]
        assert len(chinese) >= 2 and len(english) >= 2, entry.id


def test_an_example_written_as_an_error_is_matched_by_its_entry_signatures():
    """An example that is an error message as printed (an exception class, then a colon) is what
    users paste: if none of its entry's signatures matches it, they get at best a fuzzy guess."""
    import re

    error_line = re.compile(r"^[\"']?(?:[A-Za-z_.]+\.)?[A-Z]\w*(?:Error|Exception|Warning)\b\s*:")
    unmatched = [
        f"{entry.id}: {example[:80]}"
        for entry in load_kb([], KB).entries
        if entry.signatures
        for example in entry.examples
        if error_line.match(example)
        and not any(re.search(p, example) for p in (*entry.signatures, *entry.general_signatures))
    ]
    assert unmatched == []


def test_a_valid_user_entry_loads(tmp_path):
    write_entry(tmp_path, "my-entry")
    result = load_kb([tmp_path])
    assert [e.id for e in result.entries] == ["my-entry"]
    assert result.problems == ()


@pytest.mark.parametrize(
    ("changes", "drop", "field", "words"),
    [
        ({"cause": ["x"]}, (), "cause", "unknown field"),
        ({}, ("fix",), "fix", "missing field"),
        ({"title": ["not", "a", "string"]}, (), "title", "non-empty string"),
        ({"signatures": ["(unclosed"]}, (), "signatures[0]", "does not compile"),
        ({"signatures": ["(a+)+b"]}, (), "signatures[0]", "backtrack"),
        ({"tags": [8502]}, (), "tags", "quote it"),
        ({"tags": ["NaN"]}, (), "tags", "lowercase"),
        ({"causes_zh": []}, (), "causes_zh", "as many items"),
        ({"snippets": [{"broken": "x = 1"}]}, (), "snippets[0].fixed", "missing"),
        ({"snippets": [{"fixed": "x = (", "broken": "x"}]}, (), "snippets[0].fixed", "line 1"),
        ({"snippets": [{"fixed": "x", "reproducible": False}]}, (), "snippets[0].reason", "required"),
        ({"snippets": [{"fixed": "x", "broken": "y", "devices": ["tpu"]}]}, (), "snippets[0].devices", "tpu"),
        ({"snippets": [{"fixed": "x", "broken": "y", "torch": "newest"}]}, (), "snippets[0].torch", "version"),
        ({"references": ["pytorch docs"]}, (), "references", "not a URL"),
    ],
)
def test_each_problem_names_file_and_field(tmp_path, changes, drop, field, words):
    path = write_entry(tmp_path, "bad-entry", changes, drop)
    found = problems_for(tmp_path)
    assert any(p.startswith(f"{path}: {field}:") and words in p for p in found), found


def test_id_must_match_file_name(tmp_path):
    path = write_entry(tmp_path, "right-name", {"id": "wrong-name"})
    assert f"{path}: id: 'wrong-name' does not match the file name 'right-name'" in problems_for(tmp_path)


def test_duplicate_id_in_one_folder(tmp_path):
    write_entry(tmp_path, "twice")
    other = tmp_path / "other" / "twice.yaml"
    other.parent.mkdir()
    other.write_text((tmp_path / "area" / "twice.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    found = problems_for(tmp_path)
    assert any("duplicate id 'twice'" in p for p in found), found


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    found = problems_for(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{path}: line ") and "invalid YAML" in found[0]


def test_bad_files_do_not_hide_good_ones(tmp_path):
    write_entry(tmp_path, "good-one")
    write_entry(tmp_path, "bad-one", drop=("symptom",))
    result = load_kb([tmp_path])
    assert [e.id for e in result.entries] == ["good-one"]
    assert len(result.problems) == 1


def test_user_entry_overrides_builtin_with_same_id(tmp_path):
    write_entry(tmp_path, "batchnorm-batch-of-one", {"title": "My own words"})
    result = load_kb([tmp_path], KB)
    entry = next(e for e in result.entries if e.id == "batchnorm-batch-of-one")
    assert entry.title == "My own words" and not entry.builtin


def test_safe_loader_refuses_python_objects(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    found = problems_for(tmp_path)
    assert len(found) == 1 and "invalid YAML" in found[0]


@pytest.mark.parametrize("pattern", ["(a+)+", "(.*)*", "(?:x|y+)*z", "((ab)*c)+"])
def test_nested_unbounded_repeats_are_refused(pattern):
    assert "backtrack" in (regex_problem(pattern) or "")


@pytest.mark.parametrize("pattern", [r"Expected \d+ got \d+", r"(?:ab|cd){1,3}x", r"a.*b.*c", r"(a+){2}"])
def test_ordinary_patterns_are_accepted(pattern):
    assert regex_problem(pattern) is None


SEED_TAGS = (
    [f"1.{n}" for n in range(1, 4)]
    + [f"2.{n}" for n in range(1, 8)]
    + [f"850{n}" for n in range(1, 7)]
    + [f"seed001-{n}" for n in range(1, 12)]
    + [f"seed002-{n}" for n in range(1, 5)]
    + [f"seed004-{n}" for n in range(1, 4)]
)


@pytest.mark.parametrize("tag", SEED_TAGS)
def test_every_seed_item_resolves_by_its_tag(index, tag):
    from lazarus.query.pipeline import entries_with_tag

    assert entries_with_tag(index, tag)


def test_seed_tags_through_the_cli(run_cli):
    import json

    tags = {t["tag"] for t in json.loads(run_cli("tags", "--json").stdout)["tags"]}
    assert set(SEED_TAGS) <= tags
    assert json.loads(run_cli("tag", "8502", "--json").stdout)["entries"]


def test_every_builtin_entry_is_tagged_with_its_area_folder():
    from lazarus.kb.load import entry_files

    untagged = []
    for path in entry_files(KB):
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.parent.name not in entry["tags"]:
            untagged.append(str(path.relative_to(KB)))
    assert untagged == [], "add the folder's name to tags (lazarus tag AREA lists an area)"


def test_a_yaml_alias_bomb_costs_its_own_file_only(tmp_path, run_cli):
    # issue 14: a 919-byte alias bomb made a 724 MB cache and 771 MB per query
    folder = tmp_path / "kb" / "bombs"
    folder.mkdir(parents=True)
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]" for n in range(8)]
    (folder / "bomb.yaml").write_text("\n".join(levels) + "\n", encoding="utf-8")
    check = run_cli("kb", "check", "--kb", str(tmp_path / "kb"))
    assert check.returncode == 1 and "bomb.yaml: line 2: YAML aliases (*name) are not allowed" in check.stdout
    answer = run_cli("--kb", str(tmp_path / "kb"), "Expected more than 1 value per channel")
    assert answer.returncode == 0 and "batchnorm-batch-of-one" in answer.stdout


def test_an_oversized_entry_file_is_refused_unread(tmp_path, run_cli):
    folder = tmp_path / "kb" / "big"
    folder.mkdir(parents=True)
    (folder / "huge.yaml").write_text("id: huge\n" + "# padding\n" * 40_000, encoding="utf-8")
    check = run_cli("kb", "check", "--kb", str(tmp_path / "kb"))
    assert check.returncode == 1 and "an entry file holds at most 256 KiB" in check.stdout


def test_a_teams_entry_in_english_only_is_loaded_and_answers(tmp_path, run_cli):
    # issue 13: an English-only team entry failed kb check for a missing title_zh, and queries
    # silently left it out
    folder = tmp_path / "team" / "internal"
    folder.mkdir(parents=True)
    (folder / "our-loader-timeout.yaml").write_text(
        "id: our-loader-timeout\n"
        "title: Our feature store timed out while the DataLoader fetched a batch\n"
        "symptom: 'FeatureStoreTimeout: shard 7 did not answer within 30 s'\n"
        "signatures: ['FeatureStoreTimeout: shard \\d+ did not answer']\n"
        "examples: ['FeatureStoreTimeout: shard 7 did not answer within 30 s']\n"
        "causes: [The shard is being rebalanced.]\n"
        "fix: Retry after the rebalance, or pin the dataset to a snapshot.\n"
        "snippets: [{fixed: 'assert True', reproducible: false, reason: needs our cluster}]\n"
        "tags: [internal]\n"
        "references: []\n",
        encoding="utf-8",
    )
    assert run_cli("kb", "check", "--kb", str(tmp_path / "team")).returncode == 0
    answer = run_cli("--kb", str(tmp_path / "team"), "FeatureStoreTimeout: shard 3 did not answer within 30 s")
    assert answer.returncode == 0 and "our-loader-timeout" in answer.stdout and answer.stderr == ""
    chinese = run_cli("--lang", "zh", "--kb", str(tmp_path / "team"), "FeatureStoreTimeout: shard 3 did not answer")
    assert "Retry after the rebalance" in chinese.stdout  # the English stands in for the Chinese


def test_a_query_names_the_file_it_skipped_and_why(tmp_path, run_cli):
    folder = tmp_path / "team" / "area"
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text("id: broken\ntitle: [not, a, string]\n", encoding="utf-8")
    answer = run_cli("--kb", str(tmp_path / "team"), "Expected more than 1 value per channel")
    assert answer.returncode == 0
    (line,) = answer.stderr.splitlines()  # once
    assert line.startswith(f"lazarus: skipped an entry: {folder / 'broken.yaml'}: ")
    assert "`lazarus kb check` lists them" in line
