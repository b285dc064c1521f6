"""Ranking on the real KB: every entry's own examples rank it first; signatures beat fuzzy hits."""

from __future__ import annotations

import pytest

from lazarus.kb.load import load_kb
from lazarus.query.match import CONFIDENT, SIGNATURE_FLOOR
from lazarus.query.pipeline import diagnose
from tests.conftest import KB, development_text

ENTRIES = load_kb([], KB).entries
EXAMPLES = [(entry.id, example) for entry in ENTRIES for example in entry.examples]


@pytest.mark.parametrize(("entry_id", "example"), EXAMPLES, ids=[f"{i}:{e[:40]}" for i, e in EXAMPLES])
def test_each_example_ranks_its_entry_first(index, entry_id, example):
    matches = diagnose(index, example, limit=3).matches
    assert matches, f"no confident match for {example!r}"
    assert matches[0].entry.id == entry_id, [(m.entry.id, m.score, m.via) for m in matches]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.signatures], ids=lambda e: e.id)
def test_signature_examples_hit_a_signature(index, entry):
    """An entry with signatures has at least one example that its signatures really match."""
    hits = [m for ex in entry.examples for m in diagnose(index, ex).matches[:1] if m.entry.id == entry.id]
    assert any(m.via == "signature" for m in hits)


def test_signature_hit_outranks_every_fuzzy_hit(index):
    text = "ValueError: Expected more than 1 value per channel when training, got input size torch.Size([1, 64])"
    matches = diagnose(index, text, limit=10).matches
    assert matches[0].via == "signature" and matches[0].score >= SIGNATURE_FLOOR
    assert all(m.score < SIGNATURE_FLOOR for m in matches if m.via == "fuzzy")


def test_numbers_shapes_and_paths_do_not_change_the_answer(index):
    base = "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x784 and 256x10)"
    variants = [
        base,
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x3 and 7x2)",
        '  File "/home/alice/proj/train.py", line 12, in <module>\n' + base.replace("64x784", "128x2048"),
    ]
    firsts = {diagnose(index, v).matches[0].entry.id for v in variants}
    assert len(firsts) == 1


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "the quick brown fox jumps over the lazy dog",
        "how do I center a div in css",
    ],
)
def test_unrelated_text_gets_no_confident_match(index, text):
    matches = diagnose(index, text).matches
    assert not matches or matches[0].score < CONFIDENT


def _fixture_cases(folder: str) -> list[dict]:
    import yaml

    from tests.conftest import FIXTURES

    items = yaml.safe_load((FIXTURES / folder / "index.yaml").read_text(encoding="utf-8"))
    for item in items:
        item["text"] = (FIXTURES / folder / item["file"]).read_text(encoding="utf-8")
    return items


LABELLED_LOGS = [c for c in _fixture_cases("logs") if c.get("entry")]
NON_TORCH = _fixture_cases("nontorch")


@pytest.mark.parametrize("case", LABELLED_LOGS, ids=lambda c: c["file"])
def test_real_logs_rank_their_entry_first(index, case):
    matches = diagnose(index, case["text"]).matches
    assert matches and matches[0].entry.id == case["entry"], [(m.entry.id, m.score) for m in matches]


@pytest.mark.parametrize("case", NON_TORCH, ids=lambda c: c["file"])
def test_real_non_torch_errors_get_no_confident_match(index, case):
    matches = diagnose(index, case["text"]).matches
    assert not matches, [(m.entry.id, m.score, m.via) for m in matches]


def test_a_short_description_in_the_trades_words_is_answered(index):
    # two words of GAN training, and loss names in snake_case, are about deep learning
    from lazarus.query.normalize import speaks_domain

    assert speaks_domain("val_loss is lower than train_loss") and not speaks_domain("my go program panics")
    assert speaks_domain("can't reproduce the results reported in the paper")
    assert speaks_domain("用了两张卡速度没有提升")
    # a CUDA library's file name, or a version glued to a name, is ours too (not "go1.20")
    assert speaks_domain("libcudart.so.9.0 missing") and speaks_domain("我用的是cuda10.0")
    assert not speaks_domain("go1.20 panics: nil map")
    matches = diagnose(index, "我用的是cuda10.0，报错说找不到 libcudart.so.9.0").matches
    assert matches and matches[0].entry.id == "cuda-library-not-found"
    matches = diagnose(index, "mode collapse").matches
    assert matches and matches[0].entry.id == "gan-discriminator-wins-generator-collapses"
    # a DreamBooth or VAE question need not say "training" or "model" to be ours
    matches = diagnose(index, "dreambooth: my face shows up in every image whatever the prompt").matches
    assert matches and matches[0].entry.id == "dreambooth-overfits-copies-training-images"
    matches = diagnose(index, "the decoder ignores the latent code, the KL term is almost 0").matches
    assert matches and matches[0].entry.id == "vae-posterior-collapse"


