"""EduClassifierScorer with one model per language (``group_key="language"``, the Stack-Edu wiring) on real
code files, with tiny RANDOM BERT classifiers built here (not the published ones: no download is allowed in
tests). Each language's model has its regression head set to a constant output, so the score a document gets
says which model scored it."""

import json
import math
import pickle

import pytest
from datatrove.data import Document
from step_stats import stat
from tiny_models import tiny_bert

import curate.blocks.scorer as scorer_module
from curate.blocks.scorer import EduClassifierScorer
from curate.classify.models import load_regressor
from curate.languages import CLASSIFIERS, classifier_models

# distinct constant outputs, one per language's model (int_score 1, 2, 4 after rounding)
MODEL_OUTPUTS = {"Python": 1.25, "Java": 2.4, "Go": 3.6}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-random-berts")
    return {
        language: str(tiny_bert(root / language, bias=out, max_positions=1024))
        for language, out in MODEL_OUTPUTS.items()
    }


@pytest.fixture(scope="module")
def real_docs(shared_data) -> list[Document]:
    """Real files of Python, Java, Go, plus Rust and Shell (which get no model), interleaved."""
    code = shared_data / "code"
    rows = [json.loads(line) for line in (code / "manifest.jsonl").read_text().splitlines()]
    per_language = {language: [] for language in ("Python", "Java", "Go", "Rust", "Shell")}
    for row in rows:
        bucket = per_language.get(row["language"])
        if bucket is not None and len(bucket) < 9:
            text = (code / row["path"]).read_text(encoding="utf-8", errors="replace")
            bucket.append(Document(text=text, id=row["path"], metadata={"language": row["language"]}))
    interleaved = [doc for group in zip(*per_language.values(), strict=True) for doc in group]
    return interleaved


@pytest.fixture
def load_log(monkeypatch) -> dict:
    """Wrap the shared loader: record each load and each predict call (which texts went into which model)."""
    log = {"loads": [], "calls": []}
    real_load = load_regressor

    def counting_load(ref, **kwargs):
        log["loads"].append((ref, kwargs))
        regressor = real_load(ref, **kwargs)
        real_predict = regressor.predict

        def recording_predict(texts):
            log["calls"].append((ref, list(texts)))
            return real_predict(texts)

        regressor.predict = recording_predict
        return regressor

    monkeypatch.setattr(scorer_module, "load_regressor", counting_load)
    return log


def fresh(docs: list[Document]) -> list[Document]:
    return [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]


def per_language(models: dict[str, str], **kwargs) -> EduClassifierScorer:
    return EduClassifierScorer(model=models, group_key="language", max_length=1024, **kwargs)


def test_routes_each_language_to_its_own_model_loaded_once_and_batched(tiny_models, real_docs, load_log):
    docs = fresh(real_docs)
    scorer = per_language(tiny_models, batch_size=4, chunk_size=4, device="cpu")
    out = list(scorer.run(iter(docs)))

    # one load per model, with the Stack-Edu context, although each model scored several batches
    assert sorted(ref for ref, _ in load_log["loads"]) == sorted(tiny_models.values())
    assert all(kwargs["max_length"] == 1024 for _, kwargs in load_log["loads"])
    assert stat(scorer, "models_loaded") == 3
    assert all(scorer.regressor(language).max_length == 1024 for language in tiny_models)

    # every scored doc carries its own language's model and that model's output
    scored_languages = {d.metadata["language"] for d in out}
    assert scored_languages == set(tiny_models)
    for doc in out:
        language = doc.metadata["language"]
        assert doc.metadata["score_model"] == tiny_models[language]
        assert doc.metadata["score"] == pytest.approx(MODEL_OUTPUTS[language], abs=1e-5)
        assert doc.metadata["int_score"] == round(min(max(MODEL_OUTPUTS[language], 0), 5))

    # chunks: never mixed across languages, at most chunk_size, ceil(9 / 4) = 3 calls per language
    text_language = {d.text: d.metadata["language"] for d in real_docs}
    for ref, texts in load_log["calls"]:
        assert 1 <= len(texts) <= 4
        assert {text_language[t] for t in texts} == {next(k for k, v in tiny_models.items() if v == ref)}
    calls_per_model = {ref: sum(1 for r, _ in load_log["calls"] if r == ref) for ref in tiny_models.values()}
    assert calls_per_model == {ref: math.ceil(9 / 4) for ref in tiny_models.values()}

    # Rust and Shell have no model: counted and dropped (the default)
    assert len(out) == 27
    assert stat(scorer, "no_model_for_language") == 18
    # within one language the input order is kept
    for language in tiny_models:
        assert [d.id for d in out if d.metadata["language"] == language] == [
            d.id for d in real_docs if d.metadata["language"] == language
        ]


