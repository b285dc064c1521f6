"""Extraction on real logs copied from public issue threads (sources in tests/fixtures/*/index.yaml)."""

from __future__ import annotations

import pytest
import yaml

from lazarus.query.extract import _unwrapped, clean_lines, extract
from lazarus.query.pipeline import diagnose
from tests.conftest import FIXTURES

LOGS = yaml.safe_load((FIXTURES / "logs" / "index.yaml").read_text(encoding="utf-8"))


def read(folder: str, name: str) -> str:
    return (FIXTURES / folder / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("case", LOGS, ids=[c["file"] for c in LOGS])
def test_the_error_that_matters_comes_first(case):
    reports = extract(read("logs", case["file"]))
    assert reports, "nothing extracted"
    first = reports[0]
    if case["message_start"]:
        assert case["message_start"] in first.text, [r.text[:120] for r in reports[:3]]
    if case["error_type"]:
        assert first.text.startswith(case["error_type"]), first.text[:120]


REVERSED_FRAMES = pytest.mark.xfail(
    strict=True, reason="VS Code prints frames innermost-first; extraction assumes Python's order"
)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=REVERSED_FRAMES) if "vscode-reversed" in c["file"] else c for c in LOGS if c["user_frame"]],
    ids=lambda c: c["file"],
)
def test_the_users_own_frame_is_found(case):
    reports = extract(read("logs", case["file"]))
    assert reports[0].user_frame is not None and reports[0].user_frame.startswith(case["user_frame"])


def test_ansi_colours_and_carriage_returns_are_removed():
    text = "\x1b[31mRuntimeError\x1b[0m: boom\r\n 50%|#####     | 5/10\r100%|##########| 10/10\rdone"
    assert clean_lines(text) == ["RuntimeError: boom", " 50%|#####     | 5/10", "100%|##########| 10/10", "done"]


def test_rank_prefixes_are_stripped():
    log = (
        "[rank0]: Traceback (most recent call last):\n"
        '[rank0]:   File "/work/train_ddp.py", line 88, in <module>\n'
        "[rank0]:     loss.backward()\n"
        "[rank0]: RuntimeError: Expected to have finished reduction in the prior iteration before starting a new one.\n"
    )
    first = extract(log)[0]
    assert first.text.startswith("RuntimeError: Expected to have finished reduction")
    assert first.user_frame == "/work/train_ddp.py:88 in <module>"


def test_pytest_failure_lines():
    log = (
        "    def test_forward():\n"
        ">       model(torch.randn(2, 3))\n"
        "E       RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)\n"
        "\n"
        "tests/test_model.py:12: RuntimeError\n"
    )
    assert extract(log)[0].text == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"


def test_chained_exception_root_comes_first_and_final_follows():
    log = (
        "Traceback (most recent call last):\n"
        '  File "load.py", line 3, in <module>\n'
        "    state = torch.load(path)\n"
        "_pickle.UnpicklingError: Weights only load failed. Re-running `torch.load` with `weights_only` set to "
        "`False` will likely succeed\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "load.py", line 5, in <module>\n'
        "    raise SystemError('could not load')\n"
        "SystemError: could not load\n"
    )
    texts = [r.text for r in extract(log)]
    assert texts[0].startswith("UnpicklingError: Weights only load failed")
    assert texts[1] == "SystemError: could not load"


def test_jupyter_traceback():
    log = (
        "---------------------------------------------------------------------------\n"
        "RuntimeError                              Traceback (most recent call last)\n"
        "Cell In[7], line 3\n"
        "      1 x = torch.randn(4, 10)\n"
        "----> 3 y = layer(x)\n"
        "\n"
        "File ~/miniconda3/lib/python3.11/site-packages/torch/nn/modules/linear.py:116, in Linear.forward(self, x)\n"
        "--> 116     return F.linear(input, self.weight, self.bias)\n"
        "\n"
        "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x10 and 20x5)\n"
    )
    first = extract(log)[0]
    assert first.text == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (4x10 and 20x5)"
    assert first.user_frame is not None and first.user_frame.startswith("Cell In[7], line 3")


