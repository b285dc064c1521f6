"""The index cache: it cannot run code when loaded, and a corrupt or foreign cache is rebuilt."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from lazarus.query import index as index_module
from lazarus.query.index import PARTS, Index, _write_index, build_index, fingerprint, load_index
from tests.conftest import KB


class Planted:
    """What a hostile file in a shared cache folder would hold: a call to run on unpickling."""

    def __reduce__(self):
        return (os.system, ("touch planted-ran",))


def cache_file(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path / "cache"))
    load_index([], KB)  # writes the cache
    (path,) = (tmp_path / "cache" / "lazarus").glob("index-*.pickle")
    return path


def test_a_planted_pickle_runs_nothing_and_the_index_is_rebuilt(tmp_path, monkeypatch):
    path = cache_file(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    path.write_bytes(pickle.dumps(("stamp", Planted())))
    index = load_index([], KB)
    assert not (tmp_path / "planted-ran").exists()
    assert index.by_id("batchnorm-batch-of-one") is not None


def test_a_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    path = cache_file(tmp_path, monkeypatch)
    data = path.read_bytes()
    for broken in (b"", os.urandom(4096), data[: len(data) // 2], data[:100] + b"\xff" * 50 + data[150:]):
        path.write_bytes(broken)
        assert load_index([], KB).by_id("batchnorm-batch-of-one") is not None


def planted_copy(index: Index, **parts) -> Index:
    return Index.of(index.entries, **{name: index.part(name) for name in PARTS} | parts)


def test_a_cache_file_others_can_write_is_not_trusted(tmp_path, monkeypatch):
    path = cache_file(tmp_path, monkeypatch)
    stamp = fingerprint([KB])
    _write_index(path, stamp, planted_copy(load_index([], KB), dirs=("planted",)))
    assert load_index([], KB).dirs == ("planted",)  # the owner's own file is read as it is
    # the same bytes, but writable by the group: it could have been changed by someone else
    path.chmod(0o664)
    assert load_index([], KB).dirs != ("planted",)
    assert path.stat().st_mode & 0o077 == 0  # rewritten by the owner, for the owner only


def test_a_warm_load_reads_every_part_from_the_cache(tmp_path, monkeypatch):
    cache_file(tmp_path, monkeypatch)
    built = build_index([], KB)

    def no_rebuild(*args):
        raise AssertionError("rebuilt although the cache is sound")

    monkeypatch.setattr(index_module, "_assemble_folders", no_rebuild)
    loaded = load_index([], KB)
    for name in PARTS:
        value = loaded.part(name)
        if name == "words":
            assert dict(value) == built.words
            assert all(value[word] == number for word, number in built.words.items())
            assert "no-such-word" not in value and value.get("no-such-word") is None
        else:
            assert value == built.part(name), name
    assert list(loaded.entries) == list(built.entries)


@pytest.mark.parametrize("part", ["field_text", "words", "entry"])
def test_a_part_found_corrupt_when_read_is_taken_from_a_rebuilt_index(tmp_path, monkeypatch, part):
    path = cache_file(tmp_path, monkeypatch)
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[:4], "little")
    _, places, entry_at, _ = pickle.loads(data[8 : 8 + size])
    at = 8 + size + (places[part][0] if part in places else int.from_bytes(entry_at[8:16], "little"))
    data[at + 20 : at + 40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    loaded = load_index([], KB)  # the header is sound: the damage is seen when the part is read
    built = build_index([], KB)
    assert dict(loaded.words) == built.words
    assert loaded.field_text == built.field_text
    assert loaded.entries[1] == built.entries[1]


def test_a_dangling_link_is_reported_and_later_edits_are_still_seen(tmp_path, monkeypatch, run_cli):
    import yaml

    folder = tmp_path / "team" / "mine"
    folder.mkdir(parents=True)
    # the dangling link sorts first, so a scan that stopped at it would miss the entry after it
    (folder / "a-gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    entry = yaml.safe_load((KB / "batchnorm" / "batchnorm-batch-of-one.yaml").read_text(encoding="utf-8"))
    entry.update(id="team-golden", signatures=["GoldenTeamError"], examples=["GoldenTeamError: first"])
    path = folder / "team-golden.yaml"
    path.write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    first = run_cli("--kb", str(tmp_path / "team"), "GoldenTeamError: first")
    assert "team-golden" in first.stdout
    assert "a-gone.yaml" in first.stderr and "cannot read" in first.stderr
    entry.update(title="Edited after the first query")
    path.write_text(yaml.safe_dump(entry, allow_unicode=True), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    second = run_cli("--kb", str(tmp_path / "team"), "GoldenTeamError: first")
    assert "Edited after the first query" in second.stdout


# The cached index is reused while FORMAT and the KB files stay the same: a change to how text
# becomes words (normalize.py, cjk_words.txt) that leaves FORMAT alone would keep users on an
# index of the old words. The digest of those files is pinned here together with FORMAT.
WORDS_SOURCES = ("lazarus/query/normalize.py", "lazarus/query/cjk_words.txt")
WORDS_DIGEST = (58, "d16f779fbe3a4525")


def test_a_change_of_how_text_becomes_words_bumps_the_index_format():
    import hashlib

    root = KB.parent
    digest = hashlib.sha256(b"".join((root / name).read_bytes() for name in WORDS_SOURCES)).hexdigest()[:16]
    assert (index_module.FORMAT, digest) == WORDS_DIGEST, (
        "how text becomes words changed: bump FORMAT in lazarus/query/index.py, then set WORDS_DIGEST "
        f"to ({index_module.FORMAT + 1}, {digest!r})"
    )
