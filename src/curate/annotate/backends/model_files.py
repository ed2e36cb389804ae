"""Where a backend loads a model from, and its tokenizer's chat template.

A Hub id or a folder is used as is. A ``.gguf`` file (or a ``bundled:`` GGUF) is converted once into a transformers
folder under ``curate.assets.cache_dir()``: transformers, ``vllm.LLM`` and vLLM's OpenAI server all load that
folder (vLLM cannot take the bundled GGUF), and it loads in a second where dequantising the GGUF takes a minute.
"""

import hashlib
import os
import shutil
from functools import lru_cache
from pathlib import Path

from curate.annotate.backends.base import Conversation
from curate.assets import cache_dir, resolve

CONVERTED_DIR = "gguf-as-transformers"
# bump when the layout of a converted folder changes, so that folders made by older code are not reused
CONVERSION_FORMAT = 2


def model_dir(model: str) -> str:
    """The folder transformers and vLLM load ``model`` from (see the module docstring)."""
    path = Path(resolve(model))
    if path.suffix != ".gguf":
        return str(path) if path.exists() else model
    stat = path.stat()
    converted = cache_dir() / CONVERTED_DIR / f"{path.stem}-{_content_key(str(path), stat.st_size, stat.st_mtime_ns)}"
    if not (converted / "config.json").exists():
        convert_gguf(path, converted)
    return str(converted)


@lru_cache(maxsize=8)
def _content_key(path: str, size: int, mtime_ns: int) -> str:
    """From the file's bytes, not its path: the copies of one GGUF in two virtualenvs share one converted folder."""
    digest = hashlib.sha256(f"format {CONVERSION_FORMAT}\n".encode())
    with open(path, "rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise ``gguf`` into a transformers folder at ``target`` (atomically: parallel workers may race)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lm = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # the weights are plain float32 by now; save_pretrained refuses a model that still carries its GGUF quantizer
    lm.hf_quantizer = None
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    # save_pretrained writes a tied embedding once, as model.embed_tokens, which is the name vLLM loads
    lm.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another worker won the race


@lru_cache(maxsize=2)
def load_tokenizer(model: str):
    """The tokenizer of ``model`` (see ``model_dir``), loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir(model))


def chat_token_ids(tokenizer, conversation: Conversation, assistant_prefix: str = "") -> list[int]:
    """Token ids of a conversation in the model's chat template, with an assistant turn opened and, if given,
    ``assistant_prefix`` already written into it. The template already holds any BOS token, so none is added."""
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return tokenizer.encode(text + assistant_prefix, add_special_tokens=False)
