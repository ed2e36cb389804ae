"""FineMath: WARC -> math-preserving extraction -> English -> math score -> domain recall expansion -> re-read
the selected domains (and FineWeb's C4 rejects) -> single-band MinHash -> decontamination -> FineMath-3+ / 4+.

Follows the SmolLM2 paper (§3.3, App. C) and the FineMath card; the published pipeline annotated with
Llama-3.1-70B and trained its classifiers first, see docs/annotation.md for that part.
"""

import pyarrow as pa
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup import MinhashDedupFilter
from datatrove.pipeline.writers import JsonlWriter

from curate.blocks.domains import DomainFilter, DomainScoreCounter, SelectDomains
from curate.blocks.fields import DerivedFields
from curate.blocks.intermediate import StageOutputReader
from curate.blocks.scorer import EduClassifierScorer
from curate.blocks.threshold import ScoreThreshold
from curate.blocks.tokens import OfflineTokensCounter
from curate.blocks.writers import SCORE_COLUMNS, FlatParquetWriter
from curate.config import RecipeConfig
from curate.recipes import RunPaths, Stage, split_settings, step
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

# The FineMath Hub columns (dataset card), in its order.
FINEMATH_COLUMNS: dict[str, pa.DataType] = {
    "url": pa.string(),
    "fetch_time": pa.string(),
    "content_mime_type": pa.string(),
    "warc_filename": pa.string(),
    "warc_record_offset": pa.int64(),
    "warc_record_length": pa.int64(),
    "text": pa.string(),
    "token_count": pa.int64(),
    "char_count": pa.int64(),
    "metadata": pa.string(),
    **SCORE_COLUMNS,
    "crawl": pa.string(),
    "snapshot_type": pa.string(),
    "language": pa.string(),
    "language_score": pa.float64(),
}


def extraction_steps(cfg: RecipeConfig) -> list[PipelineStep]:
    """Common Crawl WARCs and the extractor (the math-preserving one): the text (LaTeX kept) the classifiers score."""
    return [warc_reader(cfg, demo_sample="math"), extractor(cfg)]


def build(cfg: RecipeConfig, paths: RunPaths) -> list[Stage]:
    removed = exclusion_writer(cfg, paths)
    source = dataset_input(cfg)
    if source is not None:  # rescoring a math dataset (OpenWebMath, FineMath-3+): its rows, every column kept
        scoring = scoring_steps(cfg, paths, removed, dataset_columns(source))
        return [score_stage(cfg, paths, scoring, dataset_reader(cfg, source))]
    return [*cpu_stages(cfg, paths, removed), score_stage(cfg, paths, scoring_steps(cfg, paths, removed))]


def scoring_steps(cfg: RecipeConfig, paths: RunPaths, removed, columns=FINEMATH_COLUMNS) -> list:
    """The FineMath classifier, then each threshold's subset written as its own config: the ``score`` stage."""
    steps = [scorer(cfg, model_ref(cfg, "scorer.model"))]
    # thresholds in increasing order: each subset is a subset of the one before, written as its own config
    for i, (config_name, threshold) in enumerate(sorted(cfg["thresholds"].items(), key=lambda kv: kv[1])):
        steps += [
            step(ScoreThreshold, threshold=threshold, exclusion_writer=removed("threshold") if i == 0 else None),
            step(
                FlatParquetWriter,
                output_folder=f"{paths.data}/{config_name}",
                columns=columns,
                output_filename="${rank}.parquet",
                max_file_size=cfg["shard_max_bytes"],
            ),
        ]
    return steps


def cpu_stages(cfg: RecipeConfig, paths: RunPaths, removed) -> list[Stage]:
    """Math domains found and re-read, English, MinHash, token counts: what the ``score`` stage reads."""
    tasks, workers = cfg["tasks"], cfg["workers"]
    domains_counts = f"{paths.work}/domain_counts"
    domains_file = f"{paths.work}/selected_domains.txt"
    math_pages = f"{paths.work}/math_pages"
    minhash = f"{paths.work}/minhash"
    # recall: the recall classifier's model (and any scorer setting of its own), the counter's and the selection's
    recall_scorer, counting, selection = split_settings(
        cfg, "recall", [EduClassifierScorer, DomainScoreCounter, SelectDomains]
    )
    recall_scorer.pop("model")

    count_domains = Stage(
        "count_math_domains",
        [
            *extraction_steps(cfg),
            language_filter(cfg, removed("language_first_pass")),
            scorer(cfg, model_ref(cfg, "recall.model"), recall_scorer),
            step(DomainScoreCounter, output_folder=domains_counts, **counting),
        ],
        tasks,
        workers,
    )
    choose_domains = Stage(
        "select_domains",
        [step(SelectDomains, counts_folder=domains_counts, output_file=domains_file, **selection)],
        1,
    )
    reader, extraction = extraction_steps(cfg)
    reread = Stage(
        "reread_selected",
        [
            reader,
            step(
                DomainFilter,
                domains=domains_file,
                rejected_folder=cfg["c4_rejects"],
                exclusion_writer=None,  # pages of unselected domains are the bulk of the crawl: not kept
            ),
            extraction,
            language_filter(cfg, removed("language")),
            step(JsonlWriter, output_folder=math_pages),
        ],
        tasks,
        workers,
    )
    select = [
        step(StageOutputReader, data_folder=math_pages),
        step(MinhashDedupFilter, input_folder=f"{minhash}/remove_ids", exclusion_writer=removed("minhash")),
    ]
    select += decontamination(cfg, removed)
    select += [
        step(OfflineTokensCounter, tokenizer_name_or_path=model_ref(cfg, "tokenizer")),
        step(DerivedFields, copies={"crawl": "dump"}, constants={"snapshot_type": cfg["snapshot_type"]}),
        selected_writer(paths),
    ]
    return [
        count_domains,
        choose_domains,
        reread,
        *minhash_stages(cfg, math_pages, minhash),
        Stage("select", select, tasks, workers),
    ]