def test_prose_is_a_description_not_an_error():
    reports = extract("my model trains but the accuracy is stuck at 10 percent")
    assert [r.kind for r in reports] == ["text"]


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "nontorch").glob("*.log")))
def test_non_torch_logs_still_extract_something(name):
    # Extraction is language-agnostic; it is ranking that must abstain on these.
    assert extract(read("nontorch", name))


# Real texts from public issue threads (sources beside each).
QUOTED_WITHOUT_CLASS = (  # https://github.com/GajuuzZ/Human-Falling-Detect-Tracks/issues/66
    "Hi, when I run Actionsrecognition/train.py, I have a problem at code：\n"
    "`loss = losser(out, lbs)`\n"
    "The ValueError is followed:\n"
    "Using a target size (torch.Size([32, 1])) that is different to the input size (torch.Size([32, 7])) "
    "is deprecated. Please ensure they have the same size. \n\n"
    "Anyone can tell me the cause and the solution to fix it ?\n"
)
PROSE_WITH_KEYWORD = (  # https://github.com/ZHKKKe/DualStudent/issues/7
    "Loss value equals to NAN!\nThx for your marvelous work!\n"
    "I am trying to use your method as my baseline, but I find that if I set the epoch larger than 300, "
    "after the 200 epoch, the loss value will be NAN.\n"
)
NODE_LOG = (  # https://github.com/npm/cli/issues/6438
    "node:internal/modules/cjs/loader:1050\n  throw err;\n  ^\n\n"
    "Error: Cannot find module '/Users/x/Desktop/Project/server/app.js'\n"
    "    at Module._resolveFilename (node:internal/modules/cjs/loader:1047:15)\n"
)


def test_a_short_paste_is_also_kept_whole_for_signatures():
    reports = extract(QUOTED_WITHOUT_CLASS)
    assert reports[0].kind == "mention"  # "The ValueError is followed:" names a class in a sentence
    whole = [r for r in reports if r.kind in ("context", "text") and "Using a target size" in r.text]
    assert whole and whole[0].text.startswith("Hi, when I run")


def test_prose_that_mentions_nan_is_still_a_description():
    kinds = [r.kind for r in extract(PROSE_WITH_KEYWORD)]
    assert "log-line" in kinds and "text" in kinds
    assert any(r.kind == "text" and r.text == "Loss value equals to NAN!" for r in extract(PROSE_WITH_KEYWORD))


def test_a_tools_output_with_keyword_lines_is_not_a_description():
    assert "text" not in [r.kind for r in extract(NODE_LOG)]


def test_a_traceback_after_the_echo_of_ctrl_c():
    text = (
        "^CTraceback (most recent call last):\n"
        '  File "train.py", line 36, in train\n'
        "    for step in loader:\n"
        "KeyboardInterrupt\n"
    )
    reports = extract(text)
    assert reports[0].kind == "exception" and reports[0].text.startswith("KeyboardInterrupt")


def test_another_languages_stack_trace_is_compared_as_an_error():
    # https://github.com/KaarinGaming/PlatformerTutorial/issues/1
    text = (
        "/Users/craigbenjamin/Desktop/Java/IntelliJGitPull/out/production/2D-Platform-Game MainFiles.Main\n"
        'Exception in thread "main" java.lang.NullPointerException\n'
        "\tat Utils.LoadNSave.GetSpriteAtlas(LoadNSave.java:109)\n"
        "\tat MainFiles.Main.main(Main.java:12)\n\n"
        "Process finished with exit code 1\n"
    )
    assert [r.kind for r in extract(text)] == ["output"]


