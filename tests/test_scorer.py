"""EduClassifierScorer and the Hugging Face loading path of load_regressor.

The model here is a tiny RANDOM BertForSequenceClassification (2 layers) built and saved by the test itself with
the bundled MiniLM WordPiece tokenizer: it checks loading, truncation and batching code paths, not quality.
"""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from datatrove.data import Document
from tiny_models import tiny_bert
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

import curate.blocks.scorer as scorer_module
from curate.assets import resolve
from curate.blocks.scorer import EduClassifierScorer
from curate.classify.models import (
    HFSequenceRegressor,
    length_sorted_batches,
    load_regressor,
    pad_batch,
    resolve_precision,
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def plain_transformers_scores(folder: Path, texts: list[str], max_length: int) -> np.ndarray:
    """One text at a time, no padding: the reference the batched scorer must match."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        return np.array(
            [
                model(**tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")).logits[0, 0]
                for text in texts
            ]
        )


TEXTS = [
    "Photosynthesis turns light into chemical energy.",
    "Buy now! " * 200,
    "",
    "The French Revolution began in 1789 and reshaped Europe's politics for a century.",
    "ok",
    "Fractions: to add 1/2 and 1/3, find a common denominator. " * 30,
    "A short note.",
]


def test_batched_length_sorted_scores_come_back_in_input_order(tiny_model):
    regressor = load_regressor(str(tiny_model), max_length=64, batch_size=3, device="cpu")
    assert isinstance(regressor, HFSequenceRegressor)
    scores = regressor.predict(TEXTS)
    expected = plain_transformers_scores(tiny_model, TEXTS, max_length=64)
    assert scores.shape == (len(TEXTS),)
    assert len(set(np.round(expected, 4))) == len(TEXTS)  # distinct scores, so a mix-up of order would show
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)


def test_truncates_at_max_length(tiny_model):
    regressor = load_regressor(str(tiny_model), max_length=16, device="cpu")
    head = "education " * 30
    same_window = [head + "cats are mammals", head + "the stock market fell sharply today"]
    assert all(len(ids) == 16 for ids in regressor.tokenize(same_window))
    scores = regressor.predict(same_window)
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)  # the difference lies past token 16
    different_start = regressor.predict(["cats are mammals " + head, "stock markets fell " + head])
    assert abs(different_start[0] - different_start[1]) > 1e-4


def test_long_texts_are_tokenized_like_the_whole_text(tiny_model):
    regressor = load_regressor(str(tiny_model), max_length=64, device="cpu")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = [
        "word " * 20_000,  # cut before tokenizing: the window is full anyway
        "start" + " " * 50_000 + "end of a text whose words sit far behind a run of spaces",  # cut would lose them
        "x" * 40_000,  # no space to cut at
    ]
    expected = tokenizer(texts, truncation=True, max_length=64)["input_ids"]
    assert regressor.tokenize(texts) == expected


def test_max_length_is_capped_by_the_model_positions(tiny_model):
    regressor = load_regressor(str(tiny_model), max_length=512, device="cpu")
    assert regressor.max_length == 128
    assert len(regressor.tokenize(["token " * 1000])[0]) == 128


@pytest.mark.parametrize(("bias", "int_score"), [(7.3, 5), (-1.2, 0), (2.6, 3), (2.4, 2), (2.5, 2), (3.5, 4)])
def test_score_is_raw_and_int_score_is_clipped_and_rounded(tmp_path, bias, int_score):
    folder = tiny_bert(tmp_path / "constant", bias=bias)
    scorer = EduClassifierScorer(model=str(folder), device="cpu")
    docs = list(scorer.run(iter([Document(text="any page at all", id="0")])))
    assert docs[0].metadata["score"] == pytest.approx(bias, abs=1e-5)
    assert docs[0].metadata["int_score"] == int_score
    assert isinstance(docs[0].metadata["int_score"], int)
    assert docs[0].metadata["score_model"] == str(folder)


def test_one_rounding_rule_serves_scorer_training_evaluation_and_annotation():
    """round(clip(score, 0, max)), ties to even like Python's round, from curate.classify.scores for every caller."""
    import curate.annotate.parsing as parsing
    import curate.classify.report as report
    import curate.classify.train as train
    from curate.classify.scores import int_scores

    assert scorer_module.int_scores is train.int_scores is report.int_scores is parsing.int_scores is int_scores
    raw = [-0.3, 0.5, 1.5, 2.5, 3.49, 3.5, 4.5, 5.7]
    expected = [0, 0, 2, 2, 3, 4, 4, 5]
    assert int_scores(raw).tolist() == expected == [round(min(max(s, 0), 5)) for s in raw]
    assert int_scores(4.5, max_score=3) == 3
    # the annotation parser's expected score of a 50/50 "2"/"3" answer is 2.5, which rounds to 2
    assert parsing.expected_score({"2": np.log(0.5), "3": np.log(0.5)}, 5).int_score == 2
    # evaluation compares rounded classes: 2.5 and 2.4 are both class 2, 3.5 is class 4
    metrics = report.evaluate(np.array([2.5, 3.5]), np.array([2.4, 3.6]))
    assert metrics["accuracy"] == 1.0 and metrics["per_class"]["4"]["support"] == 1


def test_scorer_writes_metadata_in_chunks_and_counts_a_histogram(tiny_model):
    scorer = EduClassifierScorer(model=str(tiny_model), max_length=64, batch_size=2, device="cpu", chunk_size=3)
    docs = [Document(text=text, id=str(i)) for i, text in enumerate(TEXTS)]
    out = list(scorer.run(iter(docs)))
    assert [doc.id for doc in out] == [str(i) for i in range(len(TEXTS))]
    expected = plain_transformers_scores(tiny_model, TEXTS, max_length=64)
    np.testing.assert_allclose([doc.metadata["score"] for doc in out], expected, rtol=1e-4, atol=1e-4)
    assert [doc.metadata["int_score"] for doc in out] == [int(round(min(max(s, 0), 5))) for s in expected]
    assert scorer.stats["scored"].total == len(TEXTS)
    histogram = {k: scorer.stats[f"int_score_{k}"].total for k in range(6)}
    assert sum(histogram.values()) == len(TEXTS)
    for k in range(6):
        assert histogram[k] == sum(doc.metadata["int_score"] == k for doc in out)


def test_custom_keys_and_max_score(tmp_path):
    folder = tiny_bert(tmp_path / "constant", bias=3.7)
    scorer = EduClassifierScorer(
        model=str(folder), device="cpu", score_key="edu", int_score_key="edu_int", max_score=3
    )
    doc = next(scorer.run(iter([Document(text="text", id="a")])))
    assert doc.metadata["edu"] == pytest.approx(3.7, abs=1e-5)
    assert doc.metadata["edu_int"] == 3
    assert "score" not in doc.metadata


def test_model_loads_lazily_once_per_task(tiny_model, monkeypatch):
    loads = []

    def counting_load(*args, **kwargs):
        loads.append(args)
        return load_regressor(*args, **kwargs)

    monkeypatch.setattr(scorer_module, "load_regressor", counting_load)
    scorer = EduClassifierScorer(model=str(tiny_model), device="cpu", chunk_size=2)
    assert loads == []  # building the pipeline loads nothing
    shipped = pickle.loads(pickle.dumps(scorer))  # what an executor sends to its workers
    assert loads == [] and shipped._loaded == {}
    list(scorer.run(iter([Document(text=t, id=str(i)) for i, t in enumerate(TEXTS)])))
    list(scorer.run(iter([Document(text="again", id="x")])))
    assert len(loads) == 1
    assert pickle.loads(pickle.dumps(scorer))._loaded == {}  # a loaded model is not pickled along


def test_rejects_a_classification_model_with_several_labels(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(resolve("bundled:all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
        num_labels=3,
    )
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="num_labels=1"):
        load_regressor(str(tmp_path), device="cpu")


def test_pad_batch_pads_right_or_left_to_a_rounded_width():
    input_ids, attention_mask = pad_batch([[5, 6, 7], [8]], pad_token_id=0, padding_side="right", multiple_of=4)
    assert input_ids.tolist() == [[5, 6, 7, 0], [8, 0, 0, 0]]
    assert attention_mask.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    input_ids, attention_mask = pad_batch([[5, 6, 7], [8]], pad_token_id=9, padding_side="left")
    assert input_ids.tolist() == [[5, 6, 7], [9, 9, 8]]
    assert attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_batches_are_length_sorted_and_capped_by_count_and_padded_tokens():
    lengths = [10, 500, 40, 500, 300, 20, 30]
    assert list(length_sorted_batches(lengths, batch_size=3)) == [[1, 3, 4], [2, 6, 5], [0]]
    # 2 x 500 fits in 1,200 tokens, 3 x 500 does not; 300-token rows pad to 300, so three fit in 1,200
    capped = list(length_sorted_batches(lengths, batch_size=32, max_tokens=1200))
    assert capped == [[1, 3], [4, 2, 6, 5], [0]]
    assert list(length_sorted_batches([5000], batch_size=32, max_tokens=1200)) == [[0]]  # never an empty batch


def test_precision_auto_is_bf16_on_cuda_and_exact_fp32_on_cpu(tiny_model):
    assert resolve_precision("auto", "cuda:0") == "bf16"
    assert resolve_precision("auto", "cpu") == "fp32"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp8", "cpu")
    with pytest.raises(ValueError, match="CPU path"):
        resolve_precision("int8", "cuda")
    with pytest.raises(ValueError, match="precision"):
        EduClassifierScorer(model=str(tiny_model), precision="int4")  # a typo fails when the pipeline is built
    texts = ["a first short page about fractions", "another page " * 30]
    exact = load_regressor(str(tiny_model), device="cpu").predict(texts)
    fast = load_regressor(str(tiny_model), device="cpu", precision="bf16").predict(texts)
    assert np.abs(fast - exact).max() < 0.1  # bf16 keeps the score, to about two decimals
    assert not np.array_equal(fast, exact)  # and really ran in bf16


def test_int8_precision_quantizes_the_linear_layers_and_keeps_the_scores(tiny_model):
    texts = ["a first short page about fractions", "another page " * 30, "a third one on the water cycle"]
    exact = load_regressor(str(tiny_model), device="cpu").predict(texts)
    int8 = load_regressor(str(tiny_model), device="cpu", precision="int8")
    with torch._dynamo.config.patch(error_on_recompile=True):  # compiled at load for one text and for several
        scores = int8.predict(texts)
        alone = int8.predict(texts[:1])[0]  # compiled kernels round differently per shape: close, not equal
    assert alone == pytest.approx(scores[0], abs=0.1)
    model = int8.model._orig_mod  # torch.compile's wrapper around the quantized model
    linears = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    assert linears and all(module.weight.qdata.dtype == torch.int8 for module in linears)
    assert np.abs(scores - exact).max() < 0.1
    assert not np.array_equal(scores, exact)
    assert np.array_equal(int8.predict(texts[::-1])[::-1], scores)  # batch order changes nothing


def test_a_cpu_only_torch_hides_only_torchaos_cuda_library_warnings():
    code = (
        "import logging, curate\n"
        "from transformers.quantizers import auto\n"  # imports torchao, as loading any model does
        "logging.getLogger('torchao').warning('kept: a real torchao warning')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "kept: a real torchao warning" in proc.stderr
    assert "Failed to load" not in proc.stderr
