"""Train an educational-quality classifier from annotation Parquet files and write its evaluation report.

Three kinds, all read back by ``curate.classify.models.load_regressor``:

- ``hf``: the published recipe (FineWeb paper §4; cosmopedia ``classification/``): a BERT-like encoder with a
  one-output regression head, encoder frozen, lr 3e-4, 20 epochs, batch 256, 90/10 split stratified on the
  rounded score, best epoch by macro-F1 of rounded clipped predictions; saved with ``save_pretrained``.
  Because the encoder is frozen, its first-token states are computed once and only the head (pooler and
  classifier) is trained on them: the same optimisation, without 20 passes through the encoder.
- ``embedding-ridge``: sentence-transformers embeddings + scikit-learn ridge regression (CPU, minutes).
- ``fasttext``: a supervised fastText model on the raw text, labels = rounded scores.

Every kind writes ``eval/report.json``, ``eval/report.md`` and ``eval/confusion.png`` into its output folder.
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.classify.fasttext_fit import DIVERGED_EXIT
from curate.classify.models import (
    EMBEDDING_RIDGE,
    FASTTEXT,
    FASTTEXT_LABEL_PREFIX,
    HEAD_CONFIG,
    embed_texts,
    length_sorted_batches,
    limit_cpu_threads,
    load_regressor,
    load_sentence_encoder,
    pad_batch,
    pad_settings,
    resolve_device,
    tokenize_truncated,
)
from curate.classify.report import evaluate, write_report

HF = "hf"
KINDS = (HF, EMBEDDING_RIDGE, FASTTEXT)


@dataclass(frozen=True)
class ReferenceRecipe:
    """Hyper-parameters of the published FineWeb-Edu classifier (cosmopedia ``train_edu_bert.py``)."""

    base_model: str = "Snowflake/snowflake-arctic-embed-m"
    learning_rate: float = 3e-4
    epochs: int = 20
    batch_size: int = 256
    valid_fraction: float = 0.1
    max_length: int = 512
    seed: int = 0


REFERENCE = ReferenceRecipe()
DEFAULT_BASE_MODEL = {HF: REFERENCE.base_model, EMBEDDING_RIDGE: "bundled:all-minilm-l6-v2", FASTTEXT: None}
RIDGE_ALPHA = 1.0
CROSS_VALIDATION_FOLDS = 5
FASTTEXT_EPOCHS = 25
FASTTEXT_LR = 0.5
FASTTEXT_WORD_NGRAMS = 2
FASTTEXT_DIM = 64
FASTTEXT_BUCKETS = 200_000  # word-bigram hash buckets; fastText's default 2M makes an 800 MB model
FASTTEXT_NAN_RESTARTS = 6  # a diverged training restarts at half the learning rate, at most this many times


@dataclass
class Annotations:
    """Annotated rows kept for training, and how many rows were skipped and why."""

    ids: list[str]
    texts: list[str]
    scores: np.ndarray
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def load_annotations(
    paths: list[str | Path],
    *,
    text_column: str = "text",
    score_column: str = "score",
    id_column: str = "id",
    language: str | None = None,
    language_column: str = "language",
) -> Annotations:
    """Read annotation Parquet files; rows with a null score or empty text are skipped and counted.

    With ``language`` set, only rows whose ``language_column`` equals it (case-insensitive) are kept.
    """
    ids: list[str] = []
    texts: list[str] = []
    scores: list[float] = []
    skipped = {"null_score": 0, "empty_text": 0, "other_language": 0}
    rows_read = 0
    for path in paths:
        table = pq.read_table(path)
        wanted = [text_column, score_column] + ([language_column] if language else [])
        missing = [name for name in wanted if name not in table.column_names]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; columns are {table.column_names}")
        columns = table.to_pydict()
        n = table.num_rows
        rows_read += n
        row_ids = columns.get(id_column) or [f"{Path(path).name}:{i}" for i in range(n)]
        languages = columns[language_column] if language else [None] * n
        for row_id, text, score, row_language in zip(
            row_ids, columns[text_column], columns[score_column], languages, strict=True
        ):
            if language and (row_language or "").lower() != language.lower():
                skipped["other_language"] += 1
            elif score is None or score != score:
                skipped["null_score"] += 1
            elif not text or not text.strip():
                skipped["empty_text"] += 1
            else:
                ids.append(str(row_id))
                texts.append(text)
                scores.append(float(score))
    return Annotations(ids, texts, np.asarray(scores, dtype=np.float32), rows_read, skipped)


def rounded_labels(scores: np.ndarray, max_score: int = 5) -> np.ndarray:
    """Integer classes of (annotation or predicted) scores: ``round(clip(score, 0, max_score))``."""
    return np.rint(np.clip(scores, 0, max_score)).astype(np.int64)


def stratified_split(labels: np.ndarray, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices with each class split ``1 - valid_fraction : valid_fraction``.

    A class with a single row stays in training (it cannot be on both sides).
    """
    rng = np.random.default_rng(seed)
    train: list[int] = []
    valid: list[int] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_valid = min(int(round(len(members) * valid_fraction)), len(members) - 1)
        valid.extend(members[:n_valid])
        train.extend(members[n_valid:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(valid, dtype=np.int64))


def train_classifier(
    annotations: list[str | Path],
    output: str | Path,
    *,
    kind: str = HF,
    base_model: str | None = None,
    text_column: str = "text",
    score_column: str = "score",
    epochs: int | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    max_length: int = REFERENCE.max_length,
    valid_fraction: float = REFERENCE.valid_fraction,
    seed: int = REFERENCE.seed,
    language: str | None = None,
    max_score: int = 5,
    device: str = "auto",
) -> dict:
    """Train one classifier into ``output`` and return its evaluation report (also written to ``output/eval``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    data = load_annotations(annotations, text_column=text_column, score_column=score_column, language=language)
    labels = rounded_labels(data.scores, max_score)
    train_idx, valid_idx = stratified_split(labels, valid_fraction, seed)
    if len(valid_idx) == 0 or len(train_idx) < 2:
        raise ValueError(
            f"too few usable rows to train and validate: {len(data.texts)} kept of {data.rows_read} "
            f"(skipped: {data.skipped})"
        )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    base_model = base_model or DEFAULT_BASE_MODEL[kind]
    if kind == HF:
        config = {
            "learning_rate": learning_rate or REFERENCE.learning_rate,
            "epochs": epochs or REFERENCE.epochs,
            "batch_size": batch_size or REFERENCE.batch_size,
        }
        valid_predictions, extra = _train_hf(
            data, train_idx, valid_idx, output, base_model, max_length, seed, device, max_score, **config
        )
    elif kind == EMBEDDING_RIDGE:
        config = {"ridge_alpha": RIDGE_ALPHA, "batch_size": batch_size or 64}
        valid_predictions, extra = _train_embedding_ridge(
            data, train_idx, valid_idx, output, base_model, max_length, seed, device, max_score, config["batch_size"]
        )
    else:
        config = {
            "learning_rate": learning_rate or FASTTEXT_LR,
            "epochs": epochs or FASTTEXT_EPOCHS,
            "word_ngrams": FASTTEXT_WORD_NGRAMS,
            "dim": FASTTEXT_DIM,
            "buckets": FASTTEXT_BUCKETS,
        }
        valid_predictions, extra = _train_fasttext(data, train_idx, valid_idx, output, seed, max_score, **config)
    report = {
        "kind": kind,
        "base_model": base_model,
        "annotations": [str(path) for path in annotations],
        "language": language,
        "rows_read": data.rows_read,
        "skipped": data.skipped,
        "n_train": int(len(train_idx)),
        "n_valid": int(len(valid_idx)),
        "config": {"max_length": max_length, "valid_fraction": valid_fraction, "seed": seed, **config},
        "tokens_seen": extra.pop("tokens_seen", None),
        "valid": evaluate(data.scores[valid_idx], valid_predictions, max_score),
        **extra,
    }
    write_report(output / "eval", report, valid_ids=[data.ids[i] for i in valid_idx])
    return report


def _hf_head_logits(model, first_token_states):
    """The trainable part of a frozen-encoder classifier applied to precomputed first-token states."""
    states = first_token_states[:, None, :]
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None:  # BERT: classifier(dropout(pooler(h[:, 0]))), dropout 0 in this recipe
        return model.classifier(pooler(states))
    return model.classifier(states)  # RoBERTa-style heads read the first token themselves


def _train_hf(
    data,
    train_idx,
    valid_idx,
    output,
    base_model,
    max_length,
    seed,
    device,
    max_score,
    *,
    learning_rate,
    epochs,
    batch_size,
):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    device = resolve_device(device)
    if device == "cpu":
        limit_cpu_threads()
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_model, num_labels=1, problem_type="regression", classifier_dropout=0.0, hidden_dropout_prob=0.0
    )
    positions = getattr(model.config, "max_position_embeddings", None) or max_length
    max_length = min(max_length, positions)
    model.to(device).eval()
    encoder = model.base_model
    head_parameters = {id(p) for p in model.parameters()} - {id(p) for p in encoder.parameters()}
    if getattr(encoder, "pooler", None) is not None:
        head_parameters |= {id(p) for p in encoder.pooler.parameters()}
    for parameter in model.parameters():
        parameter.requires_grad = id(parameter) in head_parameters

    ids = tokenize_truncated(tokenizer, data.texts, max_length)
    states = torch.zeros(len(ids), model.config.hidden_size, dtype=torch.float32)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.startswith("cuda"))
    pad_id, multiple_of = pad_settings(tokenizer, device)

    def padded(rows: list[int]):  # right padding: the head reads position 0
        input_ids, attention_mask = pad_batch([ids[i] for i in rows], pad_id, "right", multiple_of)
        return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}

    with torch.inference_mode(), autocast:
        for batch in length_sorted_batches([len(x) for x in ids], batch_size):
            states[batch] = encoder(**padded(batch)).last_hidden_state[:, 0].float().cpu()
        check = list(range(min(4, len(ids))))
        full = model(**padded(check)).logits[:, 0].float().cpu()
        split = _hf_head_logits(model, states[check].to(device)).float()[:, 0].cpu()
    if not torch.allclose(full, split, atol=5e-2 if device.startswith("cuda") else 1e-4):
        raise ValueError(
            f"{base_model}: its classification head does not read the first token's state the way "
            "the frozen-encoder trainer assumes; use a BERT- or RoBERTa-style model"
        )

    targets = torch.from_numpy(data.scores)
    train_states, train_targets = states[train_idx].to(device), targets[train_idx].to(device)
    valid_states = states[valid_idx].to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.0)
    steps_per_epoch = -(-len(train_idx) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear decay to zero, as the Trainer default
        optimizer, lambda step: max(0.0, 1 - step / (epochs * steps_per_epoch))
    )
    generator = torch.Generator().manual_seed(seed)
    history = []
    best_f1, best_epoch, best_state = -1.0, 0, None
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(train_idx), generator=generator)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size].to(device)
            predictions = _hf_head_logits(model, train_states[batch])[:, 0]
            loss = torch.nn.functional.mse_loss(predictions, train_targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        model.eval()
        with torch.inference_mode():
            valid_predictions = _hf_head_logits(model, valid_states)[:, 0].float().cpu().numpy()
        metrics = evaluate(data.scores[valid_idx], valid_predictions, max_score)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "valid_macro_f1": metrics["macro_f1"]})
        if metrics["macro_f1"] > best_f1:
            best_f1, best_epoch = metrics["macro_f1"], epoch
            best_state = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    model.load_state_dict(best_state, strict=False)
    model.eval()
    with torch.inference_mode():
        valid_predictions = _hf_head_logits(model, valid_states)[:, 0].float().cpu().numpy()
    model.to("cpu")
    for parameter in model.parameters():
        parameter.requires_grad = True
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    return valid_predictions, {"tokens_seen": max_length, "best_epoch": best_epoch, "history": history}


def _train_embedding_ridge(
    data, train_idx, valid_idx, output, base_model, max_length, seed, device, max_score, batch_size
):
    from safetensors.numpy import save_file
    from sklearn.linear_model import Ridge

    encoder = load_sentence_encoder(base_model, device=device)
    encoder.max_seq_length = min(max_length, encoder.max_seq_length or max_length)
    embeddings = embed_texts(encoder, data.texts, batch_size=batch_size, normalize=True)
    ridge = Ridge(alpha=RIDGE_ALPHA).fit(embeddings[train_idx], data.scores[train_idx])
    coef = np.asarray(ridge.coef_, dtype=np.float32).reshape(-1)
    intercept = np.asarray([ridge.intercept_], dtype=np.float32).reshape(1)
    save_file({"coef": coef, "intercept": intercept}, str(output / "head.safetensors"))
    head = {
        "kind": EMBEDDING_RIDGE,
        "name": output.name,
        "encoder": base_model,
        "weights": "head.safetensors",
        "max_length": int(encoder.max_seq_length),
        "normalize_embeddings": True,
        "head": "ridge",
        "ridge_alpha": RIDGE_ALPHA,
    }
    (output / HEAD_CONFIG).write_text(json.dumps(head, indent=2) + "\n")
    valid_predictions = embeddings[valid_idx] @ coef + intercept[0]
    extra = {"tokens_seen": int(encoder.max_seq_length)}
    cross_validation = _ridge_cross_validation(embeddings, data.scores, max_score, seed)
    if cross_validation is not None:
        extra["cross_validation"] = cross_validation
    return valid_predictions, extra


def _ridge_cross_validation(embeddings: np.ndarray, scores: np.ndarray, max_score: int, seed: int) -> dict | None:
    """Out-of-fold metrics over all rows (stratified K-fold): a steadier estimate than one small held-out split.

    Cheap for a ridge head because the embeddings are computed once. ``None`` when a class has fewer than 2 rows.
    """
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import StratifiedKFold

    labels = rounded_labels(scores, max_score)
    folds = min(CROSS_VALIDATION_FOLDS, int(np.unique(labels, return_counts=True)[1].min()))
    if folds < 2:
        return None
    predictions = np.zeros(len(scores), dtype=np.float32)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(embeddings, labels):
        ridge = Ridge(alpha=RIDGE_ALPHA).fit(embeddings[train], scores[train])
        predictions[held_out] = ridge.predict(embeddings[held_out])
    return {"folds": folds, **evaluate(scores, predictions, max_score)}


def _train_fasttext(
    data, train_idx, valid_idx, output, seed, max_score, *, learning_rate, epochs, word_ngrams, dim, buckets
):
    labels = rounded_labels(data.scores, max_score)
    diverged: list[float] = []
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as train_file:
        # fastText reads its file front to back every epoch: shuffled, no score class fills a whole stretch of it
        for i in np.random.default_rng(seed).permutation(train_idx):
            train_file.write(f"{FASTTEXT_LABEL_PREFIX}{labels[i]} {' '.join(data.texts[i].split())}\n")
        train_file.flush()
        # one thread: fastText is only reproducible for a given seed when it trains single-threaded
        params = {
            "input": train_file.name,
            "output": str(output / "model.bin"),
            "epoch": epochs,
            "wordNgrams": word_ngrams,
            "dim": dim,
            "bucket": buckets,
            "seed": seed,
            "thread": 1,
            "verbose": 0,
        }
        while not _fit_fasttext(params | {"lr": learning_rate}):
            diverged.append(learning_rate)
            if len(diverged) > FASTTEXT_NAN_RESTARTS:
                raise RuntimeError(f"fastText training diverged (NaN) at every learning rate tried: {diverged}")
            learning_rate /= 2  # the remedy fastText's own documentation gives for divergence
    head = {"kind": FASTTEXT, "name": output.name, "model": "model.bin"}
    (output / HEAD_CONFIG).write_text(json.dumps(head, indent=2) + "\n")
    regressor = load_regressor(str(output))
    extra = {"diverged_at_learning_rates": diverged, "learning_rate_used": learning_rate} if diverged else {}
    return regressor.predict([data.texts[i] for i in valid_idx]), extra


def _fit_fasttext(params: dict) -> bool:
    """One fastText training in a fresh child process (``fasttext_fit`` says why); False when it diverged."""
    done = subprocess.run(
        [sys.executable, "-m", "curate.classify.fasttext_fit", json.dumps(params)], capture_output=True, text=True
    )
    if done.returncode == DIVERGED_EXIT:
        return False
    if done.returncode:
        raise RuntimeError(f"fastText training failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return True
