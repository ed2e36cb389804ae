"""Stage mixtures: the SmolLM2 table, token counts, weights/epochs against hand-computed values, manifests."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from tokenizers import Tokenizer

from curate import mix
from curate.assets import resolve
from curate.config import ConfigError
from curate.publish.mixture import MixtureError, SourceCount, allocate, load_mixture, parse_tokens, plan_stage
from curate.publish.nanotron import start_step
from curate.publish.sources import choose_tokenizer, config_patterns, count_tokens, data_files, hub_id

SMOLLM2 = Path(__file__).resolve().parents[1] / "pipelines" / "mixtures" / "smollm2.yaml"


def group_shares(stage) -> dict[str, float]:
    shares: dict[str, float] = {}
    for source in stage.sources:
        shares[source.group] = round(shares.get(source.group, 0) + source.share, 6)
    return shares


def test_smollm2_stages_match_the_paper_table():
    # SmolLM2 paper §4 (DESIGN.md §2): token ranges and web/code/math/other percentages per stage
    mixture = load_mixture(SMOLLM2)
    ranges = {n: (s.start_tokens, s.end_tokens) for n, s in mixture.stages.items()}
    assert ranges == {
        1: (0, 6 * 10**12),
        2: (6 * 10**12, 8 * 10**12),
        3: (8 * 10**12, 10**13),
        4: (10**13, 11 * 10**12),
    }
    assert group_shares(mixture.stages[1]) == {"web": 0.9, "code": 0.1}
    assert group_shares(mixture.stages[2]) == {"web": 0.75, "code": 0.2, "math": 0.05}
    assert group_shares(mixture.stages[3]) == {"web": 0.74, "code": 0.16, "math": 0.1}
    assert group_shares(mixture.stages[4]) == {"web": 0.58, "code": 0.24, "math": 0.14, "other": 0.04}
    for number, (edu, dclm) in {1: (60, 40), 2: (60, 40), 3: (40, 60)}.items():
        shares = {s.name: s.share for s in mixture.stages[number].sources}
        assert shares["fineweb-edu"] / shares["dclm"] == pytest.approx(edu / dclm)
    assert {s.name for s in mixture.stages[4].sources} >= {"stack-edu", "finemath-4plus", "cosmopedia-v2"}
    assert all(s.hub for stage in mixture.stages.values() for s in stage.sources)


def write_source(folder: Path, token_counts: list[int]) -> Path:
    folder.mkdir(parents=True)
    rows = [{"text": f"doc {i}", "token_count": n} for i, n in enumerate(token_counts)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    return folder


def write_mixture(path: Path, shares: dict[str, float], paths: dict[str, Path] | None = None) -> Path:
    sources = [{"name": n, "share": s, "hub": f"org/{n}"} for n, s in shares.items()]
    for source in sources:
        if paths and source["name"] in paths:
            source["path"] = str(paths[source["name"]])
    path.write_text(yaml.safe_dump({"name": "toy", "stages": [{"stage": 1, "tokens": [0, "1K"], "sources": sources}]}))
    return path


@pytest.fixture
def toy(tmp_path) -> tuple[Path, dict[str, Path]]:
    # available tokens: a = 100, b = 1000, c = 10 (from token_count columns)
    paths = {
        "a": write_source(tmp_path / "a", [40, 60]),
        "b": write_source(tmp_path / "b", [250] * 4),
        "c": write_source(tmp_path / "c", [10]),
    }
    return write_mixture(tmp_path / "toy.yaml", {"a": 0.6, "b": 0.3, "c": 0.1}), paths


def run_mix(mixture: Path, paths: dict[str, Path], output: Path, *extra: str) -> dict:
    args = [str(mixture), "--stage", "1", "--output", str(output), *extra]
    args += [f"--path={name}={path}" for name, path in paths.items()]
    assert mix.main(args) == 0
    return json.loads((output / "stage1.json").read_text())


def test_weights_and_epochs_match_hand_computation(toy, tmp_path, capsys):
    mixture, paths = toy
    manifest = run_mix(mixture, paths, tmp_path / "m", "--budget", "1000", "--max-epochs", "4")
    got = {s["name"]: s for s in manifest["sources"]}
    # by hand: targets a 600 (6 epochs), b 300, c 100 (10 epochs); a and c capped at 4 epochs = 400 and 40;
    # the 560 tokens left go to b, the only uncapped source: 0.56 epochs
    assert {n: s["available_tokens"] for n, s in got.items()} == {"a": 100, "b": 1000, "c": 10}
    assert {n: s["target_tokens"] for n, s in got.items()} == pytest.approx({"a": 600, "b": 300, "c": 100})
    assert {n: s["realised_tokens"] for n, s in got.items()} == pytest.approx({"a": 400, "b": 560, "c": 40})
    assert {n: s["epochs"] for n, s in got.items()} == pytest.approx({"a": 4.0, "b": 0.56, "c": 4.0})
    assert {n: s["realised_share"] for n, s in got.items()} == pytest.approx({"a": 0.4, "b": 0.56, "c": 0.04})
    assert {n: s["capped"] for n, s in got.items()} == {"a": True, "b": False, "c": True}
    assert [w.split(":")[0] for w in manifest["warnings"]] == ["a", "c"]
    markdown = (tmp_path / "m" / "stage1.md").read_text()
    assert "| a (capped) | 2 | 100 | 60.00% | 40.00% |" in markdown
    assert "needs 6.00 epochs" in capsys.readouterr().out


def test_no_cap_keeps_target_shares_but_still_warns(toy, tmp_path):
    mixture, paths = toy
    manifest = run_mix(mixture, paths, tmp_path / "m", "--budget", "1000", "--no-cap")
    got = {s["name"]: s for s in manifest["sources"]}
    assert {n: s["realised_share"] for n, s in got.items()} == pytest.approx({"a": 0.6, "b": 0.3, "c": 0.1})
    assert {n: s["epochs"] for n, s in got.items()} == pytest.approx({"a": 6.0, "b": 0.3, "c": 10.0})
    assert len(manifest["warnings"]) == 2 and "not capped" in manifest["warnings"][0]


def test_cap_cascades_when_redistribution_overfills_another_source():
    # by hand: targets x 50, y 30, z 20 of 100; x has 5 tokens -> cap 10 (2 epochs); 90 left split 30:20 ->
    # y 54, z 36; z has 15 tokens -> cap 30; 60 left all to y (60 tokens, 2.0 epochs of its 30: exactly the cap)
    realised = allocate({"x": 0.5, "y": 0.3, "z": 0.2}, {"x": 5, "y": 30, "z": 15}, 100, max_epochs=2)
    assert realised == pytest.approx({"x": 10, "y": 60, "z": 30})


def test_every_source_capped_falls_short_of_the_budget():
    realised = allocate({"x": 0.5, "y": 0.5}, {"x": 1, "y": 2}, 100, max_epochs=4)
    assert realised == pytest.approx({"x": 4, "y": 8})


def test_default_budget_is_the_stage_token_range():
    mixture = load_mixture(SMOLLM2)
    counts = {s.name: SourceCount(1, 10**13, "given") for s in mixture.stages[2].sources}
    plan = plan_stage(mixture, 2, counts)
    assert plan.budget == 2 * 10**12
    assert {s.name: s.realised_tokens for s in plan.sources}["open-web-math"] == pytest.approx(0.05 * 2 * 10**12)
    assert plan.warnings == []


def test_token_count_column_is_used_when_present(tmp_path):
    files = data_files(str(write_source(tmp_path / "s", [7, 8])))
    assert count_tokens(files).tokens == 15
    tokenizer = Tokenizer.from_file(resolve("bundled:smollm2-tokenizer"))
    recount = count_tokens(
        files, tokenizer=lambda: choose_tokenizer("bundled:smollm2-tokenizer"), use_token_count=False
    )
    assert recount.method == "tokenizer bundled:smollm2-tokenizer"
    assert recount.tokens == sum(len(tokenizer.encode(f"doc {i}", add_special_tokens=False).ids) for i in range(2))


def test_counts_add_one_end_of_document_token_per_document_when_the_mixture_appends_one(tmp_path):
    texts = ["The derivative of x squared is 2x.", "def add(a, b):\n    return a + b\n", "", "Photosynthesis."]
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "part.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    mixture = write_mixture(tmp_path / "one.yaml", {"only": 1.0}, {"only": folder})
    published = {"tokenizer": "HuggingFaceTB/cosmo2-tokenizer", "offline_tokenizer": "bundled:smollm2-tokenizer"}
    raw = yaml.safe_load(mixture.read_text()) | {"eos_token": "<|endoftext|>", **published}
    mixture.write_text(yaml.safe_dump(raw))
    manifest = run_mix(mixture, {}, tmp_path / "m", "--budget", "100", "--offline")  # never asks the Hub
    tokenizer = Tokenizer.from_file(resolve("bundled:smollm2-tokenizer"))
    text_tokens = sum(len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts)
    source = manifest["sources"][0]
    assert (source["documents"], source["skipped_empty"], source["counted_tokens"]) == (3, 1, text_tokens)
    assert source["count_method"] == "tokenizer bundled:smollm2-tokenizer"
    assert source["available_tokens"] == text_tokens + 3  # + one <|endoftext|> per non-empty document


def test_mixtures_are_found_by_name(tmp_path):
    assert load_mixture("smollm2") == load_mixture(SMOLLM2)
    with pytest.raises(MixtureError, match="known: smollm2"):
        load_mixture("smollm3")


@pytest.mark.parametrize(
    "args, message",
    [(["--stage", "9"], "no stage 9"), (["--stage", "1", "--path", "nope=/x"], "not in stage 1")],
)
def test_bad_arguments_are_clear_errors(toy, capsys, args, message):
    mixture, _ = toy
    assert mix.main([str(mixture), *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_mixture_files_are_rejected(tmp_path):
    with pytest.raises(MixtureError, match="sum to"):
        load_mixture(write_mixture(tmp_path / "bad.yaml", {"a": 0.5, "b": 0.4}))
    with pytest.raises(MixtureError, match="token count"):
        parse_tokens("lots")
    assert parse_tokens("1.5M") == 1_500_000 and parse_tokens("6T") == 6 * 10**12


def test_nanotron_defaults_are_smollm2s_and_stage_4_starts_at_10t_tokens():
    # SmolLM2-1.7B's nanotron config: sequence_length 2048, dp 256 x micro_batch_size 4 x accumulation 1
    args = mix.parse_args(["smollm2", "--stage", "4"])
    assert (args.sequence_length, args.global_batch_size) == (2048, 1024)
    mixture = load_mixture("smollm2")
    assert mixture.tokenizer == "HuggingFaceTB/cosmo2-tokenizer" and mixture.eos_token == "<|endoftext|>"
    # 10T / (2048 * 1024) = 4,768,371.6 steps before stage 4: it starts at step 4,768,373 (steps count from 1)
    assert start_step(mixture.stages[4].start_tokens, 2048, 1024) == 4_768_373
    assert start_step(0, 2048, 1024) == 1 and start_step(2048 * 1024, 2048, 1024) == 2


def test_executor_settings_come_from_the_mixture_and_set(tmp_path):
    cfg = mix.executor_config(load_mixture("smollm2"), ["slurm.partition=cpu", "slurm.wait=true"])
    assert (cfg["slurm.partition"], cfg["slurm.wait"], cfg["slurm.time"]) == ("cpu", True, "04:00:00")
    with pytest.raises(ConfigError, match="unknown key 'slurm.nope'"):
        mix.executor_config(load_mixture("smollm2"), ["slurm.nope=1"])


def test_materialize_needs_tokenize_and_a_cap(toy, capsys):
    mixture, _ = toy
    assert mix.main([str(mixture), "--stage", "1", "--materialize"]) == 2
    assert "--materialize" in capsys.readouterr().err


def test_hub_config_files_come_from_the_card_configs():
    card = {"configs": [{"config_name": "Python", "data_files": [{"split": "train", "path": ["data/Python/*"]}]}]}
    assert config_patterns(card, "Python") == ["data/Python/*"]
    assert config_patterns({}, "finemath-4plus") == ["finemath-4plus/*"]  # no card entry: the config's folder
    assert config_patterns({}, None) == ["*.parquet", "*.jsonl", "*.jsonl.gz"]
    assert (
        hub_id("hf://datasets/HuggingFaceTB/finemath") == hub_id("HuggingFaceTB/finemath") == "HuggingFaceTB/finemath"
    )
    assert hub_id(str(SMOLLM2)) is None
