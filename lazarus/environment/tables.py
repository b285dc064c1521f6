"""What NVIDIA and the PyTorch release notes say fits together. Kept here, as data, so that the
entries' checks can speak of 'the driver supports this torch's CUDA' without arithmetic.

Sources: NVIDIA's CUDA Toolkit release notes (table 3, minimum driver for minor-version
compatibility), PyTorch's RELEASE.md compatibility matrix and torchvision's README table,
NVIDIA's compute capability list.
"""

from __future__ import annotations

import re

from packaging.version import Version

# CUDA major.minor of a torch build -> (Linux, Windows) minimum driver. Wheels bundle the CUDA
# runtime, so a driver of the same major family is enough (minor-version compatibility).
_MINIMUM_DRIVER: tuple[tuple[tuple[int, int], str, str], ...] = (
    ((13, 0), "580.65.06", "580.88"),
    ((12, 0), "525.60.13", "527.41"),
    ((11, 0), "450.80.02", "452.39"),
    ((10, 2), "440.33", "441.22"),
    ((10, 1), "418.39", "418.96"),
    ((10, 0), "410.48", "411.31"),
    ((9, 2), "396.26", "397.44"),
    ((9, 0), "384.81", "385.54"),
)

# GPU product names -> compute capability, for reports that name the GPU but not its capability
# (collect_env prints the name only). First match wins: specific patterns come first.
_CAPABILITIES: tuple[tuple[str, str], ...] = (
    (r"\bRTX\s*PRO\s*\d+\s*Blackwell|\bRTX\s*50\d0", "12.0"),
    (r"\bB200\b|\bGB200\b|\bB100\b", "10.0"),
    (r"\bH100\b|\bH200\b|\bH800\b|\bGH200\b", "9.0"),
    (r"\bRTX\s*40\d0|\bL4\b|\bL40S?\b|\bRTX\s*\d000\s*Ada", "8.9"),
    (r"\bRTX\s*30\d0|\bA40\b|\bA10G?\b|\bRTX\s*A\d000|\bA2\b|\bA16\b", "8.6"),
    (r"\bA100\b|\bA800\b|\bA30\b", "8.0"),
    (r"\bRTX\s*20\d0|\bGTX\s*16\d0|\bT4\b|\bTITAN\s*RTX\b|\bQuadro\s*RTX", "7.5"),
    (r"\bV100\b|\bTITAN\s*V\b", "7.0"),
    (r"\bGTX\s*10\d0|\bTITAN\s*Xp?\b|\bP40\b|\bP4\b|\bP6000\b", "6.1"),
    (r"\bP100\b", "6.0"),
    (r"\bGTX\s*9\d0|\bM40\b|\bM60\b|\bTITAN\s*X\b", "5.2"),
    (r"\bK80\b", "3.7"),
    (r"\bGTX\s*7\d0|\bK40\b|\bK20", "3.5"),
)


def minimum_driver(torch_cuda: str, windows: bool) -> Version | None:
    found = re.match(r"(\d+)\.(\d+)", torch_cuda)
    if not found:
        return None
    cuda = (int(found.group(1)), int(found.group(2)))
    for since, linux, win in _MINIMUM_DRIVER:
        if cuda >= since and cuda[0] == since[0]:
            return Version(win if windows else linux)
    return None


def capability_of(gpu_name: str) -> str | None:
    for pattern, capability in _CAPABILITIES:
        if re.search(pattern, gpu_name, re.IGNORECASE):
            return capability
    return None


def arch_supported(capability: str, arch_list: tuple[str, ...]) -> bool:
    """Whether a build with these architectures runs on a GPU of this capability: a cubin for the
    same major version and a lower or equal minor, or PTX (compute_XY) it can compile from."""
    major, _, minor = capability.partition(".")
    mine = (int(major), int(minor or 0))
    for arch in arch_list:
        found = re.fullmatch(r"(sm|compute)_(\d+?)(\d)[a-z]?", arch.strip())
        if not found:
            continue
        built = (int(found.group(2)), int(found.group(3)))
        if found.group(1) == "sm" and built[0] == mine[0] and built[1] <= mine[1]:
            return True
        if found.group(1) == "compute" and built <= mine:
            return True
    return False


def wheel_supports(capability: str, torch_cuda: str) -> bool | None:
    """What the official wheels of a CUDA version cover, where that is certain: Blackwell (10.x,
    12.x) needs a CUDA 12.8 or newer build; Kepler (3.x) was dropped from the CUDA 11+ builds."""
    major = int(capability.partition(".")[0])
    cuda = tuple(int(p) for p in re.findall(r"\d+", torch_cuda)[:2])
    if major >= 10:
        return cuda >= (12, 8)
    if major == 3:
        return False if cuda >= (11, 0) else None
    return True


def companion(library: str, torch: str) -> str | None:
    """The release of torchvision or torchaudio made with this torch (major.minor)."""
    found = re.match(r"(\d+)\.(\d+)", torch)
    if not found:
        return None
    major, minor = int(found.group(1)), int(found.group(2))
    if library == "torchvision":
        if major == 2:
            return f"0.{minor + 15}"
        if major == 1 and minor >= 4:
            return f"0.{minor + 1}"
    if library == "torchaudio":
        if major == 2 and minor <= 9:
            return f"2.{minor}"  # torchaudio follows torch's version up to its 2.9 release
        if major == 1 and minor >= 8:
            return f"0.{minor}"
    return None


# torch major.minor -> the newest Python it published wheels for.
_NEWEST_PYTHON: dict[tuple[int, int], tuple[int, int]] = {
    (1, 7): (3, 8),
    (1, 8): (3, 9),
    (1, 9): (3, 9),
    (1, 10): (3, 9),
    (1, 11): (3, 10),
    (1, 12): (3, 10),
    (1, 13): (3, 11),
    (2, 0): (3, 11),
    (2, 1): (3, 11),
    (2, 2): (3, 12),
    (2, 3): (3, 12),
    (2, 4): (3, 12),
    (2, 5): (3, 13),
    (2, 6): (3, 13),
    (2, 7): (3, 13),
    (2, 8): (3, 13),
    (2, 9): (3, 14),
}


def newest_python(torch: str) -> tuple[int, ...] | None:
    found = re.match(r"(\d+)\.(\d+)", torch)
    return None if not found else _NEWEST_PYTHON.get((int(found.group(1)), int(found.group(2))))
