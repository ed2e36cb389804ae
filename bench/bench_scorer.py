"""Classifier scoring speed: curate's scorer against a plain ``transformers`` text-classification pipeline.

    python -m bench.bench_scorer [--n 200] [--device cpu] [--source extraction|sample]

A BERT-base-sized regression model (``BertConfig()`` defaults, ``num_labels=1``, RANDOM weights, the MiniLM
WordPiece tokenizer with the same 30,522-token vocabulary) scores real page texts (``shared/data/extraction``
ground truth, or the project's own sample pages with ``--source sample``). Both sides truncate to 512 tokens,
run in the same process with the same thread count, and must give the same scores.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def page_texts(source: str, n: int) -> list[str]:
    """``n`` page texts: extraction ground truth (real ScrapingHub articles) or the sample pages' bodies.

    When ``n`` exceeds the pages available, they are repeated (a GPU needs more texts than there are pages).
    """
    if source == "sample":
        from curate.sample import web_pages

        texts = [page["body"] for page in web_pages()]
    else:
        from curate.assets import shared_data_dir

        truth = shared_data_dir() / "extraction" / "truth.jsonl"
        texts = [row["text"] for row in map(json.loads, truth.read_text().splitlines()) if row.get("text")]
    return [texts[i % len(texts)] for i in range(n)]


def random_bert_base(folder: Path, tokenizer: str) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from curate.assets import resolve

    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(num_labels=1, problem_type="regression")).save_pretrained(folder)
    AutoTokenizer.from_pretrained(resolve(tokenizer)).save_pretrained(folder)
    return folder


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def run(
    n: int, device: str, source: str, batch_size: int, repeats: int = 1, tokenizer: str = "bundled:all-minilm-l6-v2"
) -> dict:
    import torch
    from transformers import pipeline

    from curate.classify.models import load_regressor

    texts = page_texts(source, n)
    distinct = len(set(texts))
    with tempfile.TemporaryDirectory() as tmp:
        folder = random_bert_base(Path(tmp) / "bert-base", tokenizer)
        regressor = load_regressor(str(folder), device=device, batch_size=batch_size)
        ids, tokenize_s = timed(lambda: regressor.tokenize(texts))
        tokens = sum(len(x) for x in ids)
        warm_up = sorted(texts, key=len)[-batch_size:]  # the longest texts: the largest shapes each side will see
        regressor.predict(warm_up)
        # bf16 weights: the default on CUDA already; on a CPU with native bf16 (AVX512-BF16, AMX) an opt-in
        bf16 = load_regressor(str(folder), device=device, batch_size=batch_size, precision="bf16")
        bf16.predict(warm_up)
        int8 = None
        if regressor.device == "cpu":  # int8 is a CPU opt-in; loading it compiles the quantized model
            int8, int8_compile_s = timed(
                lambda: load_regressor(str(folder), device=device, batch_size=batch_size, precision="int8")
            )
            int8.predict(warm_up)
        dtype = torch.bfloat16 if regressor.device.startswith("cuda") else torch.float32
        classifier = pipeline("text-classification", model=str(folder), device=regressor.device, dtype=dtype)
        options = {"truncation": True, "max_length": 512, "function_to_apply": "none"}
        classifier(warm_up, batch_size=batch_size, **options)
        methods = {
            "ours": lambda: regressor.predict(texts),
            "ours_bf16": lambda: bf16.predict(texts),
            **({"ours_int8": lambda: int8.predict(texts)} if int8 else {}),
            "plain": lambda: classifier(texts, **options),
            "batched": lambda: classifier(texts, batch_size=batch_size, **options),
        }
        # round-robin repeats, best of each: on a shared machine the minimum is the least disturbed run
        runs: dict[str, list[float]] = {name: [] for name in methods}
        outputs = {}
        for _ in range(repeats):
            for name, method in methods.items():
                outputs[name], seconds = timed(method)
                runs[name].append(seconds)
    ours = outputs["ours"]
    plain, batched = outputs["plain"], outputs["batched"]
    plain_scores = np.array([row["score"] for row in plain])
    batched_scores = np.array([row["score"] for row in batched])
    return {
        "n": len(texts),
        "distinct": distinct,
        "tokens": tokens,
        "device": regressor.device,
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "repeats": repeats,
        "runs_s": runs,
        "ours_tokenize_s": tokenize_s,
        "ours_s": min(runs["ours"]),
        "plain_s": min(runs["plain"]),
        "batched_s": min(runs["batched"]),
        "ours_bf16_s": min(runs["ours_bf16"]),
        "max_abs_diff": float(max(np.abs(ours - plain_scores).max(), np.abs(ours - batched_scores).max())),
        "bf16_max_abs_diff": float(np.abs(outputs["ours_bf16"] - ours).max()),
        **(
            {
                "ours_int8_s": min(runs["ours_int8"]),
                "int8_compile_s": int8_compile_s,
                "int8_max_abs_diff": float(np.abs(outputs["ours_int8"] - ours).max()),
            }
            if int8
            else {}
        ),
    }


def section(result: dict, command: str) -> str:
    from bench.report import machine

    n, tokens = result["n"], result["tokens"]
    rows = [
        ("curate `load_regressor(...).predict` (length-sorted batches)", result["ours_s"]),
        ('curate, `precision="bf16"`', result["ours_bf16_s"]),
        *([('curate, `precision="int8"`', result["ours_int8_s"])] if "ours_int8_s" in result else []),
        ("`pipeline('text-classification')`, default batch size 1", result["plain_s"]),
        (f"`pipeline('text-classification')`, batch_size={result['batch_size']}", result["batched_s"]),
    ]
    lines = [
        f"Command: `{command}`",
        f"Machine: {machine()}; device {result['device']}, torch threads {result['threads']}.",
        f"Model: BERT-base (`BertConfig()` defaults, random weights, num_labels=1); {n} page texts "
        f"({result['distinct']} distinct), "
        f"{tokens:,} tokens after truncation to 512; best of {result['repeats']} round-robin runs each. "
        "Largest score difference between the scorers: "
        f"{result['max_abs_diff']:.2e} (bf16 against float32: {result['bf16_max_abs_diff']:.2e}"
        + (
            f"; int8 against float32: {result['int8_max_abs_diff']:.2e}, after loading and compiling once for "
            f"{result['int8_compile_s']:.0f} s"
            if "ours_int8_s" in result
            else ""
        )
        + ").",
        "",
        "| scorer | seconds | docs/s | tokens/s | speed-up vs pipeline default |",
        "|---|---|---|---|---|",
    ]
    for name, seconds in rows:
        lines.append(
            f"| {name} | {seconds:.1f} | {n / seconds:.1f} | {tokens / seconds:,.0f} | "
            f"{result['plain_s'] / seconds:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="number of page texts")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--source", choices=("extraction", "sample"), default="extraction")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="round-robin runs per scorer; the fastest counts")
    parser.add_argument("--tokenizer", default="bundled:all-minilm-l6-v2", help="a BERT WordPiece tokenizer")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv or [])
    result = run(args.n, args.device, args.source, args.batch_size, args.repeats, args.tokenizer)
    command = (
        f"python -m bench.bench_scorer --n {args.n} --device {args.device} --source {args.source} "
        f"--batch-size {args.batch_size} --repeats {args.repeats}"
    )
    body = section(result, command)
    print(json.dumps(result))
    print(body)
    if not args.no_write:
        from bench.report import write_section

        # the Scorer section's prose is written by hand around the measured subsections
        write_section(f"{'CPU' if args.device == 'cpu' else 'GPU'} run", body, level=3)


if __name__ == "__main__":
    main(sys.argv[1:])