def test_a_traceback_keeps_the_code_that_raised():
    from tests.conftest import FIXTURES

    folder = FIXTURES / "same_message"
    assert extract((folder / "inplace-add-into-int64.log").read_text())[0].code == "data.add_(update[name] / 10)"
    # the user's line and the library's line that raised
    code = extract((folder / "bce-int64-labels.log").read_text())[0].code
    assert code.startswith("loss = criterion(model(x), labels)")
    assert code.endswith("return torch.binary_cross_entropy_with_logits(")


def test_a_one_line_question_with_a_trouble_word_is_a_description():
    # few function words ("an", "and"), but a log line says more than one line of words
    reports = extract("x.permute(0, 2, 1).view(batch, -1) raises an error about size and stride")
    assert [r.kind for r in reports] == ["log-line", "text"]


def test_a_line_of_code_is_not_ranked_as_somebody_s_words():
    # https://github.com/pytorch/pytorch/issues/719 (title and code as the issue shows them)
    text = (
        "Module.zero_grad fails for Parameters with requires_grad=False\n"
        "```python\n"
        "import torch\n"
        "from torch.nn.parameter import Parameter\n"
        "blah.zero_grad()\n"
        "```\n"
    )
    parts = [r.text for r in extract(text) if r.kind == "text"]
    assert "Module.zero_grad fails for Parameters with requires_grad=False" in parts
    assert "import torch" not in parts  # a first line, but its names are not a question's words
    assert len(parts) >= 2


def test_a_link_or_a_line_of_output_is_not_ranked_as_somebody_s_words():
    # https://github.com/huangyangyi/TeCH/issues/42
    text = (
        "Loss becomes nan at the epoch of 28\n"
        "Hi, when I train the geometry, it seems that the loss is nan after epoch 28. "
        "Did I miss some operation to cause this?\n"
        "![image](https://github.com/user-attachments/assets/93d68336-2a4a-4300-a5f8-09a97df0fcfa)\n"
        "Appreciating for your reply!!\n"
    )
    parts = [r.text for r in extract(text) if r.kind == "text"][1:]  # after the whole text
    assert parts[0] == "Loss becomes nan at the epoch of 28" and parts[1].startswith("Hi, when I train")
    assert len(parts) == 2
    # https://github.com/maudzung/RTM3D/issues/4 has a training log right under its first line
    log_start = (
        "Thanks for the great reproduction!\n>>> Epoch: [127/300]\n2020-08-17 21:48:47,912: logger.py - info()\n"
    )
    # (nor is the thanks: a line with no word of the domain is not a part ranked on its own)
    assert [r.text for r in extract(log_start) if r.kind == "text"][1:] == []


def test_a_greeting_is_not_ranked_on_its_own():
    # a forum post's shape: a title, a greeting, then the question
    text = (
        "GPU cached memory increase when training different models in a loop\n\n"
        "Hello all,\n\n"
        "I'm training several models one after the other and my GPU cached memory keeps growing.\n"
    )
    parts = [r.text for r in extract(text) if r.kind == "text"][1:]
    assert parts == [
        "GPU cached memory increase when training different models in a loop",
        "I'm training several models one after the other and my GPU cached memory keeps growing.",
    ]
    # 您好 / 技术环境 say nothing about PyTorch either; 显存 does
    chinese = "显存一直增长\n您好，想请教一下\n训练时显存越来越大，最后 OOM\n"
    parts = [r.text for r in extract(chinese) if r.kind == "text"][1:]
    assert parts == ["显存一直增长", "训练时显存越来越大，最后 OOM"]


# ---------------------------------------------------------------- the shapes real pastes come in

PASTES = FIXTURES / "pastes"


def test_a_rich_box_traceback_reads_as_pythons():
    lines = clean_lines((PASTES / "rich-box-fastchat.log").read_text(encoding="utf-8"))
    at = lines.index("Traceback (most recent call last):")
    assert lines[at + 1 : at + 3] == [
        '  File "G:\\FastChat\\fastchat\\serve\\cli.py", line 132, in <module>',
        "    main(args)",
    ]
    assert not any("│" in line or "╭" in line for line in lines)
    # with the error that followed it, the user's frame is the one rich showed
    report = extract("\n".join(lines + ["RuntimeError: CUDA error: unknown error"]))[0]
    assert report.kind == "exception" and report.user_frame.startswith("G:\\FastChat\\fastchat\\serve\\cli.py")


