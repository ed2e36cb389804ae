"""Rescoring throughput: the fineweb_edu recipe's ``score`` stage over a Parquet dataset, as users run it.

    python -m bench.bench_rescore [--n 200] [--device cpu] [--tasks 8]

The input is ``--n`` real page texts (``shared/data/extraction`` ground truth) written as one FineWeb-shaped
Parquet file; the model is a BERT-base-sized regressor (``BertConfig()`` defaults, RANDOM weights, the MiniLM
WordPiece tokenizer: the published FineWeb-Edu classifier is BERT-base-sized too). Measured, through
``curate.run.execute`` and datatrove's local executor:

- throughput per process: one task, one worker; documents/s and tokens/s (tokens after truncation to 512) of the
  whole stage, the model load included (and also timed on its own);
- scheduling overhead per task: the same stage over the first ``--tasks`` rows, once as one task and once as
  ``--tasks`` tasks (one row each, one worker): the extra seconds per task are what a task costs beyond its
  documents (process set-up, its model load, reading its row group, writing its shard and stats).

On a GPU machine, ``--device cuda --gpus all`` runs the throughput part with one worker per visible GPU (each
pinned to its own GPU) and reports tokens/s per GPU with one GPU and with all of them.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def dataset(folder: Path, texts: list[str]) -> Path:
    """``texts`` as one FineWeb-shaped Parquet file under ``<folder>/data/CC-MAIN-2024-10/``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.blocks.writers import FINEWEB_COLUMNS

    rows = [
        {"text": text, "id": f"<urn:uuid:{i:08d}>", "dump": "CC-MAIN-2024-10", "url": f"https://example.org/{i}"}
        for i, text in enumerate(texts)
    ]
    out = folder / "data" / "CC-MAIN-2024-10"
    out.mkdir(parents=True)
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(FINEWEB_COLUMNS.items())))
    pq.write_table(table, out / "000_00000.parquet", row_group_size=1)
    return folder / "data"


def score_run(source: Path, model: Path, out: Path, device: str, tasks: int, workers: int) -> float:
    """Seconds of one rescoring run (the ``score`` stage only) of ``source`` into ``out``."""
    from curate.config import load_recipe_config
    from curate.recipes import RunPaths, build_stages
    from curate.run import execute

    settings = [f"input={source}", "offline=false", f"scorer.model={model}", f"scorer.device={device}"]
    cfg = load_recipe_config("fineweb_edu", [*settings, f"tasks={tasks}", f"workers={workers}", "threshold=0"])
    paths = RunPaths(str(out), str(out / "logs"))
    start = time.perf_counter()
    assert execute(cfg, build_stages(cfg, paths), "local", paths) == 0
    return time.perf_counter() - start


def run(n: int, device: str, tasks: int, gpus: str) -> dict:
    from bench.bench_scorer import page_texts, random_bert_base
    from curate.classify.devices import visible_gpus
    from curate.classify.models import load_regressor

    texts = page_texts("extraction", n)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = random_bert_base(tmp / "bert-base", "bundled:all-minilm-l6-v2")
        start = time.perf_counter()
        regressor = load_regressor(str(model), device="cpu" if device == "cpu" else "cuda:0")
        load_s = time.perf_counter() - start
        tokens = sum(len(ids) for ids in regressor.tokenize(texts))
        del regressor
        source = dataset(tmp / "in", texts)
        counts = [1] + ([visible_gpus()] if gpus == "all" and visible_gpus() > 1 else [])
        stage_s = {w: score_run(source, model, tmp / f"out-{w}", device, w, w) for w in counts}
        few = dataset(tmp / "few", texts[:tasks])
        one_task = score_run(few, model, tmp / "few-1", device, 1, 1)
        many_tasks = score_run(few, model, tmp / f"few-{tasks}", device, tasks, 1)
    return {
        "n": n,
        "tokens": tokens,
        "device": device,
        "load_s": load_s,
        "stage_s": stage_s,
        "tasks": tasks,
        "one_task_s": one_task,
        "many_tasks_s": many_tasks,
        "overhead_per_task_s": (many_tasks - one_task) / (tasks - 1),
    }


def section(result: dict, command: str) -> str:
    from bench.report import machine

    n, tokens = result["n"], result["tokens"]
    lines = [
        f"Command: `{command}`",
        f"Machine: {machine()}; device {result['device']}. Model: BERT-base (random weights), {n} real page texts,"
        f" {tokens:,} tokens after truncation to 512, one Parquet row group per page. Loading the model:"
        f" {result['load_s']:.1f} s (in every task, included below).",
        "",
        "| run | seconds | docs/s per process | tokens/s per process |",
        "|---|---|---|---|",
    ]
    for workers, seconds in result["stage_s"].items():
        label = "one task, one worker" if workers == 1 else f"{workers} tasks, one per GPU"
        lines.append(f"| {label} | {seconds:.1f} | {n / seconds / workers:.1f} | {tokens / seconds / workers:,.0f} |")
    lines += [
        "",
        f"Scheduling overhead per task (local executor): {result['tasks']} rows as one task took"
        f" {result['one_task_s']:.1f} s, as {result['tasks']} tasks {result['many_tasks_s']:.1f} s:"
        f" {result['overhead_per_task_s']:.1f} s per extra task (its process set-up, its own model load, its reads,"
        " its shard and its stats).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of page texts")
    parser.add_argument("--device", default="cpu", help="cpu, or auto/cuda on a GPU machine")
    parser.add_argument("--tasks", type=int, default=8, help="tasks of the scheduling-overhead runs")
    parser.add_argument("--gpus", choices=("one", "all"), default="one", help="on GPUs: also one worker per GPU")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv or [])
    result = run(args.n, args.device, args.tasks, args.gpus)
    command = f"python -m bench.bench_rescore --n {args.n} --device {args.device} --tasks {args.tasks}"
    if args.gpus == "all":
        command += " --gpus all"
    body = section(result, command)
    print(json.dumps(result))
    print(body)
    if not args.no_write:
        from bench.report import write_section

        write_section(f"Rescoring run ({'CPU' if args.device == 'cpu' else 'GPU'})", body, level=3)


if __name__ == "__main__":
    main(sys.argv[1:])
