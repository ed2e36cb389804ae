"""Stage mixtures: count tokens per source, turn shares of a token budget into sampling weights and epochs.

A mixture file (``pipelines/mixtures/smollm2.yaml``) lists stages, each with a token range and sources with
a ``share`` of the stage's tokens. For a budget, a source with ``T`` available tokens and share ``s`` needs
``s * budget / T`` epochs. Sources that would repeat more than ``max_epochs`` are capped at ``max_epochs * T``
tokens (a warning says so) and the rest of the budget goes to the other sources in proportion to their
shares; ``realised`` shares and epochs in the manifest are the result.
"""

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from datatrove.utils.logging import logger

from curate.assets import resolve

_SUFFIXES = {"K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
SHARE_TOLERANCE = 1e-6


class MixtureError(ValueError):
    """A mixture file or a source that cannot be used; the message says what to change."""


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
    tokenizer: str
    eos_token: str | None
    stages: dict[int, StageSpec]


def load_mixture(path: str | Path) -> Mixture:
    """Read and check a mixture file: stage ranges, unique source names, shares summing to 1 per stage."""
    path = Path(path)
    if not path.exists():
        raise MixtureError(f"mixture file {path} does not exist")
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
        raw.get("name", path.stem), raw.get("tokenizer", "bundled:smollm2-tokenizer"), raw.get("eos_token"), stages
    )


def data_files(path: str) -> list[Path]:
    """Parquet/JSONL files of a local source: a file, a folder (searched recursively) or a glob."""
    target = Path(path)
    if target.is_file():
        candidates = [target]
    elif target.is_dir():
        candidates = sorted(p for p in target.rglob("*") if p.is_file())
    else:
        anchor = Path(target.anchor or ".")
        candidates = sorted(p for p in anchor.glob(str(target.relative_to(anchor))) if p.is_file())
    files = [p for p in candidates if p.name.endswith((".parquet", ".jsonl", ".jsonl.gz"))]
    if not files:
        raise MixtureError(f"no Parquet or JSONL files at {path}")
    return files


def _jsonl_rows(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for line_number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise MixtureError(f"{path}:{line_number} is not valid JSON: {error}") from error


def _column_batches(path: Path, column: str, batch_size: int = 1024) -> Iterator[list]:
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        if column not in parquet.schema_arrow.names:
            raise MixtureError(f"{path} has no column {column!r}")
        for batch in parquet.iter_batches(columns=[column], batch_size=batch_size):
            yield batch.column(0).to_pylist()
        return
    batch = []
    for row in _jsonl_rows(path):
        if column not in row:
            raise MixtureError(f"{path}: a row has no field {column!r}")
        batch.append(row[column])
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _has_column(path: Path, column: str) -> bool:
    if path.suffix == ".parquet":
        return column in pq.read_schema(path).names
    first = next(_jsonl_rows(path), {})
    return column in first


@dataclass
class SourceCount:
    documents: int
    tokens: int
    method: str  # "token_count column" or "tokenizer <path>"
    skipped_empty: int = 0


def count_tokens(
    path: str, text_column: str = "text", tokenizer: str = "bundled:smollm2-tokenizer", use_token_count: bool = True
) -> SourceCount:
    """Documents and tokens of a local source: its ``token_count`` column when every file has one, else tokenized.

    Tokens are counted without the end-of-document token that ``--tokenize`` appends to each document.
    """
    files = data_files(path)
    if use_token_count and all(_has_column(f, "token_count") for f in files):
        documents = tokens = 0
        for file in files:
            for batch in _column_batches(file, "token_count"):
                documents += len(batch)
                tokens += sum(int(v or 0) for v in batch)
        return SourceCount(documents, tokens, "token_count column")
    from tokenizers import Tokenizer

    tokenizer_path = resolve(tokenizer)
    encoder = Tokenizer.from_file(tokenizer_path) if Path(tokenizer_path).is_file() else None
    if encoder is None:
        raise MixtureError(f"tokenizer {tokenizer!r} is not a local tokenizer.json; counting runs offline")
    documents = tokens = skipped = 0
    for file in files:
        for batch in _column_batches(file, text_column):
            texts = [t for t in batch if isinstance(t, str) and t]
            skipped += len(batch) - len(texts)
            documents += len(texts)
            tokens += sum(len(encoding.ids) for encoding in encoder.encode_batch(texts, add_special_tokens=False))
    if skipped:
        logger.warning(f"{path}: {skipped} rows with an empty or missing {text_column!r} are not counted")
    return SourceCount(documents, tokens, f"tokenizer {tokenizer}", skipped)


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
    count_method: str = ""
    path: str | None = None
    hub: str | None = None
    config: str | None = None


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
    available = {name: counts[name].tokens for name in shares}
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
                count_method=counts[spec.name].method,
                path=spec.path,
                hub=spec.hub,
                config=spec.config,
            )
        )
    for message in plan.warnings:
        logger.warning(message)
    return plan