def test_one_local_model_for_every_language_is_loaded_once(tiny_models, real_docs, load_log):
    scorer = per_language(classifier_models(tiny_models["Go"]), batch_size=8, device="cpu", precision="bf16")
    out = list(scorer.run(iter(fresh(real_docs))))
    assert len(out) == len(real_docs)  # all five languages have the shared model
    assert [ref for ref, _ in load_log["loads"]] == [tiny_models["Go"]]
    assert load_log["loads"][0][1]["precision"] == "bf16"
    assert {d.metadata["score_model"] for d in out} == {tiny_models["Go"]}


def test_unscored_documents_pass_through_when_asked(tiny_models, real_docs, load_log):
    docs = fresh(real_docs) + [Document(text="main = print 1", id="hs"), Document(text="x", id="odd", metadata={})]
    docs[-2].metadata["language"] = "Haskell"
    scorer = per_language({"Python": tiny_models["Python"]}, keep_unscored=True, device="cpu")
    out = list(scorer.run(iter(docs)))
    assert len(out) == len(docs)
    unscored = [d for d in out if "score" not in d.metadata]
    assert {d.id for d in unscored} >= {"hs", "odd"}
    assert all(d.metadata.get("language") != "Python" for d in unscored)
    assert stat(scorer, "no_model_for_language") == len(unscored) == len(docs) - 9


def test_defaults_are_the_published_classifiers_and_nothing_loads_until_used():
    scorer = per_language(classifier_models())
    assert scorer.model == CLASSIFIERS
    assert scorer.model["CSharp"] == "HuggingFaceTB/stack-edu-classifier-csharp"
    assert scorer.max_length == 1024
    assert scorer._loaded == {}
    restricted = classifier_models(languages=["Java", "Go"])
    assert set(restricted) == {"Java", "Go"}
    with pytest.raises(ValueError, match="Klingon"):
        classifier_models({"Klingon": "x"})
    with pytest.raises(ValueError, match="Klingon"):
        classifier_models(languages=["Klingon"])
    with pytest.raises(ValueError, match="precision"):
        per_language(classifier_models(), precision="fp64")
    with pytest.raises(ValueError, match="group_key"):
        EduClassifierScorer(model=CLASSIFIERS)  # a dict of models without the key that picks one


def test_loaded_models_do_not_travel_with_the_pickled_step(tiny_models):
    scorer = per_language(tiny_models, device="cpu")
    scorer.regressor("Python")
    assert scorer._loaded
    clone = pickle.loads(pickle.dumps(scorer))
    assert clone._loaded == {} and clone.model == tiny_models


def test_the_15_stack_edu_languages_are_pinned():
    """Names as the Hub configs of HuggingFaceTB/stack-edu; threshold 3 except Java 2 (SmolLM2 paper, App. D)."""
    from curate.languages import BY_NAME, THRESHOLDS, get_language

    assert sorted(BY_NAME) == sorted(
        ["Python", "Cpp", "Markdown", "C", "JavaScript", "Java", "SQL", "PHP", "CSharp", "TypeScript", "Shell",
         "Swift", "Go", "Rust", "Ruby"]
    )  # fmt: skip
    assert THRESHOLDS == {name: (2 if name == "Java" else 3) for name in BY_NAME}
    assert CLASSIFIERS["Cpp"] == "HuggingFaceTB/stack-edu-classifier-cpp"
    assert CLASSIFIERS["JavaScript"] == "HuggingFaceTB/stack-edu-classifier-javascript"
    assert all(ref.startswith("HuggingFaceTB/stack-edu-classifier-") for ref in CLASSIFIERS.values())
    assert len(set(CLASSIFIERS.values())) == 15
    assert get_language("CSharp").display_name == "C#"
    with pytest.raises(KeyError, match="Klingon"):
        get_language("Klingon")