def test_a_quoted_traceback_is_read_as_one():
    # a traceback quoted in an issue with Markdown's "> " (pytorch/pytorch#3345 quotes its import error
    # so); a REPL prompt (">>> import torch") is not a quote
    log = (
        "Got error:\n"
        "> >>> import torch\n"
        "> Traceback (most recent call last):\n"
        '>   File "/work/train.py", line 12, in <module>\n'
        ">     loss.backward()\n"
        "> RuntimeError: grad can be implicitly created only for scalar outputs\n"
    )
    assert clean_lines(log)[1] == ">>> import torch"
    first = extract(log)[0]
    assert first.kind == "exception" and first.text.startswith("RuntimeError: grad can be implicitly created")
    assert first.user_frame == "/work/train.py:12 in <module>"


def test_a_traceback_indented_as_a_whole_is_read_as_pythons():
    # stable-diffusion-webui indents the whole traceback under "*** Error completing request": its
    # exception line was read as one more line of source code, and nothing was found
    report = extract((PASTES / "webui-indented-traceback.log").read_text(encoding="utf-8"))[0]
    assert report.kind == "exception"
    assert report.text == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (154x2048 and 768x320)"
    assert report.user_frame == "D:\\Programs\\StableSiffusionWEBUI\\modules\\txt2img.py:109 in txt2img"


def test_comfyuis_own_error_formats_are_read():
    # the node failure: the message alone under "Error occurred when executing KSampler:"
    node = extract((PASTES / "comfyui-node-failed.log").read_text(encoding="utf-8"))
    assert [r.text for r in node if r.kind != "text"] == [
        "Error occurred when executing KSampler: mat1 and mat2 shapes cannot be multiplied (154x2048 and 768x320)"
    ]
    # the error report: "- **Exception Type:** RuntimeError" and "- **Exception Message:** ..."
    report = extract((PASTES / "comfyui-error-report.md").read_text(encoding="utf-8"))
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (512x2560 and 12288x4096)" in [
        r.text for r in report
    ]


def test_a_traceback_cut_before_its_exception_line_reads_the_raise_that_failed():
    # the paste stops after the last frame: its `raise AssertionError("...")` holds the message
    reports = extract((PASTES / "facetools-cut-before-exception.log").read_text(encoding="utf-8"))
    assert reports[0].kind == "mention"
    assert reports[0].text == "AssertionError: Torch not compiled with CUDA enabled"
    assert reports[0].user_frame.endswith("comfyui_sunxAI_facetools/utils.py:335 in mask_jonathandinu")
    # cut inside the raise line, what it holds is the message as far as it goes
    cut = (PASTES / "facetools-cut-before-exception.log").read_text(encoding="utf-8").replace('CUDA enabled")\n```', "")
    assert extract(cut)[0].text == "AssertionError: Torch not compiled with"


def test_frames_are_nobodys_words():
    # an excerpt that ends inside the frames: its paths and calls were ranked as a description
    assert extract((PASTES / "vllm-cut-traceback.log").read_text(encoding="utf-8")) == []


def test_a_question_with_a_long_command_is_read_as_the_question():
    # the shape of LLaMA-Factory questions: a sentence that begins with the launcher's name, then
    # the command split over lines with "\\"; the command's flags made it read as a tool's output
    question = "deepspeed 多卡训练时程序卡住不动，单卡可以正常训练"
    command = ["deepspeed --include localhost:0,1 src/train_bash.py \\"]
    command += [f"    --{flag} {value} \\" for flag, value in [("stage", "sft"), ("lora_rank", 8), ("fp16", True)] * 8]
    command += ["    --output_dir out"]
    reports = extract("\n".join([question, "下面是训练命令：", "```", *command, "```"]))
    assert reports and all(r.kind == "text" for r in reports)
    assert reports[0].text.startswith(question) and "--lora_rank" not in reports[0].text
    # a sentence that begins with a tool's name is somebody's words, not a command
    assert extract("pip install fails when building the wheel for my extension")[0].kind == "text"


