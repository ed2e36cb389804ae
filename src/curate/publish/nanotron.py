"""A nanotron data stage (``data_stages`` entry) for a planned, tokenized mixture stage.

nanotron's ``DatasetStageArgs`` are ``name``, ``start_training_step`` and ``data`` (``DataArgs``: ``dataset``,
``seed``, ``num_loading_workers``); its Nanoset reads each ``dataset_folder`` of datatrove ``.ds`` shards with
datatrove's ``DatatroveFolderDataset`` and samples them by ``dataset_weights`` (nanotron
``src/nanotron/config/config.py`` and ``src/nanotron/data/nanoset.py``). The tokenizer and the bytes per token
come from the shards' ``.ds.metadata`` files.
"""

from pathlib import Path

import yaml

from curate.publish.mixture import StagePlan

# SmolLM2-1.7B's nanotron config (huggingface/smollm text/pretraining/smollm2/config_smollm2_1B.yaml, run
# smollm2-1700M): sequence_length 2048; dp 256 x micro_batch_size 4 x batch_accumulation_per_replica 1 = 1024
# sequences per step (2,097,152 tokens); 5,240,000 train steps = 11T tokens.
SMOLLM2_SEQUENCE_LENGTH = 2048
SMOLLM2_GLOBAL_BATCH_SIZE = 1024


def start_step(start_tokens: int, sequence_length: int, global_batch_size: int) -> int:
    """The first step (nanotron counts from 1) whose batch starts at or after ``start_tokens`` tokens of training."""
    tokens_per_step = sequence_length * global_batch_size
    return -(-start_tokens // tokens_per_step) + 1


def data_stage(plan: StagePlan, start_tokens: int, sequence_length: int, global_batch_size: int, seed: int) -> dict:
    """The ``data_stages`` entry: each source's tokenized folder with its realised share as weight."""
    return {
        "name": f"{plan.mixture} stage {plan.stage}",
        "start_training_step": start_step(start_tokens, sequence_length, global_batch_size),
        "data": {
            "dataset": {
                "dataset_folder": [s.tokenized_folder for s in plan.sources],
                "dataset_weights": [s.realised_share for s in plan.sources],
            },
            "seed": seed,
            "num_loading_workers": 1,
        },
    }


def write_data_stage(
    plan: StagePlan, output_dir: Path, start_tokens: int, sequence_length: int, global_batch_size: int, seed: int
) -> Path:
    """Write ``stage<N>.nanotron.yaml``: a ``data_stages`` list to put into a nanotron training config."""
    stage = data_stage(plan, start_tokens, sequence_length, global_batch_size, seed)
    tokens_per_step = sequence_length * global_batch_size
    header = [
        f"# nanotron data stage for {plan.mixture} stage {plan.stage}, written by `curate mix`.",
        f"# Starts at {start_tokens:,} tokens of training = step {stage['start_training_step']:,} with "
        f"tokens.sequence_length {sequence_length} and {global_batch_size} sequences per step",
        f"# (dp x micro_batch_size x batch_accumulation_per_replica; {tokens_per_step:,} tokens per step). "
        f"Its budget: {plan.budget:,} tokens = {-(-plan.budget // tokens_per_step):,} step(s).",
        "# Put the entries of every stage under `data_stages:` of the training config (one must start at step 1).",
    ]
    path = output_dir / f"stage{plan.stage}.nanotron.yaml"
    path.write_text("\n".join(header) + "\n" + yaml.safe_dump({"data_stages": [stage]}, sort_keys=False))
    return path
