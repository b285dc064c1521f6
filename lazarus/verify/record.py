"""A run's verification records: one `lazarus.kb.records.Record` per entry and validated device,
written into the `verified/` folder of the KB folder each entry came from.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from lazarus.kb.records import Record, public_version, record_path, write_records
from lazarus.model import Entry
from lazarus.verify.results import ValidationRun


def kb_root(entry: Entry, user_dirs: Sequence[Path], builtin: Path | None) -> Path:
    """The KB folder an entry was loaded from, whose `verified/` holds its records."""
    if entry.builtin and builtin is not None:
        return builtin
    path = Path(entry.path).resolve()
    for directory in user_dirs:
        if path.is_relative_to(Path(directory).resolve()):
            return Path(directory)
    return path.parent


def build_records(run: ValidationRun, device: str, today: str | None = None) -> list[Record]:
    """Each entry's outcome on one device: failed if any check failed, skipped if all were skipped."""
    env = run.environment
    date = today or datetime.date.today().isoformat()
    on_cuda = device == "cuda"
    return [
        Record(
            entry_id=entry.id,
            outcome=run.entry_outcome(entry.id, device),
            date=date,
            torch=public_version(env.torch),
            device=device,
            cuda=env.cuda if on_cuda else None,
            gpu=env.gpu if on_cuda else None,
        )
        for entry in run.entries
    ]


def write_run_records(run: ValidationRun, user_dirs: Sequence[Path], builtin: Path | None) -> list[Path]:
    """One record file per KB folder and validated device; a device that was absent gets none."""
    written: list[Path] = []
    for device in run.devices:
        if device == "cuda" and not run.environment.cuda_available:
            continue
        by_root: dict[Path, list[Record]] = {}
        roots = {entry.id: kb_root(entry, user_dirs, builtin) for entry in run.entries}
        for record in build_records(run, device):
            by_root.setdefault(roots[record.entry_id], []).append(record)
        for root, records in by_root.items():
            written.append(write_records(record_path(root, run.environment.torch, device), records))
    return written
