"""curate's own modules (package data, such as the code samples, is left out: its folders are not packages) and
the modules each one imports, read from the source with ``ast``."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "curate"


def package_modules() -> dict[str, Path]:
    """Dotted module name -> its file."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if (path.parent / "__init__.py").exists():
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_modules(path: Path, top_level_only: bool = False) -> set[str]:
    """What a module imports, absolute names only (``from a import b`` gives ``a`` and ``a.b``); with
    ``top_level_only``, only the imports run when it is imported, not those inside functions."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found
