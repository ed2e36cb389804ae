"""Tokenizing and merging for `curate mix --tokenize`: tokens/s per process, next to the floors they cannot beat.

Input: the main text of the 319 real pages of ../shared/data/extraction and the 795 real code files of
../shared/data/code, repeated ``REPEATS`` times, in one JSONL file (in a temporary folder). One process each:

- tokenize: curate's NamedFileTokenizer (datatrove's DocumentTokenizer: tokenize, write, shuffle the documents
  of its shard) with the SmolLM2 tokenizer, vs the ``tokenizers`` library's ``encode_batch`` alone (no writing);
- merge: datatrove's DocumentTokenizerMerger interleaving ``SHARDS`` shards at random, vs copying the same bytes;
- materialize: TokenBudgetSampler writing 2.5 passes of the shards.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.tokens import DocumentTokenizerMerger
from tokenizers import Tokenizer

from bench.report import machine, write_section
from curate.assets import resolve, shared_data_dir
from curate.blocks.tokens import NamedFileTokenizer, TokenBudgetSampler

REPEATS = 8
SHARDS = 4
BATCH = 1000


def real_texts(shared: Path) -> list[str]:
    pages = [json.loads(line)["text"] for line in (shared / "extraction" / "truth.jsonl").read_text().splitlines()]
    code_root = shared / "code"
    code = [
        (code_root / json.loads(line)["path"]).read_text(errors="replace")
        for line in (code_root / "manifest.jsonl").read_text().splitlines()
    ]
    return [t for t in pages + code if t]


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def shard_tokens(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.ds")) // 2


def main() -> None:
    texts = real_texts(shared_data_dir()) * REPEATS
    tokenizer_file = resolve("bundled:smollm2-tokenizer")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "docs.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        encoder = Tokenizer.from_file(tokenizer_file)
        floor_tokens = 0

        def encode_only():
            nonlocal floor_tokens
            for i in range(0, len(texts), BATCH):
                floor_tokens += sum(len(e.ids) + 1 for e in encoder.encode_batch(texts[i : i + BATCH]))

        seconds = timed(encode_only)
        rows.append(("tokenize", "`tokenizers` encode_batch only (floor)", floor_tokens, seconds))

        def tokenize(rank: int) -> None:
            reader = JsonlReader(str(root), glob_pattern="docs.jsonl")
            step = NamedFileTokenizer(
                str(root / "shards"), tokenizer_file, "bench", eos_token="<|endoftext|>", seed=rank,
                local_working_dir=str(root / "unshuffled"), shuffle_documents=True,
            )  # fmt: skip
            step(reader(None, rank=0, world_size=1), rank=rank, world_size=SHARDS)

        seconds = timed(lambda: tokenize(0))
        tokens = shard_tokens(root / "shards")
        rows.append(("tokenize", "NamedFileTokenizer (datatrove DocumentTokenizer, shuffled)", tokens, seconds))
        for rank in range(1, SHARDS):  # more shards for the merger, not timed
            tokenize(rank)
        total = shard_tokens(root / "shards")

        def copy_bytes():
            (root / "copy").mkdir()
            for shard in sorted((root / "shards").glob("*.ds")):
                shutil.copyfile(shard, root / "copy" / shard.name)

        rows.append(("merge", f"copy the {SHARDS} shards' bytes (floor)", total, timed(copy_bytes)))
        merger = DocumentTokenizerMerger(
            str(root / "shards"), str(root / "merged"), "bench", shuffle=True, seed=0, progress=False
        )
        rows.append(("merge", f"DocumentTokenizerMerger, {SHARDS} shards, shuffled", total, timed(merger.run)))
        budget = int(2.5 * total)
        sampler = TokenBudgetSampler(str(root / "shards"), str(root / "materialized"), budget, "bench", seed=1)
        seconds = timed(sampler.run)
        rows.append(("materialize", "TokenBudgetSampler, 2.5 passes", shard_tokens(root / "materialized"), seconds))
    lines = [
        f"Machine: {machine()}. One process per row (`python -m bench mix`); {len(texts):,} documents: the 319 real",
        f"extraction pages' main text and the 795 real code files, {REPEATS} times; SmolLM2 tokenizer, one",
        "<|endoftext|> per document. The merger and the sampler read 4 shards (the documents tokenized 4 times,",
        "with 4 seeds). `tokenizers` runs encode_batch on its own threads (both cores here); the rest is one thread.",
        "Measured on a shared, busy machine; the coordinator reruns this on a quiet one.",
        "",
        "| step | what | tokens | seconds | tokens/s per process |",
        "|---|---|---:|---:|---:|",
        *(
            f"| {step} | {what} | {tokens:,} | {seconds:.2f} | {tokens / seconds:,.0f} |"
            for step, what, tokens, seconds in rows
        ),
    ]
    write_section("Mixture tokenizing and merging", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
