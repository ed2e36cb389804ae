"""Annotation cost per document: ``generate`` (answer + last-line parse) against ``logprobs`` (one forward pass).

    python -m bench.bench_annotate [--n 10] [--max-tokens 128] [--threads 1]

The real SmolLM2-135M-Instruct (bundled GGUF) on CPU through curate's local backend, the FineWeb-Edu prompt
(first 1,000 characters of each page), real article texts from ``shared/data/extraction``. The model is too
small to follow the prompt, so the share of parsable answers says nothing about a 70B judge; the point is the
cost ratio between the two modes.
"""

import argparse
import json
import sys
import time

from datatrove.data import Document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])

    from bench.report import machine, write_section
    from curate.annotate import LLMAnnotator, LocalBackend, load_prompt
    from curate.annotate.backends.local import chat_token_ids
    from curate.assets import shared_data_dir

    truth = shared_data_dir() / "extraction" / "truth.jsonl"
    rows = [row for row in map(json.loads, truth.read_text().splitlines()) if row.get("text")][: args.n]
    backend = LocalBackend("bundled:smollm2-135m-instruct.gguf", threads=args.threads)
    backend.start()
    prompt = load_prompt("fineweb_edu")
    prompt_tokens = [
        len(chat_token_ids(backend.tokenizer, [{"role": "user", "content": prompt.render(row["text"])}]))
        for row in rows
    ]
    results = []
    for mode in ("generate", "logprobs"):
        annotator = LLMAnnotator(backend, prompt, mode=mode, max_tokens=args.max_tokens)
        documents = [Document(text=row["text"], id=row["id"]) for row in rows]
        start = time.perf_counter()
        done = list(annotator.run(documents))
        elapsed = time.perf_counter() - start
        tokens = sum(doc.metadata["completion_tokens"] for doc in done) / len(done)
        scored = sum(doc.metadata["score"] is not None for doc in done)
        results.append((mode, len(done), tokens, len(done) / elapsed, scored))
        print(f"{mode}: {len(done)} docs, {tokens:.1f} tokens/doc, {len(done) / elapsed:.3f} docs/s, {scored} scored")

    table = "\n".join(
        f"| {mode} | {n} | {tokens:.1f} | {rate:.3f} | {scored}/{n} |" for mode, n, tokens, rate, scored in results
    )
    speedup = results[1][3] / results[0][3]
    body = f"""
Machine: {machine()}.
`python -m bench.bench_annotate --n {args.n} --max-tokens {args.max_tokens} --threads {args.threads}`: the real
SmolLM2-135M-Instruct (bundled Q4_1 GGUF, dequantised to float32) on CPU via curate's `local` backend, the
FineWeb-Edu prompt with the first 1,000 characters of {len(rows)} real articles (`shared_data/extraction`),
{sum(prompt_tokens) / len(prompt_tokens):.0f} prompt tokens per document on average.

| mode | documents | tokens generated / doc | docs/s | answers with a score |
|---|---|---|---|---|
{table}

`logprobs` reads the score from one forward pass ({speedup:.1f}x the documents per second here); `generate`
pays for every token of the justification (capped at {args.max_tokens} here; a 100-word justification is
~130-200 tokens). SmolLM2-135M does not follow the prompt (DESIGN.md §4): its "scores" mean nothing, and
few of its answers end with a score line. The 2 cores were shared with other jobs while this ran.
"""
    if args.no_write:
        print(body)
    else:
        write_section("Annotation", body)


if __name__ == "__main__":
    main()
