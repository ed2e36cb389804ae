"""Train an educational-quality classifier from annotation Parquet files and write its evaluation report.

Three kinds, all read back by ``curate.classify.models.load_regressor``:

- ``hf``: the published recipe (FineWeb paper §4; cosmopedia ``classification/``): a BERT-like encoder with a
  one-output regression head, encoder frozen, 90/10 split stratified on the rounded score
  (``curate.classify.train_hf``).
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
    load_regressor,
    load_sentence_encoder,
)
from curate.classify.report import evaluate, write_report
from curate.classify.scores import int_scores
from curate.classify.train_hf import train_hf

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
    labels = int_scores(data.scores, max_score)
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
        valid_predictions, extra = train_hf(
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

    labels = int_scores(scores, max_score)
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
    labels = int_scores(data.scores, max_score)
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
