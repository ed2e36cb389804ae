"""Run a configured recipe into a folder in tests, as ``python -m curate.run`` would."""

from pathlib import Path

from faults import FailOnceInTask

from curate.config import RecipeConfig
from curate.recipes import RunPaths, build_stages
from curate.run import execute


def run_recipe(cfg: RecipeConfig, out: Path, executor: str = "local", fail_marker: Path | None = None) -> int:
    """The exit code of running ``cfg`` into ``out`` (logs in ``out/logs``) on ``executor``.

    With ``fail_marker``, the last stage's task 1 dies mid-stream once, after its first documents went down the
    pipeline (the marker file records that it did).
    """
    paths = RunPaths(str(out), str(out / "logs"))
    stages = build_stages(cfg, paths)
    if fail_marker is not None:
        stages[-1].pipeline.insert(1, FailOnceInTask(rank=1, marker=str(fail_marker), after=3))
    return execute(cfg, stages, executor, paths)
