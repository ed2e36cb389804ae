"""Pieces every recipe shares: model choice (published or offline), exclusion writers, WARC input."""

import importlib
from collections.abc import Callable

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupCluster
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

from curate.blocks.fast_minhash import FastMinhashDedupSignature
from curate.blocks.intermediate import StageOutputReader
from curate.config import DEMO_INPUT, ConfigError, RecipeConfig
from curate.recipes import RunPaths, Stage, step


def is_offline(cfg: RecipeConfig) -> bool:
    """``offline: auto`` means offline exactly when the input is the built-in sample."""
    offline = str(cfg["offline"]).lower()  # --set offline=true arrives as the string "True"
    if offline == "auto":
        return cfg["input"] == DEMO_INPUT
    if offline in ("true", "false"):
        return offline == "true"
    raise ConfigError(f"bad value {cfg['offline']!r} for 'offline': expected auto, true or false")


def model_ref(cfg: RecipeConfig, key: str):
    """The model configured at ``key``, or ``offline_models.<key with _ for .>`` when the run is offline."""
    return cfg["offline_models"][key.replace(".", "_")] if is_offline(cfg) else cfg[key]


def exclusion_writer(cfg: RecipeConfig, paths: RunPaths) -> Callable[[str], JsonlWriter | None]:
    """``removed("c4")`` gives the writer for documents the C4 step drops, or None when disabled."""

    def removed(step_name: str) -> JsonlWriter | None:
        if not cfg["write_removed"]:
            return None
        return JsonlWriter(paths.removed(step_name))

    return removed


def decontamination(cfg: RecipeConfig, removed: Callable[[str], JsonlWriter | None]) -> list[PipelineStep]:
    """The ``decontamination:`` section as a step (none when its ``benchmarks`` are empty)."""
    from curate.blocks.decontaminate import Decontaminator

    decont = cfg.section("decontamination")
    if not decont["benchmarks"]:
        return []
    return [
        step(
            Decontaminator,
            benchmarks=decont["benchmarks"],
            ngram_size=decont["ngram_size"],
            lcs_threshold=decont["lcs_threshold"],
            exclusion_writer=removed("decontamination"),
        )
    ]


def extraction_steps(cfg: RecipeConfig) -> list[PipelineStep]:
    """The reader and extractor that turn the recipe's ``input`` into the text its classifier scores (each recipe
    says which); ``curate.annotate`` reads through the same steps, so the LLM judges that very text."""
    return importlib.import_module(f"curate.recipes.{cfg.recipe}").extraction_steps(cfg)


def warc_reader(cfg: RecipeConfig, demo_sample: str = "web"):
    """The Common Crawl reader for ``input`` (a built-in sample WARC, "web" or "math", when it is "demo")."""
    from curate.blocks.warc import CommonCrawlWarcReader
    from curate.inputs import resolve_warc_input

    spec = cfg["input"]
    if spec == DEMO_INPUT:
        from curate.sample import demo_math_warc, demo_warc

        spec = str((demo_math_warc if demo_sample == "math" else demo_warc)())
    try:
        source = resolve_warc_input(spec)
    except ValueError as e:  # a missing path or malformed dump name is the user's input, not a crash
        raise ConfigError(str(e)) from e
    return step(
        CommonCrawlWarcReader,
        data_folder=source.data_folder,
        paths_file=source.paths_file,
        glob_pattern=source.glob_pattern,
        dump=cfg["dump"] or source.dump,
    )


def minhash_config(cfg: RecipeConfig) -> MinhashConfig:
    mh = cfg.section("minhash")
    return MinhashConfig(
        n_grams=mh["n_grams"],
        num_buckets=mh["num_buckets"],
        hashes_per_bucket=mh["hashes_per_bucket"],
        seed=mh["seed"],
        hash_config=HashConfig(hash_fc=mh["hash_fc"], precision=mh["precision"]),
    )


def minhash_stages(cfg: RecipeConfig, documents: str, work: str) -> list[Stage]:
    """MinHash signatures -> buckets -> clusters over the JSONL documents in ``documents``; the last stage
    (``MinhashDedupFilter`` on ``<work>/remove_ids``) belongs to the recipe's final stage."""
    config = minhash_config(cfg)
    tasks, workers = cfg["tasks"], cfg["workers"]
    return [
        Stage(
            "minhash_signatures",
            [
                step(StageOutputReader, data_folder=documents),
                step(FastMinhashDedupSignature, output_folder=f"{work}/signatures", config=config),
            ],
            tasks,
            workers,
        ),
        Stage(
            "minhash_buckets",
            [
                step(
                    MinhashDedupBuckets,
                    input_folder=f"{work}/signatures",
                    output_folder=f"{work}/buckets",
                    config=config,
                )
            ],
            config.num_buckets,  # datatrove: a multiple of num_buckets
            workers,
        ),
        Stage(
            "minhash_clusters",
            [
                step(
                    MinhashDedupCluster,
                    input_folder=f"{work}/buckets",
                    output_folder=f"{work}/remove_ids",
                    config=config,
                )
            ],
            1,
        ),
    ]
