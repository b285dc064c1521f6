"""Chinese is cut into words from lazarus/query/cjk_words.txt, the same way for questions and entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lazarus.query.index import load_index
from lazarus.query.normalize import cjk_vocabulary, normalize, segment, tokens

KB = Path(__file__).resolve().parents[2] / "kb"
WORDS_FILE = Path(__file__).resolve().parents[2] / "lazarus" / "query" / "cjk_words.txt"


def test_the_word_list_is_well_formed():
    cjk = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]{2,4}$")
    seen: set[str] = set()
    for number, line in enumerate(WORDS_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            continue
        cost, *words = line.split()
        assert cost.isdigit() and words, f"line {number}"
        bad = [w for w in words if not cjk.match(w)]
        assert not bad, f"line {number}: {bad[:5]}"
        assert seen.isdisjoint(words), f"line {number}: a word in two bands"
        seen.update(words)
    assert len(cjk_vocabulary()) == len(seen) > 5000


@pytest.mark.parametrize(
    "question, words",
    [
        # what users write (pairs across two words such as 会卡, 住不, 序会 are never words)
        ("程序会卡住不动", ["程序", "会", "卡住", "不动"]),
        ("显存占用率很高", ["显存", "占用率", "占用", "很", "高"]),
        ("验证集准确率一直不变", ["验证集", "验证", "准确率", "准确", "一直", "不变"]),
        ("过拟合", ["过拟合", "拟合"]),
        ("梯度爆炸", ["梯度", "爆炸"]),  # a compound of two known words is those two words
    ],
)
def test_questions_are_cut_into_words(question, words):
    assert segment(question) == words


def test_a_lone_character_and_an_unknown_run_stay_whole_characters():
    assert segment("卡") == ["卡"]
    assert all(len(w) == 1 for w in segment("彧彧彧"))


def test_the_words_of_how_memory_changes_meet_the_entries_words():
    assert tokens(normalize("显存持续增加")) == tokens(normalize("显存不断上涨")) == tokens(normalize("显存一直增长"))


def test_the_kb_is_indexed_with_the_same_words():
    index = load_index([], KB, use_cache=False)
    for word in ("显存", "卡住", "过拟合", "验证集", "学习率"):
        assert word in index.words, word
    for straddle in ("存一", "住不", "序会"):  # pairs across two words are not indexed
        assert straddle not in index.words, straddle
