"""Every FineWeb / FineWeb-Edu number in the recipe equals the published one (DESIGN.md §2 gives the sources).

The checks read the constructed pipeline steps, so they pin both pipelines/fineweb_edu.yaml and its wiring.
"""

import pytest
from datatrove.pipeline.formatters import PIIFormatter

from curate.blocks.fast_minhash import FastMinhashDedupSignature
from curate.blocks.fast_trafilatura import FastTrafilatura
from curate.blocks.fineweb_filters import (
    FastC4QualityFilter,
    FastFineWebQualityFilter,
    FastGopherQualityFilter,
    FastGopherRepetitionFilter,
)
from curate.blocks.language import FastTextLanguageFilter
from curate.blocks.resiliparse_extract import ResiliparseExtractor
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.blocks.urls import OfflineURLFilter
from curate.config import ConfigError, load_recipe_config
from curate.describe import describe_stages
from curate.recipes import RunPaths, build_stages


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    out = tmp_path_factory.mktemp("defaults")
    # production models: the published ids, nothing is loaded while building
    cfg = load_recipe_config("fineweb_edu", ["offline=false"])
    stages = build_stages(cfg, RunPaths(str(out), str(out / "logs")))
    return {type(s): s for stage in stages for s in stage.pipeline}, stages


def test_stage_order_follows_datatrove_fineweb_example(steps):
    _, stages = steps
    assert [s.name for s in stages] == [
        "filter",
        "minhash_signatures",
        "minhash_buckets",
        "minhash_clusters",
        "select",
        "score",
    ]
    names = [type(s).__name__ for s in stages[0].pipeline]
    assert names[1:8] == [  # datatrove's blocks of the same names, with their output (tests/test_fidelity.py)
        "OfflineURLFilter",
        "FastTrafilatura",
        "FastTextLanguageFilter",
        "FastGopherRepetitionFilter",
        "FastGopherQualityFilter",
        "FastC4QualityFilter",
        "FastFineWebQualityFilter",
    ]


def test_url_and_extraction(steps):
    by_type, _ = steps
    assert by_type[OfflineURLFilter].soft_word_threshold == 2
    t = by_type[FastTrafilatura]
    assert (t.favour_precision, t.timeout, t.deduplicate) == (True, 1.0, True)


def test_language(steps):
    lf = steps[0][FastTextLanguageFilter]
    assert lf.languages == ["en"]
    assert lf.language_threshold == 0.65
    assert lf.model_ref == "lid.176.bin"


def test_gopher_repetition(steps):
    g = steps[0][FastGopherRepetitionFilter]
    assert (g.dup_line_frac, g.dup_para_frac, g.dup_line_char_frac, g.dup_para_char_frac) == (0.3, 0.3, 0.2, 0.2)
    assert tuple(map(tuple, g.top_n_grams)) == ((2, 0.2), (3, 0.18), (4, 0.16))
    assert tuple(map(tuple, g.dup_n_grams)) == ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.1))


def test_gopher_quality(steps):
    g = steps[0][FastGopherQualityFilter]
    assert (g.min_doc_words, g.max_doc_words) == (50, 100000)
    assert (g.min_avg_word_length, g.max_avg_word_length) == (3, 10)
    assert g.max_symbol_word_ratio == 0.1
    assert g.max_bullet_lines_ratio == 0.9
    assert g.max_ellipsis_lines_ratio == 0.3
    assert g.max_non_alpha_words_ratio == 0.8
    assert g.min_stop_words == 2


def test_c4_terminal_punctuation_off_everything_else_on(steps):
    c4 = steps[0][FastC4QualityFilter]
    assert c4.filter_no_terminal_punct is False
    assert c4.filter_curly_bracket and c4.filter_lorem_ipsum and c4.filter_javascript and c4.filter_policy
    assert (c4.min_num_sentences, c4.min_words_per_line, c4.max_word_length) == (5, 3, 1000)


def test_fineweb_quality(steps):
    f = steps[0][FastFineWebQualityFilter]
    assert f.line_punct_thr == 0.12
    assert f.short_line_threshold == 0.67 and f.short_line_length == 30
    assert f.char_duplicates_ratio == 0.01  # DESIGN.md: datatrove and the paper's table win over its text (0.1)
    assert f.new_line_ratio == 0.3


def test_minhash_per_fineweb(steps):
    c = steps[0][FastMinhashDedupSignature].config
    assert (c.n_grams, c.num_buckets, c.hashes_per_bucket) == (5, 14, 8)
    assert (c.hash_config.hash_fc, c.hash_config.precision) == ("sha1", 64)
    buckets = steps[1][2]
    assert buckets.tasks % c.num_buckets == 0
    assert steps[1][3].tasks == 1


def test_pii_and_edu_selection(steps):
    by_type, _ = steps
    pii = by_type[PIIFormatter]
    assert pii.remove_emails and pii.remove_ips
    scorer = by_type[EduClassifierScorer]
    assert scorer.model == "HuggingFaceFW/fineweb-edu-classifier"
    assert scorer.max_length == 512
    assert by_type[ScoreThreshold].threshold == 3


def test_edu_threshold_override_gives_score_2(tmp_path):
    cfg = load_recipe_config("fineweb_edu", ["offline=false", "threshold=2"])
    stages = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))
    threshold = next(s for s in stages[-1].pipeline if isinstance(s, ScoreThreshold))
    assert threshold.threshold == 2


def test_default_mode_is_trafilatura_fast_mode_resiliparse(tmp_path):
    cfg = load_recipe_config("fineweb_edu", ["offline=false"])
    assert (cfg["mode"], cfg["extraction.engine"]) == ("default", "trafilatura")
    fast = load_recipe_config("fineweb_edu", ["offline=false", "mode=fast"])
    extractor = build_stages(fast, RunPaths(str(tmp_path), str(tmp_path / "logs")))[0].pipeline[2]
    assert isinstance(extractor, ResiliparseExtractor) and extractor.timeout == 1.0
    # the remaining stage is the same blocks as the default mode's
    default = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))[0].pipeline
    faster = build_stages(fast, RunPaths(str(tmp_path), str(tmp_path / "logs")))[0].pipeline
    assert [type(s) for i, s in enumerate(default) if i != 2] == [type(s) for i, s in enumerate(faster) if i != 2]
    # and the dry run names the extractor each mode runs
    for config, extractor_name in ((cfg, "FastTrafilatura"), (fast, "ResiliparseExtractor")):
        listing = describe_stages(
            build_stages(config, RunPaths(str(tmp_path), str(tmp_path / "logs"))), config, "local"
        )
        first_stage = listing[: next(i for i, line in enumerate(listing) if line.startswith("stage 2/"))]
        assert [line for line in first_stage if line.startswith("  - ")][2].startswith(f"  - {extractor_name}(")


def test_engine_and_mode_values_are_checked(tmp_path):
    paths = RunPaths(str(tmp_path), str(tmp_path / "logs"))
    engine = load_recipe_config("fineweb_edu", ["offline=false", "extraction.engine=resiliparse"])
    assert isinstance(build_stages(engine, paths)[0].pipeline[2], ResiliparseExtractor)
    for override, message in (("mode=turbo", "'mode'"), ("extraction.engine=lxml", "'extraction.engine'")):
        with pytest.raises(ConfigError, match=message):
            build_stages(load_recipe_config("fineweb_edu", ["offline=false", override]), paths)
