"""The type and range of every recipe setting, declared once for the three recipes and the executors.

``curate.config`` checks a run's settings against this table once the YAML and the ``--set`` overrides are
applied, before any stage is built (``--dry-run`` too). The tree mirrors ``pipelines/*.yaml`` and
``pipelines/executors.yaml``; a section fed to a block also takes the block's other arguments by their own names.
"""

import re
from collections.abc import Callable

from curate.assets import LID176_LANGUAGES, PUBLISHED_LID_MODEL
from curate.classify.models import PRECISIONS
from curate.languages import BY_NAME, published_thresholds
from curate.schema import (
    Mapping,
    Node,
    Rule,
    Section,
    any_of,
    block_class,
    choice,
    integer,
    is_int,
    is_number,
    list_of,
    named_arguments,
    number,
    optional,
    pairs,
    text,
)

TEXT = Rule("a text", lambda v: isinstance(v, str) or is_number(v), str)  # --set dump=2024 is the text "2024"
BOOLEAN = Rule("true or false", lambda v: isinstance(v, bool))
FRACTION = number(0, 1)
SCORE = number(0, 5)  # a threshold on int_score: the three recipes' label scales run from 0 to 5
MODEL = Rule("a model reference (Hub id, path or bundled:<name>)", lambda v: isinstance(v, str) and bool(v.strip()))
PATH = Rule("a path or URL", lambda v: isinstance(v, str) and bool(v.strip()))
NAME = text(r"[A-Za-z0-9][\w.-]*", "a name of letters, digits, '.', '_' and '-'")
LANGUAGE_CODE = text(r"[\w-]+", "a language code such as en")
STACK_LANGUAGE = Rule(f"a Stack-Edu language ({', '.join(BY_NAME)})", lambda v: isinstance(v, str) and v in BY_NAME)
MEMORY_GB = Rule("a number of GB > 0", lambda v: is_number(v) and v > 0)  # 2 stays 2: sbatch reads --mem-per-cpu=2G
_SLURM_TIME = re.compile(r"\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}|UNLIMITED|INFINITE")
SLURM_TIME = Rule(
    "a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]] or UNLIMITED)",
    lambda v: (is_int(v) and v > 0) or (isinstance(v, str) and _SLURM_TIME.fullmatch(v) is not None),
    str,
)

# What a stage asks of each executor. `stages.<stage>.<executor>.<key>` overrides one stage's; GPUs are asked per
# stage only, so a stage nobody asked GPUs for (every CPU stage) never gets one.
STAGE_RESOURCES: dict[str, dict[str, Node]] = {
    "local": {},
    "slurm": {
        "partition": TEXT,
        "time": SLURM_TIME,
        "cpus_per_task": integer(1),
        "mem_per_cpu_gb": MEMORY_GB,
        "gpus_per_task": integer(0),
        "qos": optional(TEXT),
        "sbatch_args": Mapping(NAME, any_of(TEXT, BOOLEAN)),
    },
    "ray": {"cpus_per_task": integer(1), "mem_per_cpu_gb": MEMORY_GB, "gpus_per_task": integer(0)},
}
PER_STAGE_ONLY = ("gpus_per_task",)


def _shared(kind: str) -> dict[str, Node]:
    return {key: rule for key, rule in STAGE_RESOURCES[kind].items() if key not in PER_STAGE_ONLY}


# pipelines/executors.yaml: merged into every recipe, and into curate.mix's executor settings
EXECUTOR_SETTINGS: dict[str, Node] = {
    "slurm": Section({**_shared("slurm"), "venv_path": optional(PATH), "wait": BOOLEAN}),
    "ray": Section({**_shared("ray"), "address": optional(TEXT)}),
    "stages": Mapping(NAME, Section({kind: Section(rules) for kind, rules in STAGE_RESOURCES.items()})),
}
EXECUTORS_SCHEMA = Section(EXECUTOR_SETTINGS)

COMMON: dict[str, Node] = {
    "input": PATH,
    "tasks": integer(1),
    "workers": integer(1, also=(-1,)),
    "write_removed": BOOLEAN,
    "offline": choice("auto", True, False),
    "decontamination": Section(
        {"benchmarks": Mapping(NAME, PATH), "ngram_size": integer(1), "lcs_threshold": number(0, 1)},
        blocks=("curate.blocks.decontaminate:Decontaminator",),
    ),
    "shard_max_bytes": integer(1),
    "push_to": optional(text(r"[\w.-]+/[\w.-]+", "a Hub dataset id <owner>/<name>")),
    "offline_models": Mapping(NAME, MODEL),
    **EXECUTOR_SETTINGS,
}
SCORER_BLOCK = "curate.blocks.scorer:EduClassifierScorer"
LANGUAGE_FILTER = "curate.blocks.language:FastTextLanguageFilter"
FILTERS = "curate.blocks.fineweb_filters:Fast"  # datatrove's FineWeb filters with their output, faster
# `extraction.engine`: the extractor blocks by name (curate.recipes.common builds the chosen one)
ENGINES = {
    "trafilatura": "curate.blocks.fast_trafilatura:FastTrafilatura",  # datatrove's Trafilatura, output-identical
    "resiliparse": "curate.blocks.resiliparse_extract:ResiliparseExtractor",  # fineweb_edu's mode: fast
    "math": "curate.blocks.math_extract:MathHtmlExtractor",
}
# FastTrafilatura passes any option it does not name on to trafilatura.extract: those are its arguments too
FORWARDED_OPTIONS = {"trafilatura": "trafilatura:extract"}


