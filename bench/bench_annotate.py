"""Annotation cost per document: vLLM's CPU build against the transformers ``local`` backend, in generate mode
(answer + last-line parse) and logprobs mode (one forward pass), on the same real pages in one run.

    .venv-vllm/bin/python -m bench.bench_annotate [--n 20] [--max-tokens 128]

From the main environment (``make bench``) it runs itself in ``.venv-vllm`` (``make vllm-env``), where vLLM is.
The real SmolLM2-135M-Instruct (bundled GGUF, converted once to a float32 folder) on CPU, the FineWeb-Edu prompt
(first 1,000 characters of each page), real article texts from ``shared/data/extraction``. The model is too small to
follow the prompt, so the share of parsable answers says nothing about a 70B judge; the point is the cost.
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

from datatrove.data import Document

MODEL = "bundled:smollm2-135m-instruct.gguf"
VLLM_PYTHON = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
# vLLM on this CPU (docs/annotation.md): float32, a fixed KV cache, eager mode, the model in this process; no prefix
# caching, or the logprobs pass would reuse the generate pass's prompts and look cheaper than it is
VLLM_ENGINE = {
    "dtype": "float32",
    "max_model_len": 2048,
    "kv_cache_memory_bytes": 512 << 20,
    "enforce_eager": True,
    "llm_kwargs": {"distributed_executor_backend": "uni", "enable_prefix_caching": False},
}
MODES = ("generate", "logprobs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    argv = argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else []
    args = parser.parse_args(argv)
    if importlib.util.find_spec("vllm") is None:
        if not VLLM_PYTHON.exists():
            sys.exit("bench_annotate needs vLLM: run `make vllm-env` first")
        subprocess.run([str(VLLM_PYTHON), "-m", "bench.bench_annotate", *argv], check=True)
        return
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    results, threads, prompt_tokens = measure(args.n, args.max_tokens)
    body = report(results, args, threads, prompt_tokens)
    print(body)
    if not args.no_write:
        from bench.report import write_section

        write_section("Annotation", body)


def measure(n: int, max_tokens: int) -> tuple[list[dict], int, float]:
    """One row per backend and mode; also the torch threads and the mean prompt length in tokens."""
    import json
    from collections import Counter

    import torch

    from curate.annotate import LLMAnnotator, LocalBackend, VLLMBackend, load_prompt
    from curate.annotate.backends.model_files import chat_token_ids
    from curate.annotate.parsing import ERROR
    from curate.assets import shared_data_dir

    truth = shared_data_dir() / "extraction" / "truth.jsonl"
    rows = [row for row in map(json.loads, truth.read_text().splitlines()) if row.get("text")][: n + 1]
    warm_up, rows = rows[:1], rows[1:]
    prompt = load_prompt("fineweb_edu")
    vllm = VLLMBackend(MODEL, **VLLM_ENGINE)
    start = time.perf_counter()
    vllm.start()
    vllm_start = time.perf_counter() - start
    threads = torch.get_num_threads()  # what vLLM left torch with: the local backend gets the same
    backends = {"vllm": vllm, "local": LocalBackend(MODEL, threads=threads)}
    results = []
    for name, backend in backends.items():
        backend.start()
        for mode in MODES:
            annotator = LLMAnnotator(backend, prompt, mode=mode, max_tokens=max_tokens)
            list(annotator.run([Document(text=row["text"], id=row["id"]) for row in warm_up]))  # first-call costs
            start = time.perf_counter()
            done = list(annotator.run([Document(text=row["text"], id=row["id"]) for row in rows]))
            elapsed = time.perf_counter() - start
            results.append(
                {
                    "backend": name,
                    "mode": mode,
                    "docs": len(done),
                    "tokens": sum(doc.metadata["completion_tokens"] for doc in done) / len(done),
                    "rate": len(done) / elapsed,
                    "scored": sum(doc.metadata["score"] is not None for doc in done),
                    "nulls": Counter(doc.metadata["null_reason"] for doc in done if doc.metadata["score"] is None),
                }
            )
            print(results[-1], flush=True)
            for doc in done:
                if doc.metadata["null_reason"] == ERROR:
                    print(f"{name} {mode} {doc.id}: {doc.metadata['raw_response']}", flush=True)
    tokenizer = vllm.llm.get_tokenizer()
    lengths = [len(chat_token_ids(tokenizer, [{"role": "user", "content": prompt.render(r["text"])}])) for r in rows]
    results[0]["engine_start"] = vllm_start
    return results, threads, sum(lengths) / len(lengths)


def report(results: list[dict], args: argparse.Namespace, threads: int, prompt_tokens: float) -> str:
    from bench.report import machine

    labels = {"vllm": "vLLM 0.32.0 CPU build (`vllm`)", "local": "transformers (`local`)"}
    table = "\n".join(
        f"| {labels[r['backend']]} | {r['mode']} | {r['docs']} | {r['tokens']:.1f} | {r['rate']:.3f} | "
        f"{r['scored']}/{r['docs']} | {', '.join(f'{k} {v}' for k, v in sorted(r['nulls'].items())) or '-'} |"
        for r in results
    )
    rate = {(r["backend"], r["mode"]): r["rate"] for r in results}
    tokens = {(r["backend"], r["mode"]): r["tokens"] for r in results}
    fewer = min(tokens[(b, "generate")] / tokens[(b, "logprobs")] for b in ("vllm", "local"))
    return f"""
Machine: {machine()}; {threads} torch threads for both backends.
`python -m bench.bench_annotate --n {args.n} --max-tokens {args.max_tokens}` (runs in `.venv-vllm`): the real
SmolLM2-135M-Instruct (bundled Q4_1 GGUF, converted once to float32) on CPU, once through vLLM's CPU build
(`vllm.LLM`: float32, eager, 512 MiB KV cache, prefix caching off, the whole batch at once) and once through
transformers (curate's `local` backend, one prompt at a time), the FineWeb-Edu prompt with the first 1,000 characters
of the same {args.n} real articles (`shared_data/extraction`), {prompt_tokens:.0f} prompt tokens per document on
average. One page goes through each backend and mode first, untimed; vLLM's engine start took
{results[0]["engine_start"]:.0f} s.

| backend | mode | documents | tokens generated / doc | docs/s | answers with a score | the others, by null reason |
|---|---|---|---|---|---|---|
{table}

vLLM against transformers: {rate[("vllm", "generate")] / rate[("local", "generate")]:.1f}x the documents per second in
generate mode, {rate[("vllm", "logprobs")] / rate[("local", "logprobs")]:.1f}x in logprobs mode. Logprobs mode
generates {fewer:.0f}x fewer tokens than generate mode (the goal: at least 10x) and is
{rate[("vllm", "logprobs")] / rate[("vllm", "generate")]:.1f}x (vLLM) and
{rate[("local", "logprobs")] / rate[("local", "generate")]:.1f}x (transformers) faster; `generate` pays for every
token of the justification (capped at {args.max_tokens} here; a 100-word justification is ~130-200 tokens).
SmolLM2-135M does not follow the prompt (DESIGN.md §4): its "scores" mean nothing, and few of its answers end with a
score line. vLLM on a GPU was not measured: no GPU machine was lent for this work.
"""


if __name__ == "__main__":
    main()
