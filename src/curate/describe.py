"""What ``--dry-run`` prints: every stage with its executor resources, every step with all its parameters
(nested settings such as MinHash's included), and what each model or file resolves to."""

import dataclasses
import textwrap
from typing import Any

import pyarrow as pa
from datatrove.io import DataFolder
from datatrove.pipeline.writers.disk_base import DiskWriter

from curate.assets import Asset
from curate.config import RecipeConfig
from curate.executors import stage_resources
from curate.preflight import config_keys, required_assets
from curate.recipes import Stage

WIDTH = 119
_WRAP = {"break_long_words": False, "break_on_hyphens": False}  # paths and ids stay whole


def short(value: Any) -> str:
    """A parameter value in short form: nested configs spelled out, writers as their folder, types by name."""
    if hasattr(value, "curate_params"):
        return f"{type(value).__name__}({_params(value.curate_params)})"
    if isinstance(value, DiskWriter):
        return f"{type(value).__name__}({value.output_folder.path})"
    if isinstance(value, DataFolder):
        return value.path
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return f"{type(value).__name__}({_params(fields)})"
    if isinstance(value, pa.DataType):
        return str(value).replace("item: ", "")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(short(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={short(v)}" for k, v in params.items())


def describe_stages(stages: list[Stage], cfg: RecipeConfig, executor: str) -> list[str]:
    lines = []
    for i, stage in enumerate(stages, 1):
        resources = _params(stage_resources(stage, executor, cfg))
        lines.append(f"stage {i}/{len(stages)}: {stage.name} ({executor}: {resources})")
        for step in stage.pipeline:
            text = f"- {type(step).__name__}({_params(getattr(step, 'curate_params', {}))})"
            lines += textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="      ", **_WRAP)
    return lines


def describe_asset(asset: Asset, cfg: RecipeConfig, fetch_command: str) -> str:
    keys = ", ".join(config_keys(cfg, asset.ref)) or "(not a recipe key)"
    path = asset.locate()
    where = str(path) if path is not None else f"MISSING: {asset.missing_reason()}"
    if path is None and asset.fetchable:
        where += f" (run `{fetch_command}`)"
    return f"  {keys} = {asset.ref} [{asset.kind}] -> {where}"


def describe(stages: list[Stage], cfg: RecipeConfig, executor: str, fetch_command: str) -> str:
    lines = describe_stages(stages, cfg, executor)
    assets = required_assets(stages)
    if assets:
        lines.append("models and files (key = reference [kind] -> where it is read from):")
        lines += [describe_asset(asset, cfg, fetch_command) for asset in assets]
    return "\n".join(lines)
