import csv
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from datatrove.pipeline.writers import JsonlWriter
from hf_cache import COMMIT, stage_dataset_rows
from huggingface_hub import constants

from curate.blocks.decontaminate import Decontaminator, item_texts, lcs_length, normalize_tokens

# Benchmark items written for this test, in the layouts of the real files.
GSM8K_ROWS = [
    {
        "question": "Marta buys 4 crates of apples with 12 apples in each crate. She gives 9 apples to her "
        "neighbour and bakes pies with 15 more. How many apples does she have left?",
        "answer": "She buys 4 * 12 = 48 apples. She uses 9 + 15 = 24 apples. 48 - 24 = 24 apples are left. #### 24",
    },
    {
        "question": "A train travels 60 miles per hour for 3 hours and then 40 miles per hour for 2 hours. "
        "How far does it travel in total?",
        "answer": "60 * 3 = 180 miles and 40 * 2 = 80 miles, so 180 + 80 = 260 miles. #### 260",
    },
]
MATH_ROWS = [
    {
        "problem": "Find the number of positive integers $n$ less than $100$ such that $n^2 + n$ is divisible by $6$.",
        "solution": "Since $n^2+n = n(n+1)$ is always even, we need $3 \\mid n(n+1)$, which holds unless "
        "$n \\equiv 1 \\pmod 3$. Of the $99$ integers, $33$ are $1 \\pmod 3$, leaving $\\boxed{66}$.",
        "level": "Level 3",
        "type": "Number Theory",
    }
]
MMLU_CSV_ROWS = [
    [
        "Which of the following statements about the derivative of a differentiable function at a local "
        "maximum in the interior of its domain is always true?",
        "It is positive",
        "It is zero",
        "It is negative",
        "It does not exist",
        "B",
    ]
]
ARC_ROWS = [
    {
        "id": "Mercury_7000123",
        "question": "A student places a metal spoon and a wooden spoon in the same cup of hot water for five "
        "minutes. Which observation best explains why the metal spoon feels hotter?",
        "choices": {
            "text": ["Metal conducts heat well", "Wood is heavier", "Metal is shinier", "Wood absorbs water"],
            "label": ["A", "B", "C", "D"],
        },
        "answerKey": "A",
    }
]

FILLER = (
    "Welcome back to our weekly homework help thread where volunteers answer questions from students "
    "about arithmetic geometry and anything else that comes up during the school week. "
)


@pytest.fixture
def benchmark_files(tmp_path):
    gsm8k = tmp_path / "gsm8k_test.jsonl"
    gsm8k.write_text("".join(json.dumps(r) + "\n" for r in GSM8K_ROWS))
    math_file = tmp_path / "math_test.parquet"
    pq.write_table(pa.Table.from_pylist(MATH_ROWS), math_file)
    mmlu = tmp_path / "mmlu_calculus_test.csv"
    with mmlu.open("w", newline="") as f:
        csv.writer(f).writerows(MMLU_CSV_ROWS)
    arc = tmp_path / "arc_challenge.parquet"
    pq.write_table(pa.Table.from_pylist(ARC_ROWS), arc)
    return {"gsm8k": str(gsm8k), "math": str(math_file), "mmlu": str(mmlu), "arc": str(arc)}


def reference_lcs(a: list[str], b: list[str]) -> int:
    """Textbook O(len(a) * len(b)) dynamic programme, to check the bit-parallel version against."""
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def test_bit_parallel_lcs_matches_the_dynamic_programme():
    rng = random.Random(7)
    for _ in range(200):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 80))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 120))]
        assert lcs_length(a, b) == reference_lcs(a, b)


def test_normalisation_lowercases_and_strips_punctuation():
    assert normalize_tokens("How far, in TOTAL? 180+80=260.") == ["how", "far", "in", "total", "18080260"]


