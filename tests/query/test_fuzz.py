"""Fuzzing the query path (issue 14): random text and mutated real logs never make extraction or
diagnosis raise, hang or answer with a malformed match."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lazarus.query.extract import extract
from lazarus.query.pipeline import diagnose
from tests.conftest import FIXTURES

LOGS = sorted((FIXTURES / "logs").glob("*.log")) + sorted((FIXTURES / "env").glob("*.txt"))
REAL = [path.read_text(encoding="utf-8", errors="replace") for path in LOGS]
# Pieces real logs are made of, to splice into random text
PIECES = [
    "Traceback (most recent call last):\n",
    '  File "train.py", line 1, in <module>\n',
    "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n",
    "[rank0]: ",
    "\r 45%|████▌     | 45/100 [00:10<00:12]",
    "\x1b[31m",
    "During handling of the above exception, another exception occurred:\n",
    "PyTorch version: 2.1.0+cu121\nCUDA used to build PyTorch: 12.1\n",
    "[pip3] torchvision==0.7.0\n",
    "损失函数一直是nan，",
    "│ ",
    "E   ",
    "\n",
]

mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(PIECES)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 200)),
    st.tuples(st.just("repeat"), st.integers(0, 10**6), st.integers(2, 50)),
    st.tuples(st.just("noise"), st.integers(0, 10**6), st.text(max_size=40)),
)


def mutate(text: str, changes: list[tuple]) -> str:
    for kind, at, what in changes:
        at = at % (len(text) + 1)
        if kind == "insert" or kind == "noise":
            text = text[:at] + what + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + what :]
        else:
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line = text[line_start : (len(text) if line_end < 0 else line_end + 1)]
            text = text[:line_start] + line * what + text[line_start:]
    return text


def well_formed(index, text: str) -> None:
    started = time.monotonic()
    reports = extract(text)
    diagnosis = diagnose(index, text)
    assert time.monotonic() - started < 5
    assert all(r.text for r in reports)
    ids = [m.entry.id for m in diagnosis.matches]
    assert len(ids) == len(set(ids))
    for match in diagnosis.matches:
        assert 0 <= match.score <= 100
        assert match.via in ("signature", "fragment", "fuzzy", "environment")


# derandomize: CI runs the same examples every time (a clean clone has no example database); new
# cases are found by raising max_examples or changing the seed locally, then kept as @example.
fuzz = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(st.sampled_from(range(len(REAL))), st.lists(mutation, max_size=8))
def test_mutated_real_logs(index, which, changes):
    well_formed(index, mutate(REAL[which], changes))


@fuzz
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=60)), max_size=40))
# found by this test in CI: a text whose only lines are a box edge and a version field
@example(parts=["│ ", "[pip3] torchvision==0.7.0\n"])
def test_random_text_made_of_log_pieces(index, parts):
    well_formed(index, "".join(parts))


@fuzz
@given(st.binary(max_size=2000))
def test_random_bytes_decoded_as_a_log_would_be(index, data):
    well_formed(index, data.decode("utf-8", "replace"))