def test_a_resolvers_tree_arrow_is_not_a_box_border():
    # uv prints its reason under "╰─▶", which begins like the bottom border of rich's box
    # (astral-sh/uv's resolver output, as pasted in pip-no-matching-torch-wheel's example)
    lines = clean_lines(
        "× No solution found when resolving dependencies:\n"
        "╰─▶ Because torch==2.6.0 has no wheels with a matching platform tag (e.g., `macosx_15_0_x86_64`)"
        " and you require torch==2.6.0, we can conclude that your requirements are unsatisfiable."
    )
    assert lines[1].startswith("Because torch==2.6.0 has no wheels with a matching platform tag")
    assert clean_lines("╰──────────────────────╯") == []


def test_launcher_and_logging_prefixes_are_dropped():
    lines = clean_lines((PASTES / "horovod-prefixes-uniter.log").read_text(encoding="utf-8"))
    assert lines[1] == "  device: cuda:0 n_gpu: 2, rank: 0, 16-bits training: True"
    assert not any("<stderr>" in line or "INFO" in line for line in lines)
    stamped = clean_lines((PASTES / "horovod-timestamps.log").read_text(encoding="utf-8"))
    assert stamped[-1] == "User function raise error: 2 root error(s) found."


def test_a_traceback_flattened_onto_one_line_is_read_as_the_original():
    original = read("logs", "mat1-mat2-shapes-mtpsl.log")
    flat = " ".join(line.strip() for line in original.splitlines() if line.strip())
    before, after = extract(original)[0], extract(flat)[0]
    assert after.kind == "exception" and after.text == before.text
    assert after.user_frame == before.user_frame


def test_a_flattened_traceback_pasted_from_its_middle_is_still_a_traceback():
    # Forums flatten a paste, and people copy from the frames they think matter: no header.
    original = read("logs", "mat1-mat2-shapes-mtpsl.log")
    frames = original[original.index('File "') :]
    flat = " ".join(line.strip() for line in frames.splitlines() if line.strip())
    assert "Traceback" not in flat and flat.count('File "') > 1
    before, after = extract(original)[0], extract(flat)[0]
    assert after.kind == "exception" and after.text == before.text
    assert after.user_frame == before.user_frame


def test_a_message_that_announces_more_does_not_swallow_the_log_after_it():
    # a message ending in a colon goes on after one blank line; after several, the log goes on
    from tests.conftest import FIXTURES

    weights_only = (FIXTURES / "same_message" / "lfs-pointer-weights-only.log").read_text(encoding="utf-8")
    cut = weights_only[: weights_only.index("WeightsUnpickler error:") + len("WeightsUnpickler error:")]
    later = read("logs", "mat1-mat2-shapes-mtpsl.log")
    reports = extract(cut + "\n\n\n\n" + later)
    assert extract(later)[0].text in [report.text for report in reports]


def test_one_frame_quoted_on_a_line_is_not_a_flattened_traceback():
    said = 'The error points at File "train.py", line 12, in main and I do not know why the loss is nan'
    reports = extract(said)
    assert "text" in [report.kind for report in reports]
    assert not any("Traceback" in report.text or report.kind == "exception" for report in reports)


def test_a_chinese_title_with_a_gpus_name_is_somebodys_words_not_printed_output():
    # digits are a quarter of its characters, but each Chinese character says as much as a word
    title = "用RTX 3090 24G显存跑微调还是报显存不足"
    reports = extract(f"{title}\n训练相关参数如下\nbatch_size=4 lr=1e-4")
    assert title in [report.text for report in reports if report.kind == "text"]  # ranked on its own


