"""The same keys for the same things in every recipe, any block argument under its own name, and a Stack-Edu
language added by one entry in curate/languages.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from curate.blocks.fast_trafilatura import FastTrafilatura
from curate.blocks.fineweb_filters import FastC4QualityFilter
from curate.blocks.language import FastTextLanguageFilter
from curate.blocks.math_extract import MathHtmlExtractor
from curate.blocks.resiliparse_extract import ResiliparseExtractor
from curate.blocks.scorer import EduClassifierScorer
from curate.config import ConfigError, load_recipe_config
from curate.recipes import RunPaths, build_stages

SCORER_KEYS = {"model", "max_length", "batch_size", "device", "precision"}


def steps_of(cfg, tmp_path: Path, kind: type) -> list:
    stages = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))
    return [s for stage in stages for s in stage.pipeline if isinstance(s, kind)]


@pytest.mark.parametrize(
    "recipe, model, max_length",
    [
        ("fineweb_edu", "HuggingFaceFW/fineweb-edu-classifier", 512),
        ("finemath", "HuggingFaceTB/finemath-classifier", 512),
        ("stack_edu", None, 1024),  # null: the 15 published per-language classifiers
    ],
)
def test_every_recipe_has_one_scorer_section_with_the_published_defaults(recipe, model, max_length):
    scorer = load_recipe_config(recipe)["scorer"]
    assert set(scorer) == SCORER_KEYS
    assert (scorer["model"], scorer["max_length"], scorer["batch_size"]) == (model, max_length, 64)
    assert (scorer["device"], scorer["precision"]) == ("auto", "auto")


@pytest.mark.parametrize("recipe", ["fineweb_edu", "finemath"])
def test_the_web_recipes_share_the_language_section_and_its_wiring(recipe, tmp_path):
    cfg = load_recipe_config(recipe)
    assert cfg["language"] == {"languages": ["en"], "threshold": 0.65, "model": "lid.176.bin"}
    cfg = load_recipe_config(recipe, ["language.threshold=0.8", "language.languages=[en, fr]"])
    filters = steps_of(cfg, tmp_path, FastTextLanguageFilter)
    assert filters and all((f.language_threshold, f.languages) == (0.8, ["en", "fr"]) for f in filters)


def test_offline_is_auto_or_a_yaml_boolean():
    assert load_recipe_config("fineweb_edu")["offline"] == "auto"
    assert load_recipe_config("fineweb_edu", ["offline=true"])["offline"] is True
    assert load_recipe_config("fineweb_edu", ["offline=False"])["offline"] is False
    with pytest.raises(ConfigError, match="bad value 'true' for 'offline': expected one of auto, true, false"):
        load_recipe_config("fineweb_edu", ["offline='true'"])  # quoted: the text, not the boolean


def test_extraction_engine_and_its_own_arguments(tmp_path):
    (math,) = steps_of(load_recipe_config("finemath"), tmp_path, MathHtmlExtractor)[:1]
    assert (math.timeout, math.main_content, math.keep_answers, math.tables_as_markdown) == (1.0, True, True, True)
    # an argument only resiliparse takes waits while trafilatura is the engine, and reaches it in mode: fast
    cfg = load_recipe_config("fineweb_edu", ["extraction.min_container_share=0.5"])
    assert not steps_of(cfg, tmp_path, ResiliparseExtractor)
    fast = load_recipe_config("fineweb_edu", ["extraction.min_container_share=0.5", "mode=fast"])
    (resiliparse,) = steps_of(fast, tmp_path, ResiliparseExtractor)
    assert (resiliparse.min_container_share, resiliparse.timeout) == (0.5, 1.0)
    # trafilatura.extract's own options are trafilatura's arguments (FastTrafilatura passes them on)
    (trafilatura,) = steps_of(
        load_recipe_config("fineweb_edu", ["extraction.include_tables=false"]), tmp_path, FastTrafilatura
    )
    assert trafilatura.kwargs == {"include_tables": False}
    with pytest.raises(ConfigError, match="unknown key 'extraction.nope' for recipe 'fineweb_edu'"):
        load_recipe_config("fineweb_edu", ["extraction.nope=1"])
    with pytest.raises(ConfigError, match="bad value 'lxml' for 'extraction.engine': expected one of trafilatura"):
        load_recipe_config("finemath", ["extraction.engine=lxml"])


def test_any_block_argument_is_set_by_its_own_name(tmp_path):
    cfg = load_recipe_config("fineweb_edu", ["c4_quality.min_num_sentences=3", "scorer.chunk_size=8"])
    (c4,) = steps_of(cfg, tmp_path, FastC4QualityFilter)
    (scorer,) = steps_of(cfg, tmp_path, EduClassifierScorer)
    assert (c4.min_num_sentences, c4.filter_no_terminal_punct, scorer.chunk_size) == (3, False, 8)
    with pytest.raises(ConfigError, match="unknown key 'c4_quality.min_sentences' for recipe 'fineweb_edu'"):
        load_recipe_config("fineweb_edu", ["c4_quality.min_sentences=3"])
    with pytest.raises(ConfigError, match="'c4_quality.exclusion_writer' is set by recipe 'fineweb_edu' itself"):
        steps_of(load_recipe_config("fineweb_edu", ["c4_quality.exclusion_writer=x"]), tmp_path, FastC4QualityFilter)


def test_finemath_recall_classifier_honours_the_scorer_settings(tmp_path):
    cfg = load_recipe_config("finemath", ["offline=false", "scorer.max_length=256", "recall.batch_size=8"])
    recall, final = steps_of(cfg, tmp_path, EduClassifierScorer)
    assert (recall.model, recall.max_length, recall.batch_size) == ("HuggingFaceTB/finemath-classifier", 256, 8)
    assert (final.model, final.max_length, final.batch_size) == ("HuggingFaceTB/finemath-classifier", 256, 64)


NEW_LANGUAGE = 'CodeLanguage("Kotlin", "Kotlin", "kotlin", 2, ("kt", "kts")),'
PROBE = """
import importlib.util, json, sys
import curate
spec = importlib.util.spec_from_file_location("curate.languages", sys.argv[1])
languages = importlib.util.module_from_spec(spec)
sys.modules["curate.languages"] = languages
spec.loader.exec_module(languages)
from curate.blocks.code_language import detect_language
from curate.config import load_recipe_config
from curate.recipes import RunPaths, build_stages
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
cfg = load_recipe_config("stack_edu", ["offline=false", "thresholds.Kotlin=4"])
stages = build_stages(cfg, RunPaths("out", "logs"))
steps = {type(s): s for stage in stages for s in stage.pipeline}
print(json.dumps({
    "published": load_recipe_config("stack_edu")["thresholds"],
    "per_group": steps[ScoreThreshold].per_group,
    "model": steps[EduClassifierScorer].model.get("Kotlin"),
    "detected": detect_language("Main.kt"),
}))
"""


def test_a_stack_edu_language_is_one_entry_in_languages_py(tmp_path):
    """A temporary copy of curate/languages.py with one more CodeLanguage entry: the recipe's languages, published
    thresholds, per-language classifiers, settings checks and file routing all see it."""
    import curate.languages

    source = Path(curate.languages.__file__).read_text()
    anchor = "LANGUAGES: tuple[CodeLanguage, ...] = (\n"
    assert anchor in source
    patched = tmp_path / "languages.py"
    patched.write_text(source.replace(anchor, anchor + "    " + NEW_LANGUAGE + "\n"))
    proc = subprocess.run([sys.executable, "-c", PROBE, str(patched)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["published"] == {"default": 3, "Kotlin": 2, "Java": 2}
    assert seen["per_group"] == {"Kotlin": 4, "Java": 2}
    assert seen["model"] == "HuggingFaceTB/stack-edu-classifier-kotlin"
    assert seen["detected"] == "Kotlin"
    # without the entry, the same setting is refused
    with pytest.raises(ConfigError, match="bad name 'Kotlin' in 'thresholds'"):
        load_recipe_config("stack_edu", ["thresholds.Kotlin=4"])
