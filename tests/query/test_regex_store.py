"""Compiled regexes kept between runs: the pattern built from the cache is the one re.compile
makes, and anything unexpected in the cache falls back to re.compile."""

from __future__ import annotations

import os
import pickle
import re

import pytest

from lazarus import cachefile
from lazarus.query.extract import _PREFIX
from lazarus.query.normalize import _RULES
from lazarus.regex import store

PATTERNS = [
    (r"(?P<size>\d+) and (?P=size)", 0),
    (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", 0),
    (r"\bpids?\(?s?\)?\s*[\d, ]+", re.IGNORECASE | re.MULTILINE),
    ("增加|上涨|上升", 0),
    (_PREFIX.pattern, _PREFIX.flags),
    *((rule.pattern, rule.flags) for rule, _ in _RULES),
]


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    """A new run of lazarus: nothing compiled in this process yet, the cache in tmp_path."""

    def new_run() -> None:
        re.purge()  # re's own cache lives as long as the process
        monkeypatch.setattr(store, "_compiled", {})
        monkeypatch.setattr(store, "_stored", None)
        monkeypatch.setattr(store, "_new", {})

    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("LAZARUS_NO_CACHE", raising=False)
    new_run()
    return new_run


def test_a_stored_pattern_is_the_one_re_compiles(fresh):
    first = [store.compiled(p, f) for p, f in PATTERNS]
    store.save(store._path())
    fresh()
    built = []
    for p, f in PATTERNS:
        assert (p, int(f)) in store._stored_parts(), p
        built.append(store._from_store((p, int(f))))
    for pattern, (p, f), earlier in zip(built, PATTERNS, first, strict=True):
        assert pattern is not None
        assert pattern == re.compile(p, f) == earlier
        assert pattern.groupindex == re.compile(p, f).groupindex
        assert pattern.groups == re.compile(p, f).groups
    assert store.compiled(*PATTERNS[0]).search("3 and 3")["size"] == "3"


def test_nothing_is_stored_without_the_cache(fresh, monkeypatch):
    monkeypatch.setenv("LAZARUS_NO_CACHE", "1")
    store.compiled(r"no cache (\d+)")
    store.save(store._path())
    assert not store._new
    assert not os.path.exists(store._path())


@pytest.mark.parametrize(
    "content",
    [
        ("another engine", {}),
        (store.ENGINE, {(r"(\d+) and (\d+)", 0): (0, b"\xff\xff\xff\xff" * 8, 1, {}, (None, None))}),
        (store.ENGINE, {(r"(\d+) and (\d+)", 0): "not parts"}),
        (store.ENGINE, {(r"(\d+) and (\d+)", 0): (0, b"\x01\x02\x03", 1, {}, (None, None))}),
        (store.ENGINE, {(r"(\d+) and (\d+)", 0): (0, store._program([1, 2, 3]), 2, {}, ())}),
    ],
)
def test_a_cache_that_does_not_fit_falls_back_to_re_compile(fresh, content):
    cachefile.write(store._path(), content)
    pattern = store.compiled(r"(\d+) and (\d+)")
    assert pattern == re.compile(r"(\d+) and (\d+)")
    assert pattern.search("x 3 and 4").groups() == ("3", "4")


def test_a_planted_cache_runs_nothing(fresh, tmp_path, monkeypatch):
    class Planted:
        def __reduce__(self):
            return (print, ("planted",))

    monkeypatch.chdir(tmp_path)
    cachefile.write_bytes(store._path(), pickle.dumps((store.ENGINE, {("x", 0): Planted()})))
    assert store._stored_parts() == {}
    assert store.compiled("x").match("x")


def test_a_run_adds_to_what_earlier_runs_stored(fresh):
    store.compiled("first run")
    store.save(store._path())
    fresh()
    store.compiled("second run")
    store.save(store._path())
    fresh()
    assert {("first run", 0), ("second run", 0)} <= set(store._stored_parts())


def test_a_pattern_re_warns_about_is_not_stored_and_warns_every_run(fresh):
    nested = r"[[a-z]--x]"  # FutureWarning: possible nested set / set difference
    for _ in range(2):
        with pytest.warns(FutureWarning):
            store.compiled(nested)
        store.save(store._path())
        fresh()
    assert (nested, 0) not in store._stored_parts()