def test_an_issue_templates_headings_are_not_somebodys_words():
    reports = extract((PASTES / "template-slow-gpu.md").read_text(encoding="utf-8"))
    said = " ".join(report.text for report in reports)
    assert "Slow model training with GPU" in said and "Faster training" in said
    for heading in ("Describe the bug", "To Reproduce", "Expected behavior", "Additional context", "Versions"):
        assert heading not in said
    assert "<Paste your code here>" not in said and "```" not in said


def test_a_command_someone_ran_is_not_their_description():
    reports = extract(
        "Training is much slower than reported in the paper.\n$ python train.py --config configs/base.yaml"
    )
    assert [r.text for r in reports if r.kind == "text"][0] == "Training is much slower than reported in the paper."


def test_a_traceback_before_a_flood_of_lines_is_still_found():
    # Work is bounded by lines as well as bytes: a log of very many short lines keeps its head
    # (where the log reader puts a traceback that scrolled out) and its tail.
    traceback = read("logs", "mat1-mat2-shapes-mtpsl.log")
    reports = extract(traceback + "nan\n" * 60_000)
    assert reports[0].text.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")


def test_the_last_of_many_tracebacks_before_a_flood_of_lines_comes_first():
    # issue 14's adversarial log, with a real error as the last traceback: 3,000 empty
    # tracebacks, the real one, then 30,000 lines that each look like trouble ("nan")
    last = read("logs", "mat1-mat2-shapes-mtpsl.log")
    reports = extract("Traceback (most recent call last)\nE\n" * 3000 + last + "nan\n" * 30_000)
    assert reports[0].text.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")


def test_a_long_forum_question_with_code_is_still_a_description():
    # a discuss.pytorch.org question of 31 lines, most of them its training loop (tests/eval/heldout5):
    # its title and sentences are ranked as a description, its code is not
    from tests.conftest import development_text

    text = development_text("heldout5", "/48998")
    assert len([line for line in text.splitlines() if line.strip()]) > 25
    reports = extract(text)
    assert [r.kind for r in reports] and {r.kind for r in reports} == {"text"}
    assert reports[0].text.startswith("GPU cached memory increase when training different models in a loop")
    assert not any("optimizer.step()" in r.text for r in reports)


def test_a_hard_wrapped_log_is_read_as_it_was_printed(index):
    # copied from a terminal 137 columns wide: "Watchdog caught colle" / "ctive operation timeout"
    text = (PASTES / "openr1-hard-wrapped-nccl.log").read_text(encoding="utf-8")
    assert "Watchdog caught colle\n" in text
    assert any("Watchdog caught collective operation timeout" in line for line in clean_lines(text))
    assert any("ran for 1800011 milliseconds before timing out" in line for line in clean_lines(text))
    assert diagnose(index, text).matches[0].entry.id == "nccl-watchdog-timeout"


ALL_PASTES = sorted((FIXTURES / "logs").glob("*.log")) + sorted(PASTES.glob("*.*"))


@pytest.mark.parametrize("path", ALL_PASTES, ids=lambda p: p.name)
def test_only_hard_wrapped_lines_are_joined(path):
    # progress bars, aligned columns and long lines of one width that cut no word in two stay apart
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (_unwrapped(lines) != lines) == (path.name == "openr1-hard-wrapped-nccl.log")


def test_the_question_under_an_error_is_not_part_of_its_message(index):
    text = (PASTES / "smfanet-question-under-error.log").read_text(encoding="utf-8")
    assert extract(text)[0].text == "ModuleNotFoundError: No module named 'torchvision.transforms._functional_tensor'"
    assert diagnose(index, text).matches[0].entry.id == "torchvision-removed-module"