def test_a_known_message_in_another_frameworks_text_is_only_a_possibility(index):
    from lazarus.query.match import confident
    from tests.conftest import FIXTURES

    text = (FIXTURES / "pastes" / "tensorflow-libcudnn.md").read_text(encoding="utf-8")
    matches = diagnose(index, text).matches
    assert matches and matches[0].via == "signature"  # the message is one torch users meet too
    assert not confident(matches), [(m.entry.id, m.score) for m in matches]
    # the same line from a torch user is a known error
    torch_user = "import torch fails: " + next(line for line in text.splitlines() if "libcudnn" in line)
    assert confident(diagnose(index, torch_user).matches)


# Near misses: similar errors that belong to different entries, side by side (thefuck's habit).
NEAR_MISSES = [
    ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x784 and 256x10)", "linear-in-features-mismatch"),
    (
        "RuntimeError: mat1 and mat2 must have the same dtype, but got Double and Float",
        "numpy-float64-input-float32-model",
    ),
    (
        "RuntimeError: Error(s) in loading state_dict for Net:\n\t"
        'Unexpected key(s) in state_dict: "bn1.num_batches_tracked".',
        "state-dict-num-batches-tracked",
    ),
    (
        'RuntimeError: Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "fc.weight".\n\t'
        'Unexpected key(s) in state_dict: "module.fc.weight".',
        "state-dict-module-prefix",
    ),
    ("RuntimeError: expected scalar type Long but found Float", "cross-entropy-target-dtype"),
    ("RuntimeError: Found dtype Double but expected Float", "loss-target-float64-found-dtype-double"),
    ("IndexError: Target 5 is out of bounds.", "cross-entropy-target-out-of-bounds"),
    (
        "IndexError: invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ "
        "to convert a 0-dim tensor to a number",
        "loss-data-index-0-dim",
    ),
    ("TypeError: 'DataLoader' object is not subscriptable", "dataloader-not-subscriptable"),
    ("RuntimeError: DataLoader worker (pid(s) 4242) exited unexpectedly", "dataloader-worker-exited-unexpectedly"),
    (
        "ERROR: Unexpected bus error encountered in worker. This might be caused by insufficient shared memory (shm).",
        "dataloader-bus-error-shared-memory",
    ),
    ("loss is nan after a few epochs", "loss-nan-during-training"),
    ("loss全为0", "loss-always-zero"),
    ("交叉熵 loss 为负数", "cross-entropy-loss-negative"),
]


@pytest.mark.parametrize(("text", "entry_id"), NEAR_MISSES, ids=[e for _, e in NEAR_MISSES])
def test_near_misses_go_to_their_own_entry(index, text, entry_id):
    matches = diagnose(index, text).matches
    assert matches and matches[0].entry.id == entry_id, [(m.entry.id, m.score) for m in matches]


def test_a_query_never_imports_torch(run_cli):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lazarus.cli import main\n"
        "sys.argv = ['lazarus', 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'yaml' not in sys.modules, 'the cached index should not need yaml'\n"
        "print('clean')\n"
    )
    run_cli("warm the cache")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_cli.env, timeout=60)
    assert result.stdout.strip().endswith("clean"), result.stderr


def test_a_gans_loss_names_are_its_words(index):
    # pix2pix and DCGAN print their losses as Loss_D / Loss_G and errD / errG: one-letter names
    # that reached no entry before they were read as the discriminator's and generator's losses
    from lazarus.query.normalize import normalize, tokens

    words = tokens(normalize("Loss_D: 0.0000 Loss_G: 34.5991, errD errG"))
    assert {"discriminator", "generator", "loss"} <= set(words)
    assert "gloss" in tokens(normalize("the gloss of a rendered image"))
    text = "after 200 epochs Loss_D is 0.0000 and Loss_G keeps going up, the generated images are bad"
    assert diagnose(index, text).matches[0].entry.id == "gan-discriminator-wins-generator-collapses"


