"""Merge per-task datatrove stats into ``<output>/stats/`` and summarise a run: docs in/out per step, reasons."""

import json
from dataclasses import dataclass, field

from datatrove.io import get_datafolder
from datatrove.utils.stats import PipelineStats

from curate.recipes import RunPaths, Stage

# counted drops that datatrove blocks record without a dropped_/skipped_ prefix
REASON_KEYS = ("timeout", "clean_error", "broken_process", "truncated_file", "broken_record")


@dataclass
class StepSummary:
    stage: str
    step: str
    docs_in: int | None
    docs_out: int | None
    reasons: dict[str, int] = field(default_factory=dict)
    tokens: int | None = None


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


def _count(stats: dict, key: str) -> int | None:
    value = stats.get(key)
    if value is None:
        return None
    return int(value["total"]) if isinstance(value, dict) else int(value)


def summarize(merged: dict[str, PipelineStats]) -> list[StepSummary]:
    rows = []
    for stage, pipeline_stats in merged.items():
        for step_stats in pipeline_stats.stats:
            stats = step_stats.to_dict()["stats"]
            docs_out = _count(stats, "forwarded")
            if docs_out is None:  # readers count what they emit as documents
                docs_out = _count(stats, "documents")
            reasons = {
                key.removeprefix("dropped_"): _count(stats, key)
                for key in stats
                if key.startswith(("dropped_", "skipped_")) or key in REASON_KEYS
            }
            docs_in = _count(stats, "total")
            if docs_in is not None and docs_out is not None:
                # datatrove's LanguageFilter and MinHash filter drop without a reason, extractors drop empty text
                unexplained = docs_in - docs_out - sum(reasons.values())
                if unexplained > 0:
                    reasons["empty_text" if "extracted" in stats else "dropped"] = unexplained
            tokens = stats.get("doc_len_tokens", {}).get("total")
            rows.append(StepSummary(stage, step_stats.name, docs_in, docs_out, reasons, tokens))
    return rows


def format_summary(rows: list[StepSummary], top_reasons: int = 3) -> str:
    lines = [f"{'stage':<20} {'step':<34} {'in':>8} {'out':>8}  top removal reasons"]
    for row in rows:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(row.reasons.items(), key=lambda kv: -kv[1])[:top_reasons])
        fmt = lambda n: "-" if n is None else str(n)  # noqa: E731
        lines.append(f"{row.stage:<20} {row.step[:34]:<34} {fmt(row.docs_in):>8} {fmt(row.docs_out):>8}  {reasons}")
    if rows and rows[-1].tokens:
        lines.append(f"tokens written: {int(rows[-1].tokens)}")
    return "\n".join(lines)