@pytest.mark.parametrize(
    ("name", "message", "entry"),
    [
        ("chatglm3-killed-zh-locale.md", "Killed", "host-ram-oom-killed"),
        ("d2l-segfault-zh-locale.log", "Segmentation fault", "segmentation-fault-no-traceback"),
    ],
)
def test_the_shells_chinese_words_for_a_fatal_signal_are_read_as_the_c_locales(index, name, message, entry):
    text = (PASTES / name).read_text(encoding="utf-8")
    assert diagnose(index, text).matches[0].entry.id == entry
    reports = extract(text)
    assert reports[0].kind == "signal"
    assert message in reports[0].text
    assert "已杀死" in reports[0].line or "段错误" in reports[0].line


def test_settings_are_not_somebodys_words():
    # LLaMA-Factory's template: a title and a question around the YAML of the run's settings
    reports = extract((PASTES / "llamafactory-question-over-config.md").read_text(encoding="utf-8"))
    assert reports and reports[0].kind == "text"
    assert "验证集损失直线上升" in reports[0].text and "验证集损失越来越大" in reports[0].text
    assert "lora_target" not in reports[0].text and "per_device_train_batch_size" not in reports[0].text


def test_a_question_is_somebodys_words():
    # a title and a question with few function words were taken for a program's output
    reports = extract((PASTES / "stylenerf-title-question.md").read_text(encoding="utf-8"))
    assert reports and reports[0].kind == "text"


def test_a_message_ends_where_somebody_goes_on_in_chinese_on_its_line():
    # a Chinese input method's full stop ends the message; the sentence after it is the asker's
    reports = extract("训练时报错 RuntimeError: CUDA error: out of memory。 我把batch size改小了还是不行")
    assert reports[0].kind == "error-line"
    assert reports[0].text == "RuntimeError: CUDA error: out of memory."
    # ... and "Your error:" shows the error, not the sentences around it
    assert reports[0].line == "RuntimeError: CUDA error: out of memory."
    # ... while a message that is itself in Chinese (Windows prints its own in the user's language)
    # is kept whole
    windows = (
        "OSError: [WinError 1455] 页面文件太小，无法完成操作。 "
        'Error loading "C:\\torch\\lib\\c10.dll" or one of its dependencies.'
    )
    assert extract(windows)[0].text == windows


def test_an_exception_message_ends_where_the_next_log_record_starts():
    # yolov5#8591 (tests/eval/heldout12): the traceback's AttributeError is followed by TensorFlow's
    # timestamped dso_loader records and torchrun's WARNING:/ERROR: lines, which are other records
    from tests.conftest import development_text

    text = development_text("heldout12", "ultralytics/yolov5/issues/8591")
    exception = next(r for r in extract(text) if r.kind == "exception")
    assert exception.text == "AttributeError: 'Namespace' object has no attribute 'noplots'"
    glog = "RuntimeError: CUDA error: out of memory\nW0715 16:05:06.789337 1234 init.cc:59] retrying"
    assert extract(glog)[0].text == "RuntimeError: CUDA error: out of memory"
    # a message that goes on over several lines still does
    multi = "RuntimeError: CUDA error: device-side assert triggered\nCompile with `TORCH_USE_CUDA_DSA` to enable."
    assert "TORCH_USE_CUDA_DSA" in extract(multi)[0].text


def test_a_line_that_names_identifiers_but_says_nothing_failed_is_somebodys_words(index):
    # a snake_case name and few "the"/"is" made this one line a message, compared with messages
    # only (a floor of 65), so it got nothing; it is a description of a symptom
    question = "fine-tuned llama never stops generating until max_new_tokens"
    assert [r.kind for r in extract(question)][:1] == ["text"]
    assert diagnose(index, question).matches[0].entry.id == "llm-finetune-never-stops-generating"
    # a line of a tool's output that says it failed is still read as one
    failed = "Failed to build torch-quiver (setup.py build_ext error)"
    assert "text" not in [r.kind for r in extract(failed)]
