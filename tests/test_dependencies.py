"""Every third-party package curate's own modules import is one curate declares (a requirement or an extra's),
not one that only happens to arrive with another package."""

import re
import sys
from importlib.metadata import packages_distributions, requires

from package_imports import PACKAGE, imported_modules, package_modules


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_packages() -> dict[str, str]:
    """Top-level name -> a module of curate that imports it."""
    found: dict[str, str] = {}
    for path in package_modules().values():
        for name in sorted(imported_modules(path)):
            found.setdefault(name.split(".")[0], str(path.relative_to(PACKAGE)))
    return found


def test_every_imported_package_is_declared():
    declared = {canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group()) for requirement in requires("curate")}
    providers = packages_distributions()
    imported = imported_packages()
    third_party = {name: where for name, where in imported.items() if name not in sys.stdlib_module_names}
    assert {"datatrove", "warcio", "lxml", "torch"} <= set(third_party)  # the scan sees lazy imports too
    undeclared = {
        name: where
        for name, where in third_party.items()
        if name != "curate" and not {canonical(d) for d in providers.get(name, [name])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
