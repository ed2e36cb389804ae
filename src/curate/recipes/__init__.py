"""Recipes: each module builds the executor stages of one dataset from its configuration."""

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datatrove.pipeline.base import PipelineStep

from curate.config import ConfigError, RecipeConfig
from curate.schema import block_arguments


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
    # this stage's own executor settings, over the executor's section: {"slurm": {"gpus_per_task": 1}, "ray": {...}}
    # (the `stages.<name>` settings; see curate.executors.stage_resources)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


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


def split_settings(
    cfg: RecipeConfig, where: str, blocks: list[Callable[..., PipelineStep]], switches: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The settings of section ``where`` for each of ``blocks``, by the blocks' own argument names (a key goes to every
    block that takes it); ``switches`` are the recipe's own keys. A key no block takes is a ConfigError."""
    settings = {k: v for k, v in cfg.section(where).items() if k not in switches}
    names = [block_arguments(cls) for cls in blocks]
    taken = [{k: v for k, v in settings.items() if accepted is None or k in accepted} for accepted in names]
    unknown = sorted(set(settings) - {k for args in taken for k in args})
    if unknown:
        known = sorted(set().union(*(n for n in names if n)) | set(switches))
        owners = ", ".join(cls.__name__ for cls in blocks)
        raise ConfigError(
            f"unknown key '{where}.{unknown[0]}' for recipe {cfg.recipe!r}: not an argument of {owners} "
            f"(known: {', '.join(known)})"
        )
    return taken


def section_step(
    cls: Callable[..., PipelineStep], cfg: RecipeConfig, where: str, settings: dict | None = None, **recipe_args: Any
) -> PipelineStep:
    """``cls`` built from the settings of section ``where`` (by its own argument names) and what the recipe sets
    (``recipe_args``: writers, folders, resolved models), which the settings may not set."""
    settings = cfg.section(where) if settings is None else settings
    clash = sorted(set(settings) & set(recipe_args))
    if clash:
        raise ConfigError(f"'{where}.{clash[0]}' is set by recipe {cfg.recipe!r} itself, not by a setting")
    (args,) = split_settings(RecipeConfig(cfg.recipe, {where: settings}), where, [cls])
    return step(cls, **args, **recipe_args)


def apply_stage_settings(stages: list[Stage], cfg: RecipeConfig) -> list[Stage]:
    """Give each stage its ``stages.<name>`` executor settings; a name that is no stage is a ConfigError."""
    overrides = cfg.get("stages") or {}
    names = [stage.name for stage in stages]
    for name in overrides:
        if name not in names:
            raise ConfigError(
                f"unknown stage {name!r} in 'stages.{name}' (stages of {cfg.recipe}: {', '.join(names)})"
            )
    for stage in stages:
        stage.resources = copy.deepcopy(overrides.get(stage.name, {}))
    return stages


def build_stages(cfg: RecipeConfig, paths: RunPaths) -> list[Stage]:
    module = importlib.import_module(f"curate.recipes.{cfg.recipe}")
    return apply_stage_settings(module.build(cfg, paths), cfg)
