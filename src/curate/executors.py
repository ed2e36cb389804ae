"""Turn recipe stages into chained datatrove executors (local, Slurm or Ray) and run them.

Every executor keeps datatrove's completion markers under ``<logs>/<stage>/completions``: rerunning the same
command skips finished tasks, and a stage starts only after every task of the stage before it finished.
"""

import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from datatrove.executor import SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor
from datatrove.executor.slurm import launch_slurm_job

from curate.classify.devices import SlotLocalExecutor, local_workers, stage_uses_gpu, visible_gpus
from curate.config import ConfigError, RecipeConfig
from curate.recipes import RunPaths, Stage

EXECUTORS = ("local", "slurm", "ray")
# the settings of each executor that size a task (the others say where and how to run); executors.yaml gives the
# executor-wide values, ``stages.<stage>.<executor>.<key>`` one stage's. GPUs are asked per stage only (default 0).
RESOURCE_KEYS = {
    "local": (),
    "slurm": ("partition", "time", "cpus_per_task", "mem_per_cpu_gb", "gpus_per_task", "qos", "sbatch_args"),
    "ray": ("cpus_per_task", "mem_per_cpu_gb", "gpus_per_task"),
}
PER_STAGE_DEFAULTS = {"gpus_per_task": 0}


class SlurmStageExecutor(SlurmPipelineExecutor):
    """datatrove's SlurmPipelineExecutor whose stats-merging job asks for no GPU (datatrove gives it the stage's)
    and keeps its id, so that a waiting run returns only once that job has left the queue too."""

    merge_job_id: str | None = None

    def launch_merge_stats(self) -> None:
        sbatch_args = {key: value for key, value in self.get_sbatch_args().items() if key != "gpus"}
        sbatch_args.update({"cpus-per-task": 1, "mem-per-cpu": "1G", "dependency": f"afterok:{self.job_id}"})
        stats = self.logging_dir.resolve_paths("stats")
        script = self.get_launch_file_contents(
            sbatch_args, f"merge_stats {stats} -o {self.logging_dir.resolve_paths('stats.json')}"
        )
        self.merge_job_id = launch_slurm_job(script, self.job_id_retriever)


class StageFailedError(RuntimeError):
    """A stage has tasks that did not complete; downstream stages were not run."""


def stage_resources(stage: Stage, kind: str, cfg: RecipeConfig) -> dict[str, Any]:
    """What ``kind`` gives each task of ``stage``: the executor's config section, overridden by the stage's own
    ``Stage.resources[kind]`` (the ``stages.<name>.<kind>`` settings)."""
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor {kind!r} (known: {', '.join(EXECUTORS)})")
    section = {**PER_STAGE_DEFAULTS, **cfg.section(kind)}
    own = stage.resources.get(kind, {})
    resources = {key: own.get(key, section.get(key)) for key in RESOURCE_KEYS[kind]}
    if kind == "slurm":  # the stage's extra #SBATCH options add to the shared ones
        resources["sbatch_args"] = {**(section.get("sbatch_args") or {}), **(own.get("sbatch_args") or {})}
    return {"tasks": stage.tasks, "workers": stage.workers, **resources}


def build_executors(stages: list[Stage], kind: str, cfg: RecipeConfig, paths: RunPaths) -> list[PipelineExecutor]:
    executors: list[PipelineExecutor] = []
    for stage in stages:
        previous = executors[-1] if executors else None
        common = {"logging_dir": paths.stage_logs(stage.name), "depends": previous}
        resources = stage_resources(stage, kind, cfg)
        if kind == "local":
            if stage_uses_gpu(stage.pipeline):  # one task per visible GPU at a time, each pinned to its own
                resources["workers"] = local_workers(resources["workers"], resources["tasks"], visible_gpus())
            executor = SlotLocalExecutor(stage.pipeline, **resources, **common)
        elif kind == "slurm":
            resources["sbatch_args"] = resources["sbatch_args"] or None
            executor = SlurmStageExecutor(
                stage.pipeline,
                venv_path=cfg["slurm.venv_path"] or _current_venv_activate(),
                job_name=f"curate_{cfg.recipe}_{stage.name}",
                slurm_logs_folder=f"{paths.logs}/slurm/{stage.name}",
                **resources,
                **common,
            )
        else:
            from datatrove.executor.ray import RayPipelineExecutor

            executor = RayPipelineExecutor(stage.pipeline, **resources, **common)
        executors.append(executor)
    return executors


def run_stages(executors: list[PipelineExecutor], kind: str, cfg: RecipeConfig, terminal: TextIO = sys.stderr) -> bool:
    """Run the chain, or several independent chains (``build_executors`` outputs joined: all are submitted at once
    on Slurm). Returns True when every stage finished here (always for local/ray, with ``wait`` on Slurm)."""
    if kind == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(address=cfg["ray.address"], ignore_reinit_error=True)
    depended_on = {id(e.depends) for e in executors if e.depends is not None}
    try:
        for executor in [e for e in executors if id(e) not in depended_on]:
            executor.run()  # each executor runs (or submits) the stage it depends on first
    except Exception as e:  # a task failed: report which stage stopped, the rerun resumes from there
        check_complete(executors)
        raise StageFailedError(f"a task failed: {e!r}") from e
    if kind == "slurm":
        job_ids = slurm_job_ids(executors)
        if job_ids:
            print(f"submitted Slurm jobs {', '.join(job_ids)}", file=terminal, flush=True)
        if not cfg["slurm.wait"]:
            return False
        wait_for_slurm_jobs(job_ids + [e.merge_job_id for e in executors if getattr(e, "merge_job_id", None)])
    check_complete(executors)
    return True


def slurm_job_ids(executors: list[PipelineExecutor]) -> list[str]:
    """The ids of the Slurm jobs submitted for the stages (none for other executors)."""
    return [str(e.job_id) for e in executors if getattr(e, "job_id", None) not in (None, -1)]


def check_complete(executors: list[PipelineExecutor]) -> None:
    for executor in executors:
        missing = executor.get_incomplete_ranks()
        if missing:
            raise StageFailedError(
                f"stage {Path(executor.logging_dir.path).name} has {len(missing)} unfinished task(s) "
                f"({', '.join(map(str, missing[:10]))}); rerun the same command to finish them"
            )


def wait_for_slurm_jobs(job_ids: list[str], poll_seconds: float = 2.0) -> None:
    while job_ids:
        out = subprocess.run(
            ["squeue", "-h", "-o", "%i", "-j", ",".join(job_ids)], capture_output=True, text=True
        ).stdout
        if not out.strip():
            return
        time.sleep(poll_seconds)


def _current_venv_activate() -> str | None:
    activate = Path(sys.prefix) / "bin" / "activate"
    return str(activate) if sys.prefix != sys.base_prefix and activate.exists() else None
