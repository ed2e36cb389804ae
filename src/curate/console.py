"""What a run prints: one progress line per stage, then the summary. Everything else that the stages, datatrove
and the libraries write (per-task stats, logs, warnings) goes to ``<logs>/console.log``; ``--verbose`` shows it."""

import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from curate.recipes import RunPaths, Stage

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


def is_local(path: str) -> bool:
    """Whether ``path`` is on this machine's filesystem (not an fsspec URL such as ``s3://``)."""
    return not _URL.match(path) or path.startswith("file://")


def console_log_path(paths: RunPaths) -> Path:
    """``<logs>/console.log``, or a temporary file when the logs folder is not on this machine (``s3://``)."""
    if not is_local(paths.logs):
        return Path(tempfile.gettempdir()) / f"curate-console-{os.getpid()}.log"
    return Path(paths.logs.removeprefix("file://")) / "console.log"


@contextmanager
def output_to(log: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (and those of the processes it starts) to ``log``.

    Works on the file descriptors, so task processes, C extensions and warnings are caught too. Yields a stream
    to the real terminal (the original stderr) for progress lines.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    os.dup2(target, 1)
    os.dup2(target, 2)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)
        terminal.close()


def stage_documents(logs: Path) -> int | None:
    """Documents the first step of a stage handled, summed over the stats of its finished tasks."""
    total = None
    for stats_file in (logs / "stats").glob("*.json"):
        steps = json.loads(stats_file.read_text())
        if not steps:
            continue
        stats = steps[0].get("stats", {})
        value = stats.get("documents", stats.get("total"))
        if value is not None:
            total = (total or 0) + int(value["total"] if isinstance(value, dict) else value)
    return total


def _done(logs: Path) -> int:
    completions = logs / "completions"
    return sum(1 for _ in completions.iterdir()) if completions.is_dir() else 0


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class StageProgress:
    """One line per stage: ``stage 2/5 minhash_signatures: 4/4 tasks, 1,234 docs/s, 0:00:07``.

    A background thread follows datatrove's completion markers; on a terminal the current stage's line is
    updated in place, elsewhere each stage's line is written once, when it finishes.
    """

    def __init__(
        self, stages: list[Stage], paths: RunPaths, out: TextIO, interval: float = 0.5, live: bool | None = None
    ):
        self.stages = stages
        self.paths = paths
        self.out = out
        self.interval = interval
        self.live = out.isatty() if live is None else live
        self.reported = 0
        self.stage_start = time.monotonic()
        self.already_done = [_done(Path(paths.stage_logs(s.name))) >= s.tasks for s in stages]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self) -> "StageProgress":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll(final=True)

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def line(self, index: int, done: int) -> str:
        stage = self.stages[index]
        logs = Path(self.paths.stage_logs(stage.name))
        elapsed = time.monotonic() - self.stage_start
        if self.already_done[index]:
            rate = "done in an earlier run"
        else:
            docs = stage_documents(logs)
            per_second = docs / max(elapsed, 1e-3) if docs else None
            rate = "- docs/s" if per_second is None else f"{per_second:,.{0 if per_second >= 10 else 1}f} docs/s"
        position = f"stage {index + 1}/{len(self.stages)} {stage.name}"
        return f"{position}: {done}/{stage.tasks} tasks, {rate}, {_elapsed(elapsed)}"

    def poll(self, final: bool = False) -> None:
        while self.reported < len(self.stages):
            stage = self.stages[self.reported]
            done = _done(Path(self.paths.stage_logs(stage.name)))
            if done < stage.tasks:
                if final:  # the run stopped inside this stage: say how far it got
                    self.out.write(("\r" if self.live else "") + self.line(self.reported, done) + "\n")
                    self.reported = len(self.stages)
                elif self.live:
                    self.out.write("\r" + self.line(self.reported, done))
                return
            self.out.write(("\r" if self.live else "") + self.line(self.reported, done) + "\n")
            self.out.flush()
            self.reported += 1
            self.stage_start = time.monotonic()
