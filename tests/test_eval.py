"""The labelled evaluation set (tests/eval/cases.yaml) and the figures tools/evaluate.py gives on it."""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "eval" / "cases.yaml"
KINDS = {"log", "error", "prose-en", "prose-zh", "non-pytorch"}

TOP1_TARGET = 92.0
ABSTENTION_TARGET = 95.0
# Issue 11 (right or silent) trades answers for trust twice. First, a fuzzy answer under 55, or 15
# behind the first, is no longer shown (top-3 98.5 % -> 97.1 %). Second, a fuzzy first answer
# that other entries fit about as well is shown as a possibility, not as the answer, and counts
# as no answer here: on 2026-12-06 this set went from top-1 94.2 %, precision 95.6 % to top-1
# 80.7 %, top-3 97.1 %, precision 99.1 % (298 entries), while on the first blind held-out set
# (tests/eval/heldout/, by then read and used as a development set) precision rose from 69.9 %
# to 85.9 % and top-1 fell from 75.0 % to 63.5 %. The floors below are those measurements,
# a ratchet against regressions; TOP1_TARGET stays the goal.
# 98.5 until the words-alone ranking of descriptions: one more sibling taken for the answer
# (eval-mode-worse-than-train-mode for forgot-model-eval-at-inference), 98.3 %.
PRECISION_TARGET = 98.0
# 80.0 until fuzzy answers needed a field that says what the text says (79.3 % since); 79.0 until
# a description's first lines ranked entries at half the whole text's strength (match.PART_SHARE):
# 79.6 -> 78.9 %, while the eleven development sets' pooled top-3 rose 80.9 -> 83.4 % and
# precision 86.0 -> 87.3 %. 79.3 % after the signature fixes and entries of 2026-12-07 (later).
# 78.9 % in the fourth session of 2026-12-07, when 'acc' became the word accuracy (two Chinese
# questions that print Acc now reach other entries first) and five entries came (a question about
# an uneven GPU utilisation is a possibility now).
TOP1_FLOOR = 78.5
# 97.0 until Chinese was cut without the HMM's guessed words (tools/cjk_vocabulary.py): one
# question ("parms.grad 值为None") lost its entry from the first three (96.7 %).
TOP3_FLOOR = 96.5


