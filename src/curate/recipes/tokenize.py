"""Tokenizing mixture sources for nanotron: the executor stages, where they write, and what they wrote.

Per source, under the mixture's output folder:

```
work/<source>/shuffled/*.ds       tokenize-<source>: one shard per task, documents shuffled in each (tasks = --tasks)
tokenized/<source>/*.ds           merge-<source>: datatrove's merger, shards shuffled together (one task)
stage<N>/materialized/<source>/   stage<N>-materialize-<source>: exactly the source's tokens of the stage budget
logs/<stage name>/                datatrove logs, stats and completion markers (rerun = resume)
```

nanotron reads ``tokenized/<source>`` (or ``materialized/<source>``) folders of ``.ds`` shards with their
``.ds.index`` (document ends) and ``.ds.metadata`` (tokenizer name, bytes per token, tokens) files.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.tokens import DocumentTokenizerMerger

from curate.blocks.tokens import NamedFileTokenizer, TokenBudgetSampler
from curate.publish.sources import MixtureError, TokenizerChoice
from curate.recipes import Stage, step

INDEX_ENTRY_BYTES = 8  # datatrove's .ds.index holds one uint64 document end per document


@dataclass(frozen=True)
class TokenizedLayout:
    """Where the tokenizing stages of one mixture output folder write."""

    output: Path

    def work(self, source: str) -> Path:
        return self.output / "work" / source

    def tokenized(self, source: str) -> Path:
        return self.output / "tokenized" / source

    def materialized(self, stage: int, source: str) -> Path:
        return self.output / f"stage{stage}" / "materialized" / source

    @property
    def logs(self) -> Path:
        return self.output / "logs"


def lock_params(folder: Path, params: dict) -> None:
    """Record what makes ``folder``'s output; refuse to resume it with other settings (its tasks would be skipped)."""
    record = folder / "params.json"
    wanted = json.loads(json.dumps(params, default=str))
    if record.is_file():
        found = json.loads(record.read_text())
        changed = sorted(k for k in wanted.keys() | found.keys() if wanted.get(k) != found.get(k))
        if changed:
            raise MixtureError(
                f"{folder} was made with other settings ({', '.join(changed)} differ); "
                "rerun with the same ones, or choose another --output"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(wanted, indent=2))
    tmp.replace(record)


def readers(files: list[Path], paths_dir: Path, text_column: str) -> list:
    """datatrove readers over exactly ``files`` (listed in paths files, which the tasks split between them)."""
    root = Path(os.path.commonpath([f.resolve().parent for f in files]))
    chosen = []
    for kind, reader in (("parquet", ParquetReader), ("jsonl", JsonlReader)):  # JsonlReader also reads .jsonl.gz
        listed = [
            f.resolve().relative_to(root).as_posix() for f in files if (f.suffix == ".parquet") == (kind == "parquet")
        ]
        if listed:
            paths_file = paths_dir / f"{kind}-files.txt"
            paths_file.write_text("".join(f"{name}\n" for name in listed))
            chosen.append(step(reader, data_folder=str(root), paths_file=str(paths_file), text_key=text_column))
    return chosen


def tokenize_stages(
    source: str,
    files: list[Path],
    text_column: str,
    layout: TokenizedLayout,
    tokenizer: TokenizerChoice,
    eos_token: str | None,
    tasks: int,
    workers: int,
    seed: int,
    shard_tokens: int,
) -> list[Stage]:
    """tokenize-<source> (``tasks`` tasks, documents shuffled per task) then merge-<source> (one task, shuffled)."""
    work = layout.work(source)
    params = {"files": [str(f) for f in files], "text_column": text_column, "tokenizer": tokenizer.name}
    params |= {"eos_token": eos_token, "tasks": tasks, "seed": seed, "shard_tokens": shard_tokens}
    lock_params(work, params)
    (work / "inputs").mkdir(exist_ok=True)
    tokenize = step(
        NamedFileTokenizer,
        output_folder=str(work / "shuffled"),
        tokenizer_file=tokenizer.file,
        tokenizer_name=tokenizer.name,
        eos_token=eos_token,
        local_working_dir=str(work / "unshuffled"),
        shuffle_documents=True,
        seed=seed,
    )
    merge = step(
        DocumentTokenizerMerger,
        input_folder=str(work / "shuffled"),
        output_folder=str(layout.tokenized(source)),
        save_filename=source,
        max_tokens_per_file=shard_tokens,
        shuffle=True,
        seed=seed,
        progress=False,
    )
    return [
        Stage(f"tokenize-{source}", [*readers(files, work / "inputs", text_column), tokenize], tasks, workers),
        Stage(f"merge-{source}", [merge], 1, 1),
    ]


def materialize_stage(
    stage: int, source: str, tokens: int, layout: TokenizedLayout, seed: int, shard_tokens: int
) -> Stage:
    """stage<N>-materialize-<source>: ``tokens`` tokens of the source's shards (repeated or sampled), one task."""
    target = layout.materialized(stage, source)
    lock_params(target, {"tokens": tokens, "seed": seed, "shard_tokens": shard_tokens})
    sampler = step(
        TokenBudgetSampler,
        input_folder=str(layout.work(source) / "shuffled"),
        output_folder=str(target),
        tokens=tokens,
        save_filename=source,
        max_tokens_per_file=shard_tokens,
        seed=seed + 1,  # not the merge's seed: the first pass is not the merged order again
    )
    return Stage(f"stage{stage}-materialize-{source}", [sampler], 1, 1)


@dataclass
class ShardTotals:
    """What a folder of tokenized shards holds."""

    documents: int
    tokens: int  # end-of-document tokens included
    tokenizer: str
    files: int


def shard_totals(folder: Path) -> ShardTotals:
    """Documents (from the ``.ds.index`` files) and tokens (from the ``.ds`` sizes) of a folder of shards."""
    shards = sorted(folder.glob("*.ds"))
    if not shards:
        raise MixtureError(f"no tokenized shards in {folder}: did the source have no documents?")
    metadata = next((p for p in sorted(folder.glob("*.ds.metadata"))), None)
    name, _, size = (metadata.read_text().splitlines()[0] if metadata else "|2").rpartition("|")
    token_bytes = int(size)
    documents = sum(Path(f"{shard}.index").stat().st_size // INDEX_ENTRY_BYTES for shard in shards)
    tokens = sum(shard.stat().st_size // token_bytes for shard in shards)
    return ShardTotals(documents, tokens, name, len(shards))
