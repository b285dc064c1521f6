"""The index cache: it cannot run code when loaded, and a corrupt or foreign cache is rebuilt."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from lazarus.query.index import load_index
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


def test_a_cache_file_others_can_write_is_not_trusted(tmp_path, monkeypatch):
    path = cache_file(tmp_path, monkeypatch)
    stamp, index = pickle.loads(path.read_bytes())
    # the same bytes, but writable by the group: it could have been changed by someone else
    marked = index._replace(dirs=("planted",))
    path.write_bytes(pickle.dumps((stamp, marked)))
    path.chmod(0o664)
    assert load_index([], KB).dirs != ("planted",)
    assert path.stat().st_mode & 0o077 == 0  # rewritten by the owner, for the owner only


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
