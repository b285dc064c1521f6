"""Verification records: which entries `lazarus validate` proved, under which torch and device.

A KB folder keeps its records in `verified/`, one JSON file per torch version and device
(`torch-2.13.0-cpu.json`, `torch-2.13.0-cuda.json`), each mapping entry id to a record. Files from
different machines never touch each other, so they merge in git without conflicts.

The query path imports this module to print one status line per entry, so it must stay cheap:
the standard library only, never torch, yaml, rich or packaging at import time, and json only
where records are read or written (a query finds them in the index).

`Outcome` here is the one definition of the outcome names (passed, failed, skipped): records store
them, and the validator (`lazarus.verify`) judges with them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator

from lazarus.i18n import say

TYPE_CHECKING = False  # typing is imported only by type checkers (lazarus.tuples says why)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Literal, NamedTuple

    from packaging.version import Version

    Outcome = Literal["passed", "failed", "skipped"]
else:
    from lazarus.tuples import NamedTuple

    Outcome = str  # only annotations name it

RECORDS_DIR = "verified"
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "skipped")  # Outcome's names, in its order
MARKS: dict[Outcome, str] = {"passed": "✓", "failed": "✗", "skipped": "–"}
DEVICE_ORDER = ("cpu", "cuda")
RECORD_FIELDS = ("outcome", "date", "torch", "device", "cuda", "gpu")


class Record(NamedTuple):
    """One entry's validation outcome on one torch version and device.

    Immutable like a frozen dataclass, but a named tuple, as in `lazarus.model`: importing
    `dataclasses` (and with it `inspect`) would cost the query's start-up more than this module.
    """

    entry_id: str
    outcome: Outcome
    date: str
    torch: str
    device: str
    cuda: str | None = None
    gpu: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RECORD_FIELDS}


def public_version(version: str) -> str:
    """`2.13.0+cu128` -> `2.13.0`: the local build tag belongs to the cuda field, not the name."""
    return version.split("+", 1)[0]


def record_file_name(torch_version: str, device: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", public_version(torch_version))
    return f"torch-{safe}-{device}.json"


def record_path(kb_dir: Path, torch_version: str, device: str) -> Path:
    from pathlib import Path  # here, not at the top: a query never reads record files

    return Path(kb_dir) / RECORDS_DIR / record_file_name(torch_version, device)


# --------------------------------------------------------------------------- reading


def load_records(kb_dirs: Iterable[Path]) -> dict[str, list[Record]]:
    """Every record in `verified/*.json` of the given folders, by entry id.

    Folders come in priority order (user folders before the built-in KB): when two folders hold a
    record for the same id, torch version and device, the first one wins. Unreadable or malformed
    files and records are ignored, never fatal: a status line is not worth a crash.
    """
    from pathlib import Path

    found: dict[str, dict[tuple[str, str], Record]] = {}
    for kb_dir in kb_dirs:
        folder = Path(kb_dir) / RECORDS_DIR
        try:
            files = sorted(folder.glob("*.json"))
        except OSError:
            continue
        for path in files:
            for record in read_record_file(path).values():
                slot = found.setdefault(record.entry_id, {})
                slot.setdefault((record.torch, record.device), record)
    return {entry_id: list(by_key.values()) for entry_id, by_key in found.items()}


def read_record_file(path: Path) -> dict[str, Record]:
    """The records of one file by entry id; empty when the file is missing or not a record file."""
    from pathlib import Path

    try:
        import json  # reading and writing records only: a query prints their status from the index

        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError):
        return {}  # unreadable, not JSON, or nested deeper than any record file is
    if not isinstance(data, dict):
        return {}
    records: dict[str, Record] = {}
    for entry_id, raw in data.items():
        record = _parse_record(entry_id, raw)
        if record is not None:
            records[entry_id] = record
    return records


def _parse_record(entry_id: Any, raw: Any) -> Record | None:
    if not isinstance(entry_id, str) or not isinstance(raw, dict):
        return None
    outcome, date, torch, device = (raw.get(k) for k in ("outcome", "date", "torch", "device"))
    if not (isinstance(date, str) and isinstance(torch, str) and isinstance(device, str)):
        return None
    known = next((o for o in OUTCOMES if o == outcome), None)
    if known is None:
        return None
    cuda, gpu = raw.get("cuda"), raw.get("gpu")
    return Record(
        entry_id=entry_id,
        outcome=known,
        date=date,
        torch=torch,
        device=device,
        cuda=cuda if isinstance(cuda, str) else None,
        gpu=gpu if isinstance(gpu, str) else None,
    )


# --------------------------------------------------------------------------- writing


def merge_records(existing: dict[str, Record], new: Iterable[Record]) -> dict[str, Record]:
    """The existing records with the new ones laid over them: entries not re-validated stay."""
    merged = dict(existing)
    for record in new:
        merged[record.entry_id] = record
    return merged


def write_records(path: Path, new: Iterable[Record]) -> Path:
    """Merge `new` into the record file at `path` and replace it atomically.

    Keys are sorted and indented so that re-validating one entry changes only its own lines.
    """
    import tempfile
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Read, merge and replace under an exclusive lock: validate runs at the same time (two
    # terminals, a CI matrix on one disk) would otherwise each write back what they read, and
    # the results of all but the last would be lost.
    with _locked(path.parent):
        merged = merge_records(read_record_file(path), new)
        payload = {entry_id: merged[entry_id].to_json() for entry_id in sorted(merged)}
        import json

        text = json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    return path


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on the records folder while the block runs (POSIX flock on the
    folder itself, so no lock file is left behind; on Windows, none)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent record writers are not supported there
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --------------------------------------------------------------------------- status line


def status_line(records: Iterable[Record], lang: str = "en") -> str:
    """One line for people, in their language, saying what was run where, e.g.

    `verified: cpu ✓ torch 2.14.1, 2.13.0 · cuda ✓ torch 2.11.0 (H100)`, or, with no proof,
    `not verified: cpu skipped torch 2.13.0 · cuda not run here`
    """
    ordered = display_order(records)
    if not ordered:
        return say(lang, "not_verified")
    parts: list[str] = []
    for device in dict.fromkeys(record.device for record in ordered):
        for outcome in ("passed", "failed", "skipped"):
            same = [r for r in ordered if r.device == device and r.outcome == outcome]
            if same:
                versions = ", ".join(dict.fromkeys(public_version(r.torch) for r in same))
                gpus = ", ".join(dict.fromkeys(short_gpu_name(r.gpu) for r in same if r.gpu))
                mark = say(lang, "skipped") if outcome == "skipped" else MARKS[outcome]
                parts.append(f"{device} {mark} torch {versions}" + (f" ({gpus})" if gpus else ""))
    if not any(record.device == "cuda" for record in ordered):
        parts.append(say(lang, "cuda_not_run"))
    proven = any(record.outcome == "passed" for record in ordered)
    return say(lang, "verified" if proven else "unproven", parts=" · ".join(parts))


def display_order(records: Iterable[Record]) -> list[Record]:
    """cpu before cuda, newest torch first within a device.

    Plain releases ("2.14.1", what the validator records) are compared as numbers; packaging is
    imported only for the rest ("2.6.0a0+git1"), so the usual query does not pay for it.
    """
    ordered = list(records)
    devices = [record.device for record in ordered]
    if len(set(devices)) < len(devices):
        if all(_PLAIN_RELEASE.fullmatch(record.torch) for record in ordered):
            ordered.sort(key=lambda record: tuple(int(part) for part in record.torch.split(".")), reverse=True)
        else:
            ordered.sort(key=lambda record: parse_version(record.torch), reverse=True)
    return sorted(ordered, key=lambda record: (_device_rank(record.device), record.device))


_PLAIN_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def _device_rank(device: str) -> int:
    return DEVICE_ORDER.index(device) if device in DEVICE_ORDER else len(DEVICE_ORDER)


def parse_version(text: str) -> Version:
    """A torch version as packaging reads it (`2.6.0a0+git1` sorts before `2.6.0`).

    A string packaging cannot read falls back to its leading release numbers, else to 0.
    """
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        release = re.match(r"\d+(?:\.\d+)*", text.strip())
        return Version(release.group() if release else "0")


_VENDOR_WORDS = {"nvidia", "geforce", "tesla", "quadro", "amd", "radeon"}
_GPU_SUFFIX_RE = re.compile(r"[- ](?:\d+\s?GB|PCIE|SXM\d*|HBM\d*e?|NVL|MIG)\b.*$", re.IGNORECASE)


def short_gpu_name(name: str) -> str:
    """`NVIDIA H100 80GB HBM3` -> `H100`; `NVIDIA GeForce RTX 4090` -> `RTX 4090`."""
    words = name.split()
    while len(words) > 1 and words[0].lower() in _VENDOR_WORDS:
        words = words[1:]
    short = _GPU_SUFFIX_RE.sub("", " ".join(words)).strip()
    return short or name
