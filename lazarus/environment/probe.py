"""Facts read on this machine from an interpreter: a short script run by that interpreter (so
lazarus itself never imports torch, and `--python` can point at any environment), plus what
`nvidia-smi` and `nvcc` say. Nothing here needs the network."""

from __future__ import annotations

import json
import subprocess

from lazarus.environment.facts import Facts, derive
from lazarus.errors import UsageError

PROBE_TIMEOUT = 120.0  # importing torch on a cold disk can take tens of seconds

# Runs under the probed interpreter, which may be any Python 3 without lazarus: standard library only.
_PROBE = r"""
import json, os, platform, re, shutil, subprocess, sys
facts = {"python": platform.python_version(), "os": platform.system().lower(), "machine": platform.machine(),
         "python_path": sys.executable}
def run(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except Exception:
        return ""
if facts["os"] == "darwin":
    translated = run(["sysctl", "-in", "sysctl.proc_translated"]).strip() == "1"
    facts["apple_silicon"] = facts["machine"] == "arm64" or translated
try:
    from importlib import metadata
    torches = set()
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name in ("numpy", "torchvision", "torchaudio"):
            facts.setdefault(name, dist.version)
        elif name == "torch":
            torches.add(str(getattr(dist, "_path", dist.version)))
            facts.setdefault("torch", dist.version)
    facts["torch_installed"] = bool(torches)
    if torches:
        facts["torch_installs"] = len(torches)
except Exception:
    pass
if "CUDA_VISIBLE_DEVICES" in os.environ:
    facts["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
try:
    vfs = os.statvfs("/dev/shm")
    facts["shm_mib"] = vfs.f_blocks * vfs.f_frsize // (1024 * 1024)
except Exception:
    pass
try:
    import resource
    facts["open_files"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
except Exception:
    pass
home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
nvcc = shutil.which("nvcc") or (home and shutil.which("nvcc", path=os.path.join(home, "bin")))
if nvcc:
    found = re.search(r"release (\d+\.\d+)", run([nvcc, "--version"]))
    if found:
        facts["nvcc"] = found.group(1)
query = ["nvidia-smi", "--query-gpu=driver_version,name,compute_cap", "--format=csv,noheader"]
smi = run(query) if shutil.which("nvidia-smi") else ""
rows = [r.split(", ") for r in smi.strip().splitlines() if r.count(", ") >= 2]
if rows:
    facts["nvidia_gpu"] = True
    facts["gpu_count"] = len(rows)
    facts["driver"], facts["gpu_name"], facts["gpu_capability"] = rows[0][0], rows[0][1], rows[0][2]
try:
    import warnings
    warnings.simplefilter("ignore")
    import torch
    facts["torch"] = torch.__version__
    facts["torch_installed"] = facts["torch_imports"] = True
    if torch.version.cuda:
        facts["torch_cuda"] = torch.version.cuda
    elif getattr(torch.version, "hip", None):
        facts["rocm_torch"] = True
        facts["rocm"] = torch.version.hip
    else:
        facts["torch_cuda_none"] = True
    facts["cuda_available"] = bool(torch.cuda.is_available())
    if facts["cuda_available"]:
        facts["gpu_count"] = torch.cuda.device_count()
        facts["gpu_name"] = torch.cuda.get_device_name(0)
        facts["gpu_capability"] = "%d.%d" % torch.cuda.get_device_capability(0)
        facts["arch_list"] = list(torch.cuda.get_arch_list())
        cudnn = torch.backends.cudnn.version()
        if cudnn:
            facts["cudnn"] = str(cudnn)
    elif torch.version.cuda:
        facts["arch_list"] = list(torch.cuda.get_arch_list())
except BaseException as exc:
    if facts.get("torch_installed") or not isinstance(exc, ModuleNotFoundError):
        facts["torch_installed"] = True
        facts["torch_imports"] = False
        facts["torch_error"] = ("%s: %s" % (type(exc).__name__, exc)).strip().splitlines()[-1][:300]
print(json.dumps(facts))
"""


def probe(python: str) -> Facts:
    """The facts of the interpreter at `python` (a path or a command name)."""
    try:
        done = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise UsageError(f"--python: no such interpreter: {python}") from None
    except PermissionError:
        raise UsageError(f"--python: cannot run {python}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"--python: cannot run {python}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--python: {python} did not answer within {PROBE_TIMEOUT:.0f} s") from None
    lines = done.stdout.strip().splitlines()
    try:
        raw = json.loads(lines[-1]) if lines else None
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"--python: {python} is not a Python 3 interpreter lazarus can probe ({last[:200]})")
    facts: Facts = {}
    for name, value in raw.items():
        if isinstance(value, list):
            facts[name] = tuple(str(v) for v in value)
        elif isinstance(value, (str, bool, int, float)):
            facts[name] = value
    return derive(facts)
