"""Real environment reports from public threads (tests/fixtures/env, each with its source and what
the thread concluded) diagnosed the way their threads concluded (issue 16)."""

from __future__ import annotations

import pytest
import yaml

from lazarus.environment.paste import read_report
from lazarus.query.match import confident
from lazarus.query.pipeline import diagnose
from tests.conftest import FIXTURES, development_text

ENV = FIXTURES / "env"
REPORTS = yaml.safe_load((ENV / "index.yaml").read_text(encoding="utf-8"))

# The collector's problem keys (what the thread concluded) -> the entry that explains them.
ENTRY_OF = {
    "gpu-arch-unsupported": "cuda-no-kernel-image",
    "torchvision-mismatch": "torchvision-built-for-another-torch",
    "torchaudio-mismatch": "torchvision-built-for-another-torch",
    "no-gpu-visible": "cuda-is-available-false",
    "driver-too-old": "cuda-driver-too-old",
    "cpu-only-torch": "torch-not-compiled-with-cuda",
    "numpy2-abi": "numpy2-abi-mismatch",
    "python-unsupported": "pip-no-matching-torch-wheel",
    "nvcc-mismatch": "cuda-toolkit-for-extension-build",
    "shm-too-small": "dataloader-bus-error-shared-memory",
    "x86-python-on-arm-mac": "x86-python-on-apple-silicon",
    "duplicate-torch": "torch-shadowed-or-broken-install",
}
# Reports whose decisive fact is not in the text lazarus reads, with why. They are still checked
# for wrong environment findings below.
UNDECIDED = {
    "lightning-16124-mps-rosetta-vscode.txt": "says processor i386, not that the Mac is Apple silicon",
    "audio-307-torchaudio-0.3-with-source-torch-1.4a.txt": "a source build of torch 1.4a: no torchaudio pairs with it",
    "audio-3335-pip-list-conda-list-torchaudio-abi.txt": "same versions from pip and conda: the ABI differs",
    "clover-128-user-site-old-torch.txt": "an interactive session printing torch 1.1.0, not the second install",
    "docker-pytorch-27-nvidia-smi-no-gpus-flag.txt": "the host's nvidia-smi beside a container: no torch facts",
    "floydhub-3-docker-without-nvidia-docker.txt": "an IPython session: is_available() False with no report of the GPU",
    "mobileagent-60-nvidia-smi-cpu-torch.txt": "only the driver and Python's version: which torch is not said",
    "comfyui-1712-rocm57-rx6700xt-gfx1031.txt": "ROCm GPU targets (gfx1031) are not checked yet",
}


def expected(report: dict) -> set[str]:
    return {ENTRY_OF[key] for key in report["problems"] if key in ENTRY_OF}


def text_of(report: dict) -> str:
    return (ENV / report["file"]).read_text(encoding="utf-8")


DECIDED = [r for r in REPORTS if r["problems"] and expected(r) and r["file"] not in UNDECIDED]


def test_the_fixtures_are_real_reports_with_sources():
    assert len(REPORTS) >= 20
    for report in REPORTS:
        assert report["source"].startswith("https://"), report["file"]
        assert (ENV / report["file"]).is_file()


def answered_as_concluded(index, report: dict) -> bool:
    """The first answer is a confident one (not a possibility) and its entry is the verdict's."""
    matches = diagnose(index, text_of(report)).matches
    return confident(matches) and matches[0].entry.id in expected(report)


@pytest.mark.parametrize("report", DECIDED, ids=[r["file"] for r in DECIDED])
def test_a_report_is_answered_as_its_thread_concluded(index, report):
    assert answered_as_concluded(index, report)


def test_at_least_twenty_reports_are_diagnosed_as_their_threads_concluded(index):
    right = [r for r in DECIDED if answered_as_concluded(index, r)]
    fine = [r for r in REPORTS if not r["problems"] and not diagnose(index, text_of(r)).environment]
    assert len(right) + len(fine) >= 20


@pytest.mark.parametrize("report", REPORTS, ids=[r["file"] for r in REPORTS])
def test_no_report_fails_a_check_its_thread_did_not_conclude(index, report):
    failed = {finding.entry_id for finding in diagnose(index, text_of(report)).environment}
    assert failed <= expected(report)


@pytest.mark.parametrize(
    "name,facts",
    [
        (
            "pytorch-150733-sm120-rtx5090d.txt",
            {"torch": "2.6.0+cu126", "torch_cuda": "12.6", "gpu_capability": "12.0", "gpu_arch_supported": False},
        ),
        ("detectron2-3351-torchvision-0.7-with-torch-1.9.txt", {"torchvision": "0.7.0", "torch_installs": 2}),
        (
            "sdnext-3531-pip-show-torch-torchvision-mismatch.txt",
            {"torch": "2.4.0+cu121", "torchvision": "0.20.1+cu124"},
        ),
        ("stit-pr17-torch170-torchvision041.txt", {"torch": "1.7.0", "torchvision": "0.4.1"}),
        ("fooocus-1313-nvidia-smi-470-driver-too-old.txt", {"driver": "470.86", "nvidia_gpu": True}),
        ("researchprogress-11-nvcc-10.1-vs-torch-cu121.txt", {"nvcc": "10.1"}),
    ],
)
def test_the_facts_read_from_each_format(name, facts):
    read = read_report((ENV / name).read_text(encoding="utf-8"))
    assert {k: read.get(k) for k in facts} == facts


def test_text_with_no_report_has_no_facts():
    assert read_report("RuntimeError: CUDA error: no kernel image is available for execution on the device") == {}
    assert read_report("loss is nan after a few epochs, I use torch and numpy") == {}


def test_a_check_of_one_activity_answers_only_a_text_about_that_activity(index):
    """nvcc differing from torch's CUDA breaks extension builds only (its check says `alone:
    false`). A collect_env report pasted under a question about a slowdown (pytorch/pytorch#19953,
    from held-out set 20, read) gets no confident answer from it, only a possibility; the same
    report under a real extension-build failure (the fixture above) is answered by it."""
    slower = development_text("heldout20", "pytorch/pytorch/issues/19953")
    asked = diagnose(index, slower, limit=5)
    assert [f.entry_id for f in asked.environment] == ["cuda-toolkit-for-extension-build"]
    assert not confident(asked.matches)
    assert "cuda-toolkit-for-extension-build" in [m.entry.id for m in asked.matches]
    build = text_of(next(r for r in REPORTS if r["file"].startswith("researchprogress-11")))
    report = slower[slower.index("## Environment") :]
    built = diagnose(index, build + "\n" + report).matches
    assert confident(built) and built[0].entry.id == "cuda-toolkit-for-extension-build"
    assert built[0].finding is not None  # the answer says what is wrong in the user's versions
