"""Settings and helpers the vLLM tests share: the engine settings that fit vLLM's CPU build on a shared 2-core
machine, and a short prompt that keeps each forward pass small."""

import json
import os
from pathlib import Path

MODEL = "bundled:smollm2-135m-instruct.gguf"
# Flags both curate's CLI and vLLM's server take. float32: this CPU has no AVX-512 BF16, and bfloat16 prefill measured
# 3.5x slower here; a fixed 512 MiB KV cache (~23k tokens of SmolLM2) rather than a share of RAM, which on CPU
# depends on what the process already holds; eager mode: no torch.compile on a 2-core machine.
ENGINE_ARGS = [
    "--dtype", "float32", "--max-model-len", "2048", "--enforce-eager", "--kv-cache-memory-bytes", str(512 << 20),
]  # fmt: skip
# the uni executor runs the model in the engine's process rather than a worker process that imports vLLM again
OFFLINE_ENGINE_ARGS = [*ENGINE_ARGS, "--engine-arg", "distributed_executor_backend=uni"]
SERVER_ENGINE_ARGS = [*ENGINE_ARGS, "--distributed-executor-backend", "uni"]
# the offline engine's core runs in the calling process instead of a process of its own, which would import vLLM
# again (~30 s per engine start on 2 cores); set before any engine starts, and inherited by the CLI subprocesses
os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"

SHORT_PROMPT = """---
score_label: "Educational score"
max_score: 5
extract_chars: 300
---
How useful is this text for teaching at school, from 0 to 5?
Text: {extract}
Answer with one line: "Educational score: <points>"
"""


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