def engine_arguments(engine: str) -> set[str]:
    """The settings an extraction engine takes, by their names."""
    names = named_arguments(block_class(ENGINES[engine]))
    if engine in FORWARDED_OPTIONS:
        names |= named_arguments(block_class(FORWARDED_OPTIONS[engine])) - {"filecontent", "kwargs"}
    return names


SCORER: dict[str, Node] = {
    "model": MODEL,
    "max_length": integer(1),
    "batch_size": integer(1),
    "device": text(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:N"),
    "precision": choice(*PRECISIONS),
}
WEB: dict[str, Node] = {  # the recipes that read Common Crawl
    "input_format": choice("auto", "warc", "dataset"),  # dataset: rescore Parquet/JSONL rows (curate.recipes.rescore)
    "dump": optional(TEXT),
    "language": Section(
        {"languages": optional(list_of(LANGUAGE_CODE)), "threshold": FRACTION, "model": MODEL},
        blocks=(LANGUAGE_FILTER,),
    ),
    "minhash": Section(
        {
            "n_grams": integer(1),
            "num_buckets": Rule(
                "an integer >= 1 (datatrove runs the bucket stage as a multiple of num_buckets tasks: one per bucket)",
                lambda v: is_int(v) and v >= 1,
            ),
            "hashes_per_bucket": integer(1),
            "hash_fc": choice("sha1", "xxhash"),
            "precision": choice(32, 64),
            "seed": integer(),
        }
    ),
    "tokenizer": MODEL,
}


def extraction(settings: dict[str, Node]) -> Section:
    """``extraction: {engine, arguments of the engines}`` (the arguments not described here: the engines' own)."""
    return Section(
        {"engine": choice(*ENGINES), **settings},
        other_names=lambda: set().union(*map(engine_arguments, ENGINES)),
    )


def _fineweb_edu() -> dict[str, Node]:
    return {
        **WEB,
        "mode": choice("default", "fast"),  # fast: the resiliparse engine, whatever extraction.engine says
        "url_filter": Section({"soft_word_threshold": integer(1)}, blocks=("curate.blocks.urls:OfflineURLFilter",)),
        "extraction": extraction({"favour_precision": BOOLEAN, "timeout": number(above=0), "deduplicate": BOOLEAN}),
        "gopher_repetition": Section(
            {
                "dup_line_frac": FRACTION,
                "dup_para_frac": FRACTION,
                "dup_line_char_frac": FRACTION,
                "dup_para_char_frac": FRACTION,
                "top_n_grams": pairs(integer(1), FRACTION),
                "dup_n_grams": pairs(integer(1), FRACTION),
            },
            blocks=(FILTERS + "GopherRepetitionFilter",),
        ),
        "gopher_quality": Section(
            {
                "min_doc_words": optional(integer(0)),
                "max_doc_words": optional(integer(0)),
                "min_avg_word_length": optional(number(0)),
                "max_avg_word_length": optional(number(0)),
                "max_symbol_word_ratio": optional(number(0)),
                "max_bullet_lines_ratio": optional(FRACTION),
                "max_ellipsis_lines_ratio": optional(FRACTION),
                "max_non_alpha_words_ratio": optional(FRACTION),
                "min_stop_words": optional(integer(0)),
            },
            blocks=(FILTERS + "GopherQualityFilter",),
        ),
        "c4_quality": Section({"filter_no_terminal_punct": BOOLEAN}, blocks=(FILTERS + "C4QualityFilter",)),
        "fineweb_quality": Section(
            {
                "line_punct_thr": FRACTION,
                "short_line_thr": FRACTION,
                "short_line_length": integer(1),
                "char_duplicates_ratio": FRACTION,
                "new_line_ratio": number(0),
            },
            blocks=(FILTERS + "FineWebQualityFilter",),
        ),
        "pii": Section(
            {"remove_emails": BOOLEAN, "remove_ips": BOOLEAN, "only_remove_public_ips": BOOLEAN},
            blocks=("datatrove.pipeline.formatters:PIIFormatter",),
        ),
        "scorer": Section(SCORER, blocks=(SCORER_BLOCK,)),
        "threshold": SCORE,
    }


def _finemath() -> dict[str, Node]:
    return {
        **WEB,
        "c4_rejects": optional(PATH),
        "extraction": extraction(
            {
                "timeout": number(above=0),
                "main_content": BOOLEAN,
                "keep_answers": BOOLEAN,
                "tables_as_markdown": BOOLEAN,
            },
        ),
        "recall": Section(
            {
                "model": MODEL,
                "min_score": SCORE,
                "min_pages": optional(integer(1)),
                "min_fraction": optional(number(0, 1)),
                "seed_files": list_of(PATH),
            },
            # over `scorer:`, for the recall classifier only
            blocks=(SCORER_BLOCK, "curate.blocks.domains:DomainScoreCounter", "curate.blocks.domains:SelectDomains"),
        ),
        "scorer": Section(SCORER, blocks=(SCORER_BLOCK,)),
        "thresholds": Mapping(NAME, SCORE, non_empty=True),
        "snapshot_type": TEXT,
    }


def _stack_edu() -> dict[str, Node]:
    return {
        "input_format": choice("auto", "stack_v2", "source_tree", "dataset"),
        "repo_depth": integer(1),
        "languages": list_of(STACK_LANGUAGE),
        "fetch_content": BOOLEAN,
        "content_base_url": PATH,
        "filters": Section(
            {
                "enabled": BOOLEAN,
                "max_line_length": integer(1),
                "max_mean_line_length": number(above=0),
                "min_alphanum_fraction": FRACTION,
                "auto_generated": BOOLEAN,
                "max_lines": integer(1),
                "max_bytes": optional(integer(1)),
            },
        ),
        "scorer": Section(
            {**SCORER, "model": any_of(optional(MODEL), Mapping(STACK_LANGUAGE, MODEL))}, blocks=(SCORER_BLOCK,)
        ),
        "thresholds": Mapping(
            any_of(STACK_LANGUAGE, choice("default")), SCORE, required=("default",), published=published_thresholds
        ),
        "keep_content": BOOLEAN,
    }


RECIPES: dict[str, Callable[[], dict[str, Node]]] = {
    "fineweb_edu": _fineweb_edu,
    "finemath": _finemath,
    "stack_edu": _stack_edu,
}


def recipe_schema(recipe: str) -> Section:
    """Every setting of ``recipe``: the shared ones and its own."""
    return Section({**COMMON, **RECIPES[recipe]()})


# -- rules between settings -------------------------------------------------------------------------------------


def _workers_within_tasks(params: dict) -> str | None:
    workers, tasks = params["workers"], params["tasks"]
    if workers != -1 and workers > tasks:
        return (
            f"bad value {workers!r} for 'workers': expected -1 or at most tasks ({tasks}): "
            "a stage runs at most its tasks at once"
        )
    return None


def _gopher_bounds(params: dict) -> str | None:
    quality = params.get("gopher_quality", {})
    for low, high in (("min_doc_words", "max_doc_words"), ("min_avg_word_length", "max_avg_word_length")):
        if quality.get(low) is not None and quality.get(high) is not None and quality[low] > quality[high]:
            return (
                f"bad value {quality[low]!r} for 'gopher_quality.{low}': "
                f"expected at most gopher_quality.{high} ({quality[high]})"
            )
    return None


def _lid176_codes(params: dict) -> str | None:
    """lid.176 (the published model and the bundled .ftz) knows 176 codes; another fastText model may know others."""
    language = params.get("language")
    if not language or not language["languages"] or not _is_lid176(language["model"]):
        return None
    unknown = [code for code in language["languages"] if code not in LID176_LANGUAGES]
    if unknown:
        return (
            f"bad value {unknown[0]!r} in 'language.languages': expected a language code of fastText lid.176 "
            f"(e.g. en, de, fr, zh; {len(LID176_LANGUAGES)} codes in curate.assets.LID176_LANGUAGES)"
        )
    return None


def _is_lid176(model: str) -> bool:
    return model == PUBLISHED_LID_MODEL or model.endswith(("lid.176.bin", "lid.176.ftz"))


CROSS_CHECKS: tuple[Callable[[dict], str | None], ...] = (_workers_within_tasks, _gopher_bounds, _lid176_codes)


def fill_published(params: dict, tree: Section) -> None:
    """Replace a null that stands for published values (``published``) by them, so ``--set`` can change one entry."""
    for key, node in tree.fields.items():
        if isinstance(node, Mapping) and node.published is not None and params.get(key, {}) is None:
            params[key] = node.published()
