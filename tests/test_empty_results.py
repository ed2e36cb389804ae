"""Empty results are results: when the filters keep nothing, every recipe still ends with exit code 0, every stage
complete, stats merged and the summary printed; the dataset is empty (no data/ files), as the README says.

Inputs are real files of ../shared/data that a recipe rightly keeps nothing of: a ClueWeb09 WARC of Japanese pages
(FineWeb and FineMath keep English only) and, for stack_edu, a folder holding no source file of its 15 languages."""

import json

import pytest
from recipe_runs import run_recipe

from curate.config import load_recipe_config
from curate.recipes import RunPaths, build_stages


@pytest.mark.parametrize(
    "recipe, input_path",
    [
        ("fineweb_edu", "warc/resiliparse-clueweb09-quirk.warc.gz"),
        ("finemath", "warc/resiliparse-clueweb09-quirk.warc.gz"),
        ("stack_edu", "warc"),
    ],
)
def test_a_recipe_that_keeps_nothing_ends_normally(recipe, input_path, shared_data, tmp_path, capfd):
    out = tmp_path / "out"
    settings = [f"input={shared_data / input_path}", "offline=true", "tasks=1", "workers=1"]
    if recipe == "finemath":  # offline models; the benchmark file the project wrote instead of the Hub test sets
        settings.append("decontamination.benchmarks={demo: sample/benchmark_items.jsonl}")
    cfg = load_recipe_config(recipe, settings)
    assert run_recipe(cfg, out) == 0
    printed = capfd.readouterr().out
    assert "no document passed every step: the dataset is empty" in printed and f"output: {out}/data" in printed
    assert not list(out.rglob("data/**/*.parquet"))
    for stage in build_stages(cfg, RunPaths(str(out), str(out / "logs"))):
        assert len(list((out / "logs" / stage.name / "completions").iterdir())) == stage.tasks, stage.name
        assert json.loads((out / "stats" / f"{stage.name}.json").read_text()), stage.name
    if recipe == "stack_edu":  # nothing lost unseen: the tree reader counted every file it skipped
        skipped = json.loads((out / "stats" / "select.json").read_text())[0]["stats"]["skipped_unknown_language"]
        assert (skipped if isinstance(skipped, int) else skipped["total"]) == len(
            list((shared_data / "warc").iterdir())
        )