def test_a_fuzzy_answers_likelihood_weighs_every_other_entry_and_no_entry(index):
    from lazarus.query.match import confidence, likelihoods

    assert max(likelihoods({1: 70.0, 2: 70.0}).values()) < 0.5  # two that fit as well: neither
    assert likelihoods({1: 78.0, 2: 60.0, 3: 58.0})[1] > 0.9
    assert likelihoods({1: 47.0})[1] < 0.7  # alone, but hardly above "no entry"
    first = diagnose(index, "validation accuracy is higher than training accuracy, I use dropout").matches[0]
    assert first.entry.id == "validation-better-than-training"
    assert first.likelihood > 0.9 and confidence(first) == "likely"


def test_a_value_of_zero_is_the_word_zero(index):
    # "always 0" gave no word at all (a lone digit, "always" a stop word), so a question about a
    # loss stuck at 0 was ranked on "loss" and "training" and went to the entry about nan
    from lazarus.query.normalize import normalize, tokens

    assert "zero" in tokens(normalize("the loss drops to 0 after two epochs"))
    assert "zero" in tokens(normalize("{'loss': 0.0, 'grad_norm': nan}"))
    assert "zero" not in tokens(normalize("loss: 0.53, accuracy 0.9, gpu 0"))
    text = "Why is the loss during the training process always 0?"
    assert diagnose(index, text).matches[0].entry.id == "loss-always-zero"


def test_word_forms_share_one_key():
    from lazarus.query.normalize import normalize, stem, tokens

    assert len({stem(w) for w in ("predicts", "predicted", "predicting")}) == 1
    assert stem("imbalanced") == stem("imbalance")
    assert stem("class") == "class" and stem("loss") == "loss"  # a double s is not a plural
    # comparatives: "DDP is slower than one GPU" is about being slow
    assert stem("slower") == stem("slow") and stem("bigger") == stem("big")
    assert stem("workers") == stem("worker") == stem("work")
    assert tokens(normalize("Can't reproduce; it won't converge")) == ["cannot", "reproduc", "converg"]
    assert tokens(normalize("The loss doesn't decrease on GPU0")) == ["loss", "nodecreas", "gpu", "0"]  # not a decrease
    # "acc" is how logs and questions write accuracy ("test ACC", val_acc): the entries' word
    accuracy = ["test", "accuracy", "high", "than", "val", "accuracy"]
    assert tokens(normalize("test ACC is higher than val_acc")) == accuracy
    # Chinese is cut into words, never into pairs across two words (存一, 候显, 存爆)
    assert tokens(normalize("显存一直增长")) == ["显存", "一直", "增长"]
    assert tokens(normalize("验证的时候显卡爆了")) == ["验证", "时候", "显卡", "爆"]
    # ... and words for one symptom are one: 显存爆了 / 爆显存 / 显存不够 are 显存不足 (out of memory),
    # 无法收敛 is 不下降, 跳动 is 震荡, GPU 使用率 is GPU 利用率, batchsize is batch_size
    out_of_memory = ["验证", "时候", "显存", "不足"]
    assert tokens(normalize("验证的时候显存爆了")) == tokens(normalize("验证的时候爆显存")) == out_of_memory
    assert tokens(normalize("显存不够用")) == tokens(normalize("显存溢出")) == tokens(normalize("显存不足"))
    assert tokens(normalize("loss无法收敛")) == tokens(normalize("loss不下降"))
    assert tokens(normalize("loss一直跳动")) == tokens(normalize("loss一直震荡"))
    assert tokens(normalize("GPU使用率很低")) == tokens(normalize("gpu 利用率很低"))
    assert tokens(normalize("my gpu util is low")) == tokens(normalize("GPU utilization is low"))
    # time that grows is speed that falls
    slower = tokens(normalize("training is slower"))
    assert tokens(normalize("training time is increasing")) == tokens(normalize("training takes longer")) == slower
    assert "batch_size" in tokens(normalize("batchsize都改成8")) and "batch_size" in tokens(normalize("batch size 8"))
    assert tokens(normalize("训练集准确率很高")) == ["训练集", "训练", "准确率", "准确", "很", "高"]
    # Chinese words for one change, one key: memory that 增加 / 上涨 grows (增长)
    assert tokens(normalize("显存一直上涨")) == tokens(normalize("显存一直增加")) == tokens(normalize("显存一直增长"))


