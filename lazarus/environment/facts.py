"""Facts about an environment, by name, and the facts derived from them with the tables.

A fact that nobody reported stays unknown (absent); a check that needs it is then not applicable,
never passed or failed on a guess.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from lazarus.environment import tables

FactValue = str | bool | int | float | tuple[str, ...]
Facts = dict[str, FactValue]

# What each fact is: a version (compared with specifiers such as ">=2" or "<2.3"), a number
# (compared with "<1024"), a flag, or a word. A check may only name these.
VERSIONS = frozenset(
    {"python", "torch", "torch_cuda", "driver", "numpy", "torchvision", "torchaudio", "nvcc", "cudnn", "rocm"}
)
NUMBERS = frozenset({"shm_mib", "open_files", "torch_installs", "gpu_count"})
FLAGS = frozenset(
    {
        "torch_installed",
        "torch_imports",
        "cpu_only_torch",
        "rocm_torch",
        "cuda_available",
        "nvidia_gpu",
        "gpu_arch_supported",
        "driver_supports_torch_cuda",
        "torchvision_matches_torch",
        "torchaudio_matches_torch",
        "duplicate_torch",
        "nvcc_matches_torch_cuda",
        "python_supported_by_torch",
        "x86_python_on_apple_silicon",
        "gpus_hidden",
    }
)
WORDS = frozenset(
    {
        "os",
        "machine",
        "gpu_name",
        "gpu_capability",
        "torch_local",
        "torch_release",
        "driver_needed",
        "torchvision_wanted",
        "torchaudio_wanted",
        "python_newest",
        "python_path",
        "torch_error",
    }
)
LISTS = frozenset({"arch_list"})
KNOWN = VERSIONS | NUMBERS | FLAGS | WORDS | LISTS


def version_of(text: str) -> Version | None:
    """A version from how tools print it: '2.1.0+cu121', '12.1.105', '535.104.05', '3.10.13 (main...'."""
    found = re.match(r"\s*v?(\d+(?:\.\d+){0,3})", text)
    if not found:
        return None
    try:
        return Version(found.group(1))
    except InvalidVersion:
        return None


def release(text: str, parts: int = 2) -> tuple[int, ...] | None:
    version = version_of(text)
    return None if version is None else tuple((*version.release, 0, 0)[:parts])


def derive(facts: Facts) -> Facts:
    """Add what follows from the facts and the tables (only where its inputs are known)."""
    out = dict(facts)
    torch = _str(out.get("torch"))
    if torch is not None:
        out.setdefault("torch_installed", True)
        out.setdefault("torch_release", torch.partition("+")[0])
        local = torch.partition("+")[2]
        if local:
            out.setdefault("torch_local", local)
        if "torch_cuda" not in out and local.startswith("cu") and local[2:].isdigit():
            digits = local[2:]
            out["torch_cuda"] = f"{digits[:-1]}.{digits[-1]}"
        if "cpu_only_torch" not in out and (local == "cpu" or out.get("torch_cuda_none") is True):
            out["cpu_only_torch"] = True
    out.pop("torch_cuda_none", None)
    if out.get("torch_installed") is True and "torch_cuda" in out:
        out.setdefault("cpu_only_torch", False)
    _derive_gpu(out)
    _derive_pairs(out)
    machine, os_name = _str(out.get("machine")), _str(out.get("os"))
    if os_name == "darwin" and machine is not None and "apple_silicon" in out:
        out["x86_python_on_apple_silicon"] = machine == "x86_64" and out["apple_silicon"] is True
    out.pop("apple_silicon", None)
    installs = out.get("torch_installs")
    if isinstance(installs, int):
        out["duplicate_torch"] = installs > 1
    visible = out.get("cuda_visible_devices")
    if isinstance(visible, str) and out.get("nvidia_gpu") is True:
        out["gpus_hidden"] = visible.strip() in ("", "-1", "none", "NoDevFiles")
    out.pop("cuda_visible_devices", None)
    return out


def _derive_gpu(out: Facts) -> None:
    name = _str(out.get("gpu_name"))
    if name is not None and "gpu_capability" not in out:
        capability = tables.capability_of(name)
        if capability is not None:
            out["gpu_capability"] = capability
    capability = _str(out.get("gpu_capability"))
    arch = out.get("arch_list")
    torch_cuda = _str(out.get("torch_cuda"))
    if capability is not None and isinstance(arch, tuple) and arch:
        out.setdefault("gpu_arch_supported", tables.arch_supported(capability, arch))
    elif capability is not None and torch_cuda is not None and out.get("cpu_only_torch") is not True:
        supported = tables.wheel_supports(capability, torch_cuda)
        if supported is not None:
            out.setdefault("gpu_arch_supported", supported)
    driver = _str(out.get("driver"))
    if driver is not None and torch_cuda is not None and out.get("cpu_only_torch") is not True:
        needed = tables.minimum_driver(torch_cuda, _str(out.get("os")) == "windows")
        have = version_of(driver)
        if needed is not None and have is not None:
            out["driver_supports_torch_cuda"] = have >= needed
            out["driver_needed"] = str(needed)


def _derive_pairs(out: Facts) -> None:
    torch = _str(out.get("torch"))
    if torch is None:
        return
    for library in ("torchvision", "torchaudio"):
        have = _str(out.get(library))
        if have is not None:
            wanted = tables.companion(library, torch)
            if wanted is not None:
                out[f"{library}_matches_torch"] = release(have) == release(wanted)
                out[f"{library}_wanted"] = wanted
    python = _str(out.get("python"))
    if python is not None:
        newest = tables.newest_python(torch)
        mine = release(python)
        if newest is not None and mine is not None:
            out["python_supported_by_torch"] = mine <= newest
            out["python_newest"] = ".".join(map(str, newest))
    nvcc, torch_cuda = _str(out.get("nvcc")), _str(out.get("torch_cuda"))
    if nvcc is not None and torch_cuda is not None:
        out["nvcc_matches_torch_cuda"] = release(nvcc, 1) == release(torch_cuda, 1)


def _str(value: FactValue | None) -> str | None:
    return value if isinstance(value, str) else None
