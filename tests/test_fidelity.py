"""On real pages, curate's FineWeb stage keeps and removes exactly what a plain datatrove pipeline configured per
the FineWeb recipe (DESIGN.md §2, datatrove examples/fineweb.py) keeps and removes, step by step."""

import copy

import pytest

from curate.config import load_recipe_config
from curate.evaluation.baselines import plain_fineweb_steps
from curate.evaluation.realdata import extraction_pages, write_html_warc
from curate.recipes import RunPaths, build_stages

TIMEOUT = 60.0


def surviving_ids_per_step(steps, docs):
    kept = []
    for step in steps:
        docs = list(step.run(iter(docs)))
        kept.append([d.id for d in docs])
    return kept


@pytest.fixture(scope="module")
def real_docs(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fidelity")
    warcs = tmp / "warcs"
    warcs.mkdir()
    write_html_warc(warcs / "extraction.warc.gz", extraction_pages(shared_data, limit=160))
    for f in (shared_data / "warc").glob("*.warc.gz"):
        (warcs / f.name).symlink_to(f)
    # a generous extraction timeout on both sides: a loaded machine must not turn into a decision difference
    overrides = [f"input={warcs}", "offline=true", "write_removed=false", f"extraction.timeout={TIMEOUT}"]
    cfg = load_recipe_config("fineweb_edu", overrides)
    stage = build_stages(cfg, RunPaths(str(tmp / "out"), str(tmp / "logs")))[0]
    reader, *filters, _writer = stage.pipeline
    docs = list(reader.run())
    assert len(docs) > 150
    return docs, filters


def test_same_decisions_as_plain_datatrove(real_docs):
    docs, curate_steps = real_docs
    ours = surviving_ids_per_step(curate_steps, copy.deepcopy(docs))
    theirs = surviving_ids_per_step(plain_fineweb_steps(extraction_timeout=TIMEOUT), copy.deepcopy(docs))
    names = [type(s).__name__ for s in curate_steps]
    for name, a, b in zip(names, ours, theirs, strict=True):
        assert a == b, f"{name}: curate kept {len(a)}, plain datatrove kept {len(b)}"
    # the comparison means something only if the filters actually removed documents along the way
    assert len(ours[-1]) < len(ours[1]) < len(docs)
    assert len(ours[-1]) > 0
