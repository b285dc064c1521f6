"""One cache per KB folder: a rebuild remakes only the pieces of the files that changed, and the
index it assembles is the one a build from scratch gives."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
import yaml

from lazarus.kb import load
from lazarus.model import KBProblem
from lazarus.query import index as index_module
from lazarus.query.index import PARTS, Index, build_index, load_index
from tests.conftest import KB

GENERATED = 300
REAL = KB / "batchnorm" / "batchnorm-batch-of-one.yaml"
HOSTILE = "(?:\\d|\\d\\d)+!"  # no static rule sees it: only timing does


def generated_folder(folder: Path, count: int = GENERATED) -> Path:
    """`count` entries made from a real one, each with its own id, signature and example."""
    real = yaml.safe_load(REAL.read_text(encoding="utf-8"))
    for n in range(count):
        sub = folder / f"area{n % 7}"
        sub.mkdir(parents=True, exist_ok=True)
        write_entry(sub, real, n)
    return folder


def write_entry(sub: Path, real: dict, n: int, **changes: object) -> Path:
    entry = {
        **real,
        "id": f"generated-{n}",
        "signatures": [f"GeneratedError{n}: .* went wrong"],
        "examples": [f"GeneratedError{n}: step {n} went wrong", *real["examples"]],
        **changes,
    }
    path = sub / f"generated-{n}.yaml"
    path.write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    return path


def touch(path: Path) -> None:
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)


@pytest.fixture()
def counted(tmp_path, monkeypatch):
    """The ids whose pieces are made, and the ids whose signatures are timed, per load.

    The timing itself (a child process, tested in tests/kb/test_hostile_signatures.py) is replaced
    by a fixed verdict, HOSTILE is slow and nothing else: on a busy machine a slow child start-up
    could otherwise refuse an entry in one build and not in the other, and the indexes compared
    here would differ for a reason that is not the cache's."""
    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path / "cache"))
    made: list[str] = []
    timed: list[str] = []
    piece_of = index_module.piece_of

    def counting_piece_of(entry):
        made.append(entry.id)
        return piece_of(entry)

    def fixed_verdicts(entries):
        timed.extend(e.id for e in entries)
        return [
            tuple(
                KBProblem(e.path, f"signatures[{n}]", "can backtrack for ever")
                for n, s in enumerate(e.signatures)
                if s == HOSTILE
            )
            for e in entries
        ]

    monkeypatch.setattr(index_module, "piece_of", counting_piece_of)
    monkeypatch.setattr(load, "signature_verdicts", fixed_verdicts)

    def reset() -> None:
        made.clear()
        timed.clear()

    return made, timed, reset


def same_index(cached: Index, fresh: Index) -> None:
    assert list(cached.entries) == list(fresh.entries)
    for name in PARTS:
        if name == "words":  # a mapping read from the cache, a dict when built
            assert dict(cached.words) == dict(fresh.words)
        else:
            assert cached.part(name) == fresh.part(name), name


def folder_caches(tmp_path: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "lazarus").glob("folder-*.pickle")}


def test_editing_one_user_file_remakes_only_its_piece(tmp_path, counted):
    made, timed, reset = counted
    team = generated_folder(tmp_path / "team")
    first = load_index([team], KB)
    assert len(made) == len(first.ids) > GENERATED  # the cold build makes every piece
    assert len(timed) == GENERATED  # and times every signature of the user's folder
    real = yaml.safe_load(REAL.read_text(encoding="utf-8"))
    edited = write_entry(team / "area3", real, 3, title="An edited title for entry three")
    touch(edited)
    reset()
    second = load_index([team], KB)
    assert made == ["generated-3"]
    assert timed == ["generated-3"]
    assert second.by_id("generated-3").title == "An edited title for entry three"
    same_index(second, build_index([team], KB))


def test_touching_a_builtin_entry_leaves_the_user_folder_alone(tmp_path, counted):
    made, timed, reset = counted
    builtin = tmp_path / "builtin"
    shutil.copytree(KB, builtin)
    team = generated_folder(tmp_path / "team", 50)
    load_index([team], builtin)
    before = folder_caches(tmp_path)
    assert len(before) == 2  # one per folder
    touch(builtin / "batchnorm" / "batchnorm-batch-of-one.yaml")
    reset()
    index = load_index([team], builtin)
    assert made == ["batchnorm-batch-of-one"]
    assert timed == []  # the built-in KB's signatures are not timed on a query, the user's not re-timed
    after = folder_caches(tmp_path)
    assert sorted(after) == sorted(before)
    assert sum(after[p] != before[p] for p in after) == 1  # only the built-in folder's cache is rewritten
    same_index(index, build_index([team], builtin))


