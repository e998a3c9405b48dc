"""initlab's imports: no cycles among its modules, and the core loads without heavy libraries.

The graph counts every import statement: module-level, inside functions and under
``TYPE_CHECKING``, so a cycle cannot hide behind a function-level import. A module's imports
of its own packages (``import initlab`` in ``initlab.experiments.store``) are not edges:
importing the module has run those packages' ``__init__`` already. This is the rule of the
project's pre-stop check.
"""

import ast
import subprocess
import sys
from pathlib import Path

import initlab

SRC = Path(initlab.__file__).resolve().parent
HEAVY = ("sklearn", "matplotlib", "scipy.stats", "numba", "pandas", "fastapi")
CORE = ("initlab.initializers", "initlab.network", "initlab.theory")


def _modules() -> dict[str, Path]:
    """Every module under src/initlab by dotted name (packages by their own name)."""
    out = {}
    for path in SRC.rglob("*.py"):
        parts = ("initlab", *path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(node: ast.AST, module: str, is_package: bool, modules: set[str]) -> list[str]:
    """The initlab modules an import statement loads (relative imports resolved)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            full = ".".join([*base, *([node.module] if node.module else [])])
        else:
            full = node.module or ""
        names = [f"{full}.{a.name}" if f"{full}.{a.name}" in modules else full for a in node.names]
    else:
        return []
    found = []
    for name in names:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in modules and not (module == name or module.startswith(name + ".")):
            found.append(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """module → the initlab modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            graph[module].update(_targets(node, module, is_package, set(modules)))
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself (breadth first)."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle in component {component}")  # pragma: no cover


def test_the_graph_sees_function_level_and_type_checking_imports():
    graph = import_graph()
    assert "initlab.network" in graph["initlab.initializers.lsuv"]
    assert "initlab.initializers.registry" in graph["initlab.initializers.lsuv"]
    assert "initlab._html" in graph["initlab.theory.prediction"]  # in Prediction._repr_html_
    assert "initlab.compare" in graph["initlab"]  # under TYPE_CHECKING only
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_core_modules_import_without_heavy_libraries():
    code = (
        f"import sys\nimport {', '.join(CORE)}\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') "
        "for h in heavy)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]", f"importing {CORE} loaded: {result.stdout.strip()}"
