"""One funnel from the stats, for the terminal summary, run.json and the dataset card (curate.funnel)."""

import contextlib
import io
import json
import re
from collections import Counter
from dataclasses import asdict

import pyarrow.parquet as pq
import pytest
from recipe_runs import run_recipe

from curate.config import load_recipe_config
from curate.funnel import FunnelRow, read_funnel, step_row
from curate.publish import build_card


def test_reasons_tokens_and_score_counts_follow_one_rule():
    extractor = step_row(
        "main",
        {
            "name": "⛏ - EXTRACTOR: Trafilatura",
            "stats": {"total": 10, "extracted": 9, "timeout": 1, "forwarded": 7, "dropped": 3},
        },
    )
    assert (extractor.docs_in, extractor.docs_out, extractor.dropped) == (10, 7, 3)
    assert extractor.reasons == {"timeout": 1, "empty_text": 2}  # the drops no counter explains: empty text
    reader_stats = {"documents": 8, "skipped_symlink_loop": 2, "truncated_file": 1}
    reader = step_row("main", {"name": "reader", "stats": reader_stats})
    assert (reader.docs_in, reader.docs_out, reader.dropped) == (None, 8, None)
    assert reader.reasons == {"skipped_symlink_loop": 2, "truncated_file": 1}
    minhash = step_row("dedup", {"name": "MinHash filter", "stats": {"total": 25, "forwarded": 22}})
    assert (minhash.dropped, minhash.reasons) == (3, {"dropped": 3})  # no reason given: the step's name says it
    counter = step_row("main", {"name": "tokens", "stats": {"total": 4, "tokens": {"total": 99, "n": 4}}})
    assert counter.tokens == 99
    scorer = step_row(
        "score", {"name": "scorer", "stats": {"scored": 6, "scored_Java": 6, "edu_int_2": 4, "edu_int_5": 2}}
    )
    assert (scorer.score_key, scorer.score_counts) == ("edu_int", {2: 4, 5: 2})
    assert step_row("x", {"name": "not a scorer", "stats": {"bucket_3": 1}}).score_counts == {}


@pytest.fixture(scope="module")
def stack_edu_run(tmp_path_factory):
    """The stack_edu recipe on its bundled demo code with the bundled demo classifier (offline), run for real."""
    out = tmp_path_factory.mktemp("funnel") / "out"
    cfg = load_recipe_config("stack_edu", ["offline=true", "tasks=1", "workers=1", "languages=[Python, Java, Go]"])
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_recipe(cfg, out)
    return out, code, printed.getvalue()


def test_summary_run_json_and_card_show_the_same_funnel(stack_edu_run):
    out, code, summary = stack_edu_run
    assert code == 0
    rows = read_funnel(out)  # what the card reads: stats/*.json in run.json's stage order
    recorded = json.loads((out / "run.json").read_text())["funnel"]
    assert recorded == json.loads(json.dumps([asdict(row) for row in rows]))

    # the terminal summary prints each step's top reasons; the card's funnel table shows the same ones
    card = build_card(out)
    for row in rows:
        shown = [(k, v) for k, v in sorted(row.reasons.items(), key=lambda kv: -kv[1])[:3]]
        line = next(line for line in summary.splitlines() if line.startswith(f"{row.stage:<20} {row.step[:34]}"))
        assert line.endswith(", ".join(f"{k}={v}" for k, v in shown)) or not shown
        assert f"| {row.stage} | {row.step} |" in card
        for reason, count in shown:
            assert f"{reason} {count:,}" in card
    threshold = next(row for row in rows if "threshold" in row.step.lower())
    assert threshold.reasons.get("below_threshold", 0) == threshold.dropped > 0  # one reason for every drop

    # the card's histogram is the scorer's own count of every document it scored
    scorer = next(row for row in rows if row.score_counts)
    kept = Counter(r["int_score"] for f in (out / "data").rglob("*.parquet") for r in pq.read_table(f).to_pylist())
    assert sum(scorer.score_counts.values()) == sum(kept.values()) + threshold.dropped
    assert all(scorer.score_counts.get(score, 0) >= n for score, n in kept.items())
    table = re.findall(r"^\| (\d) \| ([\d,]+) \|$", card.split("## Scores")[1], flags=re.MULTILINE)
    assert {int(score): int(n.replace(",", "")) for score, n in table} == scorer.score_counts


def test_funnel_rows_round_trip_through_run_json(stack_edu_run):
    out, _, _ = stack_edu_run
    recorded = json.loads((out / "run.json").read_text())["funnel"]
    rebuilt = [
        FunnelRow(**{**row, "score_counts": {int(score): n for score, n in row["score_counts"].items()}})
        for row in recorded
    ]
    assert rebuilt == read_funnel(out)
