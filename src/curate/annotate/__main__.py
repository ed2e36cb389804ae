"""python -m curate.annotate: annotate a sample of documents with an LLM judge; see docs/annotation.md."""

import argparse
import glob as globlib
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from curate.annotate.annotator import MODES, LLMAnnotator
from curate.annotate.backends import BACKENDS, make_backend
from curate.annotate.prompts import load_prompt, recipe_of_prompt
from curate.annotate.sampling import ReservoirSampler
from curate.annotate.store import AnnotationWriter, SkipAnnotated, read_annotations
from curate.config import ConfigError

READERS = ("jsonl", "parquet", "recipe")


def split_input(spec: str) -> tuple[str, str | None]:
    """``PATH/GLOB`` -> (folder, glob relative to it or None): a folder, a file, or a pattern like ``dir/*.jsonl``."""
    path = Path(spec)
    if path.is_dir():
        return str(path), None
    if not globlib.has_magic(spec):
        return str(path.parent), path.name
    parts = path.parts
    first_magic = next(i for i, part in enumerate(parts) if globlib.has_magic(part))
    folder = Path(*parts[:first_magic]) if first_magic else Path(".")
    return str(folder), str(Path(*parts[first_magic:]))


def input_steps(args: argparse.Namespace) -> list:
    """The steps that read ``--input``: datatrove's JSONL/Parquet readers over text that is already extracted, or
    (``--reader recipe``) the recipe's own reader and extractor, so the LLM judges the very text the recipe's
    classifier will score (FineMath pages keep their LaTeX)."""
    if args.reader == "recipe":
        from curate.config import load_recipe_config
        from curate.recipes.common import extraction_steps

        recipe = args.recipe or recipe_of_prompt(args.prompt)
        if recipe is None:
            raise ConfigError(f"--reader recipe: say which recipe reads the input (--recipe) for prompt {args.prompt}")
        return extraction_steps(load_recipe_config(recipe, [*args.set, f"input={args.input}"]))
    from datatrove.pipeline.readers import JsonlReader, ParquetReader

    reader = JsonlReader if args.reader == "jsonl" else ParquetReader
    folder, glob_pattern = split_input(args.input)
    return [reader(folder, glob_pattern=glob_pattern, text_key=args.text_key, id_key=args.id_key)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m curate.annotate", description=__doc__)
    parser.add_argument("--input", required=True, help="a folder, a file, or a glob such as data/*.jsonl.gz")
    parser.add_argument(
        "--reader", choices=READERS, default="jsonl", help="recipe: the recipe's reader and extractor (WARCs, code)"
    )
    parser.add_argument("--recipe", help="--reader recipe: the recipe (default: the prompt's, e.g. finemath)")
    parser.add_argument("--set", action="append", default=[], help="--reader recipe: a recipe key=value")
    parser.add_argument("--text-key", default="text")
    parser.add_argument("--id-key", default="id")
    parser.add_argument(
        "--prompt", default="fineweb_edu", help="fineweb_edu, finemath(_3pt/_5pt), stack_edu or a path"
    )
    parser.add_argument("--extract-chars", type=int, help="characters of each document the prompt sees")
    parser.add_argument("--language", help="stack_edu: the language of all documents (else metadata 'language')")
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="vllm")
    parser.add_argument("--model", required=True, help="Hub id, folder, .gguf, bundled:<name> or the served name")
    parser.add_argument("--mode", choices=MODES, default="generate")
    parser.add_argument("--sample", type=int, help="annotate this many documents, drawn at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True, help="annotation folder; rerunning on it resumes")
    parser.add_argument("--retry-unparsed", action="store_true", help="also redo answers without a score line")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=256, help="documents handed to the backend at once")
    parser.add_argument("--tasks", type=int, default=1, help="ranks (data parallel: one model replica each)")
    parser.add_argument("--workers", type=int, default=1, help="ranks run at once")
    openai = parser.add_argument_group("openai backend")
    openai.add_argument("--base-url", help="the server's /v1 root, e.g. http://127.0.0.1:8000/v1")
    openai.add_argument("--concurrency", type=int, help="requests in flight")
    openai.add_argument("--timeout", type=float, help="seconds per request")
    openai.add_argument("--retries", type=int, help="tries after the first before a document gets an error null")
    openai.add_argument("--tokenizer", help="logprobs mode: tokenizer with the chat template (default: --model)")
    vllm = parser.add_argument_group("vllm backend (docs/annotation.md says what each does on GPU and on CPU)")
    vllm.add_argument("--tensor-parallel-size", type=int)
    vllm.add_argument("--gpus-per-node", type=int, help="give rank r its own GPUs (data parallel on one node)")
    vllm.add_argument("--max-model-len", type=int)
    vllm.add_argument("--gpu-memory-utilization", type=float)
    vllm.add_argument("--kv-cache-memory-bytes", type=int)
    vllm.add_argument("--dtype")
    vllm.add_argument("--max-num-seqs", type=int)
    vllm.add_argument("--max-num-batched-tokens", type=int)
    vllm.add_argument("--enforce-eager", action="store_true")
    vllm.add_argument("--engine-arg", action="append", default=[], help="any other vllm.LLM argument, KEY=VALUE")
    local = parser.add_argument_group("local backend")
    local.add_argument("--threads", type=int)
    return parser.parse_args(argv)


