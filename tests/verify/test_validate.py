"""The validator, end to end: real YAML entries with real torch code, run in the real sandbox.

One run validates a small KB holding good entries next to every kind of broken one, so the
tests also show that a hang, a segfault or a drifted message in one entry leaves the others
passing. The judging and selection helpers are checked directly as well.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("torch")

from lazarus.cli.commands import guarded, run_show  # noqa: E402
from lazarus.errors import UsageError  # noqa: E402
from lazarus.kb.load import is_version_range  # noqa: E402
from lazarus.kb.records import read_record_file, record_file_name  # noqa: E402
from lazarus.model import Entry, Snippet  # noqa: E402
from lazarus.verify.command import validate_command  # noqa: E402
from lazarus.verify.judge import judge_broken, judge_fixed  # noqa: E402
from lazarus.verify.plan import imported_modules, preload_hints  # noqa: E402
from lazarus.verify.results import combine_outcomes  # noqa: E402
from lazarus.verify.sandbox import ChildOutcome  # noqa: E402
from lazarus.verify.select import NoSuchEntry, select_entries, version_allows  # noqa: E402


def validate(*args: Any) -> int:
    """`validate_command` as the CLI calls it: a UsageError becomes one line on stderr and exit 2."""
    return guarded(validate_command, *args)


BATCHNORM_BROKEN = """\
import torch
bn = torch.nn.BatchNorm1d(4).to(device)
bn(torch.randn(1, 4, device=device))
"""
BATCHNORM_FIXED = """\
import torch
bn = torch.nn.BatchNorm1d(4).to(device)
bn.eval()
assert bn(torch.randn(1, 4, device=device)).shape == (1, 4)
"""
NAN_BROKEN = """\
import torch
x = torch.zeros(3, device=device)
y = x / x
assert torch.isnan(y).all()  # the symptom: 0/0 is nan
"""
NAN_FIXED = """\
import torch
x = torch.zeros(3, device=device)
y = x / (x + 1e-8)
assert not torch.isnan(y).any()
"""

# id -> (snippets, signatures). Each broken entry fails or skips in exactly one way.
ENTRIES: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "good-raise": (
        [{"raises": "ValueError", "broken": BATCHNORM_BROKEN, "fixed": BATCHNORM_FIXED}],
        ["Expected more than 1 value per channel when training"],
    ),
    "good-silent": ([{"broken": NAN_BROKEN, "fixed": NAN_FIXED}], []),
    "good-base-class": (
        # UnpicklingError-style matching: the class's own name or one of its bases.
        [{"raises": "LookupError", "broken": "{}['missing']\n", "fixed": "assert {'a': 1}['a'] == 1\n"}],
        ["KeyError: 'missing'"],
    ),
    "good-fresh-cwd": (
        [
            {
                "broken": "import os\nopen('left-behind.txt', 'w').close()\nassert os.listdir('.')\n",
                "fixed": "import os\nassert os.listdir('.') == [], os.listdir('.')\n",
            }
        ],
        [],
    ),
    "drifted-signature": (
        [{"raises": "ValueError", "broken": "raise ValueError('the new wording of it')\n", "fixed": "pass\n"}],
        ["the old wording"],
    ),
    "wrong-exception": (
        [{"raises": "ValueError", "broken": "raise TypeError('the old wording')\n", "fixed": "pass\n"}],
        ["the old wording"],
    ),
    "fix-raises": (
        [
            {
                "raises": "ValueError",
                "broken": BATCHNORM_BROKEN,
                "fixed": "import torch\nprint('output from the fix')\ntorch.ones(2) @ torch.ones(3)\n",
            }
        ],
        ["Expected more than 1 value per channel"],
    ),
    "no-longer-fails": (
        [{"raises": "ValueError", "broken": "import torch\nx = torch.ones(2)\n", "fixed": "pass\n"}],
        ["anything"],
    ),
    "symptom-gone": (
        [{"broken": "import torch\nx = torch.ones(3)\nassert torch.isnan(x).any()\n", "fixed": "pass\n"}],
        [],
    ),
    "hangs": ([{"raises": "ValueError", "broken": "while True:\n    pass\n", "fixed": "pass\n", "timeout": 2}], ["x"]),
    "segfaults": (
        [
            {
                "raises": "ValueError",
                "broken": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
                "fixed": "pass\n",
            }
        ],
        ["x"],
    ),
    "exits-early": ([{"broken": NAN_BROKEN, "fixed": "import os\nos._exit(3)\n"}], []),
    "memory-hog": (
        [{"broken": NAN_BROKEN, "fixed": "import torch\nx = torch.empty(6 * 2**30, dtype=torch.uint8)\n"}],
        [],
    ),
    "needs-missing-module": (
        [{"broken": NAN_BROKEN, "fixed": "import lazarus_no_such_module\n", "requires": ["lazarus_no_such_module"]}],
        [],
    ),
    "old-torch-only": ([{"broken": NAN_BROKEN, "fixed": NAN_FIXED, "torch": "<2.0"}], []),
    "cuda-only": ([{"broken": NAN_BROKEN, "fixed": NAN_FIXED, "devices": ["cuda"]}], []),
    "not-reproducible": (
        [{"reproducible": False, "reason": "needs two GPUs", "fixed": NAN_FIXED, "broken": "raise SystemExit(1)\n"}],
        [],
    ),
}
GOOD = ("good-raise", "good-silent", "good-base-class", "good-fresh-cwd")


def write_entry(directory: Path, entry_id: str, snippets: list[dict[str, Any]], signatures: list[str]) -> None:
    data = {
        "id": entry_id,
        "title": f"test entry {entry_id}",
        "title_zh": f"测试条目 {entry_id}",
        "symptom": "something went wrong",
        "symptom_zh": "出错了",
        "signatures": signatures,
        "examples": [f"example for {entry_id}"],
        "causes": ["a cause"],
        "causes_zh": ["一个原因"],
        "fix": "a fix",
        "fix_zh": "修复",
        "snippets": snippets,
        "tags": ["validator-test", "good" if entry_id in GOOD else "bad"],
        "references": [],
    }
    area = directory / "test"
    area.mkdir(parents=True, exist_ok=True)
    (area / f"{entry_id}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One validator run over the whole test KB, with JSON, JUnit and records written."""
    kb = tmp_path_factory.mktemp("kb")
    out = tmp_path_factory.mktemp("out")
    for entry_id, (snippets, signatures) in ENTRIES.items():
        write_entry(kb, entry_id, snippets, signatures)
    cuda_record = kb / "verified" / record_file_name("2.13.0", "cuda")
    cuda_record.parent.mkdir(parents=True)
    cuda_record.write_text('{"good-raise": {"outcome": "passed"}}\n', encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LAZARUS_KB", raising=False)
        code = validate_command(
            ids=list(ENTRIES),
            tag=None,
            device="cpu",
            jobs=2,
            json_path=str(out / "result.json"),
            junit_path=str(out / "result.xml"),
            kb_dirs=[str(kb)],
            record=True,
        )
    rows = json.loads((out / "result.json").read_text(encoding="utf-8"))
    return {"code": code, "rows": rows, "kb": kb, "out": out, "cuda_record": cuda_record}


def parts_of(validated: dict[str, Any], entry_id: str) -> dict[str, dict[str, Any]]:
    return {row["part"]: row for row in validated["rows"] if row["id"] == entry_id}


def test_run_fails_overall(validated: dict[str, Any]) -> None:
    assert validated["code"] == 1


@pytest.mark.parametrize("entry_id", GOOD)
def test_good_entries_pass_beside_broken_ones(validated: dict[str, Any], entry_id: str) -> None:
    parts = parts_of(validated, entry_id)
    assert {p: r["outcome"] for p, r in parts.items()} == {"broken": "passed", "fixed": "passed"}, parts


def test_drifted_signature_shows_the_actual_message(validated: dict[str, Any]) -> None:
    broken = parts_of(validated, "drifted-signature")["broken"]
    assert broken["outcome"] == "failed"
    assert "broken raised ValueError but no signature matched" in broken["reason"]
    assert "the new wording of it" in broken["reason"]


def test_wrong_exception_type(validated: dict[str, Any]) -> None:
    broken = parts_of(validated, "wrong-exception")["broken"]
    assert broken["outcome"] == "failed"
    assert broken["reason"].startswith("broken raised TypeError, expected ValueError: the old wording")


def test_fix_that_raises_fails_with_its_output(validated: dict[str, Any]) -> None:
    parts = parts_of(validated, "fix-raises")
    assert parts["broken"]["outcome"] == "passed"
    assert parts["fixed"]["outcome"] == "failed"
    assert parts["fixed"]["reason"].startswith("fixed raised RuntimeError: ")
    assert "output from the fix" in parts["fixed"]["details"]


def test_broken_that_no_longer_fails(validated: dict[str, Any]) -> None:
    broken = parts_of(validated, "no-longer-fails")["broken"]
    assert (broken["outcome"], broken["reason"]) == ("failed", "broken ran without error")


def test_silent_symptom_that_went_away(validated: dict[str, Any]) -> None:
    broken = parts_of(validated, "symptom-gone")["broken"]
    assert broken["outcome"] == "failed"
    assert broken["reason"].startswith("broken: symptom assert failed:")
    assert "assert torch.isnan(x).any()" in broken["reason"]


def test_hang_times_out(validated: dict[str, Any]) -> None:
    parts = parts_of(validated, "hangs")
    assert parts["broken"]["outcome"] == "failed"
    assert "timed out after 2 s" in parts["broken"]["reason"]
    assert parts["fixed"]["outcome"] == "passed"


def test_segfault_is_a_crash(validated: dict[str, Any]) -> None:
    parts = parts_of(validated, "segfaults")
    assert parts["broken"]["outcome"] == "failed"
    assert "crashed: killed by signal SIGSEGV" in parts["broken"]["reason"]
    assert parts["fixed"]["outcome"] == "passed"


def test_os_exit_is_a_crash(validated: dict[str, Any]) -> None:
    fixed = parts_of(validated, "exits-early")["fixed"]
    assert fixed["outcome"] == "failed"
    assert "crashed: exited with status 3" in fixed["reason"]


def test_memory_cap(validated: dict[str, Any]) -> None:
    fixed = parts_of(validated, "memory-hog")["fixed"]
    assert fixed["outcome"] == "failed"
    assert "exceeded memory cap (4 GiB)" in fixed["reason"]


def test_missing_requirement_is_skipped(validated: dict[str, Any]) -> None:
    for row in parts_of(validated, "needs-missing-module").values():
        assert (row["outcome"], row["reason"]) == ("skipped", "requires lazarus_no_such_module, not installed")


def test_torch_version_bound_is_skipped(validated: dict[str, Any]) -> None:
    for row in parts_of(validated, "old-torch-only").values():
        assert row["outcome"] == "skipped"
        assert row["reason"].startswith("claim holds for torch <2.0; installed 2.")


def test_device_not_in_snippet_is_skipped(validated: dict[str, Any]) -> None:
    for row in parts_of(validated, "cuda-only").values():
        assert (row["outcome"], row["reason"]) == ("skipped", "snippet is for cuda only, not cpu")


def test_not_reproducible_still_runs_the_fix(validated: dict[str, Any]) -> None:
    parts = parts_of(validated, "not-reproducible")
    assert parts["broken"]["outcome"] == "skipped"
    assert parts["broken"]["reason"] == "broken not run: not reproducible (needs two GPUs)"
    assert parts["fixed"]["outcome"] == "passed"


def test_json_rows_are_complete(validated: dict[str, Any]) -> None:
    rows = validated["rows"]
    assert len(rows) == 2 * len(ENTRIES)
    for row in rows:
        assert {"id", "snippet", "device", "part", "outcome", "reason", "duration"} <= set(row)
        assert row["outcome"] in ("passed", "failed", "skipped")
        assert (row["snippet"], row["device"]) == (0, "cpu")


def test_junit_marks_failures_and_skips(validated: dict[str, Any]) -> None:
    root = ET.parse(validated["out"] / "result.xml").getroot()
    cases = {case.get("classname"): case for case in root.iter("testcase")}
    assert set(cases) == set(ENTRIES)
    assert cases["hangs"].find("failure") is not None
    assert "timed out" in cases["hangs"].find("failure").get("message", "")
    assert cases["old-torch-only"].find("skipped") is not None
    assert cases["good-raise"].find("failure") is None and cases["good-raise"].find("skipped") is None
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == str(len(ENTRIES))
    failing = {"drifted-signature", "wrong-exception", "fix-raises", "no-longer-fails", "symptom-gone"}
    failing |= {"hangs", "segfaults", "exits-early", "memory-hog"}
    assert suite.get("failures") == str(len(failing))
    assert suite.get("skipped") == "3"


def test_records_are_written_per_torch_and_device(validated: dict[str, Any]) -> None:
    import torch

    path = validated["kb"] / "verified" / record_file_name(torch.__version__, "cpu")
    records = read_record_file(path)
    assert set(records) == set(ENTRIES)
    assert records["good-raise"].outcome == "passed"
    assert records["hangs"].outcome == "failed"
    assert records["old-torch-only"].outcome == "skipped"
    assert records["good-raise"].device == "cpu" and records["good-raise"].cuda is None
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_other_device_file_untouched(validated: dict[str, Any]) -> None:
    assert validated["cuda_record"].read_text(encoding="utf-8") == '{"good-raise": {"outcome": "passed"}}\n'


def test_rerun_of_one_id_keeps_other_records(validated: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    path = validated["kb"] / "verified" / record_file_name(torch.__version__, "cpu")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["good-raise"]["date"] = "2000-01-01"
    data["hangs"]["date"] = "2000-01-01"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    code = validate_command(["good-raise"], None, "cpu", 1, None, None, [str(validated["kb"])], True)
    assert code == 0
    records = read_record_file(path)
    assert set(records) == set(ENTRIES)
    assert records["good-raise"].date != "2000-01-01"
    assert (records["hangs"].date, records["hangs"].outcome) == ("2000-01-01", "failed")
    assert validated["cuda_record"].read_text(encoding="utf-8") == '{"good-raise": {"outcome": "passed"}}\n'


# --------------------------------------------------------------------------- usage errors (no sandbox)


def test_unknown_id_exits_1_like_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    monkeypatch.setenv("LAZARUS_CACHE_DIR", str(tmp_path / "cache"))
    kb = tmp_path / "kb"
    write_entry(kb, "good-silent", *ENTRIES["good-silent"])
    assert validate(["no-such-entry"], None, "cpu", 1, None, None, [str(kb)], False) == 1
    assert capsys.readouterr().err.strip() == "lazarus: unknown entry id: no-such-entry"
    assert guarded(run_show, "no-such-entry", False, "en", [str(kb)]) == 1


def test_unknown_tag_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    write_entry(tmp_path, "good-silent", *ENTRIES["good-silent"])
    assert validate([], "no-such-tag-anywhere", "cpu", 1, None, None, [str(tmp_path)], False) == 1


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    write_entry(tmp_path, "good-silent", *ENTRIES["good-silent"])
    kb = [str(tmp_path)]
    assert validate(["good-silent"], None, "tpu", 1, None, None, kb, False) == 2
    assert validate(["good-silent"], None, "cpu", 1, str(tmp_path / "no" / "r.json"), None, kb, False) == 2
    assert validate(["good-silent"], None, "cpu", 1, None, None, [str(tmp_path / "missing")], False) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "lazarus: unknown device 'tpu': use one of cpu, cuda, all",
        f"lazarus: --json {tmp_path / 'no' / 'r.json'}: its folder does not exist",
        f"lazarus: --kb {tmp_path / 'missing'}: no such folder",
    ]
    with pytest.raises(UsageError):
        validate_command(["good-silent"], None, "tpu", 1, None, None, kb, False)


def test_no_builtin_leaves_the_builtin_kb_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    write_entry(tmp_path, "good-silent", *ENTRIES["good-silent"])
    monkeypatch.setenv("LAZARUS_NO_BUILTIN", "1")
    # A built-in id is unknown without the built-in KB: nothing runs.
    assert validate(["batchnorm-batch-of-one"], None, "cpu", 1, None, None, [str(tmp_path)], False) == 1
    assert "unknown entry id: batchnorm-batch-of-one" in capsys.readouterr().err


def test_cuda_requested_without_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    write_entry(tmp_path, "good-silent", *ENTRIES["good-silent"])
    assert validate(["good-silent"], None, "cuda", 1, None, None, [str(tmp_path)], False) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err
    assert len(err.strip().splitlines()) == 1


def test_records_that_cannot_be_written_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("LAZARUS_KB", raising=False)
    write_entry(tmp_path, "good-silent", *ENTRIES["good-silent"])
    (tmp_path / "verified").write_text("a file where the records folder belongs\n", encoding="utf-8")
    assert validate(["good-silent"], None, "cpu", 1, None, None, [str(tmp_path)], True) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lazarus: --record: cannot write ") and "verified" in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert (tmp_path / "verified").read_text(encoding="utf-8") == "a file where the records folder belongs\n"


# --------------------------------------------------------------------------- the rules, directly


def entry(signatures: tuple[str, ...] = ("old wording",), raises: str | None = "ValueError") -> Entry:
    snippet = Snippet(fixed="pass", broken="pass", raises=raises)
    return Entry("e", "t", "t", "s", "s", signatures, ("x",), ("c",), ("c",), "f", "f", (snippet,), ("tag",), ())


def raised(exc_type: str, message: str, mro: tuple[str, ...] = ()) -> ChildOutcome:
    return ChildOutcome("raised", exc_type=exc_type, exc_mro=(exc_type, *mro, "Exception"), message=message)


def test_judge_matches_on_type_and_message() -> None:
    e = entry()
    assert judge_broken(e, e.snippets[0], raised("ValueError", "the old wording"), None)[0] == "passed"
    verdict, reason = judge_broken(e, e.snippets[0], raised("ValueError", "new\nsecond line"), None)
    assert (verdict, reason) == ("failed", "broken raised ValueError but no signature matched: new")


def test_judge_accepts_a_base_class() -> None:
    e = entry(raises="RuntimeError")
    oom = raised("OutOfMemoryError", "CUDA out of memory. old wording", ("RuntimeError",))
    assert judge_broken(e, e.snippets[0], oom, None)[0] == "passed"


def test_judge_truncates_long_messages() -> None:
    e = entry()
    _, reason = judge_broken(e, e.snippets[0], raised("ValueError", "x" * 1000), None)
    assert len(reason) < 300 and reason.endswith("…")


def test_judge_fixed_memory_and_crash() -> None:
    memory = raised("RuntimeError", "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
    assert judge_fixed(memory, 4 * 1024**3)[1].startswith("fixed exceeded memory cap (4 GiB): RuntimeError")
    crash = ChildOutcome("crashed", signal="SIGABRT")
    assert judge_fixed(crash, None) == ("failed", "fixed crashed: killed by signal SIGABRT")


@pytest.mark.parametrize(
    ("spec", "version", "allowed"),
    [
        (">=2.6", "2.13.0+cpu", True),
        ("<2.6", "2.13.0", False),
        (">=2.0,<2.6", "2.5.1", True),
        (">=2.0,<2.6", "2.6.0", False),
        ("==2.13", "2.13.0", True),
        ("!=2.13", "2.13.0", False),
        ("<2.10", "2.9.1", True),
        # A nightly or source build counts as the release it leads to.
        (">=2.6", "2.6.0a0+git1234", True),
        ("<2.6", "2.6.0a0+git1234", False),
        (">=2.7", "2.7.0.dev20250101+cpu", True),
        ("~=2.6", "2.9.1", True),
        ("==2.*", "3.0.0", False),
    ],
)
def test_version_allows(spec: str, version: str, allowed: bool) -> None:
    assert version_allows(spec, version) is allowed


@pytest.mark.parametrize(
    ("spec", "valid"),
    [(">=2.6,<3", True), ("<2.10", True), ("~=2.6", True), ("2.6", False), ("", False), ("=>2", False)],
)
def test_the_kb_accepts_the_ranges_the_validator_reads(spec: str, valid: bool) -> None:
    assert is_version_range(spec) is valid


def test_select_entries() -> None:
    a, b = entry(), entry()
    a = a._replace(id="a", tags=("x",))
    b = b._replace(id="b", tags=("y",))
    assert [e.id for e in select_entries([a, b], [], None)] == ["a", "b"]
    assert [e.id for e in select_entries([a, b], ["b"], None)] == ["b"]
    assert [e.id for e in select_entries([a, b], [], "y")] == ["b"]
    with pytest.raises(NoSuchEntry):
        select_entries([a, b], ["c"], None)
    with pytest.raises(NoSuchEntry):
        select_entries([a, b], ["a"], "y")
    with pytest.raises(UsageError):
        select_entries([], [], None)


def test_combine_outcomes() -> None:
    assert combine_outcomes(["passed", "skipped"]) == "passed"
    assert combine_outcomes(["skipped", "skipped"]) == "skipped"
    assert combine_outcomes(["passed", "failed", "skipped"]) == "failed"


def test_preload_hints() -> None:
    hints = preload_hints(["import torch\nopt = torch.optim.SGD([], lr=0.1)\n", "import numpy as np\n"])
    assert {"torch", "torch._dynamo", "numpy"} <= set(hints)


def test_imported_modules() -> None:
    code = "import torch.nn as nn\nfrom torch.utils.data import DataLoader\nfrom . import x\nimport os, json\n"
    assert imported_modules(code) == {"torch.nn", "torch.utils.data", "os", "json"}