def test_added_and_removed_files_are_seen(tmp_path, counted):
    made, timed, reset = counted
    team = generated_folder(tmp_path / "team", 50)
    load_index([team], KB)
    (team / "area1" / "generated-8.yaml").unlink()
    write_entry(team / "area2", yaml.safe_load(REAL.read_text(encoding="utf-8")), 500)
    reset()
    index = load_index([team], KB)
    assert made == ["generated-500"]
    assert index.by_id("generated-8") is None and index.by_id("generated-500") is not None
    same_index(index, build_index([team], KB))
    # and the folder emptied: nothing of it is left in the index
    shutil.rmtree(team)
    team.mkdir()
    reset()
    index = load_index([team], KB)
    assert made == [] and not any(i.startswith("generated-") for i in index.ids)
    same_index(index, build_index([team], KB))


def test_problems_overrides_and_slow_signatures_come_from_the_cache_unchanged(tmp_path, counted):
    made, timed, reset = counted

    team = generated_folder(tmp_path / "team", 20)
    real = yaml.safe_load(REAL.read_text(encoding="utf-8"))
    (team / "broken").mkdir()
    (team / "broken" / "not-yaml.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (team / "broken" / "generated-4.yaml").write_text(yaml.safe_dump({**real, "id": "generated-4"}), encoding="utf-8")
    write_entry(team / "broken", real, 30, signatures=[HOSTILE])
    override = dict(real, title="The team's own batchnorm entry")
    (team / "batchnorm-batch-of-one.yaml").write_text(yaml.safe_dump(override), encoding="utf-8")
    (team / "a-gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    fresh = build_index([team], KB)
    reasons = " ".join(p.message for p in fresh.problems)
    assert "duplicate id" in reasons and "backtrack" in reasons and "cannot read" in reasons
    assert "invalid YAML" in reasons
    assert fresh.by_id("batchnorm-batch-of-one").title == "The team's own batchnorm entry"
    assert fresh.by_id("generated-30") is None
    same_index(load_index([team], KB), fresh)
    touch(team / "area0" / "generated-0.yaml")
    reset()
    same_index(load_index([team], KB), fresh)
    # the touched file is made again; the slow signature is timed again on each rebuild (a verdict
    # made on a busy machine must not stick), no other file is
    assert made == timed == ["generated-0", "generated-30"]


def test_a_planted_folder_cache_runs_nothing_and_is_rebuilt(tmp_path, counted, monkeypatch):
    made, _, reset = counted

    class Planted:
        def __reduce__(self):
            return (os.system, ("touch planted-ran",))

    team = generated_folder(tmp_path / "team", 10)
    load_index([team], None)
    (path,) = folder_caches(tmp_path)
    monkeypatch.chdir(tmp_path)
    data = pickle.dumps(Planted())
    import zlib

    path.write_bytes(data + zlib.crc32(data).to_bytes(4, "little"))  # even with a right checksum
    touch(team / "area0" / "generated-0.yaml")
    reset()
    index = load_index([team], None)
    assert not (tmp_path / "planted-ran").exists()
    assert len(made) == 10 and len(index.ids) == 10


def test_a_corrupt_or_foreign_folder_cache_is_rebuilt(tmp_path, counted):
    made, _, reset = counted
    team = generated_folder(tmp_path / "team", 10)
    fresh = build_index([team], None)
    load_index([team], None)
    (path,) = folder_caches(tmp_path)
    data = path.read_bytes()
    for n, broken in enumerate((b"", os.urandom(4096), data[: len(data) // 2], data[:100] + b"\xff" * 50 + data[150:])):
        path.write_bytes(broken)
        touch(team / "area0" / "generated-0.yaml")
        reset()
        same_index(load_index([team], None), fresh)
        assert len(made) == 10, n
    # a cache others can write is not trusted, and rewritten for the owner only
    path.chmod(0o666)
    touch(team / "area0" / "generated-0.yaml")
    reset()
    same_index(load_index([team], None), fresh)
    assert len(made) == 10
    assert path.stat().st_mode & 0o077 == 0
