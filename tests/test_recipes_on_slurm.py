"""finemath and stack_edu on the real single-node Slurm cluster give the same output as the local executor."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.config import load_recipe_config
from curate.recipes import RunPaths, build_stages
from curate.run import execute


def _rows(out: Path) -> list[tuple]:
    return sorted(
        (str(f.relative_to(out).parent), r.get("url") or r.get("blob_id"), r["score"])
        for f in (out / "data").rglob("*.parquet")
        for r in pq.read_table(f).to_pylist()
    )


@pytest.mark.slurm
@pytest.mark.parametrize("recipe", ["finemath", "stack_edu"])
def test_demo_on_slurm_equals_local(recipe, slurm_cluster, tmp_path):
    outputs = {}
    for executor in ("local", "slurm"):
        cfg = load_recipe_config(recipe, ["tasks=2", "workers=1", "slurm.wait=true"])
        out = tmp_path / executor
        paths = RunPaths(str(out), str(out / "logs"))
        assert execute(cfg, build_stages(cfg, paths), executor, paths) == 0
        outputs[executor] = _rows(out)
    assert outputs["local"], "the demo sample must produce output"
    assert outputs["slurm"] == outputs["local"]