VLLM_OPTIONS = (
    "tensor_parallel_size",
    "gpus_per_node",
    "max_model_len",
    "gpu_memory_utilization",
    "kv_cache_memory_bytes",
    "dtype",
    "max_num_seqs",
    "max_num_batched_tokens",
    "enforce_eager",
)


def backend_options(args: argparse.Namespace) -> dict:
    if args.backend == "openai":
        return {
            "base_url": args.base_url,
            "concurrency": args.concurrency,
            "timeout": args.timeout,
            "retries": args.retries,
            "tokenizer": args.tokenizer,
        }
    if args.backend == "vllm":
        return {name: getattr(args, name) for name in VLLM_OPTIONS} | {"llm_kwargs": engine_args(args.engine_arg)}
    return {"threads": args.threads}


def engine_args(pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs, each value read as YAML (``uni``, ``4096``, ``true``, ``{"mode": 0}``)."""
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--engine-arg expects KEY=VALUE, got {pair!r}")
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


def summarize(output: str, run_id: str, elapsed: float) -> str:
    """Counts of this run's shards, and how the whole folder stands."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = [
        pq.read_table(path, columns=["score", "null_reason"]) for path in Path(output).glob(f"*{run_id}_*.parquet")
    ]
    rows = pa.concat_tables(shards).to_pylist() if shards else []
    nulls: dict[str, int] = {}
    for row in rows:
        if row["score"] is None:
            nulls[row["null_reason"]] = nulls.get(row["null_reason"], 0) + 1
    null_text = ", ".join(f"{reason} {count}" for reason, count in sorted(nulls.items())) or "none"
    scored = len(rows) - sum(nulls.values())
    folder = read_annotations(output, columns=["id", "score"])
    folder_scored = len(folder) - folder["score"].null_count
    rate = len(rows) / elapsed if elapsed > 0 else 0.0
    return (
        f"annotated {len(rows)} documents this run ({scored} scored; nulls: {null_text}) in {elapsed:.1f} s, "
        f"{rate:.2f} docs/s; the folder holds {len(folder)} documents, {folder_scored} scored"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    try:
        pipeline = build_pipeline(args, run_id)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from datatrove.executor import LocalPipelineExecutor

    executor = LocalPipelineExecutor(
        pipeline, tasks=args.tasks, workers=args.workers, logging_dir=str(Path(args.output) / "logs" / run_id)
    )
    start = time.perf_counter()
    executor.run()
    print(summarize(args.output, run_id, time.perf_counter() - start))
    return 0


def build_pipeline(args: argparse.Namespace, run_id: str) -> list:
    """Input steps, optional sample, resume filter, the annotator and this run's writer."""
    prompt = load_prompt(args.prompt, extract_chars=args.extract_chars)
    if prompt.needs_language and not args.language:
        print("note: documents without a 'language' metadata field will get error nulls", file=sys.stderr)
    backend = make_backend(args.backend, args.model, **backend_options(args))
    pipeline = input_steps(args)
    if args.sample:
        pipeline.append(ReservoirSampler(args.sample, seed=args.seed))
    return [
        *pipeline,
        SkipAnnotated(args.output, retry_unparsed=args.retry_unparsed),
        LLMAnnotator(
            backend,
            prompt=prompt,
            mode=args.mode,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            batch_size=args.batch_size,
            language=args.language,
        ),
        AnnotationWriter(args.output, run_id=run_id),
    ]


if __name__ == "__main__":
    sys.exit(main())
