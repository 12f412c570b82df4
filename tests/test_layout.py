"""Tests of the package layout: imports run one way down the flow, and each sub-package's public names.

The layers, top to bottom: report, review, risk, resources, planning, forecast, data, core. A module may
import its own sub-package and any layer below it, never one above; the graph of planlib's imports
(read with ast, lazy imports inside functions included) has no circle.
"""
from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "planlib"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LAYERS = ["core", "data", "forecast", "planning", "resources", "risk", "review", "report"]
MAX_LINES = 560  # "about 500": a module over this is to be split


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def planlib_imports(path: Path) -> set[str]:
    """The planlib modules a file imports, anywhere in it (``from a.b import c`` counts a.b.c if it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("planlib"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not target.startswith("planlib"):
                continue
            found.add(target)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                        (PACKAGE.parent / Path(*sub.split(".")) / "__init__.py").exists():
                    found.add(sub)
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: {m for m in planlib_imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_every_module_sits_in_a_layer_or_is_the_package_root():
    loose = [m for m in MODULES if m != "planlib" and layer(m) is None]
    assert loose == [], f"modules outside the sub-packages {LAYERS}: {loose}"


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{m} imports {t} ({LAYERS[layer(t)]} is above {LAYERS[layer(m)]})"
              for m, targets in sorted(GRAPH.items()) if layer(m) is not None
              for t in sorted(targets) if layer(t) is not None and layer(t) > layer(m)]
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_the_import_graph_has_no_circle():
    # Package __init__ files re-export their own modules; an edge from a package to its own submodule
    # (or from a submodule to its package's __init__, which is how Python loads it) is not a circle of logic.
    def edges(m):
        return {t for t in GRAPH[m] if not (t.startswith(m + ".") or m.startswith(t + "."))}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges(m)):
            if state.get(t) == 1:
                circle = stack[stack.index(t):] + [t]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_the_checker_sees_an_upward_import_and_a_circle(tmp_path):
    # The checks above would pass on an empty graph; this shows they read a planted violation.
    fake = tmp_path / "planlib" / "data"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from planlib.report.runner import run_plan\n")
    global PACKAGE
    saved = PACKAGE
    try:
        PACKAGE = tmp_path / "planlib"
        assert planlib_imports(fake / "bad.py") == {"planlib.report.runner"}
        assert layer("planlib.report.runner") > layer(module_name(fake / "bad.py"))
    finally:
        PACKAGE = saved


def test_no_module_is_much_over_500_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines (split them): {long}"


SUBPACKAGES = ["planlib", *[f"planlib.{name}" for name in LAYERS], "planlib.risk", "planlib.report.charts"]


@pytest.mark.parametrize("name", sorted(set(SUBPACKAGES)))
def test_public_names_are_listed_in_all_and_exist(name):
    package = importlib.import_module(name)
    assert package.__doc__ and len(package.__doc__.strip()) > 40, f"{name} has no docstring saying what it holds"
    public = getattr(package, "__all__", None)
    assert public is not None, f"{name} has no __all__"
    assert len(public) == len(set(public)), f"{name}.__all__ repeats a name"
    missing = [n for n in public if not hasattr(package, n)]
    assert missing == [], f"{name}.__all__ names what it does not have: {missing}"
    # what the __init__ re-exports from its own modules and does not list is a name a reader cannot find
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    bound = {a.asname or a.name for node in tree.body if isinstance(node, ast.ImportFrom)
             and (node.module or "").startswith(name) for a in node.names}
    unlisted = sorted(n for n in bound if not n.startswith("_") and n not in public)
    assert unlisted == [], f"{name} imports public names it does not list in __all__: {unlisted}"


def notebook_imports():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("planlib"):
                    for alias in node.names:
                        yield path.name, node.module, alias.name


def test_notebooks_import_only_public_names():
    private = []
    for notebook, module, name in notebook_imports():
        package = importlib.import_module(module)
        subpackage = (Path(package.__file__).parent / name / "__init__.py").exists() and module == "planlib"
        if name not in getattr(package, "__all__", ()) and not subpackage:
            private.append(f"{notebook}: from {module} import {name}")
    assert private == [], "notebooks import names that are not public (not in the package's __all__):\n" + \
        "\n".join(private)