def test_layouts_are_detected_from_columns():
    assert len(item_texts(GSM8K_ROWS[0])) == 2  # question and answer indexed separately
    assert len(item_texts(MATH_ROWS[0])) == 2  # problem and solution
    arc_text = item_texts(ARC_ROWS[0])
    assert len(arc_text) == 1 and "Metal conducts heat well" in arc_text[0]
    mmlu_hf = {"question": "Q?", "subject": "x", "choices": ["one", "two"], "answer": 1}
    assert item_texts(mmlu_hf) == ["Q? one two"]  # MMLU Parquet: choices, not the answer index
    assert item_texts({"prompt": "p", "target": "t"}, text_fields=("prompt",)) == ["p"]
    with pytest.raises(ValueError, match="layout"):
        item_texts({"prompt": "p"})


def test_near_copies_go_paraphrases_with_one_shared_13_gram_stay(benchmark_files, tmp_path):
    excluded = JsonlWriter(str(tmp_path / "excluded"), compression=None)
    step = Decontaminator(benchmark_files, exclusion_writer=excluded)
    question = GSM8K_ROWS[0]["question"]
    near_copy = FILLER + question.replace("neighbour", "neighbor").replace("How many", "how many") + " Thanks!"
    # shares "crates of apples with 12 apples in each crate she gives 9 apples to her" (13+ tokens) but
    # rewrites the rest: the LCS covers well under 60 % of the item
    paraphrase = (
        FILLER + "My sister said she bought crates of apples with 12 apples in each crate. She gives 9 apples to "
        "her friends at school, which seems generous, and I wonder what fraction of the fruit that really is."
    )
    math_copy = "Olympiad practice. " + MATH_ROWS[0]["solution"] + " " + FILLER
    arc_copy = FILLER + ARC_ROWS[0]["question"] + " A) Metal conducts heat well B) Wood is heavier C) Metal is "
    arc_copy += "shinier D) Wood absorbs water"
    mmlu_copy = " ".join(MMLU_CSV_ROWS[0][:5]) + ". " + FILLER
    clean = FILLER * 3
    docs = [
        Document(text=t, id=i)
        for i, t in [
            ("near", near_copy),
            ("para", paraphrase),
            ("math", math_copy),
            ("arc", arc_copy),
            ("mmlu", mmlu_copy),
            ("clean", clean),
        ]
    ]
    shared = normalize_tokens("crates of apples with 12 apples in each crate. She gives 9 apples to her")
    assert len(shared) >= 13 and " ".join(shared) in " ".join(normalize_tokens(paraphrase))

    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["para", "clean"]
    assert step.stats["dropped_contaminated"].total == 4
    rows = {}
    for f in (tmp_path / "excluded").iterdir():
        for line in f.read_text().splitlines():
            row = json.loads(line)
            rows[row["id"]] = row["metadata"]
    assert rows["near"]["contamination"]["benchmark"] == "gsm8k"
    assert rows["near"]["contamination"]["item"] == 0
    assert rows["near"]["contamination"]["lcs_ratio"] >= 0.9
    assert rows["near"]["filter_reason"] == "contaminated"
    assert rows["math"]["contamination"]["benchmark"] == "math"
    assert rows["arc"]["contamination"] == {"benchmark": "arc", "item": "Mercury_7000123", "lcs_ratio": 1.0}
    assert rows["mmlu"]["contamination"]["benchmark"] == "mmlu"

    para_tokens = normalize_tokens(paraphrase)
    ratio = lcs_length(normalize_tokens(question), para_tokens) / len(normalize_tokens(question))
    assert ratio < 0.6  # the paraphrase stays because of the LCS ratio, not for lack of a shared 13-gram