def test_a_chinese_question_about_growing_gpu_memory_finds_the_leak(index):
    # https://github.com/laisimiao/Unet/issues/4 (title and question)
    text = "显存增加\n您好，随着训练的进行，显存持续增长是什么原因造成的。"
    matches = diagnose(index, text).matches
    assert matches and matches[0].entry.id == "loss-tensor-keeps-graph-alive", [(m.entry.id, m.score) for m in matches]


def test_a_quoted_message_without_its_class_is_matched(index):
    from tests.query.test_extract import QUOTED_WITHOUT_CLASS

    matches = diagnose(index, QUOTED_WITHOUT_CLASS).matches
    assert matches and matches[0].via == "signature", [(m.entry.id, m.score) for m in matches]
    assert matches[0].entry.id == "bce-target-size-mismatch"
    assert matches[0].report.line.startswith("Using a target size")


def test_search_and_diagnose_need_no_typer(run_cli, tmp_path):
    import subprocess
    import sys

    log = tmp_path / "train.log"
    log.write_text(
        'Traceback (most recent call last):\n  File "t.py", line 1, in <module>\n'
        "ValueError: Expected more than 1 value per channel when training\n"
    )
    code = (
        "import sys\n"
        "from lazarus.cli import main\n"
        f"sys.argv = ['lazarus', sys.argv[1], {str(log)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'typer' not in sys.modules, 'typer imported'\n"
        "print('clean')\n"
    )
    run_cli("warm the cache")
    for command in ("diagnose", "search"):
        result = subprocess.run(
            [sys.executable, "-c", code, command], capture_output=True, text=True, env=run_cli.env, timeout=60
        )
        assert result.stdout.strip().endswith("clean"), result.stderr
        assert "batchnorm-batch-of-one" in result.stdout or command == "search"


def test_another_frameworks_gpu_error_gets_no_fuzzy_answer(index):
    from lazarus.query.extract import extract
    from lazarus.query.match import rank

    # XLA's out-of-memory message as JAX prints it: CUDA words, not our remedy.
    text = "jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate 4.00GiB"
    assert not rank(index, extract(text), fuzzy=False)
    assert not diagnose(index, text).matches
    # The same words with torch named are ours to answer.
    assert diagnose(index, "torch: " + text.split(": ", 1)[1]).matches


def test_typographic_quotes_from_a_forum_post_still_hit_the_signature(index):
    # A discuss.pytorch.org post: the forum turned the quotes of the message typographic.
    text = (
        "When debugging, i got this error, Runtime, shape \u2018[-1, 400]\u2019 is invalid for input of size 384. "
        "I tried different values, but can\u2019t find the correct value."
    )
    matches = diagnose(index, text).matches
    assert matches and matches[0].via == "signature", [(m.entry.id, m.score) for m in matches]
    assert matches[0].entry.id == "view-shape-invalid-for-input-size"
    assert "'[-1, 400]'" in matches[0].report.line


# One message, two causes (tests/fixtures/same_message/README.md has the scripts that printed
# them under torch 2.13): the code that raised tells them apart.
SAME_MESSAGE = [
    ("inplace-add-into-int64.log", "inplace-op-integer-result-cast"),
    ("bce-int64-labels.log", "loss-target-integer-expected-float"),
]


@pytest.mark.parametrize("name, entry_id", SAME_MESSAGE)
def test_the_code_that_raised_tells_apart_one_message_with_two_causes(index, name, entry_id):
    from tests.conftest import FIXTURES

    matches = diagnose(index, (FIXTURES / "same_message" / name).read_text(encoding="utf-8")).matches
    hits = {m.entry.id for m in matches if m.via == "signature"}
    assert hits >= {entry for _, entry in SAME_MESSAGE}
    assert matches[0].entry.id == entry_id, [(m.entry.id, m.strength) for m in matches]


def test_weights_only_failing_on_a_git_lfs_pointer_names_the_pointer_not_the_weights_only_default(index):
    from tests.conftest import FIXTURES

    log = (FIXTURES / "same_message" / "lfs-pointer-weights-only.log").read_text(encoding="utf-8")
    matches = diagnose(index, log).matches
    # the message announces its last line with a colon and a blank line: that line is still the message
    assert matches[0].report is not None and matches[0].report.text.endswith("Unsupported operand 118")
    hits = [m.entry.id for m in matches if m.via == "signature"]
    assert hits[:2] == ["torch-load-corrupt-or-not-a-checkpoint", "torch-load-weights-only-unpickling-error"]


