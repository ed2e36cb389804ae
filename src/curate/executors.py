"""Turn recipe stages into chained datatrove executors (local, Slurm or Ray) and run them.

Every executor keeps datatrove's completion markers under ``<logs>/<stage>/completions``: rerunning the same
command skips finished tasks, and a stage starts only after every task of the stage before it finished.
"""

import subprocess
import sys
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor, SlurmPipelineExecutor
from datatrove.executor.base import PipelineExecutor

from curate.config import ConfigError, RecipeConfig
from curate.recipes import RunPaths, Stage

EXECUTORS = ("local", "slurm", "ray")


class StageFailedError(RuntimeError):
    """A stage has tasks that did not complete; downstream stages were not run."""


def build_executors(stages: list[Stage], kind: str, cfg: RecipeConfig, paths: RunPaths) -> list[PipelineExecutor]:
    executors: list[PipelineExecutor] = []
    for stage in stages:
        previous = executors[-1] if executors else None
        logging_dir = paths.stage_logs(stage.name)
        if kind == "local":
            executor = LocalPipelineExecutor(
                stage.pipeline, tasks=stage.tasks, workers=stage.workers, logging_dir=logging_dir, depends=previous
            )
        elif kind == "slurm":
            slurm = cfg.section("slurm")
            executor = SlurmPipelineExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                workers=stage.workers,
                time=slurm["time"],
                partition=slurm["partition"],
                cpus_per_task=stage.resources.get("cpus_per_task", slurm["cpus_per_task"]),
                mem_per_cpu_gb=slurm["mem_per_cpu_gb"],
                qos=slurm["qos"],
                venv_path=slurm["venv_path"] or _current_venv_activate(),
                sbatch_args=slurm["sbatch_args"] or None,
                job_name=f"curate_{cfg.recipe}_{stage.name}",
                logging_dir=logging_dir,
                slurm_logs_folder=f"{paths.logs}/slurm/{stage.name}",
                depends=previous,
            )
        elif kind == "ray":
            from datatrove.executor.ray import RayPipelineExecutor

            ray_cfg = cfg.section("ray")
            executor = RayPipelineExecutor(
                stage.pipeline,
                tasks=stage.tasks,
                workers=stage.workers,
                logging_dir=logging_dir,
                depends=previous,
                cpus_per_task=stage.resources.get("cpus_per_task", ray_cfg["cpus_per_task"]),
                mem_per_cpu_gb=ray_cfg["mem_per_cpu_gb"],
            )
        else:
            raise ConfigError(f"unknown executor {kind!r} (known: {', '.join(EXECUTORS)})")
        executors.append(executor)
    return executors


def run_stages(executors: list[PipelineExecutor], kind: str, cfg: RecipeConfig) -> bool:
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
        job_ids = [str(e.job_id) for e in executors if e.job_id not in (None, -1)]
        if job_ids:
            print(f"submitted Slurm jobs {', '.join(job_ids)}", file=sys.stderr)
        if not cfg["slurm.wait"]:
            return False
        wait_for_slurm_jobs(job_ids)
    check_complete(executors)
    return True


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
