"""The tables and the check language of `environment` fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lazarus.environment import tables
from lazarus.environment.facts import derive
from lazarus.environment.rules import evaluate, holds
from lazarus.kb.load import check_entry_data
from lazarus.model import EnvCheck
from tests.conftest import KB


@pytest.mark.parametrize(
    "capability,arch,supported",
    [
        ("8.6", ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80"), True),  # same major, lower minor runs
        ("12.0", ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"), False),
        ("12.0", ("sm_80", "sm_90", "sm_100", "sm_120"), True),
        ("8.6", ("sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "compute_75"), True),  # PTX compiles forward
        ("5.0", ("sm_60", "sm_70"), False),
    ],
)
def test_architectures(capability, arch, supported):
    assert tables.arch_supported(capability, arch) is supported


def test_drivers_torchvision_and_python():
    assert str(tables.minimum_driver("12.1", windows=False)) == "525.60.13"
    assert str(tables.minimum_driver("11.8", windows=True)) == "452.39"
    assert tables.companion("torchvision", "2.4.0+cu121") == "0.19"
    assert tables.companion("torchvision", "1.9.0") == "0.10"
    assert tables.companion("torchaudio", "2.1.2") == "2.1"
    assert tables.newest_python("2.1.0") == (3, 11)
    assert tables.capability_of("NVIDIA GeForce RTX 5090 D") == "12.0"
    assert tables.capability_of("GeForce GTX 1080 Ti") == "6.1"


def test_derived_facts():
    facts = derive({"torch": "2.4.0+cu121", "driver": "470.86", "torchvision": "0.20.1", "python": "3.12.1"})
    assert facts["torch_cuda"] == "12.1" and facts["cpu_only_torch"] is False
    assert facts["driver_supports_torch_cuda"] is False and facts["driver_needed"] == "525.60.13"
    assert facts["torchvision_matches_torch"] is False and facts["torchvision_wanted"] == "0.19"
    assert facts["python_supported_by_torch"] is True
    assert derive({"torch": "2.1.0+cpu"})["cpu_only_torch"] is True


def test_a_check_holds_only_on_known_facts():
    check = EnvCheck("NumPy", "NumPy", (("numpy", ">=2"), ("torch", "<2.3")), "NumPy {numpy} with {torch}", "")
    assert holds(check, {"numpy": "2.0.1", "torch": "2.2.2+cpu"}) is True
    assert holds(check, {"numpy": "1.26.4", "torch": "2.2.2"}) is False
    assert holds(check, {"numpy": "2.0.1"}) is None  # torch unknown: not applicable
    (finding,) = evaluate({"numpy": "2.0.1", "torch": "2.2.2+cpu"}, [("numpy2-abi-mismatch", check)])
    assert finding.failed and finding.says == "NumPy 2.0.1 with 2.2.2+cpu"


@pytest.mark.parametrize(
    "environment,field,message",
    [
        ([{"title": "t", "says": "s", "when": {"numpie": ">=2"}}], "environment[0].when.numpie", "unknown fact"),
        ([{"title": "t", "says": "s", "when": {"numpy": "two"}}], "environment[0].when.numpy", "not a version range"),
        (
            [{"title": "t", "says": "s", "when": {"cpu_only_torch": "yes"}}],
            "environment[0].when.cpu_only_torch",
            "true or false",
        ),
        ([{"title": "t", "says": "{gpu_price}", "when": {"nvidia_gpu": True}}], "environment[0].says", "not a fact"),
        ([{"title": "t", "when": {"nvidia_gpu": True}}], "environment[0].says", "non-empty string"),
        ({"title": "t"}, "environment", "non-empty list"),
    ],
)
def test_kb_check_names_the_field_of_a_bad_check(environment, field, message):
    path = KB / "version" / "numpy2-abi-mismatch.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["environment"] = environment
    problems = check_entry_data(data, Path(path))
    assert any(f == field and message in m for f, m in problems), problems
