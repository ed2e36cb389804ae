"""Load any educational-quality classifier behind one interface: ``load_regressor(ref).predict(texts)``.

Three kinds are recognised from what ``ref`` points to:

- a Hugging Face sequence-classification regression model (Hub id or folder with ``config.json``), e.g. the
  published ``HuggingFaceFW/fineweb-edu-classifier``;
- a curate head folder (``curate_head.json``): ``embedding-ridge`` (sentence-transformers encoder + linear
  weights in safetensors) or ``fasttext`` (a supervised fastText model whose labels are scores);
- a fastText supervised model file (``.bin`` / ``.ftz``) whose labels are numeric scores.

Weights are only ever read from safetensors, ``.npy`` or fastText's own format, never from pickle.
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from curate.assets import Asset, is_hub_id, local_model_path, model_asset
from curate.classify.devices import cuda_batch_tokens, worker_device

DEFAULT_MODEL = "HuggingFaceFW/fineweb-edu-classifier"
HEAD_CONFIG = "curate_head.json"
EMBEDDING_RIDGE = "embedding-ridge"
FASTTEXT = "fasttext"
FASTTEXT_LABEL_PREFIX = "__label__"
# A token rarely spans more characters than this; texts are cut (at a space) before tokenizing so a 1 MB page
# does not cost a full tokenization when only the first max_length tokens are used.
_CHARS_PER_TOKEN_BOUND = 24
PRECISIONS = ("auto", "bf16", "fp32", "int8")
CPU_MAX_BATCH_TOKENS = 2048


class Regressor(Protocol):
    """A loaded classifier: ``predict`` returns one float score per text, in input order."""

    name: str

    def predict(self, texts: list[str]) -> np.ndarray: ...


def load_regressor(
    ref: str = DEFAULT_MODEL,
    *,
    max_length: int = 512,
    device: str = "auto",
    batch_size: int = 64,
    trust_remote_code: bool = False,
    precision: str = "auto",
) -> Regressor:
    """Load the classifier ``ref`` (Hub id, local path or ``bundled:<name>``), detecting its kind from its files.

    Args:
        ref: Hub id or local path of the model (``bundled:`` refs resolve to the wheel-shipped file).
        max_length: tokens per text the model sees; longer texts are truncated.
        device: ``"auto"`` (this worker's GPU when one is visible, else the CPU), ``"cpu"``, ``"cuda"`` or
            ``"cuda:N"`` (see ``curate.classify.devices``).
        batch_size: texts per forward pass.
        trust_remote_code: allow custom modelling code from the Hub (off by default).
        precision: Hugging Face models: "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "fp32" or "int8" (CPU).

    A Hub id is read from the Hugging Face cache only (``curate fetch`` or ``hf download`` puts it there): loading
    never downloads, so thousands of tasks never hit the Hub. A missing one raises MissingAssetError.
    """
    path = Path(local_model_path(ref))
    if path.is_dir() and (path / HEAD_CONFIG).is_file():
        config = json.loads((path / HEAD_CONFIG).read_text())
        kind = config.get("kind")
        if kind == EMBEDDING_RIDGE:
            return EmbeddingHeadRegressor(path, config, max_length=max_length, device=device, batch_size=batch_size)
        if kind == FASTTEXT:
            return FastTextRegressor(path / config["model"], name=config.get("name", path.name))
        raise ValueError(f"{path / HEAD_CONFIG}: unknown kind {kind!r} (expected {EMBEDDING_RIDGE!r} or {FASTTEXT!r})")
    if path.is_file():
        if path.suffix in (".bin", ".ftz"):
            return FastTextRegressor(path)
        raise ValueError(f"{path}: a model file must be a fastText .bin/.ftz; other kinds are folders or Hub ids")
    regressor = HFSequenceRegressor(
        str(path),
        max_length=max_length,
        device=device,
        batch_size=batch_size,
        trust_remote_code=trust_remote_code,
        precision=precision,
    )
    if is_hub_id(ref):
        regressor.name = ref  # scores name the published model, not the cache folder
    return regressor


def classifier_assets(ref: str) -> list[Asset]:
    """What loading the classifier ``ref`` needs: the model, plus the sentence encoder of a curate head."""
    asset = model_asset(ref)
    path = asset.locate()
    if path is not None and (path / HEAD_CONFIG).is_file():
        encoder = json.loads((path / HEAD_CONFIG).read_text()).get("encoder")
        if encoder:
            return [asset, model_asset(encoder, "sentence encoder")]
    return [asset]


def resolve_device(device: str, rank: int = 0) -> str:
    """``"auto"`` and ``"cuda"`` become this worker's GPU (``curate.classify.devices``; ``"auto"``: the CPU when
    none is visible); ``"cpu"`` and ``"cuda:N"`` are returned unchanged."""
    return worker_device(device, rank)


def check_precision(precision: str) -> str:
    """``precision`` unchanged when it is one of ``PRECISIONS``; a ValueError naming them otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return precision


