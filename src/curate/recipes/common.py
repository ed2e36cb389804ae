"""Pieces every recipe shares: model choice (published or offline), the extractor, the language filter, the
scorer, exclusion writers, WARC input, MinHash and decontamination."""

import importlib
from collections.abc import Callable

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupCluster
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

from curate.blocks.fast_minhash import FastMinhashDedupSignature
from curate.blocks.intermediate import StageOutputReader
from curate.blocks.language import FastTextLanguageFilter
from curate.blocks.scorer import EduClassifierScorer
from curate.config import DEMO_INPUT, ConfigError, RecipeConfig
from curate.recipes import RunPaths, Stage, section_step, step
from curate.schema import block_class
from curate.settings import ENGINES, engine_arguments


def is_offline(cfg: RecipeConfig) -> bool:
    """``offline: auto`` means offline exactly when the input is the built-in sample."""
    return cfg["input"] == DEMO_INPUT if cfg["offline"] == "auto" else cfg["offline"]


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


def extractor(cfg: RecipeConfig, engine: str | None = None) -> PipelineStep:
    """The ``extraction.engine`` block (or ``engine``), built from the section's other keys; a key that only another
    engine names is left to that engine (switching engines needs no other edit)."""
    engine = engine or cfg["extraction.engine"]
    cls = block_class(ENGINES[engine])
    others = set().union(*(engine_arguments(name) for name in ENGINES if name != engine))
    own = engine_arguments(engine)
    settings = {k: v for k, v in cfg.section("extraction").items() if k != "engine" and (k in own or k not in others)}
    return section_step(cls, cfg, "extraction", settings)


def language_filter(cfg: RecipeConfig, exclusion_writer: JsonlWriter | None) -> PipelineStep:
    """The fastText language filter of the ``language:`` section, shared by the web recipes: ``threshold`` is the
    block's ``language_threshold``, the model ``offline_models.language_model`` when offline."""
    settings = cfg.section("language")
    settings["language_threshold"] = settings.pop("threshold")
    settings["model"] = model_ref(cfg, "language.model")
    return section_step(FastTextLanguageFilter, cfg, "language", settings, exclusion_writer=exclusion_writer)


def scorer(cfg: RecipeConfig, model, settings: dict | None = None, **recipe_args) -> PipelineStep:
    """``EduClassifierScorer`` with the ``scorer:`` settings (``settings`` over them) and ``model``."""
    merged = {**cfg.section("scorer"), **(settings or {})}
    merged.pop("model")
    return section_step(EduClassifierScorer, cfg, "scorer", merged, model=model, **recipe_args)


def decontamination(cfg: RecipeConfig, removed: Callable[[str], JsonlWriter | None]) -> list[PipelineStep]:
    """The ``decontamination:`` section as a step (none when its ``benchmarks`` are empty)."""
    from curate.blocks.decontaminate import Decontaminator

    if not cfg["decontamination.benchmarks"]:
        return []
    return [section_step(Decontaminator, cfg, "decontamination", exclusion_writer=removed("decontamination"))]


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
    return step(CommonCrawlWarcReader, **source.reader_kwargs(dump=cfg["dump"]))


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