def test_threshold_is_a_parameter(benchmark_files):
    question = normalize_tokens(GSM8K_ROWS[1]["question"])
    half = " ".join(question[: len(question) // 2 + 2])  # a bit over half of the item, verbatim
    doc = Document(text=FILLER + half, id="half")
    assert Decontaminator(benchmark_files).filter(doc) is True
    assert Decontaminator(benchmark_files, lcs_threshold=0.5).filter(doc) == (False, "contaminated")


def test_unknown_layout_and_format_are_clear_errors(tmp_path):
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({"prompt": "x"}) + "\n")
    with pytest.raises(ValueError, match="layout"):
        Decontaminator({"odd": str(odd)}).filter(Document(text="x", id="1"))
    (tmp_path / "bench.txt").write_text("a question\n")
    with pytest.raises(ValueError, match="unsupported"):
        Decontaminator([str(tmp_path / "bench.txt")]).load()
    with pytest.raises(FileNotFoundError, match="no such file"):
        Decontaminator([str(tmp_path / "absent.jsonl")]).load()


def test_hub_benchmarks_are_read_from_the_hf_cache_and_named_when_missing(tmp_path, monkeypatch):
    """A STAND-IN GSM8K test file staged under openai/gsm8k in an HF cache (tests/hf_cache.py); no download."""
    question = "Natalia sold clips to forty eight of her friends in April and then she sold half as many in May"
    rows = [{"question": question, "answer": "72"}]
    stage_dataset_rows(tmp_path, "openai/gsm8k", "main/test-00000-of-00001.parquet", rows)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    decont = Decontaminator({"gsm8k": "hf://datasets/openai/gsm8k/main/test-*.parquet"})
    (asset,) = decont.required_assets()
    assert asset.locate() == tmp_path / "hub" / "datasets--openai--gsm8k" / "snapshots" / COMMIT / "main"
    doc = Document(text=f"Homework help. {question}. Show your work.", id="1")
    assert decont.filter(doc) == (False, "contaminated")
    assert doc.metadata["contamination"]["benchmark"] == "gsm8k"
    missing = Decontaminator({"mmlu": "hf://datasets/cais/mmlu/all/test-*.parquet"})
    assert missing.required_assets()[0].locate() is None
    with pytest.raises(
        FileNotFoundError, match=r"'hf://datasets/cais/mmlu/all/test-\*.parquet' is not in the Hugging"
    ):
        missing.load()


def test_humaneval_and_mbpp_layouts_are_recognised():
    humaneval = {"task_id": "HumanEval/0", "prompt": "def f(x):", "canonical_solution": "    return x", "test": ""}
    mbpp = {"task_id": 1, "text": "Write a function.", "code": "def g(): pass", "test_list": []}
    assert item_texts(humaneval) == ["def f(x):", "    return x"]
    assert item_texts(mbpp) == ["Write a function.", "def g(): pass"]


def test_the_demo_benchmark_removes_only_the_sample_page_it_restates():
    """The finemath demo's benchmark (items the project wrote) matches one of the project's own sample pages."""
    from curate.blocks.math_extract import MathHtmlExtractor
    from curate.sample import math_pages

    decont = Decontaminator({"demo": "sample/benchmark_items.jsonl"})
    removed = []
    for page in math_pages():
        doc = Document(text=MathHtmlExtractor().extract(page["html"]), id=page["id"])
        if decont.filter(doc) is not True:
            removed.append((page["id"], doc.metadata["contamination"]["item"]))
    assert removed == [("mjs-completing-square", "demo-square")]


@pytest.mark.parametrize("recipe", ["fineweb_edu", "stack_edu"])
def test_decontamination_is_off_in_recipes_that_published_none_and_runs_when_benchmarks_are_set(recipe, tmp_path):
    from curate.config import load_recipe_config
    from curate.recipes import RunPaths, build_stages

    def decontaminators(overrides: list[str]) -> list[Decontaminator]:
        stages = build_stages(load_recipe_config(recipe, overrides), RunPaths(str(tmp_path), str(tmp_path / "logs")))
        return [step for stage in stages for step in stage.pipeline if isinstance(step, Decontaminator)]

    assert decontaminators([]) == []
    (step,) = decontaminators(["decontamination.benchmarks={demo: sample/benchmark_items.jsonl}"])
    assert step.benchmarks == {"demo": "sample/benchmark_items.jsonl"}
    assert (step.ngram_size, step.lcs_threshold) == (13, 0.6)  # FineMath's settings, the section's defaults
    assert step.exclusion_writer is not None  # its removals are kept under removed/decontamination
