"""Answers in the user's own values (issue 16): what a signature captured fills the entry's fix_here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lazarus.kb.load import check_entry_data
from lazarus.query.pipeline import diagnose
from lazarus.ui.render import fix_here
from tests.conftest import FIXTURES, KB


def first(index, name: str):
    text = (FIXTURES / "logs" / name).read_text(encoding="utf-8")
    return diagnose(index, text).matches[0]


@pytest.mark.parametrize(
    "log,entry,english,chinese",
    [
        # https://github.com/VICO-UoE/MTPSL/issues/3: (1x2 and 6x64)
        ("mat1-mat2-shapes-mtpsl.log", "linear-in-features-mismatch", "nn.Linear(2, 64)", "每个样本有 2 个特征"),
        ("target-out-of-bounds-colab.log", "cross-entropy-target-out-of-bounds", "labels is 5", "标签里有 5"),
        ("cuda-oom-tensorboard-sigterm.log", "cuda-out-of-memory", "asked for 96.00 MiB", "还需要 96.00 MiB"),
        # logs with a "# source:" first line say where they come from; the others are in logs/index.yaml
        (
            "state-dict-size-mismatch.log",
            "state-dict-size-mismatch",
            "mes_net.cov_net.4.weight with shape [64, 32, 5] but your model builds it as [32, 32, 5]",
            "mes_net.cov_net.4.weight 的形状是 [64, 32, 5]",
        ),
        (
            "state-dict-renamed-classifier-mvdet.log",
            "state-dict-keys-renamed",
            '"map_classifier.0.weight" where your checkpoint has "world_classifier.0.weight"',
            '权重文件里是 "world_classifier.0.weight"',
        ),
        (
            "state-dict-module-prefix.log",
            "state-dict-module-prefix",
            'k.removeprefix("module.")',
            '"module.projection.0.weight"',
        ),
        (
            "no-kernel-image-sm86-warning.log",
            "cuda-no-kernel-image",
            "Your GPU is sm_86, and the installed torch has kernels only for sm_37 sm_50 sm_60 sm_70",
            "你的 GPU 是 sm_86",
        ),
        (
            "mat1-mat2-double-float-scarches.log",
            "numpy-float64-input-float32-model",
            "Your input is Double and the layer's weights are Float",
            "你的输入是 Double",
        ),
        (
            "mat1-mat2-float-c10-half-pulid.log",
            "half-float-dtype-mismatch",
            "Your input is float and the weights it meets are c10::Half",
            "你的输入是 float",
        ),
        (
            "device-mismatch-index-select-conceptexpress.log",
            "tensor-to-device-not-reassigned",
            "on cuda:0 and another on cpu",
            "一个输入在 cuda:0 上，另一个在 cpu 上",
        ),
        (
            "device-mismatch-progress-noise.log",
            "tensor-to-device-not-reassigned",
            "on cuda:0 and another on cpu",
            "在 cuda:0 上",
        ),
        (
            "input-type-weight-type-shell-prompt.log",
            "conv-input-cpu-weight-cuda",
            "input is a torch.cuda.FloatTensor and the layer's weights are torch.FloatTensor",
            "权重是 torch.FloatTensor",
        ),
        (
            "embedding-out-of-table-gpt2-chitchat.log",
            "embedding-index-out-of-range",
            "index 8489 and the embedding table has only 6186 rows",
            "下标 8489，而 embedding 表只有 6186 行",
        ),
        (
            "dataloader-worker-stack-windows.log",
            "stack-expects-equal-size",
            "Sample 0 of your batch has shape [24, 32, 64] and sample 1 has [24, 64, 32]",
            "第 1 个是 [24, 64, 32]",
        ),
        (
            "size-of-tensor-a-promptcblue.log",
            "broadcast-size-mismatch",
            "At dimension 2 one tensor has size 130528 and the other 4096",
            "在第 2 维上，一个张量的大小是 130528，另一个是 4096",
        ),
        (
            "view-shape-invalid-mctformer.log",
            "view-shape-invalid-for-input-size",
            "67968 elements and the shape [-1, 13, 13, 384]",
            "有 67968 个元素，而形状 [-1, 13, 13, 384]",
        ),
        (
            "batch-size-mismatch-tqdm.log",
            "loss-input-target-batch-size-mismatch",
            "predictions for 4 samples and the target holds 1",
            "输出了 4 行预测，而目标有 1 个标签",
        ),
        (
            "index-out-of-bounds-multihot.log",
            "index-out-of-bounds-for-dimension",
            "position 87 along dimension 0, which has only 87 entries",
            "在第 0 维上取下标 87，而这一维只有 87 个元素",
        ),
        (
            "cant-get-attribute-emotic.log",
            "torch-load-cant-get-attribute",
            "pickled Emotic object whose class was defined in the module __main__",
            "Emotic 类",
        ),
        (
            "no-module-einops-pope.log",
            "python-dependency-not-installed",
            'python -c "import einops"',
            "提供 einops 的包",
        ),
        (
            "torch-no-attribute-compiler-kohya.log",
            "torch-too-old-for-code",
            "Your installed torch has no torch.compiler",
            "没有 torch.compiler",
        ),
        (
            "undefined-symbol-torch-scatter-afb-urr.log",
            "extension-built-for-another-torch",
            "library /GPUFS/.conda/envs/tor17/lib/python3.6/site-packages/torch_scatter/_version_cuda.so was built",
            "torch_scatter/_version_cuda.so 是针对另一个 torch",
        ),
        ("numpy2-compiled-numpy1-jupyter.log", "numpy2-abi-mismatch", "you run NumPy 2.0.0", "运行的是 NumPy 2.0.0"),
        (
            "dataloader-killed-by-signal.log",
            "dataloader-worker-exited-unexpectedly",
            'Your worker (pid 19597) was ended by the signal "Killed"',
            '被信号 "Killed" 结束了',
        ),
        (
            "nccl-unhandled-system-error-segmenter.log",
            "nccl-error",
            'NCCL reports "SystemError"',
            'NCCL 报告 "SystemError"',
        ),
        (
            "cross-entropy-long-found-int-video.log",
            "cross-entropy-target-dtype",
            "Your class labels are Int",
            "类别标签是 Int",
        ),
        (
            "conv2d-5d-input-deepfakedefenders.log",
            "conv-input-wrong-number-of-dims",
            "Your input has shape [1, 6, 6, 512, 512] and this layer takes a 4-dimensional batch",
            "形状是 [1, 6, 6, 512, 512]，而这一层要求 4 维",
        ),
        (
            "cat-sizes-unet-skip-transunet.log",
            "cat-sizes-must-match",
            "but one tensor has size 32 where another has 64",
            "一个张量的大小是 32，另一个是 64",
        ),
        (
            "dimension-out-of-range-sphereface.log",
            "dimension-out-of-range",
            "You ask for dimension 1, and your tensor only has the dimensions -1 to 0",
            "你要取第 1 维，而你的张量只有 -1 到 0",
        ),
        (
            "layernorm-normalized-shape-realishuman.log",
            "layernorm-normalized-shape-mismatch",
            "normalized_shape=[1024] and the input has shape [4, 257, 768]",
            "输入形状是 [4, 257, 768]",
        ),
        (
            "rnn-input-size-dialoguegcn.log",
            "rnn-input-size-mismatch",
            "input_size=100 and the last dimension of its input is 250",
            "用 input_size=250 来建它",
        ),
        (
            "lstm-hidden-batch-controlled-generation.log",
            "lstm-hidden-state-batch-mismatch",
            "initial state of size (1, 128, 302)",
            "收到的是 (1, 40, 302)",
        ),
        (
            "timm-unknown-model-deit.log",
            "timm-unknown-model",
            "no model registered as deit_small_patch16_224",
            "名为 deit_small_patch16_224 的模型",
        ),
        (
            "bce-target-size-deprecated-falling.log",
            "bce-target-size-mismatch",
            "Your target has shape [32, 1] and the model output [32, 7]",
            "目标形状是 [32, 1]，模型输出是 [32, 7]",
        ),
        (
            "nvidia-driver-too-old-fooocus.log",
            "cuda-driver-too-old",
            "Your driver reports CUDA version 11040",
            "CUDA 版本是 11040",
        ),
        (
            "glibcxx-not-found-bundlesdf.log",
            "libstdcxx-glibcxx-not-found",
            "has no GLIBCXX_3.4.29",
            "没有 GLIBCXX_3.4.29",
        ),
        (
            "libcudart-not-found-rsbuilding.log",
            "cuda-library-not-found",
            "The loader cannot find libcudart.so.11.0",
            "找不到 libcudart.so.11.0",
        ),
        (
            "torchvision-nms-missing-hallo.log",
            "torchvision-built-for-another-torch",
            "no compiled torchvision::nms",
            "编译的 torchvision::nms",
        ),
        (
            "pool-output-too-small-sknet.log",
            "pool-output-size-too-small",
            "this layer is 1024x4x4 (channels x height x width) and the layer would shrink it to 1024x0x0",
            "缩小成 1024x0x0",
        ),
        (
            "tensor-5-elements-scalar-comfyui.log",
            "item-on-multi-element-tensor",
            "Your tensor holds 5 values",
            "你的张量有 5 个值",
        ),
        (
            "two-gpus-gather-internlm.log",
            "model-split-across-gpus-device-mismatch",
            "on cuda:1 and another on cuda:0",
            "一个张量在 cuda:1 上，另一个在 cuda:0 上",
        ),
    ],
)
def test_real_errors_are_answered_with_their_own_values(index, log, entry, english, chinese):
    match = first(index, log)
    assert match.entry.id == entry
    assert english in fix_here(match, "en")
    assert chinese in fix_here(match, "zh")


def test_the_shape_message_of_the_issue_says_512_256_and_the_layer_to_build(index):
    match = diagnose(index, "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)").matches[0]
    said = fix_here(match, "en")
    assert "512 features" in said and "built for 256" in said and "nn.Linear(512, 10)" in said
    assert "nn.Linear(512, 10)" in fix_here(match, "zh")


def test_json_carries_the_values_and_the_fix_in_them(run_cli):
    result = run_cli("--json", "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)")
    match = json.loads(result.stdout)["matches"][0]
    assert match["values"] == {"rows": "64", "features": "512", "expected": "256", "out": "10"}
    assert "nn.Linear(512, 10)" in match["fix_here"]


def test_the_newer_device_message_gives_the_same_two_devices(index):
    # torch 2.x words it "but got mat1 is on cpu, different from other tensors on cuda:0"
    text = (
        "RuntimeError: Expected all tensors to be on the same device, but got mat1 is on cpu, "
        "different from other tensors on cuda:0 (when checking argument in method wrapper_CUDA_addmm)"
    )
    match = diagnose(index, text).matches[0]
    assert match.entry.id == "tensor-to-device-not-reassigned"
    assert "on cpu and another on cuda:0" in fix_here(match, "en")


def test_without_the_values_the_generic_fix_stands_alone(index):
    # a fragment of the message carries no numbers: no sentence with holes in it
    match = diagnose(index, "mat1 and mat2 shapes cannot be multiplied").matches[0]
    assert match.entry.id == "linear-in-features-mismatch" and fix_here(match, "en") == ""


def test_a_placeholder_no_signature_captures_is_a_kb_problem():
    import yaml

    path = KB / "shape" / "linear-in-features-mismatch.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["fix_here"] = "use {in_channels}"
    problems = check_entry_data(data, Path(path))
    assert ("fix_here", "{in_channels} is captured by no signature: add (?P<in_channels>...) to one") in problems