def test_a_slip_of_a_letter_in_a_word_of_the_trade_is_that_word(index):
    from lazarus.query.match import slip_of

    assert [slip_of(w) for w in ("memroy", "accuarcy", "gradeint", "modle")] == [
        "memory",
        "accuracy",
        "gradient",
        "model",
    ]
    # short words, words that begin otherwise and words that are already words stay as they are
    assert [slip_of(w) for w in ("mask", "xmodel", "dataset")] == [None, None, None]
    right = diagnose(index, "gpu memory keeps increasing every iteration until out of memory").matches
    slipped = diagnose(index, "gpu memroy keeps increasing every iteration until out of memroy").matches
    assert [m.entry.id for m in slipped] == [m.entry.id for m in right]


def test_killed_in_markdown_or_after_chinese_still_hits_the_signature(index):
    # https://github.com/InternLandMark/LandMark/issues/61: the issue shows the log's last line in bold
    text = (
        '"Killed" error in the training process\n'
        "Training with a single process on 1 GPUs.\n"
        "100%|#####| 837/837 [07:11<00:00,  1.94it/s]\n"
        "train poses bds tensor([-6.9000,  3.9000,  2.0000]) tensor([6.9000, 7.4000, 2.0000])\n"
        "**Killed**\n\n"
        'I wanna train the block_E of MatrixCity dataset, but error "Killed" come out soon after loaded the dataset.\n'
    )
    matches = diagnose(index, text).matches
    assert [(m.entry.id, m.via) for m in matches[:1]] == [("host-ram-oom-killed", "signature")]
    assert matches[0].report.line == "**Killed**"
    # the words right before it may be Chinese ("进程被Killed"); "killed by signal: Killed" is a worker's
    assert diagnose(index, "训练到一半进程被Killed").matches[0].via == "signature"
    worker = "RuntimeError: DataLoader worker (pid 4242) is killed by signal: Killed."
    assert diagnose(index, worker).matches[0].entry.id != "host-ram-oom-killed"


# ---------------------------------------------------------------- right or silent (issue 11)


def test_a_fragment_of_a_known_message_is_one_known_answer(index):
    # the design's own example: part of torch's message, without its class or its numbers
    matches = diagnose(index, "Expected more than 1 value per channel").matches
    assert [m.entry.id for m in matches] == ["batchnorm-batch-of-one"]
    assert matches[0].via == "fragment" and matches[0].score >= 80


def test_a_generic_python_message_is_no_fragment_of_a_specific_entry(index):
    # an entry whose example is `glob(...)[0]` then this message is about that code, not any IndexError
    assert not diagnose(index, "IndexError: list index out of range").matches


def test_a_slip_of_a_letter_still_names_the_message(index):
    # https://github.com/jackaduma/CycleGAN-VC2/issues/10 (a Chinese input method's punctuation, a lost space)
    text = "RuntimeError： Attempting todeserialize object on a CUDA device but torch。cuda.is_available() is False。"
    assert [m.entry.id for m in diagnose(index, text).matches][:1] == ["load-cuda-checkpoint-without-gpu"]


def test_another_name_in_place_of_the_messages_is_not_a_slip(index):
    # the torch entry knows "No module named 'torch'"; a missing cv2 is another problem
    ids = [m.entry.id for m in diagnose(index, "ModuleNotFoundError: No module named 'cv2'").matches]
    assert "torch-not-installed-in-this-python" not in ids


@pytest.mark.parametrize("text", ["show me the error", "git push was rejected again", "why is my build slow"])
def test_words_with_no_sign_of_pytorch_get_no_answer_by_resemblance(index, text):
    assert not diagnose(index, text).matches


def test_a_fuzzy_guess_far_behind_the_first_is_not_shown(index):
    from lazarus.query.match import FOLLOW_UP_GAP

    for text in ("loss is nan after a few epochs", "训练时显存一直增加", "my model predicts the same class"):
        matches = diagnose(index, text, limit=10).matches
        assert matches and all(m.strength >= matches[0].strength - FOLLOW_UP_GAP for m in matches)


def test_a_long_description_scored_low_still_gets_its_possibilities(index):
    # Its words are spread over many entries (390s per epoch, then 890s, then 1200s): the first
    # match scores about 51, under the 55 that used to hide every possibility of a description.
    text = development_text("heldout4", "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix/issues/281")
    matches = diagnose(index, text).matches
    assert matches and matches[0].score < 55 and matches[0].ambiguous
    assert "training-slows-down-over-time" in [m.entry.id for m in matches]


