"""Facts from an environment report pasted beside an error: `python -m torch.utils.collect_env`
(every format since torch 1.0), `pip list`, `pip freeze`, `conda list`, the `nvidia-smi` header,
and torch's own warnings about the GPU.

Reading is line by line with anchored patterns, so its cost is linear in the text.
"""

from __future__ import annotations

import re

from lazarus.environment.facts import Facts, derive, version_of

# "Key: value" lines of collect_env that carry a fact.
_COLLECT_ENV = re.compile(
    r"^\s*(PyTorch version|CUDA used to build PyTorch|ROCM used to build PyTorch|OS|Python version|"
    r"Python platform|Is CUDA available|CUDA runtime version|GPU models and configuration|"
    r"Nvidia driver version|cuDNN version|HIP runtime version)\s*:\s*(.*?)\s*$"
)
_LIBRARY_LINE = re.compile(r"^\s*\[(?:pip\d?|conda)\]\s+(\S+?)(?:==|\s+)(\S+)")
_PIP_FREEZE = re.compile(r"^\s*([A-Za-z][\w.-]*)==([\w.+!-]+)\s*$")
_PIP_LIST = re.compile(r"^\s*([A-Za-z][\w.-]*)\s{2,}(\d[\w.+!-]*)(?:\s+\S.*)?$")
_CONDA = re.compile(r"^\s*([A-Za-z][\w.-]*)\s+(\d[\w.+!-]*)\s+(\S+)(?:\s+(\S+))?\s*$")
_SMI_HEADER = re.compile(r"NVIDIA-SMI\s+[\d.]+\s+Driver Version:\s*([\d.]+)(?:\s+CUDA Version:\s*([\d.]+))?")
_SMI_GPU = re.compile(
    r"^\|\s+\d+\s+((?:NVIDIA\s+)?(?:GeForce|Tesla|Quadro|TITAN|RTX|A\d|H\d|L\d|T4|V100|P100)[^|]*?)\s+(?:On|Off)\s+\|"
)
_ARCH_WARNING = re.compile(r"with CUDA capability sm_(\d+) is not compatible with the current PyTorch installation")
_ARCH_SUPPORTED = re.compile(r"current PyTorch install supports CUDA capabilities\s+((?:sm_\d+\w?\s*)+)")
_TOO_OLD_GPU = re.compile(r"which is of cuda capability (\d+\.\d+)\. PyTorch no longer supports this GPU")
_DRIVER_TOO_OLD = re.compile(r"The NVIDIA driver on your system is too old")
_NVCC = re.compile(r"Cuda compilation tools, release (\d+\.\d+)")
# "- Torch: 2.2.2+cu118", "* **NumPy**: 1.26.4", "torchvision=0.4.1", "Python: 3.11" (issue templates)
_KEY_VALUE = re.compile(
    r"^(pytorch version|pytorch|torch version|torch|torchvision|torchaudio|numpy|python version|python)"
    r"\s*(?:\(gpu\?\))?\s*(?:==|[:=])\s*v?(\d+(?:\.\d+)+[\w.+-]*)(?:\s.*)?$",
    re.IGNORECASE,
)
_DECORATION = re.compile(r"^[\s>#*`|-]+|[*`]+")
_APPLE_CPU = re.compile(r"^Apple M\d")
_TORCH_NAMES = frozenset({"torch", "pytorch"})
_LIBRARIES = ("numpy", "torchvision", "torchaudio")


def read_report(text: str) -> Facts:
    """The facts an environment report in this text states; empty when it holds none."""
    facts: Facts = {}
    torch_installs: set[str] = set()
    package_lines = 0
    shown_package = ""
    for raw in text.splitlines():
        if len(raw) > 2000:
            continue
        line = _DECORATION.sub("", raw)  # quoted, bulleted, commented or bold pastes
        if _read_collect_env(line, facts) or _read_smi(raw, facts) or _read_warnings(raw, facts):
            continue
        if _APPLE_CPU.match(line):  # collect_env's CPU section on a Mac names the chip
            facts["apple_silicon"] = True
            continue
        if line.startswith("Name: "):  # pip show
            shown_package = line[6:].strip().lower()
            continue
        if line.startswith("Version: ") and shown_package:
            line, shown_package = f"{shown_package}=={line[9:].strip()}", ""
        key_value = _KEY_VALUE.match(line)
        if key_value:
            name = key_value.group(1).lower().replace(" version", "")
            name = "torch" if name == "pytorch" else name
            facts.setdefault(name, key_value.group(2))
            continue
        package = _package(line)
        if package is not None:
            name, version, channel = package
            package_lines += 1
            if name in _TORCH_NAMES:
                torch_installs.add(f"{version}|{channel}")
                facts.setdefault("torch", version)
                _read_conda_build(channel, facts)
            elif name in _LIBRARIES:
                facts.setdefault(name, version)
            elif name == "cpuonly":
                facts["torch_cuda_none"] = True
    if package_lines >= 2 and torch_installs:
        facts["torch_installs"] = len({entry.partition("|")[0].partition("+")[0] for entry in torch_installs})
    return derive(facts) if facts else {}