def resolve_precision(precision: str, device: str) -> str:
    """``"auto"`` becomes ``"bf16"`` on CUDA and ``"fp32"`` on CPU (exact scores; see the class docstring)."""
    check_precision(precision)
    if precision == "int8" and device != "cpu":
        raise ValueError(f"precision int8 is a CPU path; on {device} use bf16 (the default there)")
    if precision != "auto":
        return precision
    return "bf16" if device.startswith("cuda") else "fp32"


def quantize_int8(model, pad_token_id: int):
    """``model`` with int8 linear layers (int8 weights, activations quantized per token at run time), compiled.

    Uses torchao's dynamic int8 quantization, which replaces torch's deprecated ``quantize_dynamic``. Uncompiled,
    these layers are slower than float32 on a CPU; ``torch.compile`` turns them into fused int8 kernels. Both
    graphs are compiled here, before any real batch: torch specializes a batch of one text, so a single-text
    batch would otherwise stall a run mid-way with a second compilation. Compiling takes minutes on 2 cores and
    is cached on disk for later processes.
    """
    import torch

    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError as error:
        raise ImportError("precision='int8' needs torchao: pip install 'curate[int8]'") from error
    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    compiled = torch.compile(model, dynamic=True)
    with torch.inference_mode():
        for rows in ([[2] * 8], [[2] * 16, [2] * 8]):  # a single text, then a padded batch of two (any token id)
            input_ids, attention_mask = pad_batch(rows, pad_token_id)
            compiled(input_ids=input_ids, attention_mask=attention_mask)
    return compiled


def limit_cpu_threads() -> None:
    """Use no more torch threads than CPUs this process may run on (containers and Slurm restrict affinity).

    An explicit ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` by the caller is left alone when lower.
    """
    import torch

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if torch.get_num_threads() > available:
        torch.set_num_threads(available)


