"""``python -m curate.run <recipe> [--executor local|slurm|ray] [--input ...] [--set key=value ...]``."""

import argparse
import json
import shlex
import sys
from contextlib import nullcontext
from importlib.metadata import version
from pathlib import Path

from datatrove.io import get_datafolder

from curate import config, preflight
from curate.config import ConfigError, RecipeConfig, available_recipes, check_folder, load_recipe_config
from curate.console import StageProgress, console_log_path, is_local, output_to
from curate.describe import describe
from curate.executors import EXECUTORS, StageFailedError, build_executors, run_stages, slurm_job_ids
from curate.funnel import format_summary, record_funnel
from curate.lock import OutputInUseError, RunLock
from curate.recipes import RunPaths, Stage, build_stages
from curate.stats import merge_stage_stats, summarize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m curate.run", description=__doc__)
    parser.add_argument("recipe", nargs="?", help="recipe name: a file pipelines/<recipe>.yaml")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--executor", default="local", help="local, slurm or ray (default: local)")
    add_recipe_arguments(parser)
    parser.add_argument("--output", help="output folder (default: out/<recipe>)")
    parser.add_argument("--logs", help="logs folder (default: <output>/logs)")
    parser.add_argument("--tasks", type=int, help="parallel tasks per stage (sets `tasks`)")
    parser.add_argument("--workers", type=int, help="tasks run at once (sets `workers`)")
    parser.add_argument("--dry-run", action="store_true", help="print the stages and their parameters; run nothing")
    parser.add_argument("--verbose", action="store_true", help="show datatrove's logs and per-task stats")
    return parser.parse_args(argv)


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that choose a recipe's settings (shared by ``curate run`` and ``curate fetch``)."""
    parser.add_argument("--input", help="WARC/code input: path, glob, fsspec URL or dump name (sets `input`)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")


def overrides_of(args: argparse.Namespace) -> list[str]:
    """``--set`` values plus the shortcut flags (``--input``, ``--tasks``, ``--workers``) as ``key=value``."""
    overrides = list(args.overrides)
    for key in ("input", "tasks", "workers"):
        if getattr(args, key, None) is not None:
            overrides.insert(0, f"{key}={getattr(args, key)}")
    return overrides


def fetch_command(recipe: str, overrides: list[str]) -> str:
    """The ``curate fetch`` command that fetches what a run with these settings needs."""
    return shlex.join(["curate", "fetch", recipe, *(arg for o in overrides for arg in ("--set", o))])


def versions() -> dict[str, str]:
    return {name: version(name) for name in ("curate", "datatrove")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        recipes = available_recipes()
        if not recipes:
            print(f"error: no recipes in {config.PIPELINES_DIR} (curate installed without its data?)", file=sys.stderr)
            return 2
        print("\n".join(recipes))
        return 0
    if not args.recipe:
        print("error: name a recipe (see --list)", file=sys.stderr)
        return 2
    overrides = overrides_of(args)
    try:
        if args.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {args.executor!r} (known: {', '.join(EXECUTORS)})")
        cfg = load_recipe_config(args.recipe, overrides)
        output = args.output or f"out/{args.recipe}"
        paths = RunPaths(output=output, logs=args.logs or f"{output}/logs")
        check_folder("--output", paths.output)
        check_folder("--logs", paths.logs)
        stages = build_stages(cfg, paths)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(describe(stages, cfg, args.executor, fetch_command(args.recipe, overrides)))
        return 0
    return execute(cfg, stages, args.executor, paths, fetch_command(args.recipe, overrides), verbose=args.verbose)


def execute(
    cfg: RecipeConfig,
    stages: list[Stage],
    executor: str,
    paths: RunPaths,
    fetch: str | None = None,
    verbose: bool = False,
) -> int:
    """Preflight, then run the stages; the exit code (2: something the run needs is missing, nothing started)."""
    found, missing = preflight.check(stages, cfg, fetch or fetch_command(cfg.recipe, []))
    if missing:
        print("\n".join(missing), file=sys.stderr)
        return 2
    try:
        with RunLock(paths.output) if is_local(paths.output) else nullcontext() as lock:
            return _record_and_run(cfg, stages, executor, paths, found, verbose, lock)
    except OutputInUseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _record_and_run(
    cfg: RecipeConfig,
    stages: list[Stage],
    executor: str,
    paths: RunPaths,
    found: dict,
    verbose: bool,
    lock: RunLock | None,
) -> int:
    """Write run.json, run the stages, then print the summary (or, for Slurm without waiting, the job ids)."""
    Path(paths.output).mkdir(parents=True, exist_ok=True)
    record = {
        "recipe": cfg.recipe,
        "params": cfg.params,
        "assets": found,
        "versions": versions(),
        "stages": [s.name for s in stages],
    }
    (Path(paths.output) / "run.json").write_text(json.dumps(record, indent=2, default=str))
    log = console_log_path(paths)
    try:
        finished, job_ids = _run(cfg, stages, executor, paths, log, verbose)
    except StageFailedError as e:
        print(f"error: {e}" + ("" if verbose else f" (logs: {log} and {paths.logs}/<stage>/logs/)"), file=sys.stderr)
        return 1
    if not finished:
        if lock is not None and job_ids:
            lock.hand_to_slurm(job_ids)  # the jobs use the folder until they end
        print(f"jobs submitted; rerun the same command with --set slurm.wait=true to wait. Output: {paths.data}")
        return 0
    rows = summarize(merge_stage_stats(stages, paths))
    record_funnel(paths.output, rows)  # the same rows the summary prints and the dataset card shows
    print(format_summary(rows))
    if not get_datafolder(paths.data).list_files(recursive=True):
        print("no document passed every step: the dataset is empty (the summary says where each one went)")
    print(f"output: {paths.data}  (stats: {paths.stats}, removed documents: {paths.output}/removed)")
    if cfg.get("push_to"):
        from curate.publish import push_output

        push_output(paths.output, cfg["push_to"])
    return 0


def _run(
    cfg: RecipeConfig, stages: list[Stage], executor: str, paths: RunPaths, log: Path, verbose: bool
) -> tuple[bool, list[str]]:
    """Run the chain, quietly (one progress line per stage, the rest into ``log``) unless ``verbose``.

    Returns whether every stage finished here, and the Slurm job ids submitted."""
    blocking = executor != "slurm" or cfg["slurm.wait"]
    with nullcontext(sys.stderr) if verbose else output_to(log) as terminal:
        executors = build_executors(stages, executor, cfg, paths)
        # verbose: datatrove's own lines interleave with ours, so stage lines are written once, not updated in place
        progress = StageProgress(stages, paths, terminal, live=False if verbose else None)
        with progress if blocking else nullcontext():
            finished = run_stages(executors, executor, cfg, terminal)
        return finished, slurm_job_ids(executors)


if __name__ == "__main__":
    sys.exit(main())