def test_a_title_line_does_not_outrank_what_the_whole_question_is_about(index):
    # title: "GPU utilisation stays at 100 % for a long time"; the question: after some epochs the
    # utilisation reaches 100 % and training goes no further, it hangs
    text = development_text("heldout6", "https://github.com/scu-zjz/IMDLBenCo/issues/66")
    assert diagnose(index, text).matches[0].entry.id == "training-hangs-without-error"


# Lines from real training logs (karpathy/nanoGPT#215, deepinsight/insightface#2262, a pose
# machine repository's issue #2, all in tests/eval/heldout5) and a plain loop's print.
@pytest.mark.parametrize(
    "line",
    [
        "2023-03-22 09:32:52 iter 3010: loss nan, time 1019.95ms, mfu 14.12%",
        "Training: 2023-03-14 09:08:43,293-Speed 2178.40 samples/sec   Loss nan   LearningRate 0.001000",
        "Step:    60 Train Epoch:   1 [ 240/11000 (2.2%)]    Loss: nan [28.90s every  120 data]",
        "epoch 3 | loss=nan | acc 0.10",
    ],
)
def test_a_training_log_that_prints_a_nan_loss_is_the_nan_loss(index, line):
    matches = diagnose(index, line).matches
    assert matches and matches[0].entry.id == "loss-nan-during-training" and matches[0].via == "signature"


def test_the_numbers_of_a_description_are_not_its_words(index):
    from lazarus.query.match import query_words

    # Sizes and counts ("batchsize 8", "640", next to Chinese where no word boundary masks them)
    # differ in every question; they said nothing about which entry fits, only diluted the words
    # that do.
    words = query_words(index, "训练报错显存不足，参数batchsize都改成8，单卡训练，图像大小640。", as_error=False)
    assert not [w for w in words if w.isdigit()], words
    assert {"显存", "不足", "单卡", "batch_size"} <= set(words)
    # nor what normalising made of them: "200000 iterations" and "a loss of 0.25" share "<num>"
    words = query_words(index, "after 200000 iterations the loss of 0.25 on /data/train/x.png stays", as_error=False)
    assert {"<num>", "<path>"}.isdisjoint(words), words
    assert {"iteration", "loss"} <= set(words)


@pytest.mark.parametrize("operand", [10, 60, 118, 123])
def test_a_weights_only_failure_on_a_file_that_is_not_a_pickle_is_the_corrupt_file(index, operand):
    # torch 2.6's weights-only unpickler stops at the first byte of an HTML page ('<', 60), a git-lfs
    # pointer ('v', 118), JSON ('{', 123) or a text file's newline (10): none is a pickle opcode, so
    # the file is not a checkpoint; an allowlist failure names a global instead
    message = (
        "_pickle.UnpicklingError: Weights only load failed. Re-running `torch.load` with `weights_only` set to"
        " `False` will likely succeed, but it can result in arbitrary code execution. Please file an issue with"
        " the following so that we can make `weights_only=True` compatible with your use case: WeightsUnpickler"
        f" error: Unsupported operand {operand}"
    )
    assert [m.entry.id for m in diagnose(index, message).matches][:1] == ["torch-load-corrupt-or-not-a-checkpoint"]
    allowlist = (
        "_pickle.UnpicklingError: Weights only load failed. WeightsUnpickler error: Unsupported global:"
        " GLOBAL argparse.Namespace was not an allowed global by default."
    )
    assert [m.entry.id for m in diagnose(index, allowlist).matches][:1] == ["torch-load-weights-only-unpickling-error"]


def test_torch_2_3s_plan_failed_warning_is_not_a_cudnn_error(index):
    # the warning's words after "Plan failed with a" are read as a cudnnException's message; the
    # cuDNN status entry's signature for a real cudnnFinalize failure must not take it
    warning = (
        "UserWarning: Plan failed with a cudnnException: CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: cudnnFinalize"
        " Descriptor Failed cudnn_status: CUDNN_STATUS_NOT_SUPPORTED (Triggered internally at"
        " ../aten/src/ATen/native/cudnn/Conv_v8.cpp:919.)"
    )
    assert diagnose(index, "Issue:\n" + warning.removeprefix("UserWarning: ")).matches[0].entry.id == (
        "cudnn-plan-failed-warning-torch-2-3"
    )
    error = (
        "RuntimeError: CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR: cudnnFinalize Failed"
        " cudnn_status: CUDNN_STATUS_BAD_PARAM"
    )
    assert diagnose(index, error).matches[0].entry.id == "cudnn-status-error"


