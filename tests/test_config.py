import pytest

from curate.config import ConfigError, available_recipes, load_recipe_config


def test_fineweb_edu_is_listed():
    assert "fineweb_edu" in available_recipes()


def test_overrides_keep_types_and_reach_nested_keys():
    cfg = load_recipe_config(
        "fineweb_edu", ["threshold=2", "language.threshold=0.7", "tasks=8", "language.languages=[en, fr]"]
    )
    assert cfg["threshold"] == 2
    assert cfg["language.threshold"] == pytest.approx(0.7)
    assert cfg["tasks"] == 8
    assert cfg["language.languages"] == ["en", "fr"]


def test_int_widens_to_float():
    cfg = load_recipe_config("fineweb_edu", ["language.threshold=1"])
    assert isinstance(cfg["language.threshold"], float)


@pytest.mark.parametrize(
    "override, message",
    [
        ("no_such_key=1", "unknown key 'no_such_key'"),
        ("language.nope=1", "unknown key 'language.nope'"),
        ("nope.deeper=1", "unknown key 'nope'"),
        ("tasks=many", "bad value 'many' for 'tasks'"),
        ("write_removed=3", "bad value 3 for 'write_removed'"),
        ("tasks", "--set expects key=value"),
    ],
)
def test_bad_overrides_are_rejected_with_one_sentence(override, message):
    with pytest.raises(ConfigError, match=message):
        load_recipe_config("fineweb_edu", [override])


def test_unknown_recipe():
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        load_recipe_config("nope")


def test_tests_on_shared_data_skip_with_the_reason_when_it_is_missing(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "CURATE_SHARED_DATA": str(tmp_path / "no-data")}
    test = Path(__file__).resolve().parent / "test_warc_reader.py"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "passed" not in proc.stdout and " skipped" in proc.stdout
    assert f"needs the real test data of ../shared/data, not found at {tmp_path / 'no-data'}" in proc.stdout
