"""Layering: spaces at the bottom and torch-free; modules import only downward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "sklearn_ofa"

#: what each bottom-layer module may import from the package at module level
BOTTOM = {"_checks", "exceptions", "spaces"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path) -> set[str]:
    """Package modules imported at module level (imports inside functions are lazy)."""
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m == "sklearn_ofa" or m.startswith("sklearn_ofa.")}


@pytest.mark.parametrize(
    "path",
    sorted((PKG / "spaces").glob("*.py")) + [PKG / "_checks.py", PKG / "exceptions.py"],
    ids=lambda p: p.name,
)
def test_bottom_layer_imports_only_the_bottom(path):
    for mod in _top_level_imports(path):
        layer = mod.split(".")[1] if mod.count(".") else ""
        assert layer in BOTTOM, f"{_module_name(path)} imports {mod} at module level"


def test_nets_import_spaces_not_the_reverse():
    for path in (PKG / "nets").glob("*.py"):
        layers = {m.split(".")[1] for m in _top_level_imports(path) if m.count(".")}
        assert layers <= {"nets", "spaces", "exceptions", "_checks", "_versioning"}, path.name


def test_spaces_and_encoder_load_without_torch():
    code = (
        "import sys, sklearn_ofa.spaces, sklearn_ofa.encoding, sklearn_ofa.efficiency.flops_model\n"
        "space = sklearn_ofa.spaces.get_space('ofa_mbv3_w1.2')\n"
        "sklearn_ofa.encoding.ArchEncoder(space=space).fit().transform(space.sample(3, random_state=0))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PKG.parent.parent)


def test_spaces_work_where_torch_cannot_be_imported(tmp_path):
    """A process in which `import torch` fails can still define, sample and encode spaces."""
    (tmp_path / "torch.py").write_text("raise ImportError('torch is not installed here')\n")
    code = (
        "import sklearn_ofa.spaces as s\n"
        "space = s.get_space('ofa_resnet50')\n"
        "codes = space.mutate_codes(space.sample_codes(10, random_state=0), random_state=1)\n"
        "print(len(space.from_codes(codes)))\n"
        "try:\n    import torch\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('torch imported: the test is void')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "10"


def test_package_import_graph_has_no_cycle():
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {
        m: {d for d in _top_level_imports(p) if d in modules and d != m} for m, p in modules.items()
    }
    assert graph["sklearn_ofa.nets.networks"] >= {"sklearn_ofa.spaces"}  # the walk sees edges
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            assert state.get(d) != 1, "import cycle: " + " -> ".join(path[path.index(d) :] + [d])
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
