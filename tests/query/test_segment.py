"""Chinese is cut into words from lazarus/query/cjk_words.txt, the same way for questions and entries;
words people write for the same thing (in Chinese and English) meet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lazarus.query.index import load_index
from lazarus.query.normalize import cjk_vocabulary, normalize, segment, speaks_domain, tokens

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
        # words jieba's HMM guessed from the KB (卡慢, 比单) are not words: 单卡 meets the entries
        ("多卡训练比单卡慢", ["多卡", "训练", "比", "单卡", "慢"]),
    ],
)
def test_questions_are_cut_into_words(question, words):
    assert segment(question) == words


@pytest.mark.parametrize(
    "question", ["4卡的精度比单卡低", "双卡的精度比单卡低", "8 张卡的精度比单卡低", "两张卡的精度比单卡低"]
)
def test_a_count_of_cards_is_several_gpus(question):
    assert tokens(normalize(question)) == tokens(normalize("多卡的精度比单卡低"))


@pytest.mark.parametrize("question", ["4090显卡", "用1080卡训练", "第2卡住了", "一张卡", "单卡"])
def test_a_card_that_is_not_a_count_stays_as_written(question):
    assert "多卡" not in tokens(normalize(question))


def test_a_lone_character_and_an_unknown_run_stay_whole_characters():
    assert segment("卡") == ["卡"]
    assert all(len(w) == 1 for w in segment("彧彧彧"))


def test_the_words_of_how_memory_changes_meet_the_entries_words():
    assert tokens(normalize("显存持续增加")) == tokens(normalize("显存不断上涨")) == tokens(normalize("显存一直增长"))


@pytest.mark.parametrize("question", ["显卡内存一直上涨", "GPU 内存一直上涨", "显卡的内存一直上涨", "cuda内存一直上涨"])
def test_the_gpus_memory_by_any_name_is_gpu_memory_not_host_memory(question):
    words = tokens(normalize(question))
    assert words == tokens(normalize("显存一直增长"))
    assert "内存" not in words


@pytest.mark.parametrize("question", ["加载断点继续训练后 mAP 掉了", "接着训练后 mAP 掉了", "恢复训练后 mAP 掉了"])
def test_training_taken_up_again_is_one_word_however_it_is_said(question):
    # the resume entry says 断点续训; users say 继续训练, 接着训练, 恢复训练 (heldout12 #155, #156)
    assert "续训" in tokens(normalize(question))
    assert "续训" in tokens(normalize("断点续训后 loss 突然变大"))


@pytest.mark.parametrize("question", ["fine-tuned bert", "fine tuning bert", "finetuning bert", "fine-tune bert"])
def test_fine_tuning_however_it_is_spelt_is_one_word_of_the_domain(question):
    assert tokens(normalize(question)) == tokens(normalize("finetune bert"))
    assert speaks_domain("fine-tuned llama never stops")


def test_a_loss_at_ln_2_keeps_a_word_other_numbers_do_not():
    assert (
        tokens(normalize("loss stuck at 0.693"))
        == tokens(normalize("loss stuck at 0.6931"))
        == ["loss", "stuck", "ln2"]
    )
    assert "ln2" not in tokens(normalize("accuracy 0.69, loss 10.693, lr 0.0693"))


def test_the_kb_is_indexed_with_the_same_words():
    index = load_index([], KB, use_cache=False)
    for word in ("显存", "卡住", "过拟合", "验证集", "学习率"):
        assert word in index.words, word
    for straddle in ("存一", "住不", "序会"):  # pairs across two words are not indexed
        assert straddle not in index.words, straddle


@pytest.mark.parametrize(
    "question, same",
    [
        ("validation loss goes up", "validation loss rises"),
        ("val loss increasing", "val loss climbed"),
        ("training loss goes down", "training loss falls"),
        ("accuracy dropped", "accuracy decreases"),
    ],
)
def test_english_words_for_a_change_meet(question, same):
    assert tokens(normalize(question)) == tokens(normalize(same))


def test_the_direction_of_a_change_is_kept():
    assert tokens(normalize("loss goes up")) != tokens(normalize("loss goes down"))


def test_a_change_that_does_not_happen_is_not_the_change():
    assert tokens(normalize("loss does not decrease")) == tokens(normalize("the loss isn't going down"))
    assert tokens(normalize("loss does not decrease")) != tokens(normalize("loss decreases"))


def test_full_width_letters_are_the_ascii_ones():
    # what a Chinese input method types: ｌｏｓｓ为ｎａｎ
    assert tokens(normalize("ｌｏｓｓ为ｎａｎ，ｂａｔｃｈｓｉｚｅ＝４")) == tokens(normalize("loss为nan,batchsize=4"))
