"""`lazarus env` as text and JSON: the environment's facts, then one line per check (✓ or ✗),
like `flutter doctor`. Pure: data in, text out."""

from __future__ import annotations

from typing import Any

from lazarus.environment.facts import Facts
from lazarus.i18n import say
from lazarus.model import EnvFinding


def _value(facts: Facts, name: str) -> str | None:
    value = facts.get(name)
    if value is None:
        return None
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fact_lines(facts: Facts, lang: str) -> list[tuple[str, str]]:
    """(label, what) for the facts a person checks first."""
    missing = say(lang, "env_missing")
    rows: list[tuple[str, str]] = []
    python = _value(facts, "python")
    if python:
        where = " ".join(v for v in (_value(facts, "os"), _value(facts, "machine")) if v)
        rows.append(("Python", f"{python} ({where})" if where else python))
    torch = _value(facts, "torch")
    if facts.get("torch_installed") is False:
        rows.append(("torch", missing))
    elif torch:
        if facts.get("cpu_only_torch") is True:
            build = say(lang, "env_cpu_build")
        elif facts.get("rocm_torch") is True:
            build = f"ROCm {_value(facts, 'rocm') or '?'}"
        elif facts.get("torch_cuda"):
            build = f"CUDA {facts['torch_cuda']}"
        else:
            build = ""
        if facts.get("torch_imports") is False:
            build = say(lang, "env_import_fails", error=_value(facts, "torch_error") or "?")
        rows.append(("torch", f"{torch} · {build}" if build else torch))
    gpu = _value(facts, "gpu_name")
    if gpu or facts.get("nvidia_gpu"):
        detail = [d for d in (gpu, _capability(facts), _driver(facts)) if d]
        rows.append(("GPU", " · ".join(detail) or "NVIDIA"))
        if "cuda_available" in facts:
            rows.append(("CUDA", say(lang, "env_cuda_yes" if facts["cuda_available"] else "env_cuda_no")))
    elif "python_path" in facts:
        rows.append(("GPU", say(lang, "env_no_gpu")))
    for name, label in (("numpy", "NumPy"), ("torchvision", "torchvision"), ("torchaudio", "torchaudio")):
        value = _value(facts, name)
        if value:
            rows.append((label, value))
        elif "python_path" in facts:
            rows.append((label, missing))
    if facts.get("nvcc"):
        rows.append(("nvcc", f"CUDA {facts['nvcc']}"))
    shm = facts.get("shm_mib")
    if isinstance(shm, (int, float)):
        rows.append(("/dev/shm", f"{int(shm)} MiB"))
    if "open_files" in facts:
        rows.append(("ulimit -n", str(facts["open_files"])))
    return rows


def _capability(facts: Facts) -> str | None:
    capability = _value(facts, "gpu_capability")
    return f"sm_{capability.replace('.', '')}" if capability else None


def _driver(facts: Facts) -> str | None:
    driver = _value(facts, "driver")
    return f"driver {driver}" if driver else None


def plain_report(facts: Facts, findings: list[EnvFinding], lang: str, where: str, unchecked: int) -> str:
    lines = [say(lang, "env_header", where=where)]
    rows = fact_lines(facts, lang)
    width = max((len(label) for label, _ in rows), default=0)
    lines += [f"  {label.ljust(width)}  {what}" for label, what in rows]
    lines.append("")
    for finding in findings:
        title = finding.check.title_zh if lang == "zh" else finding.check.title
        if finding.failed:
            lines.append(f"✗ {title}")
            lines.append(f"    {finding.says_zh if lang == 'zh' else finding.says}")
            lines.append(f"    → lazarus show {finding.entry_id}")
        else:
            lines.append(f"✓ {title}")
    failed = sum(f.failed for f in findings)
    lines.append(say(lang, "env_summary", passed=len(findings) - failed, failed=failed, unchecked=unchecked))
    return "\n".join(lines)


def report_json(facts: Facts, findings: list[EnvFinding], where: str) -> dict[str, Any]:
    return {
        "interpreter": where,
        "facts": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(facts.items())},
        "checks": [finding_json(f) for f in findings],
    }


def finding_json(finding: EnvFinding) -> dict[str, Any]:
    return {
        "entry": finding.entry_id,
        "title": finding.check.title,
        "status": "failed" if finding.failed else "passed",
        "says": finding.says or None,
    }