def length_sorted_batches(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> Iterator[list[int]]:
    """Indices grouped into batches of similar length, longest first (an out-of-memory shows up at once).

    A batch holds at most ``batch_size`` items and, when ``max_tokens`` is given, at most that many tokens
    once padded to its longest item (always at least one item).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: list[int] = []
    for i in order:
        full = len(batch) == batch_size or (
            max_tokens is not None and batch and (len(batch) + 1) * lengths[batch[0]] > max_tokens
        )
        if full:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def _cut_at_space(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", max_chars // 2, max_chars)
    return text[: cut if cut > 0 else max_chars]


def tokenize_truncated(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text truncated to ``max_length``, without tokenizing the part of a long text never used.

    The result equals ``tokenizer(texts, truncation=True, max_length=max_length)`` for tokenizers that split
    words at spaces: a text is cut at a space far past the window, and tokenized whole when the cut part would
    not fill the window.
    """
    max_chars = max_length * _CHARS_PER_TOKEN_BOUND
    cut = [_cut_at_space(text, max_chars) for text in texts]
    ids = tokenizer(cut, truncation=True, max_length=max_length)["input_ids"]
    for i, (text, short) in enumerate(zip(texts, cut, strict=True)):
        if short is not text and len(ids[i]) < max_length:
            ids[i] = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
    return ids


def pad_batch(rows: list[list[int]], pad_token_id: int, padding_side: str = "right", multiple_of: int = 1):
    """``input_ids`` and ``attention_mask`` tensors for token-id lists, padded to the longest (rounded up)."""
    import torch

    longest = max(len(row) for row in rows)
    width = -(-longest // multiple_of) * multiple_of
    input_ids = np.full((len(rows), width), pad_token_id, dtype=np.int64)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if padding_side == "left" else slice(0, len(row))
        input_ids[i, span] = row
        attention_mask[i, span] = 1
    return torch.from_numpy(input_ids), torch.from_numpy(attention_mask)


def pad_settings(tokenizer, device: str) -> tuple[int, int]:
    """The pad token id (0 when the tokenizer has none) and the multiple padded widths are rounded up to.

    GPU attention kernels prepare a plan per input shape: a few padded widths instead of one per batch.
    """
    pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return pad_token_id, 64 if device.startswith("cuda") else 1


class HFSequenceRegressor:
    """A ``transformers`` sequence-classification model with one regression output (``num_labels=1``).

    Texts are tokenized with truncation, sorted by length and batched so padding stays small; always under
    ``torch.inference_mode``. ``precision="auto"`` runs bf16 on CUDA and float32 on CPU; ``"bf16"`` on a CPU
    with native bf16 arithmetic (AVX512-BF16, AMX) is about twice as fast, with scores off by ~1e-2, and
    ``"int8"`` (:func:`quantize_int8`) is faster still on CPUs with VNNI, with scores off by ~2e-2.
    """

    def __init__(
        self,
        ref: str,
        *,
        max_length: int = 512,
        device: str = "auto",
        batch_size: int = 64,
        trust_remote_code: bool = False,
        precision: str = "auto",
    ):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.name = ref
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.precision = resolve_precision(precision, self.device)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        if self.device == "cpu":
            limit_cpu_threads()
        self.tokenizer = AutoTokenizer.from_pretrained(ref, trust_remote_code=trust_remote_code)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            ref, dtype=dtype, trust_remote_code=trust_remote_code
        )
        if self.model.config.num_labels != 1:
            raise ValueError(
                f"{ref}: expected a regression model with num_labels=1, got {self.model.config.num_labels}"
            )
        self.model.to(self.device).eval()
        positions = getattr(self.model.config, "max_position_embeddings", None) or max_length
        self.max_length = min(max_length, positions)
        self.pad_token_id, self.pad_to_multiple_of = pad_settings(self.tokenizer, self.device)
        if self.precision == "int8":
            self.model = quantize_int8(self.model, self.pad_token_id)
        # a CPU is fastest when a batch's activations stay in its caches: a few long texts per forward pass; a GPU
        # takes batch_size texts per pass, as long as their activations fit in its free memory
        if self.device == "cpu":
            self.max_batch_tokens = CPU_MAX_BATCH_TOKENS
        else:
            self.max_batch_tokens = cuda_batch_tokens(self.model, self.device, 2 if self.precision == "bf16" else 4)

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, truncated to ``max_length`` (special tokens included)."""
        return tokenize_truncated(self.tokenizer, texts, self.max_length)

    def predict(self, texts: list[str]) -> np.ndarray:
        """Raw regression output for each text, in input order."""
        import torch

        scores = np.zeros(len(texts), dtype=np.float32)
        if not texts:
            return scores
        ids = self.tokenize(texts)
        with torch.inference_mode():
            for batch in length_sorted_batches([len(x) for x in ids], self.batch_size, self.max_batch_tokens):
                input_ids, attention_mask = pad_batch(
                    [ids[i] for i in batch], self.pad_token_id, self.tokenizer.padding_side, self.pad_to_multiple_of
                )
                logits = self.model(
                    input_ids=input_ids.to(self.device, non_blocking=True),
                    attention_mask=attention_mask.to(self.device, non_blocking=True),
                ).logits
                scores[batch] = logits[:, 0].float().cpu().numpy()
        return scores


class EmbeddingHeadRegressor:
    """curate's cheap head: sentence embeddings followed by linear weights (ridge regression).

    ``curate_head.json`` holds ``encoder`` (a sentence-transformers ref, ``bundled:`` allowed), ``weights``
    (a safetensors file with ``coef`` and ``intercept``), ``max_length`` and ``normalize_embeddings``.
    """

    def __init__(
        self, folder: Path, config: dict, *, max_length: int = 512, device: str = "auto", batch_size: int = 64
    ):
        from safetensors.numpy import load_file

        self.name = config.get("name", folder.name)
        self.encoder_ref = config["encoder"]
        self.normalize_embeddings = bool(config.get("normalize_embeddings", True))
        self.batch_size = batch_size
        weights = load_file(str(folder / config["weights"]))
        self.coef = weights["coef"].astype(np.float32)
        self.intercept = float(weights["intercept"].reshape(-1)[0])
        self.encoder = load_sentence_encoder(self.encoder_ref, device=device)
        # the head was fitted on embeddings of at most this many tokens: never look further than that
        self.encoder.max_seq_length = min(max_length, int(config.get("max_length", max_length)))
        if self.coef.shape != (embedding_dimension(self.encoder),):
            raise ValueError(
                f"{folder}: weights of shape {self.coef.shape} do not match the {self.encoder_ref} embedding size"
            )

    def embed(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings of the texts (float32, one row per text)."""
        return embed_texts(self.encoder, texts, batch_size=self.batch_size, normalize=self.normalize_embeddings)

    def predict(self, texts: list[str]) -> np.ndarray:
        """Linear score of each text's embedding."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return self.embed(texts) @ self.coef + np.float32(self.intercept)


def load_sentence_encoder(ref: str, *, device: str = "auto"):
    """A sentence-transformers model from a Hub id, local folder or ``bundled:`` ref."""
    from sentence_transformers import SentenceTransformer

    device = resolve_device(device)
    if device == "cpu":
        limit_cpu_threads()
    return SentenceTransformer(local_model_path(ref, "sentence encoder"), device=device)


def embedding_dimension(encoder) -> int:
    """Output size of a sentence-transformers model (the method was renamed in sentence-transformers 6)."""
    method = getattr(encoder, "get_embedding_dimension", None) or encoder.get_sentence_embedding_dimension
    return int(method())


def embed_texts(encoder, texts: list[str], *, batch_size: int, normalize: bool) -> np.ndarray:
    """Embeddings as float32; sentence-transformers already sorts its batches by length."""
    embeddings = encoder.encode(
        texts, batch_size=batch_size, normalize_embeddings=normalize, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(embeddings, dtype=np.float32)


class FastTextRegressor:
    """A supervised fastText model whose labels are scores (``__label__0`` … ``__label__5``).

    The score is the expectation of the label under the model's probabilities.
    """

    def __init__(self, path: Path, name: str | None = None):
        import fasttext

        self.name = name or path.name
        self.model = fasttext.load_model(str(path))
        labels = self.model.get_labels()
        try:
            self.label_values = {label: float(label[len(FASTTEXT_LABEL_PREFIX) :]) for label in labels}
        except ValueError as error:
            raise ValueError(f"{path}: fastText labels must be numeric scores, got {labels[:5]}") from error

    def predict(self, texts: list[str]) -> np.ndarray:
        """Expected score under the label distribution of each text."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        lines = [" ".join(text.split()) for text in texts]  # fastText predicts one line at a time
        labels, probabilities = self.model.predict(lines, k=-1)
        scores = np.empty(len(texts), dtype=np.float32)
        for i, (row_labels, row_probs) in enumerate(zip(labels, probabilities, strict=True)):
            values = np.array([self.label_values[label] for label in row_labels], dtype=np.float64)
            probs = np.asarray(row_probs, dtype=np.float64)
            scores[i] = float(values @ probs / max(probs.sum(), 1e-12))
        return scores
