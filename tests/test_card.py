"""The dataset card: Hub configs that `datasets` can load, schema, funnel from the stats, score histograms."""

import json
import re
from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml
from hub_standin import HubStandIn
from huggingface_hub import snapshot_download
from test_push import write_recipe_output

from curate.publish import build_card, push_output, read_funnel

DUMPS = ("CC-MAIN-2024-10", "CC-MAIN-2024-18")


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_card_configs_load_with_datasets_after_a_push(tmp_path):
    """Pushed and downloaded through Xet (the real hf_xet client, into and out of the stand-in's store)."""
    import datasets

    output = write_recipe_output(tmp_path / "out", files_per_dump=2, rows_per_file=5)
    with HubStandIn(tmp_path / "hub") as hub:  # a stand-in for the Hub (no network here)
        push_output(output, "curate-test/card", endpoint=hub.endpoint, token="unused")
        folder = snapshot_download(
            "curate-test/card", repo_type="dataset", endpoint=hub.endpoint, local_dir=tmp_path / "downloaded"
        )
        assert any(request.startswith("read ") for request in hub.xet_token_requests)  # Parquet came from Xet
    card = (tmp_path / "downloaded" / "README.md").read_text()
    names = [entry["config_name"] for entry in front_matter(card)["configs"]]
    assert sorted(names) == sorted(["default", *DUMPS])
    expected_rows = {dump: 10 for dump in DUMPS} | {"default": 20}
    for name in names:
        dataset = datasets.load_dataset(folder, name=name, split="train", cache_dir=str(tmp_path / "cache"))
        assert len(dataset) == expected_rows[name], name
        if name != "default":
            assert set(dataset["dump"]) == {name}
        assert "int_score" in dataset.column_names


def test_card_metadata_schema_parameters_and_sources(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    card = build_card(output)
    assert (output / "README.md").read_text() == card
    meta = front_matter(card)
    assert meta["license"] == "odc-by"
    assert meta["pretty_name"] and "curate" in meta["tags"]
    default = next(c for c in meta["configs"] if c["config_name"] == "default")
    assert default["data_files"][0]["path"] == "data/*/*.parquet"
    schema = pq.read_schema(next((output / "data" / DUMPS[0]).glob("*.parquet")))
    for field in schema:
        assert f"| `{field.name}` | `{field.type}` |" in card
    assert "threshold: 0.65" in card
    assert "datatrove 0.10.1" in card and "curate 0.1.0" in card
    assert "arXiv:2406.17557" in card and "arXiv:2502.02737" in card
    assert "fineweb-edu-classifier" in card


def test_funnel_equals_the_stats_written(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    rows = read_funnel(output)
    assert [(r.step, r.docs_in, r.docs_out, r.dropped, r.tokens) for r in rows] == [
        ("🐏 WarcReader", None, 40, None, None),
        ("🔻 - 🌍 Language ID", 40, 25, 15, None),
        ("📊 - SCORER: 🎓 Edu classifier scorer", None, None, None, None),
        ("🔻 - FILTER: 🎯 Score threshold", 25, 20, 5, None),
        ("💽 Parquet", None, 20, None, 410),
    ]
    assert rows[1].reasons == {"en": 15}
    assert rows[3].reasons == {"below_threshold": 5}
    assert rows[2].score_key == "int_score" and sum(rows[2].score_counts.values()) == 25
    card = build_card(output)
    assert "| main | 🔻 - 🌍 Language ID | 40 | 25 | 15 | – | en 15 |" in card
    assert "| main | 💽 Parquet | – | 20 | – | 410 |" in card


def test_funnel_follows_the_stage_order_of_run_json(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    (output / "stats" / "a_dedup.json").write_text(
        json.dumps([{"name": "MinHash filter", "time_stats": {}, "stats": {"total": 25, "forwarded": 22}}])
    )
    run = json.loads((output / "run.json").read_text())
    run["stages"] = ["main", "a_dedup"]
    (output / "run.json").write_text(json.dumps(run))
    assert [r.stage for r in read_funnel(output)] == ["main"] * 5 + ["a_dedup"]


def test_score_histogram_comes_from_the_scorers_counts(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    card = build_card(output)
    png = output / "figures" / "int_score_histogram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/int_score_histogram.png" in card
    assert not (output / "figures" / "score_histogram.png").exists()  # raw scores are not read back
    scorer = json.loads((output / "stats" / "main.json").read_text())[2]["stats"]
    counts = {int(key.removeprefix("int_score_")): n for key, n in scorer.items() if key.startswith("int_score_")}
    table = re.findall(r"^\| (\d) \| ([\d,]+) \|$", card.split("## Scores")[1], flags=re.MULTILINE)
    assert {int(score): int(n.replace(",", "")) for score, n in table} == counts
    # the scorer saw the 5 documents the threshold removed too: its counts are not the data's
    in_data = Counter()
    for path in (output / "data").glob("*/*.parquet"):
        in_data.update(pq.read_table(path, columns=["int_score"]).column("int_score").to_pylist())
    assert sum(counts.values()) == sum(in_data.values()) + 5 and counts != dict(in_data)


def test_card_without_a_scorer_has_no_histograms(tmp_path):
    output = write_recipe_output(tmp_path / "out")
    steps = json.loads((output / "stats" / "main.json").read_text())
    (output / "stats" / "main.json").write_text(json.dumps([s for s in steps if "SCORER" not in s["name"]]))
    card = build_card(output)
    assert "## Scores" not in card
    assert not (output / "figures").exists()


def test_bad_outputs_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to describe"):
        build_card(tmp_path)
    output = write_recipe_output(tmp_path / "out")
    (output / "stats" / "main.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        build_card(output)
