"""curate's imports read top down: the commands (run, fetch, mix, push, train, annotate's CLI) -> the recipes and
the executors -> the building blocks (blocks, annotate, classify, publish), with no cycles among modules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "curate"
BUILDING_BLOCKS = ("curate.blocks", "curate.annotate", "curate.classify", "curate.publish")
ABOVE_THEM = ("curate.recipes", "curate.executors", "curate.run", "curate.fetch", "curate.mix", "curate.push",
              "curate.train", "curate.cli", "curate.annotate.__main__")  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module, top_level_only: bool) -> set[str]:
    """The curate modules a module imports (``top_level_only``: those run at import time, not inside functions)."""
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "curate" or name.startswith("curate.")}


def graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py") if (p.parent / "__init__.py").exists()}
    return {name: imports(ast.parse(p.read_text()), top_level_only) & set(modules) for name, p in modules.items()}


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def test_building_blocks_import_nothing_from_the_layers_above():
    edges = graph(top_level_only=False)
    assert "curate.recipes.common" in edges["curate.annotate.__main__"]  # the scan sees imports inside functions
    upward = {
        (name, target)
        for name, targets in edges.items()
        if within(name, BUILDING_BLOCKS) and not within(name, ("curate.annotate.__main__",))
        for target in targets
        if within(target, ABOVE_THEM)
    }
    assert not upward


def test_no_import_cycle_among_modules():
    edges = graph(top_level_only=True)
    assert "curate.recipes" in edges["curate.executors"]
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError(f"import cycle: {' -> '.join(path[path.index(name) :] + [name])}")
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        done.add(name)

    for module in sorted(edges):
        visit(module, [])
