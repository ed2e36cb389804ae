"""Recipes: each module builds the executor stages of one dataset from its configuration."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datatrove.pipeline.base import PipelineStep

from curate.config import ConfigError, RecipeConfig


@dataclass
class RunPaths:
    """Where one run writes: Hub-ready data, removed documents, intermediate files, logs and stats."""

    output: str
    logs: str

    @property
    def data(self) -> str:
        return f"{self.output}/data"

    @property
    def work(self) -> str:
        return f"{self.output}/work"

    @property
    def stats(self) -> str:
        return f"{self.output}/stats"

    def removed(self, step: str) -> str:
        return f"{self.output}/removed/{step}"

    def stage_logs(self, stage: str) -> str:
        return f"{self.logs}/{stage}"


@dataclass
class Stage:
    """One executor stage: a pipeline run as ``tasks`` parallel tasks after the previous stage completed."""

    name: str
    pipeline: list[PipelineStep]
    tasks: int
    workers: int = -1
    # executor hints, e.g. {"cpus_per_task": 2} for a stage that needs more memory on Slurm
    resources: dict[str, Any] = field(default_factory=dict)


def step(cls: Callable[..., PipelineStep], **params: Any) -> PipelineStep:
    """Build a pipeline step and remember its parameters so ``--dry-run`` can print them."""
    try:
        instance = cls(**params)
    except ConfigError:
        raise
    except ValueError as error:  # a block rejecting a value that came from the recipe's settings
        raise ConfigError(f"{cls.__name__}: {error}") from error
    instance.curate_params = params
    return instance


def build_stages(cfg: RecipeConfig, paths: RunPaths) -> list[Stage]:
    module = importlib.import_module(f"curate.recipes.{cfg.recipe}")
    return module.build(cfg, paths)
