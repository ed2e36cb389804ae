"""curate's imports read top down: the commands (run, fetch, mix, push, train, annotate's CLI) -> the recipes and
the executors -> the building blocks (blocks, annotate, classify, publish), with no cycles among modules."""

from package_imports import imported_modules, package_modules

BUILDING_BLOCKS = ("curate.blocks", "curate.annotate", "curate.classify", "curate.publish")
ABOVE_THEM = ("curate.recipes", "curate.executors", "curate.run", "curate.fetch", "curate.mix", "curate.push",
              "curate.train", "curate.cli", "curate.annotate.__main__")  # fmt: skip


def graph(top_level_only: bool) -> dict[str, set[str]]:
    """Module -> the curate modules it imports."""
    modules = package_modules()
    return {name: imported_modules(path, top_level_only) & set(modules) for name, path in modules.items()}


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
