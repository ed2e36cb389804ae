"""FastMinhashDedupSignature writes the same signature files as datatrove's MinhashDedupSignature for FineWeb's
and FineMath's configurations (and datatrove's other hash settings), on every real page's text."""

import copy
from pathlib import Path

import pytest
from datatrove.pipeline.dedup import MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.utils.hashing import HashConfig
from datatrove.utils.text import TextNormConfig, simplify_text
from real_pages import extracted_documents

from curate.blocks.fast_minhash import FastMinhashDedupSignature, fast_simplify_text
from curate.config import load_recipe_config
from curate.recipes import RunPaths, build_stages
from curate.recipes.common import minhash_config

CONFIGS = {
    "fineweb": minhash_config(load_recipe_config("fineweb_edu")),  # 5-grams, sha1, 64 bits, 14 x 8
    "finemath": minhash_config(load_recipe_config("finemath")),  # one band of 10
    "sha1-32": MinhashConfig(hash_config=HashConfig(hash_fc="sha1", precision=32)),
    "xxhash-64": MinhashConfig(),  # datatrove's default hash
}


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", CONFIGS)
def test_same_signature_files(shared_data, tmp_path, name):
    docs = list(extracted_documents(shared_data))
    config = CONFIGS[name]
    MinhashDedupSignature(str(tmp_path / "datatrove"), config=config).run(iter(copy.deepcopy(docs)))
    FastMinhashDedupSignature(str(tmp_path / "curate"), config=config).run(iter(copy.deepcopy(docs)))
    theirs, ours = files(tmp_path / "datatrove"), files(tmp_path / "curate")
    assert len(theirs) == config.num_buckets and all(len(b) > 1000 for b in theirs.values())
    assert ours == theirs


def test_recipe_configs_are_the_published_ones():
    fineweb, finemath = CONFIGS["fineweb"], CONFIGS["finemath"]
    assert (fineweb.n_grams, fineweb.num_buckets, fineweb.hashes_per_bucket) == (5, 14, 8)
    assert (fineweb.hash_config.hash_fc, fineweb.hash_config.precision) == ("sha1", 64)
    assert (finemath.num_buckets, finemath.hashes_per_bucket) == (1, 10)


@pytest.mark.parametrize("recipe", ["fineweb_edu", "finemath"])
def test_both_web_recipes_sign_with_the_fast_block_and_their_config(recipe, tmp_path):
    cfg = load_recipe_config(recipe)
    stages = build_stages(cfg, RunPaths(str(tmp_path), str(tmp_path / "logs")))
    (signer,) = [step for stage in stages for step in stage.pipeline if isinstance(step, MinhashDedupSignature)]
    assert type(signer) is FastMinhashDedupSignature and signer.config == minhash_config(cfg)


@pytest.mark.parametrize(
    "config",
    [
        TextNormConfig(),
        TextNormConfig(norm_whitespace=False, norm_numbers=False),
        TextNormConfig(lowercase=False, norm_weekdays=True, norm_monthnames=True),
    ],
)
def test_simplified_text_is_datatrove_s(shared_data, config):
    texts = [d.text for d in extracted_documents(shared_data)]
    texts += ["\u0301 café\u2000naïve Ångström ", "\x0b..x..\x0c", "", "Monday 12,5 € and 1.000"]
    assert [fast_simplify_text(t, config) for t in texts] == [simplify_text(t, config) for t in texts]
    assert any(not t.isascii() for t in texts)
