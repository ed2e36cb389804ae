"""``python -m curate.run <recipe> [--executor local|slurm|ray] [--input ...] [--set key=value ...]``."""

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path

from curate.config import ConfigError, RecipeConfig, available_recipes, load_recipe_config
from curate.executors import EXECUTORS, StageFailedError, build_executors, run_stages
from curate.funnel import format_summary, record_funnel
from curate.recipes import RunPaths, Stage, build_stages
from curate.stats import merge_stage_stats, summarize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m curate.run", description=__doc__)
    parser.add_argument("recipe", nargs="?", help="recipe name: a file pipelines/<recipe>.yaml")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--executor", default="local", help="local, slurm or ray (default: local)")
    parser.add_argument("--input", help="WARC/code input: path, glob, fsspec URL or dump name (sets `input`)")
    parser.add_argument("--output", help="output folder (default: out/<recipe>)")
    parser.add_argument("--logs", help="logs folder (default: <output>/logs)")
    parser.add_argument("--tasks", type=int, help="parallel tasks per stage (sets `tasks`)")
    parser.add_argument("--workers", type=int, help="tasks run at once (sets `workers`)")
    parser.add_argument("--dry-run", action="store_true", help="print the stages and their parameters; run nothing")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser.parse_args(argv)


def describe(stages: list[Stage]) -> str:
    lines = []
    for i, stage in enumerate(stages, 1):
        lines.append(f"stage {i}: {stage.name} (tasks={stage.tasks}, workers={stage.workers})")
        for step in stage.pipeline:
            params = getattr(step, "curate_params", {})
            shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
            lines.append(f"  - {type(step).__name__}({shown})")
    return "\n".join(lines)


def _short(value: object) -> str:
    if hasattr(value, "curate_params") or type(value).__module__.startswith("datatrove"):
        return type(value).__name__
    return repr(value)


def versions() -> dict[str, str]:
    return {name: version(name) for name in ("curate", "datatrove")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(available_recipes()))
        return 0
    if not args.recipe:
        print("error: name a recipe (see --list)", file=sys.stderr)
        return 2
    overrides = list(args.overrides)
    for key in ("input", "tasks", "workers"):
        if getattr(args, key) is not None:
            overrides.insert(0, f"{key}={getattr(args, key)}")
    try:
        if args.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {args.executor!r} (known: {', '.join(EXECUTORS)})")
        cfg = load_recipe_config(args.recipe, overrides)
        output = args.output or f"out/{args.recipe}"
        paths = RunPaths(output=output, logs=args.logs or f"{output}/logs")
        stages = build_stages(cfg, paths)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(describe(stages))
        return 0
    return execute(cfg, stages, args.executor, paths)


def execute(cfg: RecipeConfig, stages: list[Stage], executor: str, paths: RunPaths) -> int:
    Path(paths.output).mkdir(parents=True, exist_ok=True)
    record = {"recipe": cfg.recipe, "params": cfg.params, "versions": versions(), "stages": [s.name for s in stages]}
    (Path(paths.output) / "run.json").write_text(json.dumps(record, indent=2, default=str))
    executors = build_executors(stages, executor, cfg, paths)
    try:
        finished = run_stages(executors, executor, cfg)
    except StageFailedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not finished:
        print(f"jobs submitted; rerun the same command with --set slurm.wait=true to wait. Output: {paths.data}")
        return 0
    rows = summarize(merge_stage_stats(stages, paths))
    record_funnel(paths.output, rows)  # the same rows the summary prints and the dataset card shows
    print(format_summary(rows))
    print(f"output: {paths.data}  (stats: {paths.stats}, removed documents: {paths.output}/removed)")
    if cfg.get("push_to"):
        from curate.publish import push_output

        push_output(paths.output, cfg["push_to"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
