"""The funnel of a run: documents in and out of every step, why each drop happened, and the scorers' histograms.

Computed once from datatrove's merged stats (``<output>/stats/<stage>.json``, the ``PipelineStats`` JSON) by
:func:`funnel`; the terminal summary (:func:`format_summary`), ``run.json`` (:func:`record_funnel`) and the
dataset card all show these rows, so they cannot disagree.

Rules, for every step:

- a filter (it counts ``forwarded`` or ``dropped``): documents in = ``total``, out = ``forwarded``;
- any other step: out = ``documents`` (readers) or ``total`` (writers, formatters), in unknown;
- reasons: ``dropped_<reason>`` (as ``<reason>``), ``skipped_<reason>`` and the counted failures datatrove
  records without a prefix (``REASON_KEYS``); drops no reason accounts for are ``empty_text`` for an extractor
  and ``dropped`` for other steps (the step's name then says why, e.g. a MinHash filter);
- tokens: ``doc_len_tokens`` (documents carrying ``token_count``), else a TokensCounter's ``tokens``;
- score counts: a scorer (a step counting ``scored``) counts each rounded score as ``<int_score_key>_<n>``.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

# counted drops that datatrove blocks record without a dropped_/skipped_ prefix
REASON_KEYS = ("timeout", "clean_error", "broken_process", "truncated_file", "broken_record")
_SCORE_COUNT = re.compile(r"(?P<key>.+)_(?P<score>\d+)")


@dataclass
class FunnelRow:
    """Documents and tokens around one pipeline step."""

    stage: str
    step: str
    docs_in: int | None
    docs_out: int | None
    dropped: int | None
    reasons: dict[str, int]
    tokens: int | None
    score_key: str | None = None
    score_counts: dict[int, int] = field(default_factory=dict)


def _total(value) -> int | None:
    """A datatrove metric as saved by ``MetricStats.to_dict``: a bare number, or a dict with ``total``."""
    if isinstance(value, dict):
        value = value.get("total")
    return None if value is None else int(value)


def _reasons(stats: dict, docs_in: int | None, docs_out: int | None) -> dict[str, int]:
    reasons = {}
    for key, value in stats.items():
        if key.startswith(("dropped_", "skipped_")) or key in REASON_KEYS:
            if count := _total(value):
                reasons[key.removeprefix("dropped_")] = count
    if docs_in is not None and docs_out is not None:
        unexplained = docs_in - docs_out - sum(reasons.values())
        if unexplained > 0:
            reasons["empty_text" if "extracted" in stats else "dropped"] = unexplained
    return reasons


def _score_counts(stats: dict) -> tuple[str | None, dict[int, int]]:
    if "scored" not in stats:
        return None, {}
    matches = [(m["key"], int(m["score"]), _total(v)) for k, v in stats.items() if (m := _SCORE_COUNT.fullmatch(k))]
    counts = {score: count for key, score, count in matches if key != "scored" and count}
    keys = {key for key, _, _ in matches if key != "scored"}
    return (keys.pop() if len(keys) == 1 else None), dict(sorted(counts.items()))


def step_row(stage: str, step: dict) -> FunnelRow:
    """The row of one step, ``step`` being one entry of a ``PipelineStats`` JSON list."""
    stats = step.get("stats", {})
    is_filter = "forwarded" in stats or "dropped" in stats
    if is_filter:
        docs_in, docs_out = _total(stats.get("total")), _total(stats.get("forwarded"))
        dropped = _total(stats.get("dropped"))
        if dropped is None and docs_in is not None and docs_out is not None:
            dropped = docs_in - docs_out
    else:
        docs_in, dropped = None, None
        docs_out = _total(stats.get("documents") if "documents" in stats else stats.get("total"))
    tokens = _total(stats.get("doc_len_tokens"))
    score_key, score_counts = _score_counts(stats)
    return FunnelRow(
        stage=stage,
        step=step.get("name", "?"),
        docs_in=docs_in,
        docs_out=docs_out,
        dropped=dropped,
        reasons=_reasons(stats, docs_in, docs_out),
        tokens=tokens if tokens is not None else _total(stats.get("tokens")),
        score_key=score_key,
        score_counts=score_counts,
    )


def funnel(stages: dict[str, list[dict]]) -> list[FunnelRow]:
    """One row per step of every stage, in the order given: ``{stage: PipelineStats JSON list}``."""
    return [step_row(stage, step) for stage, steps in stages.items() for step in steps]


def read_funnel(output_dir: str | Path) -> list[FunnelRow]:
    """The funnel of a recipe output folder: ``stats/*.json`` in the stage order of ``run.json``."""
    stats_dir = Path(output_dir) / "stats"
    if not stats_dir.is_dir():
        return []
    run_path = Path(output_dir) / "run.json"
    order = json.loads(run_path.read_text()).get("stages", []) if run_path.exists() else []
    known = {path.stem: path for path in sorted(stats_dir.glob("*.json"))}
    stages = {}
    for stage in [s for s in order if s in known] + [s for s in known if s not in order]:
        try:
            stages[stage] = json.loads(known[stage].read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{known[stage]} is not valid JSON: {error}") from error
    return funnel(stages)


def record_funnel(output_dir: str | Path, rows: list[FunnelRow]) -> None:
    """Add the funnel to ``run.json`` (``"funnel"``: one object per row), replacing the file atomically."""
    path = Path(output_dir) / "run.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    record["funnel"] = [asdict(row) for row in rows]
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2, default=str))
    partial.replace(path)


def top_reasons(row: FunnelRow, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent drop reasons of a row, most frequent first."""
    return sorted(row.reasons.items(), key=lambda kv: -kv[1])[:n]


def format_summary(rows: list[FunnelRow], top: int = 3) -> str:
    """The terminal summary: one line per step (documents in, out, top removal reasons), then tokens written."""
    shown = lambda n: "-" if n is None else str(n)  # noqa: E731
    lines = [f"{'stage':<20} {'step':<34} {'in':>8} {'out':>8}  top removal reasons"]
    for row in rows:
        reasons = ", ".join(f"{k}={v}" for k, v in top_reasons(row, top))
        lines.append(
            f"{row.stage:<20} {row.step[:34]:<34} {shown(row.docs_in):>8} {shown(row.docs_out):>8}  {reasons}"
        )
    if rows and rows[-1].tokens:
        lines.append(f"tokens written: {rows[-1].tokens}")
    return "\n".join(lines)