def _read_collect_env(line: str, facts: Facts) -> bool:
    found = _COLLECT_ENV.match(line)
    if not found:
        return False
    key, value = found.group(1), found.group(2)
    unknown = value in ("", "N/A", "Could not collect", "None", "No CUDA", "No")
    if key == "PyTorch version" and not unknown:
        facts["torch"] = value
    elif key == "CUDA used to build PyTorch":
        if unknown:
            facts["torch_cuda_none"] = True
        else:
            facts["torch_cuda"] = value
    elif key == "ROCM used to build PyTorch" and not unknown:
        facts["rocm_torch"] = True
        facts["rocm"] = value
    elif key == "OS" and not unknown:
        facts["os"] = (
            "windows" if "Windows" in value else "darwin" if "macOS" in value or "Mac OSX" in value else "linux"
        )
        if "(arm64)" in value:
            facts["apple_silicon"] = True
        elif "(x86_64)" in value and facts["os"] != "darwin":
            facts["machine"] = "x86_64"
    elif key == "Python platform" and not unknown:
        if value.startswith("macOS"):
            facts["os"] = "darwin"
            facts["machine"] = "arm64" if "arm64" in value else "x86_64"
    elif key == "Python version" and not unknown:
        facts["python"] = value.split()[0]
    elif key == "Is CUDA available" and value != "N/A":
        facts["cuda_available"] = value in ("True", "Yes")
    elif key == "CUDA runtime version" and not unknown and version_of(value) is not None:
        facts["nvcc"] = value.split()[0]
    elif key == "GPU models and configuration":
        gpu = re.search(r"GPU 0:\s*(.+?)(?:\s*\(UUID.*)?$", value) or (
            re.match(r"(.+)", value) if not unknown else None
        )
        if gpu and not unknown:
            facts["nvidia_gpu"] = True
            facts.setdefault("gpu_name", gpu.group(1))
    elif key == "Nvidia driver version" and not unknown and version_of(value) is not None:
        facts["driver"] = value
        facts["nvidia_gpu"] = True
    elif key == "cuDNN version" and not unknown:
        found_version = re.search(r"(\d+\.\d+\.\d+)", value)
        if found_version:
            facts["cudnn"] = found_version.group(1)
    return True


def _read_smi(line: str, facts: Facts) -> bool:
    header = _SMI_HEADER.search(line)
    if header:
        facts["driver"] = header.group(1)
        facts["nvidia_gpu"] = True
        return True
    gpu = _SMI_GPU.match(line)
    if gpu:
        facts["nvidia_gpu"] = True
        facts.setdefault("gpu_name", gpu.group(1).strip())
        return True
    return False


def _read_warnings(line: str, facts: Facts) -> bool:
    arch = _ARCH_WARNING.search(line)
    if arch:
        digits = arch.group(1)
        facts["gpu_capability"] = f"{digits[:-1]}.{digits[-1]}"
        facts["nvidia_gpu"] = True
        return True
    supported = _ARCH_SUPPORTED.search(line)
    if supported:
        facts["arch_list"] = tuple(supported.group(1).split())
        return True
    if _DRIVER_TOO_OLD.search(line):
        facts["driver_supports_torch_cuda"] = False
        facts["nvidia_gpu"] = True
        return True
    nvcc = _NVCC.search(line)
    if nvcc:
        facts["nvcc"] = nvcc.group(1)
        return True
    old = _TOO_OLD_GPU.search(line)
    if old:
        facts["gpu_capability"] = old.group(1)
        facts["gpu_arch_supported"] = False
        facts["nvidia_gpu"] = True
        return True
    return False


def _package(line: str) -> tuple[str, str, str] | None:
    """(name, version, channel) of a package line from collect_env, pip or conda."""
    for pattern in (_LIBRARY_LINE, _PIP_FREEZE):
        found = pattern.match(line)
        if found:
            return found.group(1).lower(), found.group(2), "pip"
    found = _CONDA.match(line)
    if found and not found.group(3)[0].isdigit():
        return found.group(1).lower(), found.group(2), found.group(3) + " " + (found.group(4) or "")
    found = _PIP_LIST.match(line)
    if found:
        return found.group(1).lower(), found.group(2), "pip"
    return None


def _read_conda_build(channel: str, facts: Facts) -> None:
    """A conda build string says whether torch has CUDA: py3.9_cuda11.7_cudnn8.5.0_0 or cpu_py39."""
    cuda = re.search(r"cuda(\d+)\.(\d+)", channel)
    if cuda:
        facts.setdefault("torch_cuda", f"{cuda.group(1)}.{cuda.group(2)}")
    elif re.match(r"cpu_|py\d+\.?\d*_cpu", channel):
        facts["torch_cuda_none"] = True
