"""Write one benchmark's section into docs/benchmarks.md, replacing an earlier version of that section."""

import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {date.today()}"


def write_section(title: str, body: str, level: int = 2) -> None:
    """Replace the ``level`` heading ``title`` and its text up to the next heading of that level or above."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    heading = "#" * level
    section = f"{heading} {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{heading} {re.escape(title)}\n.*?(?=^#{{2,{level}}} |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    BENCHMARKS_MD.write_text(text)
