"""FineWeb-Edu: Common Crawl WARC -> FineWeb filters -> MinHash per dump -> PII -> educational score -> Parquet.

Reads top to bottom like the FineWeb paper (arXiv 2406.17557) and datatrove's examples/fineweb.py, whose order
wins where the two differ (MinHash after the C4 and FineWeb filters). The extraction, heuristic filters and MinHash
signatures are curate's faster blocks with datatrove's output (``mode: default``); ``mode: fast`` extracts with
Resiliparse instead of trafilatura (docs/benchmarks.md measures both).
"""

import inspect

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.fast_trafilatura import FastTrafilatura
from curate.blocks.fineweb_filters import (
    FastC4QualityFilter,
    FastFineWebQualityFilter,
    FastGopherQualityFilter,
    FastGopherRepetitionFilter,
)
from curate.blocks.intermediate import StageOutputReader
from curate.blocks.language import FastTextLanguageFilter
from curate.blocks.resiliparse_extract import ResiliparseExtractor
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.blocks.tokens import OfflineTokensCounter
from curate.blocks.urls import OfflineURLFilter
from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS, FlatParquetWriter
from curate.config import ConfigError, RecipeConfig
from curate.recipes import RunPaths, Stage, step
from curate.recipes.common import decontamination, exclusion_writer, minhash_stages, model_ref, warc_reader


def extraction_steps(cfg: RecipeConfig) -> list[PipelineStep]:
    """Common Crawl WARCs and trafilatura with FineWeb's settings: the text the classifier scores and is trained on."""
    return [warc_reader(cfg), extractor(cfg)]


# extraction.engine -> extractor; "trafilatura" is FineWeb's, run by curate's output-identical faster layer
EXTRACTION_ENGINES = {"trafilatura": FastTrafilatura, "resiliparse": ResiliparseExtractor}
MODES = ("default", "fast")


def extractor(cfg: RecipeConfig) -> PipelineStep:
    """``extraction.engine`` with the section's other keys as its arguments; ``mode: fast`` means Resiliparse."""
    if cfg["mode"] not in MODES:
        raise ConfigError(f"bad value {cfg['mode']!r} for 'mode': expected one of {', '.join(MODES)}")
    args = cfg.section("extraction")
    engine = args.pop("engine", "trafilatura")
    engine = "resiliparse" if cfg["mode"] == "fast" else engine
    if engine not in EXTRACTION_ENGINES:
        raise ConfigError(f"bad value {engine!r} for 'extraction.engine': expected {', '.join(EXTRACTION_ENGINES)}")
    cls = EXTRACTION_ENGINES[engine]
    if cls is ResiliparseExtractor:  # the section's trafilatura options do not apply to it
        trafilatura_only = set(inspect.signature(FastTrafilatura).parameters) - {"timeout"}
        args = {k: v for k, v in args.items() if k not in trafilatura_only}
        unknown = set(args) - set(inspect.signature(cls).parameters)
        if unknown:
            raise ConfigError(f"extraction.{sorted(unknown)[0]}: not an argument of the {engine} engine")
    return step(cls, **args)


def build(cfg: RecipeConfig, paths: RunPaths) -> list[Stage]:
    tasks, workers = cfg["tasks"], cfg["workers"]
    removed = exclusion_writer(cfg, paths)
    filtered = f"{paths.work}/filtered"
    minhash = f"{paths.work}/minhash"
    gopher_rep = cfg.section("gopher_repetition")
    gopher_rep["top_n_grams"] = tuple(tuple(x) for x in gopher_rep["top_n_grams"])
    gopher_rep["dup_n_grams"] = tuple(tuple(x) for x in gopher_rep["dup_n_grams"])

    reader, extract = extraction_steps(cfg)
    filtering = Stage(
        "filter",
        [
            reader,
            step(OfflineURLFilter, **cfg.section("url_filter"), exclusion_writer=removed("url")),
            extract,
            step(
                FastTextLanguageFilter,
                languages=cfg["language.languages"],
                language_threshold=cfg["language.threshold"],
                model=model_ref(cfg, "language.model"),
                exclusion_writer=removed("language"),
            ),
            step(FastGopherRepetitionFilter, **gopher_rep, exclusion_writer=removed("gopher_repetition")),
            step(FastGopherQualityFilter, **cfg.section("gopher_quality"), exclusion_writer=removed("gopher_quality")),
            step(FastC4QualityFilter, **cfg.section("c4_quality"), exclusion_writer=removed("c4")),
            step(
                FastFineWebQualityFilter, **cfg.section("fineweb_quality"), exclusion_writer=removed("fineweb_quality")
            ),
            step(JsonlWriter, output_folder=filtered),
        ],
        tasks,
        workers,
    )
    select = Stage(
        "score_and_select",
        [
            step(StageOutputReader, data_folder=filtered),
            step(MinhashDedupFilter, input_folder=f"{minhash}/remove_ids", exclusion_writer=removed("minhash")),
            *decontamination(cfg, removed),
            step(PIIFormatter, **cfg.section("pii")),
            step(OfflineTokensCounter, tokenizer_name_or_path=model_ref(cfg, "tokenizer")),
            step(
                EduClassifierScorer,
                model=model_ref(cfg, "edu_classifier"),
                max_length=cfg["edu_max_length"],
                batch_size=cfg["edu_batch_size"],
                device=cfg["edu_device"],
                precision=cfg["edu_precision"],
            ),
            step(ScoreThreshold, threshold=cfg["edu_threshold"], exclusion_writer=removed("edu_threshold")),
            step(
                FlatParquetWriter,
                output_folder=paths.data,
                columns=FINEWEB_COLUMNS | SCORE_COLUMNS,
                max_file_size=cfg["shard_max_bytes"],
            ),
        ],
        tasks,
        workers,
    )
    return [filtering, *minhash_stages(cfg, filtered, minhash), select]
