"""`lazarus env` through the real CLI: this interpreter, another one, a pasted report, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import FIXTURES


def test_env_checks_this_interpreter(run_cli):
    import torch

    result = run_cli("env", "--python", sys.executable)
    assert result.returncode in (0, 1), result.stderr
    assert f"torch        {torch.__version__}" in result.stdout
    assert "✓ torch is installed in this Python" in result.stdout
    assert "checks passed" in result.stdout
    data = json.loads(run_cli("env", "--python", sys.executable, "--json").stdout)
    assert data["facts"]["torch"] == torch.__version__
    assert data["facts"]["python_path"] == sys.executable
    assert {
        "entry": "torch-not-installed-in-this-python",
        "title": "torch is installed in this Python",
        "status": "passed",
        "says": None,
    } in data["checks"]


def test_an_interpreter_without_torch_is_the_finding(run_cli, tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    python = tmp_path / "bare" / "bin" / "python"
    result = run_cli("env", "--python", str(python))
    assert result.returncode == 1
    assert "✗ torch is installed in this Python" in result.stdout
    assert f"torch is not installed for this interpreter ({python}" in result.stdout
    assert "→ lazarus show torch-not-installed-in-this-python" in result.stdout
    chinese = run_cli("env", "--python", str(python), "--lang", "zh")
    assert "✗ 这个 Python 里装了 torch" in chinese.stdout


def test_a_pasted_report(run_cli):
    report = FIXTURES / "env" / "detectron2-3351-torchvision-0.7-with-torch-1.9.txt"
    result = run_cli("env", "--report", str(report))
    assert result.returncode == 1
    assert "✗ torchvision matches torch" in result.stdout
    assert "torchvision 0.7.0 was not released with torch 1.9.0+cu102 (its torchvision is 0.10.x)" in result.stdout
    assert "pip install torch==1.9.0 torchvision==0.10.*" in result.stdout
    piped = run_cli("env", "--report", "-", input=report.read_text(encoding="utf-8"))
    assert "✗ torchvision matches torch" in piped.stdout


def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path):
    for args, message in [
        (["--python", str(tmp_path / "nope")], "--python: no such interpreter"),
        (["--python", "/etc/hostname"], "--python: cannot run /etc/hostname"),
        (["--report", str(tmp_path / "missing.txt")], "no such file"),
        (["--python", sys.executable, "--report", "-"], "give one of them"),
    ]:
        result = run_cli("env", *args, input="")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    text = tmp_path / "notes.txt"
    text.write_text("nothing about an environment here\n", encoding="utf-8")
    result = run_cli("env", "--report", str(text))
    assert result.returncode == 2 and "no environment report found" in result.stderr


def test_a_question_that_starts_with_env_is_a_question(run_cli):
    result = run_cli("env", "variable", "RANK", "expected", "but", "not", "set")
    assert result.returncode in (0, 1) and "lazarus env:" not in result.stdout
    assert "ddp-env-vars-not-set" in result.stdout or "No confident match" in result.stderr
