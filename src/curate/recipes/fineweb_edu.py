"""FineWeb-Edu: Common Crawl WARC -> FineWeb filters -> MinHash per dump -> PII -> educational score -> Parquet.

With an existing dataset as input (FineWeb itself, as FineWeb-Edu was made), only the ``score`` stage runs.

Reads top to bottom like the FineWeb paper (arXiv 2406.17557) and datatrove's examples/fineweb.py, whose order
wins where the two differ (MinHash after the C4 and FineWeb filters).
"""

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupFilter
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.intermediate import StageOutputReader
from curate.blocks.language import FastTextLanguageFilter
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.blocks.tokens import OfflineTokensCounter
from curate.blocks.urls import OfflineURLFilter
from curate.blocks.writers import FINEWEB_COLUMNS, SCORE_COLUMNS, FlatParquetWriter
from curate.config import RecipeConfig
from curate.recipes import RunPaths, Stage, step
from curate.recipes.common import decontamination, exclusion_writer, minhash_stages, model_ref, warc_reader
from curate.recipes.rescore import (
    dataset_columns,
    dataset_input,
    dataset_reader,
    score_stage,
    selected_writer,
)


def extraction_steps(cfg: RecipeConfig) -> list[PipelineStep]:
    """Common Crawl WARCs and trafilatura with FineWeb's settings: the text the classifier scores and is trained on."""
    return [warc_reader(cfg), step(Trafilatura, **cfg.section("extraction"))]


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
        step(
            EduClassifierScorer,
            model=model_ref(cfg, "edu_classifier"),
            max_length=cfg["edu_max_length"],
            batch_size=cfg["edu_batch_size"],
            device=cfg["edu_device"],
            precision=cfg["edu_precision"],
        ),
        step(ScoreThreshold, threshold=cfg["edu_threshold"], exclusion_writer=removed("edu_threshold")),
        step(FlatParquetWriter, output_folder=paths.data, columns=columns, max_file_size=cfg["shard_max_bytes"]),
    ]


def cpu_stages(cfg: RecipeConfig, paths: RunPaths, removed) -> list[Stage]:
    """WARC -> FineWeb filters -> MinHash -> PII and token counts: what the ``score`` stage reads."""
    tasks, workers = cfg["tasks"], cfg["workers"]
    filtered = f"{paths.work}/filtered"
    minhash = f"{paths.work}/minhash"
    gopher_rep = cfg.section("gopher_repetition")
    gopher_rep["top_n_grams"] = tuple(tuple(x) for x in gopher_rep["top_n_grams"])
    gopher_rep["dup_n_grams"] = tuple(tuple(x) for x in gopher_rep["dup_n_grams"])

    reader, extractor = extraction_steps(cfg)
    filtering = Stage(
        "filter",
        [
            reader,
            step(OfflineURLFilter, **cfg.section("url_filter"), exclusion_writer=removed("url")),
            extractor,
            step(
                FastTextLanguageFilter,
                languages=cfg["language.languages"],
                language_threshold=cfg["language.threshold"],
                model=model_ref(cfg, "language.model"),
                exclusion_writer=removed("language"),
            ),
            step(GopherRepetitionFilter, **gopher_rep, exclusion_writer=removed("gopher_repetition")),
            step(GopherQualityFilter, **cfg.section("gopher_quality"), exclusion_writer=removed("gopher_quality")),
            step(C4QualityFilter, **cfg.section("c4_quality"), exclusion_writer=removed("c4")),
            step(FineWebQualityFilter, **cfg.section("fineweb_quality"), exclusion_writer=removed("fineweb_quality")),
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
            step(PIIFormatter, **cfg.section("pii")),
            step(OfflineTokensCounter, tokenizer_name_or_path=model_ref(cfg, "tokenizer")),
            selected_writer(paths),
        ],
        tasks,
        workers,
    )
    return [filtering, *minhash_stages(cfg, filtered, minhash), select]
