"""Verification records: reading, merging, atomic writing, and the status line. No torch needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lazarus.kb.records import (
    OUTCOMES,
    Record,
    display_order,
    load_records,
    parse_version,
    read_record_file,
    record_file_name,
    record_path,
    short_gpu_name,
    status_line,
    write_records,
)


def rec(entry_id: str = "a", outcome: str = "passed", torch: str = "2.13.0", device: str = "cpu", **kw) -> Record:
    return Record(entry_id, outcome, kw.pop("date", "2026-11-22"), torch, device, **kw)


def test_import_stays_light() -> None:
    code = (
        "import sys, lazarus.kb.records\n"
        "heavy = {'torch', 'yaml', 'rich', 'numpy', 'dataclasses', 'packaging'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        # One record per device, as a query usually sees: no version to compare, packaging stays out.
        "r = lazarus.kb.records.Record\n"
        "cpu, cuda = r('a', 'passed', 'd', '2.13.0', 'cpu'), r('a', 'passed', 'd', '2.11.0', 'cuda')\n"
        "lazarus.kb.records.status_line([cpu, cuda])\n"
        "assert 'packaging' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_file_names() -> None:
    assert record_file_name("2.13.0+cpu", "cpu") == "torch-2.13.0-cpu.json"
    assert record_file_name("2.11.0+cu128", "cuda") == "torch-2.11.0-cuda.json"
    assert record_path(Path("kb"), "2.13.0", "cpu") == Path("kb/verified/torch-2.13.0-cpu.json")


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "verified" / "torch-2.13.0-cuda.json"
    record = rec("b", device="cuda", cuda="12.8", gpu="NVIDIA H100 80GB HBM3")
    write_records(path, [record, rec("a", device="cuda", outcome="failed")])
    assert read_record_file(path) == {"a": rec("a", device="cuda", outcome="failed"), "b": record}
    text = path.read_text(encoding="utf-8")
    assert text.index('"a"') < text.index('"b"')  # sorted keys: small, stable diffs
    assert json.loads(text)["b"] == {
        "outcome": "passed",
        "date": "2026-11-22",
        "torch": "2.13.0",
        "device": "cuda",
        "cuda": "12.8",
        "gpu": "NVIDIA H100 80GB HBM3",
    }
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_merge_keeps_entries_not_revalidated(tmp_path: Path) -> None:
    path = tmp_path / "torch-2.13.0-cpu.json"
    write_records(path, [rec("a", date="2000-01-01"), rec("b", date="2000-01-01", outcome="failed")])
    write_records(path, [rec("a", date="2026-11-22")])
    records = read_record_file(path)
    assert records["a"].date == "2026-11-22"
    assert (records["b"].date, records["b"].outcome) == ("2000-01-01", "failed")


def test_load_records_from_several_folders(tmp_path: Path) -> None:
    user, builtin = tmp_path / "user", tmp_path / "builtin"
    write_records(record_path(user, "2.13.0", "cpu"), [rec("a", outcome="failed")])
    write_records(record_path(builtin, "2.13.0", "cpu"), [rec("a"), rec("b")])
    write_records(record_path(builtin, "2.11.0", "cuda"), [rec("a", torch="2.11.0", device="cuda", gpu="H100")])
    found = load_records([user, builtin, tmp_path / "missing"])
    by_key = {(r.torch, r.device): r for r in found["a"]}
    assert by_key[("2.13.0", "cpu")].outcome == "failed"  # the user folder wins
    assert by_key[("2.11.0", "cuda")].gpu == "H100"
    assert [r.outcome for r in found["b"]] == ["passed"]


def test_bad_files_and_records_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "verified"
    folder.mkdir()
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / "list.json").write_text("[1, 2]", encoding="utf-8")
    (folder / "binary.json").write_bytes(b"\xff\xfe\x00")
    (folder / "torch-2.13.0-cpu.json").write_text(
        json.dumps(
            {
                "good": rec().to_json(),
                "odd-outcome": {**rec().to_json(), "outcome": "maybe"},
                "no-date": {"outcome": "passed", "torch": "2.13.0", "device": "cpu"},
                "not-a-dict": 3,
            }
        ),
        encoding="utf-8",
    )
    assert list(load_records([tmp_path])) == ["good"]


def test_status_line() -> None:
    assert status_line([]) == "not verified yet"
    assert status_line([rec()]) == "verified: cpu ✓ torch 2.13.0 · cuda not run here"
    assert status_line([rec()], "zh") == "已验证：cpu ✓ torch 2.13.0 · cuda 未在此运行"
    line = status_line(
        [
            rec(torch="2.11.0", device="cuda", gpu="NVIDIA H100 80GB HBM3"),
            rec(torch="2.9.0", outcome="failed"),
            rec(torch="2.13.0"),
        ]
    )
    assert line == "verified: cpu ✓ torch 2.13.0 · cpu ✗ torch 2.9.0 · cuda ✓ torch 2.11.0 (H100)"
    # a check that was skipped proves nothing, and does not read like a proof
    assert status_line([rec(outcome="skipped")]) == "not verified: cpu skipped torch 2.13.0 · cuda not run here"
    two = status_line([rec(torch="2.13.0"), rec(torch="2.14.1")])
    assert two == "verified: cpu ✓ torch 2.14.1, 2.13.0 · cuda not run here"


def test_short_gpu_names() -> None:
    assert short_gpu_name("NVIDIA H100 80GB HBM3") == "H100"
    assert short_gpu_name("NVIDIA GeForce RTX 4090") == "RTX 4090"
    assert short_gpu_name("NVIDIA A100-SXM4-80GB") == "A100"
    assert short_gpu_name("Tesla V100-PCIE-16GB") == "V100"
    assert short_gpu_name("NVIDIA H200") == "H200"


def test_outcome_names() -> None:
    assert OUTCOMES == ("passed", "failed", "skipped")


def test_parse_version() -> None:
    assert parse_version("2.6.0a0+git1234") < parse_version("2.6.0") < parse_version("2.10")
    assert parse_version("2.13.0+cpu").public == "2.13.0"
    assert str(parse_version("2.5.1-custom build")) == "2.5.1"  # not PEP 440: its release numbers
    assert str(parse_version("nightly")) == "0"


def test_display_order_newest_torch_first_within_a_device() -> None:
    records = [rec(torch="2.9.0"), rec(torch="2.10.0", device="cuda"), rec(torch="2.10.0"), rec(torch="2.10.0a0")]
    assert [(r.device, r.torch) for r in display_order(records)] == [
        ("cpu", "2.10.0"),
        ("cpu", "2.10.0a0"),
        ("cpu", "2.9.0"),
        ("cuda", "2.10.0"),
    ]


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    # issue 14: eight --record writers at once once kept 44 of 320 results
    import subprocess
    import sys

    path = tmp_path / "verified" / "torch-2.13.0-cpu.json"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from lazarus.kb.records import Record, write_records\n"
        "w = int(sys.argv[2])\n"
        "for n in range(40):\n"
        "    write_records(Path(sys.argv[1]), [Record(f'w{w}-e{n}', 'passed', '2026-12-06', '2.13.0', 'cpu')])\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), str(w)]) for w in range(8)]
    assert all(writer.wait(timeout=120) == 0 for writer in writers)
    assert len(read_record_file(path)) == 320


def test_a_record_file_nested_too_deep_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert read_record_file(path) == {}
