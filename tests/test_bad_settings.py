"""Issue 11 table rows 8-10: every setting is checked before anything runs. Each bad setting is refused with exit 2
and one line naming the key, the value and what is allowed; nothing is written (the dry run checks the same)."""

import pytest

from curate.run import main

INTEGER_1 = "expected an integer >= 1"


def refused(capsys, *argv: str, dry_run: bool = False) -> str:
    """The one line ``python -m curate.run`` prints for ``argv``, which must exit 2."""
    capsys.readouterr()
    assert main([*argv, *(["--dry-run"] if dry_run else [])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


@pytest.fixture
def output(tmp_path):
    return str(tmp_path / "out")


# row 8: nothing processed, an empty summary, exit 0; n_grams=0 silently turned dedup off
@pytest.mark.parametrize(
    "argv, line",
    [
        (["--set", "tasks=-3"], f"error: bad value -3 for 'tasks': {INTEGER_1}"),
        (["--set", "tasks=0"], f"error: bad value 0 for 'tasks': {INTEGER_1}"),
        (["--tasks", "-3"], f"error: bad value -3 for 'tasks': {INTEGER_1}"),
        (["--set", "minhash.hashes_per_bucket=0"], f"error: bad value 0 for 'minhash.hashes_per_bucket': {INTEGER_1}"),
        (["--set", "minhash.n_grams=0"], f"error: bad value 0 for 'minhash.n_grams': {INTEGER_1}"),
    ],
)
def test_row8_sizes_below_one_are_refused(capsys, output, argv, line):
    assert refused(capsys, "fineweb_edu", "--output", output, *argv) == line


# row 9: broken YAML was taken as the string '[en' and every document was dropped
def test_row9_broken_yaml_is_refused_not_taken_as_text(capsys, output):
    line = refused(capsys, "fineweb_edu", "--output", output, "--set", "language.languages=[en")
    assert line.startswith("error: bad value '[en' for 'language.languages': not valid YAML (")
    assert line.endswith("quote text that holds [ ] { } : #")


def test_row9_language_codes_must_be_known_to_the_model(capsys, output):
    line = refused(capsys, "finemath", "--output", output, "--set", "language.languages=[english]")
    assert line.startswith("error: bad value 'english' in 'language.languages': expected a language code of fastText")


NUM_BUCKETS = "expected an integer >= 1 (datatrove runs the bucket stage as a multiple of num_buckets tasks"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_row10_num_buckets_below_one_is_refused_with_the_datatrove_rule(capsys, output, value):
    line = refused(capsys, "fineweb_edu", "--output", output, "--set", f"minhash.num_buckets={value}")
    assert line.startswith(f"error: bad value {value} for 'minhash.num_buckets': {NUM_BUCKETS}")


def test_row10_output_that_is_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    line = refused(capsys, "fineweb_edu", "--output", str(tmp_path / "file"))
    assert line == f"error: bad value '{tmp_path / 'file'}' for '--output': expected a folder, and this path is a file"


def test_row10_output_under_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    line = refused(capsys, "fineweb_edu", "--output", str(tmp_path / "file" / "out"))
    assert line == (
        f"error: bad value '{tmp_path / 'file' / 'out'}' for '--output': expected a folder, "
        f"and this path is under the file '{tmp_path / 'file'}'"
    )


def test_row10_logs_that_is_a_file(capsys, tmp_path, output):
    (tmp_path / "logs").write_text("x")
    line = refused(capsys, "fineweb_edu", "--output", output, "--logs", str(tmp_path / "logs"))
    assert line == f"error: bad value '{tmp_path / 'logs'}' for '--logs': expected a folder, and this path is a file"


@pytest.mark.parametrize("dry_run", [False, True])
def test_row10_top_n_grams_not_a_list_of_pairs(capsys, output, dry_run):
    line = refused(
        capsys, "fineweb_edu", "--output", output, "--set", "gopher_repetition.top_n_grams=5", dry_run=dry_run
    )
    assert line == (
        "error: bad value 5 for 'gopher_repetition.top_n_grams': expected a list of [n, fraction] pairs "
        "(n an integer >= 1, fraction a number from 0 to 1)"
    )


def test_row10_per_language_thresholds_need_a_default(capsys, output):
    line = refused(capsys, "stack_edu", "--output", output, "--set", "thresholds={Java: 1}")
    assert line == "error: bad value {'Java': 1} for 'thresholds': expected a mapping with a 'default' entry"


def test_row10_a_recipe_is_named_not_given_as_a_path(capsys, output):
    line = refused(capsys, "pipelines/fineweb_edu.yaml", "--output", output)
    assert line == (
        "error: unknown recipe 'pipelines/fineweb_edu.yaml' (known: finemath, fineweb_edu, stack_edu); "
        "a recipe is named, not given as a path"
    )


def test_row10_an_input_folder_without_web_archives(capsys, tmp_path, output):
    (tmp_path / "warcs").mkdir()
    (tmp_path / "warcs" / "README.md").write_text("# not a WARC\n")
    line = refused(capsys, "fineweb_edu", "--output", output, "--input", str(tmp_path / "warcs"))
    assert line == f"error: The WARC input folder '{tmp_path / 'warcs'}' holds no WARC, WET or ARC file."


def test_row10_an_input_that_is_a_plain_text_file(capsys, tmp_path, output):
    (tmp_path / "pages.txt").write_text("some text\n")
    line = refused(capsys, "finemath", "--output", output, "--input", str(tmp_path / "pages.txt"))
    assert (
        line
        == f"error: The WARC input '{tmp_path / 'pages.txt'}' is not a WARC, WET or ARC file (gzip-compressed or not)."
    )


@pytest.mark.parametrize(
    "argv, line",
    [
        (["--workers", "0"], "error: bad value 0 for 'workers': expected -1 or an integer >= 1"),
        (
            ["--tasks", "2", "--workers", "3"],
            "error: bad value 3 for 'workers': expected -1 or at most tasks (2): "
            "a stage runs at most its tasks at once",
        ),
    ],
)
def test_row10_workers_zero_and_more_workers_than_tasks(capsys, output, argv, line):
    assert refused(capsys, "fineweb_edu", "--output", output, *argv) == line


def test_nothing_is_written_when_a_setting_is_refused(capsys, tmp_path):
    refused(capsys, "fineweb_edu", "--output", str(tmp_path / "out"), "--set", "tasks=0")
    assert not (tmp_path / "out").exists()