def load_evaluate():
    spec = importlib.util.spec_from_file_location("lazarus_evaluate", ROOT / "tools" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def figures() -> dict:
    return load_evaluate().evaluate(CASES)


HOLDOUT = ROOT / "tests" / "eval" / "holdout.yaml"


def test_eval_set_is_large_enough():
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    assert len(cases) >= 200
    assert sum(1 for case in cases if case.get("expect") is None) >= 30


@pytest.mark.parametrize("path", [p for p in (CASES, HOLDOUT) if p.exists()], ids=lambda p: p.name)
def test_eval_set_is_well_formed(path):
    from lazarus.query.index import build_index
    from lazarus.settings import builtin_kb_dir

    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    ids = {entry.id for entry in build_index([], builtin_kb_dir()).entries}
    for number, case in enumerate(cases):
        where = f"{path.name} case {number} ({case.get('source')})"
        assert "expect" in case, where
        assert str(case.get("source", "")).startswith(("https://", "http://")), where
        assert case.get("kind") in KINDS, where
        assert ("text" in case) != ("file" in case), where
        if "file" in case:
            assert (path.parent / case["file"]).is_file(), where
        else:
            assert case["text"].strip(), where
        assert case["expect"] in ids or case["expect"] in (None, "uncovered"), where
        assert (case["expect"] is None) == (case["kind"] == "non-pytorch"), where


def test_held_out_sources_are_not_in_the_tuning_set():
    if not HOLDOUT.exists():
        pytest.skip("no held-out set")
    tuning = {case["source"] for case in yaml.safe_load(CASES.read_text(encoding="utf-8"))}
    held_out = [case["source"] for case in yaml.safe_load(HOLDOUT.read_text(encoding="utf-8"))]
    assert not tuning.intersection(held_out)


def test_eval_figures_hold_their_floor():
    """A ratchet: the figures measured when this floor was set, which must not fall. Issue 4's
    targets are top-1 >= 92 % and abstention >= 95 %; issue 11 adds precision of the first answer."""
    result = figures()
    lazarus = result["lazarus"]
    assert lazarus["top1"] >= TOP1_FLOOR, result
    assert lazarus["top3"] >= TOP3_FLOOR, result
    assert lazarus["abstention"] >= ABSTENTION_TARGET, result
    assert lazarus["precision"] >= PRECISION_TARGET, result
    assert lazarus["top1"] >= result["wratio"]["top1"] + 10, result
    assert lazarus["top1"] >= result["bm25"]["top1"] + 10, result


HELD_OUT = ROOT / "tests" / "eval" / "heldout"


def test_the_blind_held_out_set_is_whole_and_apart():
    """tests/eval/heldout/ was collected by someone who never saw the KB, labelled separately, and
    is never tuned on: its texts and labels line up, and none of its sources is a tuning case."""
    evaluate = load_evaluate()
    collected = yaml.safe_load((HELD_OUT / "collected.yaml").read_text(encoding="utf-8"))
    labels = yaml.safe_load((HELD_OUT / "labels.yaml").read_text(encoding="utf-8"))
    assert [item["source"] for item in collected] == [item["source"] for item in labels]
    assert len({item["source"] for item in collected}) == len(collected)
    # the threads the collector found that are also tuning cases are left out of the figures
    # (and those an entry cites as a reference: 8 of them by 2026-12-06)
    cases = evaluate.load_cases(HELD_OUT)
    assert len(cases) >= 130
    tuning = {case["source"] for case in yaml.safe_load(CASES.read_text(encoding="utf-8"))}
    assert not tuning.intersection(case["source"] for case in cases)
    kinds = {case["kind"] for case in cases}
    assert {"log", "error", "prose-en", "prose-zh", "non-pytorch", "project-specific"} <= kinds


HELD_OUT_SETS = sorted(p for p in (ROOT / "tests" / "eval").glob("heldout*") if (p / "labels.yaml").exists())


@pytest.mark.parametrize("held_out", HELD_OUT_SETS, ids=lambda p: p.name)
def test_no_entry_example_is_copied_from_a_held_out_text(held_out):
    import re

    from lazarus.kb.load import load_kb
    from lazarus.query.extract import _is_code
    from lazarus.query.match import compiled

    evaluate = load_evaluate()
    # Somebody's own sentences. The lines torch and libraries print are every user's alike, and
    # descriptions quote them: an exception's line ("RuntimeError: CUDA error: invalid device
    # ordinal", or its class alone on a line), a warning as Python prints it ("path.py:147:
    # RuntimeWarning: ...") and the library's source line under it (a line of code is nobody's
    # sentence). So is a line one of the entry's own signatures knows: a message a library or the
    # system prints ("Segmentation fault (core dumped)", transformers' right-padding warning).
    raised = re.compile(r"^(?:\S+:\d+: )?[\w.]*(?:Error|Exception|Warning)\w*:(?: |$)")
    held_out_lines = {
        " ".join(line.split())
        for case in evaluate.load_cases(held_out)
        if "prose" in case["kind"]
        for line in case["text"].splitlines()
        if len(line.strip()) >= 15 and not raised.match(line.strip()) and not _is_code(line)
    }
    copied = [
        (entry.id, example[:80])
        for entry in load_kb([], ROOT / "kb").entries
        for example in entry.examples
        for line in example.splitlines()
        if " ".join(line.split()) in held_out_lines
        and not any(compiled(pattern).search(line) for pattern in entry.signatures)
    ]
    assert copied == []


# The first three held-out sets were read after they were measured and are development sets now
# (tools/evaluate.py --cases tests/eval/heldout2): a ratchet on them, as on the tuning set, so a
# change that loses real texts it used to answer is seen. Measured 2026-12-06 (README, issue 11).
# The short titles of issue 13 cost heldout2 one confident wrong answer net (precision 73.0 ->
# 71.4 %, top-1 56.8 -> 57.9 %): a short title wholly inside an unrelated description.
# Ranking descriptions on words alone (a fitted blend, no rapidfuzz: match.description_scores)
# moved the three development sets' mean top-1 59.5 -> 61.0 %, top-3 77.6 -> 79.3 %, precision
# 75.4 -> 75.1 %; heldout2 lost most (top-1 57.9 -> 54.7 %, precision 71.4 -> 69.3 %), heldout3
# gained most (top-1 54.7 -> 61.3 %, precision 75.3 -> 77.4 %).
# Then kb_gap cases whose remedy a new entry gives were relabelled with it (labels.yaml says
# which), and the floors are those measured after.
# Then a fuzzy first answer became likely only when the entry's fields say much of what each
# part of the paste says (match.FIELD_MATCH_LIKELY): mean precision of the four sets 78.1 ->
# 83.3 %, top-1 55.9 -> 52.3 %. The fourth set was measured blind first (top-1 44.1 %,
# precision 80.0 %) and is a development set since.
# 2026-12-07: a description's fuzzy matches are shown at any score (match.worth_showing), which
# moves only top-3, and its first lines rank entries at half the whole text's strength
# (match.PART_SHARE). Top-1 / precision before -> after: heldout3 59.6/82.9 -> 58.8/84.8, heldout4
# 48.4/87.3 -> 46.9/87.0, heldout5 58.0/91.5 -> 57.1/92.8, heldout8 48.7/82.1 -> 46.0/81.2 (their
# top-1 floors lowered); heldout6 51.8/88.1 -> 50.9/95.1, heldout9 51.9/87.1 -> 53.8/88.9,
# heldout11 50.0/88.6 -> 51.3/90.9. Pooled over the eleven sets: top-1 54.5 -> 54.2 %, top-3
# 78.5 -> 83.4 %, precision 86.0 -> 87.3 %.
DEV_FLOORS = {
    "heldout": {"top1": 60.0, "precision": 79.5},
    "heldout2": {"top1": 56.5, "precision": 84.0},
    # 2026-12-07: 60.0 -> 59.5 when 显卡内存 / GPU 内存 became 显存: a likely answer with the hang
    # entry to a text that also says 内存 became a possibility (heldout6 gained one the same way)
    # 2026-12-07 (fourth session): top-1 59.6 -> 58.8 % when llm-generate-sampling-not-deterministic
    # came: a question about images generated with a fixed seed that differ now reaches it first
    # 2026-12-07 (fifth session): top-1 58.8 -> 57.0 % when 'OOM' became out of memory (a
    # question about 显存 growing until OOM now also reaches the DDP GPU-0 entry: a possibility,
    # no longer likely) and test-score-below-validation-after-selection came (a question about
    # train 90 % / test 50 % still reaches overfitting first, but not by the margin of a likely)
    "heldout3": {"top1": 56.5, "precision": 85.5},
    # 2026-12-07: 86.0 -> 85.5 when loss-always-zero gained the LoRA-on-older-GPUs cause and
    # "fine-tuning" became the word finetune: it is a likely, wrong, answer to a sudden rise of
    # the loss while fine-tuning LLaVA with LoRA (LLaVA#1301)
    "heldout4": {"top1": 48.5, "precision": 87.0},
    "heldout5": {"top1": 57.0, "precision": 91.0},
    # 2026-12-07 (sixth session): top-1 50.9 -> 50.0 % when qat-accuracy-drops-after-convert came:
    # "accuracy is worse after model.eval()" now also reaches it, so eval-mode-worse-than-train-mode
    # is a possibility, no longer likely
    "heldout6": {"top1": 49.5, "precision": 87.5},
    "heldout7": {"top1": 52.0, "precision": 91.0},
    # 2026-12-07 (fourth session): top-1 45.6 -> 44.2 % when a value of 0 became the word zero:
    # "train loss goes to 0 and eval loss to nan" now reaches loss-always-zero too, so the nan
    # answer is only a possibility (two texts)
    # 2026-12-07 (sixth session): precision 80.3 -> 79.7 % when llm-generate-repeats-prompt-or-loops
    # (written for heldout20) answered a fine-tuned llama "repeating the same sentence", labelled
    # unclear; its repetition_penalty / sampling advice fits the text, the thread blamed the data
    "heldout8": {"top1": 44.0, "precision": 79.5},
    # measured blind at the start of the session that read it (b7a27e2): top-1 48.5 %, precision
    # 82.8 %; read, its 7 kb_gap texts relabelled to the entries written for them: 51.0 %, 85.5 %
    "heldout9": {"top1": 50.5, "precision": 85.0},
    # measured blind at the start (b7a27e2: top-1 56.8 %, precision 78.3 %) and at the end of the
    # session that collected it (b03fced: 60.0 %, 80.3 %); read, its 12 kb_gap texts relabelled
    # to the entries written for them: 62.4 %, 85.1 %
    # 2026-12-07 (third session): precision 85.3 -> 84.4 % (top-1 62.7 -> 63.7 %) when the five
    # entries written for heldout13's needs shifted the words' weights: a Chinese question about
    # validation mAP that differs from a separate test run is now a likely, wrong, overfitting answer
    "heldout10": {"top1": 62.0, "precision": 84.0},  # 64.7 %, 84.6 % at the end of that session
    # measured blind at the start (cc4db07) and at the end (0f01ed9) of the session that read it,
    # the same both times: top-1 50.0 %, top-3 84.6 %, precision 88.6 %; its 5 kb_gap texts are
    # not relabelled yet
    "heldout11": {"top1": 49.5, "precision": 88.0},
    # measured blind at the start (cc4db07: top-1 48.6 %, precision 76.1 %) and at the end
    # (845be69: 45.7 %, 78.7 %) of the session that collected it; read, 10 of its 12 kb_gap texts
    # relabelled to the entries written for them, 3 threads cited by them left out: 46.5 %, 84.1 %;
    # its last 2 kb_gap texts relabelled too and the signature fixes below: 47.4 %, 85.7 %
    "heldout12": {"top1": 47.0, "precision": 85.0},
    # measured blind at the start (845be69: top-1 47.2 %, precision 80.6 %) and at the end
    # (eb6c03b: 48.1 %, 81.0 %) of the session that collected it; read, the general signatures
    # for names torch lacks and for missing modules, its 6 kb_gap texts relabelled to the entries
    # written for them (4 threads cited by them left out): 51.9 %, 83.6 %; with the signature for
    # a Windows build's WinError 2 and a GAN's loss names (Loss_D, errG) read as words: 55.6 %, 85.7 %
    # 2026-12-07 (fifth session): top-1 55.6 -> 54.6 % when metric-averaged-over-batches came:
    # a question about results that change with the test batch size reaches both it and
    # eval-results-depend-on-batch-size, each a right remedy for some users, so neither is likely
    "heldout13": {"top1": 54.5, "precision": 85.5},
    # measured blind at eb6c03b, f5e11b7 and 3b15983 (top-1 43.1 %, precision 87.5 % each time);
    # read, 6 of its 8 kb_gap texts relabelled to the entries written for them (2 threads cited by
    # them left out): 45.5 %, 89.7 %; its last 2 relabelled (conda, ZeRO-3 device_map): 46.3 %, 90.0 %
    # 2026-12-07 (sixth session): precision 90.0 -> 88.7 % when loss-nan-during-training gained the
    # validation-only cause and its examples: "train loss is nan from epoch 2 on my own data",
    # labelled too unclear, is now a likely loss-nan answer
    "heldout14": {"top1": 46.0, "precision": 88.5},
    # measured blind at 3b15983 (top-1 42.7 %, precision 80.9 %) and at 85ed566 (43.8 %, 81.2 %,
    # a chosen figure: docs/held-out-sets.md rule 5); read, signature fixes from its misses and its
    # 18 kb_gap texts relabelled to the 14 entries written for them: 45.9 %, 84.9 %
    "heldout15": {"top1": 45.5, "precision": 84.5},
    # measured blind at 85ed566 (top-1 43.1 %, top-3 78.4 %, precision 80.0 %) and at 48d3db4
    # (43.1 %, 81.4 %, 81.5 %); read the same day, signature and extraction fixes from its misses
    # and its 4 kb_gap texts relabelled to the entries written for them: 49.5 %, 87.9 %
    # 2026-12-07 (sixth session): top-1 49.5 -> 48.5 %, precision 87.9 -> 86.2 % when the
    # signature for unexpected keys alone came (a checkpoint holding a second network's weights
    # beside the model's, labelled project-specific, now reaches state-dict-keys-renamed) and the
    # seven entries for heldout17's needs shifted the words' weights (a question about a slow epoch
    # reaches the input-pipeline entry as a possibility, no longer likely)
    "heldout16": {"top1": 48.0, "precision": 86.0},
    # measured blind at 85ed566 (top-1 47.1 %, top-3 78.5 %, precision 83.8 %) and at b0f6ea0 and
    # f56d400 (47.1 %, 79.3 %, 85.1 %); read, signature fixes from its misses (an OOM's first
    # sentence alone, unexpected keys alone, diffusers' shape clash, dynamo's Unsupported inside a
    # sentence) and its 8 kb_gap texts relabelled to the 7 entries written for them (threads they
    # cite left out): 54.0 %, 89.3 %
    "heldout17": {"top1": 53.5, "precision": 89.0},
    # measured blind at f56d400 and at 935eab1 (top-1 46.1 %, top-3 82.4 %, precision 81.0 % both
    # times); read, signature fixes from its misses (accelerate's bf16 check, torchtext.legacy as an
    # attribute, torch.load's mmap refusal) and its 7 kb_gap texts relabelled to the entries written
    # for them (threads they cite left out): 50.5 %, 84.4 %
    "heldout18": {"top1": 50.0, "precision": 84.0},
    # measured blind at f56d400 (top-1 49.0 %, top-3 79.6 %, precision 90.6 %) and at 06f4618 (49.0 %,
    # 80.6 %, 90.6 %); read, its 6 kb_gap texts relabelled to the entries written for them (threads
    # they cite left out): 49.5 %, 90.7 %
    "heldout19": {"top1": 49.0, "precision": 90.0},
    # measured blind at 5d8d55e and at 2b99471 (top-1 48.8 %, top-3 78.8 %, precision 83.0 % both
    # times); read: environment checks of one activity (nvcc) answer only a text about it, Keras's
    # verbose=2 progress marks another framework, signatures ('_C' not defined, diffusers float16 on
    # cpu, a wrapped conv shape), 7 kb_gap texts relabelled to the entries written for them and
    # one to an entry extended (threads they cite left out): 50.0 %, 91.3 %
    "heldout20": {"top1": 49.5, "precision": 91.0},
}
# 2026-12-07 (later): raised where signature fixes found on the read sets gained (a 'GPU' kernel
# with no half kernel, torch 1.x's collate stacking in cat's words, a bus error message on two
# lines, 'Unsupported ONNX opset version', a weights-only failure on a text file, a hand-typed
# 'CUDA out of memor'): heldout2 56.1/84.5 -> 57.0/84.7, heldout3 58.8/84.8 -> 59.6/86.1, heldout4
# 46.9/85.7 -> 49.2/87.5, heldout7 51.5/88.1 -> 52.5/91.4 (top-1 / precision).
# 2026-12-07: heldout5, heldout6 and heldout7 lost a point each. Entries for expected behaviour
# written for heldout10's needs (loss steps at epoch boundaries, eval results that depend on the
# batch, an all-masked-labels cause of a zero loss) sit close to older ones, so two likely
# answers became possibilities (heldout5 top-1 58.9 -> 58.0 %, heldout6 51.8 -> 50.9 %); a
# worker's error cut before its last line, in default_collate, now names the stacking entry,
# which heldout7's labeller had judged a guess (heldout7 top-1 52.5 -> 51.5 %, precision 89.8 ->
# 88.1 %), while heldout gained (60.2 -> 62.4 %).
# heldout4's floors were lowered once more when its kb_gap cases got the entries written for
# them (12 relabelled): 3 of them are answered right, and the peft entry's signature answers a
# "Target modules not found" that was labelled project-specific (top-1 42.4 -> 41.4 %,
# precision 84.7 -> 84.1 %).
# The registry entry's signature was widened to mmcv 1.x's wording ("X is not in the models
# registry", an example it had that no signature matched): heldout4 top-1 41.4 -> 43.8 %,
# precision 84.1 -> 86.2 %; on heldout a "SOLOv2 is not in the models registry" labelled
# project-specific is now answered by it (precision 86.7 -> 85.2 %).
# English words for a change were written one way ("goes up", "rises" -> "increase", and "does
# not decrease" -> "nodecrease"; normalize): top-1 of heldout2, heldout3, heldout4 +0.9, +0.9,
# +1.5 points, the tuning set's top-3 96.7 -> 97.1 %.
# The fifth set was measured blind at 3f39464 (top-1 49.1 %, top-3 66.0 %, precision 91.2 %) and
# at 611b5ac (50.0 %, 67.0 %, 91.4 %), then read: a development set since. A printed "loss nan"
# became a signature of the nan entry: heldout top-1 58.4 -> 59.6 %, heldout5 50.0 -> 52.8 %, while
# two nan losses under fp16 labelled with the fp16 entries get the general one (heldout2 precision
# 81.2 -> 80.0 %, heldout5 91.4 -> 88.9 %).
# Then messages the fifth set showed without a signature got one (a YOLO "Label class N exceeds
# nc=M", an undefined symbol in torch's own libraries, older wordings of two messages): heldout5
# top-1 52.8 -> 57.5 %; the first set's labellers had judged those YOLO and source-build messages
# project-specific (5 texts), the fifth set's labeller gave them these entries: heldout precision
# 85.5 -> 79.1 %. A long question with code is ranked on its sentences (extract._written):
# heldout2 and heldout5 top-3 +0.9 and +2.0 points, one more unclear heldout2 text answered.
# Then 8 entries were written for the fifth set's kb_gap needs and 10 of its 12 kb_gap texts relabelled
# with them (labels.yaml says which; 5 of those threads are cited by the new entries, so they are
# left out of its figures): heldout5 top-1 57.1 %, top-3 76.8 %, precision 91.4 %.
# A sixth set was collected and labelled blind (tests/eval/heldout6). Then words for one symptom
# met (显存爆了 is 显存不足, 无法收敛 is 不下降, GPU 使用率 is 利用率), a description's digits stopped
# counting and a greeting line stopped being ranked on its own: mean of the five sets top-1
# 54.5 -> 54.7 %, top-3 74.4 -> 75.6 %, precision 83.4 -> 83.0 %. heldout lost two (a Chinese
# "显存 grows to 20G and stays" now answered by the host-RAM worker entry, its title says 内存;
# "accuracy stays 0 while the loss falls", labelled unclear, answered): top-1 59.6 -> 58.4 %,
# precision 79.1 -> 76.5 %; heldout4 precision 86.6 -> 85.5 % (GPU-Util 0 % with memory in use,
# labelled with the loss-noise entry, answered with the input-pipeline entry).
# Then 5 entries were written for the development sets' remaining kb_gap needs (mixed Stable
# Diffusion model families, another CUDA runtime on LD_LIBRARY_PATH, YOLO class counts, a loss
# floored by an auxiliary term; exploding-gradients gained the initialisation cause) and those
# texts relabelled (labels.yaml says which): heldout 58.1/80.6, heldout2 53.3/80.3, heldout3
# 57.9/82.5, heldout5 58.4/91.7 (top-1/precision); three relabelled texts are not answered first yet.
# The sixth set was measured blind at 151eeff (top-1 50.5 %, top-3 73.8 %, precision 83.1 %,
# abstention 91.7 %) and at 56dc0f1 after this session's ranking changes (51.9 %, 74.5 %, 84.6 %,
# 93.3 %), then read: a development set since. Signatures for three wordings it showed, and 11
# entries or causes for its kb_gap needs (labels.yaml says which texts were relabelled; 4 of those
# threads are cited by the new entries and left out): heldout6 51.8/88.1. The new entries moved
# word weights: a non-PyTorch heldout3 text crossed STRENGTH_MARGIN by 0.9 (precision 82.5 ->
# 81.5 %), and heldout lost one (80.6 -> 79.4 %).
# A question followed by a long shell command is read as the question (extract._without_commands):
# the one such heldout5 question, answered with nothing before, gets a wrong likely answer
# (precision 91.7 -> 90.4 %).
# A seventh set was collected and labelled blind (tests/eval/heldout7; not read, so not here).
# Then older and newer wordings of messages got signatures (torch 0.4-2.x, NCCL, Lightning,
# bitsandbytes, HF, ONNX ...), symptom entries got the words real questions use, and words such as
# 微调 and 数据增强 made a text ours: heldout 58.1/79.4 -> 60.2/80.0, heldout2 53.3/80.3 ->
# 54.2/81.7, heldout3 57.9/81.5 -> 60.5/82.1, heldout4 46.1/85.5 -> 47.7/85.9 (top-1/precision);
# the floors follow.
# The seventh set was measured blind at 802f62e (top-1 47.9 %, top-3 70.8 %, precision 88.5 %) at
# the start of the next session, then read: a development set since. A paste hard-wrapped at a
# terminal's width is joined again, a question under an error is not its message, and bash's
# Chinese words for a fatal signal are read: heldout7 51.0/89.1. A likely answer then needs a field
# that says 0.35 of what the text says (was 0.3; match.FIELD_MATCH_LIKELY says why): top-1 of the
# seven sets 54.9 -> 54.0 %, precision 85.5 -> 87.3 %: heldout 59.1/82.1, heldout2 54.2/82.9,
# heldout3 57.9/83.5, heldout4 46.9/88.2, heldout5 58.0/92.9, heldout6 50.9/89.2, heldout7 51.0/92.5.
# 14 entries written for its and the KB helpers' needs (its 9 kb_gap texts relabelled, 3 of them
# cited and left out): heldout7 50.5/92.7. The Chinese words for chatter that English already drops
# (解决, 无法, 使用, 现在, 尝试, 觉得 ...: normalize.CHATTER): mean of the seven sets top-1 53.9 ->
# 54.4 %, top-3 76.8 -> 77.2 %, precision 87.4 -> 86.9 % (four wrong or unlabelled answers turn
# confident, six right ones do): heldout2 55.1/83.1, heldout4 47.7/87.1, heldout5 58.0/91.5,
# heldout6 51.8/89.4, heldout7 51.5/91.2; the others unchanged.
# An eighth set was collected and labelled blind (tests/eval/heldout8) and measured at 802f62e
# (top-1 43.5 %, top-3 72.2 %, precision 75.8 %, abstention 80.3 %) and at 815615b, with the 0.35
# field match (38.3 %, 72.0 %, 74.5 %, 81.8 %): the likely answers the higher gate took away were
# right 6 times in 7 there, so it went back to 0.3 (the seven sets' floors return with it). Then
# read: a development set since. Settings (YAML and JSON keys, a command's options, HTML images) are
# not somebody's words, and a question is prose however few function words it has: heldout8
# 43.0/75.4 -> 43.9/74.6; the other sets unchanged: heldout 60.2/80.0, heldout2 55.1/83.1,
# heldout3 60.5/83.1, heldout4 48.4/86.1, heldout5 58.9/91.7, heldout6 51.8/88.1, heldout7 52.5/88.3.
# Then 7 entries and signatures for the eighth set's misses and kb_gap needs (its 9 kb_gap texts
# relabelled, 4 texts cited by the new entries left out; a general entry for "Trying to backward
# through the graph a second time" now answers that message, so the texts and logs labelled with
# the two-model entry, the only one there was, accept it): heldout7 52.5/89.8, heldout8 46.9/80.3.


@pytest.mark.parametrize("name", sorted(DEV_FLOORS))
def test_development_sets_hold_their_floor(name):
    result = load_evaluate().evaluate(ROOT / "tests" / "eval" / name, only=("lazarus",))["lazarus"]
    for figure, floor in DEV_FLOORS[name].items():
        assert result[figure] >= floor, (figure, result)


RANKINGS_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tools.evaluate import lazarus_ranker, load_cases
from lazarus.query.index import build_index
from lazarus.settings import builtin_kb_dir
rank = lazarus_ranker(build_index([], builtin_kb_dir()))
print(json.dumps([rank(case["text"]) for case in load_cases(Path(sys.argv[2]))]))
"""


def test_the_same_text_gets_the_same_answers_in_every_run():
    # Python orders a set of words differently from run to run (PYTHONHASHSEED): the answers
    # must not depend on it. Under seed 2 a Chinese question of heldout2 once ranked an entry it
    # did not rank under seed 0 (a tie at the cut of the candidates), and its answer turned likely.
    import json
    import os
    import subprocess

    def rankings(seed: str) -> list:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cases = str(ROOT / "tests" / "eval" / "heldout2")
        done = subprocess.run(
            [sys.executable, "-c", RANKINGS_SCRIPT, str(ROOT), cases],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    assert rankings("0") == rankings("2")