def resolve_source_paths(stage: StageSpec, overrides: dict[str, str]) -> None:
    """Apply ``name=path`` overrides; a source left with only a Hub id cannot be counted offline: say so."""
    unknown = set(overrides) - {s.name for s in stage.sources}
    if unknown:
        raise MixtureError(f"--path names sources not in stage {stage.number}: {sorted(unknown)}")
    missing = []
    for source in stage.sources:
        source.path = overrides.get(source.name, source.path)
        if source.path is None:
            config = f" (config {source.config})" if source.config else ""
            missing.append(f"{source.name} = Hub dataset {source.hub}{config}")
    if missing:
        raise MixtureError(
            "these sources are Hub datasets and their tokens cannot be counted offline: "
            + "; ".join(missing)
            + ". Download them and pass --path NAME=LOCAL_DIR for each."
        )


def manifest_markdown(plan: StagePlan) -> str:
    lines = [
        f"# {plan.mixture} stage {plan.stage}",
        "",
        f"Budget: {plan.budget:,} tokens; realised: {plan.realised_tokens:,.0f} tokens; "
        f"max epochs {plan.max_epochs:g} ({'capped' if plan.cap else 'not capped'}).",
        "",
        "| source | available tokens | target share | realised share (sampling weight) | target tokens "
        "| realised tokens | epochs | counted by |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in plan.sources:
        lines.append(
            f"| {s.name}{' (capped)' if s.capped else ''} | {s.available_tokens:,} | {s.target_share:.2%} "
            f"| {s.realised_share:.2%} | {s.target_tokens:,.0f} | {s.realised_tokens:,.0f} | {s.epochs:.3f} "
            f"| {s.count_method} |"
        )
    if plan.warnings:
        lines += ["", "## Warnings", "", *[f"- {w}" for w in plan.warnings]]
    return "\n".join(lines) + "\n"


def write_manifest(
    plan: StagePlan, output_dir: str | Path, tokenized: dict[str, str] | None = None
) -> tuple[Path, Path]:
    """Write ``stage<N>.json`` and ``stage<N>.md``; with tokenized folders, a nanotron datasets entry too."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    record = asdict(plan) | {"realised_tokens": plan.realised_tokens}
    if tokenized:
        record["nanotron"] = {
            "dataset_folder": [tokenized[s.name] for s in plan.sources if s.name in tokenized],
            "dataset_weights": [s.realised_share for s in plan.sources if s.name in tokenized],
        }
    json_path = output_dir / f"stage{plan.stage}.json"
    md_path = output_dir / f"stage{plan.stage}.md"
    json_path.write_text(json.dumps(record, indent=2))
    md_path.write_text(manifest_markdown(plan))
    return json_path, md_path


def tokenize_source(
    source: SourceSpec, output_dir: Path, tokenizer: str, eos_token: str | None, logging_dir: Path
) -> Path:
    """datatrove-tokenize one local source into ``output_dir/<name>`` (nanotron reads these ``.ds`` shards)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader, ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer

    files = data_files(source.path)
    root = Path(source.path) if Path(source.path).is_dir() else files[0].parent
    relative = [f.relative_to(root).as_posix() for f in files if f.is_relative_to(root)]
    if len(relative) != len(files):
        raise MixtureError(f"{source.name}: files of {source.path} do not share one folder; pass a folder")
    readers = []
    for suffix, reader in ((".parquet", ParquetReader), (".jsonl", JsonlReader), (".jsonl.gz", JsonlReader)):
        chosen = [r for r in relative if r.endswith(suffix)]
        if chosen:
            readers.append(reader(str(root), glob_pattern=f"**/*{suffix}", text_key=source.text_column))
    target = output_dir / source.name
    pipeline = [
        *readers,
        DocumentTokenizer(
            output_folder=str(target),
            tokenizer_name_or_path=resolve(tokenizer),
            eos_token=eos_token,
            local_working_dir=str(logging_dir / "work"),
            shuffle_documents=False,
        ),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(logging_dir)).run()
    return target
