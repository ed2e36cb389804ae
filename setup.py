"""Packaging layout; everything else about the package is in pyproject.toml.

The top-level ``pipelines/`` and ``classifiers/`` folders stay where people read and edit them, and ship inside the
package as ``curate.pipelines`` and ``curate.classifiers`` (read with ``importlib.resources``). A ``package_dir``
mapping does that for the wheel and for the editable install alike; pyproject.toml alone cannot combine it with
package discovery.
"""

from pathlib import Path

from setuptools import find_packages, setup

DATA_PACKAGES = {"curate.pipelines": "pipelines", "curate.classifiers": "classifiers"}


def data_files(folder: str) -> list[str]:
    """Every file under ``folder`` (relative to it), without Python caches."""
    root = Path(folder)
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


setup(
    packages=[*find_packages("src"), *DATA_PACKAGES],
    package_dir={"": "src", **DATA_PACKAGES},
    package_data={
        "curate": ["py.typed", "sample/*", "sample/code/*", "sample/code/*/*"],
        **{package: data_files(folder) for package, folder in DATA_PACKAGES.items()},
    },
)
