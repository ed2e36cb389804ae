"""FineWeb-Edu: Common Crawl WARC -> FineWeb filters -> MinHash per dump -> PII -> educational score -> Parquet.

Reads top to bottom like the FineWeb paper (arXiv 2406.17557) and datatrove's examples/fineweb.py, whose order
wins where the two differ (MinHash after the C4 and FineWeb filters). The extraction, heuristic filters and MinHash
signatures are curate's faster blocks with datatrove's output (``mode: default``); ``mode: fast`` extracts with
Resiliparse instead of trafilatura (docs/benchmarks.md measures both). Scoring is the last stage, ``score``; with an
existing dataset as input (FineWeb itself, as FineWeb-Edu was made) it is the only one.
"""

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.fineweb_filters import (
    FastC4QualityFilter,
    FastFineWebQualityFilter,
    FastGopherQualityFilter,
    FastGopherRepetitionFilter,
)
from curate.blocks.intermediate import StageOutputReader
from curate.blocks.threshold import ScoreThreshold
from curate.blocks.tokens import OfflineTokensCounter
from curate.blocks.urls import OfflineURLFilter
from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS, FlatParquetWriter
from curate.config import RecipeConfig
from curate.recipes import RunPaths, Stage, section_step, step
from curate.recipes.common import (
    decontamination,
    exclusion_writer,
    extractor,
    language_filter,
    minhash_stages,
    model_ref,
    scorer,
    warc_reader,
)
from curate.recipes.rescore import dataset_columns, dataset_input, dataset_reader, score_stage, selected_writer


def extraction_steps(cfg: RecipeConfig) -> list[PipelineStep]:
    """Common Crawl WARCs and the extractor (trafilatura with FineWeb's settings; Resiliparse in ``mode: fast``): the
    text the classifier scores and is trained on."""
    return [warc_reader(cfg), extractor(cfg, "resiliparse" if cfg["mode"] == "fast" else None)]


def build(cfg: RecipeConfig, paths: RunPaths) -> list[Stage]:
    removed = exclusion_writer(cfg, paths)
    source = dataset_input(cfg)
    if source is not None:  # rescoring a dataset: its rows, every column kept, under data/<its dump>/
        scoring = scoring_steps(cfg, paths, removed, dataset_columns(source))
        return [score_stage(cfg, paths, scoring, dataset_reader(cfg, source, dump_key="dump"))]
    return [*cpu_stages(cfg, paths, removed), score_stage(cfg, paths, scoring_steps(cfg, paths, removed))]


def scoring_steps(cfg: RecipeConfig, paths: RunPaths, removed, columns=FINEWEB_COLUMNS | SCORE_COLUMNS) -> list:
    """Educational score -> threshold -> Parquet: the steps of the ``score`` stage."""
    return [
        scorer(cfg, model_ref(cfg, "scorer.model")),
        step(ScoreThreshold, threshold=cfg["threshold"], exclusion_writer=removed("edu_threshold")),
        step(FlatParquetWriter, output_folder=paths.data, columns=columns, max_file_size=cfg["shard_max_bytes"]),
    ]


def cpu_stages(cfg: RecipeConfig, paths: RunPaths, removed) -> list[Stage]:
    """WARC -> FineWeb filters -> MinHash -> PII and token counts: what the ``score`` stage reads."""
    tasks, workers = cfg["tasks"], cfg["workers"]
    filtered = f"{paths.work}/filtered"
    minhash = f"{paths.work}/minhash"
    # datatrove reads the n-gram settings as (n, fraction) pairs
    gopher_rep = cfg.section("gopher_repetition")
    for key in ("top_n_grams", "dup_n_grams"):
        if key in gopher_rep:
            gopher_rep[key] = tuple(tuple(pair) for pair in gopher_rep[key])

    reader, extraction = extraction_steps(cfg)
    filtering = Stage(
        "filter",
        [
            reader,
            section_step(OfflineURLFilter, cfg, "url_filter", exclusion_writer=removed("url")),
            extraction,
            language_filter(cfg, removed("language")),
            section_step(
                FastGopherRepetitionFilter,
                cfg,
                "gopher_repetition",
                gopher_rep,
                exclusion_writer=removed("gopher_repetition"),
            ),
            section_step(FastGopherQualityFilter, cfg, "gopher_quality", exclusion_writer=removed("gopher_quality")),
            section_step(FastC4QualityFilter, cfg, "c4_quality", exclusion_writer=removed("c4")),
            section_step(
                FastFineWebQualityFilter, cfg, "fineweb_quality", exclusion_writer=removed("fineweb_quality")
            ),
            step(JsonlWriter, output_folder=filtered),
        ],
        tasks,
        workers,
    )
    select = Stage(
        "select",
        [
            step(StageOutputReader, data_folder=filtered),
            step(MinhashDedupFilter, input_folder=f"{minhash}/remove_ids", exclusion_writer=removed("minhash")),
            *decontamination(cfg, removed),
            section_step(PIIFormatter, cfg, "pii"),
            step(OfflineTokensCounter, tokenizer_name_or_path=model_ref(cfg, "tokenizer")),
            selected_writer(paths),
        ],
        tasks,
        workers,
    )
    return [filtering, *minhash_stages(cfg, filtered, minhash), select]
