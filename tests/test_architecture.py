"""The package's layers and the absence of import cycles, as a contract (see ARCHITECTURE.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import grimp

from tests.conftest import ROOT


def test_layers_contract_holds() -> None:
    lint = shutil.which("lint-imports") or str(ROOT / ".venv" / "bin" / "lint-imports")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_itself_back() -> None:
    """No cycle between modules, lazy (function-level) imports included."""
    graph = grimp.build_graph("lazarus", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    # A package's __init__ that re-exports for documented entry points is not a cycle of code.
    cycles = [c for c in cycles if not c.startswith(("lazarus <->", "lazarus.hook <->"))]
    assert cycles == [], "\n".join(cycles)


def test_query_path_never_imports_torch() -> None:
    code = "import sys, lazarus.cli; lazarus.cli  # noqa\nassert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_query_from_the_cache_imports_only_what_it_needs(tmp_path) -> None:
    """Start-up is a feature (ARCHITECTURE.md): once the index is cached, a plain query (a
    message, an English and a Chinese description) imports no pathlib, json, pickle, yaml, typer,
    typing or rapidfuzz, and compiles no regex again."""
    code = (
        "import sys\n"
        "from lazarus.cli import main\n"
        "for query in ['ValueError: Expected more than 1 value per channel when training, got input size [1, 256]',\n"
        "              'loss is nan after a few epochs', '训练时loss一直是nan',\n"
        "              'training loss does not decrease and the accuracy stays the same after many epochs']:\n"
        "    try:\n"
        "        main([query])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "from lazarus.regex import store\n"
        "heavy = {'pathlib', 'json', 'pickle', 'yaml', 'typer', 'torch', 'typing', 'rapidfuzz'}\n"
        "print(sorted(heavy & set(sys.modules)), len(store._new))\n"
    )
    env = {**os.environ, "LAZARUS_CACHE_DIR": str(tmp_path)}
    env.pop("LAZARUS_NO_CACHE", None)
    subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=120, env=env, capture_output=True
    )  # fills the cache
    second = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=120, env=env, capture_output=True, text=True
    )
    assert second.stdout.split("\n")[-2:] == ["[] 0", ""], second.stdout
