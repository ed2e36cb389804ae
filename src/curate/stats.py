"""Merge per-task datatrove stats into ``<output>/stats/`` and turn them into the run's funnel (``curate.funnel``)."""

import json

from datatrove.io import get_datafolder
from datatrove.utils.stats import PipelineStats

from curate.funnel import FunnelRow, funnel
from curate.recipes import RunPaths, Stage


def merge_stage_stats(stages: list[Stage], paths: RunPaths) -> dict[str, PipelineStats]:
    """Sum ``<logs>/<stage>/stats/*.json`` per stage and write ``<output>/stats/<stage>.json``."""
    out = get_datafolder(paths.stats)
    merged: dict[str, PipelineStats] = {}
    for stage in stages:
        logs = get_datafolder(paths.stage_logs(stage.name))
        total = PipelineStats()
        for name in logs.list_files("stats", glob_pattern="*.json"):
            with logs.open(name, "rt") as f:
                total += PipelineStats.from_json(json.load(f))
        with out.open(f"{stage.name}.json", "wt") as f:
            total.save_to_disk(f)
        merged[stage.name] = total
    return merged


def summarize(merged: dict[str, PipelineStats]) -> list[FunnelRow]:
    """The funnel of merged stats, with the rules of ``curate.funnel`` (the same the dataset card reads)."""
    return funnel({stage: [step.to_dict() for step in stats.stats] for stage, stats in merged.items()})