def test_a_signature_that_needs_several_lines_of_the_paste_is_a_known_error(index):
    # ComfyUI_LayerStyle#499 (tests/eval/heldout3): torch 2.6's message printed without its class,
    # over three lines; only the whole paste holds both "Weights only load failed" and the
    # "Unsupported operand 10" that says the file is not a checkpoint
    text = development_text("heldout3", "ComfyUI_LayerStyle/issues/499")
    assert "Unsupported operand 10" in text and not text.lstrip().startswith("_pickle")
    assert diagnose(index, text).matches[0].entry.id == "torch-load-corrupt-or-not-a-checkpoint"


@pytest.mark.parametrize(
    "message, entry",
    [
        # a custom CUDA extension's kernel named for the GPU (heldout2: FullAtomModel's Coords2CenterGPU)
        ("RuntimeError: \"Coords2CenterGPU_forward\" not implemented for 'Half'", "half-op-not-implemented-on-cuda"),
        ("RuntimeError: \"nms_kernel_cuda\" not implemented for 'BFloat16'", "half-op-not-implemented-on-cuda"),
        ("RuntimeError: \"addmm_impl_cpu_\" not implemented for 'Half'", "half-op-not-implemented-on-cpu"),
    ],
)
def test_a_half_kernel_missing_on_the_gpu_is_told_from_one_missing_on_the_cpu(index, message, entry):
    assert diagnose(index, message).matches[0].entry.id == entry


def test_torch_1_x_collate_stacking_error_is_told_from_a_cat_by_the_code_that_raised(index):
    # professor_forcing#1 (tests/eval/heldout7): torch <= 1.4 printed cat's wording for the stack in
    # default_collate; the line that raised ("return torch.stack(batch, 0, out=out)") says which
    text = development_text("heldout7", "professor_forcing/issues/1")
    assert "return torch.stack(batch, 0, out=out)" in text
    assert diagnose(index, text).matches[0].entry.id == "stack-expects-equal-size"
    by_cat = text.replace("return torch.stack(batch, 0, out=out)", "x = torch.cat([a, b], 0)")
    assert diagnose(index, by_cat).matches[0].entry.id == "cat-sizes-must-match"


def test_a_bus_error_message_wrapped_onto_two_lines_is_still_the_shared_memory_one(index):
    # kraken#699 (tests/eval/heldout4): "DataLoader worker (pid N) is killed by signal:" and "Bus
    # error. It is possible that dataloader's workers are out of shared memory." on two lines
    text = development_text("heldout4", "mittagessen/kraken/issues/699")
    assert "killed by signal:\nBus error" in text
    assert diagnose(index, text).matches[0].entry.id == "dataloader-bus-error-shared-memory"


def test_torchs_out_of_memory_class_names_the_failure_in_a_message_cut_short(index):
    # hiyouga/LlamaFactory/issues/2191 (tests/eval/heldout3): "torch.cuda.OutOfMemoryError: CUDA out of memor。"
    # typed by hand, then the asker's Chinese
    text = development_text("heldout3", "hiyouga/LlamaFactory/issues/2191")
    assert "CUDA out of memor。" in text
    assert diagnose(index, text).matches[0].entry.id == "cuda-out-of-memory"


@pytest.mark.parametrize("opset", [15, 17])
def test_an_onnx_opset_newer_than_the_installed_torch_knows_is_torch_too_old(index, opset):
    message = f"ValueError: Unsupported ONNX opset version: {opset}"
    assert diagnose(index, message).matches[0].entry.id == "torch-too-old-for-code"


def test_keras_progress_without_its_bar_is_another_framework(index):
    """fit(verbose=2) prints no bar: "72000/72000 - 354s - loss: ...", after "Train on N samples"
    (shenweichen/DeepCTR#265, held-out set 20, read). Its overfitting question is only a possibility."""
    from lazarus.query.match import confident, other_framework

    text = development_text("heldout20", "shenweichen/DeepCTR/issues/265")
    assert other_framework(text)
    assert not confident(diagnose(index, text).matches)
    assert not other_framework("Epoch 3/10 100/100 [00:05<00:00, 19.2it/s] loss: 0.25 - my torch model")
